// App: the server's wiring of the library pieces (source → Tracker → Store) with
// no sockets of its own, so tests can drive it directly. http_server.cpp owns the
// threads, timers and sockets and calls in here.
#pragma once

#include "config.hpp"
#include "control.hpp"
#include "metrics.hpp"
#include "nmea_sources.hpp"

#include <aistrack/aisstream.hpp>
#include <aistrack/decode.hpp>
#include <aistrack/net/aisstream_client.hpp>
#include <aistrack/nmea.hpp>
#include <aistrack/simulator.hpp>
#include <aistrack/store.hpp>
#include <aistrack/tracker.hpp>

#include <boost/json.hpp>

#include <array>
#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace aistrack::server {

/// Health of the whole server; `healthy` false turns /health into a 503.
struct Health {
  bool healthy = true;
  boost::json::object body;
};

/// The source the App feeds from, after SOURCE=auto is resolved.
enum class SourceKind { none, simulator, aisstream, replay, nmea_file };

/// Thread-safety: tick(), ingest*(), start_sources(), stop_sources() and shutdown() from one
/// thread at a time (the server's timer chain); enqueue_frame() from any thread (the network);
/// latest(), vessels(), health() and the other const members from any thread.
class App {
 public:
  /// Opens the Store (throws StoreError), reloads the Tracker from it, and builds the source:
  /// the simulator, a replay file, or (when `feed_io` is given) the aisstream.io client, whose
  /// handlers then run on `feed_io` (run it on one thread). Bad source settings throw ConfigError.
  /// `now_ms` is the start time (ms UTC).
  App(const ServerConfig& config, TimeMs now_ms, asio::io_context* feed_io = nullptr);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  /// Starts network sources (the aisstream.io client).
  void start_sources();
  /// Stops network sources (closes the aisstream.io connection).
  void stop_sources();
  /// Runs the periodic work at `now_ms`: queued frames, simulator or replay step, Store batch
  /// timer, retention purge.
  void tick(TimeMs now_ms);
  /// Applies one decoded message received at `now_ms` and queues it for the Store.
  void ingest(const Message& msg, TimeMs now_ms);
  /// Parses one aisstream.io frame, archives it when STORE_RAW is on, and ingests it; returns the
  /// parse status.
  aisstream::Status ingest_aisstream_frame(std::string_view frame, TimeMs now_ms);
  /// Queues a frame from the network for the next tick (bounded: beyond it frames are dropped
  /// and counted). Returns quickly so the socket is drained promptly.
  void enqueue_frame(std::string&& frame, TimeMs received_ms);
  /// Queues one NMEA line from NMEA input `stream` (0 UDP, 1 TCP, 2 file) for the next tick (bounded).
  void enqueue_nmea_line(int stream, std::string_view line, TimeMs received_ms);
  /// Ingests the frames still queued and commits everything pending; throws StoreError if that fails.
  void shutdown();
  /// Live push (issue #7): `listener` gets, at the end of each tick(), the vessels whose latest state
  /// changed in it (newest state per vessel). It runs on the tick's thread and must only hand them over.
  /// Set before start_sources().
  void set_change_listener(std::function<void(const std::vector<VesselState>&)> listener);
  /// Scale-out (issue #9): `listener` gets, at the end of each tick(), the vessels whose latest state this
  /// instance's own sources changed (not those merged from other instances, so nothing echoes back), to
  /// publish them. It runs on the tick's thread and must only hand them over. Set before start_sources().
  void set_publish_listener(std::function<void(const std::vector<VesselState>&)> listener);
  /// Queues vessel states another instance published, for the next tick to merge into the Tracker and
  /// pass to the change listener (bounded by REDIS_QUEUE_MAX); wakes the tick. Returns how many were
  /// queued. Any thread.
  std::size_t enqueue_remote(std::vector<VesselState>&& states);
  /// Asks the next tick to reload the vessels from the Store and merge those newer than memory (after
  /// the channel was down: the other instances stored what they published meanwhile); wakes the tick.
  /// Any thread.
  void request_catch_up();
  /// Remote states and catch-ups merged so far, for /health.
  struct RemoteCounters {
    std::uint64_t merged = 0;     ///< received states that changed a vessel here
    std::uint64_t catch_ups = 0;  ///< reloads from the Store after the channel came back
    std::uint64_t caught_up = 0;  ///< vessels those reloads changed
    std::size_t inbox_depth = 0;  ///< received states waiting for the next tick
  };
  [[nodiscard]] RemoteCounters remote_counters() const;
  /// What a follower's merges from the shared database did (/health leader.refresh).
  struct RefreshCounters {
    std::uint64_t full = 0;         ///< reloads of every vessel
    std::uint64_t incremental = 0;  ///< reloads of the vessels seen lately
    std::uint64_t vessels_read = 0;
    std::uint64_t merged = 0;  ///< vessels those reloads changed here
  };
  [[nodiscard]] RefreshCounters refresh_counters() const;
  /// `wake` is called from the network threads when an item lands in an empty ingest queue, so the
  /// server can run tick() at once rather than on its next timer (live updates then leave within
  /// milliseconds). Set before start_sources().
  void set_wake(std::function<void()> wake);
  /// Adds sections owned by the server (e.g. "live") to the /health body; called from any thread.
  /// Set before start_sources().
  void set_health_extra(std::function<void(boost::json::object&)> extra);
  /// Adds metrics owned by the server (e.g. live clients) to /metrics; called from any thread.
  /// Set before start_sources().
  void set_metrics_extra(std::function<void(MetricsText&)> extra);

