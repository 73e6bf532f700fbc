// Stats: distance travelled, speeds, moving/stopped time and gaps of one vessel's track over a
// time window, with the AIS traps filtered out (duplicates, impossible positions, GPS jumps,
// a second ship on the same MMSI). A pure function of its input: no clock, no I/O, no threads.
//
// The algorithm, every threshold and its default (README "## Stats" says the same):
//
//  1. Window and order. compute() keeps the fixes with from_ms <= ts_ms <= to_ms and takes them
//     in time order (a stable sort by ts_ms, skipped when already sorted), so a late-arriving
//     fix is measured where it belongs instead of giving a negative or doubled distance. add()
//     is the streaming form for callers that feed fixes as they come: a fix older than the
//     newest one already given is rejected as `out_of_order` there (compute() never has any).
//     Fixes with the same time stamp (receivers that stamp whole seconds, or every 2 s as in
//     the OpenCPN logs, put two reports on one stamp) have no known order: they are taken
//     nearest first from the last accepted fix, the order a vessel moving away passed them
//     (along the reported COG for the very first stamp); a shuffled pair would zigzag (+40 %
//     distance on the Hakefjord log). At most 64 fixes wait for their order.
//  2. Invalid position: latitude outside ±90°, longitude outside ±180°, not finite, or exactly
//     0°N 0°E (what a receiver without a GNSS fix sends) → rejected `invalid_position`.
//  3. Duplicate: the same latitude, longitude, SOG and COG as an accepted (or pending) fix less
//     than `duplicate_window_ms` (5 s) earlier — the same report heard by two stations or
//     relayed twice → rejected `duplicate`. It would add no distance but would skew mean_sog_kn.
//  4. Jump filter: a fix is accepted only if its distance from the last accepted fix is at most
//     max_speed_kn (60 kn; `sar_aircraft_max_speed_kn`, 600 kn, when either fix is a type-9
//     SAR aircraft report) × elapsed time + `jump_tolerance_m` (100 m, for position noise and
//     1-second time stamps). A rejected fix adds nothing, and the next good fix is measured
//     from the last accepted one, so one bad fix never adds distance (`jump`).
//     When `jump_reset_fixes` (3) rejected fixes in a row agree with each other (each
//     reachable from the previous one), the filter trusts them instead: if the last accepted
//     fix was the only one so far, it was the outlier and is rejected instead; otherwise the
//     track is broken there (`jump_resets`): the jump between the two parts adds neither
//     distance nor time (a second ship on the same MMSI, or a real position jump after a
//     receiver fault). Fixes still pending at the end count as `jump`.
//  5. Measures over the accepted fixes f0…fn (every interval is between two consecutive
//     accepted fixes; dt is its duration):
//     - distance_m: sum of WGS84 geodesic distances (GeographicLib). Hops up to 10 km use the
//       chord between the points' geocentric (ECEF) coordinates on the WGS84 ellipsoid plus
//       the arc correction c³/24R² (agrees with Geodesic::Inverse to < 1e-8, and all of Stats
//       costs a fifth of Inverse on every hop); longer hops use Geodesic::Inverse.
//       distance_nm = distance_m / 1852.
//     - gaps: intervals longer than `gap_ms` (10 min): count, total and longest, in seconds.
//     - each fix stands for the time until the next fix, capped at gap_ms (the weight w).
//       A fix is moving when its reported SOG >= `stop_sog_kn` (0.5 kn), or, without a usable
//       SOG, when the speed implied by the interval is; moving_time_s / stopped_time_s sum w.
//       So moving + stopped + Σ(gap − gap_ms over gaps) = to − from, less intervals broken
//       by a jump reset.
//     - avg_sog_kn: Σ sog·w / Σ w over fixes with a usable SOG (nullopt when Σ w = 0).
//     - mean_sog_kn: plain mean of the usable SOGs; max_sog_kn: their maximum. A SOG is usable
//       when reported (AIS 102.3 is already nullopt), finite, >= 0 and not above the fix's
//       speed limit of step 4; fixes without one are counted in `sog_unavailable`.
//     - avg_speed_kn: distance over moving time, both over moving intervals only; an interval
//       longer than gap_ms contributes its implied speed for gap_ms (distance × gap_ms / dt);
//       a zero-length interval (same time stamp) adds its distance when its SOG is moving.
//     - bbox: the smallest box holding every accepted fix; when the track crosses the
//       antimeridian, min_lon_deg > max_lon_deg (as RFC 7946 §5.2 does).
#pragma once

