#include "nmea_sources.hpp"

#include <aistrack/nmea.hpp>

#include <asio.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <mutex>
#include <random>
#include <utility>

namespace aistrack::server {
namespace {

using Strand = asio::strand<asio::io_context::executor_type>;
using SteadyClock = std::chrono::steady_clock;

TimeMs wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Splits a byte stream into lines ("\n" or "\r\n"); lines longer than `max` are dropped and counted.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max) : max_(max) {}

  /// Calls emit(line) for each complete line in `data`; keeps the unfinished tail.
  template <class Emit>
  void feed(std::string_view data, Emit&& emit, std::uint64_t& overlong) {
    while (!data.empty()) {
      const auto nl = data.find('\n');
      if (nl == std::string_view::npos) {
        if (discarding_) return;
        if (partial_.size() + data.size() > max_ + 1) {  // + 1: room for a '\r' before the '\n'
          discarding_ = true;
          partial_.clear();
          ++overlong;
          return;
        }
        partial_.append(data);
        return;
      }
      const std::string_view piece = data.substr(0, nl);
      data.remove_prefix(nl + 1);
      if (discarding_) {  // the rest of a line already counted as overlong
        discarding_ = false;
        continue;
      }
      if (partial_.empty()) {
        if (trimmed(piece).size() > max_) {
          ++overlong;
          continue;
        }
        emit(trimmed(piece));
      } else {
        if (partial_.size() + piece.size() > max_ + 1) {
          ++overlong;
          partial_.clear();
          continue;
        }
        partial_.append(piece);
        emit(trimmed(partial_));
        partial_.clear();
      }
    }
  }

  /// Emits an unfinished last line (end of a datagram) and resets.
  template <class Emit>
  void finish(Emit&& emit) {
    if (!partial_.empty() && !discarding_) emit(trimmed(partial_));
    reset();
  }

  void reset() {
    partial_.clear();
    discarding_ = false;
  }

 private:
  static std::string_view trimmed(std::string_view s) {
    if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
    return s;
  }

  std::size_t max_;
  std::string partial_;
  bool discarding_ = false;
};

void require(bool ok, const std::string& what) {
  if (!ok) throw Error(what);
}

}  // namespace

std::string_view to_string(NmeaSourceState state) noexcept {
  switch (state) {
    case NmeaSourceState::stopped: return "stopped";
    case NmeaSourceState::listening: return "listening";
    case NmeaSourceState::connecting: return "connecting";
    case NmeaSourceState::connected: return "connected";
    case NmeaSourceState::backing_off: return "backing_off";
    case NmeaSourceState::replaying: return "replaying";
    case NmeaSourceState::finished: return "finished";
    case NmeaSourceState::failed: return "failed";
  }
  return "stopped";
}

std::optional<TimeMs> tag_block_time(std::string_view line) noexcept {
  std::size_t pos = 0;
  for (;;) {
    const auto open = line.find('\\', pos);
    if (open == std::string_view::npos) return std::nullopt;
    const auto close = line.find('\\', open + 1);
    if (close == std::string_view::npos) return std::nullopt;
    nmea::TagBlock tag;
    if (nmea::parse_tag_block(line.substr(open + 1, close - open - 1), tag) == nmea::TagStatus::ok &&
        tag.time_ms) {
      return tag.time_ms;
    }
    pos = close + 1;
  }
}

