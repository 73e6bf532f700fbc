// Starts the real aistrack-server binary on the simulator with a temporary database and
// talks to it over HTTP on loopback.
#include <doctest/doctest.h>

#include "support.hpp"

#include <sqlite3.h>
#include <boost/json.hpp>

#include <chrono>
#include <csignal>
#include <thread>

using namespace aistrack;
namespace json = boost::json;

namespace {
const std::string kServer = AISTRACK_SERVER_BIN;

using test::wait_for;

std::int64_t sql_int(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const auto v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}
}  // namespace

TEST_CASE("server: simulator → Tracker → SQLite → REST, end to end over HTTP") {
  test::TempDir dir;
  const auto db = dir / "aistrack.db";
  const int port = test::free_port();
  // Huge batches: nothing is committed before SIGTERM, so the rows in the file prove the final flush.
  test::ChildProcess server(
      {kServer},
      {"HTTP_PORT=" + std::to_string(port), "DB_PATH=" + db.string(), "SIM_VESSELS=12", "SIM_SEED=7",
       "STORE_BATCH_ROWS=1000000", "STORE_BATCH_MS=3600000", "ENV_FILE=", "AISSTREAM_API_KEY="},
      dir / "server.log");
  REQUIRE_MESSAGE(wait_for([&] { return test::http_request(port, "GET", "/health").status == 200; }, 20),
                  test::slurp(dir / "server.log"));

  const auto health = json::parse(test::http_request(port, "GET", "/health").body).as_object();
  CHECK(health.at("source").at("kind").as_string() == "simulator");
  CHECK(health.at("store").at("ok").as_bool());

  // The simulator staggers first reports over their interval; class A under way report within 10 s.
  json::array vessels;
  REQUIRE(wait_for(
      [&] {
        const auto r = test::http_request(port, "GET", "/v1/vessels?limit=100");
        if (r.status != 200) return false;
        vessels = json::parse(r.body).at("vessels").as_array();
        return vessels.size() >= 5;
      },
      30));
  const auto r0 = test::http_request(port, "GET", "/v1/vessels");
  CHECK(r0.header("content-type") == "application/json");
  CHECK(r0.header("connection") == "close");

  const auto mmsi = vessels[0].at("mmsi").to_number<std::int64_t>();
  char id[16];
  std::snprintf(id, sizeof id, "%09lld", static_cast<long long>(mmsi));
  const auto r = test::http_request(port, "GET", std::string("/v1/ais/") + id);
  REQUIRE(r.status == 200);
  const auto v = json::parse(r.body).as_object();
  for (const char* key : {"mmsi", "time", "lat", "lon", "sog", "cog", "heading", "nav_status", "source",
                          "name", "callsign", "imo", "ship_type", "destination", "eta", "dimensions"}) {
    CHECK_MESSAGE(v.contains(key), key);
  }
  CHECK(v.at("source").as_string() == "simulator");
  CHECK(v.at("lat").as_double() > 50.0);
  CHECK(v.at("lat").as_double() < 60.0);

  CHECK(test::http_request(port, "GET", "/v1/ais/123").status == 400);
  CHECK(test::http_request(port, "GET", "/v1/ais/999999998").status == 404);
  CHECK(test::http_request(port, "GET", "/v1/unknown").status == 404);
  const auto post = test::http_request(port, "POST", "/v1/vessels", "{}");
  CHECK(post.status == 405);
  CHECK(json::parse(post.body).at("error").at("code").as_string() == "method_not_allowed");

  server.signal(SIGTERM);
  const auto status = server.wait(20);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  // Every position the server had, including the one we read, is in the file after SIGTERM.
  CHECK(sql_int(db, "SELECT count(*) FROM positions") > 0);
  CHECK(sql_int(db, "SELECT count(*) FROM positions WHERE mmsi = " + std::to_string(mmsi)) > 0);
  CHECK(sql_int(db, "SELECT count(*) FROM vessels") >= static_cast<std::int64_t>(vessels.size()));

  // A restart without a source answers from the Store.
  test::ChildProcess again(
      {kServer, "--http-port", std::to_string(port), "--db-path", db.string(), "--sim-vessels", "0"},
      {"ENV_FILE=", "AISSTREAM_API_KEY="}, dir / "server2.log");
  REQUIRE_MESSAGE(wait_for([&] { return test::http_request(port, "GET", "/health").status == 200; }, 20),
                  test::slurp(dir / "server2.log"));
  const auto after = test::http_request(port, "GET", std::string("/v1/ais/") + id);
  CHECK(after.status == 200);
  CHECK(json::parse(after.body).at("mmsi").to_number<std::int64_t>() == mmsi);
  again.signal(SIGINT);
  CHECK(again.wait(20) == 0);
}

TEST_CASE("server: a bad setting exits 2 naming the setting") {
  test::TempDir dir;
  test::ChildProcess bad({kServer}, {"HTTP_PORT=eighty", "ENV_FILE=", "DB_PATH=" + (dir / "x.db").string()},
                         dir / "out.log");
  CHECK(bad.wait(20) == 2);
  const std::string out = test::slurp(dir / "out.log");
  CHECK(out.find("HTTP_PORT") != std::string::npos);

  test::ChildProcess flag({kServer, "--mmsi-list", "1234"}, {"ENV_FILE="}, dir / "out2.log");
  CHECK(flag.wait(20) == 2);
  CHECK(test::slurp(dir / "out2.log").find("MMSI_LIST") != std::string::npos);
}

TEST_CASE("server: --help lists the settings and exits 0") {
  test::TempDir dir;
  test::ChildProcess help({kServer, "--help"}, {}, dir / "help.txt");
  CHECK(help.wait(20) == 0);
  const std::string text = test::slurp(dir / "help.txt");
  CHECK(text.find("AISSTREAM_API_KEY") != std::string::npos);
  CHECK(text.find("--db-path") != std::string::npos);
}

TEST_CASE("server: an unusable database path exits 1 with a message") {
  test::TempDir dir;
  test::ChildProcess s({kServer},
                       {"DB_PATH=" + (dir / "missing-dir" / "x.db").string(),
                        "ENV_FILE=", "HTTP_PORT=" + std::to_string(test::free_port())},
                       dir / "out.log");
  CHECK(s.wait(20) == 1);
  CHECK(test::slurp(dir / "out.log").find("missing-dir") != std::string::npos);
}
