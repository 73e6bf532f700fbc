#include <aistrack/types.hpp>

#include <aistrack/detail/datetime.hpp>

#include <array>
#include <charconv>
#include <cstdio>

namespace aistrack {

std::optional<Mmsi> parse_mmsi(std::string_view text) noexcept {
  if (text.size() != 9) return std::nullopt;
  Mmsi value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<Mmsi>(c - '0');
  }
  if (!is_valid_mmsi(value)) return std::nullopt;
  return value;
}

std::string format_mmsi(Mmsi mmsi) {
  char buf[16];
  const int n = std::snprintf(buf, sizeof buf, "%09u", mmsi);
  return std::string(buf, static_cast<std::size_t>(n));
}

namespace {
// Inverse of days_from_civil (Howard Hinnant's civil_from_days).
struct Civil {
  std::int64_t y;
  unsigned m;
  unsigned d;
};
constexpr Civil civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2 ? 1 : 0), m, d};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

std::string format_iso8601(TimeMs ts_ms) {
  const std::int64_t days = floor_div(ts_ms, 86'400'000);
  const std::int64_t ms_of_day = ts_ms - days * 86'400'000;
  const Civil c = civil_from_days(days);
  const auto h = static_cast<int>(ms_of_day / 3'600'000);
  const auto mi = static_cast<int>(ms_of_day / 60'000 % 60);
  const auto s = static_cast<int>(ms_of_day / 1000 % 60);
  const auto ms = static_cast<int>(ms_of_day % 1000);
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                              static_cast<long long>(c.y), c.m, c.d, h, mi, s, ms);
  return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<TimeMs> parse_iso8601(std::string_view t) noexcept {
  std::size_t pos = 0;
  const auto wall = detail::parse_wall_time(t, "Tt ", pos);
  if (!wall) return std::nullopt;
  std::int64_t offset_min = 0;
  if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
    ++pos;
  } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
    int oh = 0, om = 0;
    if (pos + 6 > t.size() || !detail::read_digits(t, pos + 1, 2, oh) || t[pos + 3] != ':' ||
        !detail::read_digits(t, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_min = (t[pos] == '-' ? -1 : 1) * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != t.size()) return std::nullopt;
  return *wall - offset_min * 60'000;
}

namespace detail {

bool read_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

std::optional<TimeMs> parse_wall_time(std::string_view t, std::string_view separators,
                                      std::size_t& end) noexcept {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (t.size() < 19 || !read_digits(t, 0, 4, y) || t[4] != '-' || !read_digits(t, 5, 2, mo) || t[7] != '-' ||
      !read_digits(t, 8, 2, d) || separators.find(t[10]) == std::string_view::npos ||
      !read_digits(t, 11, 2, h) || t[13] != ':' || !read_digits(t, 14, 2, mi) || t[16] != ':' ||
      !read_digits(t, 17, 2, s)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::size_t pos = 19;
  std::int64_t ms = 0;
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      if (n < 3) ms = ms * 10 + (t[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0 || n > 9) return std::nullopt;
    for (int i = n; i < 3; ++i) ms *= 10;
  }
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  // Reject 30 February and friends: the civil round trip must give the same date back.
  const Civil back = civil_from_days(days);
  if (back.m != static_cast<unsigned>(mo) || back.d != static_cast<unsigned>(d)) return std::nullopt;
  end = pos;
  // A leap second (:60) is folded into :59.999 so ordering is kept.
  return ((days * 24 + h) * 60 + mi) * 60'000 + (s == 60 ? 59'999 : s * 1000LL + ms);
}

}  // namespace detail

std::string_view to_string(Source source) noexcept {
  switch (source) {
    case Source::aisstream: return "aisstream";
    case Source::nmea: return "nmea";
    case Source::simulator: return "simulator";
    case Source::unknown: break;
  }
  return "unknown";
}

std::string_view to_string(NavStatus status) noexcept {
  static constexpr std::array<std::string_view, 15> kNames = {
      "under way using engine",
      "at anchor",
      "not under command",
      "restricted manoeuvrability",
      "constrained by her draught",
      "moored",
      "aground",
      "engaged in fishing",
      "under way sailing",
      "reserved for high-speed craft",
      "reserved for wing-in-ground craft",
      "power-driven vessel towing astern",
      "power-driven vessel pushing ahead or towing alongside",
      "reserved",
      "AIS-SART, MOB-AIS or EPIRB-AIS active",
  };
  const auto i = static_cast<std::size_t>(status);
  return i < kNames.size() ? kNames[i] : "not defined";
}

std::string to_string(ShipType type) {
  // ITU-R M.1371-5 Table 53.
  const int c = type.code;
  auto hazard = [](int second) -> std::string {
    switch (second) {
      case 0: return "";
      case 1: return ", hazardous category A";
      case 2: return ", hazardous category B";
      case 3: return ", hazardous category C";
      case 4: return ", hazardous category D";
      case 9: return ", no additional information";
      default: return ", reserved";
    }
  };
  switch (c) {
    case 30: return "fishing";
    case 31: return "towing";
    case 32: return "towing, length > 200 m or breadth > 25 m";
    case 33: return "dredging or underwater operations";
    case 34: return "diving operations";
    case 35: return "military operations";
    case 36: return "sailing";
    case 37: return "pleasure craft";
    case 50: return "pilot vessel";
    case 51: return "search and rescue vessel";
    case 52: return "tug";
    case 53: return "port tender";
    case 54: return "anti-pollution equipment";
    case 55: return "law enforcement";
    case 56:
    case 57: return "local vessel";
    case 58: return "medical transport";
    case 59: return "noncombatant ship (RR Resolution No. 18)";
    default: break;
  }
  const int first = c / 10;
  const int second = c % 10;
  switch (first) {
    case 2: return "wing in ground" + hazard(second);
    case 4: return "high-speed craft" + hazard(second);
    case 6: return "passenger" + hazard(second);
    case 7: return "cargo" + hazard(second);
    case 8: return "tanker" + hazard(second);
    case 9: return "other type" + hazard(second);
    default: break;
  }
  if (c >= 1 && c <= 19) return "reserved for future use";
  if (c >= 38 && c <= 39) return "reserved for future use";
  return "not available";
}

std::string_view to_string(StationClass cls) noexcept {
  switch (cls) {
    case StationClass::class_a: return "A";
    case StationClass::class_b: return "B";
    case StationClass::sar_aircraft: return "SAR aircraft";
    case StationClass::base_station: return "base station";
    case StationClass::aid_to_navigation: return "AtoN";
  }
  return "A";
}

}  // namespace aistrack
