// GET /v1/stats/{mmsi}, GET /v1/ais/{mmsi}/track (JSON, GeoJSON, CSV, GPX) and the bbox/since
// filters of /v1/vessels, over a real App with a real SQLite file. The exports are checked with
// real parsers run as separate programs: Python's json, csv and xml.etree, and xmllint.
#include "routes.hpp"

#include <aistrack/geo.hpp>
#include <aistrack/stats.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <sqlite3.h>
#include <sys/wait.h>
#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace aistrack;
using namespace aistrack::server;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {
constexpr TimeMs kNow = 1'700'000'000'000;
constexpr Mmsi kShip = 244700923;
constexpr TimeMs kStepMs = 10'000;

struct Fixture {
  test::TempDir dir;
  ServerConfig config;
  std::unique_ptr<App> app;
  std::vector<PositionFix> sent;  // what was ingested for kShip, in time order

  Fixture() {
    config.db_path = (dir / "stats.db").string();
    config.sim_vessels = 0;
    app = std::make_unique<App>(config, kNow);
  }

  void ingest(Mmsi mmsi, const PositionFix& f) const {
    Message msg;
    msg.mmsi = mmsi;
    msg.ais_type = f.ais_type;
    msg.source = Source::simulator;
    msg.ts_ms = f.ts_ms;
    msg.position = PositionReport{};
    msg.position->latlon = f.latlon;
    msg.position->sog_kn = f.sog_kn;
    msg.position->cog_deg = f.cog_deg;
    msg.position->nav_status = f.nav_status;
    app->ingest(msg, kNow);
  }

  void name(Mmsi mmsi, const std::string& ship_name) const {
    Message msg;
    msg.mmsi = mmsi;
    msg.ais_type = 5;
    msg.ts_ms = kNow - 1000;
    msg.static_data = StaticData{};
    msg.static_data->name = ship_name;
    app->ingest(msg, kNow);
  }

  /// `count` fixes of kShip at 10 kn due north-east every 10 s, the last one at kNow − 1 s.
  void steady(int count) {
    LatLon p{52.0, 3.0};
    for (int i = 0; i < count; ++i) {
      PositionFix f;
      f.ts_ms = kNow - 1000 - static_cast<TimeMs>(count - 1 - i) * kStepMs;
      f.latlon = p;
      f.sog_kn = 10.0;
      f.cog_deg = 45.0;
      f.nav_status =
          i % 50 == 7 ? NavStatus::ais_sart : NavStatus::under_way_using_engine;  // a name with a comma
      f.ais_type = 1;
      f.source = Source::simulator;
      sent.push_back(f);
      ingest(kShip, f);
      p = geo::destination(p, 45.0, 10 * 1852.0 * 10 / 3600.0);
    }
    app->shutdown();  // commits: the routes read committed rows only
  }

  [[nodiscard]] Response get(const std::string& target, const std::string& method = "GET") const {
    return Api(*app, config).handle(Request{method, target}, kNow);
  }
};

json::object body(const Response& r) { return json::parse(r.body).as_object(); }

void check_error(const Response& r, int status, std::string_view code) {
  CAPTURE(r.body);
  CHECK(r.status == status);
  CHECK(r.content_type == "application/json");
  const auto o = body(r);
  REQUIRE(o.contains("error"));
  CHECK(o.at("error").at("code").as_string() == code);
  CHECK_FALSE(o.at("error").at("message").as_string().empty());
}

double num(const json::value& v) { return v.to_number<double>(); }

std::string header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

/// Runs `program` (python3 or a shell command) on `body` saved to a file; returns exit status
/// and everything it printed.
std::pair<int, std::string> run_on(const test::TempDir& dir, const std::string& command_prefix,
                                   const std::string& body_text, const std::string& script = {}) {
  const fs::path input = dir / "body.out";
  const fs::path output = dir / "run.log";
  {
    std::ofstream out(input, std::ios::binary);
    out << body_text;
  }
  std::string command = command_prefix;
  if (!script.empty()) {
    const fs::path py = dir / "check.py";
    std::ofstream(py) << script;
    command += " '" + py.string() + "'";
  }
  command += " '" + input.string() + "' > '" + output.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, test::slurp(output)};
}

