// GET /v1/map/{mmsi} (issue #6) over a real App and a real tile server on 127.0.0.1, and the
// MAP_* settings.
#include "routes.hpp"

#include <doctest/doctest.h>

#include "route_checks.hpp"
#include "support.hpp"
#include "tile_server.hpp"

#include <boost/json.hpp>

#include <map>

using namespace aistrack;
using namespace aistrack::server;

namespace {
constexpr TimeMs kNow = 1'700'000'000'000;
constexpr Mmsi kShip = 244700923;
constexpr Mmsi kStaticOnly = 211000001;

struct Fixture {
  test::TempDir dir;
  test::TileServer tiles;
  ServerConfig config;
  std::unique_ptr<App> app;
  std::unique_ptr<Api> api;

  explicit Fixture(const std::string& base_url = {}) {
    config.db_path = (dir / "map.db").string();
    config.sim_vessels = 0;
    config.store_batch_rows = 1;
    config.map_tile_url = base_url.empty() ? tiles.url("base") : base_url;
    config.map_seamark_url = tiles.url("seamark");
    config.map_tile_cache_dir = (dir / "tiles").string();
    config.map_basemap.clear();
    config.map_user_agent = "aistrack-route-test/2.0 (ops@example.org)";
    // Generous: under a sanitizer on a loaded machine the local tile server can take seconds.
    config.map_tile_timeout_ms = 15000;
    app = std::make_unique<App>(config, kNow);
    for (int i = 0; i < 10; ++i) {
      Message m;
      m.mmsi = kShip;
      m.ais_type = 1;
      m.source = Source::aisstream;
      m.ts_ms = kNow - (10 - i) * 60'000;
      PositionReport p;
      p.latlon = LatLon{52.80 + i * 0.003, 5.20 + i * 0.004};
      p.sog_kn = 8.0;
      p.cog_deg = 45.0;
      m.position = p;
      app->ingest(m, kNow);
    }
    Message s;
    s.mmsi = kStaticOnly;
    s.ais_type = 5;
    s.source = Source::aisstream;
    s.ts_ms = kNow - 1000;
    StaticData sd;
    sd.name = "NO FIX";
    s.static_data = sd;
    app->ingest(s, kNow);
    app->tick(kNow);
    api = std::make_unique<Api>(*app, config);
  }
  [[nodiscard]] Response get(const std::string& target, const std::string& method = "GET") const {
    return api->handle(Request{method, target}, kNow);
  }
};

}  // namespace

TEST_CASE("map route: a PNG of the vessel with Content-Type and X-Map-Tiles-Missing") {
  Fixture f;
  const Response r = f.get("/v1/map/244700923?width=640&height=480");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "image/png");
  CHECK(test::header_of(r, "X-Map-Tiles-Missing") == "0");
  CHECK(std::stoi(test::header_of(r, "X-Map-Tiles")) > 0);
  const auto img = test::decode_image(r.body);
  REQUIRE(img);
  CHECK(img->width_px == 640);
  CHECK(img->height_px == 480);
  CHECK(img->channels_in_file == 3);
  // Both layers were asked for, with our User-Agent.
  const auto log = f.tiles.log();
  REQUIRE(!log.empty());
  bool base = false;
  bool seamark = false;
  for (const auto& req : log) {
    CHECK(req.user_agent == f.config.map_user_agent);
    base = base || req.path.starts_with("/base/");
    seamark = seamark || req.path.starts_with("/seamark/");
  }
  CHECK(base);
  CHECK(seamark);
}

TEST_CASE("map route: defaults come from the settings") {
  Fixture f;
  const Response r = f.get("/v1/map/244700923");
  REQUIRE(r.status == 200);
  const auto img = test::decode_image(r.body);
  REQUIRE(img);
  CHECK(img->width_px == f.config.map_width);
  CHECK(img->height_px == f.config.map_height);
}

TEST_CASE("map route: JPEG, grayscale and a zoom") {
  Fixture f;
  const Response r =
      f.get("/v1/map/244700923?format=jpeg&color=grayscale&zoom=12&width=300&height=200&quality=70");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "image/jpeg");
  CHECK(test::header_of(r, "X-Map-Zoom") == "12");
  const auto img = test::decode_image(r.body);
  REQUIRE(img);
  CHECK(img->width_px == 300);
  const auto rgb = test::decode_image(r.body, 3);
  REQUIRE(rgb);
  int coloured = 0;
  for (std::size_t i = 0; i < rgb->pixels.size(); i += 3)
    if (rgb->pixels[i] != rgb->pixels[i + 1] || rgb->pixels[i + 1] != rgb->pixels[i + 2]) ++coloured;
  CHECK(coloured == 0);
  CHECK(img->height_px == 200);
}

