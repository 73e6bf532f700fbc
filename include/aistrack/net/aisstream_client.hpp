// aisstream.io WebSocket client (library aistrack::net) built to be left running for a month.
//
// It survives the service's known failures: sockets that stay open but go silent (stall
// watchdog), 1006 closes (reconnect with exponential backoff and full jitter), silent closes
// of clients that never ping (WebSocket ping every ping_interval), HTTP 429 on reconnect
// (wait at least rate_limited_min), {"error": …} frames for a bad key or subscription (logged;
// a bad key backs off to the maximum), and expired or untrusted certificates (refused, with
// the verification error in the status).
//
// Unlike the core, this library reads the clock and does I/O. It runs on an asio::io_context
// that the caller owns and runs on exactly one thread; the frame handler is called on that
// thread and must return quickly (queue the frame, parse elsewhere) so the socket is drained
// promptly. The API key is never logged and never appears in status or errors.
#pragma once

#include <aistrack/aisstream.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace asio {
class io_context;
}  // namespace asio

namespace aistrack::net {

/// Settings of the client; the defaults are what the real service needs.
struct AisstreamClientConfig {
  std::string url = "wss://stream.aisstream.io/v0/stream";  ///< wss:// (verified) or ws:// (tests)
  aisstream::Subscription subscription;                     ///< API key, boxes, MMSIs, types
  std::string ca_file;  ///< PEM bundle to trust instead of the system store (empty: system)
  std::int64_t ping_interval_ms =
      30'000;  ///< WebSocket ping period (the service drops silent clients ~2 min)
  std::int64_t stall_timeout_ms = 120'000;    ///< reconnect when no frame arrived for this long
  std::int64_t connect_timeout_ms = 15'000;   ///< TCP + TLS + upgrade must finish within this
  std::int64_t backoff_min_ms = 1'000;        ///< first reconnect delay bound (full jitter above it)
  std::int64_t backoff_max_ms = 300'000;      ///< largest reconnect delay
  std::int64_t healthy_after_ms = 60'000;     ///< a connection streaming this long resets the backoff
  std::int64_t rate_limited_min_ms = 60'000;  ///< least wait after an HTTP 429
  std::size_t max_frame_bytes = 1 << 20;      ///< larger frames close the connection (1009)
  std::uint64_t jitter_seed = 0;              ///< 0: seeded from the clock
};

/// Where the feed is.
enum class FeedState : std::uint8_t { stopped, connecting, subscribed, streaming, stalled, backing_off };

/// "stopped", "connecting", "subscribed", "streaming", "stalled" or "backing_off".
std::string_view to_string(FeedState state) noexcept;

/// Why a connection ended (counted in FeedStatus::reconnects).
enum class ReconnectCause : std::uint8_t {
  closed,         ///< the server closed (any code, including 1006 abnormal closure)
  failed,         ///< could not connect (DNS, TCP, TLS handshake other than verification, upgrade)
  stalled,        ///< nothing arrived for stall_timeout
  rate_limited,   ///< HTTP 429 on upgrade
  service_error,  ///< an {"error": …} frame
  tls,            ///< certificate verification failed
};
inline constexpr std::size_t kReconnectCauseCount = 6;

/// "closed", "failed", "stalled", "rate_limited", "service_error" or "tls".
std::string_view to_string(ReconnectCause cause) noexcept;

/// A snapshot of the feed for /health.
struct FeedStatus {
  FeedState state = FeedState::stopped;
  std::optional<std::int64_t> last_frame_ms;  ///< ms UTC of the newest frame
  std::optional<std::int64_t> next_retry_ms;  ///< ms UTC of the next connection attempt while backing off
  std::optional<std::int64_t> connected_since_ms;  ///< ms UTC the current connection opened
  std::uint64_t frames = 0;                        ///< data frames (text or binary) received
  std::uint64_t bytes = 0;                         ///< payload bytes received
  std::uint64_t connects = 0;                      ///< connections opened
  std::uint64_t service_errors = 0;                ///< {"error": …} frames
  std::uint64_t resubscriptions = 0;  ///< subscriptions replaced on an open connection (set_subscription)
  std::array<std::uint64_t, kReconnectCauseCount> reconnects{};  ///< by ReconnectCause
  std::string last_error;                                        ///< latest problem, without secrets
  bool permessage_deflate = false;                               ///< the server agreed to compression
};

/// Log levels passed to the log handler.
enum class LogSeverity : std::uint8_t { debug, info, warn, error };

/// Connects, subscribes, keeps the feed alive and hands every data frame (text or binary) to the caller.
class AisstreamClient {
 public:
  /// Receives each data frame, text or binary (moved), and the ms UTC it was read.
  using FrameHandler = std::function<void(std::string&& frame, std::int64_t received_ms)>;
  /// Receives log lines (never containing the API key).
  using LogHandler = std::function<void(LogSeverity severity, std::string_view line)>;

  /// Validates the config (throws aistrack::Error naming what is wrong); does not connect yet.
  AisstreamClient(asio::io_context& io, AisstreamClientConfig config, FrameHandler on_frame,
                  LogHandler on_log);
  /// Stops; the io_context must not be running the client's handlers concurrently.
  ~AisstreamClient();
  AisstreamClient(const AisstreamClient&) = delete;
  AisstreamClient& operator=(const AisstreamClient&) = delete;

  /// Starts connecting (posted to the io_context).
  void start();
  /// Closes the connection (going away) and stops reconnecting (posted to the io_context).
  void stop();
  /// Replaces what the client subscribes to (boxes, MMSIs, message types; the API key is kept when
  /// `subscription.api_key` is empty). On an open connection the new subscription is sent on the same
  /// socket at once, or 1 s after the previous one: the service accepts one per second, so changes
  /// in between are coalesced into one send of the newest. Later connections subscribe with it too.
  /// Thread-safe (posted to the io_context).
  void set_subscription(aisstream::Subscription subscription);
  /// The current status; thread-safe.
  [[nodiscard]] FeedStatus status() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace aistrack::net
