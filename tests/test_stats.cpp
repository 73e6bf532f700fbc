// Stats: distance, speeds, times, gaps and the filters, on tracks built here.
#include <aistrack/geo.hpp>
#include <aistrack/stats.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace aistrack;

namespace {
constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr double kMetresPerNm = 1852.0;

PositionFix fix_at(TimeMs ts_ms, LatLon p, std::optional<double> sog_kn = std::nullopt,
                   std::optional<double> cog_deg = std::nullopt) {
  PositionFix f;
  f.ts_ms = ts_ms;
  f.latlon = p;
  f.sog_kn = sog_kn;
  f.cog_deg = cog_deg;
  f.ais_type = 1;
  return f;
}

/// A ship steaming at `sog_kn` on `course_deg`, one fix every `step_s`, `count` fixes.
std::vector<PositionFix> steady_track(LatLon start, double sog_kn, double course_deg, int step_s, int count,
                                      TimeMs t0 = kT0) {
  std::vector<PositionFix> out;
  LatLon p = start;
  for (int i = 0; i < count; ++i) {
    out.push_back(fix_at(t0 + static_cast<TimeMs>(i) * step_s * 1000, p, sog_kn, course_deg));
    p = geo::destination(p, course_deg, sog_kn * kMetresPerNm * step_s / 3600.0);
  }
  return out;
}

/// Sum of Geodesic::Inverse over consecutive fixes: the reference for distance_m.
double inverse_sum_m(const std::vector<PositionFix>& track) {
  double sum = 0;
  for (std::size_t i = 1; i < track.size(); ++i)
    sum += geodesic_distance_m(track[i - 1].latlon, track[i].latlon);
  return sum;
}

StatsResult all(const std::vector<PositionFix>& track, const StatsConfig& config = {}) {
  return Stats(config).compute(track, std::numeric_limits<TimeMs>::min(), std::numeric_limits<TimeMs>::max());
}
}  // namespace

TEST_CASE("stats: geodesic_distance_m matches GeographicLib's published JFK to LHR example") {
  // Karney, GeographicLib documentation (GeodSolve -i example): 40.6 -73.8 to 51.6 -0.5 is 5551759.400 m.
  CHECK(geodesic_distance_m(LatLon{40.6, -73.8}, LatLon{51.6, -0.5}) ==
        doctest::Approx(5'551'759.400).epsilon(1e-9));
  CHECK(geodesic_distance_m(LatLon{10, 20}, LatLon{10, 20}) == 0.0);
}

TEST_CASE("stats: a steady track gives distance speeds and times that add up") {
  // 10 kn due east from the Dutch coast, a fix every 10 s for one hour.
  const auto track = steady_track(LatLon{52.5, 4.0}, 10.0, 90.0, 10, 361);
  const StatsResult r = all(track);
  CHECK(r.points == 361);
  REQUIRE(r.from_ms);
  REQUIRE(r.to_ms);
  CHECK(*r.from_ms == kT0);
  CHECK(*r.to_ms == kT0 + 3'600'000);
  CHECK(r.distance_m == doctest::Approx(inverse_sum_m(track)).epsilon(1e-9));
  CHECK(r.distance_nm == doctest::Approx(r.distance_m / kMetresPerNm));
  // The spherical generator and the ellipsoid agree to ~0.5 %: 10 nm in one hour.
  CHECK(r.distance_nm == doctest::Approx(10.0).epsilon(0.006));
  REQUIRE(r.avg_sog_kn);
  REQUIRE(r.mean_sog_kn);
  REQUIRE(r.max_sog_kn);
  REQUIRE(r.avg_speed_kn);
  CHECK(*r.avg_sog_kn == doctest::Approx(10.0));
  CHECK(*r.mean_sog_kn == doctest::Approx(10.0));
  CHECK(*r.max_sog_kn == doctest::Approx(10.0));
  CHECK(*r.avg_speed_kn == doctest::Approx(r.distance_nm));  // one hour of moving
  CHECK(r.moving_time_s == doctest::Approx(3600.0));
  CHECK(r.stopped_time_s == 0.0);
  CHECK(r.gaps.count == 0);
  CHECK(r.rejected.total() == 0);
  CHECK(r.jump_resets == 0);
  CHECK(r.sog_unavailable == 0);
  REQUIRE(r.bbox);
  CHECK(r.bbox->min_lat_deg == doctest::Approx(52.5).epsilon(1e-4));
  CHECK(r.bbox->min_lon_deg == doctest::Approx(4.0));
  CHECK(r.bbox->max_lon_deg > 4.27);
  CHECK(r.bbox->max_lon_deg < 4.28);
}