/// Every fix of every page of the track at `target` (JSON), following next_cursor.
std::vector<json::object> all_pages(const Fixture& f, const std::string& target, std::size_t& pages) {
  std::vector<json::object> out;
  std::string next = target;
  pages = 0;
  for (;;) {
    const Response r = f.get(next);
    REQUIRE(r.status == 200);
    ++pages;
    const auto o = body(r);
    for (const auto& fix : o.at("fixes").as_array()) out.push_back(fix.as_object());
    if (o.at("next_cursor").is_null()) {
      CHECK(header(r, "Link").empty());
      break;
    }
    CHECK_FALSE(header(r, "Link").empty());
    next = target + "&cursor=" + std::string(o.at("next_cursor").as_string());
    REQUIRE(pages < 100);
  }
  return out;
}
}  // namespace

TEST_CASE("routes stats: /v1/stats returns the Stats of the stored track over the window") {
  Fixture f;
  f.steady(721);  // two hours
  const Response r = f.get("/v1/stats/244700923");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/json");
  const auto o = body(r);
  // The library over the same fixes and window gives the same numbers.
  StatsConfig sc;
  sc.max_speed_kn = f.config.stats_max_speed_kn;
  sc.stop_sog_kn = f.config.stats_stop_sog_kn;
  sc.gap_ms = f.config.stats_gap_s * 1000LL;
  const StatsResult want = Stats(sc).compute(f.sent, kNow - 24 * 3'600'000, kNow);
  CHECK(o.at("mmsi").to_number<std::int64_t>() == kShip);
  CHECK(o.at("points").to_number<std::size_t>() == 721);
  CHECK(o.at("from").as_string() == format_iso8601(f.sent.front().ts_ms));
  CHECK(o.at("to").as_string() == format_iso8601(f.sent.back().ts_ms));
  CHECK(o.at("window").at("from").as_string() == format_iso8601(kNow - 24 * 3'600'000));
  CHECK(o.at("window").at("to").as_string() == format_iso8601(kNow));
  CHECK(num(o.at("distance_m")) == doctest::Approx(want.distance_m).epsilon(1e-12));
  CHECK(num(o.at("distance_nm")) == doctest::Approx(20.0).epsilon(0.01));
  CHECK(num(o.at("avg_sog_kn")) == doctest::Approx(10.0));
  CHECK(num(o.at("mean_sog_kn")) == doctest::Approx(10.0));
  CHECK(num(o.at("max_sog_kn")) == doctest::Approx(10.0));
  CHECK(num(o.at("avg_speed_kn")) == doctest::Approx(10.0).epsilon(0.01));
  CHECK(num(o.at("moving_time_s")) == doctest::Approx(7200.0));
  CHECK(num(o.at("stopped_time_s")) == 0.0);
  CHECK(o.at("gaps").at("count").to_number<int>() == 0);
  CHECK(num(o.at("gaps").at("longest_s")) == 0.0);
  for (const char* reason : {"duplicate", "out_of_order", "invalid_position", "jump"}) {
    CHECK(o.at("rejected").at(reason).to_number<int>() == 0);
  }
  CHECK(num(o.at("bbox").at("min_lat")) == doctest::Approx(52.0));
  CHECK(num(o.at("bbox").at("min_lon")) == doctest::Approx(3.0));
  CHECK(num(o.at("bbox").at("max_lat")) > 52.2);
  CHECK(num(o.at("bbox").at("max_lon")) > 3.3);
  CHECK(num(o.at("settings").at("max_speed_kn")) == doctest::Approx(60.0));

  // hours=1: the last hour only (fixes at now − 1 s, now − 11 s … now − 3591 s).
  const auto h = body(f.get("/v1/stats/244700923?hours=1"));
  CHECK(h.at("points").to_number<int>() == 360);
  CHECK(num(h.at("distance_nm")) == doctest::Approx(10.0).epsilon(0.01));
  // hours may be fractional.
  CHECK(body(f.get("/v1/stats/244700923?hours=0.5")).at("points").to_number<int>() == 180);
  // from/to in ISO-8601.
  const auto w = body(f.get("/v1/stats/244700923?from=" + format_iso8601(f.sent[100].ts_ms) +
                            "&to=" + format_iso8601(f.sent[199].ts_ms)));
  CHECK(w.at("points").to_number<int>() == 100);
  CHECK(w.at("from").as_string() == format_iso8601(f.sent[100].ts_ms));
  // A known vessel with no fixes in the window: 200 with points 0 and nulls.
  const auto empty = f.get("/v1/stats/244700923?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z");
  REQUIRE(empty.status == 200);
  const auto e = body(empty);
  CHECK(e.at("points").to_number<int>() == 0);
  CHECK(e.at("from").is_null());
  CHECK(e.at("to").is_null());
  CHECK(e.at("bbox").is_null());
  CHECK(e.at("avg_sog_kn").is_null());
  CHECK(num(e.at("distance_m")) == 0.0);
}