bool parse_host_port(std::string_view text, NmeaTcpConfig& config) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {  // [IPv6]:port
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  for (const char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return false;
  config.host = std::string(host);
  config.port = static_cast<std::uint16_t>(value);
  return true;
}

// ---- UDP ------------------------------------------------------------------------------------------

struct NmeaUdpListener::Impl : std::enable_shared_from_this<NmeaUdpListener::Impl> {
  Impl(asio::io_context& io, NmeaUdpConfig c, NmeaLineHandler h)
      : strand(asio::make_strand(io)),
        socket(strand),
        config(std::move(c)),
        on_line(std::move(h)),
        splitter(config.max_line_bytes) {}

  void receive() {
    socket.async_receive_from(
        asio::buffer(buffer), sender,
        [self = shared_from_this()](std::error_code ec, std::size_t n) { self->on_receive(ec, n); });
  }

  void on_receive(std::error_code ec, std::size_t n) {
    if (stopped || ec == asio::error::operation_aborted) return;
    if (ec) {  // e.g. ICMP errors surfacing on the socket: note and keep listening
      const std::lock_guard lock(mutex);
      status.last_error = ec.message();
    } else {
      const TimeMs now = wall_ms();
      std::uint64_t lines = 0;
      std::uint64_t overlong = 0;
      auto emit = [&](std::string_view line) {
        ++lines;
        on_line(line, now);
      };
      splitter.feed(std::string_view(buffer.data(), n), emit, overlong);
      splitter.finish(emit);  // a datagram ends its last line
      const std::lock_guard lock(mutex);
      ++status.datagrams;
      status.bytes += n;
      status.lines += lines;
      status.overlong_lines += overlong;
      if (lines > 0) status.last_line_ms = now;
    }
    receive();
  }

  Strand strand;
  asio::ip::udp::socket socket;
  NmeaUdpConfig config;
  NmeaLineHandler on_line;
  LineSplitter splitter;
  std::array<char, 65536> buffer{};
  asio::ip::udp::endpoint sender;
  bool stopped = false;  // strand only
  mutable std::mutex mutex;
  NmeaSourceStatus status;
  std::uint16_t port = 0;  // guarded by mutex
};

NmeaUdpListener::NmeaUdpListener(asio::io_context& io, NmeaUdpConfig config, NmeaLineHandler on_line) {
  require(static_cast<bool>(on_line), "NmeaUdpListener needs a line handler");
  require(config.max_line_bytes > 0, "NMEA UDP max_line_bytes must be positive");
  std::error_code ec;
  (void)asio::ip::make_address(config.bind_address, ec);
  require(!ec, "NMEA UDP bind address \"" + config.bind_address + "\" is not an IP address");
  impl_ = std::make_shared<Impl>(io, std::move(config), std::move(on_line));
}

NmeaUdpListener::~NmeaUdpListener() { stop(); }

void NmeaUdpListener::start() {
  const asio::ip::udp::endpoint endpoint(asio::ip::make_address(impl_->config.bind_address),
                                         impl_->config.port);
  std::error_code ec;
  impl_->socket.open(endpoint.protocol(), ec);
  if (!ec) impl_->socket.bind(endpoint, ec);
  if (ec) {
    impl_->socket.close(ec);
    throw Error("cannot listen for NMEA on UDP " + impl_->config.bind_address + ":" +
                std::to_string(impl_->config.port) + ": " + ec.message() +
                " (is another program using the port? set NMEA_UDP_PORT to a free one)");
  }
  std::error_code ignore;
  impl_->socket.set_option(asio::socket_base::receive_buffer_size(1 << 20), ignore);
  {
    const std::lock_guard lock(impl_->mutex);
    impl_->port = impl_->socket.local_endpoint(ignore).port();
    impl_->status.state = NmeaSourceState::listening;
  }
  asio::post(impl_->strand, [self = impl_] { self->receive(); });
}

void NmeaUdpListener::stop() {
  asio::post(impl_->strand, [self = impl_] {
    self->stopped = true;
    std::error_code ec;
    self->socket.close(ec);
    const std::lock_guard lock(self->mutex);
    self->status.state = NmeaSourceState::stopped;
  });
}

std::uint16_t NmeaUdpListener::local_port() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->port;
}

NmeaSourceStatus NmeaUdpListener::status() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->status;
}

// ---- TCP ------------------------------------------------------------------------------------------

struct NmeaTcpClient::Impl : std::enable_shared_from_this<NmeaTcpClient::Impl> {
  Impl(asio::io_context& io, NmeaTcpConfig c, NmeaLineHandler h)
      : strand(asio::make_strand(io)),
        resolver(strand),
        socket(strand),
        timer(strand),
        stall_timer(strand),
        config(std::move(c)),
        on_line(std::move(h)),
        splitter(config.max_line_bytes) {
    rng.seed(config.jitter_seed != 0
                 ? config.jitter_seed
                 : static_cast<std::uint64_t>(SteadyClock::now().time_since_epoch().count()));
  }

  void set_state(NmeaSourceState s) {
    const std::lock_guard lock(mutex);
    status.state = s;
    if (s != NmeaSourceState::backing_off) status.next_retry_ms.reset();
  }

