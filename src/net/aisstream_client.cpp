#include <aistrack/net/aisstream_client.hpp>
#include <aistrack/version.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/json.hpp>

#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_client.hpp>
#include <websocketpp/extensions/permessage_deflate/enabled.hpp>

#include <asio/post.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <random>

namespace aistrack::net {

std::string_view to_string(FeedState state) noexcept {
  switch (state) {
    case FeedState::stopped: return "stopped";
    case FeedState::connecting: return "connecting";
    case FeedState::subscribed: return "subscribed";
    case FeedState::streaming: return "streaming";
    case FeedState::stalled: return "stalled";
    case FeedState::backing_off: return "backing_off";
  }
  return "stopped";
}

std::string_view to_string(ReconnectCause cause) noexcept {
  switch (cause) {
    case ReconnectCause::closed: return "closed";
    case ReconnectCause::failed: return "failed";
    case ReconnectCause::stalled: return "stalled";
    case ReconnectCause::rate_limited: return "rate_limited";
    case ReconnectCause::service_error: return "service_error";
    case ReconnectCause::tls: return "tls";
  }
  return "closed";
}

namespace {

using Clock = std::chrono::steady_clock;

// {"error": "..."} frames: the service's answer to a bad key or subscription. Checked on every
// frame, so a data frame must be dismissed without scanning it: the first key decides, and only
// frames too short to be an AIS message are searched anywhere. A long frame with "error" as a later
// key is therefore handed on as data: the parser still counts and logs it as a service error, but the
// client does not back off for it. Every error frame the service is known to send is the short
// {"error": "..."}.
bool looks_like_error_frame(std::string_view frame) {
  constexpr std::string_view kError = "\"error\"";
  constexpr std::size_t kShort = 256;  // a data frame's MetaData alone is longer
  const auto first = frame.find_first_not_of(" \t\r\n{");
  if (first != std::string_view::npos && frame.substr(first).starts_with(kError)) return true;
  return frame.size() < kShort && frame.find(kError) != std::string_view::npos &&
         frame.find("\"MessageType\"") == std::string_view::npos;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// permessage-deflate is offered to the server, which may accept it (RFC 7692).
struct TlsConfig : websocketpp::config::asio_tls_client {
  struct permessage_deflate_config {};
  using permessage_deflate_type =
      websocketpp::extensions::permessage_deflate::enabled<permessage_deflate_config>;
};
struct PlainConfig : websocketpp::config::asio_client {
  struct permessage_deflate_config {};
  using permessage_deflate_type =
      websocketpp::extensions::permessage_deflate::enabled<permessage_deflate_config>;
};

/// How a connection attempt or connection ended, as the transport saw it.
struct Ending {
  bool opened = false;  // false: the attempt failed before the upgrade completed
  int http_status = 0;  // upgrade response status when it failed
  int close_code = 0;   // close code when it closed (1006: no close frame)
  bool tls_verify_failed = false;
  std::string detail;  // human-readable, never contains the key
};

/// What the transport reports back; `generation` identifies the connection attempt.
class Events {
 public:
  virtual ~Events() = default;
  virtual void on_open(std::uint64_t generation, bool deflate) = 0;
  virtual void on_text(std::uint64_t generation, std::string&& payload) = 0;
  virtual void on_end(std::uint64_t generation, Ending ending) = 0;
};

/// websocketpp, TLS or plain, behind a small interface so the policy code is written once.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void connect(const std::string& url, std::uint64_t generation) = 0;
  virtual void send(const std::string& text) = 0;
  virtual void ping() = 0;
  virtual void close(std::uint16_t code, const std::string& reason) = 0;
};

template <class Config>
class WsTransport final : public Transport {
 public:
  using Client = websocketpp::client<Config>;