TEST_CASE("routes stats: a 100 nm jump stored in the track adds no distance to /v1/stats") {
  Fixture f;
  f.steady(100);
  const double before = num(body(f.get("/v1/stats/244700923")).at("distance_m"));
  PositionFix bad = f.sent[50];
  bad.ts_ms += 3000;
  bad.latlon = geo::destination(bad.latlon, 270.0, 100 * 1852.0);
  f.ingest(kShip, bad);
  f.app->shutdown();
  const auto o = body(f.get("/v1/stats/244700923"));
  CHECK(o.at("rejected").at("jump").to_number<int>() == 1);
  CHECK(o.at("points").to_number<int>() == 100);
  CHECK(num(o.at("distance_m")) == doctest::Approx(before).epsilon(0.001));
}

TEST_CASE("routes stats: bad /v1/stats requests get 400 404 or 405 with the JSON error body") {
  Fixture f;
  f.steady(10);
  check_error(f.get("/v1/stats/123"), 400, "invalid_mmsi");
  check_error(f.get("/v1/stats/211000001"), 404, "not_found");
  check_error(f.get("/v1/stats/244700923?hours=0"), 400, "invalid_parameter");
  check_error(f.get("/v1/stats/244700923?hours=-1"), 400, "invalid_parameter");
  check_error(f.get("/v1/stats/244700923?hours=abc"), 400, "invalid_parameter");
  check_error(f.get("/v1/stats/244700923?hours=169"), 400, "invalid_parameter");  // STATS_MAX_HOURS 168
  check_error(f.get("/v1/stats/244700923?hours=nan"), 400, "invalid_parameter");
  check_error(f.get("/v1/stats/244700923?hours=1&from=2023-11-14T00:00:00Z"), 400, "invalid_parameter");
  check_error(f.get("/v1/stats/244700923?from=2023-11-15T00:00:00Z&to=2023-11-14T00:00:00Z"), 400,
              "invalid_parameter");
  check_error(f.get("/v1/stats/244700923?from=2023-01-01T00:00:00Z&to=2023-02-01T00:00:00Z"), 400,
              "invalid_parameter");  // 31 days > STATS_MAX_HOURS
  check_error(f.get("/v1/stats/244700923?from=yesterday"), 400, "invalid_parameter");
  check_error(f.get("/v1/stats/244700923", "POST"), 405, "method_not_allowed");
  CHECK(f.get("/v1/stats/244700923?hours=168").status == 200);

  ServerConfig small = f.config;
  small.stats_max_hours = 2;
  CHECK(Api(*f.app, small).handle(Request{"GET", "/v1/stats/244700923?hours=3"}, kNow).status == 400);
  CHECK(Api(*f.app, small).handle(Request{"GET", "/v1/stats/244700923?hours=2"}, kNow).status == 200);
}