  void connect() {
    if (stopped) return;
    const std::uint64_t id = ++connection;
    set_state(NmeaSourceState::connecting);
    splitter.reset();
    timer.expires_after(std::chrono::milliseconds(config.connect_timeout_ms));
    timer.async_wait([self = shared_from_this(), id](std::error_code ec) {
      if (ec || self->connection != id || self->connected) return;
      self->fail(id, "connect timed out after " + std::to_string(self->config.connect_timeout_ms) + " ms");
    });
    resolver.async_resolve(
        config.host, std::to_string(config.port),
        [self = shared_from_this(), id](std::error_code ec, asio::ip::tcp::resolver::results_type r) {
          if (self->connection != id || self->stopped) return;
          if (ec) return self->fail(id, "cannot resolve " + self->config.host + ": " + ec.message());
          asio::async_connect(
              self->socket, r,
              [self, id](std::error_code ec2, const asio::ip::tcp::endpoint&) { self->on_connect(id, ec2); });
        });
  }

  void on_connect(std::uint64_t id, std::error_code ec) {
    if (connection != id || stopped) return;
    if (ec)
      return fail(
          id, "cannot connect to " + config.host + ":" + std::to_string(config.port) + ": " + ec.message());
    timer.cancel();
    connected = true;
    connected_at = SteadyClock::now();
    last_data = connected_at;
    std::error_code ignore;
    socket.set_option(asio::socket_base::keep_alive(true), ignore);
    {
      const std::lock_guard lock(mutex);
      ++status.connects;
      status.state = NmeaSourceState::connected;
      status.next_retry_ms.reset();
    }
    watch_stall(id);
    read(id);
  }

  void watch_stall(std::uint64_t id) {
    if (config.stall_timeout_ms <= 0) return;
    stall_timer.expires_after(std::chrono::milliseconds(config.stall_timeout_ms));
    stall_timer.async_wait([self = shared_from_this(), id](std::error_code ec) {
      if (ec || self->connection != id || !self->connected) return;
      const auto quiet = SteadyClock::now() - self->last_data;
      if (quiet >= std::chrono::milliseconds(self->config.stall_timeout_ms)) {
        return self->fail(id, "no data for " + std::to_string(self->config.stall_timeout_ms) + " ms");
      }
      self->watch_stall(id);
    });
  }

  void read(std::uint64_t id) {
    socket.async_read_some(
        asio::buffer(buffer),
        [self = shared_from_this(), id](std::error_code ec, std::size_t n) { self->on_read(id, ec, n); });
  }

  void on_read(std::uint64_t id, std::error_code ec, std::size_t n) {
    if (connection != id || stopped) return;
    if (ec)
      return fail(id, ec == asio::error::eof ? std::string("connection closed by the feed") : ec.message());
    last_data = SteadyClock::now();
    const TimeMs now = wall_ms();
    std::uint64_t lines = 0;
    std::uint64_t overlong = 0;
    splitter.feed(
        std::string_view(buffer.data(), n),
        [&](std::string_view line) {
          ++lines;
          on_line(line, now);
        },
        overlong);
    {
      const std::lock_guard lock(mutex);
      status.bytes += n;
      status.lines += lines;
      status.overlong_lines += overlong;
      if (lines > 0) status.last_line_ms = now;
    }
    read(id);
  }

  /// Ends connection `id` and schedules the next attempt: exponential bound, full jitter above the minimum.
  void fail(std::uint64_t id, const std::string& why) {
    if (connection != id || stopped) return;
    ++connection;  // late handlers of this connection are ignored from now on
    std::error_code ignore;
    resolver.cancel();
    socket.close(ignore);
    timer.cancel();
    stall_timer.cancel();
    const auto now = SteadyClock::now();
    if (connected && now - connected_at >= std::chrono::milliseconds(config.healthy_after_ms)) attempt = 0;
    connected = false;
    const std::int64_t bound =
        std::min<std::int64_t>(config.backoff_max_ms, config.backoff_min_ms << std::min(attempt, 20));
    ++attempt;
    std::uniform_int_distribution<std::int64_t> jitter(config.backoff_min_ms,
                                                       std::max(bound, config.backoff_min_ms));
    const std::int64_t delay = jitter(rng);
    {
      const std::lock_guard lock(mutex);
      ++status.disconnects;
      status.last_error = why;
      status.state = NmeaSourceState::backing_off;
      status.next_retry_ms = wall_ms() + delay;
    }
    const std::uint64_t next = connection;
    timer.expires_after(std::chrono::milliseconds(delay));
    timer.async_wait([self = shared_from_this(), next](std::error_code ec) {
      if (ec || self->connection != next) return;
      self->connect();
    });
  }

