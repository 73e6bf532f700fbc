// Internal pieces of the map code shared by map_renderer.cpp, map_basemap.cpp, map_font.cpp,
// tile_sources.cpp and image_codec.cpp. Not installed; not part of the API.
#pragma once

#include <aistrack/map_renderer.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace aistrack::detail {

/// One glyph of the built-in bitmap font: `rows` rows (7, or 9 with a descender) of `width` pixels,
/// bit (width − 1 − col) of bits[row] set where the pixel is ink. Row 6 sits on the baseline.
struct Glyph {
  int width = 5;
  int rows = 7;
  std::uint16_t bits[9] = {};
};

/// Height of a line of text in the font at scale 1 (ascent 7 + descent 2 + 1 spacing), pixels.
inline constexpr int kFontLineHeightPx = 10;

/// Glyph of one Unicode code point; unknown code points give the '?' glyph.
const Glyph& glyph_of(char32_t code_point) noexcept;

/// Decodes the next UTF-8 code point of `text` at `pos` and advances `pos`; malformed bytes give U+FFFD.
char32_t next_code_point(std::string_view text, std::size_t& pos) noexcept;

/// stb_image: PNG/JPEG bytes → RGBA; false when corrupt, a side above 4096 px, or not
/// `want_w` × `want_h` (0: any size).
bool decode_rgba(std::string_view encoded, int want_w, int want_h, Image& out);

/// stb_image_write into memory; empty when stb fails.
std::string encode_png(const std::uint8_t* pixels, int width_px, int height_px, int channels);
/// stb_image_write JPEG into memory (quality 1..100); empty when stb fails.
std::string encode_jpeg(const std::uint8_t* pixels, int width_px, int height_px, int channels, int quality);

}  // namespace aistrack::detail
