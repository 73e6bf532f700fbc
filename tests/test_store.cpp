// Store against real databases: SQLite files in a temporary directory and, where the test harness can
// start one, a real PostgreSQL (one schema per test). The tests that call store_backend_subcase() run
// once per backend (issue #9: one suite for both); the rest test SQLite's own file handling
// (schema migration, WAL, locking). Batching, merging of vessel rows, queries, retention, the raw
// archive, duplicates and failing commits.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <aistrack/store.hpp>

#include "store_targets.hpp"
#include "support.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using aistrack::Mmsi;
using aistrack::PositionFix;
using aistrack::Store;
using aistrack::StoreConfig;
using aistrack::StoreError;
using aistrack::TimeMs;
using aistrack::VesselState;
using aistrack::test::count_in;
using aistrack::test::exec_in;
using aistrack::test::fresh_store_config;
using aistrack::test::store_backend_subcase;
using aistrack::test::TempDir;

// A second, independent connection to the same file, as another process would have.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      FAIL("cannot open " << path << ": " << sqlite3_errmsg(db_));
    }
    sqlite3_busy_timeout(db_, 2000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    const std::string msg = err != nullptr ? err : "";
    sqlite3_free(err);
    REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << msg);
  }
  // First column of the first row as text ("" for no row or NULL).
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE_MESSAGE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK,
                    sql << ": " << sqlite3_errmsg(db_));
    std::string out;
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    REQUIRE_MESSAGE((rc == SQLITE_ROW || rc == SQLITE_DONE), sql << ": " << sqlite3_errstr(rc));
    return out;
  }
  std::int64_t integer(const std::string& sql) { return std::stoll("0" + text(sql)); }

 private:
  sqlite3* db_ = nullptr;
};

StoreConfig config_in(const TempDir& dir, std::size_t batch_rows = 1000, TimeMs batch_ms = 1000) {
  StoreConfig c;
  c.path = (dir / "ais.db").string();
  c.batch_rows = batch_rows;
  c.batch_ms = batch_ms;
  return c;
}

PositionFix fix_at(TimeMs ts_ms, double lat_deg = 59.0, double lon_deg = 10.0) {
  PositionFix f;
  f.ts_ms = ts_ms;
  f.latlon = {lat_deg, lon_deg};
  f.sog_kn = 12.5;
  f.cog_deg = 271.5;
  f.heading_deg = 270;
  f.nav_status = aistrack::NavStatus::under_way_using_engine;
  f.rot_deg_min = -3.5;
  f.ais_type = 1;
  f.source = aistrack::Source::aisstream;
  return f;
}

VesselState vessel_at(Mmsi mmsi, TimeMs last_seen_ms, std::optional<TimeMs> fix_ts_ms) {
  VesselState v;
  v.mmsi = mmsi;
  v.last_seen_ms = last_seen_ms;
  if (fix_ts_ms) v.position = fix_at(*fix_ts_ms);
  return v;
}

std::string what_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const StoreError& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("store: a new file gets the current schema version, WAL and a clean check") {
  TempDir dir;
  const StoreConfig cfg = config_in(dir);
  Store store(cfg);
  CHECK(store.schema_version() == Store::kSchemaVersion);
  CHECK(store.path() == cfg.path);
  CHECK(store.check() == "ok");
  RawDb raw(cfg.path);
  CHECK(raw.integer("PRAGMA user_version") == Store::kSchemaVersion);
  CHECK(raw.text("PRAGMA journal_mode") == "wal");
  CHECK(raw.integer("SELECT count(*) FROM sqlite_master WHERE name IN "
                    "('positions', 'vessels', 'raw_messages')") == 3);
  // positions is clustered on its primary key (mmsi, ts_ms, seq) and has no other index: a ts
  // index would slow every insert.
  CHECK(raw.integer("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'positions'") ==
        0);
  CHECK(raw.text("SELECT sql FROM sqlite_master WHERE name = 'positions'").find("WITHOUT ROWID") !=
        std::string::npos);
}

TEST_CASE("store: synchronous_full opens and writes") {
  TempDir dir;
  StoreConfig cfg = config_in(dir, 2);
  cfg.synchronous_full = true;
  Store store(cfg);
  store.add_position(1, fix_at(1));
  store.add_position(1, fix_at(2));
  CHECK(store.track(1, 0, 10, 10).size() == 2);
}

TEST_CASE("store: reopening keeps data and the destructor flushes") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  const StoreConfig cfg = fresh_store_config(backend, dir);
  int version = 0;
  {
    Store store(cfg);
    version = store.schema_version();
    store.add_position(211'000'001, fix_at(1000));
    store.add_position(211'000'001, fix_at(2000));
    store.upsert_vessel(vessel_at(211'000'001, 2000, 2000));
    CHECK(store.stats().pending_rows == 3);
  }  // no flush(): the destructor commits
  Store again(cfg);
  CHECK(again.schema_version() == version);
  CHECK(again.track(211'000'001, 0, 10'000, 100).size() == 2);
  const auto v = again.latest(211'000'001);
  REQUIRE(v.has_value());
  CHECK(v->last_seen_ms == 2000);
}

TEST_CASE("store: a file with a newer schema version is refused and left untouched") {
  TempDir dir;
  const StoreConfig cfg = config_in(dir);
  const int newer = Store::kSchemaVersion + 1;
  {
    RawDb raw(cfg.path);
    raw.exec("PRAGMA user_version = " + std::to_string(newer));
  }
  const std::string msg = what_of([&] { Store store(cfg); });
  CHECK(msg.find(cfg.path) != std::string::npos);
  CHECK(msg.find("newer") != std::string::npos);
  CHECK(msg.find("upgrade aistrack") != std::string::npos);
  RawDb raw(cfg.path);
  CHECK(raw.integer("PRAGMA user_version") == newer);
  CHECK(raw.text("PRAGMA journal_mode") == "delete");
}

namespace {

// Schema version 1 exactly as aistrack wrote it before version 2 (src/store.cpp's first migration),
// so that a file made with it is what an upgrade finds on disk.
constexpr const char* kSchemaV1 = R"sql(
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
PRAGMA user_version = 1;
)sql";

std::string sql_real(std::optional<double> v) {
  if (!v) return "NULL";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", *v);  // round-trips every double
  return buf;
}

template <class Int>
std::string sql_int(std::optional<Int> v) {
  return v ? std::to_string(static_cast<long long>(*v)) : "NULL";
}

// The INSERT a version-1 aistrack ran for one fix.
std::string v1_insert(Mmsi mmsi, const PositionFix& f) {
  return "INSERT INTO positions (mmsi, ts_ms, lat_deg, lon_deg, sog_kn, cog_deg, heading_deg, nav_status, "
         "rot_deg_min, ais_type, source) VALUES (" +
         std::to_string(mmsi) + ", " + std::to_string(f.ts_ms) + ", " + sql_real(f.latlon.lat_deg) + ", " +
         sql_real(f.latlon.lon_deg) + ", " + sql_real(f.sog_kn) + ", " + sql_real(f.cog_deg) + ", " +
         sql_int(f.heading_deg) + ", " +
         sql_int(f.nav_status ? std::optional<int>(static_cast<int>(*f.nav_status)) : std::nullopt) + ", " +
         sql_real(f.rot_deg_min) + ", " + std::to_string(f.ais_type) + ", " +
         std::to_string(static_cast<int>(f.source)) + ");\n";
}

// Fix i of a version-1 fleet: times permuted against insertion order, every optional field
// sometimes missing, every source.
PositionFix v1_fix(Mmsi mmsi, int i) {
  PositionFix f;
  f.ts_ms = 1'700'000'000'000 + static_cast<TimeMs>((i * 7919) % 300) * 1000;
  f.latlon = {50.0 + i * 0.001 + static_cast<double>(mmsi % 10) * 0.1, -4.0 + i * 0.0013};
  if (i % 5 != 0) f.sog_kn = i * 0.1;
  if (i % 6 != 0) f.cog_deg = (i * 37) % 360 + 0.5;
  if (i % 7 != 0) f.heading_deg = static_cast<std::uint16_t>(i % 360);
  if (i % 3 != 0) f.nav_status = static_cast<aistrack::NavStatus>(i % 15);
  if (i % 4 != 0) f.rot_deg_min = -0.5 * i;
  f.ais_type = static_cast<std::uint8_t>(i % 2 == 0 ? 1 : 18);
  f.source = static_cast<aistrack::Source>(i % 4);
  return f;
}

}  // namespace

