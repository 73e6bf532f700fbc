// MapRenderer (issue #6): positions checked against Web-Mercator maths written out here, tile
// colours, seamark alpha, track colours, marker shape, sizes, grayscale, JPEG, basemap fallback.
// Every encoded image is decoded again with stb_image.
#include <aistrack/map_renderer.hpp>
#include <aistrack/net/http_tile_source.hpp>

#include <doctest/doctest.h>

#include "support.hpp"
#include "tile_server.hpp"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <set>

using namespace aistrack;
namespace fs = std::filesystem;

namespace {
constexpr TimeMs kNow = 1'700'000'000'000;
constexpr std::array<std::uint8_t, 3> kMarker = {230, 0, 180};
constexpr std::array<std::uint8_t, 3> kSea = {170, 211, 223};
constexpr std::array<std::uint8_t, 3> kLand = {242, 239, 233};

// Web-Mercator written independently of geo.hpp: y from the isometric latitude ln((1+sinφ)/(1−sinφ))/2.
double merc_x(double lon_deg, int zoom) { return (lon_deg + 180.0) / 360.0 * 256.0 * std::pow(2.0, zoom); }
double merc_y(double lat_deg, int zoom) {
  const double s = std::sin(lat_deg * std::numbers::pi / 180.0);
  return (0.5 - std::log((1 + s) / (1 - s)) / (4 * std::numbers::pi)) * 256.0 * std::pow(2.0, zoom);
}

/// Generated base tiles (test::base_tile_color), some of them missing; counts requests.
class GeneratedTiles : public TileSource {
 public:
  std::vector<Tile> fetch(std::span<const TileId> ids, TimeMs /*now_ms*/) override {
    std::vector<Tile> out(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      ++asked;
      if (all_missing || missing.contains(ids[i])) continue;
      out[i].status = TileStatus::ok;
      out[i].encoded = seamark ? test::seamark_tile_png() : test::base_tile_png(ids[i].z, ids[i].x, ids[i].y);
    }
    return out;
  }
  std::atomic<int> asked{0};
  std::set<TileId> missing;
  bool all_missing = false;
  bool seamark = false;
};

bool near(const test::Decoded& img, int x, int y, std::array<std::uint8_t, 3> rgb, int tol = 3) {
  for (int c = 0; c < 3; ++c)
    if (std::abs(int{img.at(x, y, c)} - int{rgb[static_cast<std::size_t>(c)]}) > tol) return false;
  return true;
}

test::Decoded as_decoded(const Image& image) {
  return test::Decoded{image.width_px, image.height_px, image.channels, image.channels, image.pixels};
}

/// Centroid and extent of the pixels that have the marker's fill colour.
struct Blob {
  int count = 0;
  double cx = 0;
  double cy = 0;
  int min_x = 1 << 30;
  int max_x = -1;
  int min_y = 1 << 30;
  int max_y = -1;
};
Blob marker_blob(const test::Decoded& img) {
  Blob b;
  for (int y = 0; y < img.height_px; ++y) {
    for (int x = 0; x < img.width_px; ++x) {
      if (!near(img, x, y, kMarker, 2)) continue;
      ++b.count;
      b.cx += x + 0.5;
      b.cy += y + 0.5;
      b.min_x = std::min(b.min_x, x);
      b.max_x = std::max(b.max_x, x);
      b.min_y = std::min(b.min_y, y);
      b.max_y = std::max(b.max_y, y);
    }
  }
  if (b.count > 0) {
    b.cx /= b.count;
    b.cy /= b.count;
  }
  return b;
}

MapVessel stopped_at(double lat, double lon) {
  MapVessel v;
  v.latlon = LatLon{lat, lon};
  v.sog_kn = 0.0;
  return v;
}

/// A TopoJSON island: the square 7..8°E × 53..54°N as one quantized, delta-encoded arc.
constexpr char kIslandTopo[] = R"({"type":"Topology",
  "transform":{"scale":[0.001,0.001],"translate":[7,53]},
  "objects":{"land":{"type":"GeometryCollection","geometries":[{"type":"Polygon","arcs":[[0]]}]}},
  "arcs":[[[0,0],[1000,0],[0,1000],[-1000,0],[0,-1000]]]})";
}  // namespace