TEST_CASE("routes stats: the JSON track pages with a cursor through equal times without loss") {
  Fixture f;
  f.steady(95);
  // Three more reports sharing one millisecond with an existing fix: paging must keep them all.
  for (int i = 0; i < 3; ++i) {
    PositionFix twin = f.sent[40];
    twin.latlon.lat_deg += 1e-5 * (i + 1);
    f.ingest(kShip, twin);
  }
  f.app->shutdown();
  const std::string base = "/v1/ais/244700923/track?limit=7";
  std::size_t pages = 0;
  const auto fixes = all_pages(f, base, pages);
  CHECK(pages == 14);  // 98 fixes, 7 per page
  REQUIRE(fixes.size() == 98);
  std::set<std::pair<std::string, double>> seen;
  std::string last_time;
  for (const auto& fix : fixes) {
    const std::string t(fix.at("time").as_string());
    CHECK(t >= last_time);  // ISO-8601 UTC with milliseconds sorts as text
    last_time = t;
    seen.emplace(t, num(fix.at("lat")));
  }
  CHECK(seen.size() == 98);  // each exactly once
  CHECK(fixes.front().at("time").as_string() == format_iso8601(f.sent.front().ts_ms));
  CHECK(num(fixes.front().at("lat")) == f.sent.front().latlon.lat_deg);
  CHECK(num(fixes.front().at("lon")) == f.sent.front().latlon.lon_deg);
  CHECK(num(fixes.front().at("sog")) == 10.0);
  CHECK(fixes.front().at("nav_status").as_string() == "under way using engine");

  // The Link header repeats the query with the next cursor.
  const Response first = f.get(base + "&format=csv");
  const std::string link = header(first, "Link");
  CHECK(link.starts_with("</v1/ais/244700923/track?"));
  CHECK(link.find("format=csv") != std::string::npos);
  CHECK(link.find("limit=7") != std::string::npos);
  CHECK(link.find("cursor=") != std::string::npos);
  CHECK(link.ends_with(">; rel=\"next\""));

  // from/to select; the default window is the last 24 hours.
  const auto o = body(f.get("/v1/ais/244700923/track?from=" + format_iso8601(f.sent[10].ts_ms) +
                            "&to=" + format_iso8601(f.sent[19].ts_ms)));
  CHECK(o.at("count").to_number<int>() == 10);
  CHECK(o.at("next_cursor").is_null());
  CHECK(body(f.get("/v1/ais/244700923/track?to=2020-01-01T00:00:00Z")).at("count").to_number<int>() == 0);
}

TEST_CASE("routes stats: bad track requests get 400 404 or 405") {
  Fixture f;
  f.steady(5);
  check_error(f.get("/v1/ais/244700923/track?format=kml"), 400, "invalid_parameter");
  check_error(f.get("/v1/ais/244700923/track?limit=0"), 400, "invalid_parameter");
  check_error(f.get("/v1/ais/244700923/track?limit=10001"), 400, "invalid_parameter");
  check_error(f.get("/v1/ais/244700923/track?limit=x"), 400, "invalid_parameter");
  check_error(f.get("/v1/ais/244700923/track?cursor=abc"), 400, "invalid_parameter");
  check_error(f.get("/v1/ais/244700923/track?cursor=12_"), 400, "invalid_parameter");
  check_error(f.get("/v1/ais/244700923/track?from=2023-11-15T00:00:00Z&to=2023-11-14T00:00:00Z"), 400,
              "invalid_parameter");
  check_error(f.get("/v1/ais/244700923/track?to=noon"), 400, "invalid_parameter");
  check_error(f.get("/v1/ais/211000001/track"), 404, "not_found");
  check_error(f.get("/v1/ais/2447/track"), 400, "invalid_mmsi");
  check_error(f.get("/v1/ais/244700923/track", "DELETE"), 405, "method_not_allowed");
  CHECK(f.get("/v1/ais/244700923/track?limit=10000").status == 200);
  CHECK(f.get("/v1/ais/244700923/track", "HEAD").status == 200);
}

TEST_CASE("routes stats: the GeoJSON export parses with Python's json as a FeatureCollection") {
  Fixture f;
  f.steady(30);
  const Response r = f.get("/v1/ais/244700923/track?format=geojson");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/geo+json");
  const auto [status, out] = run_on(f.dir, "python3", r.body, R"py(
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
assert doc["type"] == "FeatureCollection", doc["type"]
line, points = doc["features"][0], doc["features"][1:]
assert line["type"] == "Feature" and line["geometry"]["type"] == "LineString"
coords = line["geometry"]["coordinates"]
assert len(coords) == len(points) == len(line["properties"]["times"])
for c, p in zip(coords, points):
    assert p["geometry"]["type"] == "Point"
    assert p["geometry"]["coordinates"] == c
    lon, lat = c
    assert -180 <= lon <= 180 and -90 <= lat <= 90
    assert p["properties"]["mmsi"] == 244700923
print(len(coords), repr(coords[0][0]), repr(coords[0][1]), points[0]["properties"]["time"], points[7]["properties"]["nav_status"])
)py");
  CAPTURE(out);
  REQUIRE(status == 0);
  std::istringstream in(out);
  std::size_t n = 0;
  double lon = 0;
  double lat = 0;
  std::string time;
  in >> n >> lon >> lat >> time;
  CHECK(n == 30);
  CHECK(lon == f.sent[0].latlon.lon_deg);  // RFC 7946 order: longitude first
  CHECK(lat == f.sent[0].latlon.lat_deg);
  CHECK(time == format_iso8601(f.sent[0].ts_ms));
  CHECK(out.find("AIS-SART, MOB-AIS or EPIRB-AIS active") != std::string::npos);

  // One fix: a LineString cannot hold it, so the line feature has a null geometry (still valid).
  const auto one = body(f.get("/v1/ais/244700923/track?format=geojson&limit=1"));
  CHECK(one.at("features").as_array().at(0).at("geometry").is_null());
  CHECK(one.at("features").as_array().size() == 2);
}