TEST_CASE("stats: the chord shortcut agrees with Geodesic::Inverse to 1e-8 for hops up to 10 km") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> lat(-80, 80), lon(-180, 180), brg(0, 360), dist(0.5, 10'000);
  double worst = 0;
  for (int i = 0; i < 2000; ++i) {
    const LatLon a{lat(rng), lon(rng)};
    const LatLon b = geo::destination(a, brg(rng), dist(rng));
    // Far enough apart in time that the jump filter never interferes.
    const std::vector<PositionFix> pair = {fix_at(kT0, a), fix_at(kT0 + 3'600'000, b)};
    const double want = geodesic_distance_m(a, b);
    const double got = all(pair).distance_m;
    worst = std::max(worst, std::abs(got - want) / want);
  }
  MESSAGE("worst relative difference " << worst);
  CHECK(worst < 1e-8);
  // Longer hops take Geodesic::Inverse itself.
  const LatLon a{50, -5};
  const LatLon b{52, 3};
  const std::vector<PositionFix> pair = {fix_at(kT0, a), fix_at(kT0 + 24 * 3'600'000, b)};
  CHECK(all(pair).distance_m == geodesic_distance_m(a, b));
}

TEST_CASE("stats: long tracks of short hops agree with Inverse near the poles and across the antimeridian") {
  // Stats rotates sin and cos from cached grid angles (Stats::sin_cos_near); these tracks cross
  // hundreds of grid cells, pass close to a pole and cross the antimeridian and the equator.
  struct Case {
    LatLon start;
    double course_deg;
    double sog_kn;
    int step_s;
  };
  const Case cases[] = {
      {{89.2, 10}, 0, 30, 10},       // over the North Pole: longitude flips by 180 degrees
      {{-60, 179.5}, 90, 25, 2},     // eastwards across the antimeridian
      {{-1, 100}, 10, 40, 60},       // across the equator
      {{59.9, 10.7}, 200, 0.05, 2},  // millimetre hops: rounding, not series terms, dominates
      {{40, -70}, 135, 22, 120},     // 1.4 km hops over two days
  };
  for (const Case& c : cases) {
    const std::vector<PositionFix> track = steady_track(c.start, c.sog_kn, c.course_deg, c.step_s, 3000);
    const double want = inverse_sum_m(track);
    const double got = all(track).distance_m;
    CAPTURE(c.start.lat_deg);
    CAPTURE(c.course_deg);
    CHECK(got == doctest::Approx(want).epsilon(1e-8));
  }
}

TEST_CASE("stats: a track measures the same to the last bit whatever the Stats measured before") {
  // Stats caches sin and cos of grid angles between fixes; what it computes must depend on the
  // fixes alone, never on that cache's history.
  const std::vector<PositionFix> before = steady_track({-33.9, 151.2}, 15, 45, 2, 2000);
  const std::vector<PositionFix> track = steady_track({59.9, 10.7}, 12, 200, 2, 2000, kT0 + 86'400'000);
  Stats fresh;
  for (const PositionFix& f : track) fresh.add(f);
  Stats used;
  for (const PositionFix& f : before) used.add(f);
  used.clear();
  for (const PositionFix& f : track) used.add(f);
  const StatsResult a = fresh.result(), b = used.result();
  CHECK(a.points == 2000);
  CHECK(a.distance_m == b.distance_m);  // exactly, not approximately
  CHECK(a.avg_speed_kn == b.avg_speed_kn);
}

