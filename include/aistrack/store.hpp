// Store: every position in one SQLite file (WAL, batched writes, versioned schema), or in
// PostgreSQL (COPY batches, day partitions, PostGIS when present) for several servers on one fleet.
#pragma once

#include <aistrack/message.hpp>
#include <aistrack/tracker.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aistrack {

/// Environment errors of the Store (cannot open, disk full, newer schema …); what() says what to fix.
class StoreError : public Error {
 public:
  using Error::Error;
};

/// Which database a Store writes.
enum class StoreBackendKind : std::uint8_t { sqlite, postgresql };

/// Store settings.
struct StoreConfig {
  std::string path = "aistrack.db";  ///< SQLite file; created with its directory's permissions
  /// Empty: SQLite at `path`. "postgresql://…" (or "postgres://…", a libpq URL): PostgreSQL; then
  /// `path` and the SQLite tuning fields below are ignored (see docs/STORE.md, "PostgreSQL").
  std::string url;
  std::size_t batch_rows =
      10'000;              ///< commit when this many rows are pending (bursts; live feeds hit batch_ms first)
  TimeMs batch_ms = 1000;  ///< … or when the oldest pending row has waited this long (see poll())
  bool keep_raw = false;   ///< archive every raw message (see docs/STORE.md for the disk cost)
  bool synchronous_full =
      false;  ///< fsync every commit (survives power loss, slower); default survives process crashes
  std::size_t max_pending_rows =
      200'000;  ///< bound on rows held while commits fail; the oldest are dropped beyond it
  std::size_t cache_mib =
      64;  ///< SQLite page cache of the writer, MiB (index pages stay hot between batches)
  std::size_t checkpoint_mib =
      64;  ///< WAL size that triggers a checkpoint, MiB (SQLite's default of ~4 MB halves burst inserts)
  std::size_t read_cache_mib =
      16;  ///< SQLite page cache of the reader, MiB (a vessel's day of fixes is ~2.5 MB of pages)
  TimeMs busy_timeout_ms = 5000;  ///< how long a statement waits for another connection's lock before failing
};

/// Counters for /health and /metrics.
struct StoreStats {
  std::uint64_t positions_written = 0;
  std::uint64_t raw_written = 0;
  std::uint64_t vessels_written = 0;
  std::uint64_t commits = 0;
  std::uint64_t commit_failures = 0;
  std::uint64_t dropped_rows = 0;  ///< rows lost: over max_pending_rows, or unstorable (NaN position)
  /// positions not stored because an identical row (every column) was already stored or queued: the
  /// same report heard twice, or ingested again after a fail-over or a replay
  std::uint64_t duplicate_rows = 0;
  std::uint64_t purged_rows = 0;
  std::size_t pending_rows = 0;
  std::string last_error;  ///< empty when the last commit succeeded
};

/// A position's place in track order (report time, then its arrival number among the vessel's
/// fixes with that same time): the cursor of Store::track_page.
struct TrackCursor {
  TimeMs ts_ms = 0;      ///< report time, ms UTC
  std::int64_t seq = 0;  ///< 0 for the first fix of this vessel at ts_ms, 1 for the next, …
  friend bool operator==(const TrackCursor&, const TrackCursor&) = default;
};

/// Which fields of each PositionFix a track read fills. SQLite's cost per column read is most of
/// the cost of a long track, so a caller that needs only motion can ask for less.
enum class TrackFields : std::uint8_t {
  all,     ///< every field
  motion,  ///< ts_ms, latlon, sog_kn, cog_deg and ais_type (what Stats reads); the rest stay empty
};

/// One page of a track from Store::track_page.
struct TrackPage {
  std::vector<PositionFix> fixes;   ///< in (ts_ms, seq) order
  std::optional<TrackCursor> next;  ///< the last fix's cursor when more follow; nullopt: last page
};

/// One row of Store::positions_page.
struct PositionRow {
  Mmsi mmsi = 0;
  PositionFix fix;
};

/// A position's place in export order (MMSI, report time, arrival number at that time, as in
/// TrackCursor): the cursor of Store::positions_page.
struct PositionsCursor {
  Mmsi mmsi = 0;
  TimeMs ts_ms = 0;
  std::int64_t seq = 0;
  friend bool operator==(const PositionsCursor&, const PositionsCursor&) = default;
};

/// One page of positions from Store::positions_page.
struct PositionsPage {
  std::vector<PositionRow> rows;        ///< in (mmsi, ts_ms, seq) order
  std::optional<PositionsCursor> next;  ///< where the next page starts; nullopt: this was the last page
};

/// The store: SQLite by default (schema migrated by `PRAGMA user_version`), PostgreSQL when
/// StoreConfig::url says so (schema migrated by the aistrack_schema table). Both behave the same
/// through this interface (tests/test_store.cpp runs against both); where they differ (retention
/// granularity, query plans) the member comment says so.
///
/// Thread-safety: writers (add_*, upsert_vessel, poll, flush, purge_step) must be called
/// from one thread at a time. Queries (latest, track, vessels, stats) may be called from
/// any thread, concurrently with writers: they use their own read connection, serialised
/// internally, and see only committed data.
class Store {
 public:
  /// Schema version this build writes; a newer file is refused.
  static constexpr int kSchemaVersion = 3;

