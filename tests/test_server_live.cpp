// /v1/live over real WebSockets against the real aistrack-server binary on the simulator:
// snapshot then updates, filters, errors that keep the connection, limits, slow clients.
#include <doctest/doctest.h>

#include "live_client.hpp"
#include "support.hpp"

#include <boost/json.hpp>

#include <fmt/core.h>

#include <csignal>
#include <map>
#include <set>

using namespace aistrack;
namespace json = boost::json;

namespace {
const std::string kServer = AISTRACK_SERVER_BIN;
using test::wait_for;

struct Server {
  test::TempDir dir;
  int port = test::free_port();
  std::unique_ptr<test::ChildProcess> proc;
  explicit Server(std::vector<std::string> extra_env = {}) {
    std::vector<std::string> env = {"HTTP_PORT=" + std::to_string(port),
                                    "DB_PATH=" + (dir / "live.db").string(),
                                    "ENV_FILE=",
                                    "AISSTREAM_API_KEY=",
                                    "SIM_SEED=3",
                                    "STORE_BATCH_MS=500"};
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    proc = std::make_unique<test::ChildProcess>(std::vector<std::string>{kServer}, env, dir / "server.log");
    REQUIRE_MESSAGE(wait_for([&] { return test::http_request(port, "GET", "/health").status == 200; }, 60),
                    test::slurp(dir / "server.log"));
  }
  [[nodiscard]] json::object health() const {
    const auto r = test::http_request(port, "GET", "/health");
    return r.status == 0 ? json::object{} : json::parse(r.body).as_object();
  }
  [[nodiscard]] std::int64_t live(const char* key) const {
    const auto h = health();
    return h.contains("live") ? h.at("live").at(key).to_number<std::int64_t>() : -1;
  }
  [[nodiscard]] std::string log() const { return test::slurp(dir / "server.log"); }
};

json::object next_json(test::LiveClient& c, double timeout_s = 20) {
  const auto m = c.next(timeout_s);
  REQUIRE_MESSAGE(m, "no message within the timeout");
  return json::parse(*m).as_object();
}

// Waits for `n` vessels with a position in the server's memory.
void wait_vessels(const Server& s, std::size_t n) {
  REQUIRE(wait_for(
      [&] {
        const auto r = test::http_request(s.port, "GET", "/v1/vessels?limit=1&bbox=-90,-180,90,180");
        return r.status == 200 && json::parse(r.body).at("total").to_number<std::size_t>() >= n;
      },
      60));
}
}  // namespace

TEST_CASE("server live: snapshot of every vessel, then updates that move, and a later subscribe narrows it") {
  Server s({"SIM_VESSELS=8"});
  wait_vessels(s, 4);
  test::LiveClient c(s.port);
  REQUIRE(c.wait_open(30));
  c.send(R"({"type":"subscribe"})");
  const auto snap = next_json(c);
  REQUIRE(snap.at("type").as_string() == "snapshot");
  const auto& vessels = snap.at("vessels").as_array();
  REQUIRE(vessels.size() >= 4);
  // Records are exactly those of GET /v1/ais/{mmsi}.
  for (const char* key : {"mmsi", "time", "lat", "lon", "sog", "cog", "heading", "source", "name"})
    CHECK_MESSAGE(vessels[0].as_object().contains(key), key);

  // Updates keep coming and a vessel's position changes between two of them.
  std::map<std::int64_t, std::set<std::pair<double, double>>> seen;
  REQUIRE(wait_for(
      [&] {
        while (const auto m = c.next(0.2)) {
          const auto o = json::parse(*m).as_object();
          REQUIRE(o.at("type").as_string() == "update");
          const auto& v = o.at("vessel");
          if (!v.at("lat").is_null())
            seen[v.at("mmsi").to_number<std::int64_t>()].emplace(v.at("lat").as_double(),
                                                                 v.at("lon").as_double());
        }
        return std::any_of(seen.begin(), seen.end(), [](const auto& kv) { return kv.second.size() >= 2; });
      },
      40));
  CHECK(s.live("clients") == 1);

  // Narrow to one vessel: a fresh snapshot with just it, then only its updates.
  const auto one = vessels[0].at("mmsi").to_number<std::int64_t>();
  c.send(fmt::format(R"({{"type":"subscribe","mmsi":[{}]}})", one));
  json::object o;
  do {
    o = next_json(c);
  } while (o.at("type").as_string() == "update");  // updates already on their way under the old filter
  REQUIRE(o.at("type").as_string() == "snapshot");
  REQUIRE(o.at("vessels").as_array().size() == 1);
  CHECK(o.at("vessels").as_array()[0].at("mmsi").to_number<std::int64_t>() == one);
  for (int i = 0; i < 2; ++i) {
    const auto u = next_json(c, 40);
    CHECK(u.at("type").as_string() == "update");
    CHECK(u.at("vessel").at("mmsi").to_number<std::int64_t>() == one);
  }
}

