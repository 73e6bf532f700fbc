// The one Message type every source produces (aisstream.io JSON, NMEA, simulator).
// Everything past the parser sees units in names and std::nullopt for AIS's
// "not available" values, never a sentinel.
#pragma once

#include <aistrack/types.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace aistrack {

/// Dynamic part of a position report (types 1/2/3, 4, 9, 18, 19, 21, 27).
struct PositionReport {
  std::optional<LatLon> latlon;   ///< nullopt when AIS sends lat 91 / lon 181
  std::optional<double> sog_kn;   ///< speed over ground, knots (102.3 → nullopt; type 9 ≥ 1022 kn)
  std::optional<double> cog_deg;  ///< course over ground, degrees true 0..<360 (360 → nullopt)
  std::optional<std::uint16_t> heading_deg;  ///< true heading 0..359 (511 and impossible values → nullopt)
  std::optional<NavStatus> nav_status;       ///< class A only (15 → nullopt)
  std::optional<double> rot_deg_min;         ///< rate of turn, °/min, + = starboard (−128 → nullopt)
  std::optional<std::uint8_t> utc_second;  ///< second of the UTC minute the fix was taken (60..63 → nullopt)
  std::optional<double> altitude_m;        ///< SAR aircraft only (4095 → nullopt)
  std::optional<TimeMs> station_utc_ms;    ///< base station (type 4) UTC clock, when complete and valid
  bool position_accuracy_high = false;     ///< true: < 10 m (DGNSS); false: > 10 m
  bool raim = false;                       ///< RAIM in use
};

/// Hull dimensions from the reference point of the position fix, metres.
struct Dimensions {
  std::uint16_t to_bow_m = 0;
  std::uint16_t to_stern_m = 0;
  std::uint8_t to_port_m = 0;
  std::uint8_t to_starboard_m = 0;
  /// Overall length, metres.
  [[nodiscard]] int length_m() const noexcept { return to_bow_m + to_stern_m; }
  /// Overall beam, metres.
  [[nodiscard]] int beam_m() const noexcept { return to_port_m + to_starboard_m; }
  friend bool operator==(const Dimensions&, const Dimensions&) = default;
};

/// Estimated time of arrival as AIS sends it: month/day/hour/minute with no year (UTC).
struct Eta {
  std::uint8_t month = 0;              ///< 1..12
  std::uint8_t day = 0;                ///< 1..31
  std::optional<std::uint8_t> hour;    ///< 0..23 (24 → nullopt)
  std::optional<std::uint8_t> minute;  ///< 0..59 (60 → nullopt)
  friend bool operator==(const Eta&, const Eta&) = default;
};

/// Static and voyage data (types 5, 19, 21, 24A/B). Fields a message does not carry are nullopt.
struct StaticData {
  std::optional<std::string> name;  ///< trimmed, '@' padding removed; empty → nullopt
  std::optional<std::string> callsign;
  std::optional<std::string> destination;
  std::optional<std::uint32_t> imo;  ///< 7-digit IMO number (0 and out-of-range → nullopt)
  std::optional<ShipType> ship_type;
  std::optional<Dimensions> dimensions;   ///< all-zero → nullopt
  std::optional<Eta> eta;                 ///< month 0 / day 0 / impossible dates → nullopt
  std::optional<double> draught_m;        ///< 0 → nullopt
  std::optional<std::uint8_t> aton_type;  ///< type 21 only, Table 74 code 1..31
  friend bool operator==(const StaticData&, const StaticData&) = default;
};

/// Copies into `into` every field that is set in `from` (newer non-null wins).
void merge_static(StaticData& into, const StaticData& from);

/// One AIS message from any source.
struct Message {
  Mmsi mmsi = 0;
  std::uint8_t ais_type = 0;  ///< ITU message id 1..27
  Source source = Source::unknown;
  StationClass station = StationClass::class_a;
  TimeMs ts_ms = 0;                        ///< when the report was received (or tag-block time)
  bool own_ship = false;                   ///< NMEA !xxVDO: a report of our own vessel
  std::optional<PositionReport> position;  ///< set for position-bearing messages
  std::optional<StaticData> static_data;   ///< set for static/voyage messages (19 and 21 set both)
};

/// One stored point of a vessel's track; what Store keeps and Stats reads.
struct PositionFix {
  TimeMs ts_ms = 0;
  LatLon latlon;
  std::optional<double> sog_kn;
  std::optional<double> cog_deg;
  std::optional<std::uint16_t> heading_deg;
  std::optional<NavStatus> nav_status;
  std::optional<double> rot_deg_min;
  std::uint8_t ais_type = 0;
  Source source = Source::unknown;
  friend bool operator==(const PositionFix&, const PositionFix&) = default;
};

/// The fix carried by `msg`, or nullopt when it has no position (or lat/lon not available).
std::optional<PositionFix> fix_of(const Message& msg);

/// Station class implied by an AIS message id (4/11 base station, 9 SAR, 18/19/24 class B, 21 AtoN, else A).
StationClass station_class_of(int ais_type) noexcept;

}  // namespace aistrack
