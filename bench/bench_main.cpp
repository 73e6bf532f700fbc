// aistrack benchmarks. Each result is a ratio against a baseline measured in the same run
// on the same data, so machine noise mostly cancels:
//   parse  : aisstream::Parser::parse (JSON → Message)  vs  bare boost::json::parse of the same bytes
//   store  : Store::add_position + flush                 vs  bare sqlite3 prepared INSERT, same schema, same
//   batches path   : parse → Tracker → Store, messages per second (absolute; target 200,000/s)
//
// Usage: aistrack-bench [--frames N] [--rounds R] [--batch-rows B] [--dir DIR]
// Results and the command line that produced them are recorded in docs/PERFORMANCE.md.
#include "aisstream_frames.hpp"
#include "bench_support.hpp"

#include <aistrack/aisstream.hpp>
#include <aistrack/simulator.hpp>
#include <aistrack/store.hpp>
#include <aistrack/tracker.hpp>

#include <sqlite3.h>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace aistrack;
using namespace aistrack::bench;

namespace {

struct Options {
  std::size_t frames = 200'000;
  int rounds = 5;
  std::size_t batch_rows = 10'000;
  fs::path dir = fs::temp_directory_path() / "aistrack-bench";
};

std::vector<std::string> make_frames(std::size_t n) {
  SimConfig sc;
  sc.vessels = 2000;
  sc.seed = 42;
  sc.start_ms = 1'767'225'600'000;  // 2026-01-01
  Simulator sim(sc);
  std::vector<Message> batch;
  std::vector<std::string> frames;
  frames.reserve(n);
  for (TimeMs t = sc.start_ms; frames.size() < n; t += 1000) {
    batch.clear();
    sim.step(t, batch);
    for (const Message& m : batch) {
      if (frames.size() == n) break;
      frames.push_back(bench::to_aisstream_frame(m));
    }
  }
  return frames;
}

// The baseline: what a hand-written inserter would do with SQLite directly, on the schema the
// Store created (so the same table and index are maintained), with the same pragmas and batches.
void bare_sqlite_insert(const fs::path& path, const std::vector<std::pair<Mmsi, PositionFix>>& rows,
                        std::size_t batch_rows) {
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  // The Store's WAL settings (a checkpoint per 64 MiB of WAL, StoreConfig::checkpoint_mib).
  check(
      sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=16384",
                   nullptr, nullptr, nullptr),
      db, "pragma");
  sqlite3_extended_result_codes(db, 1);
  sqlite3_stmt* ins = nullptr;
  check(sqlite3_prepare_v2(
            db,
            "INSERT INTO positions (mmsi, ts_ms, lat_deg, lon_deg, sog_kn, cog_deg, heading_deg, "
            "nav_status, rot_deg_min, ais_type, source, seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            -1, &ins, nullptr),
        db, "prepare");
  // The key is (mmsi, ts_ms, seq): a hand-written inserter writes seq 0 and looks up the next seq
  // only when a vessel's second fix at the same time is refused.
  sqlite3_stmt* next_seq = nullptr;
  check(
      sqlite3_prepare_v2(db, "SELECT coalesce(max(seq) + 1, 0) FROM positions WHERE mmsi = ?1 AND ts_ms = ?2",
                         -1, &next_seq, nullptr),
      db, "prepare");
  auto opt_double = [&](int i, const std::optional<double>& v) {
    v ? sqlite3_bind_double(ins, i, *v) : sqlite3_bind_null(ins, i);
  };
  std::size_t in_batch = 0;
  check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
  for (const auto& [mmsi, f] : rows) {
    sqlite3_bind_int64(ins, 1, mmsi);
    sqlite3_bind_int64(ins, 2, f.ts_ms);
    sqlite3_bind_double(ins, 3, f.latlon.lat_deg);
    sqlite3_bind_double(ins, 4, f.latlon.lon_deg);
    opt_double(5, f.sog_kn);
    opt_double(6, f.cog_deg);
    f.heading_deg ? sqlite3_bind_int(ins, 7, *f.heading_deg) : sqlite3_bind_null(ins, 7);
    f.nav_status ? sqlite3_bind_int(ins, 8, static_cast<int>(*f.nav_status)) : sqlite3_bind_null(ins, 8);
    opt_double(9, f.rot_deg_min);
    sqlite3_bind_int(ins, 10, f.ais_type);
    sqlite3_bind_int(ins, 11, static_cast<int>(f.source));
    sqlite3_bind_int(ins, 12, 0);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
      sqlite3_bind_int64(next_seq, 1, mmsi);
      sqlite3_bind_int64(next_seq, 2, f.ts_ms);
      check(sqlite3_step(next_seq), db, "next seq");
      sqlite3_bind_int64(ins, 12, sqlite3_column_int64(next_seq, 0));
      sqlite3_reset(next_seq);
      rc = sqlite3_step(ins);
      sqlite3_reset(ins);
    }
    check(rc, db, "step");
    if (++in_batch == batch_rows) {
      check(sqlite3_exec(db, "COMMIT; BEGIN", nullptr, nullptr, nullptr), db, "commit");
      in_batch = 0;
    }
  }
  check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  sqlite3_finalize(ins);
  sqlite3_finalize(next_seq);
  sqlite3_close(db);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--frames")
      o.frames = std::stoul(next());
    else if (a == "--rounds")
      o.rounds = std::stoi(next());
    else if (a == "--batch-rows")
      o.batch_rows = std::stoul(next());
    else if (a == "--dir")
      o.dir = next();
    else {
      std::fprintf(stderr, "usage: %s [--frames N] [--rounds R] [--batch-rows B] [--dir DIR]\n", argv[0]);
      std::exit(2);
    }
  }
  if (o.frames == 0 || o.rounds < 1 || o.batch_rows == 0) {
    std::fprintf(stderr, "frames, rounds and batch-rows must be positive\n");
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse_args(argc, argv);
  fs::create_directories(opt.dir);
  std::printf("machine: %s, %u hardware threads\n", cpu_model().c_str(), std::thread::hardware_concurrency());
  std::printf("data: %zu simulator frames in aisstream.io JSON; %d rounds, median reported\n\n", opt.frames,
              opt.rounds);

  const std::vector<std::string> frames = make_frames(opt.frames);
  std::size_t bytes = 0;
  for (const auto& f : frames) bytes += f.size();
  const TimeMs now_ms = 1'767'225'600'000 + 86'400'000;

  // Rows for the store benchmark: exactly what the parser produces from the frames.
  std::vector<std::pair<Mmsi, PositionFix>> rows;
  {
    aisstream::Parser p;
    for (const auto& f : frames) {
      const auto r = p.parse(f, now_ms);
      if (r.status != aisstream::Status::ok) {
        std::fprintf(stderr, "bench frame rejected (%s): %s\n", r.reason.c_str(), f.c_str());
        return 1;
      }
      if (auto fix = fix_of(*r.message)) rows.emplace_back(r.message->mmsi, *fix);
    }
  }

  std::vector<double> bare_parse, our_parse, bare_store, our_store, path;
  for (int round = 0; round < opt.rounds; ++round) {
    // 1. parse
    std::size_t sink = 0;
    bare_parse.push_back(seconds([&] {
      for (const auto& f : frames) {
        boost::system::error_code ec;
        const auto v = boost::json::parse(f, ec);
        sink += v.is_object() ? v.get_object().size() : 0;
      }
    }));
    aisstream::Parser parser;
    our_parse.push_back(seconds([&] {
      for (const auto& f : frames) sink += parser.parse(f, now_ms).message->mmsi & 1U;
    }));
    if (sink == 42) std::printf(" ");  // keeps the loops from being optimised away

    // 2. store
    const fs::path ours = opt.dir / "ours.db";
    const fs::path bare = opt.dir / "bare.db";
    remove_db(ours);
    remove_db(bare);
    {
      StoreConfig sc;
      sc.path = bare.string();
      Store schema_only(sc);  // identical schema for the baseline
    }
    bare_store.push_back(seconds([&] { bare_sqlite_insert(bare, rows, opt.batch_rows); }));
    our_store.push_back(seconds([&] {
      StoreConfig sc;
      sc.path = ours.string();
      sc.batch_rows = opt.batch_rows;
      Store store(sc);
      for (const auto& [mmsi, fix] : rows) store.add_position(mmsi, fix);
      store.flush();
    }));

    // 3. whole path
    const fs::path whole = opt.dir / "path.db";
    remove_db(whole);
    path.push_back(seconds([&] {
      StoreConfig sc;
      sc.path = whole.string();
      sc.batch_rows = opt.batch_rows;
      Store store(sc);
      Tracker tracker;
      tracker.subscribe([&](const Update& u) {
        if (u.fix != nullptr) store.add_position(u.vessel.mmsi, *u.fix);
        store.upsert_vessel(u.vessel);
      });
      aisstream::Parser p;
      for (const auto& f : frames) {
        auto r = p.parse(f, now_ms);
        if (r.message) tracker.apply(*r.message, now_ms);
      }
      store.flush();
    }));
    remove_db(ours);
    remove_db(bare);
    remove_db(whole);
  }

  const double n = static_cast<double>(frames.size());
  const double mb = static_cast<double>(bytes) / 1e6;
  const double bp = median(bare_parse), op = median(our_parse);
  const double bs = median(bare_store), os = median(our_store);
  const double wp = median(path);
  const double rn = static_cast<double>(rows.size());
  std::printf("%-44s %14s %12s %8s %8s\n", "benchmark", "rate", "MB/s", "ratio", "target");
  std::printf("%-44s %12.0f/s %12.1f\n", "boost::json::parse (baseline)", n / bp, mb / bp);
  std::printf("%-44s %12.0f/s %12.1f %8.2f %8s %s\n", "aisstream::Parser::parse", n / op, mb / op, bp / op,
              ">=0.60", bp / op >= 0.6 ? "ok" : "MISSED");
  std::printf("%-44s %12.0f/s\n", "bare sqlite3 batched INSERT (baseline)", rn / bs);
  std::printf("%-44s %12.0f/s %12s %8.2f %8s %s\n", "Store::add_position + flush", rn / os, "", bs / os,
              ">=0.80", bs / os >= 0.8 ? "ok" : "MISSED");
  std::printf("%-44s %12.0f/s %12.1f %8s %8s %s\n", "parse -> Tracker -> Store (whole path)", n / wp, mb / wp,
              "", ">=200k/s", n / wp >= 200'000 ? "ok" : "MISSED");
  std::printf("\n(%zu frames, %.1f MB, %zu position rows, batch %zu rows)\n", frames.size(), mb, rows.size(),
              opt.batch_rows);
  return 0;
}
