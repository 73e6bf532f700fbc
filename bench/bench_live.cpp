// Live push load (issue #7): N WebSocket clients of the real aistrack-server on loopback, each
// subscribed to one vessel (or to everything with --all), while NMEA position reports arrive over
// UDP at a fixed rate. The delay measured is from the server's receive time of the report (the
// record's "time": NMEA without a tag block is stamped when it is read, just before the Tracker)
// to the update's arrival at the client, so it includes ingest, fan-out and both socket hops.
//
//   aistrack-bench-live [--clients 1000,5000,10000] [--rate 1000] [--vessels 1000] [--seconds 20] [--all]
#include "aivdm.hpp"
#include "support.hpp"

#include <fmt/core.h>
#include <boost/json.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {
using WsClient = websocketpp::client<websocketpp::config::asio_client>;
using Clock = std::chrono::system_clock;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}

using aistrack::test::aivdm_type1;

// "2026-11-23T12:00:00.123Z" → ms since the epoch (UTC).
std::int64_t iso_ms(std::string_view s) {
  std::tm tm{};
  std::istringstream in(std::string(s.substr(0, 19)));
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  const std::int64_t ms = s.size() >= 23 ? std::stoi(std::string(s.substr(20, 3))) : 0;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

std::size_t rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

std::vector<std::size_t> parse_list(const std::string& s) {
  std::vector<std::size_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoul(item));
  return out;
}

struct Result {
  std::size_t clients = 0;
  std::size_t connected = 0;
  double rate_sent = 0;
  std::size_t expected = 0;
  std::size_t received = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  std::size_t server_rss_idle_kib = 0, server_rss_kib = 0, bench_rss_kib = 0;
};