TEST_CASE("routes stats: the CSV export parses with Python's csv module per RFC 4180") {
  Fixture f;
  f.steady(30);
  const Response r = f.get("/v1/ais/244700923/track?format=csv");
  REQUIRE(r.status == 200);
  CHECK(r.content_type.starts_with("text/csv"));
  CHECK(r.body.find("\r\n") != std::string::npos);
  CHECK(r.body.find("\n") == r.body.find("\r\n") + 1);  // CRLF line ends
  const auto [status, out] = run_on(f.dir, "python3", r.body, R"py(
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as fh:
    text = fh.read()
assert all(line.endswith("\r") or not line for line in text.split("\n")), "every record ends in CRLF"
rows = list(csv.DictReader(text.splitlines(keepends=True), strict=True))
assert rows, "no rows"
cols = ["mmsi", "time", "lat", "lon", "sog", "cog", "heading", "rot", "nav_status", "nav_status_code", "ais_type", "source"]
header = next(csv.reader(text.splitlines(keepends=True)))
assert header == cols, header
for row in rows:
    assert None not in row, "extra fields"
    assert row["mmsi"] == "244700923"
    float(row["lat"]); float(row["lon"])
    assert row["heading"] == "" and row["rot"] == ""
sart = [r for r in rows if r["nav_status_code"] == "14"]
print(len(rows), repr(float(rows[0]["lat"])), repr(float(rows[0]["lon"])), rows[0]["time"], len(sart), sart[0]["nav_status"].replace(" ", "_"))
)py");
  CAPTURE(out);
  REQUIRE(status == 0);
  std::istringstream in(out);
  std::size_t n = 0;
  std::size_t sart = 0;
  double lat = 0;
  double lon = 0;
  std::string time;
  std::string sart_name;
  in >> n >> lat >> lon >> time >> sart >> sart_name;
  CHECK(n == 30);
  CHECK(lat == f.sent[0].latlon.lat_deg);  // shortest round-trip text: no precision lost
  CHECK(lon == f.sent[0].latlon.lon_deg);
  CHECK(time == format_iso8601(f.sent[0].ts_ms));
  CHECK(sart == 1);
  CHECK(sart_name == "AIS-SART,_MOB-AIS_or_EPIRB-AIS_active");  // the quoted comma survived
}