  WsTransport(asio::io_context& io, Events& events, const AisstreamClientConfig& cfg) : events_(events) {
    client_.clear_access_channels(websocketpp::log::alevel::all);
    client_.clear_error_channels(websocketpp::log::elevel::all);
    client_.init_asio(&io);
    client_.set_max_message_size(cfg.max_frame_bytes);
    client_.set_user_agent(std::string("aistrack/") + kVersion);
    if constexpr (std::is_same_v<Config, TlsConfig>) {
      const std::string ca = cfg.ca_file;
      client_.set_tls_init_handler([ca](websocketpp::connection_hdl) {
        auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
        ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
        ctx->set_verify_mode(asio::ssl::verify_peer);
        std::error_code ec;
        if (ca.empty()) {
          ctx->set_default_verify_paths(ec);
        } else {
          ctx->load_verify_file(ca, ec);
        }
        return ctx;
      });
    }
  }

  void connect(const std::string& url, std::uint64_t generation) override {
    std::error_code ec;
    auto con = client_.get_connection(url, ec);
    if (ec) {
      Ending e;
      e.detail = "cannot start a connection: " + ec.message();
      events_.on_end(generation, std::move(e));
      return;
    }
    if constexpr (std::is_same_v<Config, TlsConfig>) {
      // Per connection: the host name is known only once the URI is parsed (DEPENDENCIES.md §3.1.5).
      con->get_socket().set_verify_callback(asio::ssl::host_name_verification(con->get_host()));
    }
    con->set_open_handler([this, generation](websocketpp::connection_hdl h) {
      auto c = client_.get_con_from_hdl(h);
      const bool deflate =
          c->get_response_header("Sec-WebSocket-Extensions").find("permessage-deflate") != std::string::npos;
      events_.on_open(generation, deflate);
    });
    con->set_message_handler(
        [this, generation](websocketpp::connection_hdl, typename Client::message_ptr msg) {
          // JSON either way: whether the service sends text or binary frames is its choice (a
          // binary frame also skips websocketpp's per-byte UTF-8 check; the JSON parser validates).
          const auto op = msg->get_opcode();
          if (op == websocketpp::frame::opcode::text || op == websocketpp::frame::opcode::binary) {
            events_.on_text(generation, std::move(msg->get_raw_payload()));
          }
        });
    con->set_fail_handler([this, generation](websocketpp::connection_hdl h) {
      auto c = client_.get_con_from_hdl(h);
      Ending e;
      e.http_status = static_cast<int>(c->get_response_code());
      e.detail = c->get_ec().message();
      if constexpr (std::is_same_v<Config, TlsConfig>) {
        const long verify = SSL_get_verify_result(c->get_socket().native_handle());
        if (verify != X509_V_OK) {
          e.tls_verify_failed = true;
          e.detail = std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
        }
      }
      if (e.http_status != 0 && e.http_status != 101) e.detail = "HTTP " + std::to_string(e.http_status);
      events_.on_end(generation, std::move(e));
    });
    con->set_close_handler([this, generation](websocketpp::connection_hdl h) {
      auto c = client_.get_con_from_hdl(h);
      Ending e;
      e.opened = true;
      e.close_code = c->get_remote_close_code();
      const std::string reason = c->get_remote_close_reason();
      e.detail =
          "closed with code " + std::to_string(e.close_code) + (reason.empty() ? "" : " (" + reason + ")");
      events_.on_end(generation, std::move(e));
    });
    con_ = con;
    client_.connect(con);
  }

  void send(const std::string& text) override {
    if (!con_) return;
    [[maybe_unused]] const std::error_code ec = con_->send(text, websocketpp::frame::opcode::text);
  }

  void ping() override {
    if (!con_) return;
    std::error_code ec;
    con_->ping("", ec);
  }

  void close(std::uint16_t code, const std::string& reason) override {
    if (!con_) return;
    std::error_code ec;
    // A server that has gone silent will not answer the close handshake either: websocketpp
    // drops the socket after its close timeout. We do not wait for that.
    con_->close(code, reason, ec);
    con_.reset();
  }

