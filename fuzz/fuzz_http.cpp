// libFuzzer target for the server's request handling: every REST route (Api::handle, which parses
// the query string first) and the /v1/live subscribe parser. Built by scripts/fuzz.sh in a CMake
// build with -DAISTRACK_FUZZ=ON, so aistrack_server_core and the library are instrumented too.
//
// Input layout: byte 0 picks the method (or, for the last entry, the /v1/live message parser);
// then the target up to the first '\n'; the rest is the request body (or the live message).
//
// One App is built once, on a SQLite file in a temporary directory, with a few vessels and a track
// committed so the read routes reach their deep paths. It never leaves the machine: no source
// (SOURCE=none), no tile servers (empty tile URLs, no disk cache) and a small offline basemap only.
// Control routes may change the watch list or the areas; they are reset after such an input so
// every input sees the same App. Invariants that must hold for any request abort on violation:
// a status in 200..599 other than 500, and a JSON body that parses.
#include "fuzz_support.hpp"

#include "app.hpp"
#include "live_hub.hpp"
#include "log.hpp"
#include "routes.hpp"

#include <aistrack/geo.hpp>

#include <boost/json.hpp>

#include <unistd.h>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace {

using namespace aistrack;
using namespace aistrack::server;

constexpr TimeMs kNow = 1'700'000'000'000;

using aistrack::fuzz::require;

struct Harness {
  std::filesystem::path dir;
  ServerConfig config;
  std::unique_ptr<App> app;
  std::unique_ptr<Api> api;
  ControlState initial;

