// Map tests (issue #6): a real HTTP tile server on 127.0.0.1 serving tiles it generates, and
// image helpers built on stb (an independent copy from the library's: every stb function here
// is static to this support library).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace aistrack::test {

/// Colour of every pixel of base tile z/x/y as TileServer generates it (neighbouring tiles differ
/// in red across x and in green across y; no channel reaches the marker's or the track's colours).
std::array<std::uint8_t, 3> base_tile_color(int z, int x, int y);

/// Seamark tiles: transparent except a square of kSeamarkColor with alpha kSeamarkAlpha at
/// pixels [kSeamarkFrom, kSeamarkTo) of both axes.
inline constexpr std::array<std::uint8_t, 3> kSeamarkColor = {255, 0, 0};
inline constexpr std::uint8_t kSeamarkAlpha = 128;
inline constexpr int kSeamarkFrom = 112;
inline constexpr int kSeamarkTo = 144;

/// 256×256 PNG of one colour (RGBA, opaque).
std::string solid_png(std::array<std::uint8_t, 3> rgb);
/// The base tile z/x/y as a PNG.
std::string base_tile_png(int z, int x, int y);
/// A seamark tile as a PNG.
std::string seamark_tile_png();
/// PNG of `channels`-channel pixels (stb_image_write).
std::string encode_png(const std::vector<std::uint8_t>& pixels, int width_px, int height_px, int channels);

/// An image decoded with stb_image.
struct Decoded {
  int width_px = 0;
  int height_px = 0;
  int channels_in_file = 0;  ///< 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA as stored in the file
  int channels = 0;          ///< of `pixels`
  std::vector<std::uint8_t> pixels;
  /// Channel `c` of pixel (x, y).
  [[nodiscard]] std::uint8_t at(int x, int y, int c = 0) const {
    return pixels[(static_cast<std::size_t>(y) * width_px + x) * channels + c];
  }
};

/// Decodes PNG or JPEG bytes; `want_channels` 0 keeps the file's channels. nullopt when stb fails.
std::optional<Decoded> decode_image(std::string_view bytes, int want_channels = 0);

/// One request as the tile server saw it.
struct TileRequest {
  std::string path;
  std::string user_agent;
};

/// A blocking HTTP/1.1 server on 127.0.0.1 (thread per connection, Connection: close) serving
/// /base/{z}/{x}/{y}.png and /seamark/{z}/{x}/{y}.png. Stops and joins its threads on destruction.
class TileServer {
 public:
  enum class Mode : std::uint8_t {
    ok,         ///< 200 with the generated tile
    not_found,  ///< 404 for every tile
    error,      ///< 500 for every tile
  };
  struct Options {
    Mode mode = Mode::ok;
    int delay_ms = 0;                     ///< wait before answering (a slow server)
    std::optional<int> max_age_s;         ///< Cache-Control: max-age=N on answers
    std::string expires;                  ///< Expires header on answers (empty: none)
    std::set<std::string> failing_paths;  ///< these paths get 500 whatever the mode
  };

  TileServer();
  explicit TileServer(Options options);
  ~TileServer();
  TileServer(const TileServer&) = delete;
  TileServer& operator=(const TileServer&) = delete;

  [[nodiscard]] int port() const noexcept { return port_; }
  /// URL template of a layer ("base" or "seamark").
  [[nodiscard]] std::string url(std::string_view layer) const;
  /// Tile requests answered so far.
  [[nodiscard]] std::size_t requests() const;
  /// Every request so far.
  [[nodiscard]] std::vector<TileRequest> log() const;
  /// Changes how the following requests are answered.
  void set_mode(Mode mode) { mode_.store(mode); }

 private:
  void accept_loop();
  void serve(int fd);

  Options options_;
  std::atomic<Mode> mode_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;  // guards log_ and workers_
  std::vector<TileRequest> log_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

/// A URL template on a port nothing listens on (connections are refused at once).
std::string dead_tile_url();

}  // namespace aistrack::test
