// Prometheus metrics (issue #8): the exposition writer, the route labels, and GET /metrics over a real
// App (real SQLite file), read back with the Prometheus project's own Python parser
// (Debian python3-prometheus-client) rather than with our own reading of the format.
#include "metrics.hpp"
#include "route_checks.hpp"
#include "routes.hpp"

#include <doctest/doctest.h>

#include "aisstream_frames.hpp"
#include "mock_aisstream.hpp"
#include "support.hpp"

#include <boost/json.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

using namespace aistrack;
using namespace aistrack::server;
namespace json = boost::json;

namespace {
constexpr TimeMs kNow = 1'700'000'000'000;

// One parsed sample: name and labels as the parser read them, and the type of its family ("unknown"
// when no TYPE line declared it).
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
  std::string family_type;
};

// Parses an exposition with prometheus_client.parser (it refuses a malformed line) and returns its
// samples and the family types (a counter family is named without "_total" there).
std::pair<std::vector<Sample>, std::map<std::string, std::string>> parse_with_prometheus(
    const test::TempDir& dir, const std::string& text) {
  const auto in = dir / "metrics.txt";
  const auto out = dir / "metrics.json";
  const auto log = dir / "parse.log";
  std::ofstream(in, std::ios::binary) << text;
  const auto script = dir / "parse.py";
  std::ofstream(script) << R"py(import json, sys
from prometheus_client.parser import text_string_to_metric_families
samples, types = [], {}
for family in text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read()):
    types[family.name] = family.type
    for s in family.samples:
        samples.append({"name": s.name, "labels": s.labels, "value": s.value, "type": family.type})
json.dump({"samples": samples, "types": types}, open(sys.argv[2], "w"))
)py";
  // Debian's interpreter: python3-prometheus-client is a Debian package (scripts/install-deps.sh).
  const std::string cmd = "/usr/bin/python3 '" + script.string() + "' '" + in.string() + "' '" +
                          out.string() + "' > '" + log.string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  REQUIRE_MESSAGE(status == 0, ("prometheus_client refused the exposition: " + test::slurp(log)));
  const json::object parsed = json::parse(test::slurp(out)).as_object();
  std::vector<Sample> samples;
  for (const auto& s : parsed.at("samples").as_array()) {
    Sample one{std::string(s.at("name").as_string()),
               {},
               s.at("value").to_number<double>(),
               std::string(s.at("type").as_string())};
    for (const auto& [k, v] : s.at("labels").as_object())
      one.labels[std::string(k)] = std::string(v.as_string());
    samples.push_back(std::move(one));
  }
  std::map<std::string, std::string> types;
  for (const auto& [k, v] : parsed.at("types").as_object())
    types[std::string(k)] = std::string(v.as_string());
  return {std::move(samples), std::move(types)};
}

// The value of the one sample with `name` and exactly `labels`; nullopt when there is none.
std::optional<double> value_of(const std::vector<Sample>& samples, const std::string& name,
                               const std::map<std::string, std::string>& labels = {}) {
  std::optional<double> found;
  for (const auto& s : samples) {
    if (s.name != name || s.labels != labels) continue;
    REQUIRE_MESSAGE(!found, ("two samples " + name));
    found = s.value;
  }
  return found;
}

struct Fixture {
  test::TempDir dir;
  ServerConfig config;
  std::unique_ptr<App> app;
  Fixture() {
    config.db_path = (dir / "metrics.db").string();
    config.sim_vessels = 0;
    app = std::make_unique<App>(config, kNow);
  }
};

const char* kPosition =
    R"({"MetaData":{"MMSI":244700923,"time_utc":"2023-11-14 22:13:10 +0000 UTC"},"MessageType":"PositionReport","Message":{"PositionReport":{"MessageID":1,"UserID":244700923,"Valid":true,"NavigationalStatus":0,"RateOfTurn":0,"Sog":2.2,"PositionAccuracy":true,"Longitude":5.2,"Latitude":52.8,"Cog":140.5,"TrueHeading":140,"Timestamp":10}}})";
// A message type the feed controls: a quote, a backslash and a newline must survive as a label value.
const char* kOddType =
    R"({"MetaData":{"MMSI":244700923,"time_utc":"2023-11-14 22:13:11 +0000 UTC"},"MessageType":"Odd\"Ty\\pe\nX","Message":{}})";
}  // namespace

