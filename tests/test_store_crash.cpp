// Crash safety: a child process writes batches forever and is SIGKILLed at a random point; the
// file must pass integrity_check, hold every batch the child saw committed, and no partial batch.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <aistrack/store.hpp>

#include "support.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

namespace {

constexpr std::int64_t kBatchRows = 200;
constexpr aistrack::Mmsi kMmsiBase = 100'000'000;

// Runs in the forked child: never returns into doctest, only _exit()s (or dies by SIGKILL).
[[noreturn]] void write_batches_forever(const std::string& path, std::int64_t first_batch, int report_fd) {
  try {
    aistrack::StoreConfig cfg;
    cfg.path = path;
    cfg.batch_rows = kBatchRows;
    cfg.batch_ms = 1'000'000'000;  // only batch_rows commits
    aistrack::Store store(cfg);
    for (std::int64_t batch = first_batch;; ++batch) {
      for (std::int64_t i = 0; i < kBatchRows; ++i) {
        aistrack::PositionFix fix;
        fix.ts_ms = batch * kBatchRows + i;
        fix.latlon = {static_cast<double>(i % 90), static_cast<double>(batch % 180)};
        fix.sog_kn = static_cast<double>(i);
        fix.ais_type = 1;
        fix.source = aistrack::Source::simulator;
        store.add_position(static_cast<aistrack::Mmsi>(kMmsiBase + batch), fix);  // the last add commits
      }
      if (::write(report_fd, &batch, sizeof batch) != static_cast<ssize_t>(sizeof batch)) ::_exit(3);
    }
  } catch (...) {
    ::_exit(2);
  }
}

// Reads one int64 from the pipe; false at EOF.
bool read_report(int fd, std::int64_t& batch) {
  auto* out = reinterpret_cast<char*>(&batch);
  std::size_t got = 0;
  while (got < sizeof batch) {
    const ssize_t n = ::read(fd, out + got, sizeof batch - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

struct Verdict {
  std::string integrity;
  std::map<std::int64_t, std::int64_t> rows_per_batch;  // batch -> row count
  std::int64_t bad_ts_rows = 0;                         // rows whose ts_ms does not match their batch
};

Verdict inspect(const std::string& path) {
  Verdict v;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    v.integrity += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  REQUIRE(sqlite3_prepare_v2(
              db, "SELECT mmsi, count(*), sum(ts_ms / ?1 != mmsi - ?2) FROM positions GROUP BY mmsi", -1,
              &stmt, nullptr) == SQLITE_OK);
  sqlite3_bind_int64(stmt, 1, kBatchRows);
  sqlite3_bind_int64(stmt, 2, kMmsiBase);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    v.rows_per_batch[sqlite3_column_int64(stmt, 0) - kMmsiBase] = sqlite3_column_int64(stmt, 1);
    v.bad_ts_rows += sqlite3_column_int64(stmt, 2);
  }
  sqlite3_finalize(stmt);
  sqlite3_close_v2(db);
  return v;
}

}  // namespace

TEST_CASE("store: SIGKILL mid-batch loses at most the open batch and never corrupts the file") {
  aistrack::test::TempDir dir;
  const std::string path = (dir / "crash.db").string();
  std::mt19937 rng(std::random_device{}());
  std::set<std::int64_t> reported;  // every batch a child said was committed, over all rounds

  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    CAPTURE(round);
    const std::int64_t first_batch = round * 100'000;
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      write_batches_forever(path, first_batch, fds[1]);
    }
    ::close(fds[1]);

    // Let it commit some batches (sometimes enough for a WAL checkpoint), then kill it at a
    // random point inside a later one.
    const int kill_after = 30 + static_cast<int>(rng() % 270);
    int seen = 0;
    std::int64_t batch = 0;
    while (seen < kill_after && read_report(fds[0], batch)) {
      reported.insert(batch);
      ++seen;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE_MESSAGE(seen == kill_after, "the child stopped early, status " << status);
    CHECK(WIFSIGNALED(status));
    // Reports written before the kill are still in the pipe.
    while (read_report(fds[0], batch)) reported.insert(batch);
    ::close(fds[0]);

    {
      // Opening through Store recovers the WAL the killed child left behind.
      aistrack::StoreConfig cfg;
      cfg.path = path;
      aistrack::Store store(cfg);
      CHECK(store.check() == "ok");
      CHECK(store.schema_version() == aistrack::Store::kSchemaVersion);
      const auto last = store.track(static_cast<aistrack::Mmsi>(kMmsiBase + *reported.rbegin()), 0,
                                    std::numeric_limits<aistrack::TimeMs>::max(), 1000);
      CHECK(last.size() == static_cast<std::size_t>(kBatchRows));
    }
    const Verdict v = inspect(path);
    CHECK(v.integrity == "ok");
    CHECK(v.bad_ts_rows == 0);
    for (const std::int64_t b : reported) {
      CAPTURE(b);
      const auto it = v.rows_per_batch.find(b);
      REQUIRE(it != v.rows_per_batch.end());
      CHECK(it->second == kBatchRows);
    }
    for (const auto& [b, rows] : v.rows_per_batch) {
      CAPTURE(b);
      CHECK(rows == kBatchRows);  // complete or absent, never partial
    }
    // At most one batch beyond what the child reported: committed, killed before it could tell us.
    CHECK(v.rows_per_batch.size() >= reported.size());
    CHECK(v.rows_per_batch.size() <= reported.size() + static_cast<std::size_t>(round + 1));
  }
}