TEST_CASE("map route: the second request for the same map makes no tile request") {
  Fixture f;
  REQUIRE(f.get("/v1/map/244700923?zoom=11").status == 200);
  const auto first = f.tiles.requests();
  CHECK(first > 0);
  REQUIRE(f.get("/v1/map/244700923?zoom=11").status == 200);
  CHECK(f.tiles.requests() == first);
  // A new Api (as after a restart) finds the tiles in the disk cache.
  Api fresh(*f.app, f.config);
  CHECK(fresh.handle(Request{"GET", "/v1/map/244700923?zoom=11"}, kNow).status == 200);
  CHECK(f.tiles.requests() == first);
}

TEST_CASE("map route: a dead tile server still gives a map and says how many tiles were missing") {
  Fixture f(test::dead_tile_url());
  const Response r = f.get("/v1/map/244700923?zoom=10&width=256&height=256");
  REQUIRE(r.status == 200);
  const int missing = std::stoi(test::header_of(r, "X-Map-Tiles-Missing"));
  CHECK(missing > 0);
  CHECK(missing <= std::stoi(test::header_of(r, "X-Map-Tiles")));
  CHECK(test::decode_image(r.body));
}

TEST_CASE("map route: 400 for a bad size, scheme, format, zoom or window") {
  Fixture f;
  for (const char* q :
       {"width=63", "width=2049", "height=0", "width=abc", "height=-5", "color=sepia", "format=gif",
        "zoom=20", "zoom=-1", "zoom=x", "hours=0", "hours=100000", "quality=0"}) {
    CAPTURE(q);
    test::check_error(f.get(std::string("/v1/map/244700923?") + q), 400, "invalid_parameter");
  }
  test::check_error(f.get("/v1/map/24470092"), 400, "invalid_mmsi");
  CHECK(f.tiles.requests() == 0);
}

TEST_CASE("map route: 404 when the vessel has no position, 405 for other methods") {
  Fixture f;
  test::check_error(f.get("/v1/map/123456789"), 404, "not_found");
  test::check_error(f.get("/v1/map/211000001"), 404, "not_found");
  CHECK(f.get("/v1/map/244700923", "POST").status == 405);
  test::check_error(f.get("/v1/map/244700923/extra"), 404, "not_found");
}

TEST_CASE("map route: maps are rendered off the network threads") {
  Fixture f;
  CHECK(f.api->is_slow(Request{"GET", "/v1/map/244700923?width=100"}));
  CHECK_FALSE(f.api->is_slow(Request{"GET", "/v1/ais/244700923"}));
  CHECK_FALSE(f.api->is_slow(Request{"GET", "/health"}));
}

TEST_CASE("map config: MAP_* settings are read and checked") {
  const auto load = [](std::map<std::string, std::string> env) {
    env["ENV_FILE"] = "";
    return load_config({}, env).config;
  };
  const auto c = load({{"MAP_WIDTH", "1024"},
                       {"MAP_HEIGHT", "512"},
                       {"MAP_COLOR", "grayscale"},
                       {"MAP_TILE_URL", "http://127.0.0.1:9/{z}/{x}/{y}.png"},
                       {"MAP_SEAMARK_URL", ""},
                       {"MAP_TILE_CACHE_MB", "0"},
                       {"MAP_USER_AGENT", "me/1 (me@example.org)"}});
  CHECK(c.map_width == 1024);
  CHECK(c.map_height == 512);
  CHECK(c.map_color == "grayscale");
  CHECK(c.map_seamark_url.empty());
  CHECK(c.map_tile_cache_mb == 0);
  CHECK(c.map_user_agent == "me/1 (me@example.org)");
  const ServerConfig d;
  CHECK(d.map_tile_url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png");
  CHECK(d.map_min_size == 64);
  CHECK(d.map_max_size == 2048);
  CHECK(d.map_tile_cache_days >= 7);
  CHECK(d.map_user_agent.starts_with("aistrack/"));
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"MAP_WIDTH", "10"},
                                                        {"MAP_HEIGHT", "4000"},
                                                        {"MAP_COLOR", "sepia"},
                                                        {"MAP_TILE_URL", "https://example.org/tiles.png"},
                                                        {"MAP_SEAMARK_URL", "ftp://x/{z}/{x}/{y}"},
                                                        {"MAP_TILE_CACHE_DAYS", "3"},
                                                        {"MAP_USER_AGENT", ""},
                                                        {"MAP_JPEG_QUALITY", "101"},
                                                        {"MAP_TILE_MBTILES", "/nonexistent.mbtiles"}}) {
    CAPTURE(key);
    try {
      load({{key, value}});
      FAIL("no ConfigError");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()).find(key) != std::string::npos);
    }
  }
}
