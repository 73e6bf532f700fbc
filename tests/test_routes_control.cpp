// Run-time control (issue #10) without sockets: validation of the watch list, areas and simulator
// routes over a real App and SQLite file, the Tracker's run-time allow-list and the subscription pacer.
#include "routes.hpp"

#include <aistrack/aisstream.hpp>
#include <aistrack/store.hpp>
#include <aistrack/tracker.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <boost/json.hpp>

#include <set>
#include <tuple>

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
    config.db_path = (dir / "control.db").string();
    config.sim_vessels = 0;
    config.mmsi_list = {244700923, 211000001};
    app = std::make_unique<App>(config, kNow);
  }
  Response call(const std::string& method, const std::string& target, const std::string& body = {}) const {
    return Api(*app, config).handle(Request{method, target, body}, kNow);
  }
};

json::object body(const Response& r) { return json::parse(r.body).as_object(); }

std::string error_code(const Response& r) { return std::string(body(r).at("error").at("code").as_string()); }

Message position(Mmsi mmsi, TimeMs ts_ms) {
  Message m;
  m.mmsi = mmsi;
  m.ts_ms = ts_ms;
  m.ais_type = 1;
  PositionReport p;
  p.latlon = LatLon{54.0, 4.0};
  m.position = p;
  return m;
}
}  // namespace

TEST_CASE("watch list: starts from MMSI_LIST, validates, persists and the database then wins") {
  Fixture f;
  auto r = f.call("GET", "/v1/watchlist");
  REQUIRE(r.status == 200);
  CHECK(json::serialize(body(r).at("mmsi")) == "[211000001,244700923]");
  CHECK(body(r).at("origin").as_string() == "settings");
  CHECK(body(r).at("mmsi_filter").as_string() == "service");

  // Not 9 digits, not a number, out of range, or a broken body → 400 with the house error shape.
  CHECK(error_code(f.call("PUT", "/v1/watchlist", R"({"mmsi":["12345678"]})")) == "invalid_mmsi");
  CHECK(error_code(f.call("PUT", "/v1/watchlist", R"({"mmsi":[1000000000]})")) == "invalid_mmsi");
  CHECK(error_code(f.call("PUT", "/v1/watchlist", R"({"mmsi":[0]})")) == "invalid_mmsi");
  CHECK(error_code(f.call("PUT", "/v1/watchlist", R"({"mmsi":[2.5]})")) == "invalid_mmsi");
  CHECK(error_code(f.call("PUT", "/v1/watchlist", R"({"mmsi":"244700923"})")) == "invalid_body");
  CHECK(error_code(f.call("PUT", "/v1/watchlist", R"({"mmsi":[)")) == "invalid_body");
  CHECK(f.call("PUT", "/v1/watchlist", R"({"mmsi":["12345678"]})").status == 400);
  CHECK(error_code(f.call("POST", "/v1/watchlist/24470092")) == "invalid_mmsi");
  CHECK(error_code(f.call("DELETE", "/v1/watchlist/24470092a")) == "invalid_mmsi");
  const auto not_allowed = f.call("PATCH", "/v1/watchlist");
  CHECK(not_allowed.status == 405);
  CHECK(f.call("GET", "/v1/watchlist/244700923").status == 405);
  // Nothing above changed the list.
  CHECK(json::serialize(body(f.call("GET", "/v1/watchlist")).at("mmsi")) == "[211000001,244700923]");

  r = f.call("PUT", "/v1/watchlist", R"({"mmsi":["002442000", 257000001, 257000001]})");
  REQUIRE(r.status == 200);
  CHECK(json::serialize(body(r).at("mmsi")) == "[2442000,257000001]");  // sorted, unique
  CHECK(body(r).at("origin").as_string() == "database");
  r = f.call("POST", "/v1/watchlist/244700923");
  CHECK(json::serialize(body(r).at("mmsi")) == "[2442000,244700923,257000001]");
  r = f.call("DELETE", "/v1/watchlist/002442000");
  CHECK(json::serialize(body(r).at("mmsi")) == "[244700923,257000001]");
  CHECK(error_code(f.call("DELETE", "/v1/watchlist/002442000")) == "not_found");

  // A new App on the same file (a restart) takes the saved list, not MMSI_LIST.
  App again(f.config, kNow + 1000);
  const auto st = again.control().state();
  CHECK(st.watchlist == std::vector<Mmsi>{244700923, 257000001});
  CHECK(st.watchlist_origin == ControlOrigin::database);
}