TEST_CASE("routes stats: the GPX export is well-formed GPX 1.1 for xmllint and xml.etree") {
  Fixture f;
  f.name(kShip, "R&D <ONE>");
  f.steady(25);
  const Response r = f.get("/v1/ais/244700923/track?format=gpx");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/gpx+xml");
  const auto [lint_status, lint_out] = run_on(f.dir, "xmllint --noout", r.body);
  CAPTURE(lint_out);
  CHECK_MESSAGE(lint_status == 0, "xmllint (Debian libxml2-utils, scripts/install-deps.sh) rejected the GPX");
  const auto [status, out] = run_on(f.dir, "python3", r.body, R"py(
import sys, re, datetime
import xml.etree.ElementTree as ET
NS = "{http://www.topografix.com/GPX/1/1}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == NS + "gpx", root.tag
assert root.get("version") == "1.1" and root.get("creator")
children = [c.tag for c in root]
assert children == [NS + "metadata", NS + "trk"], children  # GPX 1.1 order: metadata, wpt, rte, trk
trk = root.find(NS + "trk")
assert [c.tag for c in trk] == [NS + "name", NS + "type", NS + "trkseg"], [c.tag for c in trk]
pts = trk.find(NS + "trkseg").findall(NS + "trkpt")
for p in pts:
    lat, lon = float(p.get("lat")), float(p.get("lon"))
    assert -90 <= lat <= 90 and -180 <= lon < 180
    tags = [c.tag for c in p]
    assert tags[0] == NS + "time" and tags[-1] == NS + "extensions", tags  # wptType order
    t = p.find(NS + "time").text
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", t), t
    datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")
    ext = p.find(NS + "extensions")[0]
    assert ext.tag == "{http://www.garmin.com/xmlschemas/TrackPointExtension/v2}TrackPointExtension"
print(len(pts), repr(float(pts[0].get("lat"))), repr(float(pts[0].get("lon"))), float(pts[0].find(NS + "extensions")[0][0].text))
print(trk.find(NS + "name").text)
)py");
  CAPTURE(out);
  REQUIRE(status == 0);
  std::istringstream in(out);
  std::size_t n = 0;
  double lat = 0;
  double lon = 0;
  double speed_ms = 0;
  in >> n >> lat >> lon >> speed_ms;
  CHECK(n == 25);
  CHECK(lat == f.sent[0].latlon.lat_deg);
  CHECK(lon == f.sent[0].latlon.lon_deg);
  CHECK(speed_ms == doctest::Approx(10 * 1852.0 / 3600.0));          // SOG in m/s
  CHECK(out.find("MMSI 244700923 R&D <ONE>") != std::string::npos);  // escaped, then read back
}

TEST_CASE("routes stats: the track queries search the (mmsi, ts_ms) key range and never scan or sort") {
  Fixture f;
  // A fleet, so the planner has a real choice, and statistics, so it uses them.
  for (Mmsi m = 211000001; m <= 211000040; ++m) {
    for (int i = 0; i < 250; ++i) {
      PositionFix p;
      p.ts_ms = kNow - 3'600'000 + i * kStepMs;
      p.latlon = LatLon{54.0 + (m % 100) * 0.01, 3.0 + i * 1e-4};
      p.ais_type = 1;
      f.ingest(m, p);
    }
  }
  f.app->shutdown();
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(f.config.db_path.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "ANALYZE", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);

  const auto plan = f.app->store().track_query_plan();
  REQUIRE(plan.size() >= 2);
  for (const std::string& step : plan) {
    CAPTURE(step);
    CHECK(step.find("SEARCH positions USING") != std::string::npos);
    // positions is clustered on (mmsi, ts_ms, seq): one range of its primary key, no second lookup.
    CHECK(step.find("PRIMARY KEY (mmsi=? AND ts_ms>? AND ts_ms<?)") != std::string::npos);
    CHECK(step.find("SCAN") == std::string::npos);
    CHECK(step.find("TEMP B-TREE") == std::string::npos);
  }
}

