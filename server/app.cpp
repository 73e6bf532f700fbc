#include "app.hpp"

#include "log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <limits>
#include <unordered_set>

#include <aistrack/version.hpp>

namespace aistrack::server {
namespace json = boost::json;

namespace {
constexpr TimeMs kPurgeEveryMs = 60 * 60 * 1000;
constexpr std::size_t kPurgeChunkRows = 2000;

StoreConfig store_config(const ServerConfig& c) {
  StoreConfig s;
  s.path = c.db_path;
  s.url = c.db_url;
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

struct App::Replay {
  std::string path;
  std::ifstream in;
  std::optional<std::pair<std::string, aisstream::Result>> pending;  // parsed, not yet due
  std::optional<TimeMs> origin_frame_ms;                             // time of the first frame
  TimeMs origin_wall_ms = 0;                                         // when the first frame was replayed
  std::uint64_t frames = 0;
  bool done = false;
};

namespace {
SourceKind resolve_source(const ServerConfig& c) {
  if (c.source == "auto") return c.aisstream_api_key.empty() ? SourceKind::simulator : SourceKind::aisstream;
  if (c.source == "simulator") return SourceKind::simulator;
  if (c.source == "aisstream") {
    if (c.aisstream_api_key.empty()) throw ConfigError("SOURCE=aisstream needs AISSTREAM_API_KEY");
    return SourceKind::aisstream;
  }
  if (c.source.starts_with("replay:")) return SourceKind::replay;
  if (c.source.starts_with("nmea-file:")) return SourceKind::nmea_file;
  return SourceKind::none;
}

// Keeps per-reason counters bounded whatever the feed sends: at most 64 keys of at most 120 bytes (cut
// on a UTF-8 character boundary, as /metrics label values must stay valid UTF-8).
void count_reason(std::map<std::string, std::uint64_t>& m, std::string key) {
  constexpr std::size_t kMaxKeys = 64;
  constexpr std::size_t kMaxKeyBytes = 120;
  if (key.size() > kMaxKeyBytes) {
    std::size_t cut = kMaxKeyBytes;
    while (cut > 0 && (static_cast<unsigned char>(key[cut]) & 0xC0) == 0x80) --cut;
    key.resize(cut);
  }
  if (m.size() >= kMaxKeys && !m.contains(key)) key = "other";
  ++m[key];
}

// "latitude 95.000000 out of range" → "latitude out of range": numbers vary, reasons do not.
std::string reason_class(std::string_view reason) {
  std::string out;
  bool skipping = false;
  for (const char c : reason) {
    const bool varying = (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '\'';
    if (varying) {
      skipping = true;
      continue;
    }
    if (skipping && c == ' ' && !out.empty() && out.back() == ' ') continue;
    skipping = false;
    out += c;
  }
  return out.substr(0, 80);
}
}  // namespace

App::App(const ServerConfig& config, TimeMs now_ms, asio::io_context* feed_io)
    : config_(config),
      started_ms_(now_ms),
      source_(resolve_source(config)),
      store_(store_config(config)),
      tracker_(tracker_config(config)) {
  SimRequest initial_sim;
  initial_sim.running = source_ == SourceKind::simulator && config_.sim_vessels > 0;
  initial_sim.vessels = config_.sim_vessels > 0 ? config_.sim_vessels : SimRequest{}.vessels;
  // The watch list saved by an earlier run (if any) replaces MMSI_LIST before anything is restored.
  control_ = std::make_unique<Control>(store_, config_, initial_sim);
  const ControlState control = control_->state();
  tracker_.set_mmsi_allow(std::unordered_set<Mmsi>(control.watchlist.begin(), control.watchlist.end()));
  const auto restored = store_.vessels();
  tracker_.restore(restored);
  schema_version_ = store_.schema_version();  // fixed while open: a newer database is refused at open
  log(LogLevel::info, "store {} (schema v{}): reloaded {} vessels", store_.path(), schema_version_,
      tracker_.size());
  if (!control.watchlist.empty()) {
    log(LogLevel::info, "tracking only the {} MMSIs of the watch list ({})", control.watchlist.size(),
        control.watchlist_origin == ControlOrigin::database ? "database" : "MMSI_LIST");
  }
  switch (source_) {
    case SourceKind::simulator:
      if (config_.sim_vessels > 0) {
        SimConfig sc;
        sc.vessels = config_.sim_vessels;
        sc.seed = config_.sim_seed;
        sc.start_ms = now_ms;
        simulator_.emplace(std::move(sc));
        sim_anchor_ms_ = sim_wall_anchor_ms_ = now_ms;
        sim_started_ms_ = now_ms;
        sim_applied_ = initial_sim;
        log(LogLevel::info, "{}: the source is the built-in simulator ({} vessels, seed {})",
            config_.aisstream_api_key.empty() ? "AISSTREAM_API_KEY is not set" : "SOURCE=simulator",
            config_.sim_vessels, config_.sim_seed);
      } else {
        source_ = SourceKind::none;
        log(LogLevel::warn, "SIM_VESSELS=0: no source, serving stored data only");
      }
      break;
    case SourceKind::replay: {
      replay_ = std::make_unique<Replay>();
      replay_->path = config_.source.substr(7);
      replay_->in.open(replay_->path);
      if (!replay_->in) throw ConfigError("SOURCE=" + config_.source + ": cannot read " + replay_->path);
      log(LogLevel::info, "replaying {} at {}", replay_->path,
          config_.replay_speed == 0 ? std::string("full speed") : fmt::format("{}x", config_.replay_speed));
      break;
    }
    case SourceKind::aisstream: {
      if (feed_io == nullptr) {
        log(LogLevel::warn, "aisstream.io source requested without a network: not connecting");
        break;
      }
      net::AisstreamClientConfig fc;
      fc.url = config_.aisstream_url;
      fc.subscription.api_key = config_.aisstream_api_key;
      fc.subscription = subscription_of(control);
      fc.subscription.api_key = config_.aisstream_api_key;
      fc.ca_file = config_.aisstream_ca_file;
      fc.stall_timeout_ms = config_.aisstream_stall_timeout_s * 1000;
      fc.ping_interval_ms = config_.aisstream_ping_interval_s * 1000;
      fc.backoff_max_ms = std::max<std::int64_t>(config_.aisstream_backoff_max_s * 1000, fc.backoff_min_ms);
      fc.rate_limited_min_ms = config_.aisstream_rate_limit_wait_s * 1000;
      if (control.watchlist.size() > aisstream::kMaxSubscribedMmsi) {
        log(LogLevel::info,
            "the watch list has {} MMSIs, more than the {} aisstream.io accepts: subscribing without an MMSI "
            "filter and filtering here",
            control.watchlist.size(), aisstream::kMaxSubscribedMmsi);
      }
      feed_ = std::make_unique<net::AisstreamClient>(
          *feed_io, std::move(fc),
          [this](std::string&& frame, std::int64_t received) { enqueue_frame(std::move(frame), received); },
          [](net::LogSeverity sev, std::string_view line) {
            const LogLevel lvl = sev == net::LogSeverity::error  ? LogLevel::error
                                 : sev == net::LogSeverity::warn ? LogLevel::warn
                                 : sev == net::LogSeverity::info ? LogLevel::info
                                                                 : LogLevel::debug;
            log(lvl, "{}", line);
          });
      log(LogLevel::info, "source: aisstream.io at {}", config_.aisstream_url);
      break;
    }
    case SourceKind::nmea_file: {
      if (feed_io == nullptr) break;
      NmeaReplayConfig rc;
      rc.path = config_.source.substr(10);
      rc.speed = config_.replay_speed;
      nmea_file_ = std::make_unique<NmeaFileReplayer>(
          *feed_io, std::move(rc), [this](std::string_view line, TimeMs t) { enqueue_nmea_line(2, line, t); },
          [](const NmeaSourceStatus& st) {
            log(LogLevel::info, "NMEA file replay finished: {} lines{}", st.lines,
                st.last_error.empty() ? "" : " (" + st.last_error + ")");
          });
      log(LogLevel::info, "replaying NMEA from {} at {}", config_.source.substr(10),
          config_.replay_speed == 0 ? std::string("full speed") : fmt::format("{}x", config_.replay_speed));
      break;
    }
    case SourceKind::none: log(LogLevel::warn, "SOURCE=none: serving stored data only"); break;
  }
  // NMEA network inputs run alongside whatever SOURCE is; each message keeps Source::nmea.
  if (feed_io != nullptr && config_.nmea_udp_port != 0) {
    NmeaUdpConfig uc;
    uc.bind_address = config_.nmea_udp_bind;
    uc.port = static_cast<std::uint16_t>(config_.nmea_udp_port);
    nmea_udp_ = std::make_unique<NmeaUdpListener>(
        *feed_io, std::move(uc), [this](std::string_view line, TimeMs t) { enqueue_nmea_line(0, line, t); });
    log(LogLevel::info, "NMEA over UDP on {}:{}", config_.nmea_udp_bind, config_.nmea_udp_port);
  }
  if (feed_io != nullptr && !config_.nmea_tcp.empty()) {
    NmeaTcpConfig tc;
    parse_host_port(config_.nmea_tcp, tc);
    nmea_tcp_ = std::make_unique<NmeaTcpClient>(
        *feed_io, std::move(tc), [this](std::string_view line, TimeMs t) { enqueue_nmea_line(1, line, t); });
    log(LogLevel::info, "NMEA over TCP from {}", config_.nmea_tcp);
  }
  if (!config_.aisstream_record_file.empty()) {
    record_.open(config_.aisstream_record_file, std::ios::app);
    if (!record_) throw ConfigError("AISSTREAM_RECORD_FILE: cannot write " + config_.aisstream_record_file);
    log(LogLevel::info, "recording every frame received to {}", config_.aisstream_record_file);
  }
  tracker_.subscribe([this](const Update& u) {
    if (u.fix != nullptr) pending_fixes_.emplace_back(u.vessel.mmsi, *u.fix);
    if (u.latest_changed) pending_vessels_.push_back(u.vessel);
    if (u.latest_changed && (change_listener_ || publish_listener_)) note_changed(u.vessel);
  });
  next_purge_ms_ = now_ms;  // purge once at start-up, then hourly
  applied_versions_ = control_->versions();
}

App::~App() = default;

void App::set_ingesting(bool ingesting, TimeMs now_ms) {
  if (ingesting_.exchange(ingesting) == ingesting) return;
  refresh_newest_seen_ms_.reset();  // the next refresh (or this one) reads every vessel
  if (ingesting) {
    // The leader's state so far, then our own ingest; the simulator continues from here.
    refresh_from_store(now_ms);
    next_purge_ms_ = now_ms;
  } else {
    next_refresh_ms_ = now_ms;
  }
}

namespace {
// A follower's refresh reads the vessels seen since this long before the newest report it merged
// last time (or now, if that is earlier): last_seen_ms is a report's time, not its commit's, so a
// row can arrive with a time a little older than one already read (the leader's batch delay,
// stations that report late).
constexpr TimeMs kRefreshOverlapMs = 60'000;
// ...and every vessel this often: a report more than kRefreshOverlapMs older than the newest (a
// late station, a new leader's backlog) reaches a follower's memory within this bound instead.
constexpr TimeMs kFullRefreshEveryMs = 60'000;
}  // namespace

void App::refresh_from_store(TimeMs now_ms) {
  next_refresh_ms_ = now_ms + config_.follower_refresh_ms;
  // Reading every vessel every FOLLOWER_REFRESH_MS was cheap for thousands and heavy for 100,000,
  // most of which have not changed since the last look.
  const bool full = !refresh_newest_seen_ms_ || now_ms >= next_full_refresh_ms_;
  // Never past now: a report stamped ahead (a station's fast clock; the Tracker takes up to
  // max_future_ms) would otherwise hide every other vessel from the incremental reads.
  const TimeMs pivot_ms = full ? 0 : std::min(*refresh_newest_seen_ms_, now_ms);
  const TimeMs since_ms = pivot_ms < std::numeric_limits<TimeMs>::min() + kRefreshOverlapMs
                              ? std::numeric_limits<TimeMs>::min()
                              : pivot_ms - kRefreshOverlapMs;
  std::vector<VesselState> stored;
  try {
    stored = full ? store_.vessels() : store_.vessels_seen_since(since_ms);
  } catch (const StoreError& e) {
    log(LogLevel::error, "follower refresh: {}", e.what());
    return;
  }
  if (full) next_full_refresh_ms_ = now_ms + kFullRefreshEveryMs;
  if (!stored.empty()) {  // oldest first
    refresh_newest_seen_ms_ =
        std::max(refresh_newest_seen_ms_.value_or(stored.back().last_seen_ms), stored.back().last_seen_ms);
  } else if (!refresh_newest_seen_ms_) {
    refresh_newest_seen_ms_ = std::numeric_limits<TimeMs>::min();  // empty database: read from the start
  }
  std::uint64_t merged = 0;
  {
    std::unique_lock lock(tracker_mutex_);
    merged = merge_states(stored);
  }
  std::lock_guard lock(stats_mutex_);
  ++(full ? refresh_counters_.full : refresh_counters_.incremental);
  refresh_counters_.vessels_read += stored.size();
  refresh_counters_.merged += merged;
}

App::RefreshCounters App::refresh_counters() const {
  std::lock_guard lock(stats_mutex_);
  return refresh_counters_;
}

std::uint64_t App::merge_states(const std::vector<VesselState>& states) {
  std::uint64_t changed = 0;
  for (const VesselState& s : states) {
    if (!tracker_.merge_state(s)) continue;
    ++changed;
    if (change_listener_) note_changed(*tracker_.latest(s.mmsi));
  }
  return changed;
}

std::string_view App::source_kind() const noexcept {
  switch (source_) {
    case SourceKind::simulator: return "simulator";
    case SourceKind::aisstream: return "aisstream";
    case SourceKind::replay: return "replay";
    case SourceKind::nmea_file: return "nmea-file";
    case SourceKind::none: break;
  }
  return "none";
}

void App::start_sources() {
  if (feed_) feed_->start();
  if (nmea_udp_) nmea_udp_->start();  // throws aistrack::Error when the port cannot be bound
  if (nmea_tcp_) nmea_tcp_->start();
  if (nmea_file_) nmea_file_->start();
}

void App::stop_sources() {
  if (feed_) feed_->stop();
  if (nmea_udp_) nmea_udp_->stop();
  if (nmea_tcp_) nmea_tcp_->stop();
  if (nmea_file_) nmea_file_->stop();
}

template <class Queue, class... Args>
bool App::push_bounded(Queue& queue, Args&&... args) {
  if (queue.size() >= config_.ingest_queue_frames) {
    ++queue_dropped_;
    return false;
  }
  queue.emplace_back(std::forward<Args>(args)...);
  queue_high_water_ = std::max(queue_high_water_, queue.size());
  return queue.size() == 1;
}

void App::set_change_listener(std::function<void(const std::vector<VesselState>&)> listener) {
  change_listener_ = std::move(listener);
}

void App::note_changed(const VesselState& vessel) {
  const auto [it, inserted] = changed_index_.try_emplace(vessel.mmsi, changed_.size());
  if (inserted)
    changed_.push_back(vessel);
  else
    changed_[it->second] = vessel;
}

void App::set_publish_listener(std::function<void(const std::vector<VesselState>&)> listener) {
  publish_listener_ = std::move(listener);
}

std::size_t App::enqueue_remote(std::vector<VesselState>&& states) {
  bool first = false;
  std::size_t taken = 0;
  {
    std::lock_guard lock(queue_mutex_);
    first = remote_queue_.empty();
    taken = std::min(states.size(),
                     config_.redis_queue_max - std::min(config_.redis_queue_max, remote_queue_.size()));
    std::move(states.begin(), states.begin() + static_cast<std::ptrdiff_t>(taken),
              std::back_inserter(remote_queue_));
  }
  if (first && taken > 0 && wake_) wake_();
  return taken;
}

void App::request_catch_up() {
  catch_up_requested_ = true;
  if (wake_) wake_();
}

App::RemoteCounters App::remote_counters() const {
  RemoteCounters c;
  {
    std::lock_guard lock(stats_mutex_);
    c = remote_counters_;
  }
  std::lock_guard lock(queue_mutex_);
  c.inbox_depth = remote_queue_.size();
  return c;
}

void App::merge_remote() {
  {
    std::lock_guard lock(queue_mutex_);
    remote_draining_.swap(remote_queue_);
  }
  std::vector<VesselState> stored;
  const bool catch_up = catch_up_requested_.exchange(false);
  if (catch_up) {
    try {
      stored = store_.vessels();  // committed rows: with a shared database, the other instances' too
    } catch (const StoreError& e) {
      log(LogLevel::error, "redis catch-up: {}", e.what());
    }
  }
  if (remote_draining_.empty() && !catch_up) return;
  std::uint64_t merged = 0;
  std::uint64_t caught_up = 0;
  {
    std::unique_lock lock(tracker_mutex_);
    caught_up = merge_states(stored);
    merged = merge_states(remote_draining_);
  }
  remote_draining_.clear();
  std::lock_guard lock(stats_mutex_);
  remote_counters_.merged += merged;
  if (catch_up) {
    ++remote_counters_.catch_ups;
    remote_counters_.caught_up += caught_up;
  }
}

void App::set_metrics_extra(std::function<void(MetricsText&)> extra) { metrics_extra_ = std::move(extra); }

void App::set_wake(std::function<void()> wake) { wake_ = std::move(wake); }

void App::set_health_extra(std::function<void(boost::json::object&)> extra) {
  health_extra_ = std::move(extra);
}

void App::enqueue_nmea_line(int stream, std::string_view line, TimeMs received_ms) {
  bool first = false;
  {
    std::lock_guard lock(queue_mutex_);
    first = push_bounded(nmea_queue_, stream, std::string(line), received_ms);
  }
  if (first && wake_) wake_();
}

void App::drain_nmea() {
  {
    std::lock_guard lock(queue_mutex_);
    nmea_draining_.swap(nmea_queue_);
  }
  if (nmea_draining_.empty()) return;
  ais::Decoded d;
  for (const auto& [stream, line, received] : nmea_draining_) {
    for (const nmea::Payload& p : assemblers_[static_cast<std::size_t>(stream)].feed_line(line, received)) {
      const ais::DecodeStatus ds = ais::decode(p.armored, p.fill_bits, d);
      {
        std::lock_guard lock(stats_mutex_);
        decode_counters_.record(ds, d);
      }
      if (ds != ais::DecodeStatus::ok) continue;
      ais::Conversion c = ais::to_message(d, p.ts_ms, p.own_ship);
      if (c.status == ais::ConvertStatus::ok) {
        ingest(*c.message, received);
      } else if (c.status == ais::ConvertStatus::invalid) {
        std::lock_guard lock(stats_mutex_);
        count_reason(rejected_by_reason_, "nmea invalid: " + reason_class(c.reason));
      }
    }
  }
  nmea_draining_.clear();
  std::lock_guard lock(stats_mutex_);
  for (std::size_t i = 0; i < assemblers_.size(); ++i) nmea_counters_[i] = assemblers_[i].counters();
}

void App::enqueue_frame(std::string&& frame, TimeMs received_ms) {
  bool first = false;
  {
    std::lock_guard lock(queue_mutex_);
    first = push_bounded(queue_, std::move(frame), received_ms);
  }
  if (first && wake_) wake_();
}

void App::drain_frames() {
  {
    std::lock_guard lock(queue_mutex_);
    draining_.swap(queue_);
  }
  for (auto& [frame, received] : draining_) {
    if (record_.is_open()) {
      record_ << frame << '\n';
    }
    ingest_aisstream_frame(frame, received);
  }
  if (record_.is_open() && !draining_.empty()) record_.flush();
  draining_.clear();
}

template <class Call>
void App::measure_commits(Call&& call) {
  const auto rows_of = [](const StoreStats& s) {
    return s.positions_written + s.vessels_written + s.raw_written;
  };
  const StoreStats before = store_.stats();
  const auto start = std::chrono::steady_clock::now();
  call();  // a failed commit throws past this: the Store counts it (commit_failures), untimed
  const double seconds = seconds_since(start);
  const StoreStats after = store_.stats();
  const std::uint64_t commits = after.commits - before.commits;
  if (commits == 0) return;
  const double rows = static_cast<double>(rows_of(after) - rows_of(before)) / static_cast<double>(commits);
  std::lock_guard lock(stats_mutex_);
  for (std::uint64_t i = 0; i < commits; ++i) {
    commit_duration_.observe(seconds / static_cast<double>(commits));
    batch_rows_.observe(rows);
  }
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
  // Not a structured binding: clang before 16 (the fuzz build) cannot capture one in a lambda.
  measure_commits([&] {
    for (const auto& entry : pending_fixes_) guarded([&] { store_.add_position(entry.first, entry.second); });
    for (const auto& v : pending_vessels_) guarded([&] { store_.upsert_vessel(v); });
  });
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
    ++messages_by_source_[static_cast<std::size_t>(msg.source)];
    last_message_ms_ = msg.ts_ms;
  }
  write_pending();
}

aisstream::Status App::ingest_aisstream_frame(std::string_view frame, TimeMs now_ms) {
  return ingest_result(parser_.parse(frame, now_ms), frame, now_ms);
}

aisstream::Status App::ingest_result(aisstream::Result&& r, std::string_view frame, TimeMs now_ms) {
  {
    std::lock_guard lock(stats_mutex_);
    parse_counters_ = parser_.counters();
    if (r.status == aisstream::Status::skipped) {
      count_reason(skipped_by_type_, r.reason);
    } else if (r.status != aisstream::Status::ok) {
      count_reason(rejected_by_reason_,
                   std::string(aisstream::to_string(r.status)) + ": " + reason_class(r.reason));
    }
  }
  if (config_.store_raw) store_.add_raw(now_ms, Source::aisstream, r.message ? r.message->mmsi : 0, frame);
  if (r.status == aisstream::Status::ok) {
    ingest(*r.message, now_ms);
  } else if (r.status == aisstream::Status::service_error) {
    log(LogLevel::warn, "aisstream.io error frame: {}", r.reason);
  } else if (r.status != aisstream::Status::skipped) {
    log(LogLevel::debug, "aisstream frame rejected ({}): {}", aisstream::to_string(r.status), r.reason);
  }
  return r.status;
}

void App::step_replay(TimeMs now_ms) {
  Replay& rp = *replay_;
  // Bounded work per tick so HTTP readers and the Store timer keep their turn.
  constexpr int kMaxFramesPerTick = 20'000;
  for (int n = 0; n < kMaxFramesPerTick && !rp.done; ++n) {
    if (!rp.pending) {
      std::string line;
      if (!std::getline(rp.in, line)) {
        rp.done = true;
        log(LogLevel::info, "replay of {} finished: {} frames", rp.path, rp.frames);
        break;
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      auto r = parser_.parse(line, now_ms);
      rp.pending.emplace(std::move(line), std::move(r));
    }
    auto& [line, result] = *rp.pending;
    if (result.message) {
      const TimeMs ts = result.message->ts_ms;
      if (!rp.origin_frame_ms) {
        rp.origin_frame_ms = ts;
        rp.origin_wall_ms = now_ms;
      }
      const double elapsed_frame_ms = static_cast<double>(ts - *rp.origin_frame_ms);
      const double speed = config_.replay_speed;
      if (speed > 0 && elapsed_frame_ms / speed > static_cast<double>(now_ms - rp.origin_wall_ms))
        break;  // not due
      if (config_.replay_shift_to_now) {
        result.message->ts_ms =
            rp.origin_wall_ms + static_cast<TimeMs>(speed > 0 ? elapsed_frame_ms / speed : elapsed_frame_ms);
      }
    }
    ++rp.frames;
    ingest_result(std::move(result), line, now_ms);
    rp.pending.reset();
  }
}

void App::tick(TimeMs now_ms) {
  struct Timed {  // observes the tick's duration however it ends (a StoreError may leave early)
    App& app;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    ~Timed() {
      const double seconds = seconds_since(start);
      std::lock_guard lock(app.stats_mutex_);
      app.tick_duration_.observe(seconds);
    }
  } timed{*this};
  drain_frames();  // frames queued before stepping down were received: ingest them
  drain_nmea();
  const bool ingesting = ingesting_.load(std::memory_order_relaxed);
  if (ingesting && replay_) step_replay(now_ms);
  // Instances sharing a database (DB_URL) adopt the watch list and areas changed through another one.
  if (!config_.db_url.empty() && now_ms >= next_control_reload_ms_) {
    next_control_reload_ms_ = now_ms + config_.follower_refresh_ms;
    try {
      if (control_->reload_saved()) log(LogLevel::info, "watch list or areas changed by another instance");
    } catch (const StoreError& e) {
      log(LogLevel::error, "reading the shared watch list: {}", e.what());
    }
  }
  apply_control(now_ms);
  if (ingesting && simulator_) step_sim(now_ms);
  // Only this instance's own changes are published; what other instances sent is merged after that,
  // and a follower's merge from the shared database too (the leader published those already).
  if (publish_listener_ && !changed_.empty()) publish_listener_(changed_);
  merge_remote();
  if (!ingesting && now_ms >= next_refresh_ms_) refresh_from_store(now_ms);
  // Live clients hear of changes before the Store's timed commit, which may take a while.
  if (!changed_.empty()) {
    if (change_listener_) change_listener_(changed_);
    changed_.clear();
    changed_index_.clear();
  }
  try {
    measure_commits([&] { store_.poll(now_ms); });
  } catch (const StoreError& e) {
    log(LogLevel::error, "{}", e.what());
  }
  if (ingesting && config_.retention_days > 0 && (purging_ || now_ms >= next_purge_ms_)) {
    // One small chunk per tick, so a large purge never holds up ingest for long.
    try {
      const TimeMs cutoff = now_ms - static_cast<TimeMs>(config_.retention_days) * 86'400'000;
      // purge_step commits pending rows first; doing it here times that commit like any other.
      measure_commits([&] { store_.flush(); });
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

void App::step_sim(TimeMs now_ms) {
  sim_batch_.clear();
  const auto sim_now_ms =
      sim_anchor_ms_ + static_cast<TimeMs>(static_cast<double>(now_ms - sim_wall_anchor_ms_) * sim_speed_);
  simulator_->step(sim_now_ms, sim_batch_);
  if (sim_batch_.empty()) return;
  if (sim_speed_ != 1.0) {
    for (Message& m : sim_batch_) {
      m.ts_ms = sim_wall_anchor_ms_ +
                static_cast<TimeMs>(static_cast<double>(m.ts_ms - sim_anchor_ms_) / sim_speed_);
    }
  }
  {
    std::unique_lock lock(tracker_mutex_);
    for (const Message& m : sim_batch_) tracker_.apply(m, now_ms);
  }
  {
    std::lock_guard lock(stats_mutex_);
    messages_ += sim_batch_.size();
    messages_by_source_[static_cast<std::size_t>(Source::simulator)] += sim_batch_.size();
    sim_messages_ += sim_batch_.size();
    last_message_ms_ = sim_batch_.back().ts_ms;
  }
  write_pending();
}

std::string_view App::mmsi_filter_mode(std::size_t watchlist_size) noexcept {
  if (watchlist_size == 0) return "none";
  return watchlist_size <= aisstream::kMaxSubscribedMmsi ? "service" : "local";
}

aisstream::Subscription App::subscription_of(const ControlState& state) const {
  aisstream::Subscription sub;
  sub.boxes = state.areas;
  // subscription_json() leaves FiltersShipMMSI out above 50 MMSIs; the Tracker's allow-list filters then.
  sub.mmsi = state.watchlist;
  sub.message_types = config_.aisstream_message_types;
  return sub;  // api_key empty: the client keeps its own
}

void App::apply_control(TimeMs now_ms) {
  const auto versions = control_->versions();
  if (versions == applied_versions_) return;
  const ControlState state = control_->state();
  if (state.watchlist_version != applied_versions_[0]) apply_watchlist(state);
  if (feed_ &&
      (state.watchlist_version != applied_versions_[0] || state.areas_version != applied_versions_[1])) {
    feed_->set_subscription(subscription_of(state));
  }
  if (state.areas_version != applied_versions_[1]) {
    log(LogLevel::info, "areas changed: {} boxes{}", state.areas.size(),
        feed_ ? "" : " (they only filter the aisstream.io subscription, which is not the source)");
  }
  if (state.sim_version != applied_versions_[2]) apply_sim(state.sim, now_ms);
  applied_versions_ = {state.watchlist_version, state.areas_version, state.sim_version};
}

void App::apply_watchlist(const ControlState& state) {
  std::unordered_set<Mmsi> allow(state.watchlist.begin(), state.watchlist.end());
  std::size_t before_size = 0;
  {
    std::shared_lock lock(tracker_mutex_);
    before_size = tracker_.mmsi_allow().size();
  }
  const std::string_view before = mmsi_filter_mode(before_size);
  // Vessels newly allowed come back with their stored last state, as they would after a restart.
  const auto stored = store_.vessels();
  std::size_t dropped = 0;
  std::size_t reloaded = 0;
  {
    std::unique_lock lock(tracker_mutex_);
    dropped = tracker_.set_mmsi_allow(std::move(allow));
    std::vector<VesselState> back;
    for (const auto& v : stored) {
      if (!tracker_.latest(v.mmsi)) back.push_back(v);
    }
    const std::size_t size_before = tracker_.size();
    tracker_.restore(back);
    reloaded = tracker_.size() - size_before;
  }
  const std::string_view after = mmsi_filter_mode(state.watchlist.size());
  log(LogLevel::info, "watch list changed: {} MMSIs ({} dropped from memory, {} reloaded from the store)",
      state.watchlist.size(), dropped, reloaded);
  if (feed_ && before != after) {
    log(LogLevel::info, "aisstream.io MMSI filter: {} → {}{}", before, after,
        after == "local" ? " (more than 50 MMSIs: the subscription has no MMSI filter; filtering here)" : "");
  }
}

void App::apply_sim(const SimRequest& sim, TimeMs now_ms) {
  if (!sim.running) {
    if (!simulator_) return;
    // The fleet leaves the live picture (its stored positions stay): only vessels whose latest
    // position came from the simulator, so a real vessel that shares an MMSI is kept.
    std::unordered_set<Mmsi> fleet;
    for (const auto& v : simulator_->vessels()) fleet.insert(v.mmsi);
    simulator_.reset();
    std::size_t removed = 0;
    {
      std::unique_lock lock(tracker_mutex_);
      removed = tracker_.erase_if([&](const VesselState& v) {
        return fleet.contains(v.mmsi) && (!v.position || v.position->source == Source::simulator);
      });
    }
    {
      std::lock_guard lock(stats_mutex_);
      sim_applied_.running = false;
    }
    log(LogLevel::info, "simulator stopped ({} simulated vessels removed from memory)", removed);
    return;
  }
  const TimeMs sim_now_ms =
      sim_anchor_ms_ + static_cast<TimeMs>(static_cast<double>(now_ms - sim_wall_anchor_ms_) * sim_speed_);
  if (!simulator_ || simulator_->vessels().size() != sim.vessels) {
    SimConfig sc;
    sc.vessels = sim.vessels;
    sc.seed = config_.sim_seed;
    sc.start_ms = now_ms;
    simulator_.emplace(std::move(sc));
    sim_anchor_ms_ = now_ms;
    std::lock_guard lock(stats_mutex_);
    sim_messages_ = 0;
    sim_started_ms_ = now_ms;
  } else {
    sim_anchor_ms_ = sim_now_ms;  // same fleet, new pace from here on
  }
  sim_wall_anchor_ms_ = now_ms;
  sim_speed_ = sim.speed;
  {
    std::lock_guard lock(stats_mutex_);
    sim_applied_ = sim;
  }
  log(LogLevel::info, "simulator running: {} vessels at {}x, seed {}", sim.vessels, sim.speed,
      config_.sim_seed);
}

App::SimStatus App::sim_status() const {
  std::lock_guard lock(stats_mutex_);
  SimStatus st;
  st.running = sim_applied_.running;
  st.vessels = sim_applied_.vessels;
  st.speed = sim_applied_.speed;
  st.seed = config_.sim_seed;
  st.messages = sim_messages_;
  st.started_ms = sim_started_ms_;
  return st;
}

void App::shutdown() {
  drain_frames();  // frames the network handed over but no tick processed yet
  drain_nmea();
  measure_commits([&] { store_.flush(); });
}

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
      {"backend", store_.backend() == StoreBackendKind::postgresql ? "postgresql" : "sqlite"},
      {"path", store_.path()},              // a PostgreSQL URL without its password
      {"schema_version", schema_version_},  // cached: /health must not query the database for it
      {"pending_rows", ss.pending_rows},
      {"positions_written", ss.positions_written},
      {"vessels_written", ss.vessels_written},
      {"raw_written", ss.raw_written},
      {"commits", ss.commits},
      {"commit_failures", ss.commit_failures},
      {"dropped_rows", ss.dropped_rows},
      {"duplicate_rows", ss.duplicate_rows},
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
    json::object skipped;
    for (const auto& [k, v] : skipped_by_type_) skipped[k] = v;
    source["skipped_by_type"] = std::move(skipped);
    json::object rejected;
    for (const auto& [k, v] : rejected_by_reason_) rejected[k] = v;
    source["rejected_by_reason"] = std::move(rejected);
  }
  {
    std::lock_guard lock(queue_mutex_);
    source["queue"] = json::object{{"depth", queue_.size()},
                                   {"high_water", queue_high_water_},
                                   {"capacity", config_.ingest_queue_frames},
                                   {"dropped", queue_dropped_}};
  }
  // From the applied status, never simulator_ itself: tick() may replace it on another thread.
  if (const SimStatus sim = sim_status(); sim.running) {
    source["vessels"] = sim.vessels;
    source["seed"] = sim.seed;
  }
  if (feed_) {
    const net::FeedStatus fs = feed_->status();
    auto time_or_null = [](const std::optional<std::int64_t>& t) {
      return t ? json::value(format_iso8601(*t)) : json::value(nullptr);
    };
    json::object reconnects;
    for (std::size_t i = 0; i < net::kReconnectCauseCount; ++i) {
      reconnects[net::to_string(static_cast<net::ReconnectCause>(i))] = fs.reconnects[i];
    }
    // Never the URL's query or the key: only the state and counters.
    source["feed"] = json::object{
        {"state", net::to_string(fs.state)},
        {"last_frame", time_or_null(fs.last_frame_ms)},
        {"next_retry", time_or_null(fs.next_retry_ms)},
        {"connected_since", time_or_null(fs.connected_since_ms)},
        {"frames_received", fs.frames},
        {"bytes_received", fs.bytes},
        {"connects", fs.connects},
        {"service_errors", fs.service_errors},
        {"resubscriptions", fs.resubscriptions},
        {"reconnects", std::move(reconnects)},
        {"permessage_deflate", fs.permessage_deflate},
        {"last_error", fs.last_error.empty() ? json::value(nullptr) : json::value(fs.last_error)}};
  }
  if (replay_) {
    source["replay"] = json::object{{"file", replay_->path}, {"speed", config_.replay_speed}};
  }
  auto nmea_status = [](const NmeaSourceStatus& st) {
    return json::object{
        {"state", to_string(st.state)},
        {"lines", st.lines},
        {"bytes", st.bytes},
        {"connects", st.connects},
        {"disconnects", st.disconnects},
        {"last_line", st.last_line_ms ? json::value(format_iso8601(*st.last_line_ms)) : nullptr},
        {"next_retry", st.next_retry_ms ? json::value(format_iso8601(*st.next_retry_ms)) : nullptr},
        {"last_error", st.last_error.empty() ? json::value(nullptr) : json::value(st.last_error)}};
  };
  if (nmea_udp_ || nmea_tcp_ || nmea_file_) {
    json::object n;
    if (nmea_udp_) n["udp"] = nmea_status(nmea_udp_->status());
    if (nmea_tcp_) n["tcp"] = nmea_status(nmea_tcp_->status());
    if (nmea_file_) n["file"] = nmea_status(nmea_file_->status());
    std::lock_guard lock(stats_mutex_);
    std::uint64_t sentences = 0, bad_checksum = 0, junk = 0, payloads = 0, orphans = 0;
    for (const auto& c : nmea_counters_) {
      sentences += c.sentences;
      bad_checksum += c.bad_checksum;
      junk += c.junk_lines;
      payloads += c.payloads;
      orphans += c.orphan_fragments;
    }
    n["sentences"] = sentences;
    n["bad_checksum"] = bad_checksum;
    n["junk_lines"] = junk;
    n["payloads"] = payloads;
    n["orphan_fragments"] = orphans;
    n["decoded"] = decode_counters_.by_status[static_cast<std::size_t>(ais::DecodeStatus::ok)];
    source["nmea"] = std::move(n);
  }
  h.healthy = ss.last_error.empty();
  h.body = json::object{{"status", h.healthy ? "ok" : "degraded"},
                        {"version", kVersion},
                        {"time", format_iso8601(now_ms)},
                        {"uptime_s", static_cast<double>(now_ms - started_ms_) / 1000.0},
                        {"source", std::move(source)},
                        {"store", std::move(store)},
                        {"tracker", std::move(tracker)}};
  if (health_extra_) health_extra_(h.body);
  return h;
}

}  // namespace aistrack::server
