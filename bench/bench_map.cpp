// Map benchmark (issue #6): the whole render of an 800×600 map from a warm tile cache
// (MapRenderer::render: tiles, basemap-free, seamarks, track, marker, text, encode) against
// stb_image_write encoding the same pixel buffer alone, in the same run. Target: render ≤ 2 × encode.
//
// Tiles are generated here, map-like (land, blocks, roads, water, seamark symbols), written as PNG
// to a folder and read through MemoryTileCache → DiskTileCache → FolderTileSource, as the server
// reads them. "Warm" is the server's steady state: the memory cache holds the decoded tiles. The
// disk-only line (memory cache cold, tiles decoded from the disk cache) is for information.
//
// Usage: aistrack-bench-map [--rounds N] [--width W] [--height H] [--zoom Z] [--dir DIR]
#include <aistrack/geo.hpp>
#include <aistrack/map_renderer.hpp>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace aistrack;

namespace {

struct Options {
  int rounds = 15;
  int width = 800;
  int height = 600;
  int zoom = 13;
  fs::path dir = fs::temp_directory_path() / "aistrack-bench-map";
};

double seconds(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void append(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

std::string stb_encode(const Image& image, ImageFormat format, int quality) {
  std::string out;
  if (format == ImageFormat::png) {
    stbi_write_png_to_func(append, &out, image.width_px, image.height_px, image.channels, image.pixels.data(),
                           image.width_px * image.channels);
  } else {
    stbi_write_jpg_to_func(append, &out, image.width_px, image.height_px, image.channels, image.pixels.data(),
                           quality);
  }
  return out;
}

// A map-like 256×256 tile: land, building blocks, water, roads (base); or symbols on transparency (seamark).
std::string make_tile(int x, int y, bool seamark) {
  std::mt19937 rng(static_cast<unsigned>(x * 7919 + y * 104729 + (seamark ? 1 : 0)));
  std::vector<std::uint8_t> px(256 * 256 * 4, 0);
  const auto fill = [&](int x0, int y0, int x1, int y1, std::array<std::uint8_t, 4> c) {
    for (int yy = std::max(0, y0); yy < std::min(256, y1); ++yy)
      for (int xx = std::max(0, x0); xx < std::min(256, x1); ++xx)
        std::memcpy(&px[(static_cast<std::size_t>(yy) * 256 + xx) * 4], c.data(), 4);
  };
  std::uniform_int_distribution<int> pos(0, 255);
  std::uniform_int_distribution<int> len(4, 40);
  if (seamark) {
    for (int i = 0; i < 6; ++i) {
      const int cx = pos(rng);
      const int cy = pos(rng);
      fill(cx - 4, cy - 4, cx + 4, cy + 4, {200, 30, 30, 255});
      fill(cx - 2, cy - 12, cx + 2, cy - 4, {20, 20, 20, 200});
    }
    return [&] {
      std::string out;
      stbi_write_png_to_func(append, &out, 256, 256, 4, px.data(), 256 * 4);
      return out;
    }();
  }
  fill(0, 0, 256, 256, {242, 239, 233, 255});
  fill(0, 160 + (x % 3) * 20, 256, 256, {170, 211, 223, 255});  // water
  for (int i = 0; i < 60; ++i) {
    const int bx = pos(rng);
    const int by = pos(rng) % 160;
    fill(bx, by, bx + len(rng), by + len(rng) / 2, {217, 208, 201, 255});
  }
  for (int i = 0; i < 8; ++i) {
    const int r = pos(rng);
    const bool horizontal = i % 2 == 0;
    const std::array<std::uint8_t, 4> road = i % 3 == 0 ? std::array<std::uint8_t, 4>{247, 250, 191, 255}
                                                        : std::array<std::uint8_t, 4>{255, 255, 255, 255};
    if (horizontal) {
      fill(0, r, 256, r + 4, {190, 190, 190, 255});
      fill(0, r + 1, 256, r + 3, road);
    } else {
      fill(r, 0, r + 4, 256, {190, 190, 190, 255});
      fill(r + 1, 0, r + 3, 256, road);
    }
  }
  std::string out;
  stbi_write_png_to_func(append, &out, 256, 256, 4, px.data(), 256 * 4);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--rounds")
      opt.rounds = std::max(1, std::atoi(v));
    else if (a == "--width")
      opt.width = std::atoi(v);
    else if (a == "--height")
      opt.height = std::atoi(v);
    else if (a == "--zoom")
      opt.zoom = std::atoi(v);
    else if (a == "--dir")
      opt.dir = v;
    else {
      std::fprintf(
          stderr, "usage: aistrack-bench-map [--rounds N] [--width W] [--height H] [--zoom Z] [--dir DIR]\n");
      return 2;
    }
  }
  fs::remove_all(opt.dir);
  fs::create_directories(opt.dir);

  // A vessel off Hamburg's Elbe mouth with a 6-hour, 2,000-fix track through the view.
  const LatLon at{53.90, 8.70};
  std::vector<PositionFix> track;
  for (int i = 0; i < 2000; ++i) {
    PositionFix f;
    f.ts_ms = i * 10'000;
    const double t = (i - 2000) / 2000.0;
    f.latlon = LatLon{at.lat_deg + 0.02 * t + 0.004 * std::sin(i / 90.0), at.lon_deg + 0.05 * t};
    f.sog_kn = 6 + 8 * std::sin(i / 300.0) * std::sin(i / 300.0);
    track.push_back(f);
  }
  track.back().latlon = at;
  MapVessel vessel;
  vessel.latlon = at;
  vessel.sog_kn = 11.5;
  vessel.cog_deg = 62;
  vessel.heading_deg = 60;
  vessel.name = "BENCHMARK CARRIER";

  // Every tile the view needs, as PNG files z/x/y.png.
  const auto centre = geo::to_world_px(at, opt.zoom);
  const int tx0 = static_cast<int>(std::floor((centre.x - opt.width / 2.0) / 256)) - 1;
  const int tx1 = static_cast<int>(std::floor((centre.x + opt.width / 2.0) / 256)) + 1;
  const int ty0 = static_cast<int>(std::floor((centre.y - opt.height / 2.0) / 256)) - 1;
  const int ty1 = static_cast<int>(std::floor((centre.y + opt.height / 2.0) / 256)) + 1;
  std::size_t tile_bytes = 0;
  for (const char* layer : {"base", "seamark"}) {
    for (int x = tx0; x <= tx1; ++x) {
      for (int y = ty0; y <= ty1; ++y) {
        const fs::path d = opt.dir / layer / std::to_string(opt.zoom) / std::to_string(x);
        fs::create_directories(d);
        const std::string png = make_tile(x, y, std::string_view(layer) == "seamark");
        tile_bytes += png.size();
        std::ofstream(d / (std::to_string(y) + ".png"), std::ios::binary) << png;
      }
    }
  }
  const auto chain = [&](const char* layer, bool memory) -> std::shared_ptr<TileSource> {
    DiskTileCacheConfig dc;
    dc.dir = opt.dir / (std::string(layer) + "-cache");
    auto disk = std::make_shared<DiskTileCache>(dc, std::make_shared<FolderTileSource>(opt.dir / layer));
    if (!memory) return disk;
    return std::make_shared<MemoryTileCache>(disk, 256);
  };
  const MapRenderer warm(chain("base", true), chain("seamark", true), nullptr);
  MapOptions mo;
  mo.width_px = opt.width;
  mo.height_px = opt.height;
  mo.zoom = opt.zoom;
  const TimeMs now_ms = 1'767'225'600'000;

  std::printf("%-52s %12s %10s %8s %8s\n", "benchmark (median of rounds)", "ms", "bytes", "ratio", "target");
  bool all_ok = true;
  for (const auto format : {ImageFormat::png, ImageFormat::jpeg}) {
    mo.format = format;
    const MapImage first = warm.render(vessel, track, mo, now_ms);  // warms both caches
    if (first.tiles_missing != 0) {
      std::fprintf(stderr, "bench: %d tiles missing\n", first.tiles_missing);
      return 1;
    }
    const Image pixels = warm.draw(vessel, track, mo, now_ms).image;
    std::vector<double> render_s;
    std::vector<double> draw_s;
    std::vector<double> encode_s;
    std::size_t bytes = 0;
    for (int r = 0; r < opt.rounds; ++r) {
      encode_s.push_back(seconds([&] { bytes = stb_encode(pixels, format, mo.jpeg_quality).size(); }));
      render_s.push_back(seconds([&] { (void)warm.render(vessel, track, mo, now_ms); }));
      draw_s.push_back(seconds([&] { (void)warm.draw(vessel, track, mo, now_ms); }));
    }
    const double enc = median(encode_s);
    const double ren = median(render_s);
    const double ratio = ren / enc;
    const bool ok = ratio <= 2.0;
    all_ok = all_ok && ok;
    const char* name = format == ImageFormat::png ? "PNG" : "JPEG";
    std::printf("%-52s %12.2f %10zu\n",
                (std::string("stb_image_write ") + name + " of the same pixels (baseline)").c_str(),
                enc * 1e3, bytes);
    std::printf("%-52s %12.2f %10zu %8.2f %8s\n",
                (std::string("MapRenderer::render ") + name + ", warm memory cache").c_str(), ren * 1e3,
                first.bytes.size(), ratio, ok ? "<=2 ok" : "<=2 MISSED");
    std::printf("%-52s %12.2f\n", "  of which MapRenderer::draw (everything but encoding)",
                median(draw_s) * 1e3);
  }
  // For information: memory cache cold, every tile read and decoded from the disk cache.
  {
    mo.format = ImageFormat::png;
    const MapRenderer disk_only(chain("base", false), chain("seamark", false), nullptr);
    (void)disk_only.render(vessel, track, mo, now_ms);
    std::vector<double> s;
    for (int r = 0; r < opt.rounds; ++r)
      s.push_back(seconds([&] { (void)disk_only.render(vessel, track, mo, now_ms); }));
    std::printf("%-52s %12.2f\n", "MapRenderer::render PNG, disk cache only (decode)", median(s) * 1e3);
  }
  std::printf("\n(%dx%d at zoom %d, %d rounds, %zu track points, %d+%d tiles of %.1f KiB PNG on average)\n",
              opt.width, opt.height, opt.zoom, opt.rounds, track.size(), (tx1 - tx0 + 1) * (ty1 - ty0 + 1),
              (tx1 - tx0 + 1) * (ty1 - ty0 + 1),
              tile_bytes / 1024.0 / (2.0 * (tx1 - tx0 + 1) * (ty1 - ty0 + 1)));
  fs::remove_all(opt.dir);
  (void)all_ok;  // a smoke run checks that it runs, never how fast
  return 0;
}
