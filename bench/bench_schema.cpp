// Positions-table layouts for the Store (issue #5's 10 ms stats target), measured side by side in
// one run with bare sqlite3, so the only difference between the rows is the layout:
//
//   v1         rowid table + index (mmsi, ts_ms): schema version 1, the baseline of every ratio
//   covering   v1 + an index on (mmsi, ts_ms) that also holds every column a track read returns
//   clustered  WITHOUT ROWID table, PRIMARY KEY (mmsi, ts_ms, seq); seq numbers the fixes of one
//              vessel within one millisecond, so two stations' reports of the same time both stay
//
// For each layout: the insert rate of simulator fixes written the way the Store writes them
// (batches of 10,000 rows sorted by mmsi, ts_ms; WAL, synchronous=NORMAL, 64 MiB cache), the same
// for a big file written time-major like a live feed (the target vessel's 24 h among N rows), the
// file sizes, and the read of the target's 24 h (43,200 fixes, all ten columns) from a file holding
// only it and from the big file, through a fresh read-only connection (default page cache, as the
// Store's reader had in schema version 1), CPU time, median of R rounds after a warm-up.
//
// Usage: aistrack-bench-schema [--fleet-rows N] [--big-rows N] [--rounds R] [--dir DIR]
// Results and the command line are in docs/PERFORMANCE.md ("## Store schema version 2").
#include "bench_support.hpp"

#include <aistrack/message.hpp>
#include <aistrack/simulator.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
using namespace aistrack;
using namespace aistrack::bench;

namespace {

constexpr std::size_t kTargetFixes = 43'200;  // 24 h at one fix every 2 s
constexpr std::size_t kBatchRows = 10'000;    // the Store's default batch

struct Options {
  std::size_t fleet_rows = 200'000;
  std::size_t big_rows = 2'000'000;
  int rounds = 9;
  fs::path dir = fs::temp_directory_path() / "aistrack-bench-schema";
  std::string read_pragmas;   // extra PRAGMAs for the read connection (--read-pragmas)
  std::string write_pragmas;  // extra PRAGMAs for the writing connection (--write-pragmas)
};

struct Layout {
  const char* name;
  const char* ddl;
  bool clustered;
};

// The v1 DDL of positions exactly as src/store.cpp's first migration writes it.
constexpr const char* kV1 = R"sql(
CREATE TABLE positions (
  mmsi INTEGER NOT NULL, ts_ms INTEGER NOT NULL, lat_deg REAL NOT NULL, lon_deg REAL NOT NULL,
  sog_kn REAL, cog_deg REAL, heading_deg INTEGER, nav_status INTEGER, rot_deg_min REAL,
  ais_type INTEGER NOT NULL, source INTEGER NOT NULL);
CREATE INDEX positions_mmsi_ts ON positions (mmsi, ts_ms);
)sql";

constexpr const char* kCovering = R"sql(
CREATE TABLE positions (
  mmsi INTEGER NOT NULL, ts_ms INTEGER NOT NULL, lat_deg REAL NOT NULL, lon_deg REAL NOT NULL,
  sog_kn REAL, cog_deg REAL, heading_deg INTEGER, nav_status INTEGER, rot_deg_min REAL,
  ais_type INTEGER NOT NULL, source INTEGER NOT NULL);
CREATE INDEX positions_mmsi_ts ON positions (mmsi, ts_ms, lat_deg, lon_deg, sog_kn, cog_deg,
  heading_deg, nav_status, rot_deg_min, ais_type, source);
)sql";

constexpr const char* kClustered = R"sql(
CREATE TABLE positions (
  mmsi INTEGER NOT NULL, ts_ms INTEGER NOT NULL, seq INTEGER NOT NULL, lat_deg REAL NOT NULL,
  lon_deg REAL NOT NULL, sog_kn REAL, cog_deg REAL, heading_deg INTEGER, nav_status INTEGER,
  rot_deg_min REAL, ais_type INTEGER NOT NULL, source INTEGER NOT NULL,
  PRIMARY KEY (mmsi, ts_ms, seq)) WITHOUT ROWID;
)sql";

constexpr Layout kLayouts[] = {
    {"v1 (rowid + index)", kV1, false},
    {"covering index", kCovering, false},
    {"clustered (WITHOUT ROWID)", kClustered, true},
};

using Row = std::pair<Mmsi, PositionFix>;

/// Fix i of the target with every column filled, so a read decodes all ten.
PositionFix full_target_fix(std::size_t i) {
  PositionFix f = target_fix(i);
  f.heading_deg = 21;
  f.nav_status = NavStatus::under_way_using_engine;
  return f;
}

