// GET /v1/tiles/{z}/{x}/{y}.png (issue #7), the dashboard's tile proxy, over a real App and a real tile
// server on 127.0.0.1; the offline basemap stand-in; and the library's draw_basemap_tile.
#include "routes.hpp"

#include <doctest/doctest.h>

#include "route_checks.hpp"
#include "support.hpp"
#include "tile_server.hpp"

#include <aistrack/geo.hpp>
#include <aistrack/map_renderer.hpp>

#include <fstream>

using namespace aistrack;
using namespace aistrack::server;

namespace {
constexpr TimeMs kNow = 1'700'000'000'000;

// A GeoJSON "island": lat 10..40, lon 10..40.
constexpr std::string_view kIsland =
    R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon",)"
    R"("coordinates":[[[10,10],[40,10],[40,40],[10,40],[10,10]]]}}]})";

struct Options {
  std::string base_url;  ///< "" → the local tile server; "none" → no tile source
  bool basemap = false;  ///< offline basemap: the island
};

struct Fixture {
  test::TempDir dir;
  test::TileServer tiles;
  ServerConfig config;
  std::unique_ptr<App> app;
  std::unique_ptr<Api> api;

  explicit Fixture(const Options& o = {}) {
    config.db_path = (dir / "tiles.db").string();
    config.sim_vessels = 0;
    config.map_tile_url = o.base_url.empty() ? tiles.url("base") : (o.base_url == "none" ? "" : o.base_url);
    config.map_seamark_url = tiles.url("seamark");
    config.map_tile_cache_dir = (dir / "cache").string();
    config.map_user_agent = "aistrack-tile-proxy-test/1.0 (ops@example.org)";
    config.map_tile_timeout_ms = 2000;
    config.map_basemap.clear();
    if (o.basemap) {
      const auto path = dir / "island.geojson";
      std::ofstream(path) << kIsland;
      config.map_basemap = path.string();
    }
    app = std::make_unique<App>(config, kNow);
    api = std::make_unique<Api>(*app, config);
  }
  [[nodiscard]] Response get(const std::string& target, const std::string& method = "GET") const {
    return api->handle(Request{method, target}, kNow);
  }
};

// Pixel (x, y) of tile `id` where `p` lies.
std::pair<int, int> pixel_of(LatLon p, TileId id) {
  const auto w = geo::to_world_px(p, id.z);
  return {static_cast<int>(w.x) - id.x * 256, static_cast<int>(w.y) - id.y * 256};
}
}  // namespace

TEST_CASE("tile proxy: passes the tile server's PNG on, with our User-Agent and a browser cache time") {
  Fixture f;
  const Response r = f.get("/v1/tiles/3/4/2.png");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "image/png");
  CHECK(test::header_of(r, "X-Tile-Source") == "tiles");
  CHECK(test::header_of(r, "Cache-Control").starts_with("public, max-age="));
  // The very bytes the tile server sent (not re-encoded).
  CHECK(r.body == test::base_tile_png(3, 4, 2));
  const auto img = test::decode_image(r.body, 3);
  REQUIRE(img);
  CHECK(img->width_px == 256);
  CHECK(img->height_px == 256);
  const auto want = test::base_tile_color(3, 4, 2);
  for (int c = 0; c < 3; ++c) CHECK(img->at(128, 128, c) == want[static_cast<std::size_t>(c)]);
  const auto log = f.tiles.log();
  REQUIRE(log.size() == 1);
  CHECK(log[0].path == "/base/3/4/2.png");
  CHECK(log[0].user_agent == f.config.map_user_agent);
  // HEAD answers too (the server drops the body).
  CHECK(f.get("/v1/tiles/3/4/2.png", "HEAD").status == 200);
}

TEST_CASE("tile proxy: shares the map's disk cache, so a tile is fetched from the tile server once") {
  Fixture f;
  REQUIRE(f.get("/v1/tiles/5/16/10.png").status == 200);
  CHECK(f.tiles.requests() == 1);
  REQUIRE(f.get("/v1/tiles/5/16/10.png").status == 200);
  CHECK(f.tiles.requests() == 1);
  // A new Api (as after a restart) still finds it on disk.
  Api fresh(*f.app, f.config);
  const Response again = fresh.handle(Request{"GET", "/v1/tiles/5/16/10.png"}, kNow);
  CHECK(again.status == 200);
  CHECK(again.body == test::base_tile_png(5, 16, 10));
  CHECK(f.tiles.requests() == 1);
}

