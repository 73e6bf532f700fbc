// Spherical great-circle helpers (mean Earth radius). Good to ~0.5 %; Stats uses the
// WGS84 ellipsoid instead where distances are reported to users.
#pragma once

#include <aistrack/types.hpp>

#include <algorithm>
#include <cmath>

namespace aistrack::geo {

/// Mean Earth radius (IUGG), metres.
inline constexpr double kEarthRadiusM = 6'371'008.8;
/// Metres in one international nautical mile.
inline constexpr double kMetresPerNm = 1852.0;

/// Great-circle distance on the sphere, metres.
double great_circle_m(LatLon a, LatLon b) noexcept;

/// Initial bearing from a to b, degrees true 0..<360.
double initial_bearing_deg(LatLon a, LatLon b) noexcept;

/// Point `distance_m` metres from `from` along `bearing_deg` (degrees true) on the great circle.
LatLon destination(LatLon from, double bearing_deg, double distance_m) noexcept;

/// Normalises a longitude into −180..<180 degrees.
double normalize_lon_deg(double lon_deg) noexcept;

// --- Web-Mercator (EPSG:3857) tile maths, as used by OpenStreetMap's XYZ tiles (issue #6) ---

/// Edge length of one XYZ map tile, pixels.
inline constexpr int kTileSizePx = 256;
/// Northern and southern limit of Web-Mercator, degrees latitude (the world is square at it).
inline constexpr double kMercatorMaxLatDeg = 85.051128779806592;
/// WGS84 equatorial radius, metres: the sphere radius Web-Mercator uses.
inline constexpr double kMercatorRadiusM = 6'378'137.0;

/// A position in "world pixels" at one zoom: x eastwards from 180°W, y southwards from 85.05°N,
/// both 0..kTileSizePx·2^zoom.
struct WorldPx {
  double x = 0;
  double y = 0;
};

/// Width (and height) of the whole Web-Mercator world at `zoom`, pixels.
inline double world_size_px(int zoom) noexcept { return std::ldexp(static_cast<double>(kTileSizePx), zoom); }

/// Projects `p` to world pixels at `zoom`; latitude is clamped to ±kMercatorMaxLatDeg.
inline WorldPx to_world_px(LatLon p, int zoom) noexcept {
  constexpr double kPi = 3.14159265358979323846;
  const double size_px = world_size_px(zoom);
  const double lat_rad = std::clamp(p.lat_deg, -kMercatorMaxLatDeg, kMercatorMaxLatDeg) * kPi / 180.0;
  const double x = (p.lon_deg + 180.0) / 360.0 * size_px;
  const double y = (1.0 - std::asinh(std::tan(lat_rad)) / kPi) / 2.0 * size_px;
  return WorldPx{x, y};
}

/// Inverse of to_world_px: world pixels at `zoom` → latitude and longitude in degrees (no wrapping).
inline LatLon from_world_px(WorldPx p, int zoom) noexcept {
  constexpr double kPi = 3.14159265358979323846;
  const double size_px = world_size_px(zoom);
  const double lon_deg = p.x / size_px * 360.0 - 180.0;
  const double lat_deg = std::atan(std::sinh(kPi * (1.0 - 2.0 * p.y / size_px))) * 180.0 / kPi;
  return LatLon{lat_deg, lon_deg};
}

/// Ground distance one pixel covers at `lat_deg` degrees and `zoom`, metres (Web-Mercator scale).
inline double metres_per_px(double lat_deg, int zoom) noexcept {
  constexpr double kPi = 3.14159265358979323846;
  return 2.0 * kPi * kMercatorRadiusM * std::cos(lat_deg * kPi / 180.0) / world_size_px(zoom);
}

}  // namespace aistrack::geo