/// What a fleet of 2,000 simulated ships reports, as the Store receives it.
std::vector<Row> fleet_rows(std::size_t n) {
  SimConfig sc;
  sc.vessels = 2000;
  sc.seed = 42;
  sc.start_ms = kStart;
  Simulator sim(sc);
  std::vector<Message> batch;
  std::vector<Row> rows;
  rows.reserve(n);
  for (TimeMs t = sc.start_ms; rows.size() < n; t += 1000) {
    batch.clear();
    sim.step(t, batch);
    for (const Message& m : batch) {
      if (rows.size() == n) break;
      if (auto fix = fix_of(m)) rows.emplace_back(m.mmsi, *fix);
    }
  }
  return rows;
}

/// The target's 24 h among ships reporting every 2 s, time-major like a live feed: at least `rows`
/// rows, the target in the middle of each time step.
std::vector<Row> big_rows(std::size_t rows) {
  const std::size_t vessels = (rows + kTargetFixes - 1) / kTargetFixes;
  std::vector<Row> out;
  out.reserve(vessels * kTargetFixes);
  for (std::size_t i = 0; i < kTargetFixes; ++i) {
    const PositionFix t = full_target_fix(i);
    for (std::size_t v = 0; v < vessels; ++v) {
      PositionFix f = t;
      const bool target = v == vessels / 2;
      f.ts_ms += static_cast<TimeMs>(v % 2000);
      if (!target) {
        f.latlon = LatLon{50.0 + static_cast<double>(v % 100) * 0.05, 1.0 + static_cast<double>(i) * 1e-5};
      } else {
        f.ts_ms = t.ts_ms;
      }
      out.emplace_back(target ? kTarget : static_cast<Mmsi>(211'000'000 + v), f);
    }
  }
  return out;
}

std::vector<Row> target_rows() {
  std::vector<Row> out;
  out.reserve(kTargetFixes);
  for (std::size_t i = 0; i < kTargetFixes; ++i) out.emplace_back(kTarget, full_target_fix(i));
  return out;
}

std::string g_write_pragmas;  // Options::write_pragmas, for open_writer

sqlite3* open_writer(const fs::path& path, const Layout& layout) {
  remove_db(path);
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  sqlite3_extended_result_codes(db, 1);
  check(sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; "
                     "PRAGMA journal_size_limit=67108864",
                     nullptr, nullptr, nullptr),
        db, "pragma");
  if (!g_write_pragmas.empty()) {
    check(sqlite3_exec(db, g_write_pragmas.c_str(), nullptr, nullptr, nullptr), db, "write pragmas");
  }
  check(sqlite3_exec(db, layout.ddl, nullptr, nullptr, nullptr), db, "create");
  return db;
}

void bind_opt(sqlite3_stmt* s, int i, const std::optional<double>& v) {
  v ? sqlite3_bind_double(s, i, *v) : sqlite3_bind_null(s, i);
}