TEST_CASE("map: the vessel and the tiles are where Web-Mercator puts them") {
  auto base = std::make_shared<GeneratedTiles>();
  const MapRenderer renderer(base, nullptr, nullptr);
  const int z = 11;
  const double lat = 53.8712;
  const double lon = 8.7123;
  MapOptions o;
  o.width_px = 640;
  o.height_px = 480;
  o.zoom = z;
  const MapImage png = renderer.render(stopped_at(lat, lon), {}, o, kNow);
  CHECK(png.content_type == "image/png");
  CHECK(png.tiles_missing == 0);
  const auto img = test::decode_image(png.bytes);
  REQUIRE(img);
  REQUIRE(img->width_px == 640);
  REQUIRE(img->height_px == 480);
  REQUIRE(img->channels_in_file == 3);

  // The vessel is centred: the image's left edge is floor(x − w/2) in world pixels.
  const double vx = merc_x(lon, z);
  const double vy = merc_y(lat, z);
  const double left = std::floor(vx - 320);
  const double top = std::floor(vy - 240);
  const Blob b = marker_blob(*img);
  REQUIRE(b.count > 20);
  CHECK(std::abs(b.cx - (vx - left)) < 0.75);
  CHECK(std::abs(b.cy - (vy - top)) < 0.75);

  // Every pixel away from the overlays has the colour of the tile that covers it.
  int checked = 0;
  int wrong = 0;
  for (int y = 0; y < 480 - 40; y += 3) {
    for (int x = 0; x < 640; x += 3) {
      if (std::hypot(x - (vx - left), y - (vy - top)) < 30) continue;
      const int tx = static_cast<int>(std::floor((left + x) / 256));
      const int ty = static_cast<int>(std::floor((top + y) / 256));
      ++checked;
      if (!near(*img, x, y, test::base_tile_color(z, tx, ty), 0)) ++wrong;
    }
  }
  CHECK(checked > 20000);
  CHECK(wrong == 0);
  // One tile request per tile of the view, no prefetching.
  const int tiles_x = static_cast<int>(std::floor((left + 639) / 256) - std::floor(left / 256)) + 1;
  const int tiles_y = static_cast<int>(std::floor((top + 479) / 256) - std::floor(top / 256)) + 1;
  CHECK(base->asked == tiles_x * tiles_y);
  CHECK(png.tiles == tiles_x * tiles_y);
}

TEST_CASE("map: a fitted map shows the whole track at the largest zoom that holds it") {
  auto base = std::make_shared<GeneratedTiles>();
  const MapRenderer renderer(base, nullptr, nullptr);
  std::vector<PositionFix> track;
  for (int i = 0; i <= 20; ++i) {
    PositionFix f;
    f.ts_ms = kNow - (20 - i) * 60'000;
    f.latlon = LatLon{54.0 + i * 0.015, 7.0 + i * 0.03};
    f.sog_kn = 12.0;
    track.push_back(f);
  }
  MapVessel v = stopped_at(track.back().latlon.lat_deg, track.back().latlon.lon_deg);
  MapOptions o;
  o.width_px = 500;
  o.height_px = 400;
  o.padding_px = 20;
  const MapRaster r = renderer.draw(v, track, o, kNow);
  // Expected zoom computed here: the largest z ≤ 16 with the track's extent inside 460 × 360 px.
  int expected = 0;
  for (int z = 16; z >= 0; --z) {
    if ((merc_x(7.6, z) - merc_x(7.0, z)) <= 460 && (merc_y(54.0, z) - merc_y(54.3, z)) <= 360) {
      expected = z;
      break;
    }
  }
  CHECK(r.zoom == expected);
  const double cx = (merc_x(7.0, r.zoom) + merc_x(7.6, r.zoom)) / 2;
  const double cy = (merc_y(54.3, r.zoom) + merc_y(54.0, r.zoom)) / 2;
  CHECK(r.left_world_px == std::floor(cx - 250));
  CHECK(r.top_world_px == std::floor(cy - 200));
  const auto img = as_decoded(r.image);
  const Blob b = marker_blob(img);
  REQUIRE(b.count > 10);
  CHECK(std::abs(b.cx - (merc_x(7.6, r.zoom) - r.left_world_px)) < 0.75);
  CHECK(std::abs(b.cy - (merc_y(54.3, r.zoom) - r.top_world_px)) < 0.75);
  // The first track point is inside the padding frame.
  const double fx = merc_x(7.0, r.zoom) - r.left_world_px;
  const double fy = merc_y(54.0, r.zoom) - r.top_world_px;
  CHECK(fx >= 19);
  CHECK(fy <= 400 - 19);
}