#include <aistrack/message.hpp>
#include <aistrack/types.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace aistrack {

/// A bad StatsConfig (a programmer error); what() names the field and what is allowed.
class StatsError : public Error {
 public:
  using Error::Error;
};

/// Thresholds of the Stats algorithm (see the header comment for how each is used).
struct StatsConfig {
  double max_speed_kn = 60.0;                ///< jump filter: fastest plausible ship, knots (> 0)
  double sar_aircraft_max_speed_kn = 600.0;  ///< jump filter for type-9 SAR aircraft reports, knots
  double jump_tolerance_m = 100.0;           ///< jump filter allowance for noise, metres (>= 0)
  std::size_t jump_reset_fixes = 3;          ///< agreeing rejected fixes that re-anchor the track (0: never)
  double stop_sog_kn = 0.5;                  ///< below this SOG a vessel is stopped, knots (>= 0)
  TimeMs gap_ms = 10 * 60 * 1000;            ///< a longer interval is a gap; also caps SOG weights, ms (> 0)
  TimeMs duplicate_window_ms = 5000;         ///< identical reports closer than this are duplicates, ms
};

/// Fixes left out of the measures, by reason.
struct RejectedCounts {
  std::size_t duplicate = 0;         ///< same position, SOG and COG within duplicate_window_ms
  std::size_t out_of_order = 0;      ///< add() only: older than a fix already given
  std::size_t invalid_position = 0;  ///< outside ±90/±180, not finite, or exactly 0°N 0°E
  std::size_t jump = 0;              ///< implied speed above the limit from the last accepted fix
  /// Sum of all reasons.
  [[nodiscard]] std::size_t total() const noexcept {
    return duplicate + out_of_order + invalid_position + jump;
  }
};

/// Intervals between consecutive accepted fixes longer than StatsConfig::gap_ms.
struct GapSummary {
  std::size_t count = 0;
  double total_s = 0;    ///< summed length, seconds
  double longest_s = 0;  ///< longest one, seconds (0 when none)
};

/// Bounding box of a track, degrees; min_lon_deg > max_lon_deg when it crosses the antimeridian.
struct TrackBounds {
  double min_lat_deg = 0;
  double min_lon_deg = 0;  ///< western edge
  double max_lat_deg = 0;
  double max_lon_deg = 0;  ///< eastern edge
};

/// What Stats reports for one track and window.
struct StatsResult {
  std::size_t points = 0;              ///< accepted fixes
  std::optional<TimeMs> from_ms;       ///< time of the first accepted fix (nullopt when points == 0)
  std::optional<TimeMs> to_ms;         ///< time of the last accepted fix
  double distance_m = 0;               ///< WGS84 geodesic distance over consecutive accepted fixes, metres
  double distance_nm = 0;              ///< the same in international nautical miles
  std::optional<double> avg_sog_kn;    ///< time-weighted mean of reported SOG, knots
  std::optional<double> mean_sog_kn;   ///< plain mean of reported SOG, knots
  std::optional<double> avg_speed_kn;  ///< distance over moving time, knots
  std::optional<double> max_sog_kn;    ///< highest usable reported SOG, knots
  double moving_time_s = 0;            ///< time represented by fixes with SOG >= stop_sog_kn, seconds
  double stopped_time_s = 0;           ///< time represented by the other fixes, seconds
  GapSummary gaps;
  RejectedCounts rejected;
  std::optional<TrackBounds> bbox;  ///< nullopt when points == 0
  std::size_t sog_unavailable = 0;  ///< accepted fixes without a usable SOG
  std::size_t jump_resets = 0;      ///< times the jump filter re-anchored on agreeing fixes
};

/// WGS84 geodesic distance between two points (GeographicLib Geodesic::Inverse), metres.
double geodesic_distance_m(LatLon a, LatLon b);

