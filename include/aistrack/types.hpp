// Basic vocabulary shared by every part of aistrack: MMSI, time, positions and
// the enumerations AIS defines (navigation status, ship type, message source).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace aistrack {

/// Maritime Mobile Service Identity: 9 decimal digits, 1..999'999'999 (base stations
/// and AtoN start with 00 / 99, so leading zeros are significant in text form only).
using Mmsi = std::uint32_t;

/// Milliseconds since 1970-01-01T00:00:00Z (UTC, no leap seconds): the one time type.
using TimeMs = std::int64_t;

/// Base class of every exception aistrack throws; only environment and programmer
/// errors throw (untrusted input returns a status instead). what() says what to fix.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Largest valid MMSI value (999'999'999).
inline constexpr Mmsi kMaxMmsi = 999'999'999U;

/// True when `mmsi` is in 1..999'999'999.
constexpr bool is_valid_mmsi(std::uint64_t mmsi) noexcept { return mmsi >= 1 && mmsi <= kMaxMmsi; }

/// Parses exactly 9 ASCII digits ("002320061" → 2320061); anything else → nullopt.
std::optional<Mmsi> parse_mmsi(std::string_view text) noexcept;

/// Formats an MMSI as 9 digits with leading zeros.
std::string format_mmsi(Mmsi mmsi);

/// Formats a time as ISO-8601 UTC with milliseconds: "2023-10-15T09:51:08.143Z".
std::string format_iso8601(TimeMs ts_ms);

/// Parses "YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)" into ms UTC; malformed → nullopt.
std::optional<TimeMs> parse_iso8601(std::string_view text) noexcept;

/// Days since 1970-01-01 for a proleptic Gregorian civil date (Howard Hinnant's algorithm).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// A point on WGS84 in decimal degrees (north and east positive).
struct LatLon {
  double lat_deg = 0;  ///< −90..90
  double lon_deg = 0;  ///< −180..180
  friend bool operator==(const LatLon&, const LatLon&) = default;
};

/// A latitude/longitude box in degrees, edges included; min_lon_deg > max_lon_deg crosses the
/// antimeridian (the REST API's bbox=minlat,minlon,maxlat,maxlon).
struct GeoBox {
  double min_lat_deg = -90;
  double min_lon_deg = -180;
  double max_lat_deg = 90;
  double max_lon_deg = 180;

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

/// Where a message came from; stored with each position.
enum class Source : std::uint8_t { unknown = 0, aisstream = 1, nmea = 2, simulator = 3 };

/// "aisstream", "nmea", "simulator" or "unknown".
std::string_view to_string(Source source) noexcept;

/// Navigation status of ITU-R M.1371-5 Table 45 (value 15 "not defined" becomes nullopt).
enum class NavStatus : std::uint8_t {
  under_way_using_engine = 0,
  at_anchor = 1,
  not_under_command = 2,
  restricted_manoeuvrability = 3,
  constrained_by_draught = 4,
  moored = 5,
  aground = 6,
  engaged_in_fishing = 7,
  under_way_sailing = 8,
  reserved_hsc = 9,
  reserved_wig = 10,
  power_driven_towing_astern = 11,
  power_driven_pushing_ahead = 12,
  reserved_13 = 13,
  ais_sart = 14,
};

/// Readable name, e.g. "under way using engine"; values outside 0..14 → "not defined".
std::string_view to_string(NavStatus status) noexcept;

/// Navigation status from its AIS code; 15 (not defined) and anything above → nullopt.
constexpr std::optional<NavStatus> nav_status_from_code(int code) noexcept {
  if (code < 0 || code > 14) return std::nullopt;
  return static_cast<NavStatus>(code);
}

/// Ship and cargo type code of ITU-R M.1371-5 Table 53 (1..99; 0 "not available" → nullopt).
struct ShipType {
  std::uint8_t code = 0;
  friend bool operator==(const ShipType&, const ShipType&) = default;
};

/// Readable name of a ship type, e.g. "cargo", "tanker, hazardous category A", "pleasure craft".
std::string to_string(ShipType type);

/// Ship type from its AIS code; 0 and anything above 99 → nullopt.
constexpr std::optional<ShipType> ship_type_from_code(int code) noexcept {
  if (code < 1 || code > 99) return std::nullopt;
  return ShipType{static_cast<std::uint8_t>(code)};
}

/// Kind of AIS station a report came from, derived from the message type.
enum class StationClass : std::uint8_t { class_a, class_b, sar_aircraft, base_station, aid_to_navigation };

/// "A", "B", "SAR aircraft", "base station" or "AtoN".
std::string_view to_string(StationClass cls) noexcept;

}  // namespace aistrack
