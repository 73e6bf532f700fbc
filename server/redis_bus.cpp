#include "redis_bus.hpp"

#include "json_view.hpp"
#include "log.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <random>

namespace aistrack::server {
namespace json = boost::json;

namespace {
template <typename T>
bool parse_int(std::string_view text, T lo, T hi, T& out) {
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && p == text.data() + text.size() && out >= lo && out <= hi;
}

std::string random_instance_id() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  return fmt::format("{:016x}", gen());
}

// How long an idle publisher waits before it checks its connection with a PING.
constexpr auto kIdleCheck = std::chrono::seconds(5);

timeval timeval_of(std::int64_t ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
}

struct ReplyPtr {
  redisReply* r = nullptr;
  explicit ReplyPtr(void* p) : r(static_cast<redisReply*>(p)) {}
  ~ReplyPtr() {
    if (r != nullptr) freeReplyObject(r);
  }
  ReplyPtr(const ReplyPtr&) = delete;
  ReplyPtr& operator=(const ReplyPtr&) = delete;
};

// The error of a failed command: the context's when the connection broke, else Redis's reply.
std::string error_of(const redisContext* c, const redisReply* r) {
  if (c->err != 0) return c->errstr;
  if (r != nullptr && r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
  return "unexpected reply";
}
}  // namespace

std::optional<RedisEndpoint> parse_redis_url(std::string_view url, std::string& why) {
  constexpr std::string_view kScheme = "redis://";
  const auto fail = [&why](std::string what) -> std::optional<RedisEndpoint> {
    why = std::move(what) + "; expected redis://[[user]:password@]host[:port][/db]";
    return std::nullopt;
  };
  if (!url.starts_with(kScheme)) return fail("not a redis:// URL");
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint e;
  // The password may hold '@' or '/': the credentials end at the last '@'.
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = credentials.find(':');
    if (colon == std::string_view::npos) return fail("credentials must be user:password or :password");
    e.user = std::string(credentials.substr(0, colon));
    e.password = std::string(credentials.substr(colon + 1));
    if (e.password.empty()) return fail("the password after ':' is empty");
  }
  std::string_view authority = rest;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !parse_int(db, 0, 1'000'000, e.db)) return fail("the database must be a number");
  }
  if (authority.starts_with('[')) {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("unclosed '[' in the host");
    e.host = std::string(authority.substr(1, close - 1));
    authority = authority.substr(close + 1);
    if (!authority.empty() && !authority.starts_with(':')) return fail("expected ':port' after the host");
    if (!authority.empty() && !parse_int(authority.substr(1), 1, 65535, e.port))
      return fail("the port must be 1..65535");
  } else {
    const auto colon = authority.find(':');
    e.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos && !parse_int(authority.substr(colon + 1), 1, 65535, e.port))
      return fail("the port must be 1..65535");
  }
  if (e.host.empty()) return fail("the host is empty");
  for (const char ch : e.host) {
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == '?' || ch == '#')
      return fail("the host is not valid");
  }
  return e;
}

std::string redis_address(const RedisEndpoint& endpoint) {
  return endpoint.host.find(':') != std::string::npos ? fmt::format("[{}]:{}", endpoint.host, endpoint.port)
                                                      : fmt::format("{}:{}", endpoint.host, endpoint.port);
}

std::string_view to_string(RedisState state) noexcept {
  switch (state) {
    case RedisState::off: return "off";
    case RedisState::connecting: return "connecting";
    case RedisState::connected: return "connected";
    case RedisState::down: return "down";
  }
  return "off";
}

std::string_view to_string(RedisDrop drop) noexcept {
  switch (drop) {
    case RedisDrop::queue_full: return "queue_full";
    case RedisDrop::publish_failed: return "publish_failed";
    case RedisDrop::malformed: return "malformed";
    case RedisDrop::inbox_full: return "inbox_full";
  }
  return "malformed";
}

