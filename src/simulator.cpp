// Simulator: a fleet whose motion is a pure function of time, sampled by an event queue.
//
// Determinism rests on two choices. (1) Every random draw comes from a per-vessel generator
// (one stream for the route, one for report noise), and each vessel's draws happen in the
// order of its own simulated time, never in the order of step() calls. (2) Due messages are
// kept in a min-heap ordered by (time, vessel, kind), a total order, so the emitted sequence
// is the same whether step() is called every 100 ms or once for a whole day.
#include <aistrack/geo.hpp>
#include <aistrack/simulator.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace aistrack {
namespace {

constexpr double kDegToRad = std::numbers::pi / 180.0;
constexpr double kRadToDeg = 180.0 / std::numbers::pi;
constexpr double kMpsPerKn = geo::kMetresPerNm / 3600.0;

// ---------------------------------------------------------------------------------------------
// Random numbers. The standard distributions are implementation-defined (libstdc++ and libc++
// give different sequences), so a seed would not mean the same fleet everywhere; xoshiro256**
// with our own uniform mapping does.

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  state += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept {
    for (auto& word : s_) word = splitmix64(seed);
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [lo, hi]; the modulo bias is far below anything a test could see.
  int uniform_int(int lo, int hi) noexcept {
    return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool chance(double p) noexcept { return uniform() < p; }
  template <typename T, std::size_t N>
  const T& pick(const std::array<T, N>& items) noexcept {
    return items[static_cast<std::size_t>(uniform_int(0, static_cast<int>(N) - 1))];
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
};

// Independent streams per (seed, vessel, purpose): vessel i's route does not depend on how many
// draws vessel i-1 made, so growing the fleet keeps the first vessels' behaviour.
enum class Stream : std::uint64_t { identity = 1, route = 2, report = 3 };

Rng make_rng(std::uint64_t seed, std::size_t vessel, Stream stream) noexcept {
  std::uint64_t x = seed;
  const std::uint64_t a = splitmix64(x);
  x = a ^ (static_cast<std::uint64_t>(vessel) * 0xD1B54A32D192ED03ULL);
  const std::uint64_t b = splitmix64(x);
  x = b ^ (static_cast<std::uint64_t>(stream) * 0x8CB92BA72F3D8DD7ULL);
  return Rng(splitmix64(x));
}

// ---------------------------------------------------------------------------------------------
// Unit vectors: spherical polygon tests become sign tests of dot products, exact for
// great-circle edges and indifferent to the antimeridian.

struct Vec3 {
  double x = 0, y = 0, z = 0;
};

Vec3 operator+(Vec3 a, Vec3 b) noexcept { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
Vec3 operator*(double k, Vec3 a) noexcept { return {k * a.x, k * a.y, k * a.z}; }
double dot(Vec3 a, Vec3 b) noexcept { return a.x * b.x + a.y * b.y + a.z * b.z; }
Vec3 cross(Vec3 a, Vec3 b) noexcept {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
double norm(Vec3 a) noexcept { return std::sqrt(dot(a, a)); }
Vec3 normalized(Vec3 a) noexcept { return (1.0 / norm(a)) * a; }

Vec3 to_vec(LatLon p) noexcept {
  const double phi = p.lat_deg * kDegToRad;
  const double lambda = p.lon_deg * kDegToRad;
  return {std::cos(phi) * std::cos(lambda), std::cos(phi) * std::sin(lambda), std::sin(phi)};
}

LatLon to_latlon(Vec3 v) noexcept {
  return {std::atan2(v.z, std::hypot(v.x, v.y)) * kRadToDeg, std::atan2(v.y, v.x) * kRadToDeg};
}

// Geometry of a validated convex area: inward edge normals for clearance, and a gnomonic
// (central) projection for sampling. The gnomonic projection maps great circles to straight
// lines, so spherical convexity is planar convexity of the projected polygon.
class AreaGeometry {
 public:
  explicit AreaGeometry(const std::vector<LatLon>& polygon) {
    const std::size_t n = polygon.size();
    if (n < 3) {
      throw Error("Simulator: the sea area needs at least 3 vertices (got " + std::to_string(n) + ")");
    }
    std::vector<Vec3> v;
    v.reserve(n);
    Vec3 sum;
    for (const LatLon& p : polygon) {
      if (!std::isfinite(p.lat_deg) || !std::isfinite(p.lon_deg) || std::abs(p.lat_deg) >= 90.0) {
        throw Error("Simulator: sea area vertex out of range (lat must be within -90..90, exclusive)");
      }
      v.push_back(to_vec(p));
      sum = sum + v.back();
    }
    if (norm(sum) < 1e-9) throw Error("Simulator: the sea area is degenerate (vertices cancel out)");
    centre_ = normalized(sum);
    for (const Vec3& p : v) {
      // Half of the sphere at most, or the projection below is undefined; a sea area this big
      // is a configuration mistake anyway.
      if (dot(p, centre_) < 0.1) throw Error("Simulator: the sea area is too large (spans > ~160 degrees)");
    }
    const Vec3 up = std::abs(centre_.z) < 0.99 ? Vec3{0, 0, 1} : Vec3{1, 0, 0};
    east_ = normalized(cross(up, centre_));
    north_ = cross(centre_, east_);

    std::vector<std::pair<double, double>> xy;
    xy.reserve(n);
    for (const Vec3& p : v) xy.push_back(project(p));
    // Convex and simple: every turn goes the same way, and the turns add up to one revolution
    // (a pentagram also turns one way at every vertex, but twice around).
    int sign = 0;
    double total_turn_rad = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& a = xy[i];
      const auto& b = xy[(i + 1) % n];
      const auto& c = xy[(i + 2) % n];
      const double ux = b.first - a.first, uy = b.second - a.second;
      const double wx = c.first - b.first, wy = c.second - b.second;
      const double turn = ux * wy - uy * wx;
      const double scale = std::hypot(ux, uy) * std::hypot(wx, wy);
      if (scale <= 1e-18 || std::abs(turn) <= 1e-12 * scale) {
        throw Error(
            "Simulator: the sea area is not strictly convex (repeated or collinear vertices at index " +
            std::to_string((i + 1) % n) + ")");
      }
      const int s = turn > 0 ? 1 : -1;
      if (sign != 0 && s != sign) {
        throw Error("Simulator: the sea area is not convex (the polygon turns the other way at vertex " +
                    std::to_string((i + 1) % n) + ")");
      }
      sign = s;
      total_turn_rad += std::atan2(turn, ux * wx + uy * wy);
    }
    if (std::abs(std::abs(total_turn_rad) - 2 * std::numbers::pi) > 1e-6) {
      throw Error("Simulator: the sea area is not convex (its edges cross each other)");
    }
    for (std::size_t i = 0; i < n; ++i) {
      inward_.push_back(static_cast<double>(sign) * normalized(cross(v[i], v[(i + 1) % n])));
    }
    x_min_ = x_max_ = xy[0].first;
    y_min_ = y_max_ = xy[0].second;
    double cx = 0, cy = 0;
    for (const auto& [x, y] : xy) {
      x_min_ = std::min(x_min_, x);
      x_max_ = std::max(x_max_, x);
      y_min_ = std::min(y_min_, y);
      y_max_ = std::max(y_max_, y);
      cx += x;
      cy += y;
    }
    // The vertex mean of a convex polygon is inside it: a safe fallback point.
    inner_point_ = unproject(cx / static_cast<double>(n), cy / static_cast<double>(n));
  }

  /// Distance to the nearest edge, metres (negative outside).
  [[nodiscard]] double clearance_m(LatLon p) const noexcept {
    const Vec3 v = to_vec(p);
    double min_dot = 1.0;
    for (const Vec3& n : inward_) min_dot = std::min(min_dot, dot(n, v));
    return std::asin(std::clamp(min_dot, -1.0, 1.0)) * geo::kEarthRadiusM;
  }

  [[nodiscard]] LatLon inner_point() const noexcept { return inner_point_; }

  /// A random point at least `margin_m` from every edge (rejection sampling in the projected
  /// bounding box; the inner point if that keeps failing, which only a sliver-shaped area does).
  LatLon sample(Rng& rng, double margin_m) const noexcept {
    for (int attempt = 0; attempt < 1000; ++attempt) {
      const LatLon p = unproject(rng.uniform(x_min_, x_max_), rng.uniform(y_min_, y_max_));
      if (clearance_m(p) >= margin_m) return p;
    }
    return inner_point_;
  }

 private:
  [[nodiscard]] std::pair<double, double> project(Vec3 v) const noexcept {
    const double k = 1.0 / dot(v, centre_);
    return {k * dot(v, east_), k * dot(v, north_)};
  }
  [[nodiscard]] LatLon unproject(double x, double y) const noexcept {
    return to_latlon(normalized(centre_ + x * east_ + y * north_));
  }

  Vec3 centre_, east_, north_;
  std::vector<Vec3> inward_;
  double x_min_ = 0, x_max_ = 0, y_min_ = 0, y_max_ = 0;
  LatLon inner_point_;
};

// ---------------------------------------------------------------------------------------------
// Reporting intervals of ITU-R M.1371-5, Annex 1 §4.2.1 (Table 1 for class A; the class B "CS"
// rows of Table 2). docs/SIMULATOR.md lists them.

constexpr TimeMs kStaticIntervalMs = 6 * 60'000;  // static and voyage data: every 6 min
constexpr TimeMs kSlowIntervalMs = 3 * 60'000;    // anchored/moored class A, slow class B

TimeMs class_a_interval_ms(NavStatus status, double sog_kn, bool changing_course) noexcept {
  if ((status == NavStatus::at_anchor || status == NavStatus::moored) && sog_kn <= 3.0)
    return kSlowIntervalMs;
  if (sog_kn > 23.0) return 2'000;
  if (sog_kn > 14.0) return changing_course ? 2'000 : 6'000;
  return changing_course ? 3'333 : 10'000;  // 3⅓ s, truncated to whole milliseconds
}

TimeMs class_b_interval_ms(double sog_kn) noexcept { return sog_kn > 2.0 ? 30'000 : kSlowIntervalMs; }

// ---------------------------------------------------------------------------------------------
// Field resolutions of messages 1 and 18, so a simulated report holds exactly the values a
// decoder would produce from the bits.

// Latitude and longitude are sent in 1/10000 minute.
double quantize_coord_deg(double deg) noexcept { return std::round(deg * 600'000.0) / 600'000.0; }
double quantize_sog_kn(double kn) noexcept { return std::round(std::max(kn, 0.0) * 10.0) / 10.0; }

double quantize_cog_deg(double deg) noexcept {
  const long tenths = std::lround(deg * 10.0) % 3600;
  return static_cast<double>(tenths < 0 ? tenths + 3600 : tenths) / 10.0;
}

std::uint16_t quantize_heading_deg(double deg) noexcept {
  const long whole = std::lround(deg) % 360;
  return static_cast<std::uint16_t>(whole < 0 ? whole + 360 : whole);
}

// ROT_AIS = 4.733·sqrt(ROT) rounded, at most 126 (127 means "no turn indicator"); the decoder
// squares it back. Reporting the round trip keeps simulated and decoded values identical.
double quantize_rot_deg_min(double rot_deg_min) noexcept {
  const double raw = std::min(std::round(4.733 * std::sqrt(std::abs(rot_deg_min))), 126.0);
  const double back = (raw / 4.733) * (raw / 4.733);
  return rot_deg_min < 0 ? -back : back;
}

double wrap360(double deg) noexcept {
  const double r = std::fmod(deg, 360.0);
  return r < 0 ? r + 360.0 : r;
}

std::uint8_t utc_second_of(TimeMs ts_ms) noexcept {
  const TimeMs in_minute = ((ts_ms % 60'000) + 60'000) % 60'000;
  return static_cast<std::uint8_t>(in_minute / 1000);
}

// Inverse of days_from_civil (Howard Hinnant's civil_from_days), for the ETA's month and day.
void civil_from_days(std::int64_t z, unsigned& month, unsigned& day) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
}

Eta eta_at(TimeMs ts_ms) noexcept {
  const TimeMs day_ms = 86'400'000;
  const std::int64_t days = ts_ms >= 0 ? ts_ms / day_ms : -((-ts_ms + day_ms - 1) / day_ms);
  const TimeMs in_day = ts_ms - days * day_ms;
  unsigned month = 1, day = 1;
  civil_from_days(days, month, day);
  return Eta{static_cast<std::uint8_t>(month), static_cast<std::uint8_t>(day),
             static_cast<std::uint8_t>(in_day / 3'600'000), static_cast<std::uint8_t>(in_day / 60'000 % 60)};
}

// ---------------------------------------------------------------------------------------------
// Fleet make-up. A fixed 20-slot pattern (rather than random draws) guarantees every kind of
// vessel and every reporting regime is present in the default fleet of 20, and in small fleets
// the first slots already mix classes and states.

enum class Role : std::uint8_t {
  cargo,
  tanker,
  cargo_at_anchor,
  tanker_at_anchor,
  cargo_moored,
  tanker_moored,
  leisure,
  leisure_at_anchor
};

constexpr std::array<Role, 20> kRolePattern = {
    Role::cargo,  Role::leisure,           Role::tanker,        Role::cargo_at_anchor,
    Role::cargo,  Role::leisure,           Role::tanker_moored, Role::tanker,
    Role::cargo,  Role::leisure_at_anchor, Role::cargo,         Role::leisure,
    Role::tanker, Role::tanker_at_anchor,  Role::cargo,         Role::leisure,
    Role::cargo,  Role::leisure,           Role::tanker,        Role::cargo_moored};

bool is_tanker(Role r) noexcept {
  return r == Role::tanker || r == Role::tanker_at_anchor || r == Role::tanker_moored;
}
bool is_leisure(Role r) noexcept { return r == Role::leisure || r == Role::leisure_at_anchor; }

NavStatus behaviour_of(Role r) noexcept {
  switch (r) {
    case Role::cargo_at_anchor:
    case Role::tanker_at_anchor:
    case Role::leisure_at_anchor: return NavStatus::at_anchor;
    case Role::cargo_moored:
    case Role::tanker_moored: return NavStatus::moored;
    default: return NavStatus::under_way_using_engine;
  }
}

// Flags of the North Sea states: MID (ITU Maritime Identification Digits) and call-sign prefixes.
struct Flag {
  std::uint32_t mid;
  std::array<std::string_view, 3> callsign_prefixes;
};

constexpr std::array<Flag, 5> kFlags = {{
    {244, {"PB", "PC", "PD"}},  // Netherlands
    {219, {"OU", "OW", "OZ"}},  // Denmark
    {211, {"DA", "DF", "DH"}},  // Germany
    {235, {"MA", "2E", "GB"}},  // United Kingdom
    {257, {"LA", "LF", "LK"}},  // Norway
}};

constexpr std::array<std::string_view, 16> kNamePlaces = {
    "NORDIC", "BALTIC", "ELBE",   "RHINE", "DOGGER", "FRISIAN", "JUTLAND", "HUMBER",
    "SKAGEN", "THAMES", "AMSTEL", "WESER", "HANSA",  "VIKING",  "POLAR",   "TEXEL"};
constexpr std::array<std::string_view, 8> kCargoNouns = {"TRADER",  "CARRIER", "EXPRESS", "PIONEER",
                                                         "VENTURE", "BRIDGE",  "STAR",    "FREIGHTER"};
constexpr std::array<std::string_view, 8> kTankerNouns = {"SPIRIT", "PROGRESS", "GLORY",  "FORTUNE",
                                                          "SUN",    "PRIDE",    "ENERGY", "CHALLENGER"};
constexpr std::array<std::string_view, 16> kLeisureNames = {
    "SEA BREEZE", "WINDSONG",   "ZEEMEEUW",   "BLUE HERON", "STORMVOGEL", "AURORA", "HALCYON", "NORDLYS",
    "WILD GOOSE", "MOONSHADOW", "LADY GRACE", "SKYLARK",    "ALBATROS",   "KOMPAS", "SEAWIND", "FREYA"};
// UN/LOCODEs of North Sea ports, written the way crews type them into the AIS.
constexpr std::array<std::string_view, 12> kDestinations = {"NL RTM", "DE HAM", "DE BRV", "BE ANR",
                                                            "GB IMM", "DK EBJ", "NO SVG", "GB HUL",
                                                            "DE WVN", "NL AMS", "GB TEE", "NO BGO"};

/// IMO number 7xxxxxN..9xxxxxN (ships built since the 1970s): the check digit N is the sum of
/// the first six digits weighted 7..2, mod 10.
std::uint32_t make_imo(Rng& rng) noexcept {
  const auto body = static_cast<std::uint32_t>(rng.uniform_int(700'000, 999'999));
  std::uint32_t sum = 0;
  std::uint32_t rest = body;
  for (std::uint32_t weight = 2; weight <= 7; ++weight, rest /= 10) sum += (rest % 10) * weight;
  return body * 10 + sum % 10;
}

// ---------------------------------------------------------------------------------------------
// Motion: a vessel under way alternates great-circle legs and constant-rate turns. Each segment
// knows its start time and state, so the kinematics at any time inside it is a closed formula.

struct Segment {
  bool turn = false;
  double t0_ms = 0;
  double t1_ms = 0;
  LatLon start;
  double speed_mps = 0;
  // Leg: great circle from `start` to `end`.
  LatLon end;
  double bearing0_deg = 0;
  double final_bearing_deg = 0;
  double length_m = 0;
  // Turn: heading changes from heading0_deg by turn_deg (signed, + = starboard) at rate_deg_s.
  double heading0_deg = 0;
  double turn_deg = 0;
  double rate_deg_s = 0;
};

struct Kinematics {
  LatLon pos;
  double course_deg = 0;
  double rot_deg_min = 0;
  bool turning = false;
};

// Position after `dt_s` seconds on the turning circle. A local flat-Earth arc is exact to well
// under a millimetre at turning-circle sizes (a few km at most).
LatLon turn_position(const Segment& s, double dt_s) noexcept {
  const double omega = s.rate_deg_s * kDegToRad;
  const double sign = s.turn_deg < 0 ? -1.0 : 1.0;
  const double h0 = s.heading0_deg * kDegToRad;
  const double h = h0 + sign * omega * dt_s;
  const double radius_m = s.speed_mps / omega;
  const double north_m = sign * radius_m * (std::sin(h) - std::sin(h0));
  const double east_m = sign * radius_m * (std::cos(h0) - std::cos(h));
  const double dist_m = std::hypot(north_m, east_m);
  if (dist_m == 0.0) return s.start;
  return geo::destination(s.start, std::atan2(east_m, north_m) * kRadToDeg, dist_m);
}

double wrap180(double deg) noexcept {
  const double r = wrap360(deg);
  return r > 180.0 ? r - 360.0 : r;
}

struct VesselState {
  SimVessel info;
  StaticData voyage;  // everything type 5 carries (class B sends subsets in 24A/24B)
  bool accuracy_high = false;
  bool raim = false;
  bool has_heading = true;
  TimeMs part_b_delay_ms = 0;
  Rng route_rng{0};
  Rng report_rng{0};
  // Under way.
  double turn_rate_deg_s = 0;
  double min_leg_m = 0;
  double max_leg_m = 0;
  double leg_speed_kn = 0;
  double drift_deg = 0;  // heading − course: leeway and current set, drawn per leg
  Segment seg;
  std::optional<LatLon> pending_target;
  // Stationary.
  LatLon berth;
  double base_heading_deg = 0;
  double swing_amp_deg = 0;
  double swing_period_ms = 1;
  double swing_phase_rad = 0;
};

enum class EventKind : std::uint8_t { position = 0, static_a = 1, static_b = 2 };

struct Event {
  TimeMs ts_ms;
  std::uint32_t vessel;
  EventKind kind;
};

// Min-heap order: earliest first, then by vessel and kind, so ties are broken the same way on
// every run and the emitted sequence is a total order.
struct EventLater {
  bool operator()(const Event& a, const Event& b) const noexcept {
    if (a.ts_ms != b.ts_ms) return a.ts_ms > b.ts_ms;
    if (a.vessel != b.vessel) return a.vessel > b.vessel;
    return a.kind > b.kind;
  }
};

// Worst-case excursion of a turn is the turning-circle diameter; waypoints keep this much
// (plus GNSS jitter) from the edges so turns and jitter never leave the area.
constexpr double kGnssJitterM = 3.0;
constexpr double kDesiredMarginM = 6'000.0;
constexpr std::size_t kMaxNameChars = 20;  // AIS name field: 20 six-bit characters
// Bounds the MMSI space used (5 MIDs × 10^6 numbers) so unique MMSIs are always found quickly.
constexpr std::size_t kMaxVessels = 1'000'000;

}  // namespace

// ---------------------------------------------------------------------------------------------

SeaArea SeaArea::north_sea() {
  // Counter-clockwise (lat, lon). Chosen to keep ≥ 20 km from land: the Holderness coast is at
  // ~0° E, the West/East Frisian islands reach 53.5–53.6° N west of 6.8° E (Borkum 53.6° N,
  // 6.7° E), Helgoland is at 7.9° E and the Danish coast at 8.1° E; the south-east corner is cut
  // so the edge passes well north of Rottumeroog and Borkum.
  return SeaArea{"North Sea (central/southern)",
                 {{53.80, 1.50}, {53.75, 6.30}, {54.10, 6.80}, {56.50, 6.80}, {56.50, 1.50}}};
}

bool SeaArea::contains(LatLon p) const noexcept {
  // For a convex polygon with great-circle edges, p is inside when it is on the same side of
  // every edge's plane. Checking both signs makes the winding order irrelevant; the hemisphere
  // check rejects the antipodal copy of the polygon, which passes the same sign test.
  const std::size_t n = polygon.size();
  if (n < 3) return false;
  const Vec3 v = to_vec(p);
  Vec3 sum;
  for (const LatLon& q : polygon) sum = sum + to_vec(q);
  if (dot(sum, v) <= 0) return false;
  bool left = false;
  bool right = false;
  for (std::size_t i = 0; i < n; ++i) {
    const double side = dot(cross(to_vec(polygon[i]), to_vec(polygon[(i + 1) % n])), v);
    left = left || side > 0;
    right = right || side < 0;
  }
  return !(left && right);
}

struct Simulator::Impl {
  SimConfig config;
  AreaGeometry area;
  double margin_m = 0;
  std::vector<SimVessel> fleet;
  std::vector<VesselState> states;
  std::priority_queue<Event, std::vector<Event>, EventLater> queue;
  TimeMs last_now_ms = std::numeric_limits<TimeMs>::min();

  explicit Impl(SimConfig cfg) : config(std::move(cfg)), area(config.area.polygon) {
    if (config.vessels > kMaxVessels) {
      throw Error("Simulator: SimConfig::vessels must be at most " + std::to_string(kMaxVessels) + " (got " +
                  std::to_string(config.vessels) + ")");
    }
    // Small user areas get a smaller margin (and vessels turn tighter to match, see below).
    margin_m = std::min(kDesiredMarginM, 0.4 * area.clearance_m(area.inner_point()));
    build_fleet();
  }

  void build_fleet() {
    std::unordered_set<Mmsi> mmsis;
    std::unordered_set<std::string> names;
    std::unordered_set<std::string> callsigns;
    std::unordered_set<std::uint32_t> imos;
    fleet.reserve(config.vessels);
    states.reserve(config.vessels);
    std::size_t class_a_under_way = 0;
    for (std::size_t i = 0; i < config.vessels; ++i) {
      const Role role = kRolePattern[i % kRolePattern.size()];
      Rng rng = make_rng(config.seed, i, Stream::identity);
      VesselState v;
      v.route_rng = make_rng(config.seed, i, Stream::route);
      v.report_rng = make_rng(config.seed, i, Stream::report);
      SimVessel& info = v.info;
      const bool leisure = is_leisure(role);
      info.station = leisure ? StationClass::class_b : StationClass::class_a;
      info.behaviour = behaviour_of(role);
      const bool under_way = info.behaviour == NavStatus::under_way_using_engine;

      const Flag& flag = rng.pick(kFlags);
      do {
        info.mmsi = flag.mid * 1'000'000U + static_cast<Mmsi>(rng.uniform_int(0, 999'999));
      } while (!mmsis.insert(info.mmsi).second);

      std::string name;
      for (int attempt = 0;; ++attempt) {
        name = leisure ? std::string(rng.pick(kLeisureNames))
                       : std::string(rng.pick(kNamePlaces)) + " " +
                             std::string(is_tanker(role) ? rng.pick(kTankerNouns) : rng.pick(kCargoNouns));
        if (attempt >= 8) {
          // Big fleets run out of word combinations: number them, keeping AIS's 20 characters.
          const std::string suffix = " " + std::to_string(attempt - 6);
          name = name.substr(0, kMaxNameChars - suffix.size()) + suffix;
        }
        if (names.insert(name).second) break;
      }
      info.name = name;

      // Call signs and IMO numbers are only made unique on a best-effort basis (bounded retries):
      // a fleet of hundreds of thousands may repeat one, as real registries occasionally do.
      std::string callsign;
      for (int attempt = 0; attempt < 100; ++attempt) {
        callsign = std::string(rng.pick(flag.callsign_prefixes));
        if (leisure) {
          for (int k = 0; k < 4; ++k) callsign += static_cast<char>('0' + rng.uniform_int(0, 9));
        } else {
          for (int k = 0; k < 2; ++k) callsign += static_cast<char>('A' + rng.uniform_int(0, 25));
          callsign += static_cast<char>('2' + rng.uniform_int(0, 7));
        }
        if (callsigns.insert(callsign).second) break;
      }

      Dimensions dim;
      if (leisure) {
        info.ship_type =
            ShipType{static_cast<std::uint8_t>(rng.chance(0.5) ? 36 : 37)};  // sailing / pleasure
        const int length_m = rng.uniform_int(7, 16);
        const int beam_m = std::clamp(length_m / 3, 2, 5);
        dim = {static_cast<std::uint16_t>(length_m / 2), static_cast<std::uint16_t>(length_m - length_m / 2),
               static_cast<std::uint8_t>(beam_m / 2), static_cast<std::uint8_t>(beam_m - beam_m / 2)};
      } else {
        // 70 cargo / 80 tanker, sometimes with a hazardous-category digit.
        const int base = is_tanker(role) ? 80 : 70;
        info.ship_type =
            ShipType{static_cast<std::uint8_t>(base + (rng.chance(0.3) ? rng.uniform_int(1, 4) : 0))};
        const int length_m = is_tanker(role) ? rng.uniform_int(100, 250) : rng.uniform_int(90, 200);
        const int beam_m = std::clamp(length_m / 6, 14, 44);
        // Class A GNSS antennas sit near the bridge, which is aft on cargo ships and tankers.
        const int stern_m = static_cast<int>(std::lround(length_m * rng.uniform(0.10, 0.20)));
        dim = {static_cast<std::uint16_t>(length_m - stern_m), static_cast<std::uint16_t>(stern_m),
               static_cast<std::uint8_t>(beam_m / 2), static_cast<std::uint8_t>(beam_m - beam_m / 2)};
      }

      v.voyage.name = info.name;
      v.voyage.callsign = callsign;
      v.voyage.ship_type = info.ship_type;
      v.voyage.dimensions = dim;
      if (!leisure) {
        for (int attempt = 0; attempt < 100; ++attempt) {
          v.voyage.imo = make_imo(rng);
          if (imos.insert(*v.voyage.imo).second) break;
        }
        v.voyage.destination =
            under_way ? std::string(rng.pick(kDestinations))
                      : (rng.chance(0.5) ? std::string("FOR ORDERS") : std::string(rng.pick(kDestinations)));
        v.voyage.eta = eta_at(config.start_ms + static_cast<TimeMs>(rng.uniform(6.0, 72.0) * 3'600'000.0));
        const double draught_m = is_tanker(role) ? rng.uniform(6.0, 14.5) : rng.uniform(5.0, 10.5);
        v.voyage.draught_m = std::round(draught_m * 10.0) / 10.0;
      }
      v.accuracy_high = leisure ? rng.chance(0.2) : rng.chance(0.6);
      v.raim = leisure ? false : rng.chance(0.4);
      v.has_heading = leisure ? rng.chance(0.3) : true;  // most class B sets have no heading sensor
      v.part_b_delay_ms = static_cast<TimeMs>(rng.uniform_int(2'000, 30'000));  // 24B within 1 min of 24A

      if (under_way) {
        // Class A speeds alternate between the 0–14 kn and 14–23 kn reporting bands and keep
        // clear of the 14 kn boundary even with per-leg and per-report variation (±0.45 kn).
        if (leisure) {
          info.cruise_sog_kn = rng.uniform(4.5, 7.5);
        } else {
          info.cruise_sog_kn = class_a_under_way % 2 == 0 ? rng.uniform(10.5, 13.4) : rng.uniform(14.6, 19.4);
          ++class_a_under_way;
        }
        // Realistic rates of turn: ships 15–30 °/min, yachts 60–120 °/min.
        const double rate_deg_min = leisure ? rng.uniform(60.0, 120.0) : rng.uniform(15.0, 30.0);
        v.turn_rate_deg_s = rate_deg_min / 60.0;
        const double max_speed_mps = (info.cruise_sog_kn + 0.3) * kMpsPerKn;
        const double usable_m = std::max(margin_m - 2 * kGnssJitterM, 1.0);
        // Tighten the turn if the turning circle would not fit inside the margin (tiny areas).
        v.turn_rate_deg_s = std::max(v.turn_rate_deg_s, 2.0 * max_speed_mps / usable_m * kRadToDeg);
        const double radius_m = max_speed_mps / (v.turn_rate_deg_s * kDegToRad);
        // Legs longer than the turning circle keep the next waypoint reachable after a turn.
        v.min_leg_m = std::max(leisure ? 3'000.0 : 15'000.0, 6.0 * radius_m);
        v.max_leg_m = std::max(leisure ? 25'000.0 : 90'000.0, 2.0 * v.min_leg_m);
        const LatLon from = area.sample(v.route_rng, margin_m);
        start_leg(v, from, static_cast<double>(config.start_ms), pick_waypoint(v, from));
      } else {
        v.berth = area.sample(v.route_rng, margin_m);
        v.base_heading_deg = rng.uniform(0.0, 360.0);
        if (info.behaviour == NavStatus::at_anchor) {
          // Swinging to wind and tide: a slow oscillation of the heading about the anchor.
          v.swing_amp_deg = rng.uniform(5.0, 20.0);
          v.swing_period_ms = rng.uniform(20.0, 60.0) * 60'000.0;
          v.swing_phase_rad = rng.uniform(0.0, 2 * std::numbers::pi);
        }
      }

      // Stagger: the first reports fall anywhere in the vessel's first reporting interval.
      const TimeMs nominal_ms = leisure ? class_b_interval_ms(info.cruise_sog_kn)
                                        : class_a_interval_ms(info.behaviour, info.cruise_sog_kn, false);
      const auto index = static_cast<std::uint32_t>(i);
      queue.push({config.start_ms + static_cast<TimeMs>(rng.uniform() * static_cast<double>(nominal_ms)),
                  index, EventKind::position});
      const TimeMs static_ms = config.start_ms + static_cast<TimeMs>(rng.uniform() * kStaticIntervalMs);
      queue.push({static_ms, index, EventKind::static_a});
      if (leisure) queue.push({static_ms + v.part_b_delay_ms, index, EventKind::static_b});

      fleet.push_back(info);
      states.push_back(std::move(v));
    }
  }

  // Random waypoint whose distance from `from` is within the vessel's leg range; the closest
  // miss after a bounded number of tries (only a very small or thin area gets there).
  LatLon pick_waypoint(VesselState& v, LatLon from) {
    LatLon best = area.inner_point();
    double best_miss_m = std::numeric_limits<double>::infinity();
    for (int attempt = 0; attempt < 200; ++attempt) {
      const LatLon p = area.sample(v.route_rng, margin_m);
      const double d = geo::great_circle_m(from, p);
      const double miss_m = d < v.min_leg_m ? v.min_leg_m - d : std::max(0.0, d - v.max_leg_m);
      if (miss_m == 0.0) return p;
      if (miss_m < best_miss_m) {
        best_miss_m = miss_m;
        best = p;
      }
    }
    return best;
  }

  void start_leg(VesselState& v, LatLon from, double t0_ms, LatLon to) {
    v.leg_speed_kn = v.info.cruise_sog_kn + v.route_rng.uniform(-0.3, 0.3);
    v.drift_deg = v.info.station == StationClass::class_a ? v.route_rng.uniform(-3.0, 3.0)
                                                          : v.route_rng.uniform(-5.0, 5.0);
    Segment s;
    s.turn = false;
    s.t0_ms = t0_ms;
    s.start = from;
    s.end = to;
    s.speed_mps = v.leg_speed_kn * kMpsPerKn;
    s.length_m = geo::great_circle_m(from, to);
    s.bearing0_deg = geo::initial_bearing_deg(from, to);
    s.final_bearing_deg = wrap360(geo::initial_bearing_deg(to, from) + 180.0);
    // At least 1 ms, so a degenerate (zero-length) leg can never stall the segment loop.
    s.t1_ms = t0_ms + std::max(1.0, s.length_m / s.speed_mps * 1000.0);
    v.seg = s;
  }

  // The segment after the current one: a leg ends in a turn towards a new waypoint (drawn now,
  // in simulated time), a turn ends in the leg to that waypoint.
  void next_segment(VesselState& v) {
    const Segment done = v.seg;
    if (done.turn) {
      const LatLon target = v.pending_target.value_or(area.inner_point());
      v.pending_target.reset();
      start_leg(v, turn_position(done, (done.t1_ms - done.t0_ms) / 1000.0), done.t1_ms, target);
      return;
    }
    const LatLon at = done.end;
    const double heading_in_deg = done.final_bearing_deg;
    const LatLon target = pick_waypoint(v, at);
    double delta_deg = wrap180(geo::initial_bearing_deg(at, target) - heading_in_deg);
    if (std::abs(delta_deg) < 0.5) {
      start_leg(v, at, done.t1_ms, target);
      return;
    }
    Segment turn;
    turn.turn = true;
    turn.t0_ms = done.t1_ms;
    turn.start = at;
    turn.speed_mps = done.speed_mps;
    turn.heading0_deg = heading_in_deg;
    turn.rate_deg_s = v.turn_rate_deg_s;
    // The ship moves while it turns, so the bearing to the waypoint from the end of the turn
    // differs from the bearing at its start; a few fixed-point steps make the turn end pointing
    // at the waypoint (the turning direction chosen first is kept).
    const double sign = delta_deg < 0 ? -1.0 : 1.0;
    for (int iteration = 0; iteration < 4; ++iteration) {
      turn.turn_deg = delta_deg;
      const LatLon end = turn_position(turn, std::abs(delta_deg) / turn.rate_deg_s);
      delta_deg = sign * wrap360(sign * (geo::initial_bearing_deg(end, target) - heading_in_deg));
    }
    turn.turn_deg = delta_deg;
    turn.t1_ms = turn.t0_ms + std::max(1.0, std::abs(delta_deg) / turn.rate_deg_s * 1000.0);
    v.seg = turn;
    v.pending_target = target;
  }

  Kinematics kinematics_under_way(VesselState& v, TimeMs ts_ms) {
    const auto t_ms = static_cast<double>(ts_ms);
    while (t_ms >= v.seg.t1_ms) next_segment(v);
    const Segment& s = v.seg;
    Kinematics k;
    if (s.turn) {
      const double dt_s = (t_ms - s.t0_ms) / 1000.0;
      const double sign = s.turn_deg < 0 ? -1.0 : 1.0;
      k.pos = turn_position(s, dt_s);
      k.course_deg = wrap360(s.heading0_deg + sign * s.rate_deg_s * dt_s);
      k.rot_deg_min = sign * s.rate_deg_s * 60.0;
      k.turning = true;
    } else {
      const double frac = std::clamp((t_ms - s.t0_ms) / (s.t1_ms - s.t0_ms), 0.0, 1.0);
      const double travelled_m = frac * s.length_m;
      k.pos = geo::destination(s.start, s.bearing0_deg, travelled_m);
      // The bearing to the end point is ill-conditioned in the last metres; the arrival course
      // is the same thing there.
      k.course_deg =
          s.length_m - travelled_m > 10.0 ? geo::initial_bearing_deg(k.pos, s.end) : s.final_bearing_deg;
    }
    return k;
  }

  LatLon jitter(VesselState& v, LatLon p) {
    // Uniform in a disc of kGnssJitterM: the fix noise of a GNSS receiver at rest or under way.
    const double r_m = kGnssJitterM * std::sqrt(v.report_rng.uniform());
    const double bearing_deg = v.report_rng.uniform(0.0, 360.0);
    const LatLon q = geo::destination(p, bearing_deg, r_m);
    // Rounding can carry 179.99999° E up to 180°, which is spelled −180° here.
    return {quantize_coord_deg(q.lat_deg), geo::normalize_lon_deg(quantize_coord_deg(q.lon_deg))};
  }

  // One position report at `ts_ms`; returns when the next one is due.
  TimeMs emit_position(std::uint32_t index, TimeMs ts_ms, std::vector<Message>& out) {
    VesselState& v = states[index];
    const SimVessel& info = v.info;
    const bool class_a = info.station == StationClass::class_a;
    PositionReport p;
    bool changing_course = false;
    double heading_deg = 0;
    if (info.behaviour == NavStatus::under_way_using_engine) {
      const Kinematics k = kinematics_under_way(v, ts_ms);
      p.latlon = jitter(v, k.pos);
      p.sog_kn = quantize_sog_kn(v.leg_speed_kn + v.report_rng.uniform(-0.15, 0.15));
      p.cog_deg = quantize_cog_deg(k.course_deg + v.report_rng.uniform(-0.5, 0.5));
      heading_deg = k.course_deg + v.drift_deg + v.report_rng.uniform(-0.5, 0.5);
      if (class_a) p.rot_deg_min = quantize_rot_deg_min(k.rot_deg_min);
      changing_course = k.turning;
    } else {
      p.latlon = jitter(v, v.berth);
      // Stationary GNSS: speed a few tenths at most, course meaningless noise.
      const double max_sog_kn = info.behaviour == NavStatus::moored ? 0.05 : (class_a ? 0.2 : 0.3);
      p.sog_kn = quantize_sog_kn(v.report_rng.uniform(0.0, max_sog_kn));
      p.cog_deg = quantize_cog_deg(v.report_rng.uniform(0.0, 360.0));
      const double phase_rad =
          2 * std::numbers::pi * static_cast<double>(ts_ms - config.start_ms) / v.swing_period_ms;
      heading_deg = v.base_heading_deg + v.swing_amp_deg * std::sin(phase_rad + v.swing_phase_rad);
      if (class_a) {
        const double swing_rate_deg_min = v.swing_amp_deg * 2 * std::numbers::pi /
                                          (v.swing_period_ms / 60'000.0) *
                                          std::cos(phase_rad + v.swing_phase_rad);
        p.rot_deg_min = quantize_rot_deg_min(swing_rate_deg_min);
      }
    }
    if (v.has_heading) p.heading_deg = quantize_heading_deg(heading_deg);
    if (class_a) p.nav_status = info.behaviour;
    p.utc_second = utc_second_of(ts_ms);
    p.position_accuracy_high = v.accuracy_high;
    p.raim = v.raim;

    const double sog_kn = *p.sog_kn;
    Message msg;
    msg.mmsi = info.mmsi;
    msg.ais_type = class_a ? 1 : 18;
    msg.source = Source::simulator;
    msg.station = info.station;
    msg.ts_ms = ts_ms;
    msg.position = std::move(p);
    out.push_back(std::move(msg));
    return ts_ms + (class_a ? class_a_interval_ms(info.behaviour, sog_kn, changing_course)
                            : class_b_interval_ms(sog_kn));
  }

  void emit_static(std::uint32_t index, EventKind kind, TimeMs ts_ms, std::vector<Message>& out) const {
    const VesselState& v = states[index];
    Message msg;
    msg.mmsi = v.info.mmsi;
    msg.source = Source::simulator;
    msg.station = v.info.station;
    msg.ts_ms = ts_ms;
    if (v.info.station == StationClass::class_a) {
      msg.ais_type = 5;
      msg.static_data = v.voyage;
    } else if (kind == EventKind::static_a) {
      msg.ais_type = 24;  // part A: name only
      msg.static_data = StaticData{};
      msg.static_data->name = v.voyage.name;
    } else {
      msg.ais_type = 24;  // part B: call sign, type and dimensions
      msg.static_data = StaticData{};
      msg.static_data->callsign = v.voyage.callsign;
      msg.static_data->ship_type = v.voyage.ship_type;
      msg.static_data->dimensions = v.voyage.dimensions;
    }
    out.push_back(std::move(msg));
  }

  void step(TimeMs now_ms, std::vector<Message>& out) {
    if (now_ms <= last_now_ms) return;  // time never runs backwards; nothing new is due
    while (!queue.empty() && queue.top().ts_ms <= now_ms) {
      const Event e = queue.top();
      queue.pop();
      if (e.kind == EventKind::position) {
        queue.push({emit_position(e.vessel, e.ts_ms, out), e.vessel, e.kind});
      } else {
        emit_static(e.vessel, e.kind, e.ts_ms, out);
        queue.push({e.ts_ms + kStaticIntervalMs, e.vessel, e.kind});
      }
    }
    last_now_ms = now_ms;
  }
};

Simulator::Simulator(SimConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Simulator::~Simulator() = default;
Simulator::Simulator(Simulator&&) noexcept = default;
Simulator& Simulator::operator=(Simulator&&) noexcept = default;

void Simulator::step(TimeMs now_ms, std::vector<Message>& out) { impl_->step(now_ms, out); }

const std::vector<SimVessel>& Simulator::vessels() const noexcept { return impl_->fleet; }

}  // namespace aistrack
