// Stats: see include/aistrack/stats.hpp for the algorithm and its thresholds.
#include <aistrack/stats.hpp>

#include <GeographicLib/Constants.hpp>
#include <GeographicLib/Geodesic.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace aistrack {
namespace {

constexpr double kMetresPerNm = 1852.0;
// Most fixes with one time stamp held back for ordering (see flush_ties); a bound against floods.
constexpr std::size_t kMaxTies = 64;
constexpr double kMsPerHour = 3'600'000.0;
// Hops up to this length use the geocentric chord (see chord_to_arc_m); longer ones Inverse.
constexpr double kChordMaxM = 10'000.0;
// Mean Earth radius (IUGG), metres: the radius of the chord → arc correction.
constexpr double kMeanRadiusM = 6'371'008.8;

// Length of the arc whose chord is `chord_m` on a sphere of the mean radius: c + c³/24R² to
// third order. Over 10 km the correction is 1 mm and the local radius of curvature differs from
// the mean by at most 1.3 %, so the result agrees with the ellipsoidal geodesic to ~1e-9.
double chord_to_arc_m(double chord_m) noexcept {
  return chord_m + chord_m * chord_m * chord_m / (24.0 * kMeanRadiusM * kMeanRadiusM);
}

double metres_per_ms_to_kn(double metres, double ms) noexcept {
  return metres / kMetresPerNm / (ms / kMsPerHour);
}

bool valid_position(const LatLon& p) noexcept {
  if (!std::isfinite(p.lat_deg) || !std::isfinite(p.lon_deg)) return false;
  if (std::abs(p.lat_deg) > 90.0 || std::abs(p.lon_deg) > 180.0) return false;
  return !(p.lat_deg == 0.0 && p.lon_deg == 0.0);  // a receiver without a GNSS fix
}

bool same_optional(const std::optional<double>& a, const std::optional<double>& b) noexcept {
  if (a.has_value() != b.has_value()) return false;
  return !a || *a == *b;
}

[[noreturn]] void bad_config(const std::string& field, const std::string& allowed) {
  throw StatsError("invalid StatsConfig::" + field + ": " + allowed);
}

void validate(const StatsConfig& c) {
  if (!(std::isfinite(c.max_speed_kn) && c.max_speed_kn > 0)) bad_config("max_speed_kn", "must be > 0 knots");
  if (!(std::isfinite(c.sar_aircraft_max_speed_kn) && c.sar_aircraft_max_speed_kn > 0))
    bad_config("sar_aircraft_max_speed_kn", "must be > 0 knots");
  if (!(std::isfinite(c.jump_tolerance_m) && c.jump_tolerance_m >= 0))
    bad_config("jump_tolerance_m", "must be >= 0 metres");
  if (!(std::isfinite(c.stop_sog_kn) && c.stop_sog_kn >= 0)) bad_config("stop_sog_kn", "must be >= 0 knots");
  if (c.gap_ms <= 0) bad_config("gap_ms", "must be > 0 ms");
  if (c.duplicate_window_ms < 0) bad_config("duplicate_window_ms", "must be >= 0 ms");
}

}  // namespace

double geodesic_distance_m(LatLon a, LatLon b) {
  double s12_m = 0;
  GeographicLib::Geodesic::WGS84().Inverse(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg, s12_m);
  return s12_m;
}

namespace {
// Distance between two points whose geocentric coordinates are known, metres (see kChordMaxM).
template <class P>
double hop_m(const P& a, const P& b) {
  const double dx = a.x_m - b.x_m;
  const double dy = a.y_m - b.y_m;
  const double dz = a.z_m - b.z_m;
  const double chord_m = std::sqrt(dx * dx + dy * dy + dz * dz);
  if (chord_m <= kChordMaxM) return chord_to_arc_m(chord_m);
  return geodesic_distance_m(a.fix.latlon, b.fix.latlon);
}
}  // namespace

Stats::Stats(StatsConfig config) : config_(config) {
  validate(config_);
  run_.reserve(config_.jump_reset_fixes);
}

namespace {
// sin_cos_near's grid step, radians (about 32 km of latitude). Within half a step of a grid angle
// the Taylor series below is exact to double precision (the first omitted term is < 1e-25).
constexpr double kTrigCellsPerRad = 200.0;
}  // namespace