TEST_CASE("stats: fixes out of time order are measured in time order and never give negative distance") {
  const auto track = steady_track(LatLon{57.9, 11.7}, 12.0, 30.0, 5, 200);
  const StatsResult sorted = all(track);
  auto shuffled = track;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(3));
  const StatsResult r = all(shuffled);
  CHECK(r.points == sorted.points);
  CHECK(r.distance_m == doctest::Approx(sorted.distance_m).epsilon(1e-12));
  CHECK(r.rejected.out_of_order == 0);
  CHECK(r.from_ms == sorted.from_ms);

  // Streaming callers feed arrival order: an older fix is rejected, not measured backwards.
  Stats live;
  for (int i = 0; i < 10; ++i) live.add(track[static_cast<std::size_t>(i)]);
  const double before_m = live.result().distance_m;
  PositionFix again = track[9];
  again.ts_ms += 1000;  // the newest report heard again a second later
  live.add(again);
  PositionFix older = track[4];
  older.latlon.lat_deg += 0.001;  // an older, different report
  live.add(older);
  const StatsResult lr = live.result();
  CHECK(lr.rejected.out_of_order == 1);
  CHECK(lr.rejected.duplicate == 1);
  CHECK(lr.distance_m == before_m);
  CHECK(lr.points == 10);
  live.clear();
  CHECK(live.result().points == 0);
  CHECK(live.result().rejected.total() == 0);
}

TEST_CASE("stats: duplicate reports are dropped without changing distance or mean SOG") {
  auto track = steady_track(LatLon{50.0, -1.0}, 14.0, 200.0, 10, 60);
  const StatsResult clean = all(track);
  const auto original = track;
  for (std::size_t i = 0; i < original.size(); i += 3) {
    PositionFix copy = original[i];
    copy.ts_ms += 1000;  // heard again by another station a second later
    // One of them with another SOG at the same place: a new report, not a duplicate.
    if (i == 9) copy.sog_kn = 13.0;
    track.push_back(copy);
  }
  const StatsResult r = all(track);
  CHECK(r.rejected.duplicate == 19);
  CHECK(r.points == clean.points + 1);
  CHECK(r.distance_m == doctest::Approx(clean.distance_m).epsilon(1e-12));
  REQUIRE(r.mean_sog_kn);
  CHECK(*r.mean_sog_kn == doctest::Approx((60 * 14.0 + 13.0) / 61.0));
}

