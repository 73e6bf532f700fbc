// Live updates across server instances (issue #9): every instance publishes the vessel states its own
// sources changed on one Redis channel and applies what the others publish. Server code, so it owns
// threads: one publisher connection fed by a bounded queue (the ingest tick only enqueues) and one
// subscriber connection, both with hiredis's synchronous API, timeouts, and reconnects with backoff.
// hiredis stays in redis_bus.cpp.
#pragma once

#include "config.hpp"
#include "metrics.hpp"

#include <aistrack/tracker.hpp>

#include <boost/json/object.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace aistrack::server {

/// Where Redis is, from REDIS_URL `redis://[[user]:password@]host[:port][/db]`.
struct RedisEndpoint {
  std::string host;
  int port = 6379;
  std::string user;      ///< empty: AUTH with the password alone (or no AUTH)
  std::string password;  ///< empty: no AUTH; never logged or shown
  int db = 0;            ///< accepted for the URL's sake; pub/sub channels are not per database
};

/// Parses REDIS_URL; nullopt with `why` (which never quotes the password) when it is not one.
std::optional<RedisEndpoint> parse_redis_url(std::string_view url, std::string& why);

/// "host:port", for logs and /health (no credentials).
std::string redis_address(const RedisEndpoint& endpoint);

/// RedisBus settings.
struct RedisBusConfig {
  RedisEndpoint endpoint;
  std::string channel = "aistrack:vessels";
  std::size_t queue_max = 100'000;     ///< vessel states waiting to be published; more are dropped
  std::int64_t timeout_ms = 2000;      ///< connect and command timeout, ms
  std::int64_t backoff_min_ms = 1000;  ///< first wait before a reconnect, ms
  std::int64_t backoff_max_ms = 30'000;
  std::size_t states_per_message = 500;  ///< a larger change set is split over several PUBLISHes
};

/// State of one connection, or of the bus as a whole in /health.
enum class RedisState : std::uint8_t { off, connecting, connected, down };

/// "off", "connecting", "connected" or "down".
std::string_view to_string(RedisState state) noexcept;

/// Why vessel states (or messages) were not delivered; the `reason` label of aistrack_redis_dropped_total.
enum class RedisDrop : std::uint8_t {
  queue_full,      ///< states: the publish queue was at REDIS_QUEUE_MAX
  publish_failed,  ///< states: PUBLISH failed (connection lost while sending)
  malformed,       ///< messages, or vessel records in them, that could not be read
  inbox_full,      ///< states received while the App's inbox was at REDIS_QUEUE_MAX
};
inline constexpr std::size_t kRedisDropCount = 4;

/// "queue_full", "publish_failed", "malformed" or "inbox_full".
std::string_view to_string(RedisDrop drop) noexcept;

/// Counters and states for /health and /metrics.
struct RedisBusStatus {
  RedisState publisher = RedisState::off;
  RedisState subscriber = RedisState::off;
  std::uint64_t published = 0;     ///< vessel states published
  std::uint64_t received = 0;      ///< vessel states received from other instances
  std::uint64_t coalesced = 0;     ///< queued states replaced by a newer one of the same vessel
  std::uint64_t own_messages = 0;  ///< our own messages heard back (ignored)
  std::uint64_t reconnects = 0;    ///< connections re-established after a loss or failure
  std::array<std::uint64_t, kRedisDropCount> dropped{};  ///< indexed by RedisDrop
  std::size_t queue_depth = 0;                           ///< vessel states waiting to be published
  std::string last_error;                                ///< hiredis's or Redis's words, never credentials
  /// connected when both connections are, down when either lost Redis, else connecting.
  [[nodiscard]] RedisState overall() const noexcept;
};

/// The channel message for `states` published by `instance_id`:
/// {"instance":"…","vessels":[vessel_json…]}.
std::string redis_message(std::string_view instance_id, const std::vector<VesselState>& states);

/// Reads a channel message; never throws. `instance_id` gets the sender, `states` the records that
/// parse; returns the number of records that did not (the whole message counts 1 when it is no such
/// message).
std::size_t parse_redis_message(std::string_view text, std::string& instance_id,
                                std::vector<VesselState>& states);