TEST_CASE("store: a version-1 file is migrated in place on open, every row kept, queries working") {
  TempDir dir;
  const StoreConfig cfg = config_in(dir);
  const Mmsi ships[] = {211'000'001, 244'700'923, 257'123'450};
  std::map<Mmsi, std::vector<PositionFix>> inserted;  // per vessel, in insertion (rowid) order
  std::string sql = std::string(kSchemaV1) + "BEGIN;\n";
  for (const Mmsi m : ships) {
    for (int i = 0; i < 300; ++i) {
      inserted[m].push_back(v1_fix(m, i));
      sql += v1_insert(m, inserted[m].back());
    }
  }
  // Three more reports of the first ship at the time of its fix 10, arriving last: two stations
  // heard one report, or a receiver stamped whole seconds. Version 1 kept them all, in rowid order.
  const TimeMs twin_ts = inserted[ships[0]][10].ts_ms;
  for (int k = 1; k <= 3; ++k) {
    PositionFix twin = inserted[ships[0]][10];
    twin.latlon.lat_deg += 1e-4 * k;
    twin.source = aistrack::Source::nmea;
    inserted[ships[0]].push_back(twin);
    sql += v1_insert(ships[0], twin);
  }
  sql +=
      "INSERT INTO vessels (mmsi, station_class, name, last_seen_ms, ts_ms, lat_deg, lon_deg, ais_type, "
      "source) "
      "VALUES (244700923, 1, 'ÆGIR', 1700000299000, 1700000299000, 59.5, 10.25, 18, 1);\n"
      "INSERT INTO raw_messages (received_ms, source, mmsi, payload) VALUES (1700000000000, 2, NULL, "
      "'!AIVDM');\n"
      "COMMIT;\n";
  {
    RawDb v1(cfg.path);
    v1.exec(sql);
    REQUIRE(v1.integer("PRAGMA user_version") == 1);
    REQUIRE(v1.integer("SELECT count(*) FROM positions") == 903);
  }

  Store store(cfg);
  CHECK(store.schema_version() == Store::kSchemaVersion);
  {
    RawDb raw(cfg.path);
    CHECK(raw.integer("PRAGMA user_version") == Store::kSchemaVersion);
    CHECK(raw.integer("SELECT count(*) FROM positions") == 903);
    CHECK(raw.integer(
              "SELECT count(*) FROM sqlite_master WHERE name IN ('positions_mmsi_ts', 'positions_v2')") == 0);
    CHECK(raw.text("SELECT sql FROM sqlite_master WHERE name = 'positions'").find("WITHOUT ROWID") !=
          std::string::npos);
    CHECK(raw.text("PRAGMA integrity_check") == "ok");
    // The twins keep their arrival (rowid) order as seq 0..3.
    CHECK(raw.text(
              "SELECT group_concat(seq) FROM (SELECT seq FROM positions WHERE mmsi = 211000001 AND ts_ms = " +
              std::to_string(twin_ts) + " ORDER BY lat_deg)") == "0,1,2,3");
    CHECK(raw.integer("SELECT count(*) FROM raw_messages") == 1);
  }
  CHECK(store.check() == "ok");
  // Step 2 -> 3 added the settings table (run-time watch list and areas).
  CHECK(!store.load_setting("watchlist"));
  store.save_setting("watchlist", "[244700923]");
  CHECK(store.load_setting("watchlist") == "[244700923]");

  // Every row, field for field, in time order; equal times in arrival order.
  for (const Mmsi m : ships) {
    std::vector<PositionFix> expected = inserted[m];
    std::stable_sort(expected.begin(), expected.end(),
                     [](const PositionFix& a, const PositionFix& b) { return a.ts_ms < b.ts_ms; });
    CAPTURE(m);
    CHECK(store.track(m, 0, std::numeric_limits<TimeMs>::max(), std::numeric_limits<std::size_t>::max()) ==
          expected);
    std::vector<PositionFix> paged;
    std::optional<aistrack::TrackCursor> after;
    int pages = 0;
    do {
      auto page = store.track_page(m, 0, std::numeric_limits<TimeMs>::max(), after, 7);
      paged.insert(paged.end(), page.fixes.begin(), page.fixes.end());
      after = page.next;
      REQUIRE(++pages < 100);
    } while (after);
    CHECK(paged == expected);
    std::size_t visited = 0;
    store.visit_track(m, expected[5].ts_ms, expected[20].ts_ms, 1000, [&](const PositionFix& f) {
      CHECK(f == expected[5 + visited]);
      ++visited;
    });
    CHECK(visited == 16);
  }
  const auto vessel = store.latest(244'700'923);
  REQUIRE(vessel.has_value());
  CHECK(vessel->static_data.name == "ÆGIR");
  REQUIRE(vessel->position.has_value());
  CHECK(vessel->position->latlon.lon_deg == 10.25);
  for (const std::string& step : store.track_query_plan()) {
    CAPTURE(step);
    CHECK(step.find("USING PRIMARY KEY (mmsi=? AND ts_ms>? AND ts_ms<?)") != std::string::npos);
  }

  // Writing continues after the last migrated seq, and retention walks the new key.
  PositionFix late = inserted[ships[0]][10];
  late.latlon.lat_deg = 61.0;
  store.add_position(ships[0], late);
  store.flush();
  const auto twins = store.track(ships[0], twin_ts, twin_ts, 10);
  REQUIRE(twins.size() == 5);
  CHECK(twins.back() == late);
  const TimeMs cutoff_ms = 1'700'000'150'000;
  while (store.purge_step(cutoff_ms, 100) > 0) {
  }
  RawDb raw(cfg.path);
  CHECK(raw.integer("SELECT count(*) FROM positions WHERE ts_ms < " + std::to_string(cutoff_ms)) == 0);
  CHECK(raw.integer("SELECT count(*) FROM positions") == 3 * 150 + (twin_ts >= cutoff_ms ? 4 : 0));
}

