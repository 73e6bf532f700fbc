#include "live_client.hpp"

#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

namespace aistrack::test {

using WsClient = websocketpp::client<websocketpp::config::asio_client>;

struct LiveClient::Impl {
  WsClient client;
  WsClient::connection_ptr con;
  std::thread thread;
  mutable std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::string> messages;
  bool opened = false;
  bool ended = false;  // failed or closed
  int refused_status = 0;
  std::string refused_body;
  std::uint16_t close_code = 0;
  std::string close_reason;
};

LiveClient::LiveClient(int port, const std::string& path) : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.client.clear_access_channels(websocketpp::log::alevel::all);
  d.client.clear_error_channels(websocketpp::log::elevel::all);
  d.client.init_asio();
  d.client.set_open_handler([&d](websocketpp::connection_hdl) {
    std::lock_guard lock(d.mutex);
    d.opened = true;
    d.cv.notify_all();
  });
  d.client.set_fail_handler([&d](websocketpp::connection_hdl hdl) {
    const auto con = d.client.get_con_from_hdl(hdl);
    std::lock_guard lock(d.mutex);
    d.refused_status = static_cast<int>(con->get_response_code());
    d.refused_body = con->get_response().get_body();
    d.ended = true;
    d.cv.notify_all();
  });
  d.client.set_close_handler([&d](websocketpp::connection_hdl hdl) {
    const auto con = d.client.get_con_from_hdl(hdl);
    std::lock_guard lock(d.mutex);
    d.close_code = static_cast<std::uint16_t>(con->get_remote_close_code());
    d.close_reason = con->get_remote_close_reason();
    d.ended = true;
    d.cv.notify_all();
  });
  d.client.set_message_handler([&d](websocketpp::connection_hdl, WsClient::message_ptr msg) {
    std::lock_guard lock(d.mutex);
    d.messages.push_back(msg->get_payload());
    d.cv.notify_all();
  });
  std::error_code ec;
  d.con = d.client.get_connection("ws://127.0.0.1:" + std::to_string(port) + path, ec);
  if (ec) throw std::runtime_error("LiveClient: " + ec.message());
  d.client.connect(d.con);
  d.thread = std::thread([&d] { d.client.run(); });
}

LiveClient::~LiveClient() {
  std::error_code ignored;
  impl_->client.stop_perpetual();
  impl_->con->terminate(ignored);
  impl_->client.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool LiveClient::wait_open(double timeout_s) {
  std::unique_lock lock(impl_->mutex);
  impl_->cv.wait_for(lock, std::chrono::duration<double>(timeout_s),
                     [&] { return impl_->opened || impl_->ended; });
  return impl_->opened;
}

int LiveClient::refused_status() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->refused_status;
}

std::string LiveClient::refused_body() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->refused_body;
}

void LiveClient::send(const std::string& text) {
  const auto ec = impl_->con->send(text, websocketpp::frame::opcode::text);
  if (ec) throw std::runtime_error("LiveClient::send: " + ec.message());
}

std::optional<std::string> LiveClient::next(double timeout_s) {
  std::unique_lock lock(impl_->mutex);
  impl_->cv.wait_for(lock, std::chrono::duration<double>(timeout_s),
                     [&] { return !impl_->messages.empty(); });
  if (impl_->messages.empty()) return std::nullopt;
  std::string m = std::move(impl_->messages.front());
  impl_->messages.pop_front();
  return m;
}

std::vector<std::string> LiveClient::take_all() {
  std::lock_guard lock(impl_->mutex);
  std::vector<std::string> out(std::make_move_iterator(impl_->messages.begin()),
                               std::make_move_iterator(impl_->messages.end()));
  impl_->messages.clear();
  return out;
}

bool LiveClient::wait_closed(double timeout_s) {
  std::unique_lock lock(impl_->mutex);
  return impl_->cv.wait_for(lock, std::chrono::duration<double>(timeout_s), [&] { return impl_->ended; });
}

std::uint16_t LiveClient::close_code() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->close_code;
}

std::string LiveClient::close_reason() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->close_reason;
}

void LiveClient::close() {
  std::error_code ignored;
  impl_->con->close(websocketpp::close::status::normal, "bye", ignored);
}

namespace {
void write_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const auto n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("StuckClient: send failed");
    off += static_cast<std::size_t>(n);
  }
}
}  // namespace

StuckClient::StuckClient(int port, const std::string& subscribe, int rcvbuf_bytes) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("StuckClient: socket failed");
  // Set before connect so the window the server sees is small from the start.
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof rcvbuf_bytes);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("StuckClient: connect failed");
  write_all(fd_,
            "GET /v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  std::string got;
  char buf[4096];
  while (got.find("\r\n\r\n") == std::string::npos) {
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) throw std::runtime_error("StuckClient: no upgrade response");
    got.append(buf, static_cast<std::size_t>(n));
  }
  if (got.rfind("HTTP/1.1 101", 0) != 0) throw std::runtime_error("StuckClient: upgrade refused: " + got);
  pending_ = got.substr(got.find("\r\n\r\n") + 4);
  // One masked text frame (clients must mask, RFC 6455 §5.3).
  std::string frame;
  frame += static_cast<char>(0x81);
  const std::size_t len = subscribe.size();
  if (len < 126) {
    frame += static_cast<char>(0x80 | len);
  } else {
    frame += static_cast<char>(0x80 | 126);
    frame += static_cast<char>((len >> 8) & 0xff);
    frame += static_cast<char>(len & 0xff);
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  frame.append(mask, 4);
  for (std::size_t i = 0; i < len; ++i) frame += static_cast<char>(subscribe[i] ^ mask[i % 4]);
  write_all(fd_, frame);
}

StuckClient::~StuckClient() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<StuckClient::Frame> StuckClient::read_all(double timeout_s) {
  std::string data = std::move(pending_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  std::vector<Frame> frames;
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(data[k]); };
  while (i + 2 <= data.size()) {
    const int opcode = byte(i) & 0x0f;
    std::uint64_t len = byte(i + 1) & 0x7f;
    std::size_t h = 2;
    if (len == 126) {
      if (i + 4 > data.size()) break;
      len = (std::uint64_t{byte(i + 2)} << 8) | byte(i + 3);
      h = 4;
    } else if (len == 127) {
      if (i + 10 > data.size()) break;
      len = 0;
      for (std::size_t k = 0; k < 8; ++k) len = (len << 8) | byte(i + 2 + k);
      h = 10;
    }
    if (i + h + len > data.size()) break;
    frames.push_back(Frame{opcode, data.substr(i + h, static_cast<std::size_t>(len))});
    i += h + static_cast<std::size_t>(len);
  }
  return frames;
}

}  // namespace aistrack::test