RedisState RedisBusStatus::overall() const noexcept {
  if (publisher == RedisState::off && subscriber == RedisState::off) return RedisState::off;
  if (publisher == RedisState::connected && subscriber == RedisState::connected) return RedisState::connected;
  if (publisher == RedisState::down || subscriber == RedisState::down) return RedisState::down;
  return RedisState::connecting;
}

std::string redis_message(std::string_view instance_id, const std::vector<VesselState>& states) {
  json::array vessels;
  vessels.reserve(states.size());
  for (const VesselState& v : states) vessels.emplace_back(vessel_json(v));
  return json::serialize(json::object{{"instance", instance_id}, {"vessels", std::move(vessels)}});
}

std::size_t parse_redis_message(std::string_view text, std::string& instance_id,
                                std::vector<VesselState>& states) {
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  const json::object* o = ec ? nullptr : doc.if_object();
  const json::value* id = o != nullptr ? o->if_contains("instance") : nullptr;
  const json::value* vessels = o != nullptr ? o->if_contains("vessels") : nullptr;
  if (id == nullptr || !id->is_string() || vessels == nullptr || !vessels->is_array()) return 1;
  instance_id = std::string(id->get_string());
  std::size_t bad = 0;
  for (const json::value& record : vessels->get_array()) {
    if (auto v = vessel_from_json(record))
      states.push_back(std::move(*v));
    else
      ++bad;
  }
  return bad;
}