TEST_CASE("watch list: above 50 MMSIs the service filter gives way to local filtering") {
  Fixture f;
  std::string ids;
  for (int i = 0; i < 51; ++i) ids += (ids.empty() ? "" : ",") + std::to_string(244000000 + i);
  const auto r = f.call("PUT", "/v1/watchlist", "{\"mmsi\":[" + ids + "]}");
  REQUIRE(r.status == 200);
  CHECK(body(r).at("count").as_int64() == 51);
  CHECK(body(r).at("mmsi_filter").as_string() == "local");
  CHECK(body(f.call("PUT", "/v1/watchlist", R"({"mmsi":[]})")).at("mmsi_filter").as_string() == "none");
  // The subscription JSON carries the MMSI filter only up to the service's limit.
  aisstream::Subscription sub;
  sub.api_key = "k";
  sub.mmsi.assign(50, 244000000);
  CHECK(aisstream::subscription_json(sub).find("FiltersShipMMSI") != std::string::npos);
  sub.mmsi.assign(51, 244000000);
  CHECK(aisstream::subscription_json(sub).find("FiltersShipMMSI") == std::string::npos);
}

TEST_CASE("watch list: a change reaches the Tracker on the next tick") {
  Fixture f;
  f.app->ingest(position(244700923, kNow), kNow);
  f.app->ingest(position(211000001, kNow), kNow);
  f.app->ingest(position(257000001, kNow), kNow);  // not on MMSI_LIST: filtered
  CHECK(f.app->vessels(0, 10).second == 2);
  REQUIRE(f.call("PUT", "/v1/watchlist", R"({"mmsi":[244700923, 257000001]})").status == 200);
  f.app->tick(kNow + 100);
  // 211000001 left the list: dropped from memory at once (as a restart would).
  CHECK(!f.app->latest(211000001));
  CHECK(f.app->latest(244700923));
  f.app->ingest(position(257000001, kNow + 200), kNow + 200);
  f.app->ingest(position(211000001, kNow + 200), kNow + 200);
  CHECK(f.app->latest(257000001));
  CHECK(!f.app->latest(211000001));
  // Back on the list: its last state comes back from the Store.
  f.app->tick(kNow + 2000);  // commits the batch
  REQUIRE(f.call("POST", "/v1/watchlist/211000001").status == 200);
  f.app->tick(kNow + 2100);
  REQUIRE(f.app->latest(211000001));
  CHECK(f.app->latest(211000001)->last_seen_ms == kNow);
}

TEST_CASE("areas: validated like AISSTREAM_BBOXES, persisted") {
  Fixture f;
  auto r = f.call("GET", "/v1/areas");
  REQUIRE(r.status == 200);
  CHECK(body(r).at("count").as_int64() == 0);
  const auto lon_first = f.call("PUT", "/v1/areas", R"({"areas":[[120, 30, 125, 35]]})");
  CHECK(error_code(lon_first) == "invalid_parameter");
  CHECK(body(lon_first).at("error").at("message").as_string().find("latitude first") != json::string::npos);
  CHECK(error_code(f.call("PUT", "/v1/areas", R"({"areas":[[91, 0, 80, 10]]})")) == "invalid_parameter");
  CHECK(error_code(f.call("PUT", "/v1/areas", R"({"areas":[[50, 0, 60, 181]]})")) == "invalid_parameter");
  CHECK(error_code(f.call("PUT", "/v1/areas", R"({"areas":[[50, 0, 60]]})")) == "invalid_parameter");
  CHECK(error_code(f.call("PUT", "/v1/areas", R"({"areas":[[50, "a", 60, 1]]})")) == "invalid_parameter");
  CHECK(error_code(f.call("PUT", "/v1/areas", R"([1,2])")) == "invalid_body");
  r = f.call("PUT", "/v1/areas", R"({"areas":[[51.5, 2.5, 54, 7.25], [-18, 179, -16, -179]]})");
  REQUIRE(r.status == 200);
  const auto put = body(r);
  const auto& areas = put.at("areas").as_array();
  REQUIRE(areas.size() == 2);
  CHECK(areas[0].as_array()[0].to_number<double>() == 51.5);
  CHECK(areas[0].as_array()[3].to_number<double>() == 7.25);
  CHECK(areas[1].as_array()[2].to_number<double>() == -16);
  App again(f.config, kNow + 1000);
  const auto st = again.control().state();
  REQUIRE(st.areas.size() == 2);
  CHECK(st.areas[1].lon2_deg == -179);
  CHECK(st.areas_origin == ControlOrigin::database);
}

