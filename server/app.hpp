// App: the server's wiring of the library pieces (source → Tracker → Store) with
// no sockets of its own, so tests can drive it directly. http_server.cpp owns the
// threads, timers and sockets and calls in here.
#pragma once

#include "config.hpp"

#include <aistrack/aisstream.hpp>
#include <aistrack/simulator.hpp>
#include <aistrack/store.hpp>
#include <aistrack/tracker.hpp>

#include <boost/json.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace aistrack::server {

/// Health of the whole server; `healthy` false turns /health into a 503.
struct Health {
  bool healthy = true;
  boost::json::object body;
};

/// Thread-safety: tick(), ingest*() and shutdown() from one thread at a time (the
/// server's ingest strand); latest(), vessels() and health() from any thread.
class App {
 public:
  /// Opens the Store (throws StoreError), reloads the Tracker from it, and builds the
  /// simulator when no API key is set. `now_ms` is the start time (ms UTC).
  App(const ServerConfig& config, TimeMs now_ms);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  /// Runs the periodic work at `now_ms`: simulator step, Store batch timer, retention purge.
  void tick(TimeMs now_ms);
  /// Applies one decoded message received at `now_ms` and queues it for the Store.
  void ingest(const Message& msg, TimeMs now_ms);
  /// Parses one aisstream.io frame, archives it when STORE_RAW is on, and ingests it; returns the parse
  /// status.
  aisstream::Status ingest_aisstream_frame(std::string_view frame, TimeMs now_ms);
  /// Commits everything pending; throws StoreError if that fails.
  void shutdown();

  /// Latest state of one vessel.
  [[nodiscard]] std::optional<VesselState> latest(Mmsi mmsi) const;
  /// A page of vessels in MMSI order and the total count.
  [[nodiscard]] std::pair<std::vector<VesselState>, std::size_t> vessels(std::size_t offset,
                                                                         std::size_t limit) const;
  /// State of the source, the Store and the Tracker at `now_ms`.
  [[nodiscard]] Health health(TimeMs now_ms) const;
  /// "simulator" or "aisstream" or "none".
  [[nodiscard]] std::string_view source_kind() const noexcept;
  /// Calls `visit` for every vessel in memory, in MMSI order, under the Tracker's shared lock
  /// (so `visit` must be quick and must not call back into the App).
  void for_each_vessel(const std::function<void(const VesselState&)>& visit) const;
  /// The Store, for queries (its query methods are thread-safe; never write through it).
  [[nodiscard]] const Store& store() const noexcept { return store_; }
  /// The settings the App was built with.
  [[nodiscard]] const ServerConfig& config() const noexcept { return config_; }

 private:
  void write_pending();

  ServerConfig config_;
  TimeMs started_ms_;
  Store store_;
  mutable std::shared_mutex tracker_mutex_;  // guards tracker_
  Tracker tracker_;
  std::optional<Simulator> simulator_;
  aisstream::Parser parser_;
  std::vector<Message> sim_batch_;
  // Filled by the Tracker subscriber under tracker_mutex_, written to the Store after it is released.
  std::vector<std::pair<Mmsi, PositionFix>> pending_fixes_;
  std::vector<VesselState> pending_vessels_;

  mutable std::mutex stats_mutex_;  // guards the counters below
  std::uint64_t messages_ = 0;
  std::optional<TimeMs> last_message_ms_;
  aisstream::Counters parse_counters_;
  TimeMs next_purge_ms_ = 0;
  bool purging_ = false;
};

}  // namespace aistrack::server
