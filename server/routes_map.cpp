// Routes of the map issue (#6): GET /v1/map/{mmsi} → PNG or JPEG of the vessel and its track;
// and the dashboard's tile proxy (issue #7): GET /v1/tiles/{z}/{x}/{y}.png. See docs/API.md and
// docs/MAP.md.
//
// The module owns the tile chains and the renderer, built on the first map or tile request (so
// building an Api, as every route test does, opens no cache folder and reads no basemap file):
//
//   base:    MemoryTileCache → Chain{MBTiles, folder, DiskTileCache → HTTP MAP_TILE_URL}
//   seamark: MemoryTileCache → DiskTileCache → HTTP MAP_SEAMARK_URL
//
// The tile proxy lives here rather than in a module of its own because it must share the base
// chain: one DiskTileCache per folder per process, and OpenStreetMap's policy kept in one place.
// It asks the Chain (below the memory cache, which keeps decoded pixels only) so that it can pass
// the tile server's bytes on unchanged; browsers cache what it serves.
//
// Rendering and tile fetching run on the server's slow pool (is_slow), never on a network thread.
#include "log.hpp"
#include "routes.hpp"

#include <aistrack/map_renderer.hpp>
#include <aistrack/net/http_tile_source.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

namespace aistrack::server {
namespace {

constexpr std::string_view kPrefix = "/v1/map/";
constexpr std::string_view kTilePrefix = "/v1/tiles/";
constexpr TimeMs kMsPerHour = 3'600'000;
constexpr TimeMs kMsPerDay = 24 * kMsPerHour;
constexpr int kMaxRequestZoom = 19;

/// An integer query parameter in lo..hi; `fallback` when absent; nullopt when malformed or out of range.
std::optional<int> int_param(const Query& q, const char* name, int fallback, int lo, int hi) {
  const auto it = q.find(name);
  if (it == q.end()) return fallback;
  const std::string& v = it->second;
  int out = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || out < lo || out > hi) return std::nullopt;
  return out;
}

Response bad(const std::string& message) { return error_response(400, "invalid_parameter", message); }

/// Folder name of one tile server's cache: the layer and a hash of its URL template, so that
/// changing MAP_TILE_URL never serves another server's tiles.
std::string cache_folder(std::string_view layer, std::string_view url_template) {
  std::uint64_t h = 14695981039346656037ULL;  // FNV-1a 64
  for (const char c : url_template) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  char hex[17];
  for (int i = 15; i >= 0; --i) {
    hex[i] = "0123456789abcdef"[h & 0xF];
    h >>= 4;
  }
  hex[16] = '\0';
  return std::string(layer) + "-" + hex;
}

class MapRoutes final : public RouteModule {
 public:
  MapRoutes(const App& app, const ServerConfig& config) : app_(app), config_(config) {}

