// The aisstream.io client path against parsing alone, in one run on the same frames:
//   parse     : aisstream::Parser::parse over the frames in memory (the baseline)
//   receive   : frames over a loopback WebSocket into the client's handler, from a sender that
//               costs almost nothing (bench/ws_blaster.hpp), as text and as binary frames, and
//               from the tests' mock service (websocketpp on the same 2 cores as the client)
//   replay    : the server's path without a network: a file of the same frames → App::tick
//               (parse, Tracker, Store), until every frame is stored
//   → Store   : the server's path: socket → client thread → queue → App::tick (parse, Tracker,
//               Store), until every frame is stored
// Usage: aistrack-bench-feed [--frames N] [--rounds R]
#include <aistrack/aisstream.hpp>
#include <aistrack/net/aisstream_client.hpp>
#include <aistrack/simulator.hpp>

#include "aisstream_frames.hpp"
#include "app.hpp"
#include "bench_support.hpp"
#include "log.hpp"
#include "mock_aisstream.hpp"
#include "ws_blaster.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace aistrack;
namespace fs = std::filesystem;

namespace {
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

// Lets the io thread finish what stop() posted (the close handshake), then ends it.
void wind_down(asio::executor_work_guard<asio::io_context::executor_type>& guard, asio::io_context& io,
               std::thread& t) {
  guard.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  io.stop();
  t.join();
}

// Seconds from client.start() until `expect` frames reached the handler.
double time_receive(const std::string& url, std::size_t expect) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::atomic<std::size_t> got{0};
  net::AisstreamClientConfig cfg;
  cfg.url = url;
  cfg.subscription.api_key = "test-key-0123456789";
  net::AisstreamClient client(io, cfg, [&](std::string&&, std::int64_t) { got.fetch_add(1); }, {});
  std::thread t([&] { io.run(); });
  const double s = bench::seconds([&] {
    client.start();
    while (got.load() < expect) std::this_thread::sleep_for(std::chrono::microseconds(200));
  });
  client.stop();
  wind_down(guard, io, t);
  return s;
}

// Seconds the server's App takes from starting its source until `expect` frames are ingested
// (committed to the Store by App::shutdown).
double time_app(server::ServerConfig c, std::size_t expect, const fs::path& dir) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  c.db_path = (dir / "feed.db").string();
  bench::remove_db(c.db_path);
  c.retention_days = 0;
  // The sender outruns ingest; a full queue would drop frames and the count below never arrive.
  c.ingest_queue_frames = std::max(c.ingest_queue_frames, expect + 1);
  server::g_log_level = server::LogLevel::warn;
  server::App app(c, now_ms(), &io);
  std::thread t([&] { io.run(); });
  const double s = bench::seconds([&] {
    app.start_sources();
    for (;;) {
      app.tick(now_ms());
      const auto h = app.health(now_ms());
      const auto& fr = h.body.at("source").at("frames");
      if (fr.at("ok").to_number<std::size_t>() + fr.at("skipped").to_number<std::size_t>() >= expect) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    app.shutdown();
  });
  app.stop_sources();
  wind_down(guard, io, t);
  return s;
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
  const fs::path dir = fs::temp_directory_path() / "aistrack-bench-feed";
  fs::create_directories(dir);
  const fs::path replay_file = dir / "frames.jsonl";
  {
    std::ofstream out(replay_file);
    for (const auto& f : frames) out << f << '\n';
  }
  const bench::WsBlaster text(frames, false);
  const bench::WsBlaster binary(frames, true);
  std::printf(
      "data: %zu simulator frames in aisstream.io JSON (%.0f bytes each on average); %d rounds, median\n\n",
      n, static_cast<double>(text.stream_bytes()) / static_cast<double>(n), rounds);
  std::vector<double> parse_s, text_s, binary_s, mock_s, replay_s, store_s;
  for (int r = 0; r < rounds; ++r) {
    parse_s.push_back(bench::seconds([&] {
      aisstream::Parser p;
      std::size_t ok = 0;
      for (const auto& f : frames) ok += p.parse(f, now_ms()).status == aisstream::Status::ok ? 1 : 0;
      if (ok != n) std::fprintf(stderr, "warning: %zu of %zu frames converted\n", ok, n);
    }));
    text_s.push_back(time_receive(text.url(), n));
    binary_s.push_back(time_receive(binary.url(), n));
    {
      test::MockAisstream mock(mock_options(frames));
      mock_s.push_back(time_receive(mock.url(), n + 1));  // +1: the mock's confirmation frame
    }
    server::ServerConfig c;
    c.source = "replay:" + replay_file.string();
    c.replay_speed = 0;
    replay_s.push_back(time_app(c, n, dir));
    c = server::ServerConfig{};
    c.aisstream_api_key = "test-key-0123456789";
    c.aisstream_url = text.url();
    store_s.push_back(time_app(c, n, dir));
  }
  const double dn = static_cast<double>(n);
  const double p = bench::median(parse_s);
  std::printf("%-60s %12s %8s\n", "path", "frames/s", "ratio");
  const auto row = [&](const char* name, const std::vector<double>& s) {
    const double m = bench::median(s);
    std::printf("%-60s %12.0f %8.2f\n", name, dn / m, p / m);
  };
  row("parse only (baseline)", parse_s);
  row("loopback WebSocket, text frames -> client handler", text_s);
  row("loopback WebSocket, binary frames -> client handler", binary_s);
  row("the tests' mock service (websocketpp sender) -> handler", mock_s);
  row("replay file -> parse/Tracker/Store (no network)", replay_s);
  row("loopback -> client -> queue -> parse/Tracker/Store", store_s);
  return 0;
}
