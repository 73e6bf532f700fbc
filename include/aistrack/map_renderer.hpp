// MapRenderer: a PNG or JPEG map of one vessel and its track over web-map tiles, and the
// TileSource interface the tiles come through (memory cache, disk cache, MBTiles, a folder
// of z/x/y.png, and, in aistrack::net, HTTP), chained like this:
//
//   MemoryTileCache → DiskTileCache → ChainTileSource{MBTilesSource, HttpTileSource}
//
// The map is drawn in Web-Mercator with 256-px XYZ tiles: base layer, seamark layer composited
// over it with its alpha, the track as an anti-aliased line coloured by speed, the vessel as an
// arrow along its heading (COG when the heading is unknown; a circle when stationary or both are
// unknown), its name, a scale bar in nautical miles and the attribution. A tile that cannot be
// had never fails the map: it is drawn from the offline Basemap (Natural Earth land polygons
// and a graticule), and the result says how many tiles were missing.
//
// Nothing here reads the clock, starts threads or opens sockets: `now_ms` comes in as a parameter.
// See docs/MAP.md.
#pragma once

#include <aistrack/message.hpp>
#include <aistrack/tracker.hpp>
#include <aistrack/types.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aistrack {

/// Environment and programmer errors of the map code (unreadable basemap, bad options, cache
/// folder that cannot be created …); what() says what to fix. Missing tiles never throw.
class MapError : public Error {
 public:
  using Error::Error;
};

/// Address of one tile in the XYZ scheme of OpenStreetMap: x 0..2^z−1 eastwards from 180°W,
/// y 0..2^z−1 southwards from 85.05°N.
struct TileId {
  int z = 0;
  int x = 0;
  int y = 0;
  friend auto operator<=>(const TileId&, const TileId&) = default;
};

/// Pixels, 8 bits per channel, row-major, no padding; straight (not premultiplied) alpha.
struct Image {
  int width_px = 0;
  int height_px = 0;
  int channels = 0;  ///< 1 grey, 3 RGB or 4 RGBA
  std::vector<std::uint8_t> pixels;
};

/// How a tile source answered for one tile.
enum class TileStatus : std::uint8_t {
  ok,       ///< `encoded` (and maybe `image`) hold the tile
  empty,    ///< the server says there is no such tile (HTTP 404/204): worth caching, draws nothing
  missing,  ///< not available from this source (not stored, network error, timeout, 5xx, corrupt)
};

/// "ok", "empty" or "missing".
std::string_view to_string(TileStatus status) noexcept;

/// One tile as a source hands it over.
struct Tile {
  TileStatus status = TileStatus::missing;
  std::string encoded;                 ///< PNG or JPEG bytes as served (status ok)
  std::shared_ptr<const Image> image;  ///< decoded RGBA 256×256, when the source keeps it decoded
  std::optional<TimeMs> expires_ms;    ///< ms UTC after which a cache should ask again; nullopt: unknown
};

/// Where tiles come from. Implementations say in their class comment whether fetch() may run on
/// several threads at once (every source in aistrack may).
class TileSource {
 public:
  virtual ~TileSource() = default;
  /// Answers each of `ids` at `now_ms` (ms UTC): one Tile per id, in the same order. Never throws
  /// for a tile that cannot be had (its status is `missing`).
  virtual std::vector<Tile> fetch(std::span<const TileId> ids, TimeMs now_ms) = 0;
};

/// Decodes PNG or JPEG bytes into 256×256 RGBA with stb_image; nullopt when corrupt or not 256×256.
std::optional<Image> decode_tile(std::string_view encoded);

/// Counters of a cache, for /health and tests.
struct TileCacheStats {
  std::uint64_t hits = 0;     ///< answered from the cache (fresh)
  std::uint64_t stale = 0;    ///< expired entries served because the next source had nothing better
  std::uint64_t misses = 0;   ///< passed to the next source
  std::uint64_t stored = 0;   ///< entries written
  std::uint64_t evicted = 0;  ///< entries dropped to stay under the bound
  std::size_t entries = 0;    ///< entries held now
  std::uint64_t bytes = 0;    ///< bytes held now (disk cache: file bytes)
};