  /// Several instances on one PostgreSQL database (issue #9): false makes this instance a follower,
  /// whose tick neither steps the simulator or a replay nor purges, but merges what the leader stored
  /// into memory every FOLLOWER_REFRESH_MS; true (the default) makes it ingest. The server also starts
  /// or stops the network sources. Call on the tick's thread; `now_ms` is ms UTC.
  void set_ingesting(bool ingesting, TimeMs now_ms);
  /// Whether this instance ingests (see set_ingesting()).
  [[nodiscard]] bool ingesting() const noexcept { return ingesting_.load(std::memory_order_relaxed); }

  /// Latest state of one vessel.
  [[nodiscard]] std::optional<VesselState> latest(Mmsi mmsi) const;
  /// A page of vessels in MMSI order and the total count.
  [[nodiscard]] std::pair<std::vector<VesselState>, std::size_t> vessels(std::size_t offset,
                                                                         std::size_t limit) const;
  /// State of the source, the Store and the Tracker at `now_ms`.
  [[nodiscard]] Health health(TimeMs now_ms) const;
  /// Adds the source, Store and Tracker counters and gauges at `now_ms` (ms UTC) to `out` for GET /metrics
  /// (app_metrics.cpp); the same numbers as health(), read under the same locks.
  void write_metrics(MetricsText& out, TimeMs now_ms) const;
  /// "simulator", "aisstream", "replay" or "none".
  [[nodiscard]] std::string_view source_kind() const noexcept;
  /// Calls `visit` for every vessel in memory, in MMSI order, under the Tracker's shared lock
  /// (so `visit` must be quick and must not call back into the App).
  void for_each_vessel(const std::function<void(const VesselState&)>& visit) const;
  /// The Store, for queries (its query methods are thread-safe; never write through it).
  [[nodiscard]] const Store& store() const noexcept { return store_; }
  /// Run-time control (watch list, areas, simulator; issue #10). Control is thread-safe and is the
  /// App's command inbox, so, like a mutex, it may be changed through a const App: HTTP handlers
  /// change it and tick() applies the changes. Access control (issue #8) belongs in the routes.
  [[nodiscard]] Control& control() const noexcept { return *control_; }
  /// What the simulator is doing now (as applied by the last tick).
  struct SimStatus {
    bool running = false;
    std::size_t vessels = 0;
    double speed = 1.0;
    std::uint64_t seed = 0;
    std::uint64_t messages = 0;        ///< messages it produced since it last started
    std::optional<TimeMs> started_ms;  ///< when it last started (ms UTC)
  };
  [[nodiscard]] SimStatus sim_status() const;
  /// "service" (the watch list is sent to aisstream.io as FiltersShipMMSI), "local" (more than 50 MMSIs:
  /// the subscription has no MMSI filter and the Tracker filters) or "none" (empty list: every vessel).
  [[nodiscard]] static std::string_view mmsi_filter_mode(std::size_t watchlist_size) noexcept;
  /// The settings the App was built with.
  [[nodiscard]] const ServerConfig& config() const noexcept { return config_; }

 private:
  struct Replay;
  void write_pending();
  // Follower: merges vessels the leader stored that are newer than memory, and tells live clients.
  void refresh_from_store(TimeMs now_ms);
  // Merges `states` into memory (newer data wins, Tracker::merge_state) and queues the vessels that
  // changed for the change listener; returns how many changed. The caller holds tracker_mutex_.
  std::uint64_t merge_states(const std::vector<VesselState>& states);
  // Runs a Store call that may commit (add_* at the batch size, poll, flush) and, when it did,
  // records each commit's duration and rows: the library never reads the clock, so the server times
  // around it.
  template <class Call>
  void measure_commits(Call&& call);
  // Appends to a bounded ingest queue under queue_mutex_ (drops and counts beyond
  // INGEST_QUEUE_FRAMES); true when the queue was empty, so the caller wakes ingest.
  template <class Queue, class... Args>
  bool push_bounded(Queue& queue, Args&&... args);
  void drain_frames();
  void drain_nmea();
  void step_replay(TimeMs now_ms);
  void apply_control(TimeMs now_ms);
  void apply_watchlist(const ControlState& state);
  void apply_sim(const SimRequest& sim, TimeMs now_ms);
  void step_sim(TimeMs now_ms);
  // Records a vessel whose latest state changed in this tick (newest state per vessel).
  void note_changed(const VesselState& vessel);
  // Merges the received states and, when asked, the Store's vessels into the Tracker (scale-out).
  void merge_remote();
  [[nodiscard]] aisstream::Subscription subscription_of(const ControlState& state) const;
  aisstream::Status ingest_result(aisstream::Result&& result, std::string_view frame, TimeMs now_ms);