// One hiredis connection: connect with a timeout, AUTH when the URL has a password.
struct RedisBus::Connection {
  redisContext* c = nullptr;
  Connection() = default;
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  void close() {
    if (c != nullptr) redisFree(c);
    c = nullptr;
  }
  // Opens the connection; false with `error` set when Redis cannot be reached or refuses us.
  bool open(const RedisBusConfig& config, std::string& error) {
    close();
    const RedisEndpoint& e = config.endpoint;
    c = redisConnectWithTimeout(e.host.c_str(), e.port, timeval_of(config.timeout_ms));
    if (c == nullptr || c->err != 0) {
      error = c != nullptr ? c->errstr : "cannot allocate a hiredis context";
      close();
      return false;
    }
    // Commands time out too, so a Redis that stops answering cannot hold a thread forever.
    redisSetTimeout(c, timeval_of(config.timeout_ms));
    redisEnableKeepAlive(c);
    if (!e.password.empty()) {
      std::vector<const char*> argv{"AUTH"};
      std::vector<std::size_t> lens{4};
      if (!e.user.empty()) {
        argv.push_back(e.user.c_str());
        lens.push_back(e.user.size());
      }
      argv.push_back(e.password.c_str());
      lens.push_back(e.password.size());
      const ReplyPtr reply(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
      if (reply.r == nullptr || reply.r->type == REDIS_REPLY_ERROR) {
        error = "AUTH refused: " + error_of(c, reply.r);
        close();
        return false;
      }
    }
    return true;
  }
};

RedisBus::RedisBus(RedisBusConfig config, OnStates on_states, OnSubscribed on_subscribed)
    : config_(std::move(config)),
      on_states_(std::move(on_states)),
      on_subscribed_(std::move(on_subscribed)),
      instance_id_(random_instance_id()) {}

RedisBus::~RedisBus() { stop(); }

void RedisBus::start() {
  if (::pipe(wake_pipe_.data()) != 0) throw Error("REDIS_URL: cannot create a pipe for the subscriber");
  {
    std::lock_guard lock(mutex_);
    status_.publisher = status_.subscriber = RedisState::connecting;
  }
  log(LogLevel::info, "redis: connecting to {} (channel {}, instance {})", redis_address(config_.endpoint),
      config_.channel, instance_id_);
  publisher_ = std::thread([this] { publisher_loop(); });
  subscriber_ = std::thread([this] { subscriber_loop(); });
}

void RedisBus::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (wake_pipe_[1] >= 0) {
    const char byte = 1;
    [[maybe_unused]] const auto n = ::write(wake_pipe_[1], &byte, 1);
  }
  if (publisher_.joinable()) publisher_.join();
  if (subscriber_.joinable()) subscriber_.join();
  for (int& fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

void RedisBus::publish(const std::vector<VesselState>& states) {
  if (states.empty()) return;
  {
    std::lock_guard lock(mutex_);
    // Only the newest state of a vessel matters to the others: while Redis is slow or down, a
    // vessel's queued state is replaced rather than queued again, so the bound counts vessels.
    for (const VesselState& v : states) {
      if (const auto it = queued_index_.find(v.mmsi); it != queued_index_.end()) {
        queue_[it->second] = v;
        ++status_.coalesced;
      } else if (queue_.size() < config_.queue_max) {
        queued_index_.emplace(v.mmsi, queue_.size());
        queue_.push_back(v);
      } else {
        ++status_.dropped[static_cast<std::size_t>(RedisDrop::queue_full)];
      }
    }
  }
  cv_.notify_all();
}

RedisBusStatus RedisBus::status() const {
  std::lock_guard lock(mutex_);
  RedisBusStatus s = status_;
  s.queue_depth = queue_.size();
  return s;
}

bool RedisBus::sleep_unless_stopped(std::int64_t ms) {
  std::unique_lock lock(mutex_);
  return !cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
}

void RedisBus::set_state(RedisState& which, std::string_view role, RedisState state,
                         const std::string& error) {
  RedisState before{};
  {
    std::lock_guard lock(mutex_);
    before = which;
    which = state;
    if (!error.empty()) status_.last_error = error;
  }
  if (before == state) return;  // each change once: a retry that fails again says nothing new
  const std::string address = redis_address(config_.endpoint);
  if (state == RedisState::connected) {
    log(LogLevel::info, "redis: {} connected to {}", role, address);
  } else if (state == RedisState::down) {
    log(LogLevel::warn, "redis: {} down ({}): {}; reconnecting with backoff {:g}..{:g} s", role, address,
        error, static_cast<double>(config_.backoff_min_ms) / 1000,
        static_cast<double>(config_.backoff_max_ms) / 1000);
  }
}

bool RedisBus::publish_once(Connection& conn, const std::string& message, std::string& error) {
  if (conn.c == nullptr) return false;
  // An empty message is the idle check: a PING (a PUBLISH would reach the other instances).
  const char* argv[] = {"PUBLISH", config_.channel.c_str(), message.c_str()};
  const std::size_t lens[] = {7, config_.channel.size(), message.size()};
  const char* ping[] = {"PING"};
  const std::size_t ping_len[] = {4};
  const ReplyPtr reply(message.empty() ? redisCommandArgv(conn.c, 1, ping, ping_len)
                                       : redisCommandArgv(conn.c, 3, argv, lens));
  if (reply.r != nullptr && reply.r->type != REDIS_REPLY_ERROR) return true;
  error = error_of(conn.c, reply.r);
  conn.close();
  return false;
}

std::int64_t redis_reconnect_wait_ms(std::int64_t backoff_ms, std::uint64_t random) noexcept {
  if (backoff_ms <= 1) return std::max<std::int64_t>(backoff_ms, 0);
  const auto half = static_cast<std::uint64_t>(backoff_ms / 2);
  const auto span = static_cast<std::uint64_t>(backoff_ms) - half;  // the wait is half + [0, span]
  return static_cast<std::int64_t>(half + random % (span + 1));
}

namespace {
// One generator per thread (publisher, subscriber): no lock, and seeded apart per process.
std::uint64_t reconnect_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}
}  // namespace

bool RedisBus::after_attempt(RedisState& which, bool& ever_connected, std::string_view role, bool connected,
                             const std::string& error, std::int64_t& backoff_ms) {
  if (!connected) {
    set_state(which, role, RedisState::down, error);
    if (!sleep_unless_stopped(redis_reconnect_wait_ms(backoff_ms, reconnect_random()))) return false;
    backoff_ms = std::min(backoff_ms * 2, config_.backoff_max_ms);
    return true;
  }
  backoff_ms = config_.backoff_min_ms;
  {
    std::lock_guard lock(mutex_);
    if (ever_connected) ++status_.reconnects;
    ever_connected = true;
  }
  set_state(which, role, RedisState::connected, {});
  return true;
}

void RedisBus::publisher_loop() {
  Connection conn;
  std::int64_t backoff_ms = config_.backoff_min_ms;
  std::vector<VesselState> batch;
  std::vector<VesselState> part;
  while (true) {
    if (conn.c == nullptr) {
      std::string error;
      const bool opened = conn.open(config_, error);
      if (!after_attempt(status_.publisher, pub_ever_connected_, "publisher", opened, error, backoff_ms))
        return;
      if (!opened) continue;
    }
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, kIdleCheck, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      batch.swap(queue_);
      queued_index_.clear();
    }
    if (batch.empty()) {
      // Idle (an instance without its own source never publishes): a PING now and then keeps the
      // publisher's state in /health true to Redis's.
      std::string error;
      if (!publish_once(conn, {}, error)) set_state(status_.publisher, "publisher", RedisState::down, error);
      continue;
    }
    // Several PUBLISHes for a large change set keep each message (and each subscriber's read) small.
    for (std::size_t from = 0; from < batch.size(); from += config_.states_per_message) {
      const std::size_t to = std::min(batch.size(), from + config_.states_per_message);
      part.assign(batch.begin() + static_cast<std::ptrdiff_t>(from),
                  batch.begin() + static_cast<std::ptrdiff_t>(to));
      const std::string message = redis_message(instance_id_, part);
      std::string error;
      // An idle connection learns that Redis went away (or came back) only when it next writes: one
      // fresh connection is tried at once before the states are given up.
      bool sent = publish_once(conn, message, error);
      if (!sent && conn.open(config_, error)) sent = publish_once(conn, message, error);
      if (!sent) {
        {
          std::lock_guard lock(mutex_);
          status_.dropped[static_cast<std::size_t>(RedisDrop::publish_failed)] += batch.size() - from;
        }
        conn.close();
        set_state(status_.publisher, "publisher", RedisState::down, error);
        break;
      }
      std::lock_guard lock(mutex_);
      status_.published += to - from;
    }
    batch.clear();
  }
}