  /// Opens (creating or migrating) the database; throws StoreError naming the path or URL and the cause.
  explicit Store(StoreConfig config);
  /// Flushes pending rows (errors are swallowed: call flush() first to see them).
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Queues one position; commits when batch_rows are pending.
  void add_position(Mmsi mmsi, const PositionFix& fix);
  /// Queues the vessel's static data and last position; one row per MMSI per batch.
  void upsert_vessel(const VesselState& vessel);
  /// Queues a raw message (no-op unless keep_raw); `received_ms` is ms UTC, `mmsi` 0 when unknown.
  void add_raw(TimeMs received_ms, Source source, Mmsi mmsi, std::string_view payload);

  /// Commits when rows have been pending for batch_ms as seen by successive calls; returns true if it
  /// committed.
  bool poll(TimeMs now_ms);
  /// Commits everything pending now; throws StoreError (rows stay pending) if SQLite fails.
  void flush();

  /// Last known state of a vessel from the vessels table (committed data only).
  [[nodiscard]] std::optional<VesselState> latest(Mmsi mmsi) const;
  /// Positions of `mmsi` with from_ms <= ts_ms <= to_ms, oldest first, at most `limit`.
  [[nodiscard]] std::vector<PositionFix> track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms,
                                               std::size_t limit) const;
  /// Positions of `mmsi` with from_ms <= ts_ms <= to_ms that come after `after` in (ts_ms, seq)
  /// order (from the start when nullopt), at most `limit`: stable paging even between equal times.
  [[nodiscard]] TrackPage track_page(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms,
                                     std::optional<TrackCursor> after, std::size_t limit) const;
  /// Calls `visit` for each position of `mmsi` with from_ms <= ts_ms <= to_ms (ms UTC), oldest first,
  /// at most `limit`, without building a vector, filling `fields`; returns how many it visited.
  /// `visit` runs under the read lock: keep it quick and never call the Store from it.
  std::size_t visit_track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, std::size_t limit,
                          const std::function<void(const PositionFix&)>& visit,
                          TrackFields fields = TrackFields::all) const;
  /// Positions of every vessel (or only of `mmsi`, sorted ascending, when not empty) with
  /// from_ms <= ts_ms <= to_ms, after `after` in (mmsi, ts_ms, seq) order, at most `limit` rows.
  /// Walks the (mmsi, ts_ms) index one vessel at a time, so a page costs index seeks, never a scan
  /// of old rows; a page may hold fewer rows than `limit` (even none) while `next` is set, which
  /// bounds the time the read lock is held. For streaming exports (GET /v1/positions/export.csv).
  [[nodiscard]] PositionsPage positions_page(TimeMs from_ms, TimeMs to_ms, const std::vector<Mmsi>& mmsi,
                                             std::optional<PositionsCursor> after, std::size_t limit) const;

  /// Positions inside `box` with from_ms <= ts_ms <= to_ms (ms UTC), in (mmsi, ts_ms, seq) order, at
  /// most `limit`: who was where. PostgreSQL with PostGIS answers from a GiST index on a geography
  /// column; SQLite and PostgreSQL without PostGIS read every position of the window (fine for a
  /// small archive, slow for a large one).
  [[nodiscard]] std::vector<PositionRow> area_positions(const GeoBox& box, TimeMs from_ms, TimeMs to_ms,
                                                        std::size_t limit) const;

  /// A value saved with save_setting(), or nullopt when the key was never saved.
  [[nodiscard]] std::optional<std::string> load_setting(std::string_view key) const;
  /// Saves (replaces) a small run-time setting such as the watch list, durably before it returns;
  /// thread-safe (its own connection), throws StoreError if SQLite fails.
  void save_setting(std::string_view key, std::string_view value);

  /// The database's query plan for the track queries (track, visit_track, track_page), one line per
  /// step (for tests and diagnosis: each should search a range of the primary key, never scan or sort).
  [[nodiscard]] std::vector<std::string> track_query_plan() const;
  /// The query plan of area_positions() (PostGIS: a GiST index scan).
  [[nodiscard]] std::vector<std::string> area_query_plan() const;
  /// Every vessel in the vessels table, oldest last_seen first (the order Tracker::restore wants).
  [[nodiscard]] std::vector<VesselState> vessels() const;
  /// The vessels last seen at or after `since_ms` (ms UTC, message time), oldest first: what changed
  /// lately, for an instance that follows a shared database (PostgreSQL: an index range).
  [[nodiscard]] std::vector<VesselState> vessels_seen_since(TimeMs since_ms) const;

  /// Deletes at most `max_rows` positions/raw rows older than `cutoff_ms`; returns rows deleted (0 = done).
  /// PostgreSQL drops whole day partitions instead (no long DELETE): a day goes once all of it is
  /// older than the cutoff, and one call may drop more than `max_rows` rows.
  std::size_t purge_step(TimeMs cutoff_ms, std::size_t max_rows = 1000);

  /// Counters and the last error.
  [[nodiscard]] StoreStats stats() const;
  /// The database's schema version (SQLite: PRAGMA user_version; PostgreSQL: aistrack_schema).
  [[nodiscard]] int schema_version() const;
  /// "ok" or the database's complaint (SQLite: PRAGMA quick_check; PostgreSQL: the schema is whole).
  [[nodiscard]] std::string check() const;
  /// Where the data lives: the SQLite file, or the PostgreSQL URL without its password.
  [[nodiscard]] const std::string& path() const noexcept;
  /// Which database this Store writes.
  [[nodiscard]] StoreBackendKind backend() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aistrack