  std::optional<Response> handle(const Request& request, std::string_view path, const Query& query,
                                 TimeMs now_ms) override {
    if (path.starts_with(kTilePrefix)) {
      if (!is_read(request)) return method_not_allowed("GET, HEAD");
      return tile(path.substr(kTilePrefix.size()), now_ms);
    }
    if (!path.starts_with(kPrefix)) return std::nullopt;
    const auto id = path.substr(kPrefix.size());
    if (id.empty() || id.find('/') != std::string_view::npos) return std::nullopt;
    if (!is_read(request)) return method_not_allowed("GET, HEAD");
    const auto mmsi = parse_mmsi(id);
    if (!mmsi) {
      return error_response(400, "invalid_mmsi",
                            "an MMSI is exactly 9 digits, e.g. 244700923; got '" + std::string(id) + "'");
    }

    // Parameters first: a bad request is a 400 whatever the vessel.
    const int lo = config_.map_min_size;
    const int hi = config_.map_max_size;
    const auto size_text = std::to_string(lo) + " to " + std::to_string(hi);
    const auto width = int_param(query, "width", std::clamp(config_.map_width, lo, hi), lo, hi);
    if (!width) return bad("width must be an integer from " + size_text + " (pixels)");
    const auto height = int_param(query, "height", std::clamp(config_.map_height, lo, hi), lo, hi);
    if (!height) return bad("height must be an integer from " + size_text + " (pixels)");
    MapOptions options;
    options.width_px = *width;
    options.height_px = *height;
    const auto color_it = query.find("color");
    const std::string color = color_it == query.end() ? config_.map_color : color_it->second;
    if (color == "color") {
      options.scheme = ColorScheme::color;
    } else if (color == "grayscale") {
      options.scheme = ColorScheme::grayscale;
    } else {
      return bad("color must be color or grayscale");
    }
    const auto format_it = query.find("format");
    const std::string format = format_it == query.end() ? std::string("png") : format_it->second;
    if (format == "png") {
      options.format = ImageFormat::png;
    } else if (format == "jpeg") {
      options.format = ImageFormat::jpeg;
    } else {
      return bad("format must be png or jpeg");
    }
    if (query.contains("zoom")) {
      const auto zoom = int_param(query, "zoom", 0, 0, kMaxRequestZoom);
      if (!zoom) return bad("zoom must be an integer from 0 to " + std::to_string(kMaxRequestZoom));
      options.zoom = *zoom;
    }
    const auto hours = int_param(query, "hours", std::min(config_.map_track_hours, config_.map_max_hours), 1,
                                 config_.map_max_hours);
    if (!hours) return bad("hours must be an integer from 1 to " + std::to_string(config_.map_max_hours));
    const auto quality = int_param(query, "quality", config_.map_jpeg_quality, 1, 100);
    if (!quality) return bad("quality must be an integer from 1 to 100 (JPEG)");
    options.jpeg_quality = *quality;

    const auto state = app_.latest(*mmsi);
    const auto vessel = state ? map_vessel_of(*state) : std::nullopt;
    if (!vessel) {
      return error_response(
          404, "not_found",
          "no position is known for MMSI " + format_mmsi(*mmsi) +
              (state ? " (static data only so far)" : " (never seen, or evicted from memory)"));
    }
    auto track = read_track(*mmsi, now_ms - *hours * kMsPerHour, now_ms);
    // The Store commits in batches: the Tracker's newest fix may not be in it yet.
    if (state->position && (track.empty() || track.back().ts_ms < state->position->ts_ms))
      track.push_back(*state->position);

    const auto renderer = layers().renderer;
    MapImage image = renderer->render(*vessel, track, options, now_ms);
    Response r;
    r.status = 200;
    r.content_type = std::string(image.content_type);
    r.body = std::move(image.bytes);
    r.headers.emplace_back("X-Map-Tiles-Missing", std::to_string(image.tiles_missing));
    r.headers.emplace_back("X-Map-Tiles", std::to_string(image.tiles));
    r.headers.emplace_back("X-Map-Zoom", std::to_string(image.zoom));
    if (image.tiles_missing > 0) {
      log(LogLevel::debug, "map {}: {} of {} tiles missing (drawn from the offline basemap)",
          format_mmsi(*mmsi), image.tiles_missing, image.tiles);
    }
    return r;
  }

  [[nodiscard]] std::vector<RouteInfo> routes() const override {
    return {{std::string(kPrefix) + "{mmsi}", {"GET"}},
            {std::string(kTilePrefix) + "{z}/{x}/{y}.png", {"GET"}}};
  }

  [[nodiscard]] bool is_slow(std::string_view path) const override {
    return path.starts_with(kPrefix) || path.starts_with(kTilePrefix);
  }

 private:
  /// What the renderer and the tile proxy draw from, built once.
  struct Layers {
    std::shared_ptr<TileSource> base_chain;  ///< base tiles as served (below the memory cache); may be null
    std::shared_ptr<const Basemap> basemap;  ///< offline land; null when MAP_BASEMAP is empty or unreadable
    std::shared_ptr<const MapRenderer> renderer;
  };