TEST_CASE("map: the seamark layer is composited with its alpha") {
  auto base = std::make_shared<GeneratedTiles>();
  auto seamark = std::make_shared<GeneratedTiles>();
  seamark->seamark = true;
  const MapRenderer renderer(base, seamark, nullptr);
  const int z = 6;
  MapOptions o;
  o.width_px = 600;
  o.height_px = 600;
  o.zoom = z;
  const MapRaster r = renderer.draw(stopped_at(40.0, -30.0), {}, o, kNow);
  const auto img = as_decoded(r.image);
  // Centre of a tile fully inside the image, away from the marker.
  const int tx = static_cast<int>(std::floor(r.left_world_px / 256)) + 1;
  const int ty = static_cast<int>(std::floor(r.top_world_px / 256)) + 1;
  int found = 0;
  for (int dy : {0, 1}) {
    for (int dx : {0, 1}) {
      const int px = static_cast<int>((tx + dx) * 256 + 128 - r.left_world_px);
      const int py = static_cast<int>((ty + dy) * 256 + 128 - r.top_world_px);
      if (px < 0 || py < 0 || px >= 600 || py >= 560) continue;
      if (std::hypot(px - 300, py - 300) < 40) continue;
      const auto under = test::base_tile_color(z, tx + dx, ty + dy);
      std::array<std::uint8_t, 3> expected{};
      for (int c = 0; c < 3; ++c) {
        expected[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(
            (test::kSeamarkColor[static_cast<std::size_t>(c)] * test::kSeamarkAlpha +
             under[static_cast<std::size_t>(c)] * (255 - test::kSeamarkAlpha) + 127) /
            255);
      }
      CHECK(near(img, px, py, expected, 1));
      // Outside the square the seamark tile is transparent: the base colour shows.
      CHECK(near(img, px - 40, py, under, 0));
      ++found;
    }
  }
  CHECK(found >= 2);
  CHECK(r.tiles_missing == 0);
}

TEST_CASE("map: the arrow points along the heading, or the COG, and a stopped ship is a circle") {
  const MapRenderer renderer(std::make_shared<GeneratedTiles>(), nullptr, nullptr);
  MapOptions o;
  o.width_px = 300;
  o.height_px = 300;
  o.zoom = 12;
  MapVessel v;
  v.latlon = LatLon{51.9, 4.1};
  v.sog_kn = 12.0;
  v.heading_deg = 90.0;
  v.cog_deg = 180.0;
  const double cx = merc_x(4.1, 12) - std::floor(merc_x(4.1, 12) - 150);
  const double cy = merc_y(51.9, 12) - std::floor(merc_y(51.9, 12) - 150);
  {
    const Blob b = marker_blob(as_decoded(renderer.draw(v, {}, o, kNow).image));
    REQUIRE(b.count > 20);
    CHECK(b.max_x + 1 - cx > 1.5 * (cx - b.min_x));  // the tip is east
    CHECK(std::abs(b.cx - cx) < 1.0);                // the centroid is the position
    CHECK(std::abs(b.cy - cy) < 1.0);
  }
  v.heading_deg.reset();  // COG 180: south
  {
    const Blob b = marker_blob(as_decoded(renderer.draw(v, {}, o, kNow).image));
    REQUIRE(b.count > 20);
    CHECK(b.max_y + 1 - cy > 1.5 * (cy - b.min_y));
  }
  v.sog_kn = 0.1;  // stationary: a circle
  {
    const Blob b = marker_blob(as_decoded(renderer.draw(v, {}, o, kNow).image));
    REQUIRE(b.count > 20);
    CHECK(std::abs((b.max_x + 1 - cx) - (cx - b.min_x)) <= 1.0);
    CHECK(std::abs((b.max_y + 1 - cy) - (cy - b.min_y)) <= 1.0);
  }
  v.sog_kn.reset();
  v.cog_deg.reset();  // nothing known: a circle too
  {
    const Blob b = marker_blob(as_decoded(renderer.draw(v, {}, o, kNow).image));
    CHECK(std::abs((b.max_x + 1 - cx) - (cx - b.min_x)) <= 1.0);
  }
}

TEST_CASE("map: the track is coloured by speed") {
  const MapRenderer renderer(std::make_shared<GeneratedTiles>(), nullptr, nullptr);
  std::vector<PositionFix> track;
  for (int i = 0; i <= 10; ++i) {
    PositionFix f;
    f.ts_ms = kNow - (10 - i) * 60'000;
    f.latlon = LatLon{54.0, 7.0 + i * 0.01};
    f.sog_kn = i <= 5 ? 0.0 : 20.0;
    track.push_back(f);
  }
  MapVessel v = stopped_at(54.0, 7.1);
  v.sog_kn = 20.0;
  v.cog_deg = 90.0;
  MapOptions o;
  o.width_px = 800;
  o.height_px = 300;
  o.zoom = 12;
  const MapRaster r = renderer.draw(v, track, o, kNow);
  const auto img = as_decoded(r.image);
  const int y = static_cast<int>(std::floor(merc_y(54.0, 12) - r.top_world_px));
  const int x_slow = static_cast<int>(std::floor(merc_x(7.015, 12) - r.left_world_px));
  const int x_fast = static_cast<int>(std::floor(merc_x(7.085, 12) - r.left_world_px));
  REQUIRE(x_slow > 0);
  REQUIRE(x_fast < 800);
  // Slow: blue (37, 99, 235); fast: red (220, 38, 38).
  CHECK(img.at(x_slow, y, 2) > img.at(x_slow, y, 0) + 100);
  CHECK(img.at(x_fast, y, 0) > img.at(x_fast, y, 2) + 100);
  CHECK(r.track_points == 11);
}

TEST_CASE("map: sizes are exact in PNG and JPEG") {
  const MapRenderer renderer(std::make_shared<GeneratedTiles>(), nullptr, nullptr);
  for (const auto& [w, h] :
       std::vector<std::pair<int, int>>{{64, 64}, {333, 201}, {1024, 768}, {2048, 300}}) {
    for (const auto format : {ImageFormat::png, ImageFormat::jpeg}) {
      MapOptions o;
      o.width_px = w;
      o.height_px = h;
      o.zoom = 9;
      o.format = format;
      const auto m = renderer.render(stopped_at(57.7, 11.9), {}, o, kNow);
      CHECK(m.content_type == content_type(format));
      const auto img = test::decode_image(m.bytes);
      REQUIRE(img);
      CHECK(img->width_px == w);
      CHECK(img->height_px == h);
      CHECK(img->channels_in_file == 3);
    }
  }
}

TEST_CASE("map: grayscale output is a single-channel image in PNG and JPEG") {
  const MapRenderer renderer(std::make_shared<GeneratedTiles>(), nullptr, nullptr);
  for (const auto format : {ImageFormat::png, ImageFormat::jpeg}) {
    MapOptions o;
    o.width_px = 320;
    o.height_px = 240;
    o.zoom = 10;
    o.scheme = ColorScheme::grayscale;
    o.format = format;
    MapVessel v = stopped_at(60.0, 5.0);
    v.name = "GREY LADY";
    const auto m = renderer.render(v, {}, o, kNow);
    const auto img = test::decode_image(m.bytes);
    REQUIRE(img);
    // PNG: one channel. stb_image_write always writes JPEG as YCbCr; its chroma is flat, so it
    // decodes to R = G = B (checked below for both formats).
    if (format == ImageFormat::png) CHECK(img->channels_in_file == 1);
    // Asking stb for RGB gives R = G = B everywhere.
    const auto rgb = test::decode_image(m.bytes, 3);
    REQUIRE(rgb);
    int coloured = 0;
    for (std::size_t i = 0; i < rgb->pixels.size(); i += 3)
      if (rgb->pixels[i] != rgb->pixels[i + 1] || rgb->pixels[i + 1] != rgb->pixels[i + 2]) ++coloured;
    CHECK(coloured == 0);
  }
  // The colour scheme does have colour.
  MapOptions o;
  o.width_px = 320;
  o.height_px = 240;
  o.zoom = 10;
  const auto img = as_decoded(renderer.draw(stopped_at(60.0, 5.0), {}, o, kNow).image);
  int coloured = 0;
  for (std::size_t i = 0; i < img.pixels.size(); i += 3)
    if (img.pixels[i] != img.pixels[i + 1]) ++coloured;
  CHECK(coloured > 1000);
}

TEST_CASE("map: JPEG quality is a parameter") {
  const MapRenderer renderer(std::make_shared<GeneratedTiles>(), nullptr, nullptr);
  MapOptions o;
  o.width_px = 400;
  o.height_px = 300;
  o.zoom = 8;
  o.format = ImageFormat::jpeg;
  o.jpeg_quality = 95;
  const auto high = renderer.render(stopped_at(50.0, 0.0), {}, o, kNow);
  o.jpeg_quality = 10;
  const auto low = renderer.render(stopped_at(50.0, 0.0), {}, o, kNow);
  CHECK(low.bytes.size() < high.bytes.size());
  CHECK(test::decode_image(low.bytes));
}

TEST_CASE("map: the attribution and the name are drawn") {
  const MapRenderer renderer(std::make_shared<GeneratedTiles>(), nullptr, nullptr);
  const std::array<std::uint8_t, 3> ink = {34, 34, 34};
  const auto ink_in = [&](const test::Decoded& img, int x0, int y0, int x1, int y1) {
    int n = 0;
    for (int y = std::max(0, y0); y < std::min(img.height_px, y1); ++y)
      for (int x = std::max(0, x0); x < std::min(img.width_px, x1); ++x)
        if (near(img, x, y, ink, 0)) ++n;
    return n;
  };
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{640, 480}, {64, 64}}) {
    MapOptions o;
    o.width_px = w;
    o.height_px = h;
    o.zoom = 10;
    MapVessel v = stopped_at(53.5, 9.9);
    v.name = "ALIDA";
    const auto img = as_decoded(renderer.draw(v, {}, o, kNow).image);
    // Attribution: ink in the bottom-right corner (wrapped over several lines on a small map).
    const int width = text_width_px(MapRenderer::kAttribution);
    if (w >= width + 10) {
      CHECK(ink_in(img, w - width - 4, h - 12, w, h) > 60);
    } else {
      CHECK(ink_in(img, 0, h / 3, w, h) > 60);
    }
    if (w == 640) {
      // Name: to the right of the marker.
      CHECK(ink_in(img, w / 2 + 5, h / 2 - 25, w / 2 + 60, h / 2) > 20);
      v.name.clear();
      const auto unnamed = as_decoded(renderer.draw(v, {}, o, kNow).image);
      CHECK(ink_in(unnamed, w / 2 + 5, h / 2 - 25, w / 2 + 60, h / 2) == 0);
    }
  }
  // © is one glyph 7 px wide; the whole line is 41 glyphs.
  CHECK(text_width_px("\xC2\xA9") == 7);
  CHECK(text_width_px("ab") == 11);
}