/// Inserts `rows` as the Store does (batches sorted by mmsi, ts_ms, stable). For the clustered
/// layout seq counts equal (mmsi, ts_ms) keys within a batch; a key already in the file (an
/// earlier batch) is detected by the primary key and retried with max(seq) + 1. Returns the number
/// of such retries.
std::size_t insert_rows(sqlite3* db, const Layout& layout, const std::vector<Row>& rows) {
  sqlite3_stmt* ins = nullptr;
  const char* sql = layout.clustered
                        ? "INSERT INTO positions (mmsi, ts_ms, seq, lat_deg, lon_deg, sog_kn, cog_deg, "
                          "heading_deg, nav_status, rot_deg_min, ais_type, source) "
                          "VALUES (?1,?2,?12,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
                        : "INSERT INTO positions (mmsi, ts_ms, lat_deg, lon_deg, sog_kn, cog_deg, "
                          "heading_deg, nav_status, rot_deg_min, ais_type, source) "
                          "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)";
  check(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &ins, nullptr), db, "prepare");
  sqlite3_stmt* next_seq = nullptr;
  if (layout.clustered) {
    check(sqlite3_prepare_v3(db,
                             "SELECT coalesce(max(seq) + 1, 0) FROM positions WHERE mmsi = ?1 AND ts_ms = ?2",
                             -1, SQLITE_PREPARE_PERSISTENT, &next_seq, nullptr),
          db, "prepare");
  }
  std::size_t retries = 0;
  std::vector<const Row*> order;
  for (std::size_t first = 0; first < rows.size(); first += kBatchRows) {
    const std::size_t last = std::min(rows.size(), first + kBatchRows);
    order.clear();
    for (std::size_t i = first; i < last; ++i) order.push_back(&rows[i]);
    std::stable_sort(order.begin(), order.end(), [](const Row* a, const Row* b) {
      return a->first != b->first ? a->first < b->first : a->second.ts_ms < b->second.ts_ms;
    });
    check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
    const Row* prev = nullptr;
    sqlite3_int64 seq = 0;
    for (const Row* r : order) {
      const PositionFix& f = r->second;
      sqlite3_bind_int64(ins, 1, r->first);
      sqlite3_bind_int64(ins, 2, f.ts_ms);
      sqlite3_bind_double(ins, 3, f.latlon.lat_deg);
      sqlite3_bind_double(ins, 4, f.latlon.lon_deg);
      bind_opt(ins, 5, f.sog_kn);
      bind_opt(ins, 6, f.cog_deg);
      f.heading_deg ? sqlite3_bind_int(ins, 7, *f.heading_deg) : sqlite3_bind_null(ins, 7);
      f.nav_status ? sqlite3_bind_int(ins, 8, static_cast<int>(*f.nav_status)) : sqlite3_bind_null(ins, 8);
      bind_opt(ins, 9, f.rot_deg_min);
      sqlite3_bind_int(ins, 10, f.ais_type);
      sqlite3_bind_int(ins, 11, static_cast<int>(f.source));
      if (layout.clustered) {
        const bool same_key = prev != nullptr && prev->first == r->first && prev->second.ts_ms == f.ts_ms;
        seq = same_key ? seq + 1 : 0;
        sqlite3_bind_int64(ins, 12, seq);
      }
      int rc = sqlite3_step(ins);
      sqlite3_reset(ins);
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        ++retries;
        sqlite3_bind_int64(next_seq, 1, r->first);
        sqlite3_bind_int64(next_seq, 2, f.ts_ms);
        check(sqlite3_step(next_seq), db, "next seq");
        seq = sqlite3_column_int64(next_seq, 0);
        sqlite3_reset(next_seq);
        sqlite3_bind_int64(ins, 12, seq);
        rc = sqlite3_step(ins);
        sqlite3_reset(ins);
      }
      check(rc, db, "insert");
      prev = r;
    }
    check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  }
  sqlite3_finalize(ins);
  sqlite3_finalize(next_seq);
  return retries;
}

/// Writes `rows` into a fresh file; returns rows per second (wall: commits wait for the disk).
double write_file(const fs::path& path, const Layout& layout, const std::vector<Row>& rows,
                  std::size_t* retries = nullptr) {
  sqlite3* db = open_writer(path, layout);
  std::size_t r = 0;
  const double s = seconds([&] { r = insert_rows(db, layout, rows); });
  check(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), db, "checkpoint");
  sqlite3_close(db);
  if (retries != nullptr) *retries = r;
  return static_cast<double>(rows.size()) / s;
}

struct Read {
  double cpu_ms = 0;
  std::string plan;
};

/// Median CPU time of reading the target's 24 h, every column, through a fresh read-only connection.
Read read_target(const fs::path& path, int rounds, const std::string& pragmas) {
  sqlite3* db = nullptr;
  check(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), db, "open");
  if (!pragmas.empty())
    check(sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr), db, "read pragmas");
  const char* sql =
      "SELECT ts_ms, lat_deg, lon_deg, sog_kn, cog_deg, heading_deg, nav_status, rot_deg_min, ais_type, "
      "source FROM positions WHERE mmsi = ?1 AND ts_ms BETWEEN ?2 AND ?3 ORDER BY ts_ms LIMIT ?4";
  Read out;
  sqlite3_stmt* plan = nullptr;
  check(sqlite3_prepare_v2(db, (std::string("EXPLAIN QUERY PLAN ") + sql).c_str(), -1, &plan, nullptr), db,
        "plan");
  while (sqlite3_step(plan) == SQLITE_ROW) {
    out.plan += (out.plan.empty() ? "" : "; ") +
                std::string(reinterpret_cast<const char*>(sqlite3_column_text(plan, 3)));
  }
  sqlite3_finalize(plan);
  sqlite3_stmt* q = nullptr;
  check(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q, nullptr), db, "prepare");
  double sink = 0;
  std::vector<double> cpu;
  for (int i = 0; i <= rounds; ++i) {  // round 0 warms the caches
    const double c0 = thread_cpu_ms();
    sqlite3_bind_int64(q, 1, kTarget);
    sqlite3_bind_int64(q, 2, kStart);
    sqlite3_bind_int64(q, 3, kStart + static_cast<TimeMs>(kTargetFixes) * kStepMs);
    sqlite3_bind_int64(q, 4, INT64_MAX);
    std::size_t n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
      for (int c = 0; c < 10; ++c) sink += sqlite3_column_double(q, c);
      ++n;
    }
    sqlite3_reset(q);
    if (n != kTargetFixes) {
      std::fprintf(stderr, "read %zu fixes from %s, expected %zu\n", n, path.c_str(), kTargetFixes);
      std::exit(1);
    }
    if (i > 0) cpu.push_back(thread_cpu_ms() - c0);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  if (sink == 42.0) std::printf(" ");  // keeps the reads from being optimised away
  out.cpu_ms = median(cpu);
  return out;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--fleet-rows" && has_value) {
      o.fleet_rows = std::stoul(argv[++i]);
    } else if (a == "--big-rows" && has_value) {
      o.big_rows = std::stoul(argv[++i]);
    } else if (a == "--rounds" && has_value) {
      o.rounds = std::max(1, std::stoi(argv[++i]));
    } else if (a == "--dir" && has_value) {
      o.dir = argv[++i];
    } else if (a == "--read-pragmas" && has_value) {
      o.read_pragmas = argv[++i];
    } else if (a == "--write-pragmas" && has_value) {
      o.write_pragmas = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: aistrack-bench-schema [--fleet-rows N] [--big-rows N] [--rounds R] [--dir DIR] "
                   "[--read-pragmas SQL] [--write-pragmas SQL]\n");
      std::exit(2);
    }
  }
  return o;
}

