// The one translation unit that compiles stb_image and stb_image_write (Debian's libstb-dev
// headers). Every stb function is `static` here (STB*_STATIC), so a program that links aistrack
// and has its own copy of stb gets no duplicate symbols. CMake compiles this file with
// -fno-sanitize=shift: stb's JPEG writer left-shifts negative values (harmless; see
// DEPENDENCIES.md §3.3), which would stop an UBSan run.
#include "map_internal.hpp"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_NO_FAILURE_STRINGS  // stb would otherwise write a global from every failing decode
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <climits>
#include <cstring>

namespace aistrack::detail {
namespace {
constexpr int kMaxDecodeSidePx = 4096;

void append(void* context, void* data, int size) {
  if (size > 0)
    static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                               static_cast<std::size_t>(size));
}
}  // namespace

bool decode_rgba(std::string_view encoded, int want_w, int want_h, Image& out) {
  if (encoded.empty() || encoded.size() > static_cast<std::size_t>(INT_MAX)) return false;
  const auto* bytes = reinterpret_cast<const stbi_uc*>(encoded.data());
  const int len = static_cast<int>(encoded.size());
  int w = 0;
  int h = 0;
  int comp = 0;
  // Check the size before decoding so a hostile header cannot make us allocate gigabytes.
  if (stbi_info_from_memory(bytes, len, &w, &h, &comp) == 0) return false;
  if (w <= 0 || h <= 0 || w > kMaxDecodeSidePx || h > kMaxDecodeSidePx) return false;
  if ((want_w != 0 && w != want_w) || (want_h != 0 && h != want_h)) return false;
  stbi_uc* pixels = stbi_load_from_memory(bytes, len, &w, &h, &comp, 4);
  if (pixels == nullptr) return false;
  out.width_px = w;
  out.height_px = h;
  out.channels = 4;
  out.pixels.assign(pixels, pixels + static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 4);
  stbi_image_free(pixels);
  return true;
}

std::string encode_png(const std::uint8_t* pixels, int width_px, int height_px, int channels) {
  std::string out;
  if (stbi_write_png_to_func(append, &out, width_px, height_px, channels, pixels, width_px * channels) == 0)
    out.clear();
  return out;
}

std::string encode_jpeg(const std::uint8_t* pixels, int width_px, int height_px, int channels, int quality) {
  std::string out;
  if (stbi_write_jpg_to_func(append, &out, width_px, height_px, channels, pixels, quality) == 0) out.clear();
  return out;
}

}  // namespace aistrack::detail