TEST_CASE("routes stats: /v1/vessels filters by bbox and since from memory") {
  Fixture f;
  struct Ship {
    Mmsi mmsi;
    LatLon p;
    TimeMs age_ms;
  };
  const Ship ships[] = {
      {211000001, {54.0, 3.0}, 10'000},     // North Sea, fresh
      {211000002, {54.5, 4.0}, 3'600'000},  // North Sea, an hour ago
      {211000003, {51.0, 1.5}, 60'000},     // Dover Strait
      {211000004, {-17.0, 179.9}, 5'000},   // Fiji, east of the antimeridian
      {211000005, {-17.1, -179.9}, 5'000},  // Fiji, west of it
  };
  for (const Ship& s : ships) {
    PositionFix p;
    p.ts_ms = kNow - s.age_ms;
    p.latlon = s.p;
    p.ais_type = 1;
    f.ingest(s.mmsi, p);
  }
  const auto mmsis = [&](const std::string& q) {
    const Response r = f.get("/v1/vessels" + q);
    REQUIRE(r.status == 200);
    const auto o = body(r);
    std::vector<std::int64_t> out;
    for (const auto& v : o.at("vessels").as_array()) out.push_back(v.at("mmsi").to_number<std::int64_t>());
    CHECK(o.at("total").to_number<std::size_t>() >= out.size());
    return std::pair{out, o.at("total").to_number<std::size_t>()};
  };
  using V = std::vector<std::int64_t>;
  CHECK(mmsis("?bbox=53,2,55,5").first == V{211000001, 211000002});
  CHECK(mmsis("?bbox=53,2,55,5&since=600").first == V{211000001});
  CHECK(mmsis("?since=120").first == V{211000001, 211000003, 211000004, 211000005});
  CHECK(mmsis("?bbox=-18,179,-16,-179").first == V{211000004, 211000005});  // across the antimeridian
  CHECK(mmsis("?bbox=-90,-180,90,180").second == 5);
  const auto page = mmsis("?since=120&limit=2&offset=1");
  CHECK(page.first == V{211000003, 211000004});
  CHECK(page.second == 4);  // total counts the filtered vessels
  CHECK(mmsis("").second == 5);

  check_error(f.get("/v1/vessels?bbox=53,2,55"), 400, "invalid_parameter");
  check_error(f.get("/v1/vessels?bbox=53,2,55,5,6"), 400, "invalid_parameter");
  check_error(f.get("/v1/vessels?bbox=55,2,53,5"), 400, "invalid_parameter");  // minlat > maxlat
  check_error(f.get("/v1/vessels?bbox=53,2,95,5"), 400, "invalid_parameter");
  check_error(f.get("/v1/vessels?bbox=53,-181,55,5"), 400, "invalid_parameter");
  check_error(f.get("/v1/vessels?bbox=a,b,c,d"), 400, "invalid_parameter");
  check_error(f.get("/v1/vessels?bbox="), 400, "invalid_parameter");
  check_error(f.get("/v1/vessels?since=0"), 400, "invalid_parameter");
  check_error(f.get("/v1/vessels?since=-5"), 400, "invalid_parameter");
  check_error(f.get("/v1/vessels?since=soon"), 400, "invalid_parameter");
}

TEST_CASE("routes stats: Store track_page and visit_track honour their window limit and cursor") {
  Fixture f;
  f.steady(20);
  const Store& store = f.app->store();
  const TimeMs from = f.sent.front().ts_ms;
  const TimeMs to = f.sent.back().ts_ms;
  CHECK(store.track_page(kShip, from, to, std::nullopt, 0).fixes.empty());
  CHECK(store.track_page(kShip, to, from, std::nullopt, 10).fixes.empty());
  const TrackPage first = store.track_page(kShip, from, to, std::nullopt, 15);
  REQUIRE(first.fixes.size() == 15);
  REQUIRE(first.next);
  CHECK(first.next->ts_ms == f.sent[14].ts_ms);
  CHECK(first.fixes == std::vector<PositionFix>(f.sent.begin(), f.sent.begin() + 15));
  const TrackPage rest = store.track_page(kShip, from, to, first.next, 15);
  CHECK(rest.fixes.size() == 5);
  CHECK_FALSE(rest.next);
  CHECK(rest.fixes.front() == f.sent[15]);
  // Exactly a page left: no next cursor, so no empty extra page.
  const TrackPage exact = store.track_page(kShip, from, to, first.next, 5);
  CHECK(exact.fixes.size() == 5);
  CHECK_FALSE(exact.next);
  // A cursor beyond the window, or of another vessel, gives an empty last page.
  CHECK(store.track_page(kShip, from, to, TrackCursor{to + 1, 0}, 5).fixes.empty());
  CHECK(store.track_page(211000009, from, to, std::nullopt, 5).fixes.empty());

  std::vector<PositionFix> seen;
  CHECK(store.visit_track(kShip, from, to, 7, [&](const PositionFix& p) { seen.push_back(p); }) == 7);
  CHECK(seen == std::vector<PositionFix>(f.sent.begin(), f.sent.begin() + 7));
  CHECK(store.visit_track(kShip, to, from, 7, [&](const PositionFix&) { FAIL("called"); }) == 0);
  CHECK(store.visit_track(kShip, from, to, 1000, [](const PositionFix&) {}) == 20);
}

TEST_CASE("routes stats: the stats settings load from flags and environment and are validated") {
  const std::map<std::string, std::string> none{{"ENV_FILE", ""}};
  const ServerConfig d = load_config({}, none).config;
  CHECK(d.stats_max_hours == 168);
  CHECK(d.stats_max_speed_kn == 60.0);
  CHECK(d.stats_stop_sog_kn == 0.5);
  CHECK(d.stats_gap_s == 600);
  CHECK(d.track_max_limit == 10'000);
  const ServerConfig c =
      load_config({"--stats-max-speed-kn", "45.5", "--track-max-limit=500"}, {{"ENV_FILE", ""},
                                                                              {"STATS_STOP_SOG_KN", "1.25"},
                                                                              {"STATS_GAP_S", "900"},
                                                                              {"STATS_MAX_HOURS", "720"}})
          .config;
  CHECK(c.stats_max_speed_kn == 45.5);
  CHECK(c.stats_stop_sog_kn == 1.25);
  CHECK(c.stats_gap_s == 900);
  CHECK(c.stats_max_hours == 720);
  CHECK(c.track_max_limit == 500);
  const auto error = [&](const std::string& key, const std::string& value) -> std::string {
    try {
      load_config({}, {{"ENV_FILE", ""}, {key, value}});
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"STATS_MAX_SPEED_KN", "0"},
                                                        {"STATS_MAX_SPEED_KN", "fast"},
                                                        {"STATS_MAX_SPEED_KN", "nan"},
                                                        {"STATS_STOP_SOG_KN", "-1"},
                                                        {"STATS_GAP_S", "0"},
                                                        {"STATS_MAX_HOURS", "0"},
                                                        {"TRACK_MAX_LIMIT", "0"}}) {
    CAPTURE(key);
    CAPTURE(value);
    const std::string why = error(key, value);
    CHECK(why.find(key) != std::string::npos);  // names the setting
    CHECK(why.find(value) != std::string::npos);
  }
}

TEST_CASE("routes stats: /v1/positions answers who was inside a box during a window, and refuses bad boxes") {
  Fixture f;
  f.steady(100);  // kShip from 52.0,3.0 north-east at 10 kn, one fix every 10 s
  PositionFix other;
  other.ts_ms = kNow - 5000;
  other.latlon = {-17.0, 179.5};
  other.ais_type = 1;
  other.source = Source::simulator;
  f.ingest(211000001, other);
  f.app->shutdown();

  // A box around the first half of kShip's track only.
  const LatLon mid = f.sent[49].latlon;
  const std::string box =
      "52.0,3.0," + std::to_string(mid.lat_deg + 1e-9) + "," + std::to_string(mid.lon_deg + 1e-9);
  const Response r = f.get("/v1/positions?bbox=" + box + "&hours=1");
  REQUIRE(r.status == 200);
  const auto o = body(r);
  CHECK(o.at("count").to_number<int>() == 50);
  CHECK_FALSE(o.at("truncated").as_bool());
  const auto& positions = o.at("positions").as_array();
  REQUIRE(positions.size() == 50);
  CHECK(positions[0].at("mmsi").to_number<Mmsi>() == kShip);
  CHECK(num(positions[0].at("lat")) == doctest::Approx(52.0));
  CHECK(positions[49].at("time").as_string() == format_iso8601(f.sent[49].ts_ms));

  // Across the antimeridian, and a limit that truncates.
  const auto far = body(f.get("/v1/positions?bbox=-18,179,-16,-179&hours=1"));
  REQUIRE(far.at("count").to_number<int>() == 1);
  CHECK(far.at("positions").at(0).at("mmsi").to_number<Mmsi>() == 211000001);
  const auto some = body(f.get("/v1/positions?bbox=-90,-180,90,180&hours=1&limit=7"));
  CHECK(some.at("count").to_number<int>() == 7);
  CHECK(some.at("truncated").as_bool());
  // A window that ends before the fixes finds nothing.
  CHECK(body(f.get("/v1/positions?bbox=-90,-180,90,180&to=2000-01-01T00:00:00Z"))
            .at("count")
            .to_number<int>() == 0);

  check_error(f.get("/v1/positions"), 400, "invalid_parameter");
  check_error(f.get("/v1/positions?bbox=60,3,50,4"), 400, "invalid_parameter");
  check_error(f.get("/v1/positions?bbox=1,2,3"), 400, "invalid_parameter");
  check_error(f.get("/v1/positions?bbox=-90,-180,90,180&limit=0"), 400, "invalid_parameter");
  check_error(f.get("/v1/positions?bbox=-90,-180,90,180&hours=100000"), 400, "invalid_parameter");
  check_error(f.get("/v1/positions?bbox=-90,-180,90,180", "POST"), 405, "method_not_allowed");
}
