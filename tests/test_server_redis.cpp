// Live updates across instances (issue #9) with real parts only: a real redis-server and two real
// aistrack-server processes on loopback. A ingests (the simulator), B has no source: B's /v1/live
// clients and REST answers see A's vessels through Redis; both keep serving while Redis is down; B
// catches up from a shared database when Redis comes back.
#include <doctest/doctest.h>

#include "live_client.hpp"
#include "scaleout_servers.hpp"
#include "scaleout_skip.hpp"
#include "support.hpp"

#include <hiredis/hiredis.h>

#include <boost/json.hpp>

#include <fmt/core.h>

#include <csignal>
#include <optional>

using namespace aistrack;
namespace json = boost::json;

namespace {
const std::string kServerBin = AISTRACK_SERVER_BIN;
constexpr const char* kPassword = "s3cret-redis-pw-4711";

// One aistrack-server process with REDIS_URL and its own (or a shared) SQLite file.
struct Instance {
  int port = test::free_port();
  std::filesystem::path log_path;
  std::unique_ptr<test::ChildProcess> proc;
  Instance(const test::TempDir& dir, const std::string& name, const std::string& db,
           std::vector<std::string> env) {
    log_path = dir / (name + ".log");
    env.insert(env.end(), {"HTTP_PORT=" + std::to_string(port), "DB_PATH=" + (dir / db).string(),
                           "ENV_FILE=", "AISSTREAM_API_KEY=", "STORE_BATCH_MS=100", "LOG_LEVEL=debug"});
    proc = std::make_unique<test::ChildProcess>(std::vector<std::string>{kServerBin}, env, log_path);
    REQUIRE_MESSAGE(test::wait_for([&] { return get("/health").status == 200; }, 30), output());
  }
  [[nodiscard]] test::HttpResponse get(const std::string& target) const {
    return test::http_request(port, "GET", target);
  }
  [[nodiscard]] json::object health() const {
    const auto r = get("/health");
    return r.status == 0 ? json::object{} : json::parse(r.body).as_object();
  }
  [[nodiscard]] std::string redis_state() const {
    const auto h = health();
    return h.contains("redis") ? std::string(h.at("redis").at("state").as_string()) : "";
  }
  [[nodiscard]] std::int64_t redis_count(const char* key) const {
    const auto h = health();
    return h.contains("redis") ? h.at("redis").at(key).to_number<std::int64_t>() : -1;
  }
  [[nodiscard]] std::string output() const { return test::slurp(log_path); }
};

// MMSIs of the vessels an instance holds in memory.
std::vector<std::int64_t> vessels_of(const Instance& s) {
  std::vector<std::int64_t> out;
  const auto r = s.get("/v1/vessels?limit=1000");
  if (r.status != 200) return out;
  const json::value doc = json::parse(r.body);  // outlives the loop over its array
  for (const auto& v : doc.at("vessels").as_array()) out.push_back(v.at("mmsi").to_number<std::int64_t>());
  return out;
}

// MMSI of the first live update a client receives within `timeout_s`, skipping snapshots.
std::optional<std::int64_t> next_update(test::LiveClient& c, double timeout_s) {
  std::optional<std::int64_t> mmsi;
  test::wait_for(
      [&] {
        while (const auto m = c.next(0.2)) {
          const auto o = json::parse(*m).as_object();
          if (o.at("type").as_string() == "update") {
            mmsi = o.at("vessel").at("mmsi").to_number<std::int64_t>();
            return true;
          }
        }
        return false;
      },
      timeout_s);
  return mmsi;
}

// A live client on `s` that has its (possibly empty) snapshot and waits for updates.
std::unique_ptr<test::LiveClient> subscribed(const Instance& s) {
  auto c = std::make_unique<test::LiveClient>(s.port);
  REQUIRE(c->wait_open(30));
  c->send(R"({"type":"subscribe"})");
  const auto snap = c->next(20);
  REQUIRE(snap);
  CHECK(json::parse(*snap).at("type").as_string() == "snapshot");
  return c;
}

// Turns on requirepass (a fresh redis-server forgets it, so again after each restart).
void require_password(const test::RedisServer& redis) {
  redisContext* c = redisConnect("127.0.0.1", redis.port());
  REQUIRE((c != nullptr && c->err == 0));
  auto* reply = static_cast<redisReply*>(redisCommand(c, "CONFIG SET requirepass %s", kPassword));
  REQUIRE(reply != nullptr);
  CHECK(reply->type == REDIS_REPLY_STATUS);
  freeReplyObject(reply);
  redisFree(c);
}
}  // namespace