// sin and cos of `rad`: those of the nearest grid angle, computed once by libm and cached, rotated
// by the small remainder. A track's consecutive fixes stay in one cell for many kilometres, and two
// libm sincos calls per fix were a third of Stats' time. The result depends on `rad` alone, never
// on earlier calls, so the same fixes always give the same distance to the last bit.
void Stats::sin_cos_near(double rad, TrigCache& c, double& sin_out, double& cos_out) noexcept {
  const double cell = std::nearbyint(rad * kTrigCellsPerRad);
  if (!c.valid || cell != c.cell) {
    const double grid_rad = cell / kTrigCellsPerRad;
    c = TrigCache{cell, std::sin(grid_rad), std::cos(grid_rad), true};
  }
  const double d = rad - c.cell / kTrigCellsPerRad;
  const double d2 = d * d;
  // Products with constant reciprocals: a division is several times the latency.
  const double cos_d = 1 - d2 * 0.5 * (1 - d2 * (1.0 / 12) * (1 - d2 * (1.0 / 30)));
  const double sin_d = d * (1 - d2 * (1.0 / 6) * (1 - d2 * (1.0 / 20) * (1 - d2 * (1.0 / 42))));
  sin_out = c.sin * cos_d + c.cos * sin_d;
  cos_out = c.cos * cos_d - c.sin * sin_d;
}

Stats::Point Stats::make_point(const PositionFix& fix) {
  Point p;
  p.fix = fix;
  // Geocentric (ECEF) coordinates on the WGS84 ellipsoid, as GeographicLib::Geocentric::Forward
  // computes them at height 0 but with plain radians and sin_cos_near: this runs once per fix
  // (bench/bench_stats.cpp); the results agree to within a nanometre.
  constexpr double kDegToRad = 3.14159265358979323846 / 180.0;
  const double a_m = GeographicLib::Constants::WGS84_a();
  const double f = GeographicLib::Constants::WGS84_f();
  const double e2 = f * (2 - f);
  double sin_lat = 0, cos_lat = 1, sin_lon = 0, cos_lon = 1;
  sin_cos_near(fix.latlon.lat_deg * kDegToRad, lat_trig_, sin_lat, cos_lat);
  sin_cos_near(fix.latlon.lon_deg * kDegToRad, lon_trig_, sin_lon, cos_lon);
  const double n_m = a_m / std::sqrt(1 - e2 * sin_lat * sin_lat);  // prime vertical radius
  p.x_m = n_m * cos_lat * cos_lon;
  p.y_m = n_m * cos_lat * sin_lon;
  p.z_m = n_m * (1 - e2) * sin_lat;
  const double limit = fix.ais_type == 9 ? config_.sar_aircraft_max_speed_kn : config_.max_speed_kn;
  if (fix.sog_kn && std::isfinite(*fix.sog_kn) && *fix.sog_kn >= 0 && *fix.sog_kn <= limit)
    p.sog_kn = fix.sog_kn;
  return p;
}

double Stats::limit_kn(const Point& a, const Point& b) const noexcept {
  return a.fix.ais_type == 9 || b.fix.ais_type == 9 ? config_.sar_aircraft_max_speed_kn
                                                    : config_.max_speed_kn;
}

bool Stats::reachable(const Point& from, const Point& to, double distance_m) const noexcept {
  const double dt_h = static_cast<double>(to.fix.ts_ms - from.fix.ts_ms) / kMsPerHour;
  return distance_m <= limit_kn(from, to) * kMetresPerNm * dt_h + config_.jump_tolerance_m;
}

bool Stats::is_duplicate(const Point& p) const noexcept {
  const auto same = [&](const Point& q) {
    return std::abs(p.fix.ts_ms - q.fix.ts_ms) < config_.duplicate_window_ms &&
           p.fix.latlon == q.fix.latlon && same_optional(p.fix.sog_kn, q.fix.sog_kn) &&
           same_optional(p.fix.cog_deg, q.fix.cog_deg);
  };
  return std::any_of(recent_.begin(), recent_.end(), same) || std::any_of(run_.begin(), run_.end(), same) ||
         std::any_of(ties_.begin(), ties_.end(), same);
}

