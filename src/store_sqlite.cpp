// The Store's SQLite backend: one file in WAL mode, a writer connection, a read connection and a
// settings connection. See docs/STORE.md for the schema, durability and retention rules.
#include "store_backend.hpp"
#include "store_schema.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>

namespace aistrack::detail {
namespace {

struct DbClose {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbClose>;

struct StmtFinalize {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

// Resets a statement on scope exit so a query never leaves a read transaction open (an open
// read transaction on the read connection would stop checkpoints from shrinking the WAL).
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) noexcept : stmt_(stmt) {}
  ~ResetOnExit() { sqlite3_reset(stmt_); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// ---- schema -----------------------------------------------------------------------------------

// Migrations, one per schema version: kMigrations[v - 1] turns version v-1 into version v. Each
// runs in the same transaction as the user_version update, so a crash leaves the old version.
// Never edit a released step; append a new one and bump Store::kSchemaVersion.
constexpr const char* kMigrations[] = {
    // 0 -> 1
    R"sql(
CREATE TABLE IF NOT EXISTS positions (
  mmsi        INTEGER NOT NULL,
  ts_ms       INTEGER NOT NULL,  -- report time, ms since 1970 UTC
  lat_deg     REAL    NOT NULL,
  lon_deg     REAL    NOT NULL,
  sog_kn      REAL,              -- NULL: not available
  cog_deg     REAL,
  heading_deg INTEGER,
  nav_status  INTEGER,           -- ITU-R M.1371 Table 45 code
  rot_deg_min REAL,
  ais_type    INTEGER NOT NULL,  -- ITU message id 1..27
  source      INTEGER NOT NULL   -- 0 unknown, 1 aisstream, 2 nmea, 3 simulator
);
-- The only index: track queries and retention both walk it. No ts_ms index on purpose (slower inserts).
CREATE INDEX IF NOT EXISTS positions_mmsi_ts ON positions (mmsi, ts_ms);

CREATE TABLE IF NOT EXISTS vessels (
  mmsi           INTEGER PRIMARY KEY,
  station_class  INTEGER NOT NULL,  -- 0 A, 1 B, 2 SAR aircraft, 3 base station, 4 AtoN
  name           TEXT,
  callsign       TEXT,
  imo            INTEGER,
  ship_type      INTEGER,           -- ITU-R M.1371 Table 53 code
  to_bow_m       INTEGER,           -- dimensions: all four NULL or all four set
  to_stern_m     INTEGER,
  to_port_m      INTEGER,
  to_starboard_m INTEGER,
  eta_month      INTEGER,           -- ETA: month/day NULL when no ETA; hour/minute may be NULL alone
  eta_day        INTEGER,
  eta_hour       INTEGER,
  eta_minute     INTEGER,
  draught_m      REAL,
  destination    TEXT,
  aton_type      INTEGER,
  static_ts_ms   INTEGER,           -- time of the newest static message
  ts_ms          INTEGER,           -- last position (same columns as positions); all NULL without one
  lat_deg        REAL,
  lon_deg        REAL,
  sog_kn         REAL,
  cog_deg        REAL,
  heading_deg    INTEGER,
  nav_status     INTEGER,
  rot_deg_min    REAL,
  ais_type       INTEGER,
  source         INTEGER,
  last_seen_ms   INTEGER NOT NULL   -- newest report time of any message
);

-- Arrival order is rowid order, which retention relies on.
CREATE TABLE IF NOT EXISTS raw_messages (
  received_ms INTEGER NOT NULL,
  source      INTEGER NOT NULL,
  mmsi        INTEGER,              -- NULL when unknown
  payload     TEXT    NOT NULL
);
)sql",
    // 1 -> 2: positions becomes a WITHOUT ROWID table clustered on (mmsi, ts_ms, seq), so one vessel's
    // fixes lie together in key order and a track read is one range scan of the table: no second
    // lookup per row and no separate index (docs/STORE.md, "Schema version 2"). seq numbers the
    // fixes of one vessel with the same ts_ms in arrival order (two stations hearing one report,
    // receivers that stamp whole seconds), 0 for the first; v1 rows get it from their rowid order.
    R"sql(
CREATE TABLE positions_v2 (
  mmsi        INTEGER NOT NULL,
  ts_ms       INTEGER NOT NULL,  -- report time, ms since 1970 UTC
  seq         INTEGER NOT NULL,  -- 0, 1, ... for fixes of this mmsi with the same ts_ms, arrival order
  lat_deg     REAL    NOT NULL,
  lon_deg     REAL    NOT NULL,
  sog_kn      REAL,              -- NULL: not available
  cog_deg     REAL,
  heading_deg INTEGER,
  nav_status  INTEGER,           -- ITU-R M.1371 Table 45 code
  rot_deg_min REAL,
  ais_type    INTEGER NOT NULL,  -- ITU message id 1..27
  source      INTEGER NOT NULL,  -- 0 unknown, 1 aisstream, 2 nmea, 3 simulator
  PRIMARY KEY (mmsi, ts_ms, seq)
) WITHOUT ROWID;
INSERT INTO positions_v2 (mmsi, ts_ms, seq, lat_deg, lon_deg, sog_kn, cog_deg, heading_deg, nav_status,
                          rot_deg_min, ais_type, source)
  SELECT mmsi, ts_ms, row_number() OVER (PARTITION BY mmsi, ts_ms ORDER BY rowid) - 1, lat_deg, lon_deg,
         sog_kn, cog_deg, heading_deg, nav_status, rot_deg_min, ais_type, source
  FROM positions ORDER BY mmsi, ts_ms, rowid;
DROP TABLE positions;  -- and its index positions_mmsi_ts: the primary key replaces it
ALTER TABLE positions_v2 RENAME TO positions;
)sql",
    // 2 -> 3: run-time settings (the watch list and areas changed over the API, issue #10) as key/value
    // text, so they survive a restart. IF NOT EXISTS: pre-release builds of the control branch created
    // this table outside the numbered migrations.
    R"sql(
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql",
};
static_assert(std::size(kMigrations) == Store::kSchemaVersion, "one migration per schema version");

// What the operator can do about an SQLite result code.
const char* hint_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CANTOPEN: return "check that the directory exists and is writable";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "another connection holds the lock; make sure only one aistrack process writes this file";
    case SQLITE_FULL: return "the disk (or the file's size limit) is full; free space or shorten retention";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return "the file or its directory is not writable; check permissions";
    case SQLITE_IOERR: return "the disk reported an I/O error; check the disk and the file system";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "the file is not a healthy aistrack database; move it aside or restore a backup";
    case SQLITE_NOMEM: return "the process ran out of memory";
    default: return "check the file, the disk and their permissions";
  }
}