/// How long to wait before the next reconnect, ms: drawn uniformly from [backoff_ms/2, backoff_ms], so
/// instances that lost Redis together do not all return in the same instant, and none sooner than half
/// the backoff. `random` is any uniformly distributed 64-bit value.
std::int64_t redis_reconnect_wait_ms(std::int64_t backoff_ms, std::uint64_t random) noexcept;

/// Publishes this instance's changes and hands over the other instances'. Thread-safety: publish() and
/// status() from any thread; start() and stop() from one.
class RedisBus {
 public:
  /// Gets the states another instance published (on the subscriber thread); returns how many it took
  /// (the rest count as inbox_full).
  using OnStates = std::function<std::size_t(std::vector<VesselState>&&)>;
  /// Called on the subscriber thread each time the subscription is (re)established, so the App can
  /// catch up on what was published while it was not listening.
  using OnSubscribed = std::function<void()>;

  /// Does not connect yet (see start()). The instance id is random per process.
  RedisBus(RedisBusConfig config, OnStates on_states, OnSubscribed on_subscribed);
  ~RedisBus();
  RedisBus(const RedisBus&) = delete;
  RedisBus& operator=(const RedisBus&) = delete;

  /// Starts the publisher and subscriber threads; they connect and reconnect on their own.
  void start();
  /// Stops both threads and closes the connections (promptly: waits never exceed the timeout).
  void stop();
  /// Queues `states` for publishing and returns at once (never waits for Redis). A vessel already
  /// queued has its state replaced by the newer one; new vessels beyond REDIS_QUEUE_MAX are dropped and
  /// counted.
  void publish(const std::vector<VesselState>& states);
  /// States and counters now.
  [[nodiscard]] RedisBusStatus status() const;
  /// This process's id on the channel.
  [[nodiscard]] const std::string& instance_id() const noexcept { return instance_id_; }

 private:
  struct Connection;
  void publisher_loop();
  void subscriber_loop();
  void handle_payload(std::string_view payload);
  // One PUBLISH of `message` (empty: a PING); false with `error` (and the connection closed) when it failed.
  bool publish_once(Connection& conn, const std::string& message, std::string& error);
  // Waits `ms` or until stop(); false when stopping.
  bool sleep_unless_stopped(std::int64_t ms);
  // After a connection attempt: a failure is recorded and waited out (the backoff doubles up to its
  // maximum); a success resets the backoff and counts a reconnect. False when stop() came meanwhile.
  bool after_attempt(RedisState& which, bool& ever_connected, std::string_view role, bool connected,
                     const std::string& error, std::int64_t& backoff_ms);
  // Records a connection's new state, logging each change once.
  void set_state(RedisState& which, std::string_view role, RedisState state, const std::string& error);

  RedisBusConfig config_;
  OnStates on_states_;
  OnSubscribed on_subscribed_;
  std::string instance_id_;
  std::thread publisher_;
  std::thread subscriber_;
  std::array<int, 2> wake_pipe_{-1, -1};  // written by stop() to interrupt the subscriber's poll()

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<VesselState> queue_;                      // at most one state per vessel
  std::unordered_map<Mmsi, std::size_t> queued_index_;  // MMSI → its place in queue_
  RedisBusStatus status_;
  bool pub_ever_connected_ = false;
  bool sub_ever_connected_ = false;
};

/// The bus settings of `config` (REDIS_URL was validated when the configuration was loaded: throws
/// ConfigError if it is not a Redis URL).
RedisBusConfig redis_bus_config(const ServerConfig& config);

/// Adds the "redis" section to a /health body (`bus` null: REDIS_URL not set, state "off").
void write_redis_health(const RedisBus* bus, const RedisBusConfig& config, boost::json::object& body);

/// Adds the aistrack_redis_* counters to /metrics (zeros when `bus` is null).
void write_redis_metrics(const RedisBus* bus, MetricsText& out);

}  // namespace aistrack::server
