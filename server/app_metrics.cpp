// App::write_metrics: /health's numbers as Prometheus metrics (issue #8). Counters are totals since the
// process started (Prometheus handles the reset at a restart); gauges are the state now.
#include "app.hpp"

#include <aistrack/version.hpp>

namespace aistrack::server {
namespace {
double seconds_of(TimeMs ms) { return static_cast<double>(ms) / 1000.0; }
}  // namespace

void App::write_metrics(MetricsText& out, TimeMs now_ms) const {
  using L = MetricsText::Labels;
  out.gauge("aistrack_build_info", "the server's version (always 1)", 1,
            L{{"version", std::string(kVersion)}});
  out.gauge("aistrack_start_time_seconds", "when the server started, seconds since the Unix epoch",
            seconds_of(started_ms_));
  out.gauge("aistrack_uptime_seconds", "seconds since the server started", seconds_of(now_ms - started_ms_));

  // --- source: messages and aisstream.io frames ---
  {
    std::lock_guard lock(stats_mutex_);
    for (std::size_t i = 0; i < messages_by_source_.size(); ++i) {
      out.counter("aistrack_messages_total", "decoded messages handed to the Tracker, by source",
                  messages_by_source_[i], L{{"source", std::string(to_string(static_cast<Source>(i)))}});
    }
    if (last_message_ms_) {
      out.gauge("aistrack_last_message_timestamp_seconds",
                "report time of the newest message, seconds since the Unix epoch (absent before the first)",
                seconds_of(*last_message_ms_));
    }
    const std::pair<const char*, std::uint64_t> frames[] = {{"ok", parse_counters_.ok},
                                                            {"skipped", parse_counters_.skipped},
                                                            {"malformed", parse_counters_.malformed},
                                                            {"invalid", parse_counters_.invalid},
                                                            {"service_error", parse_counters_.service_error}};
    for (const auto& [status, n] : frames) {
      out.counter("aistrack_frames_total", "aisstream.io frames parsed, by result", n, L{{"status", status}});
    }
    // Keys come from the feed, at most 64 of each (the rest count as "other").
    for (const auto& [type, n] : skipped_by_type_) {
      out.counter("aistrack_frames_skipped_total",
                  "aisstream.io frames skipped (not errors), by message type", n, L{{"type", type}});
    }
    tick_duration_.write(out, "aistrack_ingest_tick_duration_seconds",
                         "time of one ingest tick: queued frames parsed and applied, simulator step, Store "
                         "commit when due");
    for (const auto& [reason, n] : rejected_by_reason_) {
      out.counter("aistrack_messages_rejected_total", "frames and NMEA payloads rejected, by reason", n,
                  L{{"reason", reason}});
    }
  }
  {
    std::lock_guard lock(queue_mutex_);
    out.gauge("aistrack_ingest_queue_depth", "aisstream.io frames waiting for the parser",
              static_cast<double>(queue_.size()));
    out.gauge("aistrack_ingest_queue_high_water", "deepest the frame queue has been",
              static_cast<double>(queue_high_water_));
    out.gauge("aistrack_ingest_queue_capacity", "INGEST_QUEUE_FRAMES",
              static_cast<double>(config_.ingest_queue_frames));
    out.counter("aistrack_ingest_queue_dropped_total",
                "frames and NMEA lines dropped because the queue was full", queue_dropped_);
  }
  {
    const SimStatus sim = sim_status();
    out.gauge("aistrack_sim_running", "1 while the built-in simulator runs", sim.running ? 1 : 0);
    out.gauge("aistrack_sim_vessels", "simulated fleet size (0 when stopped)",
              sim.running ? static_cast<double>(sim.vessels) : 0.0);
  }
  if (feed_) {
    const net::FeedStatus fs = feed_->status();
    for (const auto state :
         {net::FeedState::stopped, net::FeedState::connecting, net::FeedState::subscribed,
          net::FeedState::streaming, net::FeedState::stalled, net::FeedState::backing_off}) {
      out.gauge("aistrack_feed_state", "aisstream.io connection state: 1 for the current one",
                fs.state == state ? 1 : 0, L{{"state", std::string(net::to_string(state))}});
    }
    out.counter("aistrack_feed_frames_received_total", "aisstream.io text frames received", fs.frames);
    out.counter("aistrack_feed_bytes_received_total", "aisstream.io payload bytes received", fs.bytes);
    out.counter("aistrack_feed_connects_total", "aisstream.io connections opened", fs.connects);
    out.counter("aistrack_feed_service_errors_total", "aisstream.io {\"error\": ...} frames",
                fs.service_errors);
    out.counter("aistrack_feed_resubscriptions_total", "subscriptions replaced on an open connection",
                fs.resubscriptions);
    for (std::size_t i = 0; i < net::kReconnectCauseCount; ++i) {
      out.counter("aistrack_feed_reconnects_total", "aisstream.io connections ended, by cause",
                  fs.reconnects[i],
                  L{{"cause", std::string(net::to_string(static_cast<net::ReconnectCause>(i)))}});
    }
    if (fs.last_frame_ms) {
      out.gauge("aistrack_feed_last_frame_timestamp_seconds",
                "when the newest aisstream.io frame arrived, seconds since the Unix epoch",
                seconds_of(*fs.last_frame_ms));
    }
  }
  // NMEA inputs in assemblers_ order (0 UDP, 1 TCP, 2 file); only the ones configured.
  constexpr const char* kInputs[] = {"udp", "tcp", "file"};
  const std::optional<NmeaSourceStatus> nmea_inputs[] = {
      nmea_udp_ ? std::optional(nmea_udp_->status()) : std::nullopt,
      nmea_tcp_ ? std::optional(nmea_tcp_->status()) : std::nullopt,
      nmea_file_ ? std::optional(nmea_file_->status()) : std::nullopt};
  bool any_nmea = false;
  for (std::size_t i = 0; i < 3; ++i) {
    if (!nmea_inputs[i]) continue;
    any_nmea = true;
    const char* input = kInputs[i];
    const NmeaSourceStatus& st = *nmea_inputs[i];
    out.counter("aistrack_nmea_lines_total", "NMEA lines read, by input", st.lines, L{{"input", input}});
    out.counter("aistrack_nmea_bytes_total", "NMEA bytes read, by input", st.bytes, L{{"input", input}});
    out.counter("aistrack_nmea_connects_total", "NMEA TCP connections made", st.connects,
                L{{"input", input}});
    out.counter("aistrack_nmea_disconnects_total", "NMEA TCP connections lost or refused", st.disconnects,
                L{{"input", input}});
    std::lock_guard lock(stats_mutex_);
    const nmea::Counters& c = nmea_counters_[i];
    const std::pair<const char*, std::uint64_t> sentences[] = {{"accepted", c.sentences},
                                                               {"bad_checksum", c.bad_checksum},
                                                               {"no_checksum", c.no_checksum},
                                                               {"malformed", c.malformed_sentences},
                                                               {"other", c.other_sentences}};
    for (const auto& [result, n] : sentences) {
      out.counter("aistrack_nmea_sentences_total", "NMEA sentences, by input and result", n,
                  L{{"input", input}, {"result", result}});
    }
    out.counter("aistrack_nmea_junk_lines_total", "NMEA lines without a sentence in them", c.junk_lines,
                L{{"input", input}});
  }
  if (any_nmea) {
    std::lock_guard lock(stats_mutex_);
    for (std::size_t s = 0; s < decode_counters_.by_status.size(); ++s) {
      out.counter("aistrack_nmea_decodes_total", "AIS payloads decoded, by result",
                  decode_counters_.by_status[s],
                  L{{"result", std::string(ais::to_string(static_cast<ais::DecodeStatus>(s)))}});
    }
  }

  // --- Tracker ---
  {
    std::shared_lock lock(tracker_mutex_);
    const TrackerCounters& c = tracker_.counters();
    out.gauge("aistrack_vessels", "vessels held in memory", static_cast<double>(tracker_.size()));
    const std::pair<const char*, std::uint64_t> results[] = {
        {"updated", c.updated},         {"stale", c.stale},   {"filtered", c.filtered},
        {"no_position", c.no_position}, {"future", c.future}, {"invalid", c.invalid}};
    for (const auto& [result, n] : results) {
      out.counter("aistrack_tracker_messages_total", "messages applied by the Tracker, by result", n,
                  L{{"result", result}});
    }
    out.counter("aistrack_tracker_evicted_total", "vessels dropped at MAX_VESSELS", c.evicted);
  }
  out.gauge("aistrack_vessels_max", "MAX_VESSELS", static_cast<double>(config_.max_vessels));

  // --- Store ---
  const StoreStats ss = store_.stats();
  out.gauge("aistrack_store_up", "1 when the Store's last commit succeeded (0 also turns /health into 503)",
            ss.last_error.empty() ? 1 : 0);
  out.gauge("aistrack_store_pending_rows", "rows queued for the next commit",
            static_cast<double>(ss.pending_rows));
  const std::pair<const char*, std::uint64_t> rows[] = {
      {"positions", ss.positions_written}, {"vessels", ss.vessels_written}, {"raw", ss.raw_written}};
  for (const auto& [table, n] : rows) {
    out.counter("aistrack_store_rows_written_total", "rows committed to SQLite, by table", n,
                L{{"table", table}});
  }
  out.counter("aistrack_store_commits_total", "SQLite transactions committed", ss.commits);
  out.counter("aistrack_store_commit_failures_total", "SQLite commits that failed", ss.commit_failures);
  out.counter("aistrack_store_dropped_rows_total", "rows lost (queue over its bound, or unstorable)",
              ss.dropped_rows);
  out.counter("aistrack_store_purged_rows_total", "positions deleted by retention", ss.purged_rows);
  out.counter("aistrack_store_duplicate_rows_total",
              "positions not stored again because an identical row was stored (a replay, a fail-over)",
              ss.duplicate_rows);
  {
    std::lock_guard lock(stats_mutex_);
    commit_duration_.write(out, "aistrack_store_commit_duration_seconds",
                           "time of one successful SQLite commit, seconds (the Store call that made it, "
                           "shared among its commits)");
    batch_rows_.write(out, "aistrack_store_batch_rows", "rows (positions, vessels, raw) in one commit");
  }

  if (metrics_extra_) metrics_extra_(out);
}

}  // namespace aistrack::server