// Message text for a failed call on `db` (or `rc` alone when there is no handle).
std::string sqlite_message(sqlite3* db, int rc) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : nullptr;
  return msg != nullptr ? std::string(msg) : std::string(sqlite3_errstr(rc));
}

std::string describe(const std::string& path, std::string_view action, const std::string& sqlite_msg,
                     int rc) {
  std::string out = "cannot ";
  out.append(action).append(" database '").append(path).append("': ").append(sqlite_msg);
  out.append("; ").append(hint_for(rc));
  return out;
}

[[noreturn]] void throw_sqlite(const std::string& path, std::string_view action, sqlite3* db, int rc) {
  throw StoreError(describe(path, action, sqlite_message(db, rc), rc));
}

// ---- binding and reading --------------------------------------------------------------------

void bind_opt(sqlite3_stmt* s, int i, const std::optional<double>& v) {
  if (v) {
    sqlite3_bind_double(s, i, *v);
  } else {
    sqlite3_bind_null(s, i);
  }
}

template <class Int>
void bind_opt_int(sqlite3_stmt* s, int i, const std::optional<Int>& v) {
  if (v) {
    sqlite3_bind_int64(s, i, static_cast<sqlite3_int64>(*v));
  } else {
    sqlite3_bind_null(s, i);
  }
}

void bind_opt(sqlite3_stmt* s, int i, const std::optional<std::string>& v) {
  if (v) {
    // SQLITE_STATIC: the string outlives the step that reads it (bindings are per commit).
    sqlite3_bind_text(s, i, v->data(), static_cast<int>(v->size()), SQLITE_STATIC);
  } else {
    sqlite3_bind_null(s, i);
  }
}

// Binds the kFixColumns of `fix` starting at parameter `first`.
void bind_fix(sqlite3_stmt* s, int first, const PositionFix& fix) {
  sqlite3_bind_int64(s, first, fix.ts_ms);
  sqlite3_bind_double(s, first + 1, fix.latlon.lat_deg);
  sqlite3_bind_double(s, first + 2, fix.latlon.lon_deg);
  bind_opt(s, first + 3, fix.sog_kn);
  bind_opt(s, first + 4, fix.cog_deg);
  bind_opt_int(s, first + 5, fix.heading_deg);
  if (fix.nav_status) {
    sqlite3_bind_int(s, first + 6, static_cast<int>(*fix.nav_status));
  } else {
    sqlite3_bind_null(s, first + 6);
  }
  bind_opt(s, first + 7, fix.rot_deg_min);
  sqlite3_bind_int(s, first + 8, fix.ais_type);
  sqlite3_bind_int(s, first + 9, static_cast<int>(fix.source));
}

void bind_null_fix(sqlite3_stmt* s, int first) {
  for (int i = 0; i < kFixColumnCount; ++i) sqlite3_bind_null(s, first + i);
}

bool is_null(sqlite3_stmt* s, int col) { return sqlite3_column_type(s, col) == SQLITE_NULL; }

// col_double for the hot track loop: one sqlite3_column_* call instead of two (type, then value).
// The value is "unprotected" (SQLite's word), which only matters when the connection's mutex is
// shared between threads; the read connection is NOMUTEX and serialised by the Store's read_mutex.
std::optional<double> col_double_once(sqlite3_stmt* s, int col) {
  sqlite3_value* v = sqlite3_column_value(s, col);
  if (sqlite3_value_type(v) == SQLITE_NULL) return std::nullopt;
  return sqlite3_value_double(v);
}

std::optional<double> col_double(sqlite3_stmt* s, int col) {
  if (is_null(s, col)) return std::nullopt;
  return sqlite3_column_double(s, col);
}

// The file may have been edited by hand, so every integer is range-checked instead of trusted.
template <class Int>
std::optional<Int> in_range(sqlite3_int64 v) {
  if (v < static_cast<sqlite3_int64>(std::numeric_limits<Int>::min()) ||
      static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) {
    return std::nullopt;
  }
  return static_cast<Int>(v);
}

template <class Int>
std::optional<Int> col_int(sqlite3_stmt* s, int col) {
  if (is_null(s, col)) return std::nullopt;
  return in_range<Int>(sqlite3_column_int64(s, col));
}