void Stats::add(const PositionFix& fix) {
  if (!valid_position(fix.latlon)) {
    ++rejected_.invalid_position;
    return;
  }
  if (newest_ms_ && fix.ts_ms < *newest_ms_) {
    if (is_duplicate(make_point(fix))) {
      ++rejected_.duplicate;  // a copy that arrived late is still a copy
    } else {
      ++rejected_.out_of_order;
    }
    return;
  }
  if (newest_ms_ && fix.ts_ms > *newest_ms_) flush_ties();
  newest_ms_ = fix.ts_ms;
  ties_.push_back(make_point(fix));
  if (ties_.size() >= kMaxTies) flush_ties();
}

void Stats::flush_ties() {
  if (ties_.empty()) return;
  std::vector<Point> group;
  group.swap(ties_);
  if (group.size() > 1 && last_) {
    // Their order is unknown: take them in the order a vessel moving away from the last
    // accepted fix passed them, nearest first.
    const auto from = [&](const Point& q) {
      const double dx = q.x_m - last_->x_m;
      const double dy = q.y_m - last_->y_m;
      const double dz = q.z_m - last_->z_m;
      return dx * dx + dy * dy + dz * dz;
    };
    std::stable_sort(group.begin(), group.end(),
                     [&](const Point& a, const Point& b) { return from(a) < from(b); });
  } else if (group.size() > 1 && group.front().fix.cog_deg) {
    // The very first time stamp: order along the reported course instead.
    constexpr double kDegToRad = 3.14159265358979323846 / 180.0;
    const Point& o = group.front();
    const double lat = o.fix.latlon.lat_deg * kDegToRad;
    const double lon = o.fix.latlon.lon_deg * kDegToRad;
    const double cog = *o.fix.cog_deg * kDegToRad;
    // Unit vector of the course in geocentric coordinates: north·cos(cog) + east·sin(cog).
    const double ux = -std::sin(lat) * std::cos(lon) * std::cos(cog) - std::sin(lon) * std::sin(cog);
    const double uy = -std::sin(lat) * std::sin(lon) * std::cos(cog) + std::cos(lon) * std::sin(cog);
    const double uz = std::cos(lat) * std::cos(cog);
    const double ox = o.x_m, oy = o.y_m, oz = o.z_m;  // `o` moves while sorting
    const auto along = [&](const Point& q) {
      return (q.x_m - ox) * ux + (q.y_m - oy) * uy + (q.z_m - oz) * uz;
    };
    std::stable_sort(group.begin(), group.end(),
                     [&](const Point& a, const Point& b) { return along(a) < along(b); });
  }
  for (const Point& p : group) process(p);
  group.clear();
  ties_.swap(group);  // keeps the capacity
}

void Stats::process(const Point& p) {
  if (is_duplicate(p)) {
    ++rejected_.duplicate;
    return;
  }
  if (!last_) {
    accept(p, false, std::nullopt);
    return;
  }
  const double d_m = hop_m(*last_, p);
  if (reachable(*last_, p, d_m)) {
    rejected_.jump += run_.size();  // the doubt is settled: those were jumps
    run_.clear();
    accept(p, false, d_m);
    return;
  }
  // A jump from the last accepted fix. Keep it while rejected fixes agree with each other.
  if (config_.jump_reset_fixes == 0) {
    ++rejected_.jump;
    return;
  }
  if (!run_.empty() && !reachable(run_.back(), p, hop_m(run_.back(), p))) {
    rejected_.jump += run_.size();
    run_.clear();
  }
  run_.push_back(p);
  if (run_.size() < config_.jump_reset_fixes) return;
  // Enough agreeing fixes: the last accepted fix was the odd one out, or the track jumps here.
  std::vector<Point> run;
  run.swap(run_);
  if (points_ == 1) {
    const RejectedCounts rejected = rejected_;
    const std::size_t resets = jump_resets_;
    const auto newest = newest_ms_;
    reset_measures();  // the tie group being processed is in flush_ties(), not in ties_
    if (accepted_out_ != nullptr && !accepted_out_->empty()) accepted_out_->pop_back();  // the lone fix
    rejected_ = rejected;
    ++rejected_.jump;
    jump_resets_ = resets;
    newest_ms_ = newest;
    for (const Point& q : run) accept(q, false, last_ ? std::optional(hop_m(*last_, q)) : std::nullopt);
  } else {
    ++jump_resets_;
    bool first = true;
    for (const Point& q : run) {
      accept(q, first, first ? std::nullopt : std::optional(hop_m(*last_, q)));
      first = false;
    }
  }
  run_.swap(run);
  run_.clear();
}

