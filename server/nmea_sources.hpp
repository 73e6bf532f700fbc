// NMEA line sources for the server: a UDP listener, a TCP client that reconnects with backoff, and a
// file replayer paced by tag-block times. Each reads lines of NMEA text (AIS-catcher, rtl-ais, a
// shore station or a ship's transponder) and hands every line, without "\r\n", to a callback with the
// time it was read. They do not parse NMEA: feed the lines to an nmea::Assembler.
//
// Threading: each source runs on an asio::io_context the caller owns (its handlers go through a strand,
// so the io_context may run on several threads); the line handler is called there and must return
// quickly. start()/stop() may be called from any thread; status() is thread-safe. Destroying a source
// stops it; pending operations finish harmlessly on the io_context. Asio stays out of this header.
#pragma once

#include <aistrack/types.hpp>

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

namespace aistrack::server {

/// Receives one line (no "\r\n"; valid only during the call) and the ms UTC it was read.
using NmeaLineHandler = std::function<void(std::string_view line, TimeMs received_ms)>;

/// Where a source is.
enum class NmeaSourceState : std::uint8_t {
  stopped,      ///< not started, or stopped
  listening,    ///< UDP: bound and receiving
  connecting,   ///< TCP: resolving / connecting
  connected,    ///< TCP: reading lines
  backing_off,  ///< TCP: waiting before the next attempt
  replaying,    ///< file: sending lines
  finished,     ///< file: every line sent
  failed,       ///< file: cannot be read (see last_error)
};

/// "stopped", "listening", "connecting", "connected", "backing_off", "replaying", "finished" or "failed".
std::string_view to_string(NmeaSourceState state) noexcept;

/// A snapshot of one source, for /health and logs.
struct NmeaSourceStatus {
  NmeaSourceState state = NmeaSourceState::stopped;
  std::uint64_t lines = 0;              ///< lines handed to the handler
  std::uint64_t bytes = 0;              ///< bytes received or read
  std::uint64_t datagrams = 0;          ///< UDP datagrams received
  std::uint64_t connects = 0;           ///< TCP connections made
  std::uint64_t disconnects = 0;        ///< TCP connections lost or refused (each one schedules a retry)
  std::uint64_t overlong_lines = 0;     ///< lines longer than max_line_bytes: dropped
  std::optional<TimeMs> last_line_ms;   ///< ms UTC of the newest line
  std::optional<TimeMs> next_retry_ms;  ///< TCP: ms UTC of the next attempt while backing off
  std::string last_error;               ///< latest problem (connect error, read error, …)
};

/// UDP listener settings.
struct NmeaUdpConfig {
  std::string bind_address = "0.0.0.0";  ///< "127.0.0.1" to accept local senders only; IPv6 literals work
  std::uint16_t port = 10110;            ///< 0: any free port (see NmeaUdpListener::local_port)
  std::size_t max_line_bytes = 4096;     ///< longer lines are dropped and counted
};

/// Listens for datagrams of NMEA lines (one or more lines per datagram, "\n" or "\r\n" separated).
class NmeaUdpListener {
 public:
  /// Validates the settings (throws aistrack::Error naming the problem); does not bind yet.
  NmeaUdpListener(asio::io_context& io, NmeaUdpConfig config, NmeaLineHandler on_line);
  ~NmeaUdpListener();
  NmeaUdpListener(const NmeaUdpListener&) = delete;
  NmeaUdpListener& operator=(const NmeaUdpListener&) = delete;

  /// Binds and starts receiving; throws aistrack::Error when the address cannot be bound (port in use).
  void start();
  /// Closes the socket (posted to the io_context).
  void stop();
  /// The bound port (useful with port 0); 0 before start().
  [[nodiscard]] std::uint16_t local_port() const;
  /// Thread-safe snapshot.
  [[nodiscard]] NmeaSourceStatus status() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

/// TCP client settings.
struct NmeaTcpConfig {
  std::string host;                          ///< name or address of the feed
  std::uint16_t port = 0;                    ///< 1..65535
  std::int64_t backoff_min_ms = 1'000;       ///< first retry waits this long; each failure doubles the bound
  std::int64_t backoff_max_ms = 300'000;     ///< … up to this (full jitter between min and the bound)
  std::int64_t healthy_after_ms = 60'000;    ///< a connection that lasted this long resets the backoff
  std::int64_t connect_timeout_ms = 10'000;  ///< resolve + connect must finish within this
  std::int64_t stall_timeout_ms = 300'000;   ///< reconnect when nothing arrived for this long (0: never)
  std::size_t max_line_bytes = 4096;         ///< longer lines are dropped and counted
  std::uint64_t jitter_seed = 0;             ///< 0: seeded from the clock
};

/// Parses "host:port" ("ais.example.org:5631", "[::1]:5631") into `config`; false when malformed.
bool parse_host_port(std::string_view text, NmeaTcpConfig& config);

/// Connects to a TCP feed of NMEA lines and keeps reconnecting (exponential backoff, full jitter).
class NmeaTcpClient {
 public:
  /// Validates the settings (throws aistrack::Error naming the problem); does not connect yet.
  NmeaTcpClient(asio::io_context& io, NmeaTcpConfig config, NmeaLineHandler on_line);
  ~NmeaTcpClient();
  NmeaTcpClient(const NmeaTcpClient&) = delete;
  NmeaTcpClient& operator=(const NmeaTcpClient&) = delete;

  /// Starts connecting (posted to the io_context).
  void start();
  /// Closes the connection and stops reconnecting (posted to the io_context).
  void stop();
  /// Thread-safe snapshot.
  [[nodiscard]] NmeaSourceStatus status() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

/// File replay settings.
struct NmeaReplayConfig {
  std::string path;    ///< file of NMEA lines
  double speed = 1.0;  ///< 1: real time by tag-block c: times; 10: ten times faster; 0: as fast as possible
  std::int64_t max_gap_ms =
      60'000;  ///< longest wait between two lines (wall time), so capture gaps do not stall
  std::size_t batch_lines = 2'000;    ///< as fast as possible: lines per handler run before yielding
  std::size_t max_line_bytes = 4096;  ///< longer lines are dropped and counted
};

/// Replays a file of NMEA lines. Lines with a tag-block c: are sent when (c − first c) / speed has passed
/// since start; lines without one follow the previous line at once; times going backwards do not wait.
class NmeaFileReplayer {
 public:
  /// Called once when the whole file has been sent (or could not be read).
  using DoneHandler = std::function<void(const NmeaSourceStatus& status)>;

  /// Validates the settings (throws aistrack::Error naming the problem); does not open the file yet.
  NmeaFileReplayer(asio::io_context& io, NmeaReplayConfig config, NmeaLineHandler on_line,
                   DoneHandler on_done = {});
  ~NmeaFileReplayer();
  NmeaFileReplayer(const NmeaFileReplayer&) = delete;
  NmeaFileReplayer& operator=(const NmeaFileReplayer&) = delete;

  /// Opens the file and starts sending (posted to the io_context); an unreadable file ends in state failed.
  void start();
  /// Stops sending (posted to the io_context).
  void stop();
  /// Thread-safe snapshot.
  [[nodiscard]] NmeaSourceStatus status() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

/// The tag-block c: time of the first tag block on `line` that has one, in ms UTC.
std::optional<TimeMs> tag_block_time(std::string_view line) noexcept;

}  // namespace aistrack::server