std::optional<std::string> col_text(sqlite3_stmt* s, int col) {
  if (is_null(s, col)) return std::nullopt;
  const auto* text = sqlite3_column_text(s, col);
  const int size = sqlite3_column_bytes(s, col);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

// Columns of a positions row in track reads: those TrackFields::motion reads first, then the rest,
// so that both kinds of read share read_position().
constexpr const char* kMotionColumns = "ts_ms, lat_deg, lon_deg, sog_kn, cog_deg, ais_type";
constexpr const char* kOtherColumns = "heading_deg, nav_status, rot_deg_min, source";

// Reads a positions row from column `first`: kMotionColumns, then kOtherColumns for TrackFields::all.
// ts_ms, lat_deg, lon_deg, ais_type and source are NOT NULL in positions, so only the nullable
// columns pay for a type check: at 43,200 rows a request, every SQLite call per column shows.
PositionFix read_position(sqlite3_stmt* s, int first, TrackFields fields) {
  PositionFix fix;
  fix.ts_ms = sqlite3_column_int64(s, first);
  fix.latlon = LatLon{sqlite3_column_double(s, first + 1), sqlite3_column_double(s, first + 2)};
  fix.sog_kn = col_double_once(s, first + 3);
  fix.cog_deg = col_double_once(s, first + 4);
  fix.ais_type = in_range<std::uint8_t>(sqlite3_column_int64(s, first + 5)).value_or(0);
  if (fields == TrackFields::all) {
    fix.heading_deg = col_int<std::uint16_t>(s, first + 6);
    if (const auto code = col_int<int>(s, first + 7)) fix.nav_status = nav_status_from_code(*code);
    fix.rot_deg_min = col_double(s, first + 8);
    fix.source = source_from_code(in_range<int>(sqlite3_column_int64(s, first + 9)));
  }
  return fix;
}

// Reads kFixColumns of a vessels row starting at column `first`; nullopt when it has no position.
std::optional<PositionFix> read_fix(sqlite3_stmt* s, int first) {
  const auto ts_ms = col_int<TimeMs>(s, first);
  const auto lat_deg = col_double(s, first + 1);
  const auto lon_deg = col_double(s, first + 2);
  if (!ts_ms || !lat_deg || !lon_deg) return std::nullopt;
  PositionFix fix;
  fix.ts_ms = *ts_ms;
  fix.latlon = LatLon{*lat_deg, *lon_deg};
  fix.sog_kn = col_double(s, first + 3);
  fix.cog_deg = col_double(s, first + 4);
  fix.heading_deg = col_int<std::uint16_t>(s, first + 5);
  if (const auto code = col_int<int>(s, first + 6)) fix.nav_status = nav_status_from_code(*code);
  fix.rot_deg_min = col_double(s, first + 7);
  fix.ais_type = col_int<std::uint8_t>(s, first + 8).value_or(0);
  fix.source = source_from_code(col_int<int>(s, first + 9));
  return fix;
}

VesselState read_vessel(sqlite3_stmt* s) {
  VesselState v;
  v.mmsi = col_int<Mmsi>(s, kVesselMmsi - 1).value_or(0);
  v.station = station_from_code(col_int<int>(s, kVesselStation - 1));
  int c = kVesselStaticFirst - 1;
  StaticData& sd = v.static_data;
  sd.name = col_text(s, c++);
  sd.callsign = col_text(s, c++);
  sd.imo = col_int<std::uint32_t>(s, c++);
  if (const auto code = col_int<int>(s, c++)) sd.ship_type = ship_type_from_code(*code);
  const auto to_bow_m = col_int<std::uint16_t>(s, c++);
  const auto to_stern_m = col_int<std::uint16_t>(s, c++);
  const auto to_port_m = col_int<std::uint8_t>(s, c++);
  const auto to_starboard_m = col_int<std::uint8_t>(s, c++);
  if (to_bow_m && to_stern_m && to_port_m && to_starboard_m) {
    sd.dimensions = Dimensions{*to_bow_m, *to_stern_m, *to_port_m, *to_starboard_m};
  }
  const auto eta_month = col_int<std::uint8_t>(s, c++);
  const auto eta_day = col_int<std::uint8_t>(s, c++);
  const auto eta_hour = col_int<std::uint8_t>(s, c++);
  const auto eta_minute = col_int<std::uint8_t>(s, c++);
  if (eta_month && eta_day) sd.eta = Eta{*eta_month, *eta_day, eta_hour, eta_minute};
  sd.draught_m = col_double(s, c++);
  sd.destination = col_text(s, c++);
  sd.aton_type = col_int<std::uint8_t>(s, c++);
  v.static_ts_ms = col_int<TimeMs>(s, kVesselStaticTs - 1);
  v.position = read_fix(s, kVesselFixFirst - 1);
  v.last_seen_ms = col_int<TimeMs>(s, kVesselLastSeen - 1).value_or(0);
  return v;
}

// Most MMSIs one purge transaction visits, so a sweep over a large fleet with little to delete
// still holds the write lock only for a few milliseconds at a time.
constexpr std::size_t kPurgeVisitsPerTransaction = 1000;

}  // namespace

class SqliteBackend final : public StoreBackend {
 public:
  explicit SqliteBackend(const StoreConfig& cfg) : config(cfg) {
    open_writer();
    prepare_writer();
    open_reader();
  }

