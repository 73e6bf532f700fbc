// Cross-instance live delay (issue #9): two real aistrack-server processes share a real redis-server
// on loopback. NMEA position reports go over UDP to instance A only; one /v1/live client on A and
// one on B hear every update. The delay of an update is from A's receive time of the report (the
// record's "time": NMEA without a tag block is stamped when A reads it) to its arrival at the
// client. The baseline, measured in the same run on the same updates, is the client on A (same
// instance); the client on B adds A's publish, Redis, B's subscriber, B's tick and B's fan-out.
//
//   aistrack-bench-redis-live [--rate 200] [--vessels 100] [--seconds 10]
#include "aivdm.hpp"
#include "live_client.hpp"
#include "scaleout_servers.hpp"
#include "support.hpp"

#include <aistrack/types.hpp>

#include <fmt/core.h>
#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {
namespace json = boost::json;
using aistrack::test::http_request;
using aistrack::test::wait_for;

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One aistrack-server with REDIS_URL, its own database and log.
struct Instance {
  aistrack::test::TempDir dir;
  int port = aistrack::test::free_port();
  std::unique_ptr<aistrack::test::ChildProcess> proc;
  Instance(const std::string& redis_url, std::vector<std::string> env) {
    env.insert(env.end(), {"HTTP_PORT=" + std::to_string(port), "DB_PATH=" + (dir / "db.sqlite").string(),
                           "ENV_FILE=", "AISSTREAM_API_KEY=", "SOURCE=none", "LOG_LEVEL=warn",
                           "REDIS_URL=" + redis_url});
    proc = std::make_unique<aistrack::test::ChildProcess>(std::vector<std::string>{AISTRACK_SERVER_BIN}, env,
                                                          dir / "server.log");
    const bool up = wait_for(
        [&] {
          const auto r = http_request(port, "GET", "/health");
          return r.status == 200 && json::parse(r.body).at("redis").at("state").as_string() == "connected";
        },
        30);
    if (!up)
      throw std::runtime_error("server did not connect to Redis: " +
                               aistrack::test::slurp(dir / "server.log"));
  }
  ~Instance() {
    proc->signal(SIGTERM);
    proc->wait(30);
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
};

// A /v1/live client subscribed to everything, and the delay of each update it hears, keyed by
// (MMSI, report time) so the two clients' delays for the same update can be compared.
struct Listener {
  aistrack::test::LiveClient client;
  std::thread reader;
  std::atomic<bool> running{true};
  std::mutex mutex;
  std::map<std::pair<std::int64_t, std::int64_t>, double> delay_ms;
  std::int64_t measure_from_ms = 0;

