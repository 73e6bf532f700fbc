// A latitude/longitude box as the API takes it (bbox=minlat,minlon,maxlat,maxlon), shared by
// GET /v1/vessels and /v1/live so both read and test boxes by one rule.
#pragma once

#include <aistrack/types.hpp>

namespace aistrack::server {

/// A box in degrees; min_lon_deg > max_lon_deg means it crosses the antimeridian.
struct GeoBox {
  double min_lat_deg, min_lon_deg, max_lat_deg, max_lon_deg;

  /// True for latitudes −90..90 with min ≤ max and longitudes −180..180.
  [[nodiscard]] bool valid() const noexcept {
    const bool lat_ok = min_lat_deg >= -90 && max_lat_deg <= 90 && min_lat_deg <= max_lat_deg;
    return lat_ok && min_lon_deg >= -180 && min_lon_deg <= 180 && max_lon_deg >= -180 && max_lon_deg <= 180;
  }
  /// True when `p` (degrees) lies inside, edges included.
  [[nodiscard]] bool contains(const LatLon& p) const noexcept {
    if (p.lat_deg < min_lat_deg || p.lat_deg > max_lat_deg) return false;
    if (min_lon_deg <= max_lon_deg) return p.lon_deg >= min_lon_deg && p.lon_deg <= max_lon_deg;
    return p.lon_deg >= min_lon_deg || p.lon_deg <= max_lon_deg;
  }
};

}  // namespace aistrack::server