/// In-memory LRU cache of decoded tiles in front of `next`. Keeps each tile until it expires
/// (then asks `next` again and serves the old one if `next` has nothing); at most `max_tiles`
/// (each 256 KiB decoded). Thread-safe.
class MemoryTileCache : public TileSource {
 public:
  /// A cache of at most `max_tiles` (≥ 1) tiles in front of `next` (may be null: cache only).
  MemoryTileCache(std::shared_ptr<TileSource> next, std::size_t max_tiles);
  ~MemoryTileCache() override;
  /// See TileSource::fetch; `now_ms` is ms UTC.
  std::vector<Tile> fetch(std::span<const TileId> ids, TimeMs now_ms) override;
  /// Counters so far.
  [[nodiscard]] TileCacheStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Settings of a DiskTileCache.
struct DiskTileCacheConfig {
  std::filesystem::path dir;                       ///< folder of the cache (created if missing)
  std::uint64_t max_bytes = 512ULL * 1024 * 1024;  ///< size cap; the oldest-written files go first beyond it
  /// Every tile is kept at least this long, whatever the server's expiry says (OpenStreetMap's tile
  /// policy asks for 7 days), ms.
  TimeMs min_keep_ms = 7LL * 24 * 3600 * 1000;
};

/// Tiles on disk in front of `next`, one file per tile (`dir/z/x/y.tile`: a small header with the
/// expiry, then the bytes as served). A tile expires at the later of the server's expiry and
/// min_keep_ms after it was fetched; an expired tile is fetched again, and still served if that
/// fails. "Empty" answers (404) are cached too. Writes are atomic (temporary file + rename).
/// Thread-safe within one process; two processes must not share a folder.
class DiskTileCache : public TileSource {
 public:
  /// Opens (creating) the folder and sums its size; throws MapError when it cannot be created.
  DiskTileCache(DiskTileCacheConfig config, std::shared_ptr<TileSource> next);
  ~DiskTileCache() override;
  /// See TileSource::fetch; `now_ms` is ms UTC.
  std::vector<Tile> fetch(std::span<const TileId> ids, TimeMs now_ms) override;
  /// Counters so far.
  [[nodiscard]] TileCacheStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Tiles from an MBTiles file (SQLite; `tiles` table or view, TMS row order: row = 2^z − 1 − y),
/// opened read-only. Tiles not in the file are `missing`. Thread-safe.
class MBTilesSource : public TileSource {
 public:
  /// Opens `path` read-only; throws MapError when it is not a readable MBTiles file.
  explicit MBTilesSource(const std::filesystem::path& path);
  ~MBTilesSource() override;
  /// See TileSource::fetch.
  std::vector<Tile> fetch(std::span<const TileId> ids, TimeMs now_ms) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Tiles from a folder laid out `dir/{z}/{x}/{y}.{extension}` (XYZ rows). Absent files are
/// `missing`. Thread-safe.
class FolderTileSource : public TileSource {
 public:
  /// Reads tiles below `dir` with the file extension `extension` (without the dot, e.g. "png").
  explicit FolderTileSource(std::filesystem::path dir, std::string extension = "png");
  /// See TileSource::fetch.
  std::vector<Tile> fetch(std::span<const TileId> ids, TimeMs now_ms) override;

 private:
  std::filesystem::path dir_;
  std::string extension_;
};

/// Asks each source in turn for the tiles the previous ones had as `missing` (e.g. an MBTiles
/// file first, then HTTP). Thread-safe when its sources are.
class ChainTileSource : public TileSource {
 public:
  /// Sources in the order they are asked; null entries are skipped.
  explicit ChainTileSource(std::vector<std::shared_ptr<TileSource>> sources);
  /// See TileSource::fetch; `now_ms` is ms UTC.
  std::vector<Tile> fetch(std::span<const TileId> ids, TimeMs now_ms) override;

 private:
  std::vector<std::shared_ptr<TileSource>> sources_;
};

/// Offline basemap: land polygons (Natural Earth) drawn where a tile is missing. Immutable once
/// loaded; share one between renderers and threads.
class Basemap {
 public:
  /// One ring of a polygon, degrees, with its bounding box.
  struct Ring {
    std::vector<LatLon> points;
    double min_lat_deg = 0;
    double max_lat_deg = 0;
    double min_lon_deg = 0;
    double max_lon_deg = 0;
  };

  /// No land at all: sea and graticule only.
  Basemap() = default;
  /// Reads land polygons from a TopoJSON (world-atlas's land-110m.json / land-50m.json: quantized,
  /// delta-encoded arcs) or GeoJSON file (Polygon / MultiPolygon features); throws MapError naming the
  /// file when it cannot be read or holds no polygon.
  static Basemap load(const std::filesystem::path& path);
  /// Same as load() for text already in memory; `what` names it in error messages.
  static Basemap parse(std::string_view json_text, std::string_view what = "basemap");

  /// Every ring, outer rings and holes alike (filled with the even-odd rule).
  [[nodiscard]] const std::vector<Ring>& rings() const noexcept { return rings_; }
  /// Vertices in all rings.
  [[nodiscard]] std::size_t vertex_count() const noexcept;