  void shut() {
    stopped = true;
    ++connection;
    std::error_code ignore;
    resolver.cancel();
    socket.close(ignore);
    timer.cancel();
    stall_timer.cancel();
    set_state(NmeaSourceState::stopped);
  }

  Strand strand;
  asio::ip::tcp::resolver resolver;
  asio::ip::tcp::socket socket;
  asio::steady_timer timer;  // connect timeout, then backoff
  asio::steady_timer stall_timer;
  NmeaTcpConfig config;
  NmeaLineHandler on_line;
  LineSplitter splitter;
  std::array<char, 16384> buffer{};
  std::mt19937_64 rng;
  // strand only:
  std::uint64_t connection = 0;  // id of the current attempt; handlers of older ones return at once
  int attempt = 0;
  bool connected = false;
  bool stopped = false;
  SteadyClock::time_point connected_at;
  SteadyClock::time_point last_data;
  mutable std::mutex mutex;
  NmeaSourceStatus status;
};

NmeaTcpClient::NmeaTcpClient(asio::io_context& io, NmeaTcpConfig config, NmeaLineHandler on_line) {
  require(static_cast<bool>(on_line), "NmeaTcpClient needs a line handler");
  require(!config.host.empty(), "NMEA TCP feed needs a host (NMEA_TCP=host:port)");
  require(config.port != 0, "NMEA TCP feed needs a port 1..65535 (NMEA_TCP=host:port)");
  require(config.backoff_min_ms > 0 && config.backoff_min_ms <= config.backoff_max_ms,
          "NMEA TCP backoff: need 0 < backoff_min_ms <= backoff_max_ms");
  require(config.connect_timeout_ms > 0, "NMEA TCP connect_timeout_ms must be positive");
  require(config.stall_timeout_ms >= 0, "NMEA TCP stall_timeout_ms must be 0 (off) or positive");
  require(config.max_line_bytes > 0, "NMEA TCP max_line_bytes must be positive");
  impl_ = std::make_shared<Impl>(io, std::move(config), std::move(on_line));
}

NmeaTcpClient::~NmeaTcpClient() { stop(); }

void NmeaTcpClient::start() {
  asio::post(impl_->strand, [self = impl_] {
    self->stopped = false;
    self->connect();
  });
}

void NmeaTcpClient::stop() {
  asio::post(impl_->strand, [self = impl_] { self->shut(); });
}

NmeaSourceStatus NmeaTcpClient::status() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->status;
}

// ---- file replay ----------------------------------------------------------------------------------

struct NmeaFileReplayer::Impl : std::enable_shared_from_this<NmeaFileReplayer::Impl> {
  Impl(asio::io_context& io, NmeaReplayConfig c, NmeaLineHandler h, DoneHandler d)
      : strand(asio::make_strand(io)),
        timer(strand),
        config(std::move(c)),
        on_line(std::move(h)),
        on_done(std::move(d)) {}

  void begin() {
    if (running) return;
    in.close();
    in.clear();
    have_line = false;
    anchor_tag.reset();
    in.open(config.path, std::ios::binary);
    if (!in) {
      {
        const std::lock_guard lock(mutex);
        status.state = NmeaSourceState::failed;
        status.last_error = "cannot read " + config.path;
      }
      finish();
      return;
    }
    running = true;
    {
      const std::lock_guard lock(mutex);
      status.state = NmeaSourceState::replaying;
    }
    step();
  }

