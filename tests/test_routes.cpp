// The REST API over a real App (real SQLite file in a temp dir), without sockets.
#include "routes.hpp"

#include "json_view.hpp"

#include <doctest/doctest.h>

#include "support.hpp"

#include <sqlite3.h>
#include <boost/json.hpp>

#include <filesystem>

using namespace aistrack;
using namespace aistrack::server;
namespace json = boost::json;

namespace {
constexpr TimeMs kNow = 1'700'000'000'000;

struct Fixture {
  test::TempDir dir;
  ServerConfig config;
  std::unique_ptr<App> app;
  Fixture() {
    config.db_path = (dir / "routes.db").string();
    config.sim_vessels = 0;
    app = std::make_unique<App>(config, kNow);
  }
  Response get(const std::string& target, const std::string& method = "GET") const {
    return Api(*app, config).handle(Request{method, target}, kNow);
  }
};

json::object body(const Response& r) { return json::parse(r.body).as_object(); }

void check_error(const Response& r, int status, std::string_view code) {
  CHECK(r.status == status);
  CHECK(r.content_type == "application/json");
  const auto o = body(r);
  REQUIRE(o.contains("error"));
  CHECK(o.at("error").at("code").as_string() == code);
  CHECK_FALSE(o.at("error").at("message").as_string().empty());
}

const char* kFrames[] = {
    R"({"MetaData":{"MMSI":244700923,"ShipName":"ALIDA","time_utc":"2023-11-14 22:13:10.5 +0000 UTC"},"MessageType":"PositionReport","Message":{"PositionReport":{"MessageID":1,"UserID":244700923,"Valid":true,"NavigationalStatus":0,"RateOfTurn":-128,"Sog":2.2,"PositionAccuracy":true,"Longitude":5.218913333333333,"Latitude":52.827936666666666,"Cog":140.5,"TrueHeading":511,"Timestamp":57}}})",
    R"({"MetaData":{"MMSI":244700923,"time_utc":"2023-11-14 22:13:11 +0000 UTC"},"MessageType":"ShipStaticData","Message":{"ShipStaticData":{"AisVersion":2,"CallSign":"PD1234","Destination":"ROTTERDAM","Dimension":{"A":80,"B":20,"C":5,"D":6},"Eta":{"Day":15,"Hour":8,"Minute":30,"Month":11},"ImoNumber":9890214,"MaximumStaticDraught":5.1,"MessageID":5,"Name":"ALIDA","Type":70,"UserID":244700923,"Valid":true}}})",
};
}  // namespace

TEST_CASE("routes: GET /v1/ais/{mmsi} returns the merged latest record") {
  Fixture f;
  for (const char* frame : kFrames)
    REQUIRE(f.app->ingest_aisstream_frame(frame, kNow) == aisstream::Status::ok);
  const Response r = f.get("/v1/ais/244700923");
  REQUIRE(r.status == 200);
  const auto o = body(r);
  CHECK(o.at("mmsi").to_number<std::int64_t>() == 244700923);
  CHECK(o.at("time").as_string() == "2023-11-14T22:13:10.500Z");
  CHECK(o.at("lat").as_double() == doctest::Approx(52.827936666666666));
  CHECK(o.at("lon").as_double() == doctest::Approx(5.218913333333333));
  CHECK(o.at("sog").as_double() == doctest::Approx(2.2));
  CHECK(o.at("cog").as_double() == doctest::Approx(140.5));
  CHECK(o.at("heading").is_null());
  CHECK(o.at("nav_status").as_string() == "under way using engine");
  CHECK(o.at("source").as_string() == "aisstream");
  CHECK(o.at("name").as_string() == "ALIDA");
  CHECK(o.at("callsign").as_string() == "PD1234");
  CHECK(o.at("imo").to_number<std::int64_t>() == 9890214);
  CHECK(o.at("ship_type").as_string() == "cargo");
  CHECK(o.at("destination").as_string() == "ROTTERDAM");
  CHECK(o.at("eta").at("month").to_number<int>() == 11);
  CHECK(o.at("eta").at("minute").to_number<int>() == 30);
  CHECK(o.at("dimensions").at("length_m").to_number<int>() == 100);
  CHECK(o.at("dimensions").at("beam_m").to_number<int>() == 11);
  CHECK(o.at("draught_m").as_double() == doctest::Approx(5.1));
}

