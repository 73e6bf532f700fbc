// A mock aisstream.io: a real WebSocket server (plain or TLS) on 127.0.0.1 that behaves like
// the service (3 s to subscribe, API key check, MMSI and bounding-box filters) and injects
// the service's real failures on request.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace aistrack::test {

/// What the next connections experience.
enum class MockFault {
  none,
  abrupt_close,  ///< after `fault_after_frames` frames: drop the TCP connection, no close frame (1006)
  silence,       ///< after `fault_after_frames` frames: keep the socket open, send nothing
  error_frame,   ///< answer the subscription with {"error": "..."} and close
  http_429,      ///< refuse the upgrade with 429 local_rate_limited
};

struct MockOptions {
  bool tls = false;
  std::string cert_file;  ///< PEM certificate (TLS)
  std::string key_file;   ///< PEM key (TLS)
  std::string api_key = "test-key-0123456789";
  int subscribe_timeout_ms = 3000;
  int frame_interval_ms = 20;       ///< pacing between frames; 0 = as fast as possible
  std::vector<std::string> frames;  ///< sent in order after the subscription (filtered)
  bool loop = false;                ///< start over at the end
  bool binary = false;              ///< send every frame (data, confirmation, errors) as binary, not text
};

/// One accepted upgrade, for assertions.
struct MockConnection {
  std::chrono::steady_clock::time_point opened;
  std::string subscription;                ///< the first text frame (empty if none came)
  std::vector<std::string> subscriptions;  ///< every subscription frame on this connection, in order
  std::size_t frames_sent = 0;
};

class MockAisstream {
 public:
  explicit MockAisstream(MockOptions options);
  ~MockAisstream();
  MockAisstream(const MockAisstream&) = delete;
  MockAisstream& operator=(const MockAisstream&) = delete;

  /// Port on 127.0.0.1.
  [[nodiscard]] int port() const;
  /// "ws://localhost:PORT/v0/stream" or "wss://…".
  [[nodiscard]] std::string url() const;
  /// Fault for the connections that open from now on (and the current one for silence/abrupt_close).
  void set_fault(MockFault fault, std::size_t after_frames = 0,
                 std::string error_text = "Api Key Is Not Valid");
  /// Upgrade attempts seen (including refused ones), in order.
  [[nodiscard]] std::vector<std::chrono::steady_clock::time_point> attempts() const;
  /// Accepted connections, in order.
  [[nodiscard]] std::vector<MockConnection> connections() const;
  /// WebSocket pings received.
  [[nodiscard]] std::size_t pings() const;
  /// Total frames sent.
  [[nodiscard]] std::size_t frames_sent() const;
  /// Connections the server closed because no subscription came in time.
  [[nodiscard]] std::size_t subscribe_timeouts() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Writes a self-signed certificate for DNS:localhost (and its key) with the openssl CLI.
void make_self_signed_cert(const std::string& cert_file, const std::string& key_file);

}  // namespace aistrack::test