double mb(const fs::path& p) { return static_cast<double>(fs::file_size(p)) / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  g_write_pragmas = o.write_pragmas;
  fs::create_directories(o.dir);
  const std::vector<Row> fleet = fleet_rows(o.fleet_rows);
  const std::vector<Row> big = big_rows(o.big_rows);
  const std::vector<Row> target = target_rows();
  std::printf(
      "positions layouts: %zu fleet rows (2,000 simulated ships), big file %zu rows time-major, "
      "target 43,200 fixes; insert median of %d rounds, reads median of %d rounds (CPU)\n\n",
      fleet.size(), big.size(), std::max(1, o.rounds / 3), o.rounds);

  struct Result {
    double fleet_rate = 0, fleet_mb = 0, big_rate = 0, big_mb = 0, small_read = 0, big_read = 0;
    std::size_t retries = 0;
    std::string plan;
  };
  std::vector<Result> results;
  for (const Layout& layout : kLayouts) {
    Result r;
    const fs::path file = o.dir / "layout.db";
    std::vector<double> rates;
    for (int round = 0; round < std::max(1, o.rounds / 3); ++round)
      rates.push_back(write_file(file, layout, fleet));
    r.fleet_rate = median(rates);
    r.fleet_mb = mb(file);
    write_file(file, layout, target);
    r.small_read = read_target(file, o.rounds, o.read_pragmas).cpu_ms;
    if (!big.empty()) {
      r.big_rate = write_file(file, layout, big, &r.retries);
      r.big_mb = mb(file);
      const Read br = read_target(file, o.rounds, o.read_pragmas);
      r.big_read = br.cpu_ms;
      r.plan = br.plan;
    }
    remove_db(file);
    results.push_back(r);
  }
  const Result& base = results.front();
  std::printf("%-27s %12s %6s %8s | %12s %6s %8s %9s | %9s %6s | %9s %6s\n", "layout", "fleet rows/s",
              "ratio", "MB", "big rows/s", "ratio", "MB", "B/row", "read 1 ms", "ratio", "read N ms",
              "ratio");
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    std::printf("%-27s %12.0f %6.2f %8.1f | %12.0f %6.2f %8.1f %9.1f | %9.2f %6.2f | %9.2f %6.2f\n",
                kLayouts[i].name, r.fleet_rate, r.fleet_rate / base.fleet_rate, r.fleet_mb, r.big_rate,
                r.big_rate / base.big_rate, r.big_mb, r.big_mb * 1e6 / static_cast<double>(big.size()),
                r.small_read, r.small_read / base.small_read, r.big_read, r.big_read / base.big_read);
  }
  std::printf(
      "\nread 1: a file holding only the target's 43,200 fixes; read N: the big file. Plans (big file):\n");
  for (std::size_t i = 0; i < results.size(); ++i) {
    std::printf("  %-27s %s\n", kLayouts[i].name, results[i].plan.c_str());
  }
  std::printf("clustered: %zu inserts of the big file retried with the next seq\n", results.back().retries);
  return 0;
}