TEST_CASE("simulator control: start, re-rate and stop change what the vessels list shows") {
  Fixture f;
  REQUIRE(f.call("PUT", "/v1/watchlist", R"({"mmsi":[]})").status == 200);  // every vessel
  auto r = f.call("GET", "/v1/sim");
  REQUIRE(r.status == 200);
  CHECK(body(r).at("state").as_string() == "stopped");
  CHECK(error_code(f.call("POST", "/v1/sim/start?speed=0")) == "invalid_parameter");
  CHECK(error_code(f.call("POST", "/v1/sim/start?speed=abc")) == "invalid_parameter");
  CHECK(error_code(f.call("POST", "/v1/sim/start?vessels=0")) == "invalid_parameter");
  CHECK(error_code(f.call("POST", "/v1/sim/start", "{")) == "invalid_body");
  CHECK(f.call("GET", "/v1/sim/start").status == 405);
  r = f.call("POST", "/v1/sim/start", R"({"vessels": 4, "speed": 2})");
  REQUIRE(r.status == 200);
  CHECK(body(r).at("state").as_string() == "running");
  CHECK(body(r).at("vessels").as_int64() == 4);
  for (TimeMs t = kNow; t <= kNow + 60'000; t += 1000) f.app->tick(t);
  CHECK(f.app->vessels(0, 100).second == 4);
  const auto v = f.app->vessels(0, 1).first.at(0);
  REQUIRE(v.position);
  CHECK(v.position->source == Source::simulator);
  // Sped up 2x, yet re-stamped to wall time: nothing is from the future.
  CHECK(v.position->ts_ms <= kNow + 60'000);
  CHECK(v.position->ts_ms > kNow + 50'000);
  CHECK(f.app->sim_status().messages > 0);
  r = f.call("POST", "/v1/sim/stop");
  CHECK(body(r).at("state").as_string() == "stopped");
  f.app->tick(kNow + 61'000);
  CHECK(f.app->vessels(0, 100).second == 0);
  CHECK(!f.app->sim_status().running);
}

TEST_CASE("Tracker: set_mmsi_allow drops vessels that left the list; erase_if drops by predicate") {
  Tracker t;
  t.apply(position(244700923, kNow), kNow);
  t.apply(position(211000001, kNow), kNow);
  t.apply(position(257000001, kNow), kNow);
  CHECK(t.set_mmsi_allow({244700923, 257000001}) == 1);
  CHECK(t.size() == 2);
  CHECK(t.apply(position(211000001, kNow + 1), kNow + 1) == ApplyStatus::filtered);
  CHECK(t.set_mmsi_allow({}) == 0);  // empty: everyone
  CHECK(t.apply(position(211000001, kNow + 2), kNow + 2) == ApplyStatus::updated);
  CHECK(t.erase_if([](const VesselState& v) { return v.mmsi < 250000000; }) == 2);
  CHECK(t.size() == 1);
  CHECK(t.counters().evicted == 0);
}

TEST_CASE("SubscriptionPacer: at most one send per second, changes in between coalesce") {
  aisstream::SubscriptionPacer p(1000);
  CHECK(p.changed(0) == 0);  // nothing sent yet: at once
  CHECK(p.pending());
  CHECK(!p.changed(10));  // already scheduled: the scheduled send carries the newest
  p.sent(0);
  CHECK(!p.pending());
  CHECK(p.changed(300) == 1000);  // 300 ms after a send: wait until 1 s after it
  CHECK(!p.changed(400));
  CHECK(!p.changed(999));
  p.sent(1000);
  CHECK(p.changed(5000) == 5000);  // long after: at once
  p.reset();                       // connection lost: nothing scheduled, no previous send
  CHECK(!p.pending());
  CHECK(p.changed(5100) == 5100);
}

TEST_CASE("validate_bounding_box: the same rules as AISSTREAM_BBOXES") {
  std::string why;
  CHECK(aisstream::validate_bounding_box({51, 2, 54, 7}, 1, why));
  CHECK(!aisstream::validate_bounding_box({120, 30, 125, 35}, 2, why));
  CHECK(why.find("box 2") != std::string::npos);
  CHECK(why.find("latitude first") != std::string::npos);
  CHECK(!aisstream::validate_bounding_box({0, 0, 0, std::nan("")}, 1, why));
  std::string text_why;
  CHECK(!aisstream::parse_bounding_boxes("120,30,125,35", text_why));
  CHECK(text_why.find("latitude first") != std::string::npos);
}

TEST_CASE("Store: positions_page walks every vessel in (mmsi, time, row) order, page by page, exactly once") {
  test::TempDir dir;
  StoreConfig sc;
  sc.path = (dir / "pages.db").string();
  Store store(sc);
  std::vector<std::pair<Mmsi, TimeMs>> want;
  for (const Mmsi m : {257000001U, 211000001U, 244700923U}) {
    for (int i = 0; i < 25; ++i) {
      PositionFix f;
      f.ts_ms = kNow + (i / 2) * 1000;  // pairs of fixes share a millisecond
      f.latlon = LatLon{54, 4 + i * 0.01};
      f.ais_type = 1;
      store.add_position(m, f);
      if (m != 257000001U) want.emplace_back(m, f.ts_ms);
    }
    PositionFix old;
    old.ts_ms = kNow - 100'000;
    old.latlon = LatLon{54, 4};
    store.add_position(m, old);
  }
  store.flush();
  std::sort(want.begin(), want.end());
  for (const std::size_t page_size : {1UL, 7UL, 25UL, 1000UL}) {
    std::vector<std::pair<Mmsi, TimeMs>> got;
    std::vector<double> lons;
    std::optional<PositionsCursor> cursor;
    int pages = 0;
    do {
      const auto page = store.positions_page(kNow, kNow + 60'000, {211000001, 244700923}, cursor, page_size);
      CHECK(page.rows.size() <= page_size);
      for (const auto& r : page.rows) {
        got.emplace_back(r.mmsi, r.fix.ts_ms);
        lons.push_back(r.fix.latlon.lon_deg);
      }
      cursor = page.next;
      REQUIRE(++pages < 200);
    } while (cursor);
    CHECK(got == want);
    // Rows sharing a millisecond are neither lost nor repeated: each vessel's 25 longitudes once each.
    CHECK(std::set<double>(lons.begin(), lons.end()).size() == 25);
  }
  // No MMSI list: every vessel, old fixes only with an early from.
  std::size_t all = 0;
  std::optional<PositionsCursor> cursor;
  do {
    const auto page = store.positions_page(kNow - 200'000, kNow + 60'000, {}, cursor, 10);
    all += page.rows.size();
    cursor = page.next;
  } while (cursor);
  CHECK(all == 78);
}

TEST_CASE("Store: settings survive reopening; values are replaced, not appended") {
  test::TempDir dir;
  StoreConfig sc;
  sc.path = (dir / "settings.db").string();
  {
    Store store(sc);
    CHECK(!store.load_setting("watchlist"));
    store.save_setting("watchlist", "[1]");
    store.save_setting("watchlist", "[244700923]");
    CHECK(store.load_setting("watchlist") == "[244700923]");
  }
  Store again(sc);
  CHECK(again.load_setting("watchlist") == "[244700923]");
  CHECK(again.schema_version() == Store::kSchemaVersion);
}

TEST_CASE("control routes: a read-only caller may read but every change gets 403 (issue #8)") {
  Fixture f;
  auto as_reader = [&](const std::string& method, const std::string& target, const std::string& body = {}) {
    Request r{method, target, body};
    r.role = AccessRole::read_only;
    return Api(*f.app, f.config).handle(r, kNow);
  };
  CHECK(as_reader("GET", "/v1/watchlist").status == 200);
  CHECK(as_reader("GET", "/v1/areas").status == 200);
  CHECK(as_reader("GET", "/v1/sim").status == 200);
  for (const auto& [method, target, payload] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"PUT", "/v1/watchlist", R"({"mmsi":[]})"},
           {"POST", "/v1/watchlist/244700923", ""},
           {"DELETE", "/v1/watchlist/211000001", ""},
           {"PUT", "/v1/areas", R"({"areas":[]})"},
           {"POST", "/v1/sim/start", ""},
           {"POST", "/v1/sim/stop", ""}}) {
    CAPTURE(target);
    const Response r = as_reader(method, target, payload);
    CHECK(r.status == 403);
    CHECK(body(r).at("error").at("code").as_string() == "forbidden");
  }
  // Nothing changed.
  CHECK(f.app->control().state().watchlist.size() == 2);
}