 private:
  std::vector<Ring> rings_;
};

/// Colour scheme of a map.
enum class ColorScheme : std::uint8_t {
  color,      ///< RGB image
  grayscale,  ///< single-channel image
};

/// Output format of a map.
enum class ImageFormat : std::uint8_t { png, jpeg };

/// "color" / "grayscale".
std::string_view to_string(ColorScheme scheme) noexcept;
/// "png" / "jpeg".
std::string_view to_string(ImageFormat format) noexcept;
/// "image/png" / "image/jpeg".
std::string_view content_type(ImageFormat format) noexcept;

/// What to draw for the vessel.
struct MapVessel {
  LatLon latlon;
  std::optional<double> sog_kn;       ///< speed over ground, knots (below 0.5 kn: drawn as a circle)
  std::optional<double> cog_deg;      ///< course over ground, degrees true
  std::optional<double> heading_deg;  ///< true heading, degrees (preferred over COG for the arrow)
  std::string name;                   ///< label next to the marker; empty: none
};

/// The vessel as of `state`'s newest fix and merged name; nullopt when it has no position.
std::optional<MapVessel> map_vessel_of(const VesselState& state);

/// How to draw one map.
struct MapOptions {
  int width_px = 800;       ///< 1..8192
  int height_px = 600;      ///< 1..8192
  std::optional<int> zoom;  ///< 0..22: centre on the vessel at this zoom; nullopt: fit the track
  int max_fit_zoom = 16;    ///< highest zoom a fitted map uses (0..22)
  int padding_px = 24;      ///< margin kept around a fitted track, pixels
  ColorScheme scheme = ColorScheme::color;
  ImageFormat format = ImageFormat::png;
  int jpeg_quality = 85;        ///< 1..100
  bool draw_name = true;        ///< label the vessel with MapVessel::name
  double track_width_px = 2.5;  ///< width of the track line, pixels
};

/// A drawn map before encoding.
struct MapRaster {
  Image image;                   ///< 3 channels (color) or 1 (grayscale), exactly width × height
  int zoom = 0;                  ///< zoom used
  double left_world_px = 0;      ///< world-pixel x of the image's left edge at `zoom`
  double top_world_px = 0;       ///< world-pixel y of the image's top edge at `zoom`
  int tiles = 0;                 ///< tiles the map needed, both layers
  int tiles_missing = 0;         ///< of those, drawn from the basemap or left out
  std::size_t track_points = 0;  ///< track points drawn (after dropping sub-pixel steps)
};

/// An encoded map.
struct MapImage {
  std::string bytes;              ///< the PNG or JPEG file
  std::string_view content_type;  ///< "image/png" or "image/jpeg"
  int width_px = 0;
  int height_px = 0;
  int zoom = 0;
  int tiles = 0;
  int tiles_missing = 0;
};

/// Encodes `image` (1, 3 or 4 channels) as PNG or JPEG (quality 1..100) with stb_image_write;
/// throws MapError when the image is malformed.
std::string encode_image(const Image& image, ImageFormat format, int jpeg_quality = 85);

/// Draws maps from a base layer, an optional seamark layer and the offline basemap.
/// Thread-safety: draw() and render() are const and may run concurrently when the tile sources
/// allow it (all of aistrack's do).
class MapRenderer {
 public:
  /// Attribution drawn on every map.
  static constexpr std::string_view kAttribution = "\xC2\xA9 OpenStreetMap contributors, OpenSeaMap";

  /// A renderer over `base` (may be null: basemap only), `seamark` (may be null: no seamarks) and
  /// `basemap` (may be null: plain sea where tiles are missing).
  MapRenderer(std::shared_ptr<TileSource> base, std::shared_ptr<TileSource> seamark,
              std::shared_ptr<const Basemap> basemap);

  /// Draws the map of `vessel` with `track` (oldest first; points far from the view are clipped) at
  /// `now_ms` (ms UTC, for tile expiry). Throws MapError for options out of range; missing tiles never
  /// throw.
  [[nodiscard]] MapRaster draw(const MapVessel& vessel, std::span<const PositionFix> track,
                               const MapOptions& options, TimeMs now_ms) const;

  /// draw() followed by encode_image() in options.format.
  [[nodiscard]] MapImage render(const MapVessel& vessel, std::span<const PositionFix> track,
                                const MapOptions& options, TimeMs now_ms) const;

 private:
  std::shared_ptr<TileSource> base_;
  std::shared_ptr<TileSource> seamark_;
  std::shared_ptr<const Basemap> basemap_;
};

/// The offline basemap's picture of tile `id` (land, sea and graticule, exactly as a map draws a
/// missing tile), 256×256 RGB: a stand-in tile for web maps when no tile server answers. `basemap`
/// may be null (sea and graticule only). Throws MapError when `id` is not a tile (z 0..22, x and y
/// 0..2^z−1).
Image draw_basemap_tile(const Basemap* basemap, TileId id);

/// Length of the scale bar for `metres_per_px` at most `max_px` long: 1, 2 or 5 × 10^k nautical miles,
/// nm.
double scale_bar_nm(double metres_per_px, double max_px) noexcept;

/// Width of `text` (UTF-8; characters outside printable ASCII and © draw as '?') in the built-in
/// 5×7 bitmap font at `scale`, pixels.
int text_width_px(std::string_view text, int scale = 1) noexcept;

}  // namespace aistrack
