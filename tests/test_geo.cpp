// Spherical helpers of geo.hpp. Reference values were computed independently with the
// Vincenty-form (atan2) great-circle formula on the same sphere (R = 6 371 008.8 m); the
// loop tests cross-check against the spherical law of cosines.
#include <aistrack/geo.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

namespace {

using aistrack::LatLon;
namespace geo = aistrack::geo;

constexpr double kDeg = std::numbers::pi / 180.0;

// Spherical law of cosines: a different formula from the haversine under test, fine away from
// tiny distances.
double law_of_cosines_m(LatLon a, LatLon b) {
  const double c =
      std::sin(a.lat_deg * kDeg) * std::sin(b.lat_deg * kDeg) +
      std::cos(a.lat_deg * kDeg) * std::cos(b.lat_deg * kDeg) * std::cos((b.lon_deg - a.lon_deg) * kDeg);
  return geo::kEarthRadiusM * std::acos(std::fmax(-1.0, std::fmin(1.0, c)));
}

// Smallest signed difference a − b between two angles, degrees.
double angle_diff_deg(double a, double b) { return std::remainder(a - b, 360.0); }

// A reproducible spread of points (no <random>: its distributions differ between libraries).
std::vector<LatLon> sample_points() {
  std::vector<LatLon> out;
  std::uint64_t x = 0x2545F4914F6CDD1DULL;
  const auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return static_cast<double>(x >> 11) * 0x1.0p-53;
  };
  for (int i = 0; i < 500; ++i) out.push_back({-85.0 + 170.0 * next(), -180.0 + 360.0 * next()});
  return out;
}

const LatLon kLondon{51.5074, -0.1278};
const LatLon kParis{48.8566, 2.3522};
const LatLon kJfk{40.6413, -73.7781};
const LatLon kLax{33.9416, -118.4085};
const LatLon kSydney{-33.8688, 151.2093};
const LatLon kSantiago{-33.4489, -70.6693};

}  // namespace

