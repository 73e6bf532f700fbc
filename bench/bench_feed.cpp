// The aisstream.io client path against parsing alone, in one run on the same frames:
//   parse     : aisstream::Parser::parse over the frames in memory (the baseline)
//   receive   : frames over a loopback WebSocket (the mock service) into the client's handler
//   → Store   : the server's path: socket → client thread → queue → App::tick (parse, Tracker,
//               Store) → flush, until every frame is stored
// Usage: aistrack-bench-feed [--frames N] [--rounds R]
#include <aistrack/aisstream.hpp>
#include <aistrack/net/aisstream_client.hpp>
#include <aistrack/simulator.hpp>

#include "aisstream_frames.hpp"
#include "app.hpp"
#include "log.hpp"
#include "mock_aisstream.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace aistrack;
namespace fs = std::filesystem;

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

TimeMs now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> make_frames(std::size_t n) {
  SimConfig sc;
  sc.vessels = 2000;
  sc.seed = 3;
  sc.start_ms = now_ms() - 24 * 3'600'000;
  Simulator sim(sc);
  std::vector<Message> batch;
  std::vector<std::string> out;
  for (TimeMs t = sc.start_ms; out.size() < n; t += 1000) {
    batch.clear();
    sim.step(t, batch);
    for (const auto& m : batch) {
      if (out.size() < n) out.push_back(bench::to_aisstream_frame(m));
    }
  }
  return out;
}

test::MockOptions mock_options(const std::vector<std::string>& frames) {
  test::MockOptions mo;
  mo.frame_interval_ms = 0;
  mo.frames = frames;
  return mo;
}
}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 200'000;
  int rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--frames")
      n = std::stoul(argv[i + 1]);
    else if (a == "--rounds")
      rounds = std::stoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--frames N] [--rounds R]\n", argv[0]);
      return 2;
    }
  }
  const auto frames = make_frames(n);
  std::printf("data: %zu simulator frames in aisstream.io JSON; %d rounds, median reported\n\n", n, rounds);
  std::vector<double> parse_s, receive_s, store_s;
  const fs::path dir = fs::temp_directory_path() / "aistrack-bench-feed";
  fs::create_directories(dir);

  for (int r = 0; r < rounds; ++r) {
    {
      aisstream::Parser p;
      std::size_t ok = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& f : frames) ok += p.parse(f, now_ms()).status == aisstream::Status::ok ? 1 : 0;
      parse_s.push_back(seconds_since(t0));
      if (ok != n) std::fprintf(stderr, "warning: %zu of %zu frames converted\n", ok, n);
    }
    {
      test::MockAisstream mock(mock_options(frames));
      asio::io_context io;
      auto guard = asio::make_work_guard(io);
      std::atomic<std::size_t> got{0};
      net::AisstreamClientConfig cfg;
      cfg.url = mock.url();
      cfg.subscription.api_key = "test-key-0123456789";
      net::AisstreamClient client(io, cfg, [&](std::string&&, std::int64_t) { got.fetch_add(1); }, {});
      const auto t0 = std::chrono::steady_clock::now();
      client.start();
      std::thread t([&] { io.run(); });
      while (got.load() < n + 1)
        std::this_thread::sleep_for(std::chrono::microseconds(200));  // +1: confirmation
      receive_s.push_back(seconds_since(t0));
      client.stop();
      guard.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      io.stop();
      t.join();
    }
    {
      test::MockAisstream mock(mock_options(frames));
      asio::io_context io;
      auto guard = asio::make_work_guard(io);
      server::ServerConfig c;
      c.db_path = (dir / "feed.db").string();
      for (const char* sfx : {"", "-wal", "-shm"}) fs::remove(c.db_path + sfx);
      c.aisstream_api_key = "test-key-0123456789";
      c.aisstream_url = mock.url();
      c.retention_days = 0;
      server::g_log_level = server::LogLevel::warn;
      {
        server::App app(c, now_ms(), &io);
        std::thread t([&] { io.run(); });
        const auto t0 = std::chrono::steady_clock::now();
        app.start_sources();
        for (;;) {
          app.tick(now_ms());
          const auto h = app.health(now_ms());
          const auto& fr = h.body.at("source").at("frames");
          if (fr.at("ok").to_number<std::size_t>() + fr.at("skipped").to_number<std::size_t>() >= n + 1)
            break;
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        app.shutdown();
        store_s.push_back(seconds_since(t0));
        app.stop_sources();
        guard.reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        io.stop();
        t.join();
      }
    }
  }
  const double dn = static_cast<double>(n);
  const double p = median(parse_s), rc = median(receive_s), st = median(store_s);
  std::printf("%-52s %12s %8s\n", "path", "frames/s", "ratio");
  std::printf("%-52s %12.0f %8s\n", "parse only (baseline)", dn / p, "1.00");
  std::printf("%-52s %12.0f %8.2f\n", "loopback WebSocket -> client handler", dn / rc, p / rc);
  std::printf("%-52s %12.0f %8.2f\n", "loopback -> client -> queue -> parse/Tracker/Store", dn / st, p / st);
  return 0;
}