  std::size_t write(const Batch& batch) override;
  [[nodiscard]] std::size_t max_payload_bytes() const override { return payload_limit; }
  std::size_t purge_step(TimeMs cutoff_ms, std::size_t max_rows) override;
  [[nodiscard]] std::optional<VesselState> latest(Mmsi mmsi) const override;
  [[nodiscard]] std::vector<PositionFix> track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms,
                                               std::size_t limit) const override;
  [[nodiscard]] TrackPage track_page(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms,
                                     std::optional<TrackCursor> after, std::size_t limit) const override;
  std::size_t visit_track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, std::size_t limit,
                          const std::function<void(const PositionFix&)>& visit,
                          TrackFields fields) const override;
  [[nodiscard]] PositionsPage positions_page(TimeMs from_ms, TimeMs to_ms, const std::vector<Mmsi>& mmsi,
                                             std::optional<PositionsCursor> after,
                                             std::size_t limit) const override;
  [[nodiscard]] std::vector<PositionRow> area_positions(const GeoBox& box, TimeMs from_ms, TimeMs to_ms,
                                                        std::size_t limit) const override;
  [[nodiscard]] std::optional<std::string> load_setting(std::string_view key) const override;
  void save_setting(std::string_view key, std::string_view value) override;
  [[nodiscard]] std::vector<std::string> track_query_plan() const override;
  [[nodiscard]] std::vector<std::string> area_query_plan() const override;
  [[nodiscard]] std::vector<VesselState> vessels(TimeMs seen_since_ms) const override;
  [[nodiscard]] int schema_version() const override;
  [[nodiscard]] std::string check() const override;
  [[nodiscard]] const std::string& location() const noexcept override { return config.path; }
  [[nodiscard]] StoreBackendKind kind() const noexcept override { return StoreBackendKind::sqlite; }

 private:
  StoreConfig config;

  // Writer side: only the writer thread touches these (see the class comment).
  DbPtr writer;
  StmtPtr begin, commit, rollback, insert_position, next_seq, same_row_stored, upsert_vessel, insert_raw;
  StmtPtr purge_next_mmsi, purge_positions, purge_raw_scan, purge_raw_delete;
  std::size_t payload_limit = 0;         // SQLite's SQLITE_LIMIT_LENGTH for this connection
  sqlite3_int64 purge_cursor_mmsi = -1;  // positions of MMSIs <= this are clean in this sweep
  bool purge_positions_done = false;
  bool purge_raw_done = false;

  // Read side: its own connection, serialised by read_mutex.
  mutable std::mutex read_mutex;
  DbPtr reader;
  StmtPtr read_latest, read_track, read_track_motion, count_track, read_vessels, read_area;
  StmtPtr read_track_page;  // track_page(), positions_page(): seq first, then the fix columns
  StmtPtr read_next_mmsi;   // positions_page(): the next MMSI with positions, through the primary key
  StmtPtr read_setting;

  // save_setting(): its own connection, so any thread may save without touching the writer's.
  mutable std::mutex settings_mutex;
  DbPtr settings_db;
  StmtPtr save_setting_stmt;

  [[noreturn]] void fail(std::string_view action, sqlite3* db, int rc) const {
    throw_sqlite(config.path, action, db, rc);
  }

  StmtPtr prepare(sqlite3* db, const std::string& sql) const {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size() + 1),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) fail("prepare statements for", db, rc);
    return StmtPtr(stmt);
  }

  void exec(sqlite3* db, const char* sql, std::string_view action) const {
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(action, db, rc);
  }

  // Runs a single-value query (PRAGMAs) and returns the first column of the first row as text.
  std::string query_text(sqlite3* db, const char* sql, std::string_view action) const {
    StmtPtr stmt = prepare(db, sql);
    const int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) return {};
    if (rc != SQLITE_ROW) fail(action, db, rc);
    return col_text(stmt.get(), 0).value_or("");
  }

  int user_version(sqlite3* db) const {
    StmtPtr stmt = prepare(db, "PRAGMA user_version");
    const int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_ROW) fail("read the schema version of", db, rc);
    return sqlite3_column_int(stmt.get(), 0);
  }

  DbPtr open(int flags) const {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(config.path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    DbPtr db(raw);  // closes the handle SQLite returns even on failure
    if (rc != SQLITE_OK) fail("open", db.get(), rc);
    sqlite3_extended_result_codes(db.get(), 1);
    const auto busy_ms = std::clamp<TimeMs>(config.busy_timeout_ms, 0, std::numeric_limits<int>::max());
    sqlite3_busy_timeout(db.get(), static_cast<int>(busy_ms));
    return db;
  }

  void refuse_newer(int version) const {
    if (version < 0) {  // also keeps the migration loop from indexing before kMigrations
      throw StoreError("cannot open database '" + config.path + "': its schema version " +
                       std::to_string(version) +
                       " is not one aistrack writes; point DB_PATH at an aistrack database or a new file");
    }
    if (version <= Store::kSchemaVersion) return;
    throw StoreError("cannot open database '" + config.path + "': its schema version " +
                     std::to_string(version) + " is newer than version " +
                     std::to_string(Store::kSchemaVersion) +
                     " that this aistrack supports; upgrade aistrack or point DB_PATH at another file");
  }

  void open_writer() {
    writer = open(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3* db = writer.get();
    // Check the version before anything writes to the file (journal_mode=WAL changes its header).
    refuse_newer(user_version(db));
    const std::string mode = query_text(db, "PRAGMA journal_mode=WAL", "enable WAL on");
    if (mode != "wal") {
      throw StoreError("cannot enable WAL on database '" + config.path + "' (journal mode is '" + mode +
                       "'); use a file on a local file system (not :memory:, not a network share)");
    }
    exec(db, config.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", "configure");
    // Checkpoints do not shrink the WAL file; this truncates it after one that grew past 64 MiB.
    exec(db, "PRAGMA journal_size_limit=67108864", "configure");
    // A checkpoint copies every page the WAL holds back into the file. At SQLite's default (every
    // 1000 pages, ~4 MB) a 10,000-row batch of a fleet checkpoints after nearly every commit, and
    // the pages a fleet touches in every batch (one per vessel in the clustered positions table)
    // are copied again each time. Checkpointing every `checkpoint_mib` copies each such page once
    // per checkpoint instead: inserts ran ~2x as fast in aistrack-bench-schema (docs/PERFORMANCE.md).
    const std::string page_size = query_text(db, "PRAGMA page_size", "configure");
    std::size_t page_bytes = 4096;
    std::from_chars(page_size.data(), page_size.data() + page_size.size(), page_bytes);
    page_bytes = std::max<std::size_t>(512, page_bytes);
    const std::size_t checkpoint_pages =
        std::max<std::size_t>(1, config.checkpoint_mib * 1024 * 1024 / page_bytes);
    exec(db, ("PRAGMA wal_autocheckpoint=" + std::to_string(checkpoint_pages)).c_str(), "configure");
    // A batch touches index pages all over the file; a larger page cache keeps them between
    // batches (SQLite's default is 2 MiB).
    exec(db, ("PRAGMA cache_size=-" + std::to_string(config.cache_mib * 1024)).c_str(), "configure");
    migrate(db);
  }

  void migrate(sqlite3* db) const {
    if (user_version(db) == Store::kSchemaVersion) return;
    // IMMEDIATE: take the write lock first so two processes cannot both migrate.
    exec(db, "BEGIN IMMEDIATE", "start the schema migration of");
    try {
      const int version = user_version(db);  // re-read under the lock
      refuse_newer(version);
      for (int v = version; v < Store::kSchemaVersion; ++v) {
        exec(db, kMigrations[v], "migrate the schema of");
      }
      const std::string set_version = "PRAGMA user_version=" + std::to_string(Store::kSchemaVersion);
      exec(db, set_version.c_str(), "migrate the schema of");
      exec(db, "COMMIT", "commit the schema migration of");
    } catch (...) {
      if (sqlite3_get_autocommit(db) == 0) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  void prepare_writer() {
    sqlite3* db = writer.get();
    payload_limit = static_cast<std::size_t>(sqlite3_limit(db, SQLITE_LIMIT_LENGTH, -1));
    begin = prepare(db, "BEGIN IMMEDIATE");
    commit = prepare(db, "COMMIT");
    rollback = prepare(db, "ROLLBACK");
    std::string cols = "mmsi";
    for (const char* c : kFixColumns) cols.append(", ").append(c);
    cols += ", seq";
    insert_position = prepare(
        db, "INSERT INTO positions (" + cols + ") VALUES (" + placeholders(2 + kFixColumnCount) + ")");
    next_seq = prepare(db, "SELECT coalesce(max(seq) + 1, 0) FROM positions WHERE mmsi = ?1 AND ts_ms = ?2");
    // Binds like insert_position (mmsi, then kFixColumns from ?2); IS compares NULLs as equal.
    std::string same = "SELECT 1 FROM positions WHERE mmsi = ?1";
    for (int i = 0; i < kFixColumnCount; ++i) {
      same.append(" AND ").append(kFixColumns[i]).append(" IS ?").append(std::to_string(i + 2));
    }
    same_row_stored = prepare(db, same + " LIMIT 1");
    upsert_vessel = prepare(db, upsert_vessel_sql(SqlDialect::sqlite));
    insert_raw =
        prepare(db, "INSERT INTO raw_messages (received_ms, source, mmsi, payload) VALUES (?1, ?2, ?3, ?4)");
    purge_next_mmsi = prepare(db, "SELECT mmsi FROM positions WHERE mmsi > ?1 ORDER BY mmsi LIMIT 1");
    // Each listed key is one primary-key lookup; the subquery is a range of the same key.
    purge_positions = prepare(db,
                              "DELETE FROM positions WHERE (mmsi, ts_ms, seq) IN (SELECT mmsi, ts_ms, seq "
                              "FROM positions WHERE mmsi = ?1 AND ts_ms < ?2 ORDER BY ts_ms, seq LIMIT ?3)");
    purge_raw_scan = prepare(db, "SELECT rowid, received_ms FROM raw_messages ORDER BY rowid LIMIT ?1");
    purge_raw_delete = prepare(db, "DELETE FROM raw_messages WHERE rowid BETWEEN ?1 AND ?2");
  }

  void open_reader() {
    // Opened after the writer made the schema; read-only so a query can never take the write lock.
    reader = open(SQLITE_OPEN_READONLY);
    // SQLite's default 2 MiB holds less than one vessel's day (43,200 rows, ~2.5 MB): with it,
    // every such read fetches all its pages from the OS again.
    exec(reader.get(), ("PRAGMA cache_size=-" + std::to_string(config.read_cache_mib * 1024)).c_str(),
         "configure");
    const std::string cols = vessel_column_list();
    read_latest = prepare(reader.get(), "SELECT " + cols + " FROM vessels WHERE mmsi = ?1");
    read_vessels =
        prepare(reader.get(),
                "SELECT " + cols + " FROM vessels WHERE last_seen_ms >= ?1 ORDER BY last_seen_ms, mmsi");
    const std::string fix_cols = std::string(kMotionColumns) + ", " + kOtherColumns;
    // All read one range of the primary key (mmsi, ts_ms, seq) in key order: no sort, no second
    // lookup (Store::track_query_plan shows it).
    const std::string range = " FROM positions WHERE mmsi = ?1 AND ts_ms BETWEEN ?2 AND ?3 ";
    read_track = prepare(reader.get(), "SELECT " + fix_cols + range + "ORDER BY ts_ms, seq LIMIT ?4");
    read_track_motion = prepare(
        reader.get(), std::string("SELECT ") + kMotionColumns + range + "ORDER BY ts_ms, seq LIMIT ?4");
    // Counts at most ?4 rows, so a small limit over a long window does not walk the whole window.
    count_track = prepare(reader.get(), "SELECT count(*) FROM (SELECT 1" + range + "LIMIT ?4)");
    // ?2 is max(from, cursor time) so the range starts at the cursor; the OR skips the rows of the
    // cursor's own millisecond up to its seq.
    read_track_page = prepare(reader.get(), "SELECT seq, " + fix_cols + range +
                                                "AND (ts_ms > ?4 OR seq > ?5) ORDER BY ts_ms, seq LIMIT ?6");
    read_next_mmsi =
        prepare(reader.get(), "SELECT mmsi FROM positions WHERE mmsi > ?1 ORDER BY mmsi LIMIT 1");
    read_setting = prepare(reader.get(), "SELECT value FROM settings WHERE key = ?1");
    // No spatial index in SQLite: a scan of the positions in key order that stops at the limit. A box
    // across the antimeridian (min_lon > max_lon) takes the two sides of it.
    read_area =
        prepare(reader.get(),
                "SELECT mmsi, " + fix_cols +
                    " FROM positions WHERE ts_ms BETWEEN ?1 AND ?2 AND lat_deg BETWEEN ?3 AND ?4 AND "
                    "(CASE WHEN ?5 <= ?6 THEN lon_deg BETWEEN ?5 AND ?6 ELSE lon_deg >= ?5 OR lon_deg <= "
                    "?6 END) ORDER BY mmsi, ts_ms, seq LIMIT ?7");
  }

  std::vector<std::string> plan_of(std::initializer_list<const StmtPtr*> statements) const;

  // ---- writing --------------------------------------------------------------------------------

  // Steps a write statement to completion and resets it; returns the step's result code.
  static int run(sqlite3_stmt* stmt) noexcept {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc;
  }

  // Writes one batch in a transaction; on failure rolls back and throws.
  std::size_t write_batch(const Batch& batch) {
    sqlite3* db = writer.get();
    std::size_t duplicates = 0;
    int rc = run(begin.get());
    if (rc == SQLITE_DONE) rc = write_rows(batch, duplicates);
    if (rc == SQLITE_DONE) rc = run(commit.get());
    if (rc != SQLITE_DONE) {
      const std::string msg = sqlite_message(db, rc);  // before ROLLBACK replaces it
      if (sqlite3_get_autocommit(db) == 0) run(rollback.get());
      throw StoreError(describe(config.path, "write to", msg, rc));
    }
    return duplicates;
  }

  // Whether a row equal in every column to `row` is stored (its key was taken by an earlier batch).
  int stored_identical(const BatchPosition& row, bool& found) {
    sqlite3_stmt* same = same_row_stored.get();
    sqlite3_bind_int64(same, 1, row.mmsi);
    bind_fix(same, 2, *row.fix);
    const int rc = sqlite3_step(same);
    found = rc == SQLITE_ROW;
    sqlite3_reset(same);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_DONE : rc;
  }

  // Binds by index into statements prepared once; returns SQLITE_DONE or the failing code.
  int write_rows(const Batch& batch, std::size_t& duplicates) {
    // The batch's seq numbers equal (mmsi, ts_ms) keys 0, 1, … in arrival order, which is right
    // unless an earlier batch already holds the key; then the primary key refuses the row, and it is
    // either the same row again (skipped: a report ingested twice) or goes after the largest stored
    // seq. That costs lookups only for such rows (rare: a late duplicate), not per row.
    sqlite3_stmt* pos = insert_position.get();
    constexpr int kSeqParam = 2 + kFixColumnCount;
    std::int64_t shift = 0;  // added to the batch's seq for the rest of a key once it collided
    const BatchPosition* prev = nullptr;
    for (const BatchPosition& row : batch.positions) {
      if (prev == nullptr || prev->mmsi != row.mmsi || prev->fix->ts_ms != row.fix->ts_ms) shift = 0;
      prev = &row;
      sqlite3_bind_int64(pos, 1, row.mmsi);
      bind_fix(pos, 2, *row.fix);
      sqlite3_bind_int64(pos, kSeqParam, row.seq + shift);
      int rc = run(pos);
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        bool found = false;
        if (rc = stored_identical(row, found); rc != SQLITE_DONE) return rc;
        if (found) {
          ++duplicates;
          --shift;  // the next distinct row of this key takes the seq this one would have had
          continue;
        }
        sqlite3_stmt* next = next_seq.get();
        sqlite3_bind_int64(next, 1, row.mmsi);
        sqlite3_bind_int64(next, 2, row.fix->ts_ms);
        rc = sqlite3_step(next);
        const std::int64_t seq = sqlite3_column_int64(next, 0);
        sqlite3_reset(next);
        if (rc != SQLITE_ROW) return rc;
        shift = seq - row.seq;
        sqlite3_bind_int64(pos, kSeqParam, seq);
        rc = run(pos);
      }
      if (rc != SQLITE_DONE) return rc;
    }
    sqlite3_stmt* ves = upsert_vessel.get();
    for (const VesselState& v : batch.vessels) {
      bind_vessel(ves, v);
      const int rc = run(ves);
      sqlite3_clear_bindings(ves);  // the bound strings belong to `v`
      if (rc != SQLITE_DONE) return rc;
    }
    sqlite3_stmt* raw = insert_raw.get();
    for (const BatchRaw& r : batch.raws) {
      sqlite3_bind_int64(raw, 1, r.received_ms);
      sqlite3_bind_int(raw, 2, static_cast<int>(r.source));
      if (r.mmsi != 0) {
        sqlite3_bind_int64(raw, 3, r.mmsi);
      } else {
        sqlite3_bind_null(raw, 3);
      }
      sqlite3_bind_text(raw, 4, r.payload.data(), static_cast<int>(r.payload.size()), SQLITE_STATIC);
      if (const int rc = run(raw); rc != SQLITE_DONE) return rc;
    }
    return SQLITE_DONE;
  }

  static void bind_vessel(sqlite3_stmt* s, const VesselState& v) {
    sqlite3_bind_int64(s, kVesselMmsi, v.mmsi);
    sqlite3_bind_int(s, kVesselStation, static_cast<int>(v.station));
    const StaticData& sd = v.static_data;
    int i = kVesselStaticFirst;
    bind_opt(s, i++, sd.name);
    bind_opt(s, i++, sd.callsign);
    bind_opt_int(s, i++, sd.imo);
    bind_opt_int(s, i++, sd.ship_type ? std::optional<int>(sd.ship_type->code) : std::nullopt);
    if (sd.dimensions) {
      sqlite3_bind_int(s, i++, sd.dimensions->to_bow_m);
      sqlite3_bind_int(s, i++, sd.dimensions->to_stern_m);
      sqlite3_bind_int(s, i++, sd.dimensions->to_port_m);
      sqlite3_bind_int(s, i++, sd.dimensions->to_starboard_m);
    } else {
      for (int k = 0; k < 4; ++k) sqlite3_bind_null(s, i++);
    }
    if (sd.eta) {
      sqlite3_bind_int(s, i++, sd.eta->month);
      sqlite3_bind_int(s, i++, sd.eta->day);
      bind_opt_int(s, i++, sd.eta->hour);
      bind_opt_int(s, i++, sd.eta->minute);
    } else {
      for (int k = 0; k < 4; ++k) sqlite3_bind_null(s, i++);
    }
    bind_opt(s, i++, sd.draught_m);
    bind_opt(s, i++, sd.destination);
    bind_opt_int(s, i++, sd.aton_type);
    bind_opt_int(s, kVesselStaticTs, v.static_ts_ms);
    if (v.position) {
      bind_fix(s, kVesselFixFirst, *v.position);
    } else {
      bind_null_fix(s, kVesselFixFirst);
    }
    sqlite3_bind_int64(s, kVesselLastSeen, v.last_seen_ms);
  }

  // ---- retention ------------------------------------------------------------------------------

  // One purge transaction: positions per MMSI through the (mmsi, ts_ms) index, then raw rows
  // from the start of arrival order. Returns rows deleted; advances the sweep state.
  std::size_t purge_transaction(TimeMs cutoff_ms, std::size_t max_rows) {
    sqlite3* db = writer.get();
    if (const int rc = run(begin.get()); rc != SQLITE_DONE) fail("start a purge of", db, rc);
    // Restored on failure: the rollback undoes the deletes, so the sweep must revisit them.
    const auto saved_cursor = purge_cursor_mmsi;
    const bool saved_positions_done = purge_positions_done;
    const bool saved_raw_done = purge_raw_done;
    std::size_t deleted = 0;
    std::size_t visits = 0;
    int rc = SQLITE_DONE;
    while (deleted < max_rows && !purge_positions_done && visits < kPurgeVisitsPerTransaction) {
      sqlite3_stmt* next = purge_next_mmsi.get();
      sqlite3_bind_int64(next, 1, purge_cursor_mmsi);
      rc = sqlite3_step(next);
      const sqlite3_int64 mmsi = rc == SQLITE_ROW ? sqlite3_column_int64(next, 0) : 0;
      sqlite3_reset(next);
      if (rc == SQLITE_DONE) {
        purge_positions_done = true;
        break;
      }
      if (rc != SQLITE_ROW) break;
      ++visits;
      const std::size_t limit = max_rows - deleted;
      sqlite3_stmt* del = purge_positions.get();
      sqlite3_bind_int64(del, 1, mmsi);
      sqlite3_bind_int64(del, 2, cutoff_ms);
      sqlite3_bind_int64(del, 3, static_cast<sqlite3_int64>(limit));
      rc = run(del);
      if (rc != SQLITE_DONE) break;
      const auto n = static_cast<std::size_t>(sqlite3_changes(db));
      deleted += n;
      // Fewer than asked: nothing older is left for this MMSI, move on; else resume here next time.
      if (n < limit) purge_cursor_mmsi = mmsi;
    }
    if (rc == SQLITE_DONE && purge_positions_done && !purge_raw_done && deleted < max_rows) {
      rc = purge_raw(cutoff_ms, max_rows - deleted, deleted);
    }
    if (rc == SQLITE_DONE) rc = run(commit.get());
    if (rc != SQLITE_DONE) {
      const std::string msg = sqlite_message(db, rc);
      if (sqlite3_get_autocommit(db) == 0) run(rollback.get());
      purge_cursor_mmsi = saved_cursor;
      purge_positions_done = saved_positions_done;
      purge_raw_done = saved_raw_done;
      throw StoreError(describe(config.path, "purge old rows from", msg, rc));
    }
    return deleted;
  }

  // Deletes the leading run of raw rows older than the cutoff (at most `limit`); a row at or after
  // the cutoff ends the run, so a late straggler waits for a later sweep rather than costing a scan.
  int purge_raw(TimeMs cutoff_ms, std::size_t limit, std::size_t& deleted) {
    sqlite3_stmt* scan = purge_raw_scan.get();
    sqlite3_bind_int64(scan, 1, static_cast<sqlite3_int64>(limit));
    std::optional<sqlite3_int64> first_rowid;
    sqlite3_int64 last_rowid = 0;
    std::size_t scanned = 0;
    bool reached_new = false;
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(scan)) == SQLITE_ROW) {
      if (sqlite3_column_int64(scan, 1) >= cutoff_ms) {
        reached_new = true;
        break;
      }
      last_rowid = sqlite3_column_int64(scan, 0);
      if (!first_rowid) first_rowid = last_rowid;
      ++scanned;
    }
    sqlite3_reset(scan);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return rc;
    if (first_rowid) {
      sqlite3_stmt* del = purge_raw_delete.get();
      sqlite3_bind_int64(del, 1, *first_rowid);
      sqlite3_bind_int64(del, 2, last_rowid);
      rc = run(del);
      if (rc != SQLITE_DONE) return rc;
      deleted += static_cast<std::size_t>(sqlite3_changes(writer.get()));
    }
    if (reached_new || scanned < limit) purge_raw_done = true;
    return SQLITE_DONE;
  }

  // ---- reading --------------------------------------------------------------------------------

  [[noreturn]] void read_failed(int rc) const { fail("read", reader.get(), rc); }

  // Binds mmsi, from_ms, to_ms as ?1..?3 (the range every track statement starts with).
  static void bind_range(sqlite3_stmt* s, Mmsi mmsi, TimeMs from_ms, TimeMs to_ms) {
    sqlite3_bind_int64(s, 1, mmsi);
    sqlite3_bind_int64(s, 2, from_ms);
    sqlite3_bind_int64(s, 3, to_ms);
  }

  // Binds a row limit, clamped to SQLite's integer range.
  static void bind_limit(sqlite3_stmt* s, int param, std::size_t limit) {
    const auto max_limit = static_cast<std::size_t>(std::numeric_limits<sqlite3_int64>::max());
    sqlite3_bind_int64(s, param, static_cast<sqlite3_int64>(std::min(limit, max_limit)));
  }

  // Calls `visit` with each position of the range, oldest first, at most `limit`; the caller
  // holds read_mutex. Returns how many it visited.
  template <class Visit>
  std::size_t scan_track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, std::size_t limit, TrackFields fields,
                         Visit&& visit) const {
    sqlite3_stmt* s = fields == TrackFields::all ? read_track.get() : read_track_motion.get();
    const ResetOnExit reset(s);
    bind_range(s, mmsi, from_ms, to_ms);
    bind_limit(s, 4, limit);
    std::size_t visited = 0;
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      visit(read_position(s, 0, fields));
      ++visited;
    }
    if (rc != SQLITE_DONE) read_failed(rc);
    return visited;
  }

  // Rows in the range now, at most `limit`: what track() reserves, so a day of fixes is one
  // allocation instead of a dozen reallocations and copies (the vector is ~4 MB, and fresh pages
  // are expensive).
  std::size_t count_range(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, std::size_t limit) const {
    sqlite3_stmt* s = count_track.get();
    const ResetOnExit reset(s);
    bind_range(s, mmsi, from_ms, to_ms);
    bind_limit(s, 4, limit);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) read_failed(rc);
    return static_cast<std::size_t>(std::max<sqlite3_int64>(sqlite3_column_int64(s, 0), 0));
  }
};

