// A WebSocket "service" for throughput benchmarks of the aisstream.io client: it accepts a
// connection on 127.0.0.1, completes the RFC 6455 upgrade, waits for the client's subscription
// (a masked text frame naming an APIKey) and then writes every frame, encoded once up front, in
// 1 MiB writes. The tests' mock service (tests/support/mock_aisstream.*) behaves like the real
// one but frames and queues each message through websocketpp; on this 2-core machine that sender
// took as much CPU as the client it was measuring. The real service runs on someone else's
// machine, so the client's rate is measured against a sender that costs almost nothing.
#pragma once

#include <websocketpp/base64/base64.hpp>
#include <websocketpp/sha1/sha1.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace aistrack::bench {

class WsBlaster {
 public:
  /// Encodes `frames` as unmasked server frames, text (opcode 1) or binary (opcode 2), and listens.
  WsBlaster(const std::vector<std::string>& frames, bool binary) {
    for (const std::string& f : frames) append_frame(f, binary ? 0x82 : 0x81);
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 4) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      const std::string why = std::strerror(errno);
      if (listen_fd_ >= 0) ::close(listen_fd_);  // the destructor does not run for a throwing constructor
      throw std::runtime_error("WsBlaster: cannot listen on 127.0.0.1: " + why);
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  WsBlaster(const WsBlaster&) = delete;
  WsBlaster& operator=(const WsBlaster&) = delete;
  ~WsBlaster() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  /// ws:// URL of the service.
  [[nodiscard]] std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/v0/stream"; }
  /// Bytes written per connection (frame headers included).
  [[nodiscard]] std::size_t stream_bytes() const { return stream_.size(); }

 private:
  void append_frame(const std::string& payload, unsigned char first) {
    stream_.push_back(static_cast<char>(first));
    const std::uint64_t n = payload.size();
    if (n < 126) {
      stream_.push_back(static_cast<char>(n));
    } else if (n <= 0xFFFF) {
      stream_.push_back(static_cast<char>(126));
      for (int s = 8; s >= 0; s -= 8) stream_.push_back(static_cast<char>((n >> s) & 0xFF));
    } else {
      stream_.push_back(static_cast<char>(127));
      for (int s = 56; s >= 0; s -= 8) stream_.push_back(static_cast<char>((n >> s) & 0xFF));
    }
    stream_ += payload;
  }

  // Waits until `fd` is readable or stop_ is set; false when stopping.
  bool wait_readable(int fd) const {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }

  // Reads at least `n` bytes into `buf` (appending); false on EOF, error or stop.
  bool read_more(int fd, std::string& buf, std::size_t n) const {
    char tmp[4096];
    while (buf.size() < n) {
      if (!wait_readable(fd)) return false;
      const ssize_t got = ::recv(fd, tmp, sizeof tmp, 0);
      if (got <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(got));
    }
    return true;
  }

  // The upgrade request, the 101 answer and the subscription frame; false when the client is not
  // a WebSocket client that subscribed with a key.
  bool handshake(int fd) const {
    std::string in;
    while (in.find("\r\n\r\n") == std::string::npos) {
      if (!read_more(fd, in, in.size() + 1)) return false;
    }
    const std::string header = "Sec-WebSocket-Key: ";
    const auto k = in.find(header);
    if (k == std::string::npos) return false;
    const std::string key = in.substr(k + header.size(), in.find("\r\n", k) - k - header.size());
    const std::string magic = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[20];
    websocketpp::sha1::calc(magic.data(), magic.size(), digest);
    const std::string answer =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        websocketpp::base64_encode(digest, sizeof digest) + "\r\n\r\n";
    if (!write_all(fd, answer.data(), answer.size())) return false;
    // The subscription: a masked client frame (RFC 6455 5.2); the request may have carried its start.
    std::string f = in.substr(in.find("\r\n\r\n") + 4);
    if (!read_more(fd, f, 2)) return false;
    std::size_t len = static_cast<unsigned char>(f[1]) & 0x7F;
    std::size_t pos = 2;
    if (len == 126 || len == 127) {
      const std::size_t bytes = len == 126 ? 2 : 8;
      if (!read_more(fd, f, pos + bytes)) return false;
      len = 0;
      for (std::size_t i = 0; i < bytes; ++i) len = (len << 8) | static_cast<unsigned char>(f[pos + i]);
      pos += bytes;
    }
    if ((static_cast<unsigned char>(f[1]) & 0x80) == 0 || len > (1U << 20)) return false;
    if (!read_more(fd, f, pos + 4 + len)) return false;
    std::string text = f.substr(pos + 4, len);
    for (std::size_t i = 0; i < len; ++i) text[i] = static_cast<char>(text[i] ^ f[pos + (i % 4)]);
    return (static_cast<unsigned char>(f[0]) & 0x0F) == 1 && text.find("\"APIKey\"") != std::string::npos;
  }

  bool write_all(int fd, const char* p, std::size_t n) const {
    while (n > 0 && !stop_) {
      const ssize_t put = ::send(fd, p, std::min<std::size_t>(n, 1 << 20), MSG_NOSIGNAL);
      if (put <= 0) return false;
      p += put;
      n -= static_cast<std::size_t>(put);
    }
    return n == 0;
  }

  void serve() {
    while (wait_readable(listen_fd_)) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      if (handshake(fd) && write_all(fd, stream_.data(), stream_.size())) {
        // Keep the connection open (the client pings; the kernel buffers them) until stopped or
        // the client leaves.
        std::string ignored;
        while (read_more(fd, ignored, ignored.size() + 1)) ignored.clear();
      }
      ::close(fd);
    }
  }

  std::string stream_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace aistrack::bench