TEST_CASE(
    "server redis: a live client on instance B sees the vessels instance A ingests, and B serves them") {
  std::string why_not;
  const auto redis = test::RedisServer::start(why_not);
  if (!test::scaleout_available(redis.get(), why_not)) return;
  test::TempDir dir;
  const Instance b(dir, "b", "b.db", {"SOURCE=none", "REDIS_URL=" + redis->url()});
  REQUIRE(test::wait_for([&] { return b.redis_state() == "connected"; }, 15));
  CHECK(vessels_of(b).empty());
  const auto live_b = subscribed(b);

  const Instance a(dir, "a", "a.db",
                   {"SOURCE=simulator", "SIM_VESSELS=6", "SIM_SEED=9", "REDIS_URL=" + redis->url()});
  const auto mmsi = next_update(*live_b, 30);
  REQUIRE_MESSAGE(mmsi, b.output());
  // B answers it from memory although its own database never saw it.
  const auto r = b.get("/v1/ais/" + std::to_string(*mmsi));
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body).at("mmsi").to_number<std::int64_t>() == *mmsi);
  REQUIRE(test::wait_for([&] { return vessels_of(b).size() == 6; }, 60));
  // The positions B holds are A's, field for field (A's record of each vessel is the same JSON).
  REQUIRE(test::wait_for(
      [&] {
        const auto from_a = a.get("/v1/ais/" + std::to_string(*mmsi));
        const auto from_b = b.get("/v1/ais/" + std::to_string(*mmsi));
        return from_a.status == 200 && from_a.body == from_b.body;
      },
      30));
  CHECK(b.health().at("store").at("vessels_written").to_number<std::int64_t>() == 0);

  // Counters on both sides; A ignores its own messages and never re-publishes B's.
  CHECK(a.redis_count("published") >= 6);
  CHECK(a.redis_count("received") == 0);
  CHECK(a.redis_count("own_messages") >= 1);
  CHECK(b.redis_count("received") >= 6);
  CHECK(b.redis_count("published") == 0);
  CHECK(b.redis_count("merged") >= 6);
  const std::string metrics = b.get("/metrics").body;
  for (const char* name :
       {"aistrack_redis_published_total 0", "aistrack_redis_received_total ",
        "aistrack_redis_dropped_total{reason=\"malformed\"} 0", "aistrack_redis_reconnects_total 0"})
    CHECK_MESSAGE(metrics.find(name) != std::string::npos, name);
}

TEST_CASE(
    "server redis: both instances keep serving while Redis is down and B hears A again once it is back") {
  std::string why_not;
  const auto redis = test::RedisServer::start(why_not);
  if (!test::scaleout_available(redis.get(), why_not)) return;
  require_password(*redis);
  const std::string port = std::to_string(redis->port());
  test::TempDir dir;
  // One instance with a password alone, the other with user and password (AUTH default …).
  const Instance b(dir, "b", "b.db",
                   {"SOURCE=none", fmt::format("REDIS_URL=redis://:{}@127.0.0.1:{}", kPassword, port)});
  const Instance a(dir, "a", "a.db",
                   {"SOURCE=simulator", "SIM_VESSELS=4", "SIM_SEED=4",
                    fmt::format("REDIS_URL=redis://default:{}@127.0.0.1:{}/0", kPassword, port)});
  const auto live_b = subscribed(b);
  REQUIRE_MESSAGE(next_update(*live_b, 30), b.output());

  redis->stop();
  REQUIRE(test::wait_for([&] { return b.redis_state() == "down" && a.redis_state() == "down"; }, 20));
  // B never publishes (no source of its own): its publisher finds out with an idle PING.
  CHECK(test::wait_for([&] { return b.health().at("redis").at("publisher").as_string() == "down"; }, 20));
  for (const Instance* s : {&a, &b}) {
    CHECK(s->get("/health").status == 200);
    CHECK(s->get("/v1/vessels").status == 200);
    CHECK_FALSE(s->health().at("redis").at("last_error").is_null());
  }
  CHECK_FALSE(vessels_of(b).empty());  // what B learnt stays in memory

  REQUIRE_MESSAGE(redis->restart(), redis->log());
  require_password(*redis);
  REQUIRE(
      test::wait_for([&] { return b.redis_state() == "connected" && a.redis_state() == "connected"; }, 60));
  live_b->take_all();
  CHECK(next_update(*live_b, 30));
  CHECK(b.redis_count("reconnects") >= 1);

  // The password never shows: not in the logs (which say each state change once), not in /health.
  for (const Instance* s : {&a, &b}) {
    const std::string out = s->output();
    CHECK(out.find(kPassword) == std::string::npos);
    CHECK(s->get("/health").body.find(kPassword) == std::string::npos);
    CHECK(s->get("/metrics").body.find(kPassword) == std::string::npos);
    CHECK(out.find("subscriber down") != std::string::npos);
  }
}