TEST_CASE("server live: a bbox subscription only hears vessels inside the box") {
  Server s({"SIM_VESSELS=30"});
  wait_vessels(s, 20);
  // The simulated fleet sails the North Sea; take the box around the first vessel's quarter.
  const auto first =
      json::parse(test::http_request(s.port, "GET", "/v1/vessels?limit=1&bbox=-90,-180,90,180").body)
          .at("vessels")
          .as_array()[0];
  const double lat = first.at("lat").as_double(), lon = first.at("lon").as_double();
  const double box[4] = {lat - 0.5, lon - 0.5, lat + 0.5, lon + 0.5};
  test::LiveClient c(s.port);
  REQUIRE(c.wait_open(30));
  c.send(fmt::format(R"({{"type":"subscribe","bbox":[{},{},{},{}]}})", box[0], box[1], box[2], box[3]));
  const auto snap = next_json(c);
  REQUIRE(snap.at("type").as_string() == "snapshot");
  REQUIRE(!snap.at("vessels").as_array().empty());
  std::set<std::int64_t> in_snapshot;
  for (const auto& v : snap.at("vessels").as_array()) {
    CHECK(v.at("lat").as_double() >= box[0]);
    CHECK(v.at("lat").as_double() <= box[2]);
    in_snapshot.insert(v.at("mmsi").to_number<std::int64_t>());
  }
  std::size_t updates = 0;
  wait_for(
      [&] {
        while (const auto m = c.next(0.2)) {
          const auto v = json::parse(*m).at("vessel");
          ++updates;
          // Inside, or the one update that takes a vessel out of the box.
          const bool inside = v.at("lat").as_double() >= box[0] && v.at("lat").as_double() <= box[2] &&
                              v.at("lon").as_double() >= box[1] && v.at("lon").as_double() <= box[3];
          CHECK((inside || in_snapshot.contains(v.at("mmsi").to_number<std::int64_t>())));
        }
        return updates >= 3;
      },
      30);
  CHECK(updates >= 1);
}

