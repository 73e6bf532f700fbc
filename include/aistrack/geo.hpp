// Spherical great-circle helpers (mean Earth radius). Good to ~0.5 %; Stats uses the
// WGS84 ellipsoid instead where distances are reported to users.
#pragma once

#include <aistrack/types.hpp>

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

}  // namespace aistrack::geo