TEST_CASE("server redis: after an outage B catches up from the shared database without a new update") {
  std::string why_not;
  const auto redis = test::RedisServer::start(why_not);
  if (!test::scaleout_available(redis.get(), why_not)) return;
  test::TempDir dir;
  // Two processes on one SQLite file (WAL); only A ingests.
  const Instance b(dir, "b", "shared.db", {"SOURCE=none", "REDIS_URL=" + redis->url()});
  REQUIRE(test::wait_for([&] { return b.redis_state() == "connected"; }, 15));
  redis->stop();
  REQUIRE(test::wait_for([&] { return b.redis_state() == "down"; }, 15));

  std::vector<std::int64_t> stored;
  {
    // A ingests and stores during the outage, then stops: nothing it does can reach B but the database.
    Instance a(dir, "a", "shared.db",
               {"SOURCE=simulator", "SIM_VESSELS=3", "SIM_SEED=7", "REDIS_URL=" + redis->url()});
    REQUIRE(test::wait_for(
        [&] { return a.health().at("store").at("vessels_written").to_number<std::int64_t>() >= 3; }, 60));
    stored = vessels_of(a);
    a.proc->signal(SIGTERM);
    REQUIRE(a.proc->wait(30) == 0);
  }
  REQUIRE(stored.size() == 3);
  CHECK(vessels_of(b).empty());
  CHECK(b.get("/v1/ais/" + std::to_string(stored[0])).status == 404);
  const auto live_b = subscribed(b);

  REQUIRE_MESSAGE(redis->restart(), redis->log());
  REQUIRE(test::wait_for([&] { return vessels_of(b).size() == 3; }, 60));  // backoff up to 30 s
  CHECK(b.get("/v1/ais/" + std::to_string(stored[0])).status == 200);
  CHECK(b.redis_count("caught_up") == 3);
  CHECK(b.redis_count("received") == 0);
  CHECK(next_update(*live_b, 10));  // live clients are told of what the catch-up brought
}

TEST_CASE("server redis: a bad REDIS_URL stops the server with status 2, naming it without the password") {
  test::TempDir dir;
  test::ChildProcess server(
      {kServerBin},
      {"ENV_FILE=", "HTTP_PORT=" + std::to_string(test::free_port()), "DB_PATH=" + (dir / "x.db").string(),
       fmt::format("REDIS_URL=redis://:{}@127.0.0.1:99999", kPassword)},
      dir / "server.log");
  CHECK(server.wait(30) == 2);
  const std::string out = test::slurp(dir / "server.log");
  CHECK(out.find("REDIS_URL") != std::string::npos);
  CHECK(out.find(kPassword) == std::string::npos);
}

TEST_CASE("server redis: without REDIS_URL /health says redis is off and the counters are zero") {
  test::TempDir dir;
  const Instance s(dir, "solo", "solo.db", {"SOURCE=none"});
  CHECK(s.redis_state() == "off");
  const std::string metrics = s.get("/metrics").body;
  CHECK(metrics.find("aistrack_redis_published_total 0") != std::string::npos);
  CHECK(metrics.find("aistrack_redis_dropped_total{reason=\"queue_full\"} 0") != std::string::npos);
}