 private:
  Events& events_;
  Client client_;
  typename Client::connection_ptr con_;
};

}  // namespace

struct AisstreamClient::Impl final : Events, std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, AisstreamClientConfig cfg_, FrameHandler frame, LogHandler log_)
      : io(io_),
        cfg(std::move(cfg_)),
        on_frame(std::move(frame)),
        on_log(std::move(log_)),
        retry_timer(io_),
        ping_timer(io_),
        watchdog_timer(io_),
        connect_timer(io_),
        resubscribe_timer(io_),
        rng(cfg.jitter_seed != 0 ? cfg.jitter_seed
                                 : static_cast<std::uint64_t>(Clock::now().time_since_epoch().count())) {
    tls = cfg.url.starts_with("wss://");
    if (tls) {
      transport = std::make_unique<WsTransport<TlsConfig>>(io, *this, cfg);
    } else {
      transport = std::make_unique<WsTransport<PlainConfig>>(io, *this, cfg);
    }
    const auto start = cfg.url.find("://") + 3;
    const auto end = cfg.url.find_first_of("/?", start);
    endpoint = cfg.url.substr(0, end == std::string::npos ? cfg.url.size() : end);
  }

  asio::io_context& io;
  AisstreamClientConfig cfg;
  FrameHandler on_frame;
  LogHandler on_log;
  asio::steady_timer retry_timer, ping_timer, watchdog_timer, connect_timer, resubscribe_timer;
  std::mt19937_64 rng;
  std::unique_ptr<Transport> transport;
  bool tls = false;
  std::string endpoint;  // scheme://host:port, for logs

  // Policy state: touched only on the io_context's thread.
  bool running = false;
  std::uint64_t generation = 0;  // current attempt; events of older ones are ignored
  int attempt = 0;               // reconnects since the last healthy connection
  Clock::time_point opened_at{};
  Clock::time_point last_frame_at{};
  bool bad_key = false;
  bool open = false;                         // the current connection is open and subscribed
  aisstream::SubscriptionPacer pacer{1000};  // the service takes one subscription per second

  mutable std::mutex status_mutex;  // guards `st` for status() from other threads
  FeedStatus st;

  void log(LogSeverity s, const std::string& line) const {
    if (on_log) on_log(s, line);
  }

  template <class F>
  void with_status(F&& f) {
    std::lock_guard lock(status_mutex);
    f(st);
  }

  void set_state(FeedState s) {
    with_status([s](FeedStatus& x) { x.state = s; });
  }

  static std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
  }

  void cancel_connection_timers() {
    open = false;
    pacer.reset();
    resubscribe_timer.cancel();
    ping_timer.cancel();
    watchdog_timer.cancel();
    connect_timer.cancel();
  }

  void connect_now() {
    if (!running) return;
    const std::uint64_t gen = ++generation;
    with_status([](FeedStatus& x) {
      x.state = FeedState::connecting;
      x.next_retry_ms.reset();
    });
    log(LogSeverity::info, "connecting to " + endpoint);
    transport->connect(cfg.url, gen);
    connect_timer.expires_after(std::chrono::milliseconds(cfg.connect_timeout_ms));
    connect_timer.async_wait([self = shared_from_this(), gen](const std::error_code& ec) {
      if (ec || gen != self->generation || !self->running) return;
      Ending e;
      e.detail = "no connection after " + std::to_string(self->cfg.connect_timeout_ms) + " ms";
      self->abandon(ReconnectCause::failed, e.detail);
    });
  }

  void on_open(std::uint64_t gen, bool deflate) override {
    if (gen != generation || !running) return;
    connect_timer.cancel();
    opened_at = Clock::now();
    last_frame_at = opened_at;
    bad_key = false;
    // The service closes a connection that has not subscribed within 3 s: subscribe at once.
    transport->send(aisstream::subscription_json(cfg.subscription));
    open = true;
    pacer.sent(steady_ms());
    with_status([&](FeedStatus& x) {
      x.state = FeedState::subscribed;
      ++x.connects;
      x.connected_since_ms = wall_ms();
      x.permessage_deflate = deflate;
    });
    log(LogSeverity::info,
        "connected to " + endpoint + (deflate ? " (permessage-deflate)" : "") + "; subscribed");
    arm_ping(gen);
    arm_watchdog(gen);
  }

  void replace_subscription(aisstream::Subscription sub) {
    if (sub.api_key.empty()) sub.api_key = cfg.subscription.api_key;
    cfg.subscription = std::move(sub);
    if (!running || !open) return;  // the next connection subscribes with it
    const auto now = steady_ms();
    const auto due = pacer.changed(now);
    if (!due) return;  // a send is already scheduled; it will carry this change
    const std::uint64_t gen = generation;
    resubscribe_timer.expires_after(std::chrono::milliseconds(*due - now));
    resubscribe_timer.async_wait([self = shared_from_this(), gen](const std::error_code& ec) {
      if (ec || gen != self->generation || !self->running || !self->open) return;
      self->transport->send(aisstream::subscription_json(self->cfg.subscription));
      self->pacer.sent(steady_ms());
      self->with_status([](FeedStatus& x) { ++x.resubscriptions; });
      self->log(LogSeverity::info, "subscription replaced on the open connection (" +
                                       std::to_string(self->cfg.subscription.mmsi.size()) + " MMSIs, " +
                                       std::to_string(self->cfg.subscription.boxes.size()) + " boxes)");
    });
  }

  void arm_ping(std::uint64_t gen) {
    ping_timer.expires_after(std::chrono::milliseconds(cfg.ping_interval_ms));
    ping_timer.async_wait([self = shared_from_this(), gen](const std::error_code& ec) {
      if (ec || gen != self->generation || !self->running) return;
      self->transport->ping();
      self->arm_ping(gen);
    });
  }

  void arm_watchdog(std::uint64_t gen) {
    const auto deadline = last_frame_at + std::chrono::milliseconds(cfg.stall_timeout_ms);
    watchdog_timer.expires_at(deadline);
    watchdog_timer.async_wait([self = shared_from_this(), gen](const std::error_code& ec) {
      if (ec || gen != self->generation || !self->running) return;
      const auto quiet = Clock::now() - self->last_frame_at;
      if (quiet < std::chrono::milliseconds(self->cfg.stall_timeout_ms)) {
        self->arm_watchdog(gen);  // a frame arrived meanwhile
        return;
      }
      self->set_state(FeedState::stalled);
      self->abandon(
          ReconnectCause::stalled,
          "no message for " + std::to_string(self->cfg.stall_timeout_ms / 1000) + " s: reconnecting");
    });
  }

  void on_text(std::uint64_t gen, std::string&& payload) override {
    if (gen != generation || !running) return;
    const auto now = Clock::now();
    last_frame_at = now;
    const std::int64_t received = wall_ms();
    const std::size_t size = payload.size();
    // An error frame is small and starts with {"error" (whitespace aside); messages never do.
    std::optional<std::string> service_error;
    if (size < 4096 && looks_like_error_frame(payload)) {
      boost::system::error_code ec;
      const auto v = boost::json::parse(payload, ec);
      if (!ec && v.is_object()) {
        if (const auto* e = v.get_object().if_contains("error")) {
          service_error = e->is_string() ? std::string(e->get_string()) : boost::json::serialize(*e);
        }
      }
    }
    with_status([&](FeedStatus& x) {
      ++x.frames;
      x.bytes += size;
      x.last_frame_ms = received;
      if (!service_error) x.state = FeedState::streaming;
    });
    if (!service_error && attempt != 0 &&
        now - opened_at >= std::chrono::milliseconds(cfg.healthy_after_ms)) {
      attempt = 0;  // healthy for a while: the next failure starts from the smallest delay again
    }
    if (on_frame) on_frame(std::move(payload), received);
    if (service_error) {
      std::string lower = *service_error;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      bad_key = lower.find("key") != std::string::npos;
      with_status([](FeedStatus& x) { ++x.service_errors; });
      abandon(ReconnectCause::service_error,
              "aisstream.io says: " + *service_error + (bad_key ? " (check AISSTREAM_API_KEY)" : ""));
    }
  }

  void on_end(std::uint64_t gen, Ending e) override {
    if (gen != generation || !running) return;
    ReconnectCause cause = ReconnectCause::closed;
    if (!e.opened) {
      cause = e.http_status == 429  ? ReconnectCause::rate_limited
              : e.tls_verify_failed ? ReconnectCause::tls
                                    : ReconnectCause::failed;
    }
    retry(cause, e.detail);
  }

  /// Gives up on the current connection (closing it in the background) and schedules the next.
  void abandon(ReconnectCause cause, const std::string& why) {
    ++generation;  // whatever the old connection reports from now on is ignored
    transport->close(websocketpp::close::status::going_away, "reconnecting");
    retry(cause, why);
  }

  void retry(ReconnectCause cause, const std::string& why) {
    cancel_connection_timers();
    if (!running) return;
    // Exponential backoff with full jitter (AWS architecture blog), bounded below so a
    // tight loop can never hammer the service, and above by backoff_max.
    const std::int64_t cap =
        std::min<std::int64_t>(cfg.backoff_max_ms, cfg.backoff_min_ms << std::min(attempt, 20));
    std::int64_t delay = std::uniform_int_distribution<std::int64_t>(0, cap)(rng);
    delay = std::max(delay, cfg.backoff_min_ms);
    if (cause == ReconnectCause::rate_limited) delay = std::max(delay, cfg.rate_limited_min_ms);
    if (cause == ReconnectCause::service_error && bad_key) delay = cfg.backoff_max_ms;
    ++attempt;
    const std::int64_t next = wall_ms() + delay;
    with_status([&](FeedStatus& x) {
      x.state = FeedState::backing_off;
      x.next_retry_ms = next;
      x.connected_since_ms.reset();
      ++x.reconnects[static_cast<std::size_t>(cause)];
      x.last_error = std::string(to_string(cause)) + ": " + why;
    });
    log(cause == ReconnectCause::closed ? LogSeverity::warn : LogSeverity::error,
        std::string("aisstream.io ") + std::string(to_string(cause)) + ": " + why + "; retrying in " +
            std::to_string(delay) + " ms");
    retry_timer.expires_after(std::chrono::milliseconds(delay));
    retry_timer.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (!ec) self->connect_now();
    });
  }

  void stop_now() {
    if (!running) return;
    running = false;
    ++generation;
    retry_timer.cancel();
    cancel_connection_timers();
    transport->close(websocketpp::close::status::going_away, "shutting down");
    with_status([](FeedStatus& x) {
      x.state = FeedState::stopped;
      x.next_retry_ms.reset();
      x.connected_since_ms.reset();
    });
  }
};