TEST_CASE("routes: errors are JSON with the right status") {
  Fixture f;
  check_error(f.get("/v1/ais/12345"), 400, "invalid_mmsi");
  check_error(f.get("/v1/ais/24470092x"), 400, "invalid_mmsi");
  check_error(f.get("/v1/ais/244700923"), 404, "not_found");
  check_error(f.get("/v1/nothing"), 404, "not_found");
  check_error(f.get("/v2/ais"), 404, "not_found");  // "/" is the dashboard (test_routes_web.cpp)
  const Response r = f.get("/v1/ais/244700923", "POST");
  check_error(r, 405, "method_not_allowed");
  REQUIRE(r.headers.size() == 1);
  CHECK(r.headers[0].first == "Allow");
  check_error(f.get("/health", "DELETE"), 405, "method_not_allowed");
  check_error(f.get("/v1/vessels?limit=0"), 400, "invalid_parameter");
  check_error(f.get("/v1/vessels?limit=abc"), 400, "invalid_parameter");
  check_error(f.get("/v1/vessels?limit=100000"), 400, "invalid_parameter");
  check_error(f.get("/v1/vessels?offset=-1"), 400, "invalid_parameter");
  check_error(f.get("/v1/vessels?limit=%zz"), 400, "invalid_query");
  check_error(f.get("/v1/vessels?limit=%-1"), 400, "invalid_query");  // from_chars takes a sign
}

// Found by fuzz/fuzz_http.cpp (docs/FUZZING.md): error messages quote the path or a parameter, and
// Boost.JSON copies string bytes as they are, so a request with bytes that are not UTF-8 got an
// error body no JSON parser accepts.
TEST_CASE("routes: errors quoting bytes that are not UTF-8 are still valid JSON") {
  Fixture f;
  const std::string crash = "/" + std::string(65, '\xff') + "limit=";  // the fuzzer's input, method GET
  const Response r = f.get(crash);
  check_error(r, 404, "not_found");
  CHECK(body(r).at("error").at("message").as_string().starts_with("no route for /\xEF\xBF\xBD\xEF\xBF\xBD"));
  check_error(f.get("/v1/vessels?limit=%ff%c3"), 400, "invalid_parameter");
  check_error(f.get("/v1/ais/\xc3\x28"), 400, "invalid_mmsi");
}

TEST_CASE("routes: valid_utf8 keeps UTF-8 and replaces every other byte") {
  CHECK(valid_utf8("") == "");
  CHECK(valid_utf8("plain ascii") == "plain ascii");
  CHECK(valid_utf8("Göteborg \xe2\x82\xac \xf0\x9f\x9a\xa2") == "Göteborg \xe2\x82\xac \xf0\x9f\x9a\xa2");
  const std::string bad = "\xEF\xBF\xBD";
  CHECK(valid_utf8("\xff") == bad);
  CHECK(valid_utf8("a\xc3") == "a" + bad);                         // truncated sequence
  CHECK(valid_utf8("\xc0\xaf") == bad + bad);                      // overlong '/'
  CHECK(valid_utf8("\xe0\x80\xaf") == bad + bad + bad);            // overlong, three bytes
  CHECK(valid_utf8("\xed\xa0\x80") == bad + bad + bad);            // a UTF-16 surrogate
  CHECK(valid_utf8("\xf4\x90\x80\x80") == bad + bad + bad + bad);  // above U+10FFFF
  CHECK(valid_utf8("\xc3\x28") == bad + "(");
}

TEST_CASE("routes: /v1/vessels pages with limit and offset") {
  Fixture f;
  for (Mmsi m = 211000001; m <= 211000005; ++m) {
    Message msg;
    msg.mmsi = m;
    msg.ais_type = 1;
    msg.ts_ms = kNow - 1000;
    msg.position = PositionReport{};
    msg.position->latlon = LatLon{54.0, 3.0 + (m - 211000000) * 0.1};
    f.app->ingest(msg, kNow);
  }
  auto o = body(f.get("/v1/vessels?limit=2&offset=1"));
  CHECK(o.at("total").to_number<int>() == 5);
  CHECK(o.at("limit").to_number<int>() == 2);
  CHECK(o.at("offset").to_number<int>() == 1);
  const auto& items = o.at("vessels").as_array();
  REQUIRE(items.size() == 2);
  CHECK(items[0].at("mmsi").to_number<std::int64_t>() == 211000002);
  CHECK(items[1].at("mmsi").to_number<std::int64_t>() == 211000003);
  CHECK(items[0].at("last_seen").as_string() == format_iso8601(kNow - 1000));
  o = body(f.get("/v1/vessels"));
  CHECK(o.at("vessels").as_array().size() == 5);
  CHECK(o.at("limit").to_number<int>() == 100);
}