TEST_CASE("metrics: one HELP and TYPE per family, samples grouped, label values escaped") {
  MetricsText m;
  m.counter("b_total", "second family", 3, {{"k", "x"}});
  m.gauge("a_gauge", "first family\nwith a newline and a \\", 1.5);
  m.counter("b_total", "second family", 4, {{"k", "quote\" back\\ nl\n"}});
  const std::string text = m.str();
  CHECK(text ==
        "# HELP a_gauge first family\\nwith a newline and a \\\\\n"
        "# TYPE a_gauge gauge\n"
        "a_gauge 1.5\n"
        "# HELP b_total second family\n"
        "# TYPE b_total counter\n"
        "b_total{k=\"x\"} 3\n"
        "b_total{k=\"quote\\\" back\\\\ nl\\n\"} 4\n");
  test::TempDir dir;
  const auto [samples, types] = parse_with_prometheus(dir, text);
  CHECK(value_of(samples, "b_total", {{"k", "quote\" back\\ nl\n"}}) == 4);
  CHECK(value_of(samples, "a_gauge") == 1.5);
}

TEST_CASE("metrics: histograms are cumulative with +Inf, _sum and _count") {
  MetricsText m;
  const double bounds[] = {0.1, 1};
  const std::uint64_t counts[] = {2, 0, 5};  // two ≤ 0.1 s, none in (0.1, 1], five above 1 s
  m.histogram("h_seconds", "a histogram", bounds, counts, 12.5, {{"route", "/x"}});
  test::TempDir dir;
  const auto [samples, types] = parse_with_prometheus(dir, m.str());
  CHECK(types.at("h_seconds") == "histogram");
  CHECK(value_of(samples, "h_seconds_bucket", {{"route", "/x"}, {"le", "0.1"}}) == 2);
  CHECK(value_of(samples, "h_seconds_bucket", {{"route", "/x"}, {"le", "1"}}) == 2);
  CHECK(value_of(samples, "h_seconds_bucket", {{"route", "/x"}, {"le", "+Inf"}}) == 7);
  CHECK(value_of(samples, "h_seconds_count", {{"route", "/x"}}) == 7);
  CHECK(value_of(samples, "h_seconds_sum", {{"route", "/x"}}) == 12.5);
}

TEST_CASE("metrics: every route the server answers has its own label") {
  // server/metrics.cpp lists the templates itself (route_label runs on every request, before any
  // module is asked); this keeps that list and the routes the modules answer in step.
  std::size_t checked = 0;
  for (const RouteInfo& r : test::served_routes()) {
    const std::string concrete = std::regex_replace(r.path, std::regex(R"(\{[^}]+\})"), "7");
    CHECK_MESSAGE(route_label(concrete) == r.path,
                  r.path << " has no label of its own in server/metrics.cpp");
    ++checked;
  }
  CHECK(checked >= 15);
}

TEST_CASE("metrics: route labels are the route templates, anything else is other") {
  CHECK(route_label("/") == "/");
  CHECK(route_label("/health") == "/health");
  CHECK(route_label("/metrics") == "/metrics");
  CHECK(route_label("/v1/vessels") == "/v1/vessels");
  CHECK(route_label("/v1/ais/244700923") == "/v1/ais/{mmsi}");
  CHECK(route_label("/v1/ais/not-an-mmsi") == "/v1/ais/{mmsi}");
  CHECK(route_label("/v1/ais/244700923/track") == "/v1/ais/{mmsi}/track");
  CHECK(route_label("/v1/stats/244700923") == "/v1/stats/{mmsi}");
  CHECK(route_label("/v1/map/244700923") == "/v1/map/{mmsi}");
  CHECK(route_label("/v1/tiles/3/4/2.png") == "/v1/tiles/{z}/{x}/{y}.png");
  CHECK(route_label("/v1/tiles/3/4/2.jpg") == "other");
  CHECK(route_label("/v1/watchlist/244700923") == "/v1/watchlist/{mmsi}");
  CHECK(route_label("/v1/sim/start") == "/v1/sim/start");
  CHECK(route_label("/static/leaflet/leaflet.js") == "/static/{file}");
  CHECK(route_label("/v1/live") == "/v1/live");
  CHECK(route_label("/static/") == "other");
  CHECK(route_label("/v1/ais/") == "other");
  CHECK(route_label("/v1/ais//track") == "other");
  CHECK(route_label("/v1/vessels/extra") == "other");
  CHECK(route_label("/wp-login.php") == "other");
  CHECK(route_label("") == "other");
}