AisstreamClient::AisstreamClient(asio::io_context& io, AisstreamClientConfig config, FrameHandler on_frame,
                                 LogHandler on_log) {
  if (!config.url.starts_with("wss://") && !config.url.starts_with("ws://")) {
    throw Error("aisstream.io URL must start with wss:// or ws://");
  }
  if (config.subscription.api_key.empty()) throw Error("aisstream.io needs an API key (AISSTREAM_API_KEY)");
  if (config.backoff_min_ms < 1 || config.backoff_max_ms < config.backoff_min_ms ||
      config.ping_interval_ms < 1 || config.stall_timeout_ms < 1 || config.connect_timeout_ms < 1) {
    throw Error("aisstream.io client timings must be positive and backoff_max >= backoff_min");
  }
  impl_ = std::make_shared<Impl>(io, std::move(config), std::move(on_frame), std::move(on_log));
}

AisstreamClient::~AisstreamClient() {
  // Timers hold the Impl alive through shared_from_this; stopping cancels them.
  if (impl_) impl_->stop_now();
}

void AisstreamClient::start() {
  asio::post(impl_->io, [self = impl_] {
    if (self->running) return;
    self->running = true;
    self->connect_now();
  });
}

void AisstreamClient::stop() {
  asio::post(impl_->io, [self = impl_] { self->stop_now(); });
}

void AisstreamClient::set_subscription(aisstream::Subscription subscription) {
  asio::post(impl_->io, [self = impl_, sub = std::move(subscription)]() mutable {
    self->replace_subscription(std::move(sub));
  });
}

FeedStatus AisstreamClient::status() const {
  std::lock_guard lock(impl_->status_mutex);
  return impl_->st;
}

}  // namespace aistrack::net