// ---- SqliteBackend ------------------------------------------------------------------------------

std::size_t SqliteBackend::write(const Batch& batch) { return write_batch(batch); }

std::vector<PositionRow> SqliteBackend::area_positions(const GeoBox& box, TimeMs from_ms, TimeMs to_ms,
                                                       std::size_t limit) const {
  std::vector<PositionRow> out;
  const std::lock_guard lock(read_mutex);
  sqlite3_stmt* s = read_area.get();
  const ResetOnExit reset(s);
  sqlite3_bind_int64(s, 1, from_ms);
  sqlite3_bind_int64(s, 2, to_ms);
  sqlite3_bind_double(s, 3, box.min_lat_deg);
  sqlite3_bind_double(s, 4, box.max_lat_deg);
  sqlite3_bind_double(s, 5, box.min_lon_deg);
  sqlite3_bind_double(s, 6, box.max_lon_deg);
  bind_limit(s, 7, limit);
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    out.push_back(PositionRow{col_int<Mmsi>(s, 0).value_or(0), read_position(s, 1, TrackFields::all)});
  }
  if (rc != SQLITE_DONE) read_failed(rc);
  return out;
}

std::vector<std::string> SqliteBackend::area_query_plan() const { return plan_of({&read_area}); }

std::optional<VesselState> SqliteBackend::latest(Mmsi mmsi) const {
  const SqliteBackend& im = *this;
  const std::lock_guard lock(im.read_mutex);
  sqlite3_stmt* s = im.read_latest.get();
  const ResetOnExit reset(s);
  sqlite3_bind_int64(s, 1, mmsi);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) im.read_failed(rc);
  return read_vessel(s);
}