TEST_CASE("map: the scale bar length is 1, 2 or 5 times a power of ten nautical miles") {
  CHECK(scale_bar_nm(10.0, 100) == doctest::Approx(0.5));     // 1000 m = 0.54 nm
  CHECK(scale_bar_nm(100.0, 150) == doctest::Approx(5.0));    // 15 km = 8.1 nm
  CHECK(scale_bar_nm(1000.0, 150) == doctest::Approx(50.0));  // 150 km = 81 nm
  CHECK(scale_bar_nm(1852.0, 1) == doctest::Approx(1.0));
  CHECK(scale_bar_nm(0.0, 100) == 0.0);
}

TEST_CASE("map: missing tiles are drawn from the offline basemap and counted") {
  auto base = std::make_shared<GeneratedTiles>();
  const auto island = std::make_shared<const Basemap>(Basemap::parse(kIslandTopo, "island"));
  REQUIRE(island->rings().size() == 1);
  CHECK(island->rings()[0].min_lon_deg == doctest::Approx(7.0));
  CHECK(island->rings()[0].max_lat_deg == doctest::Approx(54.0));
  const MapRenderer renderer(base, nullptr, island);
  const int z = 9;
  MapOptions o;
  o.width_px = 600;
  o.height_px = 500;
  o.zoom = z;
  // Only the tile under the island's centre is missing.
  const TileId hole{z, static_cast<int>(merc_x(7.5, z) / 256), static_cast<int>(merc_y(53.5, z) / 256)};
  base->missing.insert(hole);
  const MapRaster r = renderer.draw(stopped_at(53.5, 7.5), {}, o, kNow);
  CHECK(r.tiles_missing == 1);
  const auto img = as_decoded(r.image);
  const auto at = [&](double lat, double lon) {
    return std::pair<int, int>{static_cast<int>(std::floor(merc_x(lon, z) - r.left_world_px)),
                               static_cast<int>(std::floor(merc_y(lat, z) - r.top_world_px))};
  };
  // Inside the missing tile: land where the island is.
  const auto [lx, ly] = at(53.62, 7.37);
  REQUIRE(static_cast<int>((r.left_world_px + lx) / 256) == hole.x);
  REQUIRE(static_cast<int>((r.top_world_px + ly) / 256) == hole.y);
  CHECK(near(img, lx, ly, kLand, 0));
  // Every other tile is still the real one.
  const auto [ox, oy] = at(53.5, 8.2);
  REQUIRE(ox < 600);
  CHECK(near(img, ox, oy,
             test::base_tile_color(z, static_cast<int>((r.left_world_px + ox) / 256),
                                   static_cast<int>((r.top_world_px + oy) / 256)),
             0));

  // No base tile at all: the island and the sea around it.
  base->all_missing = true;
  const MapRaster all = renderer.draw(stopped_at(53.5, 7.5), {}, o, kNow);
  CHECK(all.tiles_missing == all.tiles);
  const auto img2 = as_decoded(all.image);
  const auto [sx, sy] = at(53.3, 8.6);  // east of the island
  CHECK(near(img2, sx, sy, kSea, 0));
  const auto [ix, iy] = at(53.8, 7.2);
  CHECK(near(img2, ix, iy, kLand, 0));
}

