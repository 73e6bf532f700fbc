// What the SQLite benchmarks share (bench_main, bench_stats, bench_schema): timing, medians,
// SQLite error checks, and the one vessel whose 24 hours the stats benchmarks read.
#pragma once

#include <aistrack/geo.hpp>
#include <aistrack/message.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <vector>

namespace aistrack::bench {

inline constexpr Mmsi kTarget = 244700923;
inline constexpr TimeMs kStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
inline constexpr TimeMs kStepMs = 2000;              // one fix every 2 s: 43,200 a day

/// Wall-clock time of one call of `f`, seconds.
inline double seconds(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// CPU time this thread has used so far, ms (on a shared machine steadier than wall time).
inline double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

/// Median of `v` (the upper one of an even count); `v` must not be empty.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Exits with SQLite's message unless `rc` is SQLITE_OK, SQLITE_DONE or SQLITE_ROW.
inline void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "sqlite3 %s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

/// Removes an SQLite file with its -wal, -shm and -journal files.
inline void remove_db(const std::filesystem::path& p) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(p.string() + suffix);
}

/// Fix i of the target vessel: a ship on a slow great circle at about 12 kn with a little noise in
/// SOG, one fix every kStepMs from kStart.
inline PositionFix target_fix(std::size_t i) {
  PositionFix f;
  f.ts_ms = kStart + static_cast<TimeMs>(i) * kStepMs;
  const double t_h = static_cast<double>(i) * kStepMs / 3'600'000.0;
  f.latlon = geo::destination(LatLon{51.0, 2.0}, 20.0 + 10.0 * std::sin(t_h / 3.0), 12.0 * 1852.0 * t_h);
  f.sog_kn = 12.0 + 0.3 * std::sin(static_cast<double>(i) * 0.1);
  f.cog_deg = 20.0;
  f.ais_type = 1;
  f.source = Source::simulator;
  return f;
}

}  // namespace aistrack::bench