TEST_SUITE("geo") {
  TEST_CASE("great_circle_m matches known distances") {
    // One degree of arc, a quarter and half a great circle.
    const double one_degree_m = 111'195.080'233'5;
    CHECK(geo::great_circle_m({0, 0}, {0, 1}) == doctest::Approx(one_degree_m).epsilon(1e-9));
    CHECK(geo::great_circle_m({0, 0}, {1, 0}) == doctest::Approx(one_degree_m).epsilon(1e-9));
    CHECK(geo::great_circle_m({0, 0}, {90, 0}) == doctest::Approx(10'007'557.221).epsilon(1e-9));
    CHECK(geo::great_circle_m({0, 0}, {0, 180}) == doctest::Approx(20'015'114.442).epsilon(1e-9));
    // Haversine loses precision near antipodal points (asin near 1): ~0.2 m here, still 1e-8.
    CHECK(geo::great_circle_m({10, 20}, {-10, -160}) == doctest::Approx(20'015'114.442).epsilon(1e-7));
    // City pairs.
    CHECK(geo::great_circle_m(kLondon, kParis) == doctest::Approx(343'556.535).epsilon(1e-9));
    CHECK(geo::great_circle_m(kJfk, kLax) == doctest::Approx(3'974'341.690).epsilon(1e-9));
    // Across the antimeridian (the short way round the Pacific).
    CHECK(geo::great_circle_m(kSydney, kSantiago) == doctest::Approx(11'346'730.794).epsilon(1e-9));
    CHECK(geo::great_circle_m({0, 179.5}, {0, -179.5}) == doctest::Approx(one_degree_m).epsilon(1e-9));
    // Identity and symmetry.
    CHECK(geo::great_circle_m(kLondon, kLondon) == 0.0);
    CHECK(geo::great_circle_m(kParis, kLondon) == doctest::Approx(geo::great_circle_m(kLondon, kParis)));
    // Short distances stay accurate (haversine is well-conditioned): 1 m east at the equator.
    CHECK(geo::great_circle_m({0, 0}, {0, 1.0 / one_degree_m}) == doctest::Approx(1.0).epsilon(1e-6));
  }

  TEST_CASE("great_circle_m is within the documented ~0.5 % of the WGS84 ellipsoid") {
    // WGS84: a degree of longitude on the equator is 111 319.49 m, of latitude at the equator
    // 110 574.39 m; the sphere sits between them.
    CHECK(std::abs(geo::great_circle_m({0, 0}, {0, 1}) / 111'319.49 - 1.0) < 0.006);
    CHECK(std::abs(geo::great_circle_m({-0.5, 0}, {0.5, 0}) / 110'574.39 - 1.0) < 0.006);
  }

  TEST_CASE("great_circle_m agrees with the law of cosines everywhere") {
    const auto pts = sample_points();
    for (std::size_t i = 0; i + 1 < pts.size(); ++i) {
      const double expected_m = law_of_cosines_m(pts[i], pts[i + 1]);
      CHECK(geo::great_circle_m(pts[i], pts[i + 1]) == doctest::Approx(expected_m).epsilon(1e-7));
    }
  }

  TEST_CASE("initial_bearing_deg points the right way in every quadrant") {
    CHECK(geo::initial_bearing_deg({0, 0}, {1, 0}) == doctest::Approx(0.0));
    CHECK(geo::initial_bearing_deg({0, 0}, {0, 1}) == doctest::Approx(90.0));
    CHECK(geo::initial_bearing_deg({0, 0}, {-1, 0}) == doctest::Approx(180.0));
    CHECK(geo::initial_bearing_deg({0, 0}, {0, -1}) == doctest::Approx(270.0));
    const LatLon o{50, 0};
    const double ne = geo::initial_bearing_deg(o, {51, 1});
    const double se = geo::initial_bearing_deg(o, {49, 1});
    const double sw = geo::initial_bearing_deg(o, {49, -1});
    const double nw = geo::initial_bearing_deg(o, {51, -1});
    CHECK((ne > 0 && ne < 90));
    CHECK((se > 90 && se < 180));
    CHECK((sw > 180 && sw < 270));
    CHECK((nw > 270 && nw < 360));
    // Known pairs; a great circle's initial and reverse bearings are not opposite (convergence
    // of meridians), London→Paris 148.1°, Paris→London 330.0°.
    CHECK(geo::initial_bearing_deg(kLondon, kParis) == doctest::Approx(148.1156).epsilon(1e-6));
    CHECK(geo::initial_bearing_deg(kParis, kLondon) == doctest::Approx(330.0211).epsilon(1e-6));
    CHECK(geo::initial_bearing_deg(kJfk, kLax) == doctest::Approx(273.8420).epsilon(1e-6));
    CHECK(geo::initial_bearing_deg(kSydney, kSantiago) == doctest::Approx(145.2827).epsilon(1e-6));
    // Across the antimeridian: east is still east.
    CHECK(geo::initial_bearing_deg({0, 179.5}, {0, -179.5}) == doctest::Approx(90.0));
    CHECK(geo::initial_bearing_deg({0, -179.5}, {0, 179.5}) == doctest::Approx(270.0));
    // Towards a pole, from anywhere.
    CHECK(geo::initial_bearing_deg({10, 123}, {90, 0}) == doctest::Approx(0.0));
    CHECK(geo::initial_bearing_deg({10, 123}, {-90, 0}) == doctest::Approx(180.0));
  }

  TEST_CASE("initial_bearing_deg stays in 0..<360, also a hair west of north") {
    for (const double west_deg : {1e-9, 1e-13, 1e-15, 1e-300}) {
      const double b = geo::initial_bearing_deg({0, 0}, {10, -west_deg});
      CHECK(b >= 0.0);
      CHECK(b < 360.0);
    }
    for (const LatLon& p : sample_points()) {
      const double b = geo::initial_bearing_deg(p, {p.lat_deg + 1.0, p.lon_deg + 1.0});
      CHECK(b >= 0.0);
      CHECK(b < 360.0);
    }
  }

  TEST_CASE("destination is the inverse of distance and bearing") {
    CHECK(geo::destination({0, 0}, 90, 111'195.08023353292).lat_deg == doctest::Approx(0.0));
    CHECK(geo::destination({0, 0}, 90, 111'195.08023353292).lon_deg == doctest::Approx(1.0));
    CHECK(geo::destination({0, 0}, 0, 10'007'557.221017962).lat_deg == doctest::Approx(90.0));
    const LatLon same = geo::destination(kLondon, 37.0, 0.0);
    CHECK(same.lat_deg == doctest::Approx(kLondon.lat_deg));
    CHECK(same.lon_deg == doctest::Approx(kLondon.lon_deg));
    // Round trips from many starting points, bearings and distances (5 m to 5000 km).
    const auto pts = sample_points();
    int i = 0;
    for (const LatLon& p : pts) {
      const double bearing_deg = std::fmod(37.0 * i, 360.0);
      const double distance_m = 5.0 * std::pow(10.0, i % 7);
      const LatLon q = geo::destination(p, bearing_deg, distance_m);
      CAPTURE(p.lat_deg);
      CAPTURE(p.lon_deg);
      CAPTURE(bearing_deg);
      CHECK(q.lon_deg >= -180.0);
      CHECK(q.lon_deg < 180.0);
      CHECK(geo::great_circle_m(p, q) == doctest::Approx(distance_m).epsilon(1e-6));
      if (distance_m >= 500.0)
        CHECK(std::abs(angle_diff_deg(geo::initial_bearing_deg(p, q), bearing_deg)) < 1e-6);
      ++i;
    }
  }

  TEST_CASE("destination normalises longitude across the antimeridian and over the pole") {
    const double one_degree_m = 111'195.08023353292;
    const LatLon east = geo::destination({0, 179.5}, 90, one_degree_m);
    CHECK(east.lat_deg == doctest::Approx(0.0));
    CHECK(east.lon_deg == doctest::Approx(-179.5));
    const LatLon west = geo::destination({0, -179.5}, 270, one_degree_m);
    CHECK(west.lon_deg == doctest::Approx(179.5));
    // Over the North Pole: from 89° N on the prime meridian, 2° of arc north lands on 89° N, 180°.
    const LatLon over = geo::destination({89, 0}, 0, 2 * one_degree_m);
    CHECK(over.lat_deg == doctest::Approx(89.0));
    CHECK(std::abs(std::abs(over.lon_deg) - 180.0) < 1e-9);
    CHECK(over.lon_deg >= -180.0);
    CHECK(over.lon_deg < 180.0);
  }

  TEST_CASE("normalize_lon_deg maps any longitude into -180..<180") {
    CHECK(geo::normalize_lon_deg(0.0) == 0.0);
    CHECK(geo::normalize_lon_deg(179.75) == 179.75);
    CHECK(geo::normalize_lon_deg(-179.75) == -179.75);
    CHECK(geo::normalize_lon_deg(180.0) == -180.0);
    CHECK(geo::normalize_lon_deg(-180.0) == -180.0);
    CHECK(geo::normalize_lon_deg(190.0) == -170.0);
    CHECK(geo::normalize_lon_deg(-190.0) == 170.0);
    CHECK(geo::normalize_lon_deg(359.0) == -1.0);
    CHECK(geo::normalize_lon_deg(540.0) == -180.0);
    CHECK(geo::normalize_lon_deg(720.25) == 0.25);
    CHECK(geo::normalize_lon_deg(-720.25) == -0.25);
    for (double lon = -1000.0; lon <= 1000.0; lon += 0.37) {
      const double n = geo::normalize_lon_deg(lon);
      CHECK(n >= -180.0);
      CHECK(n < 180.0);
      CHECK(std::abs(std::remainder(n - lon, 360.0)) < 1e-9);
    }
  }
}