TEST_CASE("store: a failed migration rolls back, leaving the file at version 1 with every row") {
  TempDir dir;
  const StoreConfig cfg = config_in(dir);
  {
    RawDb v1(cfg.path);
    v1.exec(std::string(kSchemaV1) + v1_insert(211'000'001, v1_fix(211'000'001, 1)) +
            v1_insert(211'000'001, v1_fix(211'000'001, 2)) +
            // A table in the way of the migration's first statement makes the step fail.
            "CREATE TABLE positions_v2 (x INTEGER);");
  }
  const std::string msg = what_of([&] { Store store(cfg); });
  CHECK(msg.find(cfg.path) != std::string::npos);
  CHECK(msg.find("migrate") != std::string::npos);
  RawDb raw(cfg.path);
  CHECK(raw.integer("PRAGMA user_version") == 1);
  CHECK(raw.integer("SELECT count(*) FROM positions") == 2);
  CHECK(raw.integer("SELECT count(*) FROM sqlite_master WHERE name = 'positions_mmsi_ts'") == 1);
  CHECK(raw.text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("store: fixes of one vessel with the same time are all kept, in arrival order, across batches") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  const StoreConfig cfg = fresh_store_config(backend, dir);
  Store store(cfg);
  const Mmsi m = 244'700'923;
  std::vector<PositionFix> sent;
  const auto send = [&](double lat_deg) {
    sent.push_back(fix_at(5000, lat_deg));
    store.add_position(m, sent.back());
  };
  send(59.0);
  store.add_position(m, fix_at(4000));  // an earlier time in the same batch
  send(59.1);
  store.flush();
  send(59.2);  // its key (m, 5000) is already in the file: it goes after the stored ones
  store.flush();
  send(59.3);
  send(59.4);
  store.add_position(m, fix_at(6000));
  store.flush();
  CHECK(store.track(m, 5000, 5000, 100) == sent);
  const auto all = store.track(m, 0, 10'000, 100);
  REQUIRE(all.size() == 7);
  CHECK(all.front().ts_ms == 4000);
  CHECK(all.back().ts_ms == 6000);
  const auto first = store.track_page(m, 0, 10'000, std::nullopt, 3);
  REQUIRE(first.next.has_value());
  CHECK(*first.next == aistrack::TrackCursor{5000, 1});
  const auto second = store.track_page(m, 0, 10'000, first.next, 3);
  REQUIRE(second.fixes.size() == 3);
  CHECK(second.fixes[0] == sent[2]);
  CHECK(second.fixes[2] == sent[4]);
  // The seq of each fix at 5000 is 0..4: walk the track one fix a page and read the cursors.
  std::vector<std::int64_t> seqs;
  for (auto page = store.track_page(m, 5000, 5000, std::nullopt, 1); page.next;
       page = store.track_page(m, 5000, 5000, page.next, 1)) {
    seqs.push_back(page.next->seq);
  }
  CHECK(seqs == std::vector<std::int64_t>{0, 1, 2, 3});  // the last page has no next cursor
  CHECK(count_in(cfg, "SELECT count(*) FROM positions WHERE ts_ms = 5000 AND seq BETWEEN 0 AND 4") == 5);
}

TEST_CASE("store: environment errors throw StoreError saying what to fix") {
  TempDir dir;
  SUBCASE("directory does not exist") {
    StoreConfig cfg = config_in(dir);
    cfg.path = (dir / "no-such-dir" / "ais.db").string();
    const std::string msg = what_of([&] { Store store(cfg); });
    CHECK(msg.find("cannot open database '" + cfg.path + "'") != std::string::npos);
    CHECK(msg.find("check that the directory exists and is writable") != std::string::npos);
    CHECK_THROWS_AS(Store{cfg}, aistrack::Error);
  }
  SUBCASE("empty path") {
    StoreConfig cfg = config_in(dir);
    cfg.path.clear();
    CHECK(what_of([&] { Store store(cfg); }).find("path is empty") != std::string::npos);
  }
  SUBCASE("not a file that can do WAL") {
    StoreConfig cfg = config_in(dir);
    cfg.path = ":memory:";
    CHECK(what_of([&] { Store store(cfg); }).find("cannot enable WAL") != std::string::npos);
  }
  SUBCASE("file is not a database") {
    const StoreConfig cfg = config_in(dir);
    {
      std::FILE* f = std::fopen(cfg.path.c_str(), "wb");
      REQUIRE(f != nullptr);
      const std::string junk(4096, 'x');
      std::fwrite(junk.data(), 1, junk.size(), f);
      std::fclose(f);
    }
    const std::string msg = what_of([&] { Store store(cfg); });
    CHECK(msg.find(cfg.path) != std::string::npos);
    CHECK(msg.find("not a healthy aistrack database") != std::string::npos);
  }
}

TEST_CASE("store: a batch commits when batch_rows rows are pending, not before") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  const StoreConfig cfg = fresh_store_config(backend, dir, 5, 1'000'000);
  Store store(cfg);
  for (int i = 0; i < 4; ++i) store.add_position(1, fix_at(i));
  CHECK(count_in(cfg, "SELECT count(*) FROM positions") == 0);
  CHECK(store.track(1, 0, 100, 100).empty());
  CHECK(store.stats().pending_rows == 4);
  CHECK(store.stats().commits == 0);
  store.add_position(1, fix_at(4));  // the 5th row commits inside this call
  CHECK(count_in(cfg, "SELECT count(*) FROM positions") == 5);
  CHECK(store.track(1, 0, 100, 100).size() == 5);
  const auto s = store.stats();
  CHECK(s.pending_rows == 0);
  CHECK(s.commits == 1);
  CHECK(s.positions_written == 5);
  CHECK(s.last_error.empty());
  // Vessel and raw rows count towards the same batch.
  TempDir dir2;
  StoreConfig raw_cfg = fresh_store_config(backend, dir2, 3);
  raw_cfg.keep_raw = true;
  raw_cfg.batch_rows = 3;
  Store mixed(raw_cfg);
  mixed.add_position(1, fix_at(1));
  mixed.upsert_vessel(vessel_at(1, 1, 1));
  CHECK(mixed.stats().commits == 0);
  mixed.add_raw(1, aistrack::Source::nmea, 1, "!AIVDM");
  CHECK(mixed.stats().commits == 1);
}

TEST_CASE("store: poll commits once rows have waited batch_ms since poll first saw them") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  const StoreConfig cfg = fresh_store_config(backend, dir, 1000, 1000);
  Store store(cfg);
  CHECK_FALSE(store.poll(5'000));  // nothing pending
  store.add_position(1, fix_at(1));
  CHECK_FALSE(store.poll(10'000));  // first sight of pending rows: the clock starts here
  CHECK_FALSE(store.poll(10'999));
  CHECK(count_in(cfg, "SELECT count(*) FROM positions") == 0);
  CHECK(store.poll(11'000));
  CHECK(count_in(cfg, "SELECT count(*) FROM positions") == 1);
  CHECK_FALSE(store.poll(11'001));
  store.add_position(1, fix_at(2));
  CHECK_FALSE(store.poll(20'000));
  CHECK(store.poll(21'500));
  CHECK(count_in(cfg, "SELECT count(*) FROM positions") == 2);
  CHECK(store.stats().commits == 2);
}

TEST_CASE("store: flush commits now and is a no-op without pending rows") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  Store store(fresh_store_config(backend, dir));
  store.flush();
  CHECK(store.stats().commits == 0);
  for (int i = 0; i < 3; ++i) store.add_position(7, fix_at(i));
  CHECK(store.track(7, 0, 10, 10).empty());
  store.flush();
  CHECK(store.track(7, 0, 10, 10).size() == 3);
  CHECK(store.stats().commits == 1);
  store.flush();
  CHECK(store.stats().commits == 1);
}

TEST_CASE("store: upsert_vessel keeps the newest state per MMSI and never regresses the position") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  const StoreConfig cfg = fresh_store_config(backend, dir);
  Store store(cfg);
  const Mmsi m = 257'000'001;

  // Within one batch: one row per MMSI; the older position does not win over the newer one.
  store.upsert_vessel(vessel_at(m, 200, 200));
  VesselState later = vessel_at(m, 300, 100);  // newer message, but an older fix
  later.static_data.name = "NEW NAME";
  later.static_ts_ms = 300;
  store.upsert_vessel(later);
  store.upsert_vessel(vessel_at(m + 1, 50, 50));
  store.upsert_vessel(vessel_at(m + 1, 60, 60));  // a newer fix in the same batch wins
  CHECK(store.stats().pending_rows == 2);
  store.flush();
  CHECK(store.stats().vessels_written == 2);
  CHECK(store.latest(m + 1)->position->ts_ms == 60);
  auto v = store.latest(m);
  REQUIRE(v.has_value());
  REQUIRE(v->position.has_value());
  CHECK(v->position->ts_ms == 200);
  CHECK(v->last_seen_ms == 300);
  CHECK(v->static_data.name == "NEW NAME");

  // Across batches: an older fix leaves the stored position alone, last_seen still advances.
  store.upsert_vessel(vessel_at(m, 400, 150));
  store.flush();
  v = store.latest(m);
  REQUIRE(v.has_value());
  CHECK(v->position->ts_ms == 200);
  CHECK(v->last_seen_ms == 400);
  // A state without any position keeps the stored one too.
  store.upsert_vessel(vessel_at(m, 410, std::nullopt));
  store.flush();
  CHECK(store.latest(m)->position->ts_ms == 200);
  // A newer fix replaces it.
  store.upsert_vessel(vessel_at(m, 500, 500));
  store.flush();
  v = store.latest(m);
  CHECK(v->position->ts_ms == 500);
  CHECK(v->last_seen_ms == 500);
  // An older last_seen never moves last_seen back.
  store.upsert_vessel(vessel_at(m, 10, std::nullopt));
  store.flush();
  CHECK(store.latest(m)->last_seen_ms == 500);

  // Static data: an older static message is ignored, a newer one merges field by field.
  VesselState old_static = vessel_at(m, 600, std::nullopt);
  old_static.static_data.name = "OLD NAME";
  old_static.static_data.callsign = "LAXX";
  old_static.static_ts_ms = 250;
  store.upsert_vessel(old_static);
  store.flush();
  v = store.latest(m);
  CHECK(v->static_data.name == "NEW NAME");
  CHECK_FALSE(v->static_data.callsign.has_value());
  CHECK(v->static_ts_ms == 300);
  VesselState new_static = vessel_at(m, 700, std::nullopt);
  new_static.static_data.callsign = "LA1234";
  new_static.static_ts_ms = 700;
  store.upsert_vessel(new_static);
  store.flush();
  v = store.latest(m);
  CHECK(v->static_data.name == "NEW NAME");
  CHECK(v->static_data.callsign == "LA1234");
  CHECK(v->static_ts_ms == 700);
  CHECK(v->position->ts_ms == 500);

  CHECK(count_in(cfg, "SELECT count(*) FROM vessels") == 2);
}

TEST_CASE("store: track returns the range oldest first up to limit, vessels oldest last_seen first") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  Store store(fresh_store_config(backend, dir));
  const Mmsi m = 244'000'001;
  // Out of order on purpose: the query orders by ts_ms, not by insertion.
  for (const TimeMs ts : {50, 10, 40, 20, 30, 60}) store.add_position(m, fix_at(ts * 1000));
  store.add_position(m + 1, fix_at(35'000));
  store.upsert_vessel(vessel_at(m, 60'000, 60'000));
  store.upsert_vessel(vessel_at(m + 1, 35'000, 35'000));
  store.upsert_vessel(vessel_at(m + 2, 99'000, std::nullopt));
  store.flush();

  auto all = store.track(m, 0, 100'000, 100);
  REQUIRE(all.size() == 6);
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].ts_ms == static_cast<TimeMs>((i + 1) * 10'000));
  auto range = store.track(m, 20'000, 50'000, 100);  // both ends inclusive
  REQUIRE(range.size() == 4);
  CHECK(range.front().ts_ms == 20'000);
  CHECK(range.back().ts_ms == 50'000);
  auto limited = store.track(m, 0, 100'000, 2);  // the oldest two
  REQUIRE(limited.size() == 2);
  CHECK(limited[0].ts_ms == 10'000);
  CHECK(limited[1].ts_ms == 20'000);
  CHECK(store.track(m, 0, 100'000, 0).empty());
  CHECK(store.track(m, 100'000, 0, 10).empty());
  CHECK(store.track(999'999'999, 0, 100'000, 10).empty());
  CHECK(
      store.track(m, 0, std::numeric_limits<TimeMs>::max(), std::numeric_limits<std::size_t>::max()).size() ==
      6);

  CHECK_FALSE(store.latest(123).has_value());
  const auto vessels = store.vessels();
  REQUIRE(vessels.size() == 3);
  CHECK(vessels[0].mmsi == m + 1);
  CHECK(vessels[1].mmsi == m);
  CHECK(vessels[2].mmsi == m + 2);
  CHECK_FALSE(vessels[2].position.has_value());
  // What a follower refreshes: last seen at or after the bound (inclusive), oldest first.
  const auto mmsis_since = [&](TimeMs since_ms) {
    std::vector<Mmsi> out;
    for (const VesselState& v : store.vessels_seen_since(since_ms)) out.push_back(v.mmsi);
    return out;
  };
  CHECK(mmsis_since(std::numeric_limits<TimeMs>::min()) == std::vector<Mmsi>{m + 1, m, m + 2});
  CHECK(mmsis_since(35'001) == std::vector<Mmsi>{m, m + 2});
  CHECK(mmsis_since(60'000) == std::vector<Mmsi>{m, m + 2});
  CHECK(mmsis_since(60'001) == std::vector<Mmsi>{m + 2});
  CHECK(mmsis_since(99'001).empty());
  CHECK(store.vessels_seen_since(60'000).front().position == vessels[1].position);
}

TEST_CASE("store: nullopt fields are stored as NULL and come back as nullopt") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  const StoreConfig cfg = fresh_store_config(backend, dir);
  Store store(cfg);
  PositionFix bare;
  bare.ts_ms = 5;
  bare.latlon = {-33.5, 151.25};
  bare.ais_type = 18;
  bare.source = aistrack::Source::nmea;
  const PositionFix full = fix_at(6);
  store.add_position(1, bare);
  store.add_position(1, full);

  VesselState empty_vessel;
  empty_vessel.mmsi = 2;
  empty_vessel.last_seen_ms = 7;
  empty_vessel.station = aistrack::StationClass::base_station;

  VesselState full_vessel = vessel_at(3, 8, 8);
  full_vessel.station = aistrack::StationClass::class_b;
  full_vessel.static_ts_ms = 8;
  auto& sd = full_vessel.static_data;
  sd.name = "ÆGIR";  // UTF-8 survives
  sd.callsign = "LJ1234";
  sd.destination = "OSLO";
  sd.imo = 9'123'456;
  sd.ship_type = aistrack::ShipType{70};
  sd.dimensions = aistrack::Dimensions{100, 20, 8, 9};
  sd.eta = aistrack::Eta{12, 24, std::nullopt, 30};
  sd.draught_m = 7.5;
  sd.aton_type = 3;
  store.upsert_vessel(empty_vessel);
  store.upsert_vessel(full_vessel);
  store.flush();

  const auto track = store.track(1, 0, 100, 10);
  REQUIRE(track.size() == 2);
  CHECK(track[0] == bare);
  CHECK(track[1] == full);

  CHECK(count_in(cfg,
                 "SELECT count(*) FROM positions WHERE ts_ms = 5 AND sog_kn IS NULL AND cog_deg IS NULL AND "
                 "heading_deg IS NULL AND nav_status IS NULL AND rot_deg_min IS NULL") == 1);
  CHECK(count_in(cfg,
                 "SELECT count(*) FROM vessels WHERE mmsi = 2 AND name IS NULL AND to_bow_m IS NULL AND "
                 "eta_month IS NULL AND static_ts_ms IS NULL AND ts_ms IS NULL AND lat_deg IS NULL") == 1);
  CHECK(
      count_in(cfg, "SELECT count(*) FROM vessels WHERE mmsi = 3 AND eta_hour IS NULL AND eta_minute = 30") ==
      1);

  const auto e = store.latest(2);
  REQUIRE(e.has_value());
  CHECK(e->station == aistrack::StationClass::base_station);
  CHECK_FALSE(e->position.has_value());
  CHECK_FALSE(e->static_ts_ms.has_value());
  CHECK(e->static_data == aistrack::StaticData{});
  CHECK(e->last_seen_ms == 7);

  const auto f = store.latest(3);
  REQUIRE(f.has_value());
  CHECK(f->station == aistrack::StationClass::class_b);
  CHECK(f->static_data == full_vessel.static_data);
  CHECK(f->static_ts_ms == 8);
  CHECK(f->position == full_vessel.position);
}

TEST_CASE("store: non-finite coordinates are dropped instead of failing the batch") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  Store store(fresh_store_config(backend, dir, 2));
  store.add_position(1, fix_at(1, std::nan(""), 10));
  store.add_position(1, fix_at(2, 59, std::numeric_limits<double>::infinity()));
  CHECK(store.stats().dropped_rows == 2);
  CHECK(store.stats().pending_rows == 0);
  VesselState v = vessel_at(1, 3, 3);
  v.position->latlon.lat_deg = std::nan("");
  store.upsert_vessel(v);
  store.add_position(1, fix_at(4));
  CHECK(store.stats().commits == 1);
  CHECK(store.track(1, 0, 10, 10).size() == 1);
  store.flush();  // a batch that fills by rows leaves vessel rows for poll()/flush()
  const auto latest = store.latest(1);
  REQUIRE(latest.has_value());
  CHECK_FALSE(latest->position.has_value());
}

TEST_CASE("store: purge_step deletes only older rows, in chunks, while a reader keeps reading") {
  TempDir dir;
  StoreConfig cfg = config_in(dir, 500);
  cfg.keep_raw = true;
  Store store(cfg);
  // Five MMSIs with 100 positions each at ts 0..99 s; only three of them have a vessels row.
  for (Mmsi m = 1; m <= 5; ++m) {
    for (TimeMs t = 0; t < 100; ++t) store.add_position(m, fix_at(t * 1000));
    if (m <= 3) store.upsert_vessel(vessel_at(m, 99'000, 99'000));
  }
  for (TimeMs t = 0; t < 100; ++t) store.add_raw(t * 1000, aistrack::Source::aisstream, 1, "{}");
  store.flush();  // row-filled batches may leave vessel rows pending; the reader expects all three
  store.add_position(6, fix_at(10));  // left pending: purge commits it first
  REQUIRE(store.stats().pending_rows > 0);

  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::atomic<int> bad_reads{0};
  std::thread reader([&] {
    while (!stop.load()) {
      try {
        const auto t = store.track(1, 0, 1'000'000, 1000);
        const auto vs = store.vessels();
        // Committed data only: the 50 newer rows are always there, vessels never disappear.
        if (t.size() < 50 || t.size() > 100 || vs.size() != 3) bad_reads.fetch_add(1);
        reads.fetch_add(1);
      } catch (...) {
        bad_reads.fetch_add(1);
      }
    }
  });

  const TimeMs cutoff_ms = 50'000;
  std::size_t total = 0;
  int calls = 0;
  for (;;) {
    const std::size_t n = store.purge_step(cutoff_ms, 7);
    CHECK(n <= 7);
    if (n == 0) break;
    total += n;
    ++calls;
    REQUIRE(calls < 1000);
  }
  while (reads.load() < 5) std::this_thread::yield();
  stop = true;
  reader.join();

  CHECK(bad_reads.load() == 0);
  CHECK(total == 5 * 50 + 1 + 50);  // positions of MMSIs 1..5, MMSI 6's ts 10 row, raw rows
  CHECK(calls >= static_cast<int>(total / 7));
  CHECK(store.stats().purged_rows == total);
  RawDb raw(cfg.path);
  CHECK(raw.integer("SELECT count(*) FROM positions WHERE ts_ms < 50000") == 0);
  CHECK(raw.integer("SELECT count(*) FROM positions") == 5 * 50);
  CHECK(raw.integer("SELECT count(*) FROM raw_messages WHERE received_ms < 50000") == 0);
  CHECK(raw.integer("SELECT count(*) FROM raw_messages") == 50);
  CHECK(raw.integer("SELECT count(*) FROM vessels") == 3);  // retention does not touch vessels
  CHECK(store.purge_step(cutoff_ms, 7) == 0);
  // A later sweep with a later cutoff starts over from the first MMSI.
  CHECK(store.purge_step(60'000, 1000) == 5 * 10 + 10);
  CHECK(store.purge_step(60'000, 1000) == 0);
  CHECK(store.check() == "ok");
}

TEST_CASE("store: the raw archive stores nothing unless keep_raw, and payloads verbatim when on") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  StoreConfig cfg = fresh_store_config(backend, dir, 2);
  {
    Store off(cfg);
    off.add_raw(1, aistrack::Source::nmea, 1, "!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26");
    off.add_raw(2, aistrack::Source::nmea, 1, "x");
    CHECK(off.stats().pending_rows == 0);
    off.flush();
    CHECK(off.stats().raw_written == 0);
  }
  CHECK(count_in(cfg, "SELECT count(*) FROM raw_messages") == 0);

  cfg.keep_raw = true;
  Store on(cfg);
  const std::string frame = R"({"MessageType":"PositionReport","MetaData":{"MMSI":259000420}})";
  on.add_raw(1000, aistrack::Source::aisstream, 259'000'420, frame);
  on.add_raw(1001, aistrack::Source::nmea, 0, std::string_view("a\0b\\\n\t", 6));  // mmsi unknown
  CHECK(on.stats().raw_written == 2);
  // Byte for byte, NUL, backslash and control characters included (PostgreSQL keeps them as bytea).
  const std::string bytes = backend == "sqlite" ? "CAST(payload AS BLOB)" : "payload";
  CHECK(count_in(cfg, "SELECT count(*) FROM raw_messages WHERE received_ms = 1000 AND " + bytes + " = " +
                          (backend == "sqlite" ? "CAST('" + frame + "' AS BLOB)"
                                               : "'" + frame + "'::bytea")) == 1);
  CHECK(count_in(cfg, "SELECT source FROM raw_messages WHERE received_ms = 1000") ==
        static_cast<int>(aistrack::Source::aisstream));
  CHECK(count_in(cfg, "SELECT mmsi FROM raw_messages WHERE received_ms = 1000") == 259'000'420);
  CHECK(count_in(cfg, "SELECT length(" + bytes + ") FROM raw_messages WHERE received_ms = 1001") == 6);
  CHECK(count_in(cfg, "SELECT count(*) FROM raw_messages WHERE received_ms = 1001 AND mmsi IS NULL") == 1);
  CHECK(count_in(cfg, backend == "sqlite"
                          ? "SELECT count(*) FROM raw_messages WHERE received_ms = 1001 AND hex(payload) = "
                            "'6100625C0A09'"
                          : "SELECT count(*) FROM raw_messages WHERE received_ms = 1001 AND payload = "
                            "'\\x6100625c0a09'::bytea") == 1);
}

namespace {

// A trigger that fails every position insert: a stand-in for disk trouble on either backend.
void add_failing_trigger(const std::string& backend, const StoreConfig& cfg, const std::string& message) {
  if (backend == "sqlite") {
    exec_in(cfg, "CREATE TRIGGER fail_inserts BEFORE INSERT ON positions BEGIN SELECT RAISE(ABORT, '" +
                     message + "'); END");
  } else {
    exec_in(cfg,
            "CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION '" +
                message + "'; END$$");
    exec_in(
        cfg,
        "CREATE TRIGGER fail_inserts BEFORE INSERT ON positions FOR EACH ROW EXECUTE FUNCTION fail_insert()");
  }
}

void drop_failing_trigger(const std::string& backend, const StoreConfig& cfg) {
  exec_in(cfg, backend == "sqlite" ? "DROP TRIGGER fail_inserts" : "DROP TRIGGER fail_inserts ON positions");
}

}  // namespace

TEST_CASE("store: a failing commit keeps rows pending, reports the error and succeeds on retry") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  StoreConfig cfg = fresh_store_config(backend, dir, 5);
  cfg.busy_timeout_ms = 50;
  Store store(cfg);
  add_failing_trigger(backend, cfg, "simulated disk trouble");
  for (int i = 0; i < 4; ++i) store.add_position(1, fix_at(i));
  const std::string msg = what_of([&] { store.add_position(1, fix_at(4)); });
  CHECK(msg.find("cannot write to database '" + store.path() + "'") != std::string::npos);
  CHECK(msg.find("simulated disk trouble") != std::string::npos);
  CHECK(msg.find("5 rows stay pending") != std::string::npos);
  auto s = store.stats();
  CHECK(s.pending_rows == 5);
  CHECK(s.commit_failures == 1);
  CHECK(s.commits == 0);
  CHECK(s.last_error == msg);
  // The next add does not retry at once (that would retry on every row of an outage) …
  store.add_position(1, fix_at(5));
  CHECK(store.stats().commit_failures == 1);
  CHECK(store.stats().pending_rows == 6);
  // … poll retries once batch_ms has passed since it first saw the rows.
  CHECK_FALSE(store.poll(0));
  CHECK_THROWS_AS(store.poll(cfg.batch_ms), StoreError);
  CHECK(store.stats().commit_failures == 2);
  CHECK(count_in(cfg, "SELECT count(*) FROM positions") == 0);

  drop_failing_trigger(backend, cfg);
  store.flush();
  s = store.stats();
  CHECK(s.pending_rows == 0);
  CHECK(s.commits == 1);
  CHECK(s.positions_written == 6);
  CHECK(s.last_error.empty());
  CHECK(store.track(1, 0, 100, 100).size() == 6);
}

TEST_CASE("store: max_pending_rows bounds memory during an outage, dropping the oldest") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  StoreConfig cfg = fresh_store_config(backend, dir, 5);
  cfg.max_pending_rows = 25;
  Store store(cfg);
  add_failing_trigger(backend, cfg, "simulated");
  int failures = 0;
  for (int i = 0; i < 40; ++i) {
    try {
      store.add_position(1, fix_at(i));
    } catch (const StoreError&) {
      ++failures;
    }
  }
  CHECK(failures == 8);  // one attempt per batch_rows rows
  auto s = store.stats();
  CHECK(s.pending_rows == 25);
  CHECK(s.dropped_rows == 15);
  drop_failing_trigger(backend, cfg);
  store.flush();
  const auto track = store.track(1, 0, 100, 100);
  REQUIRE(track.size() == 25);
  CHECK(track.front().ts_ms == 15);
  CHECK(track.back().ts_ms == 39);
}

TEST_CASE("store: another connection holding the SQLite write lock fails a commit, then it is retried") {
  TempDir dir;
  StoreConfig cfg = config_in(dir, 5);
  cfg.busy_timeout_ms = 50;
  Store store(cfg);
  RawDb other(cfg.path);
  other.exec("BEGIN EXCLUSIVE");
  store.add_position(1, fix_at(1));
  const std::string msg = what_of([&] { store.flush(); });
  CHECK(msg.find(cfg.path) != std::string::npos);
  CHECK(msg.find("locked") != std::string::npos);
  CHECK(msg.find("only one aistrack process writes this file") != std::string::npos);
  CHECK(store.stats().pending_rows == 1);
  CHECK(store.stats().commit_failures == 1);
  // Readers are not blocked by the writer lock (WAL).
  CHECK(store.vessels().empty());
  other.exec("COMMIT");
  store.flush();
  CHECK(store.track(1, 0, 100, 100).size() == 1);
  CHECK(store.stats().last_error.empty());
}

TEST_CASE("store: the destructor swallows a failing final commit") {
  TempDir dir;
  StoreConfig cfg = config_in(dir);
  cfg.busy_timeout_ms = 10;
  RawDb other(cfg.path);
  {
    Store store(cfg);
    store.add_position(1, fix_at(1));
    other.exec("BEGIN EXCLUSIVE");
  }  // must not throw or terminate
  other.exec("COMMIT");
  CHECK(other.integer("SELECT count(*) FROM positions") == 0);
}

TEST_CASE("store: row-filled batches defer vessel rows to the next poll or flush") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  StoreConfig cfg = fresh_store_config(backend, dir, 3);
  cfg.batch_ms = 1000;
  Store store(cfg);
  store.upsert_vessel(vessel_at(7, 1, 1));
  store.add_position(7, fix_at(1));
  store.add_position(7, fix_at(2));  // third row: the batch commits, positions only
  CHECK(store.stats().commits == 1);
  CHECK(store.track(7, 0, 10, 10).size() == 2);
  CHECK_FALSE(store.latest(7).has_value());
  CHECK(store.stats().pending_rows == 1);
  CHECK_FALSE(store.poll(10'000));  // poll has been owed the vessel since the commit: starts its clock
  CHECK(store.poll(11'000));
  const auto v = store.latest(7);
  REQUIRE(v.has_value());
  CHECK(v->mmsi == 7);
  CHECK(store.stats().pending_rows == 0);
  CHECK(store.stats().vessels_written == 1);
}

TEST_CASE("store: a fix identical to a stored or queued one is stored once and counted, distinct ones kept") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  const StoreConfig cfg = fresh_store_config(backend, dir);
  Store store(cfg);
  const Mmsi m = 230'000'001;
  const PositionFix a = fix_at(1000);
  const PositionFix b = fix_at(1000, 59.5);  // the same time, elsewhere: another report
  store.add_position(m, a);
  store.add_position(m, a);  // two stations heard it: one batch
  store.add_position(m, b);
  store.flush();
  CHECK(store.stats().duplicate_rows == 1);
  CHECK(store.stats().positions_written == 2);
  store.add_position(m, b);  // a later batch (a replay, or a second instance after a fail-over)
  store.add_position(m, a);
  PositionFix c = a;
  c.sog_kn = 13.0;  // same time and place, another SOG: not the same report
  store.add_position(m, c);
  store.flush();
  CHECK(store.stats().duplicate_rows == 3);
  CHECK(store.stats().positions_written == 3);
  const auto t = store.track(m, 0, 2000, 100);
  REQUIRE(t.size() == 3);
  CHECK(t[0] == a);
  CHECK(t[1] == b);
  CHECK(t[2] == c);
  // Missing fields compare equal too (NULL = NULL here).
  PositionFix bare;
  bare.ts_ms = 2000;
  bare.latlon = {-33.5, 151.25};
  bare.ais_type = 18;
  store.add_position(m, bare);
  store.flush();
  store.add_position(m, bare);
  store.flush();
  CHECK(store.stats().duplicate_rows == 4);
  CHECK(store.track(m, 2000, 2000, 100) == std::vector<PositionFix>{bare});
  CHECK(count_in(cfg, "SELECT count(*) FROM positions") == 4);
}

TEST_CASE("store: two Stores on one database writing the same reports keep each once (a fail-over replay)") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  StoreConfig cfg = fresh_store_config(backend, dir, 50);
  cfg.busy_timeout_ms = 5000;
  std::vector<std::pair<Mmsi, PositionFix>> feed;
  for (int i = 0; i < 300; ++i) {
    // A vessel's every 7th report shares its second with the one before: distinct fixes at one time.
    const int j = i / 3;
    const TimeMs ts = 1'700'000'000'000 + (j - j / 7) * 1000;
    feed.emplace_back(211'000'000 + i % 3, fix_at(ts, 59.0 + i * 1e-4, 10.0 + i * 1e-4));
  }
  Store leader(cfg);
  for (std::size_t i = 0; i < 180; ++i) leader.add_position(feed[i].first, feed[i].second);
  leader.flush();
  Store follower(cfg);  // takes over and replays the whole feed
  for (const auto& [mmsi, fix] : feed) follower.add_position(mmsi, fix);
  follower.flush();
  CHECK(follower.stats().duplicate_rows == 180);
  CHECK(follower.stats().positions_written == 120);
  CHECK(count_in(cfg, "SELECT count(*) FROM positions") == 300);
  for (Mmsi m = 211'000'000; m < 211'000'003; ++m) {
    std::vector<PositionFix> expected;
    for (const auto& [mmsi, fix] : feed) {
      if (mmsi == m) expected.push_back(fix);
    }
    CHECK(follower.track(m, 0, std::numeric_limits<TimeMs>::max(), 1000) == expected);
  }
}

TEST_CASE("store: area_positions answers a box and a time window, edges included, across the antimeridian") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  Store store(fresh_store_config(backend, dir));
  const auto at = [](TimeMs ts, double lat, double lon) { return fix_at(ts, lat, lon); };
  store.add_position(1, at(1000, 59.0, 10.0));
  store.add_position(1, at(2000, 60.0, 11.0));
  store.add_position(2, at(1500, -17.0, 179.5));
  store.add_position(3, at(1500, -17.2, -179.8));
  store.add_position(4, at(5000, 0.0, 0.0));
  store.flush();
  const auto mmsis = [](const std::vector<aistrack::PositionRow>& rows) {
    std::vector<std::pair<Mmsi, TimeMs>> out;
    for (const auto& r : rows) out.emplace_back(r.mmsi, r.fix.ts_ms);
    return out;
  };
  using V = std::vector<std::pair<Mmsi, TimeMs>>;
  const aistrack::GeoBox world;
  CHECK(mmsis(store.area_positions({58.5, 9.5, 59.5, 10.5}, 0, 10'000, 100)) == V{{1, 1000}});
  CHECK(mmsis(store.area_positions({59.0, 10.0, 59.0, 10.0}, 0, 10'000, 100)) == V{{1, 1000}});
  CHECK(mmsis(store.area_positions({-18, 179, -16, -179}, 0, 10'000, 100)) == V{{2, 1500}, {3, 1500}});
  CHECK(mmsis(store.area_positions(world, 1600, 10'000, 100)) == V{{1, 2000}, {4, 5000}});
  CHECK(mmsis(store.area_positions(world, 0, 10'000, 2)) == V{{1, 1000}, {1, 2000}});
  CHECK(store.area_positions({10, 10, 20, 20}, 0, 10'000, 100).empty());
  CHECK(store.area_positions(world, 10'000, 0, 100).empty());
  CHECK(store.area_positions({20, 0, 10, 1}, 0, 10'000, 100).empty());  // not a valid box
  const auto rows = store.area_positions({58.5, 9.5, 59.5, 10.5}, 0, 10'000, 100);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].fix == at(1000, 59.0, 10.0));
}

TEST_CASE("store: retention removes the whole days older than the cutoff and keeps the rest") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  StoreConfig cfg = fresh_store_config(backend, dir, 500);
  cfg.keep_raw = true;
  Store store(cfg);
  constexpr TimeMs kDay = 86'400'000;
  constexpr TimeMs kBase = 19'675 * kDay;  // a UTC midnight
  for (TimeMs d = 0; d < 5; ++d) {
    for (TimeMs k = 0; k < 10; ++k) {
      store.add_position(5, fix_at(kBase + d * kDay + k * 60'000));
      store.add_raw(kBase + d * kDay + k * 60'000, aistrack::Source::nmea, 5, "!AIVDM");
    }
  }
  store.upsert_vessel(vessel_at(5, kBase, kBase));
  store.flush();
  const TimeMs cutoff_ms = kBase + 3 * kDay;
  std::size_t total = 0;
  for (int calls = 0; calls < 1000; ++calls) {
    const std::size_t n = store.purge_step(cutoff_ms, 7);
    if (n == 0) break;
    total += n;
  }
  CHECK(total == 3 * 10 * 2);
  CHECK(store.stats().purged_rows == total);
  const auto kept = store.track(5, 0, std::numeric_limits<TimeMs>::max(), 1000);
  REQUIRE(kept.size() == 20);
  CHECK(kept.front().ts_ms == cutoff_ms);
  CHECK(count_in(cfg, "SELECT count(*) FROM raw_messages") == 20);
  CHECK(count_in(cfg, "SELECT count(*) FROM raw_messages WHERE received_ms < " + std::to_string(cutoff_ms)) ==
        0);
  CHECK(store.latest(5).has_value());  // retention does not touch vessels
  CHECK(store.purge_step(cutoff_ms, 7) == 0);
  CHECK(store.check() == "ok");
}

TEST_CASE("store: positions_page walks every position in (mmsi, ts_ms, seq) order, page by page") {
  const std::string backend = store_backend_subcase();
  TempDir dir;
  Store store(fresh_store_config(backend, dir));
  std::vector<aistrack::PositionRow> expected;
  for (const Mmsi m : {300u, 100u, 200u}) {
    for (int i = 0; i < 7; ++i) {
      const PositionFix f =
          fix_at(1000 * (i - (i == 4 ? 1 : 0)), 50.0 + i * 0.01 + m * 1e-5);  // 3 and 4 share a time
      store.add_position(m, f);
      expected.push_back({m, f});
    }
  }
  store.flush();
  std::stable_sort(expected.begin(), expected.end(),
                   [](const auto& a, const auto& b) { return a.mmsi < b.mmsi; });
  const auto walk = [&](const std::vector<Mmsi>& only, TimeMs from_ms, TimeMs to_ms) {
    std::vector<aistrack::PositionRow> got;
    std::optional<aistrack::PositionsCursor> after;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = store.positions_page(from_ms, to_ms, only, after, 4);
      got.insert(got.end(), page.rows.begin(), page.rows.end());
      if (!page.next) break;
      after = page.next;
    }
    return got;
  };
  const auto same = [](const std::vector<aistrack::PositionRow>& a,
                       const std::vector<aistrack::PositionRow>& b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(),
                      [](const auto& x, const auto& y) { return x.mmsi == y.mmsi && x.fix == y.fix; });
  };
  CHECK(same(walk({}, 0, 100'000), expected));
  std::vector<aistrack::PositionRow> some;
  for (const auto& r : expected) {
    if (r.mmsi != 200 && r.fix.ts_ms >= 2000 && r.fix.ts_ms <= 5000) some.push_back(r);
  }
  CHECK(same(walk({100, 300}, 2000, 5000), some));
}