TEST_CASE("map: Basemap decodes TopoJSON arcs, reversed arcs and GeoJSON") {
  // Two arcs share the square's corners: arc 0 runs south then east edges, arc 1 the north and
  // west edges but stored the other way round, so the ring is [0, ~1]. Not quantized.
  const auto topo = Basemap::parse(R"({"type":"Topology","objects":{"a":{"type":"Polygon","arcs":[[0,-2]]}},
    "arcs":[[[0,0],[10,0],[10,10]],[[0,0],[0,10],[10,10]]]})");
  REQUIRE(topo.rings().size() == 1);
  const auto& pts = topo.rings()[0].points;
  REQUIRE(pts.size() == 4);
  CHECK(pts[0] == LatLon{0, 0});
  CHECK(pts[1] == LatLon{0, 10});
  CHECK(pts[2] == LatLon{10, 10});
  CHECK(pts[3] == LatLon{10, 0});

  const auto geojson = Basemap::parse(R"({"type":"FeatureCollection","features":[
    {"type":"Feature","properties":{},"geometry":{"type":"MultiPolygon","coordinates":[
      [[[0,0],[1,0],[1,1],[0,0]]], [[[5,5],[6,5],[6,6],[5,5]],[[5.2,5.2],[5.8,5.2],[5.8,5.8],[5.2,5.2]]]]}}]})");
  CHECK(geojson.rings().size() == 3);
  CHECK(geojson.vertex_count() == 9);

  CHECK_THROWS_AS(Basemap::parse("{not json"), MapError);
  CHECK_THROWS_AS(Basemap::parse(R"({"type":"FeatureCollection","features":[]})"), MapError);
  CHECK_THROWS_AS(
      Basemap::parse(R"({"type":"Topology","objects":{"a":{"type":"Polygon","arcs":[[7]]}},"arcs":[]})"),
      MapError);
  CHECK_THROWS_AS(Basemap::load("/nonexistent/land.json"), MapError);
}