TEST_CASE("tile proxy: without a tile server, the offline basemap is drawn into the tile") {
  for (const char* source : {"dead", "none"}) {
    const std::string source_text = source;
    CAPTURE(source_text);
    Fixture f(Options{std::string(source) == "dead" ? test::dead_tile_url() : "none", true});
    const TileId id{2, 2, 1};  // lon 0..90, lat 0..66.5: the island is inside
    const Response r = f.get("/v1/tiles/2/2/1.png");
    REQUIRE(r.status == 200);
    CHECK(r.content_type == "image/png");
    CHECK(test::header_of(r, "X-Tile-Source") == "basemap");
    CHECK(test::header_of(r, "Cache-Control") == "public, max-age=60");
    const auto img = test::decode_image(r.body, 3);
    REQUIRE(img);
    CHECK(img->width_px == 256);
    CHECK(img->height_px == 256);
    const auto px = [&](LatLon p) {
      const auto [x, y] = pixel_of(p, id);
      REQUIRE(x >= 0);
      REQUIRE(x < 256);
      REQUIRE(y >= 0);
      REQUIRE(y < 256);
      return std::array{img->at(x, y, 0), img->at(x, y, 1), img->at(x, y, 2)};
    };
    // Land inside the island, sea outside, each one colour (points away from graticule lines).
    const auto land = px(LatLon{21, 21});
    const auto sea = px(LatLon{55, 70});
    CHECK(land != sea);
    CHECK(px(LatLon{33, 33}) == land);
    CHECK(px(LatLon{5, 75}) == sea);
    CHECK(px(LatLon{50, 52}) == sea);
  }
}

TEST_CASE("tile proxy: 404 without any tile source, 503 when the source fails, with JSON bodies") {
  {
    Fixture f(Options{"none", false});
    test::check_error(f.get("/v1/tiles/3/4/2.png"), 404, "not_found");
  }
  {
    Fixture f(Options{test::dead_tile_url(), false});
    const Response r = f.get("/v1/tiles/3/4/2.png");
    test::check_error(r, 503, "tile_unavailable");
    CHECK(test::header_of(r, "Retry-After") == "60");
  }
  {
    test::TileServer::Options o;
    o.mode = test::TileServer::Mode::not_found;
    test::TileServer none(o);
    Fixture f(Options{none.url("base"), false});
    test::check_error(f.get("/v1/tiles/3/4/2.png"), 404, "not_found");
    CHECK(none.requests() == 1);
  }
}

TEST_CASE("tile proxy: 400 for tiles that do not exist or paths that are not tiles, 405, a slow route") {
  Fixture f;
  for (const char* t :
       {"/v1/tiles/20/0/0.png", "/v1/tiles/3/8/0.png", "/v1/tiles/3/0/8.png", "/v1/tiles/-1/0/0.png",
        "/v1/tiles/0/0/-0.png", "/v1/tiles/a/b/c.png", "/v1/tiles/3/4/2.jpg", "/v1/tiles/3/4.png",
        "/v1/tiles/3/4/2/1.png", "/v1/tiles/3//2.png", "/v1/tiles/", "/v1/tiles/3/4/2",
        "/v1/tiles/+3/4/2.png", "/v1/tiles/3/4/2x.png", "/v1/tiles/99999999999/0/0.png"}) {
    const std::string target = t;
    CAPTURE(target);
    test::check_error(f.get(t), 400, "invalid_parameter");
  }
  CHECK(f.tiles.requests() == 0);
  CHECK(f.get("/v1/tiles/0/0/0.png").status == 200);
  CHECK(f.get("/v1/tiles/19/524287/524287.png").status == 200);
  test::check_error(f.get("/v1/tiles/3/4/2.png", "POST"), 405, "method_not_allowed");
  CHECK(f.api->is_slow(Request{"GET", "/v1/tiles/3/4/2.png"}));
}

TEST_CASE("draw_basemap_tile: 256×256 RGB, throws for a tile that does not exist") {
  const Image sea = draw_basemap_tile(nullptr, TileId{3, 4, 2});
  CHECK(sea.width_px == 256);
  CHECK(sea.height_px == 256);
  CHECK(sea.channels == 3);
  CHECK(sea.pixels.size() == 256U * 256U * 3U);
  const Basemap island = Basemap::parse(kIsland, "island");
  // The island is in tile 2/2/1 and not in 2/0/1 (lon -180..-90): that one is the same as no land.
  CHECK(draw_basemap_tile(&island, TileId{2, 0, 1}).pixels ==
        draw_basemap_tile(nullptr, TileId{2, 0, 1}).pixels);
  CHECK(draw_basemap_tile(&island, TileId{2, 2, 1}).pixels !=
        draw_basemap_tile(nullptr, TileId{2, 2, 1}).pixels);
  CHECK_THROWS_AS((void)draw_basemap_tile(nullptr, TileId{2, 4, 0}), MapError);
  CHECK_THROWS_AS((void)draw_basemap_tile(nullptr, TileId{2, 0, -1}), MapError);
  CHECK_THROWS_AS((void)draw_basemap_tile(nullptr, TileId{23, 0, 0}), MapError);
}
