#include "http_stream.hpp"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <array>
#include <charconv>
#include <exception>
#include <string>

namespace aistrack::server {

namespace {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

class Streamer : public std::enable_shared_from_this<Streamer> {
 public:
  Streamer(asio::ip::tcp::socket& socket, std::shared_ptr<void> keep_alive, Response response, bool head_only,
           asio::thread_pool& pool, StreamOptions options)
      : socket_(socket),
        keep_alive_(std::move(keep_alive)),
        response_(std::move(response)),
        head_only_(head_only),
        pool_(pool),
        options_(std::move(options)),
        timer_(socket.get_executor()) {}

  void start() {
    head_ = stream_head(response_);
    write({asio::buffer(head_)}, [self = shared_from_this()] {
      if (self->head_only_) {
        self->close();
      } else {
        self->produce();
      }
    });
  }

 private:
  // Fills the next part on the pool (SQLite reads never run on a network thread), then writes it.
  void produce() {
    asio::post(pool_, [self = shared_from_this()] {
      self->part_.clear();
      bool more = false;
      try {
        more = self->response_.stream->next(self->part_, self->options_.max_chunk_bytes);
      } catch (const std::exception& e) {
        if (self->options_.on_error) self->options_.on_error(e.what());
        // No terminating chunk: the client can tell the body is incomplete.
        asio::post(self->socket_.get_executor(), [self] { self->close(); });
        return;
      }
      asio::post(self->socket_.get_executor(), [self, more] { self->send_part(more); });
    });
  }

  void send_part(bool more) {
    size_line_.clear();
    if (!part_.empty()) {
      std::array<char, 20> hex{};
      const auto [end, ec] = std::to_chars(hex.data(), hex.data() + hex.size(), part_.size(), 16);
      size_line_.assign(hex.data(), end);
      size_line_ += "\r\n";
    }
    trailer_ = part_.empty() ? "" : "\r\n";
    if (!more) trailer_ += "0\r\n\r\n";
    write({asio::buffer(size_line_), asio::buffer(part_), asio::buffer(trailer_)},
          [self = shared_from_this(), more] {
            if (more) {
              self->produce();
            } else {
              self->close();
            }
          });
  }

  template <class Done>
  void write_buffers(std::array<asio::const_buffer, 3> buffers, Done done) {
    timer_.expires_after(options_.write_timeout);
    timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (!ec) self->abort();  // the client stopped reading
    });
    asio::async_write(
        socket_, buffers,
        [self = shared_from_this(), done = std::move(done)](const std::error_code& ec, std::size_t) {
          self->timer_.cancel();
          if (ec) {
            self->abort();
            return;
          }
          done();
        });
  }
  template <class Done>
  void write(std::initializer_list<asio::const_buffer> list, Done done) {
    std::array<asio::const_buffer, 3> buffers{};
    std::size_t i = 0;
    for (const auto& b : list) buffers[i++] = b;
    write_buffers(buffers, std::move(done));
  }

  void close() {
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }
  void abort() {
    std::error_code ignored;
    socket_.close(ignored);
  }

  asio::ip::tcp::socket& socket_;
  std::shared_ptr<void> keep_alive_;
  Response response_;
  bool head_only_;
  asio::thread_pool& pool_;
  StreamOptions options_;
  asio::steady_timer timer_;
  std::string head_, part_, size_line_, trailer_;
};

}  // namespace

std::string stream_head(const Response& r) {
  std::string h =
      "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(reason_phrase(r.status)) + "\r\n";
  h += "Content-Type: " + r.content_type + "\r\n";
  h += "Transfer-Encoding: chunked\r\nConnection: close\r\nCache-Control: no-store\r\n";
  for (const auto& [k, v] : r.headers) h += k + ": " + v + "\r\n";
  h += "\r\n";
  return h;
}

void stream_response(asio::ip::tcp::socket& socket, std::shared_ptr<void> keep_alive, Response response,
                     bool head_only, asio::thread_pool& pool, StreamOptions options) {
  auto s = std::make_shared<Streamer>(socket, std::move(keep_alive), std::move(response), head_only, pool,
                                      std::move(options));
  asio::post(socket.get_executor(), [s] { s->start(); });
}

}  // namespace aistrack::server