  ServerConfig config_;
  TimeMs started_ms_;
  SourceKind source_ = SourceKind::none;
  Store store_;
  mutable std::shared_mutex tracker_mutex_;  // guards tracker_
  std::atomic<bool> ingesting_{true};        // see set_ingesting()
  int schema_version_ = 0;                   // the Store's, read once at open
  TimeMs next_refresh_ms_ = 0;               // follower: next merge from the Store
  TimeMs next_full_refresh_ms_ = 0;          // follower: next merge of every vessel, not just recent ones
  std::optional<TimeMs> refresh_newest_seen_ms_;  // follower: newest last_seen_ms merged so far
  RefreshCounters refresh_counters_;              // stats_mutex_
  TimeMs next_control_reload_ms_ = 0;             // DB_URL: next look at the shared watch list and areas
  Tracker tracker_;
  std::unique_ptr<Control> control_;
  std::array<std::uint64_t, 3> applied_versions_{};  // Control versions tick() has applied
  std::optional<Simulator> simulator_;
  // Simulated time runs `speed` times faster than wall time from these anchors (ms UTC); messages
  // are re-stamped to wall time so a sped-up fleet never looks like it reports from the future.
  double sim_speed_ = 1.0;
  TimeMs sim_anchor_ms_ = 0;
  TimeMs sim_wall_anchor_ms_ = 0;
  std::uint64_t sim_messages_ = 0;        // stats_mutex_
  std::optional<TimeMs> sim_started_ms_;  // stats_mutex_
  SimRequest sim_applied_;                // stats_mutex_
  std::unique_ptr<net::AisstreamClient> feed_;
  std::unique_ptr<Replay> replay_;
  // NMEA: one Assembler per input so fragments never join across inputs (0 UDP, 1 TCP, 2 file).
  std::unique_ptr<NmeaUdpListener> nmea_udp_;
  std::unique_ptr<NmeaTcpClient> nmea_tcp_;
  std::unique_ptr<NmeaFileReplayer> nmea_file_;
  std::array<nmea::Assembler, 3> assemblers_;
  ais::DecodeCounters decode_counters_;            // guarded by stats_mutex_
  std::array<nmea::Counters, 3> nmea_counters_{};  // snapshot of assemblers_ for health(), stats_mutex_
  std::vector<std::tuple<int, std::string, TimeMs>> nmea_queue_;  // queue_mutex_
  std::vector<std::tuple<int, std::string, TimeMs>> nmea_draining_;
  aisstream::Parser parser_;
  std::vector<Message> sim_batch_;
  // Filled by the Tracker subscriber under tracker_mutex_, written to the Store after it is released.
  std::vector<std::pair<Mmsi, PositionFix>> pending_fixes_;
  std::vector<VesselState> pending_vessels_;
  // Live push: vessels changed since the last tick, one entry per vessel (newest state).
  std::function<void(const std::vector<VesselState>&)> change_listener_;
  std::vector<VesselState> changed_;
  std::unordered_map<Mmsi, std::size_t> changed_index_;
  std::function<void(const std::vector<VesselState>&)> publish_listener_;
  std::vector<VesselState> remote_queue_;     // queue_mutex_: states from other instances
  std::vector<VesselState> remote_draining_;  // tick only
  std::atomic<bool> catch_up_requested_{false};
  RemoteCounters remote_counters_;  // stats_mutex_ (inbox_depth unused here)
  std::function<void()> wake_;
  std::function<void(boost::json::object&)> health_extra_;
  std::function<void(MetricsText&)> metrics_extra_;
  std::ofstream record_;  // AISSTREAM_RECORD_FILE

  // Frames from the network thread, drained by tick().
  mutable std::mutex queue_mutex_;
  std::vector<std::pair<std::string, TimeMs>> queue_;
  std::vector<std::pair<std::string, TimeMs>> draining_;
  std::uint64_t queue_dropped_ = 0;
  std::size_t queue_high_water_ = 0;

  mutable std::mutex stats_mutex_;  // guards the counters below
  std::uint64_t messages_ = 0;
  // How long each tick() took (parse, Tracker, Store), seconds: the ingest path's own latency.
  static constexpr std::array<double, 12> kTickBucketsS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                           0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  Histogram tick_duration_{kTickBucketsS};
  // Store commits: seconds per commit (the Store call that committed, shared among its commits) and
  // rows per commit.
  static constexpr std::array<double, 12> kCommitBucketsS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                             0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  static constexpr std::array<double, 9> kBatchRowsBuckets = {1, 10, 50, 100, 500, 1000, 5000, 10000, 50000};
  Histogram commit_duration_{kCommitBucketsS};
  Histogram batch_rows_{kBatchRowsBuckets};
  std::array<std::uint64_t, 4> messages_by_source_{};  // indexed by Source
  std::optional<TimeMs> last_message_ms_;
  aisstream::Counters parse_counters_;
  std::map<std::string, std::uint64_t> skipped_by_type_;
  std::map<std::string, std::uint64_t> rejected_by_reason_;
  TimeMs next_purge_ms_ = 0;
  bool purging_ = false;
};

}  // namespace aistrack::server