  Harness() {
    // /dev/shm when there is one: the control routes commit to SQLite, and a disk fsync per input
    // would make the fuzzer crawl.
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    dir = base / ("aistrack-fuzz-http-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    config.db_path = (dir / "fuzz.db").string();
    config.source = "none";
    config.sim_vessels = 0;
    config.map_tile_url.clear();
    config.map_seamark_url.clear();
    config.map_tile_cache_dir = (dir / "tiles").string();
    config.map_tile_cache_mb = 0;
    config.map_memory_tiles = 8;
    // A small basemap of our own: the world's land (MAP_BASEMAP's default) costs over 100 ms per tile
    // under the sanitizers, which would spend the run drawing coastlines instead of parsing requests.
    config.map_basemap = (dir / "land.geojson").string();
    std::ofstream(config.map_basemap)
        << R"({"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon",)"
           R"("coordinates":[[[2.5,51.5],[4.5,51.5],[4.5,53.5],[3,53],[2.5,51.5]]]}},{"type":"Feature",)"
           R"("geometry":{"type":"MultiPolygon","coordinates":[[[[170,-10],[180,-10],[180,10],[170,-10]]],)"
           R"([[[-180,-10],[-170,10],[-180,10],[-180,-10]]]]}}]})";
    // Small images keep one rendering within a few milliseconds; the size checks are still reached.
    config.map_width = 96;
    config.map_height = 64;
    config.map_min_size = 16;
    config.map_max_size = 160;
    config.export_max_rows = 1000;
    g_log_level = LogLevel::error;
    app = std::make_unique<App>(config, kNow);
    seed_vessels();
    api = std::make_unique<Api>(*app, config);
    initial = app->control().state();
  }

  ~Harness() {
    api.reset();
    app.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  // Three vessels: a class A with a two-hour track and static data, a class B, and one with static
  // data only, so the routes see tracks, gaps, names and vessels without a position.
  void seed_vessels() {
    const std::array<Mmsi, 3> ships{244'700'923, 211'000'111, 538'009'327};
    LatLon p{52.0, 3.0};
    for (int i = 0; i < 120; ++i) {
      Message msg;
      msg.mmsi = ships[0];
      msg.ais_type = 1;
      msg.source = Source::simulator;
      msg.ts_ms = kNow - 2 * 3600 * 1000 + static_cast<TimeMs>(i) * 60'000 + (i > 80 ? 1'800'000 : 0);
      msg.position = PositionReport{};
      msg.position->latlon = p;
      msg.position->sog_kn = 10.0;
      msg.position->cog_deg = 45.0;
      msg.position->nav_status = NavStatus::under_way_using_engine;
      app->ingest(msg, kNow);
      p = geo::destination(p, 45.0, 10 * 1852.0 / 60.0);
    }
    Message b;
    b.mmsi = ships[1];
    b.ais_type = 18;
    b.station = StationClass::class_b;
    b.source = Source::simulator;
    b.ts_ms = kNow - 5000;
    b.position = PositionReport{};
    b.position->latlon = LatLon{-33.9, 18.4};
    app->ingest(b, kNow);
    for (const Mmsi m : ships) {
      Message s;
      s.mmsi = m;
      s.ais_type = 5;
      s.source = Source::simulator;
      s.ts_ms = kNow - 1000;
      s.static_data = StaticData{};
      s.static_data->name = "FUZZ, \"SHIP\"";
      s.static_data->destination = "ROTTERDAM";
      app->ingest(s, kNow);
    }
    app->shutdown();  // commits: the routes read committed rows only
  }

  // Undoes what a control route changed, so the next input starts from the same state.
  void reset_control() {
    Control& control = app->control();
    const auto [watchlist, areas, sim] = control.versions();
    if (watchlist == initial.watchlist_version && areas == initial.areas_version &&
        sim == initial.sim_version)
      return;
    if (watchlist != initial.watchlist_version) control.set_watchlist(initial.watchlist);
    if (areas != initial.areas_version) control.set_areas(initial.areas);
    if (sim != initial.sim_version) control.set_sim(initial.sim);
    const ControlState now = control.state();
    initial.watchlist_version = now.watchlist_version;
    initial.areas_version = now.areas_version;
    initial.sim_version = now.sim_version;
  }
};

Harness& harness() {
  static Harness h;
  return h;
}

void check_response(const Response& r) {
  // AISTRACK_FUZZ_VERBOSE=1 shows what a reproduced input got, to see why an invariant failed.
  static const bool verbose = std::getenv("AISTRACK_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "fuzz_http: %d %s, %zu body bytes%s\n%.2000s\n", r.status, r.content_type.c_str(),
                 r.body.size(), r.stream ? " (stream)" : "", r.body.c_str());
  }
  require(r.status >= 200 && r.status <= 599 && r.status != 500);
  require(!r.content_type.empty());
  if (r.stream) {
    // Drained with a bound: the seeded store holds a few hundred rows, far fewer than this allows.
    std::string part;
    bool more = true;
    for (int i = 0; more && i < 1000; ++i) {
      part.clear();
      more = r.stream->next(part, 4096);
      require(part.size() <= 4096 + 1024);  // one row may straddle the soft bound
    }
    require(!more);
    return;
  }
  if (r.content_type == "application/json" && !r.body.empty()) {
    boost::json::error_code ec;
    const boost::json::value v = boost::json::parse(r.body, ec);
    require(!ec);
    if (r.status >= 400) require(v.is_object() && v.as_object().contains("error"));
  }
}

void fuzz_live(std::string_view text) {
  Harness& h = harness();
  auto parsed = parse_live_message(text, 8);
  if (const auto* e = std::get_if<LiveError>(&parsed)) {
    require(!e->code.empty() && !e->message.empty());
    boost::json::error_code ec;
    (void)boost::json::parse(live_error_json(*e), ec);
    require(!ec);
    return;
  }
  const LiveFilter& f = std::get<LiveFilter>(parsed);
  require(f.mmsi.size() <= 8);
  h.app->for_each_vessel([&f](const VesselState& v) { (void)f.matches(v); });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  (void)harness();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // Lower-case and unknown methods are in the list: the router must refuse them, not misroute.
  static constexpr std::array<std::string_view, 10> kMethods{"GET",   "HEAD",    "POST", "PUT", "DELETE",
                                                             "PATCH", "OPTIONS", "get",  "",    "live"};
  const std::string_view method = kMethods[data[0] % kMethods.size()];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (method == "live") {
    fuzz_live(rest);
    return 0;
  }
  const std::size_t nl = rest.find('\n');
  Request request;
  request.method = std::string(method);
  request.target = std::string(rest.substr(0, nl));
  if (nl != std::string_view::npos) request.body = std::string(rest.substr(nl + 1));

  Harness& h = harness();
  const Response r = h.api->handle(request, kNow);
  check_response(r);
  (void)h.api->is_slow(request);
  h.reset_control();
  return 0;
}