  /// Sends lines until one must wait (timer) or a batch is done (post), or the file ends.
  void step() {
    if (!running) return;
    std::uint64_t lines = 0;
    std::uint64_t bytes = 0;
    std::uint64_t overlong = 0;
    TimeMs last_ms = 0;
    bool yielded = false;
    while (running) {
      if (!have_line) {
        if (!std::getline(in, line)) break;
        bytes += line.size() + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.size() > config.max_line_bytes) {
          ++overlong;
          continue;
        }
        have_line = true;
      }
      if (config.speed > 0) {
        if (const auto t = tag_block_time(line)) {
          const auto due = due_time(*t);
          if (due > SteadyClock::now()) {
            timer.expires_at(due);
            timer.async_wait([self = shared_from_this()](std::error_code ec) {
              if (!ec) self->step();
            });
            yielded = true;
            break;
          }
        }
      }
      last_ms = wall_ms();
      on_line(line, last_ms);
      have_line = false;
      ++lines;
      if (lines >= config.batch_lines) {  // yield so other handlers (and stop()) get a turn
        asio::post(strand, [self = shared_from_this()] { self->step(); });
        yielded = true;
        break;
      }
    }
    {
      const std::lock_guard lock(mutex);
      status.lines += lines;
      status.bytes += bytes;
      status.overlong_lines += overlong;
      if (lines > 0) status.last_line_ms = last_ms;
    }
    if (!yielded && running) {
      running = false;
      {
        const std::lock_guard lock(mutex);
        status.state = NmeaSourceState::finished;
      }
      finish();
    }
  }

  /// When a line stamped `t` (ms UTC) is due, with the speed factor, gap limit and backward jumps applied.
  SteadyClock::time_point due_time(TimeMs t) {
    const auto now = SteadyClock::now();
    if (!anchor_tag || t < max_tag - config.max_gap_ms) {  // first time, or a jump back: a new segment
      anchor_tag = t;
      anchor_wall = now;
      max_tag = t;
      last_due = now;
      return now;
    }
    if (t < max_tag) return now;  // a little out of order: no wait
    max_tag = t;
    const auto offset =
        std::chrono::duration<double, std::milli>(static_cast<double>(t - *anchor_tag) / config.speed);
    auto due = anchor_wall + std::chrono::duration_cast<SteadyClock::duration>(offset);
    const auto gap = std::chrono::milliseconds(config.max_gap_ms);
    if (due - last_due > gap) {  // a capture gap: wait at most max_gap, and move the anchor with it
      anchor_wall -= (due - last_due) - gap;
      due = last_due + gap;
    }
    last_due = due;
    return due;
  }

  void finish() {
    if (!on_done) return;
    NmeaSourceStatus snapshot;
    {
      const std::lock_guard lock(mutex);
      snapshot = status;
    }
    on_done(snapshot);
  }

  void shut() {
    running = false;
    timer.cancel();
    in.close();
    const std::lock_guard lock(mutex);
    if (status.state == NmeaSourceState::replaying) status.state = NmeaSourceState::stopped;
  }

  Strand strand;
  asio::steady_timer timer;
  NmeaReplayConfig config;
  NmeaLineHandler on_line;
  DoneHandler on_done;
  // strand only:
  std::ifstream in;
  std::string line;
  bool have_line = false;
  bool running = false;
  std::optional<TimeMs> anchor_tag;
  TimeMs max_tag = 0;
  SteadyClock::time_point anchor_wall;
  SteadyClock::time_point last_due;
  mutable std::mutex mutex;
  NmeaSourceStatus status;
};

NmeaFileReplayer::NmeaFileReplayer(asio::io_context& io, NmeaReplayConfig config, NmeaLineHandler on_line,
                                   DoneHandler on_done) {
  require(static_cast<bool>(on_line), "NmeaFileReplayer needs a line handler");
  require(!config.path.empty(), "NMEA replay needs a file (--source nmea-file:FILE)");
  require(config.speed >= 0, "NMEA replay speed must be 0 (as fast as possible) or positive");
  require(config.max_gap_ms > 0, "NMEA replay max_gap_ms must be positive");
  require(config.batch_lines > 0, "NMEA replay batch_lines must be positive");
  require(config.max_line_bytes > 0, "NMEA replay max_line_bytes must be positive");
  impl_ = std::make_shared<Impl>(io, std::move(config), std::move(on_line), std::move(on_done));
}

NmeaFileReplayer::~NmeaFileReplayer() { stop(); }

void NmeaFileReplayer::start() {
  asio::post(impl_->strand, [self = impl_] { self->begin(); });
}

void NmeaFileReplayer::stop() {
  asio::post(impl_->strand, [self = impl_] { self->shut(); });
}

NmeaSourceStatus NmeaFileReplayer::status() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->status;
}

}  // namespace aistrack::server
