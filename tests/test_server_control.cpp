// Run-time control (issue #10) through the real aistrack-server binary over loopback, with a real
// SQLite file and the aisstream.io mock: watch-list and area changes arrive as new subscriptions on
// the same connection, filter the data that follows and survive a restart; the simulator is driven
// over the API.
#include <aistrack/simulator.hpp>

#include <doctest/doctest.h>

#include "aisstream_frames.hpp"
#include "mock_aisstream.hpp"
#include "support.hpp"

#include <sqlite3.h>
#include <boost/json.hpp>

#include <chrono>
#include <csignal>
#include <set>
#include <thread>

using namespace aistrack;
namespace json = boost::json;

namespace {
const std::string kServer = AISTRACK_SERVER_BIN;
const std::string kKey = "AKEY-control-0123456789abcdef";
using test::wait_for;

std::vector<Message> simulated(std::size_t vessels, int minutes) {
  return bench::recent_simulated(vessels, minutes, 7);
}

struct Server {
  const test::TempDir& dir;
  int port = test::free_port();
  std::unique_ptr<test::ChildProcess> proc;
  std::string log_name;

  Server(const test::TempDir& d, std::vector<std::string> env, const std::string& log = "server.log")
      : dir(d), log_name(log) {
    env.push_back("HTTP_PORT=" + std::to_string(port));
    env.push_back("DB_PATH=" + (dir / "control.db").string());
    env.push_back("ENV_FILE=");
    env.push_back("STORE_BATCH_MS=100");
    proc = std::make_unique<test::ChildProcess>(std::vector<std::string>{kServer}, env, dir / log_name);
    REQUIRE_MESSAGE(wait_for([&] { return test::http_request(port, "GET", "/health").status != 0; }, 20),
                    output());
  }
  [[nodiscard]] std::string output() const { return test::slurp(dir / log_name); }
  [[nodiscard]] test::HttpResponse call(const std::string& method, const std::string& target,
                                        const std::string& body = {}) const {
    return test::http_request(port, method, target, body);  // adds Content-Type: application/json
  }
  [[nodiscard]] std::set<Mmsi> vessels() const {
    std::set<Mmsi> out;
    const auto r = call("GET", "/v1/vessels?limit=1000");
    if (r.status != 200) return out;
    const json::value page = json::parse(r.body);
    for (const auto& v : page.at("vessels").as_array()) out.insert(v.at("mmsi").to_number<Mmsi>());
    return out;
  }
  int stop() {
    proc->signal(SIGTERM);
    const auto st = proc->wait(20);
    return st ? *st : -1;
  }
};

std::int64_t stored_positions(const test::TempDir& dir, Mmsi mmsi) {
  sqlite3* h = nullptr;
  sqlite3_open_v2((dir / "control.db").c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(h, "SELECT count(*) FROM positions WHERE mmsi = ?1", -1, &s, nullptr);
  sqlite3_bind_int64(s, 1, mmsi);
  sqlite3_step(s);
  const auto n = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(h);
  return n;
}

json::object subscription(const test::MockConnection& c, std::size_t i) {
  return json::parse(c.subscriptions.at(i)).as_object();
}

std::vector<std::string> mmsi_filter(const json::object& sub) {
  std::vector<std::string> out;
  if (const auto* ids = sub.if_contains("FiltersShipMMSI")) {
    for (const auto& id : ids->as_array()) out.emplace_back(id.as_string());
  }
  return out;
}
}  // namespace

TEST_CASE(
    "server control: a watch-list change is a new subscription on the same connection, filters what "
    "follows and survives a restart") {
  // Four hours of six vessels: at 2 ms a frame the loop does not wrap while the test measures what
  // follows (a wrapped loop resends identical reports, which the Store keeps once).
  const auto msgs = simulated(6, 240);
  std::vector<std::string> frames;
  std::set<Mmsi> fleet;
  for (const auto& m : msgs) {
    frames.push_back(bench::to_aisstream_frame(m));
    fleet.insert(m.mmsi);
  }
  REQUIRE(fleet.size() == 6);
  const Mmsi a = *fleet.begin();
  const Mmsi b = *std::next(fleet.begin());
  test::MockOptions mo;
  mo.api_key = kKey;
  mo.frame_interval_ms = 2;
  mo.loop = true;  // data keeps coming, so "what follows" can be measured
  mo.frames = std::move(frames);
  test::MockAisstream mock(mo);
  test::TempDir dir;
  {
    Server s(dir, {"AISSTREAM_API_KEY=" + kKey, "AISSTREAM_URL=" + mock.url(), "LOG_LEVEL=debug"});
    REQUIRE(wait_for([&] { return s.vessels().size() == 6; }, 20));
    const auto w0 = json::parse(s.call("GET", "/v1/watchlist").body);
    CHECK(w0.at("count").as_int64() == 0);
    CHECK(w0.at("origin").as_string() == "settings");

    // Watch only `a`: the mock sees a second subscription on the same connection with the MMSI filter.
    const auto put = s.call("PUT", "/v1/watchlist", "{\"mmsi\":[\"" + format_mmsi(a) + "\"]}");
    REQUIRE_MESSAGE(put.status == 200, put.body);
    REQUIRE(wait_for([&] { return mock.connections().at(0).subscriptions.size() == 2; }, 5));
    CHECK(mock.connections().size() == 1);
    CHECK(mmsi_filter(subscription(mock.connections().at(0), 0)).empty());
    CHECK(mmsi_filter(subscription(mock.connections().at(0), 1)) == std::vector<std::string>{format_mmsi(a)});
    CHECK(subscription(mock.connections().at(0), 1).at("APIKey").as_string() == kKey);
    // Memory follows at once; the data that follows is `a`'s only.
    REQUIRE(wait_for([&] { return s.vessels() == std::set<Mmsi>{a}; }, 5));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // frames already in flight settle
    const auto b_before = stored_positions(dir, b);
    const auto a_before = stored_positions(dir, a);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    CHECK(stored_positions(dir, b) == b_before);
    CHECK(stored_positions(dir, a) > a_before);

    // Three changes within a second: one send at once (1 s after the previous one at the earliest), the
    // rest coalesced into one later send of the newest list; never one send per change. The ingest tick
    // (100 ms) may even fold all three into the first send.
    auto subs = [&] { return mock.connections().at(0).subscriptions; };
    auto last_sub = [&] { return json::parse(subs().back()).as_object(); };
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    const std::size_t subs_before = subs().size();
    REQUIRE(s.call("POST", "/v1/watchlist/" + format_mmsi(b)).status == 200);
    REQUIRE(s.call("DELETE", "/v1/watchlist/" + format_mmsi(a)).status == 200);
    REQUIRE(s.call("POST", "/v1/watchlist/" + format_mmsi(a)).status == 200);
    const std::vector<std::string> both{format_mmsi(a), format_mmsi(b)};
    REQUIRE(wait_for([&] { return subs().size() > subs_before && mmsi_filter(last_sub()) == both; }, 5));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    CHECK(subs().size() - subs_before <= 2);
    CHECK(mmsi_filter(last_sub()) == both);
    REQUIRE(wait_for([&] { return s.vessels() == std::set<Mmsi>{a, b}; }, 5));

    // Beyond 50 MMSIs: no MMSI filter in the subscription, the server filters locally.
    std::string many = "\"" + format_mmsi(a) + "\"";
    for (int i = 0; i < 55; ++i) many += "," + std::to_string(100000000 + i);
    std::size_t n = subs().size();
    REQUIRE(s.call("PUT", "/v1/watchlist", "{\"mmsi\":[" + many + "]}").status == 200);
    REQUIRE(wait_for([&] { return subs().size() == n + 1; }, 5));
    CHECK(!last_sub().contains("FiltersShipMMSI"));
    REQUIRE(wait_for([&] { return s.vessels() == std::set<Mmsi>{a}; }, 5));
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    CHECK(s.vessels() == std::set<Mmsi>{a});  // the service sends everyone again; only `a` is kept
    CHECK(s.output().find("filtering here") != std::string::npos);

    // Areas go out the same way; a lon-first box is refused.
    CHECK(s.call("PUT", "/v1/areas", R"({"areas":[[120, 30, 125, 35]]})").status == 400);
    n = subs().size();
    REQUIRE(s.call("PUT", "/v1/areas", R"({"areas":[[50, 0, 58, 9]]})").status == 200);
    REQUIRE(wait_for([&] { return subs().size() == n + 1; }, 5));
    const auto sub = last_sub();
    const auto& boxes = sub.at("BoundingBoxes").as_array();
    REQUIRE(boxes.size() == 1);
    CHECK(boxes[0].as_array()[1].as_array()[1].to_number<double>() == 9);
    CHECK(mock.connections().size() == 1);  // all of it on the one connection
    const auto feed = json::parse(s.call("GET", "/health").body).at("source").at("feed");
    CHECK(feed.at("resubscriptions").to_number<std::size_t>() == subs().size() - 1);
    CHECK(feed.at("connects").to_number<int>() == 1);

    REQUIRE(s.call("PUT", "/v1/watchlist", "{\"mmsi\":[\"" + format_mmsi(b) + "\"]}").status == 200);
    REQUIRE(wait_for([&] { return s.vessels() == std::set<Mmsi>{b}; }, 5));
    CHECK(s.stop() == 0);
  }
  // Restart with a different MMSI_LIST: the database wins, and the first subscription says so.
  Server again(dir,
               {"AISSTREAM_API_KEY=" + kKey, "AISSTREAM_URL=" + mock.url(), "MMSI_LIST=" + format_mmsi(a)},
               "server2.log");
  const auto w = json::parse(again.call("GET", "/v1/watchlist").body);
  CHECK(json::serialize(w.at("mmsi")) == "[" + std::to_string(b) + "]");
  CHECK(w.at("origin").as_string() == "database");
  CHECK(json::parse(again.call("GET", "/v1/areas").body).at("count").as_int64() == 1);
  REQUIRE(wait_for(
      [&] { return mock.connections().size() == 2 && !mock.connections().at(1).subscription.empty(); }, 10));
  const auto first = json::parse(mock.connections().at(1).subscription).as_object();
  CHECK(mmsi_filter(first) == std::vector<std::string>{format_mmsi(b)});
  CHECK(again.output().find("MMSI_LIST (1 MMSIs) is ignored") != std::string::npos);
  REQUIRE(wait_for([&] { return again.vessels() == std::set<Mmsi>{b}; }, 10));
  CHECK(again.stop() == 0);
  CHECK(again.output().find(kKey) == std::string::npos);
}

TEST_CASE("server control: simulator start and stop change what /v1/vessels shows") {
  test::TempDir dir;
  Server s(dir, {"SOURCE=none"});
  CHECK(s.vessels().empty());
  auto r = s.call("GET", "/v1/sim");
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body).at("state").as_string() == "stopped");
  r = s.call("POST", "/v1/sim/start?vessels=5&speed=50");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  REQUIRE(wait_for([&] { return s.vessels().size() == 5; }, 20));
  const json::value page = json::parse(s.call("GET", "/v1/vessels").body);
  const auto& v = page.at("vessels").as_array().at(0);
  CHECK(v.at("source").as_string() == "simulator");
  const auto sim = json::parse(s.call("GET", "/v1/sim").body);
  CHECK(sim.at("state").as_string() == "running");
  CHECK(sim.at("vessels").as_int64() == 5);
  CHECK(sim.at("speed").to_number<double>() == 50.0);
  REQUIRE(
      wait_for([&] { return json::parse(s.call("GET", "/v1/sim").body).at("messages").as_int64() > 0; }, 10));
  // Re-rate while running: same fleet.
  REQUIRE(s.call("POST", "/v1/sim/start", R"({"speed": 1})").status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(s.vessels().size() == 5);
  r = s.call("POST", "/v1/sim/stop");
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body).at("state").as_string() == "stopped");
  REQUIRE(wait_for([&] { return s.vessels().empty(); }, 5));
  CHECK(s.call("GET", "/v1/sim/stop").status == 405);
  CHECK(s.stop() == 0);
}