TEST_CASE("stats: impossible positions are rejected as invalid_position") {
  auto track = steady_track(LatLon{50.0, -1.0}, 10.0, 0.0, 10, 20);
  const StatsResult clean = all(track);
  track.push_back(fix_at(kT0 + 15'000, LatLon{91.0, -1.0}));
  track.push_back(fix_at(kT0 + 25'000, LatLon{50.0, 181.0}));
  track.push_back(fix_at(kT0 + 35'000, LatLon{std::nan(""), -1.0}));
  track.push_back(fix_at(kT0 + 45'000, LatLon{0.0, 0.0}));
  track.push_back(fix_at(kT0 + 55'000, LatLon{50.0, std::numeric_limits<double>::infinity()}));
  const StatsResult r = all(track);
  CHECK(r.rejected.invalid_position == 5);
  CHECK(r.rejected.jump == 0);
  CHECK(r.points == clean.points);
  CHECK(r.distance_m == clean.distance_m);
}

TEST_CASE("stats: one fix 100 nm off in the middle adds no distance") {
  const auto track = steady_track(LatLon{54.0, 7.0}, 15.0, 45.0, 10, 300);
  const StatsResult clean = all(track);
  auto bad = track;
  PositionFix jump = track[150];
  jump.ts_ms += 5000;
  jump.latlon = geo::destination(track[150].latlon, 90.0, 100 * kMetresPerNm);
  bad.insert(bad.begin() + 151, jump);
  const StatsResult r = all(bad);
  CHECK(r.rejected.jump == 1);
  CHECK(r.jump_resets == 0);
  CHECK(r.points == clean.points);
  CHECK(r.distance_m == doctest::Approx(clean.distance_m).epsilon(0.001));
  CHECK(r.distance_m == doctest::Approx(clean.distance_m).epsilon(1e-12));  // in fact exactly
  REQUIRE(r.bbox);
  CHECK(r.bbox->max_lon_deg == clean.bbox->max_lon_deg);  // the bad fix is not in the box either
}

TEST_CASE("stats: a bad first fix is dropped once the good fixes agree") {
  const auto track = steady_track(LatLon{54.0, 7.0}, 15.0, 45.0, 10, 50);
  const StatsResult clean = all(track);
  auto bad = track;
  bad.insert(bad.begin(), fix_at(kT0 - 10'000, LatLon{10.0, 7.0}, 15.0));
  std::vector<PositionFix> used;
  const StatsResult r = Stats().compute(bad, kT0 - 60'000, kT0 + 3'600'000, &used);
  CHECK(r.rejected.jump == 1);
  CHECK(r.jump_resets == 0);
  CHECK(r.points == clean.points);
  CHECK(r.distance_m == doctest::Approx(clean.distance_m).epsilon(1e-12));
  CHECK(r.from_ms == clean.from_ms);
  REQUIRE(used.size() == track.size());
  CHECK(used.front() == track.front());
  CHECK(used.back() == track.back());
}

TEST_CASE("stats: a second ship on the same MMSI breaks the track instead of adding the jump") {
  // Ship A for 20 fixes, then ship B 300 km away for 20 fixes: no impossible leg in the distance.
  const auto a = steady_track(LatLon{51.0, 2.0}, 12.0, 0.0, 10, 20);
  const auto b = steady_track(LatLon{53.5, 2.0}, 8.0, 180.0, 10, 20, kT0 + 200'000);
  auto both = a;
  both.insert(both.end(), b.begin(), b.end());
  std::vector<PositionFix> used;
  const StatsResult r = Stats().compute(both, kT0, kT0 + 3'600'000, &used);
  CHECK(r.jump_resets == 1);
  CHECK(r.rejected.jump == 0);
  CHECK(r.points == 40);
  CHECK(used.size() == 40);
  CHECK(r.distance_m == doctest::Approx(inverse_sum_m(a) + inverse_sum_m(b)).epsilon(1e-9));
  // Time across the break counts for nothing: 19 intervals of 10 s on each side.
  CHECK(r.moving_time_s == doctest::Approx(380.0));

  // Interleaved reports from two ships: the isolated minority fixes are rejected as jumps.
  std::vector<PositionFix> mixed = a;
  for (std::size_t i = 2; i < a.size(); i += 5) {
    PositionFix other = b[i];
    other.ts_ms = a[i].ts_ms + 3000;
    mixed.push_back(other);
  }
  const StatsResult m = all(mixed);
  CHECK(m.rejected.jump == 4);
  CHECK(m.jump_resets == 0);
  CHECK(m.distance_m == doctest::Approx(inverse_sum_m(a)).epsilon(1e-9));

  // jump_reset_fixes = 0 never re-anchors: everything after the jump is rejected.
  StatsConfig never;
  never.jump_reset_fixes = 0;
  const StatsResult n = all(both, never);
  CHECK(n.points == 20);
  CHECK(n.rejected.jump == 20);
}

TEST_CASE("stats: gaps are counted and cap the time a fix stands for") {
  // 10 fixes every 10 s, a 2-hour silence, 10 more fixes.
  auto track = steady_track(LatLon{50.0, 0.0}, 6.0, 90.0, 10, 10);
  const auto later = steady_track(geo::destination(track.back().latlon, 90.0, 6 * kMetresPerNm * 2.0), 6.0,
                                  90.0, 10, 10, track.back().ts_ms + 7'200'000);
  track.insert(track.end(), later.begin(), later.end());
  const StatsResult r = all(track);
  CHECK(r.gaps.count == 1);
  CHECK(r.gaps.total_s == doctest::Approx(7200.0));
  CHECK(r.gaps.longest_s == doctest::Approx(7200.0));
  // 18 short intervals + the gap capped at gap_ms (600 s).
  CHECK(r.moving_time_s == doctest::Approx(18 * 10.0 + 600.0));
  // moving + stopped + (gap − cap) = to − from.
  const double span_s = static_cast<double>(*r.to_ms - *r.from_ms) / 1000.0;
  CHECK(r.moving_time_s + r.stopped_time_s + (r.gaps.total_s - 600.0) == doctest::Approx(span_s));
  // The gap contributes its implied speed (6 kn), so the average stays 6 kn.
  REQUIRE(r.avg_speed_kn);
  CHECK(*r.avg_speed_kn == doctest::Approx(6.0).epsilon(0.01));
  CHECK(r.distance_nm == doctest::Approx(6.0 * (180.0 + 7200.0) / 3600.0).epsilon(0.01));

  StatsConfig longer;
  longer.gap_ms = 3 * 3'600'000;
  CHECK(all(track, longer).gaps.count == 0);
}

TEST_CASE("stats: avg_sog_kn is weighted by time while mean_sog_kn is not") {
  const LatLon p0{55.0, 10.0};
  const LatLon p1 = geo::destination(p0, 0.0, 10 * kMetresPerNm * 10.0 / 3600.0);
  const LatLon p2 = geo::destination(p1, 0.0, 10 * kMetresPerNm * 10.0 / 3600.0);
  const std::vector<PositionFix> track = {
      fix_at(kT0, p0, 0.0),            // stopped for 60 s
      fix_at(kT0 + 60'000, p0, 10.0),  // then 10 kn for 20 s
      fix_at(kT0 + 70'000, p1, 10.0),
      fix_at(kT0 + 80'000, p2, 10.0),
  };
  const StatsResult r = all(track);
  REQUIRE(r.avg_sog_kn);
  REQUIRE(r.mean_sog_kn);
  REQUIRE(r.avg_speed_kn);
  CHECK(*r.avg_sog_kn == doctest::Approx((0 * 60 + 10 * 10 + 10 * 10) / 80.0));
  CHECK(*r.mean_sog_kn == doctest::Approx(7.5));
  CHECK(r.moving_time_s == doctest::Approx(20.0));
  CHECK(r.stopped_time_s == doctest::Approx(60.0));
  CHECK(*r.avg_speed_kn == doctest::Approx(10.0).epsilon(0.01));

  // Without SOG the implied speed decides moving or stopped, and the SOG averages are unknown.
  std::vector<PositionFix> no_sog = track;
  for (auto& f : no_sog) f.sog_kn.reset();
  const StatsResult n = all(no_sog);
  CHECK_FALSE(n.avg_sog_kn);
  CHECK_FALSE(n.mean_sog_kn);
  CHECK_FALSE(n.max_sog_kn);
  CHECK(n.sog_unavailable == 4);
  CHECK(n.moving_time_s == doctest::Approx(20.0));
  CHECK(n.stopped_time_s == doctest::Approx(60.0));
}

TEST_CASE("stats: implausible SOG is ignored but the fix is kept") {
  auto track = steady_track(LatLon{50.0, 0.0}, 10.0, 90.0, 10, 10);
  track[4].sog_kn = 80.0;                                      // above the 60 kn limit
  track[5].sog_kn = -1.0;                                      // negative
  track[6].sog_kn = std::numeric_limits<double>::quiet_NaN();  // not finite
  const StatsResult r = all(track);
  CHECK(r.points == 10);
  CHECK(r.sog_unavailable == 3);
  REQUIRE(r.max_sog_kn);
  CHECK(*r.max_sog_kn == doctest::Approx(10.0));
  CHECK(*r.mean_sog_kn == doctest::Approx(10.0));
}

TEST_CASE("stats: SAR aircraft reports get the aircraft speed limit") {
  auto track = steady_track(LatLon{50.0, 0.0}, 200.0, 90.0, 10, 30);
  for (auto& f : track) f.ais_type = 9;
  const StatsResult r = all(track);
  CHECK(r.points == 30);
  CHECK(r.rejected.jump == 0);
  REQUIRE(r.max_sog_kn);
  CHECK(*r.max_sog_kn == doctest::Approx(200.0));
  for (auto& f : track) f.ais_type = 1;  // the same as a ship: nothing after the first fixes is plausible
  CHECK(all(track).rejected.jump > 0);
}

TEST_CASE("stats: a track across the antimeridian has a west edge east of its east edge") {
  const auto track = steady_track(LatLon{-17.0, 179.95}, 12.0, 90.0, 60, 30);
  const StatsResult r = all(track);
  REQUIRE(r.bbox);
  CHECK(r.bbox->min_lon_deg == doctest::Approx(179.95));
  CHECK(r.bbox->max_lon_deg < -179.9);
  CHECK(r.bbox->min_lon_deg > r.bbox->max_lon_deg);
  CHECK(r.distance_nm == doctest::Approx(12.0 * 29 / 60.0).epsilon(0.01));
}

TEST_CASE("stats: the window keeps only fixes inside it and an empty window has no measures") {
  const auto track = steady_track(LatLon{50.0, 0.0}, 10.0, 90.0, 60, 100);
  const Stats stats;
  const StatsResult r = stats.compute(track, kT0 + 10 * 60'000, kT0 + 19 * 60'000);
  CHECK(r.points == 10);
  CHECK(*r.from_ms == kT0 + 10 * 60'000);
  CHECK(*r.to_ms == kT0 + 19 * 60'000);
  CHECK(r.distance_nm == doctest::Approx(10.0 * 9 / 60.0).epsilon(0.01));

  const StatsResult none = stats.compute(track, kT0 - 10'000, kT0 - 1);
  CHECK(none.points == 0);
  CHECK_FALSE(none.from_ms);
  CHECK_FALSE(none.to_ms);
  CHECK_FALSE(none.bbox);
  CHECK_FALSE(none.avg_sog_kn);
  CHECK_FALSE(none.avg_speed_kn);
  CHECK(none.distance_m == 0.0);

  const StatsResult one = stats.compute(std::span(track).first(1), kT0, kT0);
  CHECK(one.points == 1);
  CHECK_FALSE(one.avg_sog_kn);  // no time to weigh
  REQUIRE(one.mean_sog_kn);
  CHECK(*one.mean_sog_kn == doctest::Approx(10.0));
}

TEST_CASE("stats: streaming add gives what compute gives") {
  const auto track = steady_track(LatLon{43.0, 5.0}, 9.0, 250.0, 3, 500);
  Stats live;
  for (const auto& f : track) live.add(f);
  const StatsResult a = live.result();
  const StatsResult b = live.compute(track, kT0, kT0 + 3'600'000);
  CHECK(a.points == b.points);
  CHECK(a.distance_m == b.distance_m);
  CHECK(*a.avg_sog_kn == *b.avg_sog_kn);
  CHECK(a.moving_time_s == b.moving_time_s);
}

TEST_CASE("stats: a bad configuration throws StatsError naming the field") {
  StatsConfig c;
  c.max_speed_kn = 0;
  CHECK_THROWS_WITH_AS(Stats{c}, doctest::Contains("max_speed_kn"), StatsError);
  c = StatsConfig{};
  c.gap_ms = 0;
  CHECK_THROWS_WITH_AS(Stats{c}, doctest::Contains("gap_ms"), StatsError);
  c = StatsConfig{};
  c.stop_sog_kn = -1;
  CHECK_THROWS_WITH_AS(Stats{c}, doctest::Contains("stop_sog_kn"), StatsError);
  c = StatsConfig{};
  c.jump_tolerance_m = std::nan("");
  CHECK_THROWS_AS(Stats{c}, StatsError);
  CHECK_NOTHROW(Stats{StatsConfig{}});
}

TEST_CASE("stats: reports that share a time stamp are taken in travel order") {
  // A receiver stamping every 2 s with a report every second: two reports per stamp.
  const auto truth = steady_track(LatLon{57.98, 11.74}, 5.0, 30.0, 1, 120);
  std::vector<PositionFix> stamped;
  for (std::size_t i = 0; i < truth.size(); i += 2) {
    PositionFix a = truth[i];
    PositionFix b = truth[i + 1];
    a.ts_ms = b.ts_ms = truth[i].ts_ms;
    // Stored in either order (an unstable sort, another station's relay …).
    if (i % 4 == 0) std::swap(a, b);
    stamped.push_back(a);
    stamped.push_back(b);
  }
  const StatsResult r = all(stamped);
  CHECK(r.points == truth.size());
  CHECK(r.distance_m == doctest::Approx(inverse_sum_m(truth)).epsilon(1e-9));
  REQUIRE(r.avg_speed_kn);
  CHECK(*r.avg_speed_kn == doctest::Approx(5.0).epsilon(0.02));

  // The same through the streaming form.
  Stats live;
  for (const auto& f : stamped) live.add(f);
  CHECK(live.result().distance_m == doctest::Approx(r.distance_m).epsilon(1e-12));

  // A flood on one stamp stays bounded and loses nothing.
  std::vector<PositionFix> flood;
  for (int i = 0; i < 1000; ++i) flood.push_back(fix_at(kT0, LatLon{50.0 + i * 1e-7, 1.0}, 0.0));
  const StatsResult f = all(flood);
  CHECK(f.points + f.rejected.total() == 1000);
  CHECK(f.rejected.jump == 0);
}
