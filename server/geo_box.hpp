// The API's bbox=minlat,minlon,maxlat,maxlon box, shared by GET /v1/vessels and /v1/live; the type
// lives in the library (aistrack::GeoBox) because Store::area_positions takes one too.
#pragma once

#include <aistrack/types.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>
#include <system_error>

namespace aistrack::server {

using aistrack::GeoBox;

/// bbox=minlat,minlon,maxlat,maxlon (degrees); nullopt when malformed or out of range.
inline std::optional<GeoBox> parse_geo_box(std::string_view s) {
  double v[4] = {};
  for (int i = 0; i < 4; ++i) {
    const auto comma = i < 3 ? s.find(',') : s.size();
    if (comma == std::string_view::npos) return std::nullopt;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + comma, v[i]);
    if (comma == 0 || ec != std::errc{} || p != s.data() + comma || !std::isfinite(v[i])) return std::nullopt;
    s.remove_prefix(std::min(comma + 1, s.size()));
  }
  const GeoBox b{v[0], v[1], v[2], v[3]};
  if (!b.valid()) return std::nullopt;
  return b;
}

/// What a 400 says about a bad bbox.
inline constexpr std::string_view kGeoBoxRule =
    "bbox must be minlat,minlon,maxlat,maxlon in degrees (latitudes -90..90 with minlat <= maxlat, "
    "longitudes "
    "-180..180)";

}  // namespace aistrack::server