void RedisBus::handle_payload(std::string_view payload) {
  std::string sender;
  std::vector<VesselState> states;
  const std::size_t bad = parse_redis_message(payload, sender, states);
  if (sender == instance_id_) {
    std::lock_guard lock(mutex_);
    ++status_.own_messages;
    return;
  }
  const std::size_t count = states.size();
  const std::size_t taken = count == 0 ? 0 : on_states_(std::move(states));
  std::lock_guard lock(mutex_);
  status_.received += count;
  status_.dropped[static_cast<std::size_t>(RedisDrop::malformed)] += bad;
  status_.dropped[static_cast<std::size_t>(RedisDrop::inbox_full)] += count - std::min(count, taken);
}

void RedisBus::subscriber_loop() {
  Connection conn;
  std::int64_t backoff_ms = config_.backoff_min_ms;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    std::string error;
    if (conn.open(config_, error)) {
      const char* argv[] = {"SUBSCRIBE", config_.channel.c_str()};
      const std::size_t lens[] = {9, config_.channel.size()};
      const ReplyPtr reply(redisCommandArgv(conn.c, 2, argv, lens));
      if (reply.r == nullptr || reply.r->type != REDIS_REPLY_ARRAY) {
        error = "SUBSCRIBE failed: " + error_of(conn.c, reply.r);
        conn.close();
      }
    }
    const bool subscribed = conn.c != nullptr;
    if (!after_attempt(status_.subscriber, sub_ever_connected_, "subscriber", subscribed, error, backoff_ms))
      return;
    if (!subscribed) continue;
    // Listening from here: whatever was published while we were not is in the database.
    if (on_subscribed_) on_subscribed_();
    // Read with poll() rather than a socket timeout: a timed-out hiredis read ruins the context.
    while (true) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(conn.c, &raw) != REDIS_OK) {
        error = conn.c->errstr;
        break;
      }
      if (raw == nullptr) {
        std::array<pollfd, 2> fds{pollfd{conn.c->fd, POLLIN, 0}, pollfd{wake_pipe_[0], POLLIN, 0}};
        if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) {
          error = "poll failed";
          break;
        }
        if (fds[1].revents != 0) return;  // stop()
        if (fds[0].revents != 0 && redisBufferRead(conn.c) != REDIS_OK) {
          error = conn.c->errstr;
          break;
        }
        continue;
      }
      const ReplyPtr reply(raw);
      const redisReply* r = reply.r;
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->type == REDIS_REPLY_STRING &&
          std::string_view(r->element[0]->str, r->element[0]->len) == "message" &&
          r->element[2]->type == REDIS_REPLY_STRING) {
        handle_payload(std::string_view(r->element[2]->str, r->element[2]->len));
      }
    }
    conn.close();
    if (error.empty()) error = "connection closed";
    set_state(status_.subscriber, "subscriber", RedisState::down, error);
    if (!sleep_unless_stopped(redis_reconnect_wait_ms(backoff_ms, reconnect_random()))) return;
  }
}