Result run(std::size_t n_clients, std::size_t rate, std::size_t vessels, int seconds, bool all) {
  Result res;
  res.clients = n_clients;
  aistrack::test::TempDir dir;
  const int http_port = aistrack::test::free_port();
  const int udp_port = aistrack::test::free_port();
  aistrack::test::ChildProcess server(
      {AISTRACK_SERVER_BIN},
      {"HTTP_PORT=" + std::to_string(http_port), "DB_PATH=" + (dir / "live.db").string(),
       "ENV_FILE=", "AISSTREAM_API_KEY=", "SOURCE=none", "NMEA_UDP_PORT=" + std::to_string(udp_port),
       "LIVE_MAX_CLIENTS=" + std::to_string(n_clients + 100), "HTTP_THREADS=2", "LOG_LEVEL=warn",
       "MAX_CONNECTIONS_PER_ADDRESS=0"},  // every client comes from 127.0.0.1
      dir / "server.log");
  if (!aistrack::test::wait_for(
          [&] { return aistrack::test::http_request(http_port, "GET", "/health").status != 0; }, 30))
    throw std::runtime_error("server did not start: " + aistrack::test::slurp(dir / "server.log"));
  res.server_rss_idle_kib = rss_kib(server.pid());

  constexpr std::uint32_t kBaseMmsi = 211'000'000;
  // UDP sender: one report per vessel first, so every subscription has something in its snapshot.
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(udp_port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::uint64_t seq = 0;
  auto send_one = [&](std::uint32_t v) {
    const double t = static_cast<double>(seq++);
    const std::string s = aivdm_type1(kBaseMmsi + v, 54.0 + 0.001 * static_cast<double>(v % 500) + 1e-6 * t,
                                      3.0 + 0.002 * static_cast<double>(v / 500), 12.3, 45.0);
    ::sendto(fd, s.data(), s.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  };
  for (std::uint32_t v = 0; v < vessels; ++v) {
    send_one(v);
    if (v % 200 == 199) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  // Clients: one endpoint, one io thread (the measurement side must not be the bottleneck: it only
  // reads the "time" field of each update).
  WsClient client;
  client.clear_access_channels(websocketpp::log::alevel::all);
  client.clear_error_channels(websocketpp::log::elevel::all);
  client.init_asio();
  std::atomic<std::size_t> opened{0}, snapshots{0};
  std::atomic<bool> measuring{false};
  std::mutex lat_mutex;
  std::vector<std::int64_t> latencies_us;
  std::atomic<std::size_t> received{0};
  client.set_message_handler([&](websocketpp::connection_hdl, WsClient::message_ptr msg) {
    const std::int64_t at_us = now_us();
    const std::string& p = msg->get_payload();
    if (p.rfind(R"({"type":"snapshot")", 0) == 0) {
      ++snapshots;
      return;
    }
    if (!measuring) return;
    const auto k = p.find(R"("time":")");
    if (k == std::string::npos) return;
    const std::int64_t sent_ms = iso_ms(std::string_view(p).substr(k + 8, 24));
    ++received;
    std::lock_guard lock(lat_mutex);
    latencies_us.push_back(at_us - sent_ms * 1000);
  });
  std::vector<WsClient::connection_ptr> cons;
  std::thread io([&] {
    client.start_perpetual();
    client.run();
  });
  const std::string url = "ws://127.0.0.1:" + std::to_string(http_port) + "/v1/live";
  std::vector<std::uint32_t> subscribed_to(n_clients);
  for (std::size_t i = 0; i < n_clients; ++i) {
    std::error_code ec;
    auto con = client.get_connection(url, ec);
    if (ec) throw std::runtime_error(ec.message());
    subscribed_to[i] = static_cast<std::uint32_t>(i % vessels);
    const std::string sub =
        all ? std::string(R"({"type":"subscribe"})")
            : fmt::format(R"({{"type":"subscribe","mmsi":[{}]}})", kBaseMmsi + subscribed_to[i]);
    con->set_open_handler([&client, &opened, sub](websocketpp::connection_hdl hdl) {
      ++opened;
      std::error_code e;
      client.send(hdl, sub, websocketpp::frame::opcode::text, e);
    });
    client.connect(con);
    cons.push_back(con);
    // Stay under the listen backlog.
    if (i % 500 == 499) aistrack::test::wait_for([&] { return opened.load() + 50 >= i + 1; }, 30);
  }
  aistrack::test::wait_for([&] { return snapshots.load() >= n_clients; }, 120);
  res.connected = snapshots.load();

  // Measure: `seconds` of reports at `rate`, after one second of warm-up.
  const auto start = std::chrono::steady_clock::now();
  const auto total = std::chrono::seconds(seconds + 1);
  std::size_t sent = 0, sent_measured = 0;
  std::vector<std::size_t> subscribers(vessels, 0);
  for (const auto v : subscribed_to) ++subscribers[v];
  std::uint32_t next_vessel = 0;
  while (true) {
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (elapsed >= total) break;
    if (!measuring && elapsed >= std::chrono::seconds(1)) measuring = true;
    const auto due =
        static_cast<std::size_t>(std::chrono::duration<double>(elapsed).count() * static_cast<double>(rate));
    while (sent < due) {
      send_one(next_vessel);
      if (measuring) {
        ++sent_measured;
        res.expected += all ? n_clients : subscribers[next_vessel];
      }
      next_vessel = (next_vessel + 1) % static_cast<std::uint32_t>(vessels);
      ++sent;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  res.rate_sent = static_cast<double>(sent_measured) / seconds;
  std::this_thread::sleep_for(std::chrono::seconds(2));  // let the last updates arrive
  measuring = false;
  res.server_rss_kib = rss_kib(server.pid());
  res.bench_rss_kib = rss_kib(static_cast<int>(::getpid()));
  res.received = received.load();
  {
    std::lock_guard lock(lat_mutex);
    std::sort(latencies_us.begin(), latencies_us.end());
    if (!latencies_us.empty()) {
      const auto at = [&](double q) {
        return static_cast<double>(latencies_us[std::min(
                   latencies_us.size() - 1,
                   static_cast<std::size_t>(q * static_cast<double>(latencies_us.size())))]) /
               1000.0;
      };
      res.p50_ms = at(0.50);
      res.p99_ms = at(0.99);
      res.max_ms = static_cast<double>(latencies_us.back()) / 1000.0;
    }
  }
  ::close(fd);
  for (auto& con : cons) {
    std::error_code ignored;
    con->close(websocketpp::close::status::going_away, "", ignored);
  }
  client.stop_perpetual();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  client.stop();
  io.join();
  server.signal(SIGTERM);
  server.wait(30);
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> clients = {1000, 5000, 10000};
  std::size_t rate = 1000, vessels = 1000;
  int seconds = 20;
  bool all = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--clients")
      clients = parse_list(value());
    else if (a == "--rate")
      rate = std::stoul(value());
    else if (a == "--vessels")
      vessels = std::stoul(value());
    else if (a == "--seconds")
      seconds = std::stoi(value());
    else if (a == "--all")
      all = true;
    else {
      fmt::print(stderr,
                 "usage: aistrack-bench-live [--clients 1000,5000,10000] [--rate N] [--vessels N] "
                 "[--seconds S] [--all]\n");
      return 2;
    }
  }
  // Each client is a socket here and one in the server.
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  fmt::print(
      "| clients | subscribed to | reports/s | updates expected | received | p50 ms | p99 ms | max ms | "
      "server RSS idle → loaded MiB | bench RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto n : clients) {
    const Result r = run(n, rate, vessels, seconds, all);
    fmt::print(
        "| {} ({} connected) | {} | {:.0f} | {} | {} | {:.1f} | {:.1f} | {:.1f} | {:.0f} → {:.0f} | {:.0f} "
        "|\n",
        r.clients, r.connected, all ? "everything" : "one vessel each", r.rate_sent, r.expected, r.received,
        r.p50_ms, r.p99_ms, r.max_ms, static_cast<double>(r.server_rss_idle_kib) / 1024,
        static_cast<double>(r.server_rss_kib) / 1024, static_cast<double>(r.bench_rss_kib) / 1024);
    std::fflush(stdout);
  }
  return 0;
}
