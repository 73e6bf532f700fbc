// Stats benchmark (issue #5). Every figure has a baseline measured in the same run on the same data:
//
//   one vessel, 24 h at one fix every 2 s (43,200 fixes), in a database of its own:
//     Store::track read alone (baseline)  vs  Store::visit_track + Stats::add (what GET /v1/stats does)
//     haversine loop over the fixes (baseline)  vs  Stats::compute  vs  Geodesic::Inverse on every hop
//   the same vessel's 24 h in a database of N positions (default 10,000,000) written in the order a
//   live feed writes them (time-major, so each of its fixes sits on a different page):
//     Store::track read alone (baseline)  vs  Store::visit_track + Stats; plus the query plan.
//
// Usage: aistrack-bench-stats [--fixes N] [--big-rows N] [--rounds R] [--dir DIR] [--keep]
// Results and the command line that produced them are in docs/PERFORMANCE.md ("## Stats (issue 5)").
#include "bench_support.hpp"

#include <aistrack/geo.hpp>
#include <aistrack/stats.hpp>
#include <aistrack/store.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace aistrack;
using namespace aistrack::bench;

namespace {

struct Options {
  std::size_t fixes = 43'200;
  std::size_t big_rows = 10'000'000;
  int rounds = 7;
  fs::path dir = fs::temp_directory_path() / "aistrack-bench-stats";
  bool keep = false;  // keep the big database between runs (it takes a while to build)
};

double ms_of(const std::function<void()>& f) { return seconds(f) * 1e3; }

/// Median wall-clock and thread-CPU time of one call, ms. The machine is shared, so CPU time (what
/// the call itself used) is the steadier figure; wall time includes waiting for a core.
struct Timing {
  double wall_ms = 0;
  double cpu_ms = 0;
};

/// Median of `rounds` runs of f (a first run warms the caches and is not counted).
Timing median_ms(int rounds, const std::function<void()>& f) {
  f();
  std::vector<double> wall;
  std::vector<double> cpu;
  for (int i = 0; i < rounds; ++i) {
    const double c0 = thread_cpu_ms();
    wall.push_back(ms_of(f));
    cpu.push_back(thread_cpu_ms() - c0);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return Timing{wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

/// One result line: name, wall and CPU ms, CPU ratio to the baseline, and a note.
void row(const char* name, const Timing& t, const Timing& baseline, const std::string& note = {}) {
  std::printf("  %-44s %9.2f %9.2f %7.2f   %s\n", name, t.wall_ms, t.cpu_ms, t.cpu_ms / baseline.cpu_ms,
              note.c_str());
}

/// The target's 24 h alone, written through the Store.
void build_small(const fs::path& path, std::size_t fixes) {
  remove_db(path);
  StoreConfig sc;
  sc.path = path.string();
  Store store(sc);
  for (std::size_t i = 0; i < fixes; ++i) store.add_position(kTarget, target_fix(i));
  store.flush();
}

/// Ships reporting every 2 s, written time-major like a live feed, the target among them. Bare SQL
/// into the schema the Store created (through the Store, 10 M rows would take minutes).
/// At least `rows` rows: rows / fixes_per_vessel vessels rounded up, each with all its fixes.
void build_big(const fs::path& path, std::size_t rows, std::size_t fixes_per_vessel) {
  remove_db(path);
  {
    StoreConfig sc;
    sc.path = path.string();
    const Store schema(sc);  // creates the schema and the index
  }
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;",
                     nullptr, nullptr, nullptr),
        db, "pragma");
  sqlite3_stmt* ins = nullptr;
  check(sqlite3_prepare_v2(
            db,
            "INSERT INTO positions (mmsi, ts_ms, seq, lat_deg, lon_deg, sog_kn, cog_deg, heading_deg, "
            "nav_status, rot_deg_min, ais_type, source) VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, NULL, 0, "
            "NULL, 1, 3)",
            -1, &ins, nullptr),
        db, "prepare");
  const std::size_t vessels = (rows + fixes_per_vessel - 1) / fixes_per_vessel;
  check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
  std::size_t written = 0;
  for (std::size_t i = 0; i < fixes_per_vessel; ++i) {
    const PositionFix t = target_fix(i);
    for (std::size_t v = 0; v < vessels; ++v) {
      const Mmsi mmsi = v == vessels / 2 ? kTarget : static_cast<Mmsi>(211'000'000 + v);
      const double lat = v == vessels / 2 ? t.latlon.lat_deg : 50.0 + static_cast<double>(v % 100) * 0.05;
      const double lon = v == vessels / 2 ? t.latlon.lon_deg : 1.0 + static_cast<double>(i) * 1e-5;
      sqlite3_bind_int64(ins, 1, mmsi);
      sqlite3_bind_int64(ins, 2, t.ts_ms + static_cast<TimeMs>(v % 2000));
      sqlite3_bind_double(ins, 3, lat);
      sqlite3_bind_double(ins, 4, lon);
      sqlite3_bind_double(ins, 5, *t.sog_kn);
      sqlite3_bind_double(ins, 6, *t.cog_deg);
      check(sqlite3_step(ins), db, "insert");
      sqlite3_reset(ins);
      if (++written % 1'000'000 == 0) {
        check(sqlite3_exec(db, "COMMIT; BEGIN", nullptr, nullptr, nullptr), db, "commit");
        std::fprintf(stderr, "  %zu rows\n", written);
      }
    }
  }
  check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  std::fprintf(stderr, "  %zu rows written\n", written);
  sqlite3_finalize(ins);
  check(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), db, "checkpoint");
  sqlite3_close(db);
}

/// Times reading the target's 24 h from `path` four ways and prints them.
void time_store(const fs::path& path, std::size_t fixes, int rounds) {
  StoreConfig sc;
  sc.path = path.string();
  const Store store(sc);
  const TimeMs from = kStart;
  const TimeMs to = kStart + static_cast<TimeMs>(fixes) * kStepMs;  // the 24 h window
  const auto expect = [&](std::size_t n) {
    if (n != fixes) {
      std::fprintf(stderr, "read %zu fixes, expected %zu\n", n, fixes);
      std::exit(1);
    }
  };
  // Baseline: the Store's own track query through bare sqlite3, every column read, nothing kept.
  sqlite3* db = nullptr;
  check(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), db, "open");
  sqlite3_stmt* q = nullptr;
  check(sqlite3_prepare_v2(
            db,
            "SELECT ts_ms, lat_deg, lon_deg, sog_kn, cog_deg, heading_deg, nav_status, rot_deg_min, "
            "ais_type, source FROM positions WHERE mmsi = ?1 AND ts_ms BETWEEN ?2 AND ?3 "
            "ORDER BY ts_ms LIMIT ?4",
            -1, &q, nullptr),
        db, "prepare");
  double sink = 0;
  const Timing bare = median_ms(rounds, [&] {
    sqlite3_bind_int64(q, 1, kTarget);
    sqlite3_bind_int64(q, 2, from);
    sqlite3_bind_int64(q, 3, to);
    sqlite3_bind_int64(q, 4, INT64_MAX);
    std::size_t n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
      for (int c = 0; c < 10; ++c) sink += sqlite3_column_double(q, c);
      ++n;
    }
    sqlite3_reset(q);
    expect(n);
  });
  sqlite3_finalize(q);
  sqlite3_close(db);
  const Timing vec = median_ms(rounds, [&] { expect(store.track(kTarget, from, to, SIZE_MAX).size()); });
  const Timing visit = median_ms(rounds, [&] {
    expect(store.visit_track(kTarget, from, to, SIZE_MAX,
                             [&](const PositionFix& f) { sink += f.latlon.lat_deg; }));
  });
  const Timing motion = median_ms(rounds, [&] {
    expect(store.visit_track(
        kTarget, from, to, SIZE_MAX, [&](const PositionFix& f) { sink += f.latlon.lat_deg; },
        TrackFields::motion));
  });
  StatsResult r;
  const Timing route = median_ms(rounds, [&] {
    Stats stats;
    store.visit_track(
        kTarget, from, to, SIZE_MAX, [&](const PositionFix& f) { stats.add(f); }, TrackFields::motion);
    r = stats.result();
  });
  char note[160];
  std::snprintf(note, sizeof note, "points %zu, %.4f nm; target <= 10 ms: %s (wall), %s (CPU)", r.points,
                r.distance_nm, route.wall_ms <= 10.0 ? "ok" : "MISSED",
                route.cpu_ms <= 10.0 ? "ok" : "MISSED");
  std::printf("                                                  wall ms    CPU ms   ratio\n");
  row("bare sqlite3 SELECT of the rows (baseline)", bare, bare);
  row("Store::track (into a vector)", vec, bare);
  row("Store::visit_track (no vector)", visit, bare);
  row("Store::visit_track, TrackFields::motion", motion, bare);
  row("visit_track motion + Stats (GET /v1/stats)", route, bare, note);
  for (const std::string& step : store.track_query_plan()) std::printf("  plan: %s\n", step.c_str());
  if (sink == 42.0) std::printf(" \n");  // keeps the reads from being optimised away
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--fixes" && has_value) {
      o.fixes = std::stoul(argv[++i]);
    } else if (a == "--big-rows" && has_value) {
      o.big_rows = std::stoul(argv[++i]);
    } else if (a == "--rounds" && has_value) {
      o.rounds = std::max(1, std::stoi(argv[++i]));
    } else if (a == "--dir" && has_value) {
      o.dir = argv[++i];
    } else if (a == "--keep") {
      o.keep = true;
    } else {
      std::fprintf(
          stderr,
          "usage: aistrack-bench-stats [--fixes N] [--big-rows N] [--rounds R] [--dir DIR] [--keep]\n");
      return 2;
    }
  }
  fs::create_directories(o.dir);
  std::printf("Stats benchmark: %zu fixes (24 h at 2 s is 43,200), %d rounds, median ms\n\n", o.fixes,
              o.rounds);

  // ---- in memory ----
  std::vector<PositionFix> track;
  track.reserve(o.fixes);
  for (std::size_t i = 0; i < o.fixes; ++i) track.push_back(target_fix(i));
  const TimeMs from = kStart;
  const TimeMs to = kStart + static_cast<TimeMs>(o.fixes) * kStepMs;
  double haversine_m = 0;
  const Timing haversine = median_ms(o.rounds, [&] {
    haversine_m = 0;
    for (std::size_t i = 1; i < track.size(); ++i)
      haversine_m += geo::great_circle_m(track[i - 1].latlon, track[i].latlon);
  });
  double inverse_m = 0;
  const Timing inverse = median_ms(o.rounds, [&] {
    inverse_m = 0;
    for (std::size_t i = 1; i < track.size(); ++i)
      inverse_m += geodesic_distance_m(track[i - 1].latlon, track[i].latlon);
  });
  StatsResult mem;
  const Stats stats;
  const Timing compute = median_ms(o.rounds, [&] { mem = stats.compute(track, from, to); });
  char note[96];
  std::printf("in memory                                         wall ms    CPU ms   ratio\n");
  std::snprintf(note, sizeof note, "%.4f nm (spherical)", haversine_m / 1852);
  row("haversine loop (baseline)", haversine, haversine, note);
  std::snprintf(note, sizeof note, "%.4f nm", inverse_m / 1852);
  row("Geodesic::Inverse on every hop", inverse, haversine, note);
  std::snprintf(note, sizeof note, "%.4f nm, %.1e from Inverse", mem.distance_nm,
                std::abs(mem.distance_m - inverse_m) / inverse_m);
  row("Stats::compute (every measure and filter)", compute, haversine, note);
  std::printf("\n");

  // ---- one vessel's database ----
  const fs::path small = o.dir / "stats-small.db";
  build_small(small, o.fixes);
  std::printf("database of one vessel (%zu rows, written by the Store)\n", o.fixes);
  time_store(small, o.fixes, o.rounds);
  std::printf("\n");
  if (!o.keep) remove_db(small);

  // ---- a big database ----
  if (o.big_rows == 0) return 0;
  const fs::path big = o.dir / ("stats-big-" + std::to_string(o.big_rows) + ".db");
  if (!o.keep || !fs::exists(big)) {
    std::fprintf(stderr, "building %zu rows in %s …\n", o.big_rows, big.c_str());
    const double build_s = ms_of([&] { build_big(big, o.big_rows, o.fixes); }) / 1000.0;
    std::fprintf(stderr, "built in %.1f s (%.0f MB)\n", build_s,
                 static_cast<double>(fs::file_size(big)) / 1e6);
  }
  const std::size_t vessels = (o.big_rows + o.fixes - 1) / o.fixes;
  std::printf("database of %zu rows (%zu vessels x %zu fixes, time-major like a live feed)\n",
              vessels * o.fixes, vessels, o.fixes);
  time_store(big, o.fixes, o.rounds);
  if (!o.keep) remove_db(big);
  return 0;
}