TEST_CASE("routes: /health reports source, store and tracker") {
  Fixture f;
  REQUIRE(f.app->ingest_aisstream_frame(kFrames[0], kNow) == aisstream::Status::ok);
  CHECK(f.app->ingest_aisstream_frame("not json", kNow) == aisstream::Status::malformed);
  const Response r = f.get("/health");
  REQUIRE(r.status == 200);
  const auto o = body(r);
  CHECK(o.at("status").as_string() == "ok");
  CHECK(o.at("store").at("ok").as_bool());
  CHECK(o.at("store").at("schema_version").to_number<int>() == Store::kSchemaVersion);
  CHECK(o.at("tracker").at("vessels").to_number<int>() == 1);
  CHECK(o.at("source").at("messages").to_number<int>() == 1);
  CHECK(o.at("source").at("frames").at("malformed").to_number<int>() == 1);
  CHECK(o.at("source").at("kind").as_string() == "none");
}

TEST_CASE("routes: a restarted App answers from what the Store kept") {
  test::TempDir dir;
  ServerConfig config;
  config.db_path = (dir / "restart.db").string();
  config.sim_vessels = 0;
  {
    App app(config, kNow);
    for (const char* frame : kFrames)
      REQUIRE(app.ingest_aisstream_frame(frame, kNow) == aisstream::Status::ok);
    app.shutdown();
  }
  App again(config, kNow + 60'000);
  const Response r = Api(again, config).handle(Request{"GET", "/v1/ais/244700923"}, kNow + 60'000);
  REQUIRE(r.status == 200);
  const auto o = body(r);
  CHECK(o.at("name").as_string() == "ALIDA");
  CHECK(o.at("lat").as_double() == doctest::Approx(52.827936666666666));
}

namespace {
void exec_sql(const std::filesystem::path& db, const char* sql) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(h, sql, nullptr, nullptr, &err);
  CHECK_MESSAGE(rc == SQLITE_OK, (err != nullptr ? err : ""));
  sqlite3_free(err);
  sqlite3_close(h);
}

std::int64_t count_rows(const std::filesystem::path& db, const char* sql) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, sql, -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const auto n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}
}  // namespace

TEST_CASE("routes: failing commits turn /health degraded and lose or duplicate nothing") {
  test::TempDir dir;
  ServerConfig config;
  config.db_path = (dir / "failing.db").string();
  config.sim_vessels = 0;
  config.store_batch_rows = 4;
  App app(config, kNow);
  // Another connection makes every position insert fail, as a full disk would.
  exec_sql(
      dir / "failing.db",
      "CREATE TRIGGER fail BEFORE INSERT ON positions BEGIN SELECT RAISE(ABORT, 'simulated failure'); END;");
  for (int i = 0; i < 10; ++i) {
    Message msg;
    msg.mmsi = 211000001;
    msg.ais_type = 1;
    msg.ts_ms = kNow - 10'000 + i;
    msg.position = PositionReport{};
    msg.position->latlon = LatLon{54.0, 3.0 + i * 0.001};
    CHECK_NOTHROW(app.ingest(msg, kNow));
  }
  const Response sick = Api(app, config).handle(Request{"GET", "/health"}, kNow);
  CHECK(sick.status == 503);
  const auto o = body(sick);
  CHECK(o.at("status").as_string() == "degraded");
  CHECK(o.at("store").at("commit_failures").to_number<int>() >= 1);
  CHECK(o.at("store").at("last_error").as_string().find("simulated failure") != std::string::npos);

  exec_sql(dir / "failing.db", "DROP TRIGGER fail;");
  app.shutdown();
  CHECK(count_rows(dir / "failing.db", "SELECT count(*) FROM positions") == 10);
  CHECK(count_rows(dir / "failing.db", "SELECT count(DISTINCT ts_ms) FROM positions") == 10);
  CHECK(Api(app, config).handle(Request{"GET", "/health"}, kNow).status == 200);
}
