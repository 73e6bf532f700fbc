// WebSocket peers of the server's /v1/live endpoint for tests and the load benchmark:
// LiveClient is a real websocketpp client on its own thread; StuckClient speaks just enough
// RFC 6455 by hand to subscribe and then stop reading, like a client on a dead-slow link.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aistrack::test {

/// One /v1/live client on 127.0.0.1:`port`, connected on construction.
class LiveClient {
 public:
  /// Connects to ws://127.0.0.1:`port``path` (does not wait: see wait_open()).
  explicit LiveClient(int port, const std::string& path = "/v1/live");
  ~LiveClient();
  LiveClient(const LiveClient&) = delete;
  LiveClient& operator=(const LiveClient&) = delete;

  /// Waits until the connection is open (true) or failed/closed (false).
  bool wait_open(double timeout_s);
  /// HTTP status of a refused upgrade (0 when none was seen).
  [[nodiscard]] int refused_status() const;
  /// Body of a refused upgrade.
  [[nodiscard]] std::string refused_body() const;
  /// Sends one text message.
  void send(const std::string& text);
  /// The next message received, waiting up to `timeout_s`.
  std::optional<std::string> next(double timeout_s);
  /// Messages received so far and not yet taken.
  std::vector<std::string> take_all();
  /// Waits until the server closed the connection.
  bool wait_closed(double timeout_s);
  /// Close code the server sent (0 when none).
  [[nodiscard]] std::uint16_t close_code() const;
  /// Close reason the server sent.
  [[nodiscard]] std::string close_reason() const;
  /// Closes from our side (normal closure).
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A client that upgrades, sends `subscribe`, then reads nothing until read_all() is called.
class StuckClient {
 public:
  /// Connects with a small receive buffer (`rcvbuf_bytes`) and sends the subscription; throws on failure.
  StuckClient(int port, const std::string& subscribe, int rcvbuf_bytes = 4096);
  ~StuckClient();
  StuckClient(const StuckClient&) = delete;
  StuckClient& operator=(const StuckClient&) = delete;

  /// A server frame.
  struct Frame {
    int opcode;
    std::string payload;
  };
  /// Reads and parses frames until the server closes the TCP connection or `timeout_s` passes.
  std::vector<Frame> read_all(double timeout_s);

 private:
  int fd_ = -1;
  std::string pending_;  // bytes read after the HTTP response
};

}  // namespace aistrack::test