  // GET /v1/tiles/{z}/{x}/{y}.png: the base tile as the tile chain has it, else the offline basemap
  // drawn into a tile (X-Tile-Source says which), else 404/503.
  Response tile(std::string_view rest, TimeMs now_ms) {
    const auto id = parse_tile_path(rest);
    if (!id) {
      return bad("a tile is /v1/tiles/{z}/{x}/{y}.png with z from 0 to " + std::to_string(kMaxRequestZoom) +
                 " and x, y from 0 to 2^z-1; got '/v1/tiles/" + std::string(rest) + "'");
    }
    const Layers& l = layers();
    TileStatus status = TileStatus::missing;
    if (l.base_chain) {
      const TileId ids[] = {*id};
      auto tiles = l.base_chain->fetch(ids, now_ms);
      if (!tiles.empty()) {
        Tile& t = tiles.front();
        status = t.status;
        const auto type = image_type(t.encoded);
        if (t.status == TileStatus::ok && !type.empty()) {
          Response r{200, std::string(type), std::move(t.encoded), {}};
          // Browsers may keep a tile as long as our cache would (at least an hour, at most a week).
          TimeMs max_age_s = 86'400;
          if (t.expires_ms) max_age_s = std::clamp<TimeMs>((*t.expires_ms - now_ms) / 1000, 3600, 7 * 86'400);
          r.headers.emplace_back("Cache-Control", "public, max-age=" + std::to_string(max_age_s));
          r.headers.emplace_back("X-Tile-Source", "tiles");
          return r;
        }
        if (t.status == TileStatus::ok) status = TileStatus::missing;  // neither PNG nor JPEG
      }
    }
    if (l.basemap) {
      Response r{
          200, "image/png", encode_image(draw_basemap_tile(l.basemap.get(), *id), ImageFormat::png), {}};
      // Short: the tile server may be back in a minute, and then its tile should replace this one.
      r.headers.emplace_back("Cache-Control", "public, max-age=60");
      r.headers.emplace_back("X-Tile-Source", "basemap");
      return r;
    }
    if (!l.base_chain) {
      return error_response(
          404, "not_found",
          "no tile source is configured (MAP_TILE_URL, MAP_TILE_MBTILES, MAP_TILE_FOLDER) and "
          "the offline basemap (MAP_BASEMAP) is not available");
    }
    if (status == TileStatus::empty)
      return error_response(404, "not_found", "the tile server has no such tile");
    Response r = error_response(503, "tile_unavailable",
                                "the tile could not be had from the tile source and the offline basemap "
                                "(MAP_BASEMAP) is not available; try again later");
    r.headers.emplace_back("Retry-After", "60");
    return r;
  }

  // "{z}/{x}/{y}.png" → TileId; nullopt unless every number is plain decimal and in range.
  static std::optional<TileId> parse_tile_path(std::string_view rest) {
    constexpr std::string_view kExt = ".png";
    if (!rest.ends_with(kExt)) return std::nullopt;
    rest.remove_suffix(kExt.size());
    int v[3] = {};
    for (int i = 0; i < 3; ++i) {
      const auto slash = i < 2 ? rest.find('/') : rest.size();
      if (slash == std::string_view::npos || slash == 0 || slash > 7) return std::nullopt;
      if (!std::all_of(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(slash),
                       [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;  // from_chars alone would take "-0"
      const auto [p, ec] = std::from_chars(rest.data(), rest.data() + slash, v[i]);
      if (ec != std::errc{} || p != rest.data() + slash || v[i] < 0) return std::nullopt;
      rest.remove_prefix(std::min(slash + 1, rest.size()));
    }
    const TileId id{v[0], v[1], v[2]};
    if (id.z > kMaxRequestZoom || id.x >= (1 << id.z) || id.y >= (1 << id.z)) return std::nullopt;
    return id;
  }

  // "image/png" or "image/jpeg" from the bytes' signature; empty for anything else.
  static std::string_view image_type(std::string_view bytes) {
    if (bytes.starts_with("\x89PNG\r\n\x1a\n")) return "image/png";
    if (bytes.starts_with("\xff\xd8\xff")) return "image/jpeg";
    return {};
  }

  // The newest fixes of the window, at most map_track_max_points: Store::track returns the oldest
  // first, so when a window is full it is halved (towards now) until it fits, a few times at most.
  std::vector<PositionFix> read_track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms) const {
    const std::size_t limit = config_.map_track_max_points;
    std::vector<PositionFix> track;
    for (int attempt = 0; attempt < 8; ++attempt) {
      track = app_.store().track(mmsi, from_ms, to_ms, limit);
      if (track.size() < limit || to_ms - from_ms < 60'000) break;
      from_ms = to_ms - (to_ms - from_ms) / 2;
    }
    return track;
  }

  const Layers& layers() {
    const std::lock_guard lock(mutex_);
    if (layers_.renderer) return layers_;
    const auto http = [&](const std::string& url) -> std::shared_ptr<TileSource> {
      if (url.empty()) return nullptr;
      net::HttpTileSourceConfig hc;
      hc.url_template = url;
      hc.user_agent = config_.map_user_agent;
      hc.timeout_ms = config_.map_tile_timeout_ms;
      hc.max_connections = config_.map_tile_connections;
      return std::make_shared<net::HttpTileSource>(hc);
    };
    const auto disk = [&](std::shared_ptr<TileSource> next, std::string_view layer,
                          const std::string& url) -> std::shared_ptr<TileSource> {
      if (!next || config_.map_tile_cache_mb == 0) return next;
      DiskTileCacheConfig dc;
      dc.dir = std::filesystem::path(config_.map_tile_cache_dir) / cache_folder(layer, url);
      dc.max_bytes = static_cast<std::uint64_t>(config_.map_tile_cache_mb) * 1024 * 1024;
      dc.min_keep_ms = config_.map_tile_cache_days * kMsPerDay;
      return std::make_shared<DiskTileCache>(dc, std::move(next));
    };
    std::vector<std::shared_ptr<TileSource>> base_chain;
    if (!config_.map_tile_mbtiles.empty())
      base_chain.push_back(std::make_shared<MBTilesSource>(config_.map_tile_mbtiles));
    if (!config_.map_tile_folder.empty())
      base_chain.push_back(std::make_shared<FolderTileSource>(config_.map_tile_folder));
    base_chain.push_back(disk(http(config_.map_tile_url), "base", config_.map_tile_url));
    std::shared_ptr<TileSource> base;
    if (base_chain.size() > 1 || base_chain.front()) {
      layers_.base_chain = std::make_shared<ChainTileSource>(std::move(base_chain));
      base = std::make_shared<MemoryTileCache>(layers_.base_chain, config_.map_memory_tiles);
    }
    std::shared_ptr<TileSource> seamark;
    if (auto s = disk(http(config_.map_seamark_url), "seamark", config_.map_seamark_url))
      seamark = std::make_shared<MemoryTileCache>(std::move(s), config_.map_memory_tiles);

    std::shared_ptr<const Basemap> basemap;
    if (!config_.map_basemap.empty()) {
      try {
        basemap = std::make_shared<const Basemap>(Basemap::load(config_.map_basemap));
        log(LogLevel::info, "maps: offline basemap {} ({} rings, {} points)", config_.map_basemap,
            basemap->rings().size(), basemap->vertex_count());
      } catch (const MapError& e) {
        log(LogLevel::warn, "maps: no offline land (missing tiles are drawn as sea): {}", e.what());
      }
    }
    layers_.basemap = basemap;
    layers_.renderer =
        std::make_shared<const MapRenderer>(std::move(base), std::move(seamark), std::move(basemap));
    return layers_;
  }

  const App& app_;
  ServerConfig config_;
  std::mutex mutex_;  // guards layers_ (built once, then only read by the slow pool's threads)
  Layers layers_;
};

}  // namespace

std::unique_ptr<RouteModule> make_map_routes(const App& app, const ServerConfig& config) {
  return std::make_unique<MapRoutes>(app, config);
}

}  // namespace aistrack::server
