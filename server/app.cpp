#include "app.hpp"

#include "log.hpp"

#include <aistrack/version.hpp>

namespace aistrack::server {
namespace json = boost::json;

namespace {
constexpr TimeMs kPurgeEveryMs = 60 * 60 * 1000;
constexpr std::size_t kPurgeChunkRows = 2000;

StoreConfig store_config(const ServerConfig& c) {
  StoreConfig s;
  s.path = c.db_path;
  s.batch_rows = c.store_batch_rows;
  s.batch_ms = c.store_batch_ms;
  s.keep_raw = c.store_raw;
  return s;
}

TrackerConfig tracker_config(const ServerConfig& c) {
  TrackerConfig t;
  t.max_vessels = c.max_vessels;
  t.mmsi_allow.insert(c.mmsi_list.begin(), c.mmsi_list.end());
  return t;
}
}  // namespace

App::App(const ServerConfig& config, TimeMs now_ms)
    : config_(config), started_ms_(now_ms), store_(store_config(config)), tracker_(tracker_config(config)) {
  const auto restored = store_.vessels();
  tracker_.restore(restored);
  log(LogLevel::info, "store {} (schema v{}): reloaded {} vessels", store_.path(), store_.schema_version(),
      tracker_.size());
  if (!config_.mmsi_list.empty())
    log(LogLevel::info, "tracking only the {} MMSIs of MMSI_LIST", config_.mmsi_list.size());
  if (config_.aisstream_api_key.empty()) {
    if (config_.sim_vessels > 0) {
      SimConfig sc;
      sc.vessels = config_.sim_vessels;
      sc.seed = config_.sim_seed;
      sc.start_ms = now_ms;
      simulator_.emplace(std::move(sc));
      log(LogLevel::info,
          "AISSTREAM_API_KEY is not set: the source is the built-in simulator ({} vessels, seed {})",
          config_.sim_vessels, config_.sim_seed);
    } else {
      log(LogLevel::warn,
          "AISSTREAM_API_KEY is not set and SIM_VESSELS=0: no source, serving stored data only");
    }
  }
  tracker_.subscribe([this](const Update& u) {
    if (u.fix != nullptr) pending_fixes_.emplace_back(u.vessel.mmsi, *u.fix);
    if (u.latest_changed) pending_vessels_.push_back(u.vessel);
  });
  next_purge_ms_ = now_ms;  // purge once at start-up, then hourly
}

App::~App() = default;

std::string_view App::source_kind() const noexcept {
  if (simulator_) return "simulator";
  if (!config_.aisstream_api_key.empty()) return "aisstream";
  return "none";
}

void App::write_pending() {
  // A failing commit throws from whichever add reached the batch size, but that row is
  // already queued (the Store keeps every row pending and retries), so carry on with the
  // rest rather than re-adding any of them later.
  std::optional<std::string> error;
  auto guarded = [&](auto&& add) {
    try {
      add();
    } catch (const StoreError& e) {
      if (!error) error = e.what();
    }
  };
  for (const auto& [mmsi, fix] : pending_fixes_) guarded([&] { store_.add_position(mmsi, fix); });
  for (const auto& v : pending_vessels_) guarded([&] { store_.upsert_vessel(v); });
  pending_fixes_.clear();
  pending_vessels_.clear();
  if (error) log(LogLevel::error, "{}", *error);
}

void App::ingest(const Message& msg, TimeMs now_ms) {
  {
    std::unique_lock lock(tracker_mutex_);
    tracker_.apply(msg, now_ms);
  }
  {
    std::lock_guard lock(stats_mutex_);
    ++messages_;
    last_message_ms_ = msg.ts_ms;
  }
  write_pending();
}

aisstream::Status App::ingest_aisstream_frame(std::string_view frame, TimeMs now_ms) {
  aisstream::Result r = parser_.parse(frame, now_ms);
  {
    std::lock_guard lock(stats_mutex_);
    parse_counters_ = parser_.counters();
  }
  if (config_.store_raw) store_.add_raw(now_ms, Source::aisstream, r.message ? r.message->mmsi : 0, frame);
  if (r.status == aisstream::Status::ok) {
    ingest(*r.message, now_ms);
  } else if (r.status != aisstream::Status::skipped) {
    log(LogLevel::debug, "aisstream frame rejected ({}): {}", aisstream::to_string(r.status), r.reason);
  }
  return r.status;
}

void App::tick(TimeMs now_ms) {
  if (simulator_) {
    sim_batch_.clear();
    simulator_->step(now_ms, sim_batch_);
    if (!sim_batch_.empty()) {
      {
        std::unique_lock lock(tracker_mutex_);
        for (const Message& m : sim_batch_) tracker_.apply(m, now_ms);
      }
      {
        std::lock_guard lock(stats_mutex_);
        messages_ += sim_batch_.size();
        last_message_ms_ = sim_batch_.back().ts_ms;
      }
      write_pending();
    }
  }
  try {
    store_.poll(now_ms);
  } catch (const StoreError& e) {
    log(LogLevel::error, "{}", e.what());
  }
  if (config_.retention_days > 0 && (purging_ || now_ms >= next_purge_ms_)) {
    // One small chunk per tick, so a large purge never holds up ingest for long.
    try {
      const TimeMs cutoff = now_ms - static_cast<TimeMs>(config_.retention_days) * 86'400'000;
      const std::size_t deleted = store_.purge_step(cutoff, kPurgeChunkRows);
      purging_ = deleted > 0;
      if (!purging_) next_purge_ms_ = now_ms + kPurgeEveryMs;
    } catch (const StoreError& e) {
      log(LogLevel::error, "retention purge: {}", e.what());
      purging_ = false;
      next_purge_ms_ = now_ms + kPurgeEveryMs;
    }
  }
}

void App::shutdown() { store_.flush(); }

std::optional<VesselState> App::latest(Mmsi mmsi) const {
  std::shared_lock lock(tracker_mutex_);
  return tracker_.latest(mmsi);
}

std::pair<std::vector<VesselState>, std::size_t> App::vessels(std::size_t offset, std::size_t limit) const {
  std::shared_lock lock(tracker_mutex_);
  return {tracker_.vessels(offset, limit), tracker_.size()};
}

void App::for_each_vessel(const std::function<void(const VesselState&)>& visit) const {
  std::shared_lock lock(tracker_mutex_);
  tracker_.for_each(visit);
}

Health App::health(TimeMs now_ms) const {
  Health h;
  const StoreStats ss = store_.stats();
  json::object store{
      {"ok", ss.last_error.empty()},
      {"path", store_.path()},
      {"schema_version", store_.schema_version()},
      {"pending_rows", ss.pending_rows},
      {"positions_written", ss.positions_written},
      {"vessels_written", ss.vessels_written},
      {"raw_written", ss.raw_written},
      {"commits", ss.commits},
      {"commit_failures", ss.commit_failures},
      {"dropped_rows", ss.dropped_rows},
      {"purged_rows", ss.purged_rows},
      {"keep_raw", config_.store_raw},
      {"retention_days", config_.retention_days},
      {"last_error", ss.last_error.empty() ? json::value(nullptr) : json::value(ss.last_error)}};
  json::object tracker;
  {
    std::shared_lock lock(tracker_mutex_);
    const TrackerCounters& c = tracker_.counters();
    tracker = json::object{{"vessels", tracker_.size()}, {"max_vessels", config_.max_vessels},
                           {"updated", c.updated},       {"stale", c.stale},
                           {"filtered", c.filtered},     {"no_position", c.no_position},
                           {"future", c.future},         {"invalid", c.invalid},
                           {"evicted", c.evicted}};
  }
  json::object source{{"kind", source_kind()}};
  {
    std::lock_guard lock(stats_mutex_);
    source["messages"] = messages_;
    source["last_message"] =
        last_message_ms_ ? json::value(format_iso8601(*last_message_ms_)) : json::value(nullptr);
    source["frames"] = json::object{{"ok", parse_counters_.ok},
                                    {"skipped", parse_counters_.skipped},
                                    {"malformed", parse_counters_.malformed},
                                    {"invalid", parse_counters_.invalid},
                                    {"service_error", parse_counters_.service_error}};
  }
  if (simulator_) {
    source["vessels"] = config_.sim_vessels;
    source["seed"] = config_.sim_seed;
  }
  h.healthy = ss.last_error.empty();
  h.body = json::object{{"status", h.healthy ? "ok" : "degraded"},
                        {"version", kVersion},
                        {"time", format_iso8601(now_ms)},
                        {"uptime_s", static_cast<double>(now_ms - started_ms_) / 1000.0},
                        {"source", std::move(source)},
                        {"store", std::move(store)},
                        {"tracker", std::move(tracker)}};
  return h;
}

}  // namespace aistrack::server