void Stats::accept(const Point& p, bool break_before, std::optional<double> distance_m) {
  if (!last_) {
    first_ms_ = p.fix.ts_ms;
  } else if (!break_before) {
    interval(*last_, p, distance_m ? *distance_m : hop_m(*last_, p));
  }
  const double lat = p.fix.latlon.lat_deg;
  const double lon = p.fix.latlon.lon_deg;
  const double lon360 = lon < 0 ? lon + 360.0 : lon;
  if (points_ == 0) {
    min_lat_deg_ = max_lat_deg_ = lat;
    min_lon_deg_ = max_lon_deg_ = lon;
    min_lon360_deg_ = max_lon360_deg_ = lon360;
  } else {
    min_lat_deg_ = std::min(min_lat_deg_, lat);
    max_lat_deg_ = std::max(max_lat_deg_, lat);
    min_lon_deg_ = std::min(min_lon_deg_, lon);
    max_lon_deg_ = std::max(max_lon_deg_, lon);
    min_lon360_deg_ = std::min(min_lon360_deg_, lon360);
    max_lon360_deg_ = std::max(max_lon360_deg_, lon360);
  }
  ++points_;
  if (p.sog_kn) {
    sog_sum_kn_ += *p.sog_kn;
    ++sog_count_;
    max_sog_kn_ = std::max(max_sog_kn_.value_or(*p.sog_kn), *p.sog_kn);
  } else {
    ++sog_unavailable_;
  }
  last_ = p;
  if (accepted_out_ != nullptr) accepted_out_->push_back(p.fix);
  // Only fixes within the duplicate window of the newest can match a later one.
  std::erase_if(recent_,
                [&](const Point& q) { return p.fix.ts_ms - q.fix.ts_ms >= config_.duplicate_window_ms; });
  if (config_.duplicate_window_ms > 0) recent_.push_back(p);
}

void Stats::interval(const Point& a, const Point& b, double distance_m) {
  const TimeMs dt_ms = b.fix.ts_ms - a.fix.ts_ms;
  distance_m_ += distance_m;
  if (dt_ms > config_.gap_ms) {
    ++gap_count_;
    gap_total_ms_ += dt_ms;
    gap_longest_ms_ = std::max(gap_longest_ms_, dt_ms);
  }
  if (dt_ms <= 0) {
    // The same time stamp: no time to weigh, but the distance was covered while moving.
    if (a.sog_kn && *a.sog_kn >= config_.stop_sog_kn) moving_distance_m_ += distance_m;
    return;
  }
  const TimeMs w_ms = std::min(dt_ms, config_.gap_ms);
  const double dt = static_cast<double>(dt_ms);
  const double w = static_cast<double>(w_ms);
  const bool moving = a.sog_kn ? *a.sog_kn >= config_.stop_sog_kn
                               : metres_per_ms_to_kn(distance_m, dt) >= config_.stop_sog_kn;
  if (moving) {
    moving_ms_ += w_ms;
    moving_distance_m_ += distance_m * w / dt;
  } else {
    stopped_ms_ += w_ms;
  }
  if (a.sog_kn) {
    sog_weighted_kn_ms_ += *a.sog_kn * w;
    sog_weight_ms_ += w_ms;
  }
}

void Stats::reset_measures() noexcept {
  last_.reset();
  ties_.clear();
  run_.clear();
  recent_.clear();
  newest_ms_.reset();
  points_ = 0;
  first_ms_ = 0;
  distance_m_ = 0;
  moving_distance_m_ = 0;
  moving_ms_ = 0;
  stopped_ms_ = 0;
  sog_weighted_kn_ms_ = 0;
  sog_weight_ms_ = 0;
  sog_sum_kn_ = 0;
  sog_count_ = 0;
  max_sog_kn_.reset();
  gap_count_ = 0;
  gap_total_ms_ = 0;
  gap_longest_ms_ = 0;
  rejected_ = RejectedCounts{};
  sog_unavailable_ = 0;
  jump_resets_ = 0;
  min_lat_deg_ = max_lat_deg_ = 0;
  min_lon_deg_ = max_lon_deg_ = 0;
  min_lon360_deg_ = max_lon360_deg_ = 0;
}