TEST_CASE("metrics: every route docs/API.md documents has its own route label") {
  // A route added without a template in metrics.cpp would be counted as "other": this catches it.
  const std::string doc = test::slurp(std::filesystem::path(AISTRACK_SOURCE_DIR) / "docs" / "API.md");
  REQUIRE_FALSE(doc.empty());
  const std::regex route_re("`(GET|HEAD|PUT|POST|DELETE) (/[^`?]*)");
  std::size_t routes = 0;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), route_re); it != std::sregex_iterator(); ++it) {
    const std::string documented = (*it)[2].str();
    if (documented == "/v1/live") continue;  // the WebSocket upgrade: counted by the live metrics instead
    // "{mmsi}" → "1" etc.: a concrete path as a client would send it.
    const std::string path = std::regex_replace(documented, std::regex("\\{[^}]*\\}"), "1");
    CHECK_MESSAGE(route_label(path) != "other", documented);
    ++routes;
  }
  CHECK(routes >= 20);
  // And every route the router itself lists (the list docs/openapi.json is checked against).
  Fixture f;
  const Api api(*f.app, f.config);
  for (const RouteInfo& r : api.routes()) {
    if (r.path == kLivePath) continue;
    CHECK_MESSAGE(route_label(std::regex_replace(r.path, std::regex("\\{[^}]*\\}"), "1")) != "other", r.path);
  }
}