TEST_CASE("server control: the simulator runs beside aisstream.io, its vessels marked as simulated") {
  const auto msgs = simulated(3, 2);
  std::vector<std::string> frames;
  std::set<Mmsi> live;
  for (const auto& m : msgs) {
    frames.push_back(bench::to_aisstream_frame(m));
    live.insert(m.mmsi);
  }
  test::MockOptions mo;
  mo.api_key = kKey;
  mo.frame_interval_ms = 2;
  mo.frames = std::move(frames);
  test::MockAisstream mock(mo);
  test::TempDir dir;
  Server s(dir, {"AISSTREAM_API_KEY=" + kKey, "AISSTREAM_URL=" + mock.url(), "SIM_SEED=99"});
  REQUIRE(wait_for([&] { return s.vessels() == live; }, 20));
  REQUIRE(s.call("POST", "/v1/sim/start?vessels=4&speed=50").status == 200);
  REQUIRE(wait_for([&] { return s.vessels().size() == live.size() + 4; }, 20));
  const json::value page = json::parse(s.call("GET", "/v1/vessels?limit=1000").body);
  std::size_t simulated_count = 0;
  for (const auto& v : page.at("vessels").as_array()) {
    const bool is_live = live.contains(v.at("mmsi").to_number<Mmsi>());
    CHECK(v.at("source").as_string() == (is_live ? "aisstream" : "simulator"));
    simulated_count += is_live ? 0 : 1;
  }
  CHECK(simulated_count == 4);
  CHECK(json::parse(s.call("GET", "/health").body).at("source").at("kind").as_string() == "aisstream");
  REQUIRE(s.call("POST", "/v1/sim/stop").status == 200);
  REQUIRE(wait_for([&] { return s.vessels() == live; }, 5));  // the live vessels stay
  CHECK(s.stop() == 0);
}