void Stats::clear() noexcept { reset_measures(); }

StatsResult Stats::result() const {
  if (!ties_.empty()) {  // the newest time stamp's fixes are still waiting for their order
    Stats settled(*this);
    settled.accepted_out_ = nullptr;
    settled.flush_ties();
    return settled.result();
  }
  StatsResult r;
  r.points = points_;
  r.rejected = rejected_;
  r.rejected.jump += run_.size();  // still in doubt at the end: never confirmed
  r.jump_resets = jump_resets_;
  r.sog_unavailable = sog_unavailable_;
  r.gaps.count = gap_count_;
  r.gaps.total_s = static_cast<double>(gap_total_ms_) / 1000.0;
  r.gaps.longest_s = static_cast<double>(gap_longest_ms_) / 1000.0;
  if (points_ == 0) return r;
  r.from_ms = first_ms_;
  r.to_ms = last_->fix.ts_ms;
  r.distance_m = distance_m_;
  r.distance_nm = distance_m_ / kMetresPerNm;
  r.moving_time_s = static_cast<double>(moving_ms_) / 1000.0;
  r.stopped_time_s = static_cast<double>(stopped_ms_) / 1000.0;
  if (sog_weight_ms_ > 0) r.avg_sog_kn = sog_weighted_kn_ms_ / static_cast<double>(sog_weight_ms_);
  if (sog_count_ > 0) r.mean_sog_kn = sog_sum_kn_ / static_cast<double>(sog_count_);
  r.max_sog_kn = max_sog_kn_;
  if (moving_ms_ > 0)
    r.avg_speed_kn = metres_per_ms_to_kn(moving_distance_m_, static_cast<double>(moving_ms_));
  TrackBounds b;
  b.min_lat_deg = min_lat_deg_;
  b.max_lat_deg = max_lat_deg_;
  if (max_lon360_deg_ - min_lon360_deg_ < max_lon_deg_ - min_lon_deg_) {
    // Narrower seen from 0..360: the track crosses the antimeridian, west edge > east edge.
    b.min_lon_deg = min_lon360_deg_ > 180.0 ? min_lon360_deg_ - 360.0 : min_lon360_deg_;
    b.max_lon_deg = max_lon360_deg_ > 180.0 ? max_lon360_deg_ - 360.0 : max_lon360_deg_;
  } else {
    b.min_lon_deg = min_lon_deg_;
    b.max_lon_deg = max_lon_deg_;
  }
  r.bbox = b;
  return r;
}

StatsResult Stats::compute(std::span<const PositionFix> track, TimeMs from_ms, TimeMs to_ms,
                           std::vector<PositionFix>* accepted) const {
  Stats s(config_);
  if (accepted != nullptr) accepted->clear();
  s.accepted_out_ = accepted;
  const auto by_time = [](const PositionFix& a, const PositionFix& b) { return a.ts_ms < b.ts_ms; };
  if (std::is_sorted(track.begin(), track.end(), by_time)) {
    // The usual case (Store::track returns time order): binary-search the window, no copy.
    const auto first = std::lower_bound(track.begin(), track.end(), from_ms,
                                        [](const PositionFix& f, TimeMs t) { return f.ts_ms < t; });
    for (auto it = first; it != track.end() && it->ts_ms <= to_ms; ++it) s.add(*it);
  } else {
    std::vector<const PositionFix*> order;
    order.reserve(track.size());
    for (const PositionFix& f : track) {
      if (f.ts_ms >= from_ms && f.ts_ms <= to_ms) order.push_back(&f);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](const PositionFix* a, const PositionFix* b) { return by_time(*a, *b); });
    for (const PositionFix* f : order) s.add(*f);
  }
  s.flush_ties();
  return s.result();
}

}  // namespace aistrack