TEST_CASE("server live: malformed messages get errors and the connection stays open, and limits hold") {
  Server s({"SIM_VESSELS=3", "LIVE_MAX_CLIENTS=2", "LIVE_MAX_MMSI=2", "LIVE_MAX_MESSAGE_BYTES=512"});
  test::LiveClient c(s.port);
  REQUIRE(c.wait_open(30));
  for (const auto& [text, code] : std::vector<std::pair<std::string, std::string>>{
           {"hello", "invalid_json"},
           {R"({"type":"subscribe","mmsi":[244700923,244700924,244700925]})", "too_many_mmsi"},
           {R"({"type":"subscribe","bbox":[91,0,92,1]})", "invalid_bbox"},
           {R"({"type":"ping"})", "unknown_type"}}) {
    c.send(text);
    const auto e = next_json(c);
    CHECK(e.at("type").as_string() == "error");
    CHECK(e.at("error").at("code").as_string() == code);
  }
  c.send(R"({"type":"subscribe","mmsi":[244700923]})");
  CHECK(next_json(c).at("type").as_string() == "snapshot");
  CHECK(s.live("client_errors") == 4);

  // A second client fits, a third is refused with 503 and a JSON reason.
  test::LiveClient c2(s.port);
  REQUIRE(c2.wait_open(30));
  test::LiveClient c3(s.port);
  CHECK_FALSE(c3.wait_open(10));
  CHECK(c3.refused_status() == 503);
  CHECK(c3.refused_body().find("too_many_clients") != std::string::npos);

  // A message over LIVE_MAX_MESSAGE_BYTES closes that client with 1009; the server carries on.
  c2.send(std::string(600, 'x'));
  REQUIRE(c2.wait_closed(10));
  CHECK(c2.close_code() == 1009);
  REQUIRE(wait_for([&] { return s.live("clients") == 1; }, 10));
  test::LiveClient c4(s.port);
  CHECK(c4.wait_open(30));

  // Upgrades elsewhere are refused, and a plain GET of /v1/live says to upgrade.
  test::LiveClient wrong(s.port, "/v1/vessels");
  CHECK_FALSE(wrong.wait_open(10));
  CHECK(wrong.refused_status() == 404);
  const auto plain = test::http_request(s.port, "GET", "/v1/live");
  CHECK(plain.status == 426);
  CHECK(plain.body.find("upgrade_required") != std::string::npos);
  CHECK(test::http_request(s.port, "GET", "/health").status == 200);
}

TEST_CASE("server live: SIGTERM closes live clients with 1001 going away") {
  Server s({"SIM_VESSELS=2"});
  test::LiveClient c(s.port);
  REQUIRE(c.wait_open(30));
  c.send(R"({"type":"subscribe"})");
  next_json(c);
  s.proc->signal(SIGTERM);
  REQUIRE(c.wait_closed(10));
  CHECK(c.close_code() == 1001);
  CHECK(s.proc->wait(20) == 0);
}

TEST_CASE(
    "server live: a client that stops reading is coalesced, then closed with 1008 while others carry on") {
  // 20,000 simulated vessels give a multi-megabyte snapshot and thousands of updates a second: more
  // than the kernel's socket buffers hold for a client whose receive window is 4 KiB.
  Server s({"SIM_VESSELS=20000", "LIVE_SEND_BUFFER_KB=64", "LIVE_QUEUE_MAX=1", "LIVE_SLOW_CLOSE_S=6"});
  wait_vessels(s, 5000);
  test::StuckClient stuck(s.port, R"({"type":"subscribe"})");
  test::LiveClient healthy(s.port);
  REQUIRE(healthy.wait_open(60));  // the server is busy with 20,000 vessels (and slower under ASan)
  healthy.send(R"({"type":"subscribe","mmsi":[]})");
  REQUIRE_MESSAGE(wait_for([&] { return s.live("closed_slow") >= 1; }, 60), s.health());
  CHECK(s.live("coalesced") > 0);
  // The healthy client kept getting its snapshot and updates, and ingest kept going.
  const auto msgs_before = s.health().at("source").at("messages").to_number<std::int64_t>();
  std::size_t got = healthy.take_all().size();
  REQUIRE(wait_for([&] { return (got += healthy.take_all().size()) > 10; }, 20));
  REQUIRE(wait_for(
      [&] { return s.health().at("source").at("messages").to_number<std::int64_t>() > msgs_before; }, 20));

  // Reading now, the stuck client finds the data it was sent and then a close frame: 1008 and why.
  const auto frames = stuck.read_all(30);
  REQUIRE(!frames.empty());
  const auto& last = frames.back();
  REQUIRE(last.opcode == 8);
  REQUIRE(last.payload.size() >= 2);
  const int code =
      (static_cast<unsigned char>(last.payload[0]) << 8) | static_cast<unsigned char>(last.payload[1]);
  CHECK(code == 1008);
  CHECK(last.payload.find("too slow") != std::string::npos);
  CHECK(frames.front().opcode == 1);
  CHECK(frames.front().payload.rfind(R"({"type":"snapshot")", 0) == 0);
}