RedisBusConfig redis_bus_config(const ServerConfig& config) {
  RedisBusConfig c;
  std::string why;
  auto endpoint = parse_redis_url(config.redis_url, why);
  if (!endpoint) throw ConfigError("invalid REDIS_URL: " + why);
  c.endpoint = std::move(*endpoint);
  c.channel = config.redis_channel;
  c.queue_max = config.redis_queue_max;
  c.timeout_ms = config.redis_timeout_ms;
  return c;
}

void write_redis_health(const RedisBus* bus, const RedisBusConfig& config, json::object& body) {
  if (bus == nullptr) {
    body["redis"] = json::object{{"state", "off"}};
    return;
  }
  const RedisBusStatus s = bus->status();
  json::object dropped;
  for (std::size_t i = 0; i < kRedisDropCount; ++i)
    dropped[to_string(static_cast<RedisDrop>(i))] = s.dropped[i];
  // The address only: the URL may hold a password.
  body["redis"] =
      json::object{{"state", to_string(s.overall())},
                   {"address", redis_address(config.endpoint)},
                   {"channel", config.channel},
                   {"instance", bus->instance_id()},
                   {"publisher", to_string(s.publisher)},
                   {"subscriber", to_string(s.subscriber)},
                   {"published", s.published},
                   {"received", s.received},
                   {"own_messages", s.own_messages},
                   {"coalesced", s.coalesced},
                   {"reconnects", s.reconnects},
                   {"queue", json::object{{"depth", s.queue_depth}, {"capacity", config.queue_max}}},
                   {"dropped", std::move(dropped)},
                   {"last_error", s.last_error.empty() ? json::value(nullptr) : json::value(s.last_error)}};
}

void write_redis_metrics(const RedisBus* bus, MetricsText& out) {
  const RedisBusStatus s = bus != nullptr ? bus->status() : RedisBusStatus{};
  out.counter("aistrack_redis_published_total", "vessel states published on the Redis channel", s.published);
  out.counter("aistrack_redis_received_total",
              "vessel states received from other instances on the Redis channel", s.received);
  for (std::size_t i = 0; i < kRedisDropCount; ++i) {
    out.counter("aistrack_redis_dropped_total",
                "vessel states (malformed: messages or records) not published or not applied, by reason",
                s.dropped[i], {{"reason", std::string(to_string(static_cast<RedisDrop>(i)))}});
  }
  out.counter("aistrack_redis_reconnects_total", "Redis connections re-established after a loss",
              s.reconnects);
}

}  // namespace aistrack::server