std::vector<PositionFix> SqliteBackend::track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms,
                                              std::size_t limit) const {
  const SqliteBackend& im = *this;
  std::vector<PositionFix> out;
  const std::lock_guard lock(im.read_mutex);
  // A hint only: a commit between the two statements can add rows, and push_back still grows.
  out.reserve(im.count_range(mmsi, from_ms, to_ms, limit));
  im.scan_track(mmsi, from_ms, to_ms, limit, TrackFields::all,
                [&](const PositionFix& f) { out.push_back(f); });
  return out;
}

TrackPage SqliteBackend::track_page(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, std::optional<TrackCursor> after,
                                    std::size_t limit) const {
  const SqliteBackend& im = *this;
  TrackPage out;
  constexpr auto kMin = std::numeric_limits<sqlite3_int64>::min();
  const std::lock_guard lock(im.read_mutex);
  sqlite3_stmt* s = im.read_track_page.get();
  const ResetOnExit reset(s);
  SqliteBackend::bind_range(s, mmsi, after ? std::max(from_ms, after->ts_ms) : from_ms, to_ms);
  sqlite3_bind_int64(s, 4, after ? after->ts_ms : kMin);
  sqlite3_bind_int64(s, 5, after ? after->seq : kMin);
  // One row more than asked says whether another page follows.
  const auto max_limit = static_cast<std::size_t>(std::numeric_limits<sqlite3_int64>::max()) - 1;
  sqlite3_bind_int64(s, 6, static_cast<sqlite3_int64>(std::min(limit, max_limit) + 1));
  std::optional<TrackCursor> last;
  std::size_t rows = 0;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (rows == limit) {
      out.next = last;  // a row beyond the page exists
      break;
    }
    ++rows;
    out.fixes.push_back(read_position(s, 1, TrackFields::all));
    last = TrackCursor{sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 0)};
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) im.read_failed(rc);
  return out;
}