  explicit Listener(int port) : client(port) {
    if (!client.wait_open(30)) throw std::runtime_error("live client did not connect");
    client.send(R"({"type":"subscribe"})");
    const auto snap = client.next(20);
    if (!snap) throw std::runtime_error("no snapshot");
    reader = std::thread([this] { read(); });
  }
  ~Listener() {
    running = false;
    reader.join();
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  void read() {
    while (running) {
      const auto m = client.next(0.1);
      if (!m) continue;
      const std::int64_t at_us = wall_us();
      boost::system::error_code ec;
      const json::value doc = json::parse(*m, ec);
      if (ec || doc.at("type").as_string() != "update") continue;
      const auto& v = doc.at("vessel");
      const auto t = aistrack::parse_iso8601(v.at("time").as_string());
      if (!t) continue;
      std::lock_guard lock(mutex);
      if (*t < measure_from_ms) continue;
      delay_ms[{v.at("mmsi").to_number<std::int64_t>(), *t}] =
          static_cast<double>(at_us - *t * 1000) / 1000.0;
    }
  }
};

struct Quantiles {
  std::size_t n = 0;
  double p50 = 0, p99 = 0, max = 0;
};

Quantiles quantiles(std::vector<double> v) {
  Quantiles q;
  q.n = v.size();
  if (v.empty()) return q;
  std::sort(v.begin(), v.end());
  const auto rank = [&](double f) {
    return v[std::min(v.size() - 1, static_cast<std::size_t>(f * static_cast<double>(v.size())))];
  };
  q.p50 = rank(0.50);
  q.p99 = rank(0.99);
  q.max = v.back();
  return q;
}
}  // namespace

int main(int argc, char** argv) {
  std::size_t rate = 200, vessels = 100;
  int seconds = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      fmt::print(stderr, "usage: aistrack-bench-redis-live [--rate N] [--vessels N] [--seconds S]\n");
      return 2;
    }
    const std::string value = argv[++i];
    if (a == "--rate")
      rate = std::stoul(value);
    else if (a == "--vessels")
      vessels = std::stoul(value);
    else if (a == "--seconds")
      seconds = std::stoi(value);
    else {
      fmt::print(stderr, "unknown option {}\n", a);
      return 2;
    }
  }
  std::string why_not;
  const auto redis = aistrack::test::RedisServer::start(why_not);
  if (!redis) {
    fmt::print("SKIPPED: {}\n", why_not);
    return 0;
  }
  const int udp_port = aistrack::test::free_port();
  Instance a(redis->url(), {"NMEA_UDP_PORT=" + std::to_string(udp_port)});
  Instance b(redis->url(), {});
  Listener on_a(a.port);
  Listener on_b(b.port);

  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(udp_port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  constexpr std::uint32_t kBaseMmsi = 232'000'000;
  std::uint64_t sent = 0;
  // A second of warm-up (connections, first vessels), then `seconds` measured at `rate` reports/s.
  const auto start = std::chrono::steady_clock::now();
  std::size_t measured = 0;
  bool measuring = false;
  while (true) {
    const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed_s >= seconds + 1) break;
    if (!measuring && elapsed_s >= 1) {
      measuring = true;
      const std::int64_t from_ms = wall_us() / 1000 + 1;
      for (Listener* l : {&on_a, &on_b}) {
        std::lock_guard lock(l->mutex);
        l->measure_from_ms = from_ms;
        l->delay_ms.clear();
      }
    }
    while (static_cast<double>(sent) < elapsed_s * static_cast<double>(rate)) {
      const auto v = static_cast<std::uint32_t>(sent % vessels);
      const std::string s = aistrack::test::aivdm_type1(
          kBaseMmsi + v, 54.0 + 1e-3 * v + 1e-6 * static_cast<double>(sent), 3.0 + 1e-3 * v, 12.3, 45.0);
      ::sendto(fd, s.data(), s.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
      ++sent;
      if (measuring) ++measured;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the last updates arrive
  ::close(fd);

  std::vector<double> da, db, extra;
  {
    std::lock_guard la(on_a.mutex);
    std::lock_guard lb(on_b.mutex);
    for (const auto& [key, ms] : on_a.delay_ms) {
      da.push_back(ms);
      if (const auto it = on_b.delay_ms.find(key); it != on_b.delay_ms.end())
        extra.push_back(it->second - ms);
    }
    for (const auto& [key, ms] : on_b.delay_ms) db.push_back(ms);
  }
  const Quantiles qa = quantiles(da), qb = quantiles(db), qx = quantiles(extra);
  fmt::print("reports sent to A: {} ({} measured over {} s at {}/s, {} vessels)\n\n", sent, measured, seconds,
             rate, vessels);
  fmt::print("| client | updates | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n");
  fmt::print("| on A (baseline: same instance) | {} | {:.1f} | {:.1f} | {:.1f} |\n", qa.n, qa.p50, qa.p99,
             qa.max);
  fmt::print("| on B (through Redis) | {} | {:.1f} | {:.1f} | {:.1f} |\n", qb.n, qb.p50, qb.p99, qb.max);
  fmt::print("| B − A, same update | {} | {:.1f} | {:.1f} | {:.1f} |\n\n", qx.n, qx.p50, qx.p99, qx.max);
  fmt::print("ratio B/A: p50 {:.2f}, p99 {:.2f}; target p99 on B <= 100 ms: {}\n",
             qa.p50 > 0 ? qb.p50 / qa.p50 : 0.0, qa.p99 > 0 ? qb.p99 / qa.p99 : 0.0,
             qb.p99 <= 100 ? "met" : "MISSED");
  return qb.n > 0 ? 0 : 1;
}