TEST_CASE("map: world-atlas land polygons load when install-deps.sh has installed them") {
  const fs::path dir = AISTRACK_WORLD_ATLAS_DIR;
  if (!fs::exists(dir / "land-110m.json")) {
    MESSAGE("SKIPPED: world-atlas is not installed (scripts/install-deps.sh installs it)");
    return;
  }
  for (const char* file : {"land-110m.json", "land-50m.json"}) {
    const Basemap land = Basemap::load(dir / file);
    CHECK(land.rings().size() > 100);
    // Madagascar's northern tip is near 12°S 49.3°E: some ring must cover it.
    bool found = false;
    for (const auto& ring : land.rings())
      if (ring.min_lat_deg < -25 && ring.max_lat_deg > -12.5 && ring.min_lon_deg > 42 &&
          ring.max_lon_deg < 51)
        found = true;
    CHECK(found);
  }
}

TEST_CASE("map: a dead tile server still gives a map with Natural Earth land") {
  AISTRACK_REQUIRE_SHARED_DATA(dir);
  const auto land = std::make_shared<const Basemap>(Basemap::load(dir / "coast" / "ne_110m_land.geojson"));
  net::HttpTileSourceConfig hc;
  hc.url_template = test::dead_tile_url();
  hc.timeout_ms = 2000;
  auto http = std::make_shared<net::HttpTileSource>(hc);
  const MapRenderer renderer(http, http, land);
  MapOptions o;
  o.width_px = 512;
  o.height_px = 512;
  o.zoom = 5;
  const auto m = renderer.render(stopped_at(55.0, 3.0), {}, o, kNow);  // the North Sea
  CHECK(m.tiles > 0);
  CHECK(m.tiles_missing == m.tiles);
  const auto img = test::decode_image(m.bytes);
  REQUIRE(img);
  const double left = std::floor(merc_x(3.0, 5) - 256);
  const double top = std::floor(merc_y(55.0, 5) - 256);
  const auto px = [&](double lat, double lon) {
    return std::pair<int, int>{static_cast<int>(merc_x(lon, 5) - left),
                               static_cast<int>(merc_y(lat, 5) - top)};
  };
  const auto [gx, gy] = px(51.3, 10.3);  // Germany
  const auto [nx, ny] = px(56.5, 3.7);   // North Sea
  CHECK(near(*img, gx, gy, kLand, 0));
  CHECK(near(*img, nx, ny, kSea, 0));
}