PositionsPage SqliteBackend::positions_page(TimeMs from_ms, TimeMs to_ms, const std::vector<Mmsi>& mmsi,
                                            std::optional<PositionsCursor> after, std::size_t limit) const {
  const SqliteBackend& im = *this;
  PositionsPage out;
  constexpr auto kMin = std::numeric_limits<sqlite3_int64>::min();
  constexpr auto kMax = std::numeric_limits<sqlite3_int64>::max();
  // Vessels visited per page: with a large fleet and few recent rows, a page ends early rather than
  // holding the read lock for a walk over every MMSI.
  constexpr std::size_t kMaxVisits = 1000;
  const std::lock_guard lock(im.read_mutex);
  // The first vessel after `m` that has positions (any time), or nullopt at the end.
  auto next_mmsi = [&](std::optional<Mmsi> m) -> std::optional<Mmsi> {
    if (!mmsi.empty()) {
      const auto it = m ? std::upper_bound(mmsi.begin(), mmsi.end(), *m) : mmsi.begin();
      return it == mmsi.end() ? std::nullopt : std::optional<Mmsi>(*it);
    }
    sqlite3_stmt* s = im.read_next_mmsi.get();
    const ResetOnExit reset(s);
    sqlite3_bind_int64(s, 1, m ? static_cast<sqlite3_int64>(*m) : -1);
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::nullopt;
    if (rc != SQLITE_ROW) im.read_failed(rc);
    return col_int<Mmsi>(s, 0);
  };
  std::optional<Mmsi> current = after ? std::optional<Mmsi>(after->mmsi) : next_mmsi(std::nullopt);
  std::optional<PositionsCursor> within = after;  // resume point inside `current`
  std::size_t visits = 0;
  while (current && out.rows.size() < limit) {
    if (visits++ == kMaxVisits) {
      out.next = PositionsCursor{*current, kMax, kMax};  // resume after the vessel visited last
      return out;
    }
    const Mmsi m = *current;
    const std::size_t want = limit - out.rows.size();
    sqlite3_stmt* s = im.read_track_page.get();
    {
      const ResetOnExit reset(s);
      sqlite3_bind_int64(s, 1, m);
      sqlite3_bind_int64(s, 2, within ? std::max(from_ms, within->ts_ms) : from_ms);
      sqlite3_bind_int64(s, 3, to_ms);
      sqlite3_bind_int64(s, 4, within ? within->ts_ms : kMin);
      sqlite3_bind_int64(s, 5, within ? within->seq : kMin);
      sqlite3_bind_int64(s, 6, static_cast<sqlite3_int64>(std::min<std::size_t>(want, kMax - 1)));
      std::size_t rows = 0;
      int rc = SQLITE_ROW;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        ++rows;
        const PositionsCursor c{m, sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 0)};
        out.rows.push_back(PositionRow{m, read_position(s, 1, TrackFields::all)});
        out.next = c;
      }
      if (rc != SQLITE_DONE) im.read_failed(rc);
      if (rows == want) return out;  // full: `next` resumes after the last row (the next page may be empty)
    }
    within.reset();
    current = next_mmsi(m);
  }
  out.next.reset();  // every vessel walked to its end
  return out;
}

