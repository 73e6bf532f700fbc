// HttpTileSource (library aistrack::net): map tiles over HTTP(S) with libcurl.
//
// The tiles of one fetch() (one map layer) are downloaded in parallel over a libcurl multi
// handle, all within one timeout; a tile that fails, times out or answers 5xx is `missing`, a
// 404/204/410 is `empty` (the server says there is nothing there). Expiry comes from the
// response's Cache-Control max-age or Expires header, so a cache in front (DiskTileCache) keeps
// it per the server and at least its own minimum. Requests carry the configured User-Agent and
// no Cache-Control/Pragma request headers, as OpenStreetMap's tile usage policy asks.
//
// Unlike the core, this library opens sockets and reads the clock (for the timeout).
#pragma once

#include <aistrack/map_renderer.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace aistrack::net {

/// "aistrack/<version> (AIS ship tracker map renderer; libcurl)": set your own, with a
/// contact, for real use (MAP_USER_AGENT).
std::string default_tile_user_agent();

/// Settings of an HttpTileSource.
struct HttpTileSourceConfig {
  std::string url_template;                            ///< http(s) URL with {z}, {x} and {y}, e.g.
                                                       ///< https://tile.openstreetmap.org/{z}/{x}/{y}.png
  std::string user_agent = default_tile_user_agent();  ///< identifying User-Agent (required by OSM)
  std::int64_t timeout_ms = 10'000;         ///< every tile of one fetch() must arrive within this, ms
  std::int64_t connect_timeout_ms = 5'000;  ///< TCP + TLS connect limit per connection, ms
  int max_connections = 2;                ///< parallel connections to one host (HTTP/2 multiplexes over them)
  std::size_t max_tile_bytes = 2U << 20;  ///< larger bodies are abandoned (missing)
};

/// Counters of an HttpTileSource.
struct HttpTileStats {
  std::uint64_t requests = 0;  ///< HTTP requests started
  std::uint64_t ok = 0;        ///< 200 with a body
  std::uint64_t empty = 0;     ///< 404/204/410
  std::uint64_t failed = 0;    ///< anything else: connection errors, timeouts, 5xx, oversized bodies
};

/// True when `url_template` is an http:// or https:// URL containing {z}, {x} and {y}.
bool is_valid_tile_url_template(std::string_view url_template) noexcept;

/// Tiles over HTTP(S). Thread-safe: concurrent fetch() calls use separate libcurl multi handles
/// (kept in a pool, so connections are reused between maps).
class HttpTileSource : public TileSource {
 public:
  /// Throws MapError when url_template is not valid (see is_valid_tile_url_template) or the
  /// user agent is empty.
  explicit HttpTileSource(HttpTileSourceConfig config);
  ~HttpTileSource() override;
  HttpTileSource(const HttpTileSource&) = delete;
  HttpTileSource& operator=(const HttpTileSource&) = delete;

  /// Downloads `ids` in parallel; `now_ms` (ms UTC) anchors the expiry of each answer.
  std::vector<Tile> fetch(std::span<const TileId> ids, TimeMs now_ms) override;
  /// The URL of one tile.
  [[nodiscard]] std::string url_of(const TileId& id) const;
  /// Counters so far.
  [[nodiscard]] HttpTileStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aistrack::net