TEST_CASE("metrics: GET /metrics counts messages, frames, vessels, the Store and the API's requests") {
  Fixture f;
  REQUIRE(f.app->ingest_aisstream_frame(kPosition, kNow) == aisstream::Status::ok);
  REQUIRE(f.app->ingest_aisstream_frame(kOddType, kNow) == aisstream::Status::skipped);
  REQUIRE(f.app->ingest_aisstream_frame("{not json", kNow) == aisstream::Status::malformed);
  // A 400-byte message type is cut to 120 bytes on a character boundary: 13 + 53 × 2 bytes.
  std::string long_type;
  for (int i = 0; i < 200; ++i) long_type += "\u00e9";  // é, two bytes in UTF-8
  const std::string long_frame =
      R"({"MetaData":{"MMSI":244700923},"MessageType":")" + long_type + R"(","Message":{}})";
  REQUIRE(f.app->ingest_aisstream_frame(long_frame, kNow) == aisstream::Status::skipped);
  f.app->tick(kNow + 60'000);  // past STORE_BATCH_MS: the position is committed

  const Api api(*f.app, f.config);
  CHECK(api.handle(Request{"GET", "/v1/ais/244700923"}, kNow).status == 200);
  CHECK(api.handle(Request{"GET", "/v1/ais/244700923?x=1"}, kNow).status == 200);
  CHECK(api.handle(Request{"GET", "/v1/ais/123"}, kNow).status == 400);
  CHECK(api.handle(Request{"GET", "/no/such/route"}, kNow).status == 404);
  CHECK(api.handle(Request{"BREW", "/metrics"}, kNow).status == 405);

  const Response r = api.handle(Request{"GET", "/metrics"}, kNow + 61'000);
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  const auto [samples, types] = parse_with_prometheus(f.dir, r.body);

  CHECK(value_of(samples, "aistrack_messages_total", {{"source", "aisstream"}}) == 1);
  CHECK(value_of(samples, "aistrack_messages_total", {{"source", "simulator"}}) == 0);
  CHECK(value_of(samples, "aistrack_frames_total", {{"status", "ok"}}) == 1);
  CHECK(value_of(samples, "aistrack_frames_total", {{"status", "skipped"}}) == 2);
  CHECK(value_of(samples, "aistrack_frames_total", {{"status", "malformed"}}) == 1);
  CHECK(value_of(samples, "aistrack_frames_skipped_total",
                 {{"type", "message type Odd\"Ty\\pe\nX is not tracked"}}) == 1);
  std::string cut_type = "message type ";
  for (int i = 0; i < 53; ++i) cut_type += "\u00e9";
  CHECK(value_of(samples, "aistrack_frames_skipped_total", {{"type", cut_type}}) == 1);
  CHECK(value_of(samples, "aistrack_vessels") == 1);
  CHECK(value_of(samples, "aistrack_tracker_messages_total", {{"result", "updated"}}) == 1);
  CHECK(value_of(samples, "aistrack_store_rows_written_total", {{"table", "positions"}}) == 1);
  CHECK(value_of(samples, "aistrack_store_up") == 1);
  // One commit, of the position and its vessel row, timed by the server around the Store call.
  CHECK(value_of(samples, "aistrack_store_commit_duration_seconds_count") == 1);
  CHECK(value_of(samples, "aistrack_store_commit_duration_seconds_sum") > 0);
  CHECK(types.at("aistrack_store_commit_duration_seconds") == "histogram");
  CHECK(value_of(samples, "aistrack_store_batch_rows_count") == 1);
  CHECK(value_of(samples, "aistrack_store_batch_rows_sum") ==
        value_of(samples, "aistrack_store_rows_written_total", {{"table", "positions"}}).value_or(-1) +
            value_of(samples, "aistrack_store_rows_written_total", {{"table", "vessels"}}).value_or(-1));
  CHECK(value_of(samples, "aistrack_last_message_timestamp_seconds") ==
        doctest::Approx(1'699'999'990.0));  // 2023-11-14 22:13:10 UTC
  CHECK(value_of(samples, "aistrack_uptime_seconds") == doctest::Approx(61.0));
  CHECK(value_of(samples, "aistrack_sim_running") == 0);
  CHECK(value_of(samples, "aistrack_ingest_tick_duration_seconds_count") == 1);  // the one tick() above
  CHECK(types.at("aistrack_ingest_tick_duration_seconds") == "histogram");
  CHECK(value_of(samples, "aistrack_feed_connects_total") == std::nullopt);  // no aisstream.io client here

  // The API's own requests, by route template (the query and the MMSI do not make new series).
  const auto requests = [&](const char* route, const char* method, const char* code) {
    return value_of(samples, "aistrack_http_requests_total",
                    {{"route", route}, {"method", method}, {"code", code}});
  };
  CHECK(requests("/v1/ais/{mmsi}", "GET", "200") == 2);
  CHECK(requests("/v1/ais/{mmsi}", "GET", "400") == 1);
  CHECK(requests("other", "GET", "404") == 1);
  CHECK(requests("/metrics", "other", "405") == 1);
  CHECK(value_of(samples, "aistrack_http_request_duration_seconds_count", {{"route", "/v1/ais/{mmsi}"}}) ==
        3);
  CHECK(value_of(samples, "aistrack_http_request_duration_seconds_bucket",
                 {{"route", "/v1/ais/{mmsi}"}, {"le", "+Inf"}}) == 3);
  CHECK(types.at("aistrack_http_request_duration_seconds") == "histogram");
  CHECK(types.at("aistrack_vessels") == "gauge");

  // Every sample belongs to a family declared with a TYPE line.
  for (const auto& s : samples) {
    CHECK_MESSAGE(s.name.starts_with("aistrack_"), s.name);
    CHECK_MESSAGE(s.family_type != "unknown", s.name);
  }
  CHECK(types.at("aistrack_messages") == "counter");
  CHECK(r.body.find("# HELP aistrack_messages_total ") != std::string::npos);
  CHECK(r.body.find("# TYPE aistrack_messages_total counter\n") != std::string::npos);
}

TEST_CASE("metrics: the real server on the simulator serves /metrics whose counters grow between scrapes") {
  test::TempDir dir;
  const int port = test::free_port();
  test::ChildProcess server({AISTRACK_SERVER_BIN},
                            {"HTTP_PORT=" + std::to_string(port), "DB_PATH=" + (dir / "m.db").string(),
                             "SIM_VESSELS=10", "SIM_SEED=3", "ENV_FILE=", "AISSTREAM_API_KEY="},
                            dir / "server.log");
  REQUIRE_MESSAGE(
      test::wait_for([&] { return test::http_request(port, "GET", "/health").status == 200; }, 20),
      test::slurp(dir / "server.log"));
  const auto scrape = [&] {
    const auto r = test::http_request(port, "GET", "/metrics");
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
    return parse_with_prometheus(dir, r.body).first;
  };
  const auto simulated = [](const std::vector<Sample>& s) {
    return value_of(s, "aistrack_messages_total", {{"source", "simulator"}}).value_or(-1);
  };
  std::vector<Sample> first;
  REQUIRE(test::wait_for(
      [&] {
        first = scrape();
        return simulated(first) > 0;
      },
      30));
  std::vector<Sample> second;
  REQUIRE(test::wait_for(
      [&] {
        second = scrape();
        return simulated(second) > simulated(first);
      },
      30));
  CHECK(value_of(second, "aistrack_sim_running") == 1);
  CHECK(value_of(second, "aistrack_sim_vessels") == 10);
  CHECK(value_of(second, "aistrack_vessels").value_or(0) > 0);
  CHECK(value_of(second, "aistrack_live_clients") == 0);  // the server's own section is there too
  CHECK(value_of(second, "aistrack_live_clients_max").value_or(0) > 0);
  // The health checks above and every earlier scrape were counted (a scrape counts after it renders).
  CHECK(value_of(second, "aistrack_http_requests_total",
                 {{"route", "/health"}, {"method", "GET"}, {"code", "200"}})
            .value_or(0) >= 1);
  CHECK(value_of(second, "aistrack_http_requests_total",
                 {{"route", "/metrics"}, {"method", "GET"}, {"code", "200"}})
            .value_or(0) >= 1);
  server.signal(SIGTERM);
  CHECK(server.wait(20) == 0);
}

TEST_CASE("metrics: the aisstream.io feed's state, frames and reconnects, and never the key") {
  const std::string key = "AKEY-metrics-7f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c";
  std::vector<std::string> frames;
  for (const auto& m : bench::recent_simulated(4, 3, 5)) frames.push_back(bench::to_aisstream_frame(m));
  test::MockOptions mo;
  mo.api_key = key;
  mo.frame_interval_ms = 5;
  mo.frames = frames;
  test::MockAisstream mock(mo);
  mock.set_fault(test::MockFault::abrupt_close, 30);  // every connection ends after 30 frames (1006)
  test::TempDir dir;
  const int port = test::free_port();
  test::ChildProcess server({AISTRACK_SERVER_BIN},
                            {"HTTP_PORT=" + std::to_string(port), "DB_PATH=" + (dir / "feed.db").string(),
                             "AISSTREAM_API_KEY=" + key, "AISSTREAM_URL=" + mock.url(), "ENV_FILE="},
                            dir / "server.log");
  std::string body;
  std::vector<Sample> samples;
  REQUIRE_MESSAGE(
      test::wait_for(
          [&] {
            const auto r = test::http_request(port, "GET", "/metrics");
            if (r.status != 200) return false;
            body = r.body;
            samples = parse_with_prometheus(dir, body).first;
            return value_of(samples, "aistrack_feed_reconnects_total", {{"cause", "closed"}}).value_or(0) >=
                   1;
          },
          30),
      test::slurp(dir / "server.log"));
  CHECK(value_of(samples, "aistrack_feed_connects_total").value_or(0) >= 1);
  CHECK(value_of(samples, "aistrack_feed_frames_received_total").value_or(0) >= 30);
  CHECK(value_of(samples, "aistrack_feed_bytes_received_total").value_or(0) > 0);
  CHECK(value_of(samples, "aistrack_messages_total", {{"source", "aisstream"}}).value_or(0) > 0);
  CHECK(value_of(samples, "aistrack_frames_total", {{"status", "ok"}}).value_or(0) > 0);
  CHECK(value_of(samples, "aistrack_feed_reconnects_total", {{"cause", "tls"}}) == 0);
  CHECK(value_of(samples, "aistrack_feed_last_frame_timestamp_seconds").has_value());
  // Exactly one state is current.
  double current = 0;
  for (const auto& s : samples) {
    if (s.name == "aistrack_feed_state") current += s.value;
  }
  CHECK(current == 1);
  CHECK_MESSAGE(body.find(key) == std::string::npos, "the API key leaked into /metrics");
  server.signal(SIGTERM);
  CHECK(server.wait(20) == 0);
}