/// Computes StatsResult over a track. compute() is const and thread-safe; the streaming form
/// (add, result, clear) keeps state, so one Stats object must not be fed from two threads.
class Stats {
 public:
  /// Stats with the given thresholds; throws StatsError naming a field that is out of range.
  explicit Stats(StatsConfig config = {});

  /// Measures the fixes of `track` (any order) with from_ms <= ts_ms <= to_ms (ms UTC). When
  /// `accepted` is given it receives the fixes the measures used, in time order (the cleaned
  /// track; distances are not summed across a jump reset between two of them).
  [[nodiscard]] StatsResult compute(std::span<const PositionFix> track, TimeMs from_ms, TimeMs to_ms,
                                    std::vector<PositionFix>* accepted = nullptr) const;

  /// Streaming: feeds one fix; fixes should come in time order (older ones count as out_of_order).
  void add(const PositionFix& fix);
  /// Streaming: the measures over every fix given to add() since construction or clear().
  [[nodiscard]] StatsResult result() const;
  /// Streaming: forgets every fix given to add().
  void clear() noexcept;

  /// The thresholds in use.
  [[nodiscard]] const StatsConfig& config() const noexcept { return config_; }

 private:
  struct Point {
    PositionFix fix;
    double x_m = 0, y_m = 0, z_m = 0;  // geocentric (ECEF) coordinates
    std::optional<double> sog_kn;      // usable SOG only
  };
  // sin and cos of the grid angle nearest to the last angle converted (make_point).
  struct TrigCache {
    double cell = 0;  // the grid angle's index
    double sin = 0;
    double cos = 1;
    bool valid = false;
  };
  static void sin_cos_near(double rad, TrigCache& cache, double& sin_out, double& cos_out) noexcept;
  [[nodiscard]] Point make_point(const PositionFix& fix);
  [[nodiscard]] double limit_kn(const Point& a, const Point& b) const noexcept;
  [[nodiscard]] bool reachable(const Point& from, const Point& to, double distance_m) const noexcept;
  [[nodiscard]] bool is_duplicate(const Point& p) const noexcept;
  void flush_ties();
  void process(const Point& p);
  void accept(const Point& p, bool break_before, std::optional<double> distance_m);
  void interval(const Point& a, const Point& b, double distance_m);
  void reset_measures() noexcept;

  StatsConfig config_;
  // Streaming state.
  std::optional<Point> last_;  // last accepted fix
  std::vector<Point> run_;     // rejected fixes that agree with each other (the jump filter's doubt)
  std::vector<Point> recent_;  // accepted fixes within duplicate_window_ms of the newest
  std::vector<Point> ties_;    // fixes with the newest time stamp, waiting to be ordered
  std::optional<TimeMs> newest_ms_;
  std::vector<PositionFix>* accepted_out_ = nullptr;  // compute(): where accepted fixes go
  TrigCache lat_trig_;
  TrigCache lon_trig_;
  // Measures.
  std::size_t points_ = 0;
  TimeMs first_ms_ = 0;
  double distance_m_ = 0;
  double moving_distance_m_ = 0;  // over moving intervals, gap intervals scaled to gap_ms
  TimeMs moving_ms_ = 0;
  TimeMs stopped_ms_ = 0;
  double sog_weighted_kn_ms_ = 0;
  TimeMs sog_weight_ms_ = 0;
  double sog_sum_kn_ = 0;
  std::size_t sog_count_ = 0;
  std::optional<double> max_sog_kn_;
  std::size_t gap_count_ = 0;
  TimeMs gap_total_ms_ = 0;
  TimeMs gap_longest_ms_ = 0;
  RejectedCounts rejected_;
  std::size_t sog_unavailable_ = 0;
  std::size_t jump_resets_ = 0;
  double min_lat_deg_ = 0, max_lat_deg_ = 0;
  double min_lon_deg_ = 0, max_lon_deg_ = 0;        // longitudes in −180..180
  double min_lon360_deg_ = 0, max_lon360_deg_ = 0;  // the same in 0..360, for antimeridian tracks
};

}  // namespace aistrack