std::optional<std::string> SqliteBackend::load_setting(std::string_view key) const {
  const SqliteBackend& im = *this;
  const std::lock_guard lock(im.read_mutex);
  sqlite3_stmt* s = im.read_setting.get();
  const ResetOnExit reset(s);
  sqlite3_bind_text(s, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) im.read_failed(rc);
  return col_text(s, 0);
}

void SqliteBackend::save_setting(std::string_view key, std::string_view value) {
  SqliteBackend& im = *this;
  const std::lock_guard lock(im.settings_mutex);
  if (!im.settings_db) {
    im.settings_db = im.open(SQLITE_OPEN_READWRITE);
    im.save_setting_stmt = im.prepare(im.settings_db.get(),
                                      "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) "
                                      "DO UPDATE SET value = excluded.value");
  }
  sqlite3_stmt* s = im.save_setting_stmt.get();
  sqlite3_bind_text(s, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  sqlite3_bind_text(s, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  const int rc = SqliteBackend::run(s);
  sqlite3_clear_bindings(s);
  if (rc != SQLITE_DONE) im.fail("save a setting to", im.settings_db.get(), rc);
}

std::size_t SqliteBackend::visit_track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, std::size_t limit,
                                       const std::function<void(const PositionFix&)>& visit,
                                       TrackFields fields) const {
  const SqliteBackend& im = *this;
  const std::lock_guard lock(im.read_mutex);
  return im.scan_track(mmsi, from_ms, to_ms, limit, fields, visit);
}

std::vector<std::string> SqliteBackend::track_query_plan() const {
  return plan_of({&read_track, &read_track_motion, &read_track_page});
}

std::vector<std::string> SqliteBackend::plan_of(std::initializer_list<const StmtPtr*> statements) const {
  std::vector<std::string> out;
  const std::lock_guard lock(read_mutex);
  for (const StmtPtr* stmt : statements) {
    const std::string sql = std::string("EXPLAIN QUERY PLAN ") + sqlite3_sql(stmt->get());
    StmtPtr plan = prepare(reader.get(), sql);
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(plan.get())) == SQLITE_ROW) out.push_back(col_text(plan.get(), 3).value_or(""));
    if (rc != SQLITE_DONE) read_failed(rc);
  }
  return out;
}

std::vector<VesselState> SqliteBackend::vessels(TimeMs seen_since_ms) const {
  const SqliteBackend& im = *this;
  std::vector<VesselState> out;
  const std::lock_guard lock(im.read_mutex);
  sqlite3_stmt* s = im.read_vessels.get();
  const ResetOnExit reset(s);
  sqlite3_bind_int64(s, 1, seen_since_ms);
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(read_vessel(s));
  if (rc != SQLITE_DONE) im.read_failed(rc);
  return out;
}

std::size_t SqliteBackend::purge_step(TimeMs cutoff_ms, std::size_t max_rows) {
  SqliteBackend& im = *this;
  std::size_t deleted = 0;
  // Transactions stay short; keep going while they only walk clean MMSIs, so 0 still means "done".
  while (deleted == 0 && !(im.purge_positions_done && im.purge_raw_done)) {
    deleted = im.purge_transaction(cutoff_ms, max_rows);
  }
  if (deleted == 0) {  // sweep finished: the next call starts a new one from the first MMSI
    im.purge_cursor_mmsi = -1;
    im.purge_positions_done = false;
    im.purge_raw_done = false;
    return 0;
  }
  return deleted;
}

int SqliteBackend::schema_version() const {
  const SqliteBackend& im = *this;
  const std::lock_guard lock(im.read_mutex);
  return im.user_version(im.reader.get());
}

std::string SqliteBackend::check() const {
  const SqliteBackend& im = *this;
  const std::lock_guard lock(im.read_mutex);
  StmtPtr stmt = im.prepare(im.reader.get(), "PRAGMA quick_check");
  std::string out;
  int rc = SQLITE_ROW;
  // quick_check returns "ok" or one row per problem; join them so nothing is hidden.
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    if (!out.empty()) out += '\n';
    out += col_text(stmt.get(), 0).value_or("");
  }
  if (rc != SQLITE_DONE) im.read_failed(rc);
  return out;
}

std::unique_ptr<StoreBackend> open_sqlite_backend(const StoreConfig& config) {
  return std::make_unique<SqliteBackend>(config);
}

}  // namespace aistrack::detail