TEST_CASE("map: bad options throw MapError") {
  const MapRenderer renderer(nullptr, nullptr, nullptr);
  MapOptions o;
  o.width_px = 0;
  CHECK_THROWS_AS((void)renderer.draw(stopped_at(0, 0), {}, o, kNow), MapError);
  o.width_px = 100;
  o.zoom = 23;
  CHECK_THROWS_AS((void)renderer.draw(stopped_at(0, 0), {}, o, kNow), MapError);
  o.zoom = 3;
  o.jpeg_quality = 0;
  CHECK_THROWS_AS((void)renderer.draw(stopped_at(0, 0), {}, o, kNow), MapError);
  o.jpeg_quality = 80;
  CHECK_THROWS_AS((void)renderer.draw(stopped_at(95.0, 0), {}, o, kNow), MapError);
  // Without any source the map is still drawn: sea, graticule, marker, attribution.
  const auto r = renderer.draw(stopped_at(0, 0), {}, o, kNow);
  CHECK(r.image.width_px == 100);
  CHECK(r.tiles == 0);
}

TEST_CASE("map: a track across the antimeridian stays continuous") {
  const MapRenderer renderer(std::make_shared<GeneratedTiles>(), nullptr, nullptr);
  std::vector<PositionFix> track(2);
  track[0].latlon = LatLon{10.0, 179.9};
  track[1].latlon = LatLon{10.0, -179.9};
  MapOptions o;
  o.width_px = 400;
  o.height_px = 300;
  const auto r = renderer.draw(stopped_at(10.0, -179.9), track, o, kNow);
  CHECK(r.zoom >= 10);  // fitted to 0.2° of longitude, not to the whole world
}
