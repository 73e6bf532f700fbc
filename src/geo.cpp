#include <aistrack/geo.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace aistrack::geo {
namespace {
constexpr double kDegToRad = std::numbers::pi / 180.0;
constexpr double kRadToDeg = 180.0 / std::numbers::pi;
}  // namespace

double great_circle_m(LatLon a, LatLon b) noexcept {
  // Haversine: well-conditioned for the short distances between AIS fixes.
  const double phi1 = a.lat_deg * kDegToRad;
  const double phi2 = b.lat_deg * kDegToRad;
  const double dphi = phi2 - phi1;
  const double dlambda = (b.lon_deg - a.lon_deg) * kDegToRad;
  const double s1 = std::sin(dphi / 2);
  const double s2 = std::sin(dlambda / 2);
  const double h = std::clamp(s1 * s1 + std::cos(phi1) * std::cos(phi2) * s2 * s2, 0.0, 1.0);
  return 2 * kEarthRadiusM * std::asin(std::sqrt(h));
}

double initial_bearing_deg(LatLon a, LatLon b) noexcept {
  const double phi1 = a.lat_deg * kDegToRad;
  const double phi2 = b.lat_deg * kDegToRad;
  const double dlambda = (b.lon_deg - a.lon_deg) * kDegToRad;
  const double y = std::sin(dlambda) * std::cos(phi2);
  const double x = std::cos(phi1) * std::sin(phi2) - std::sin(phi1) * std::cos(phi2) * std::cos(dlambda);
  const double deg = std::atan2(y, x) * kRadToDeg;
  return std::fmod(deg + 360.0, 360.0);
}

LatLon destination(LatLon from, double bearing_deg, double distance_m) noexcept {
  const double delta = distance_m / kEarthRadiusM;
  const double theta = bearing_deg * kDegToRad;
  const double phi1 = from.lat_deg * kDegToRad;
  const double lambda1 = from.lon_deg * kDegToRad;
  const double sin_phi2 = std::clamp(
      std::sin(phi1) * std::cos(delta) + std::cos(phi1) * std::sin(delta) * std::cos(theta), -1.0, 1.0);
  const double phi2 = std::asin(sin_phi2);
  const double lambda2 = lambda1 + std::atan2(std::sin(theta) * std::sin(delta) * std::cos(phi1),
                                              std::cos(delta) - std::sin(phi1) * sin_phi2);
  return LatLon{phi2 * kRadToDeg, normalize_lon_deg(lambda2 * kRadToDeg)};
}

double normalize_lon_deg(double lon_deg) noexcept {
  double r = std::fmod(lon_deg + 180.0, 360.0);
  if (r < 0) r += 360.0;
  return r - 180.0;
}

}  // namespace aistrack::geo
