// AIS payload bits → every field of message types 1–27 (ITU-R M.1371-5), and → Message.
//
// Rules (also in docs/NMEA.md):
// - decode() fills a Decoded: the header (type, repeat, MMSI, bit count) and one per-type struct
//   in `body`. Values are scaled to units named in the field; a physical quantity's "not
//   available" code (lat 91, lon 181, SOG 102.3, COG 360, heading 511, …) becomes nullopt.
//   Everything else is kept as sent, including impossible values (a heading of 472, a latitude
//   of −101°) and code fields (navigation status, EPFD, manoeuvre, second 60..63), so nothing is
//   lost; to_message() applies the same validity rules as the aisstream.io parser.
// - Text uses the ITU 6-bit table (with '_' and '\'' where libais puts '-' and '`'), stops at the
//   first '@' and drops trailing spaces.
// - Length, as gpsd does it: a payload shorter than the standard length but not shorter than
//   gpsd's minimum for its type is decoded (fields that do not fit stay zero / nullopt) and flagged
//   `short_payload`; a longer one is decoded, the extra bits ignored, and flagged `long_payload`.
//   Below the minimum → DecodeStatus::too_short.
// - Types 6 and 8 give DAC/FI and the raw application bits; a few application messages are also
//   decoded (DAC 1 FI 0 text telegram, FI 29 text description, FI 11/31 met-hydro position and time,
//   DAC 200 FI 10 inland static data).
// Nothing here allocates, throws on input, or reads the clock.
#pragma once

#include <aistrack/message.hpp>
#include <aistrack/types.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace aistrack::ais {

/// Text read from the ITU 6-bit table into fixed storage of N characters (no allocation).
template <std::size_t N>
class Text {
 public:
  /// The characters.
  [[nodiscard]] std::string_view view() const noexcept { return {chars_.data(), size_}; }
  /// Copy as std::string.
  [[nodiscard]] std::string str() const { return std::string(view()); }
  /// True when no character was decoded (or all were '@'/trailing spaces).
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  /// Replaces the contents (truncated to N characters).
  void assign(std::string_view s) noexcept {
    size_ = static_cast<std::uint16_t>(s.size() < N ? s.size() : N);
    for (std::size_t i = 0; i < size_; ++i) chars_[i] = s[i];
  }
  friend bool operator==(const Text& a, const Text& b) noexcept { return a.view() == b.view(); }

 private:
  std::array<char, N> chars_{};
  std::uint16_t size_ = 0;
};

/// Up to 168 characters: the longest text a 5-slot message can carry.
using LongText = Text<168>;

/// Raw application or DGNSS bits, left-aligned, at most 1024 bits.
struct BinaryData {
  std::array<std::uint8_t, 128> bytes{};  ///< bit 0 is the MSB of bytes[0]; unused bits are 0
  std::uint16_t bit_count = 0;
  friend bool operator==(const BinaryData&, const BinaryData&) = default;
};

/// Communication state of SOTDMA/ITDMA reports, as the 19 raw bits (ITU-R M.1371-5 §3.3.7.2/3).
using RadioState = std::uint32_t;

/// Types 1, 2, 3: class A position report.
struct PositionReportClassA {
  std::uint8_t nav_status = 15;       ///< Table 45 code 0..15 (15 = not defined)
  std::int8_t rot_raw = -128;         ///< ROT_AIS −128..127 as sent (−128 = not available)
  std::optional<double> rot_deg_min;  ///< (rot_raw/4.733)², signed, + = starboard; nullopt for ±127 and −128
  std::optional<double> sog_kn;       ///< 0..102.2 kn (102.2 = 102.2 or more); 1023 → nullopt
  bool position_accuracy_high = false;       ///< true: < 10 m
  std::optional<double> lon_deg;             ///< 181 → nullopt
  std::optional<double> lat_deg;             ///< 91 → nullopt
  std::optional<double> cog_deg;             ///< 360 → nullopt (values above 360 kept: impossible)
  std::optional<std::uint16_t> heading_deg;  ///< 511 → nullopt (values 360..510 kept: impossible)
  std::uint8_t utc_second = 60;  ///< 0..59; 60 not available, 61 manual, 62 dead reckoning, 63 inoperative
  std::uint8_t maneuver = 0;     ///< special manoeuvre indicator: 0 n/a, 1 none, 2 engaged
  bool raim = false;
  RadioState radio = 0;
};

/// Types 4 (base station report) and 11 (UTC/date response).
struct BaseStationReport {
  std::uint16_t utc_year = 0;    ///< 1..9999, 0 = not available
  std::uint8_t utc_month = 0;    ///< 1..12, 0 = not available
  std::uint8_t utc_day = 0;      ///< 1..31, 0 = not available
  std::uint8_t utc_hour = 24;    ///< 0..23, 24 = not available
  std::uint8_t utc_minute = 60;  ///< 0..59, 60 = not available
  std::uint8_t utc_second = 60;  ///< 0..59, 60 = not available
  bool position_accuracy_high = false;
  std::optional<double> lon_deg;
  std::optional<double> lat_deg;
  std::uint8_t epfd = 0;  ///< Table 51 code: 0 undefined, 1 GPS, 2 GLONASS, 3 combined, …, 15 internal GNSS
  bool long_range_control = false;  ///< type 4 bit 138: transmission control for long-range broadcast
  bool raim = false;
  RadioState radio = 0;
};

/// Type 5: static and voyage related data.
struct StaticVoyageData {
  std::uint8_t ais_version = 0;  ///< 0 = ITU-R M.1371-1, 1 = -3, 2 = -5, 3 = future
  std::uint32_t imo = 0;         ///< as sent (0 = not available)
  Text<7> callsign;
  Text<20> name;
  std::uint8_t ship_type = 0;  ///< Table 53 code (0 = not available)
  Dimensions dimensions;       ///< metres, as sent (all zero = not available)
  std::uint8_t epfd = 0;
  std::uint8_t eta_month = 0;       ///< 1..12, 0 = not available
  std::uint8_t eta_day = 0;         ///< 1..31, 0 = not available
  std::uint8_t eta_hour = 24;       ///< 0..23, 24 = not available
  std::uint8_t eta_minute = 60;     ///< 0..59, 60 = not available
  std::optional<double> draught_m;  ///< maximum present static draught, 0.1 m steps (0 → nullopt)
  Text<20> destination;
  bool dte_not_ready = true;  ///< data terminal equipment: true = not available (default)
};

/// DAC 1 FI 0 text telegram (type 6 and type 8).
struct TextTelegram {
  bool ack_required = false;
  std::uint16_t text_sequence = 0;
  LongText text;
};

/// DAC 1 FI 29 text description, broadcast (type 8).
struct TextDescription {
  std::uint16_t message_linkage_id = 0;
  LongText text;
};

/// DAC 1 FI 11 (IMO Circ. 236) and FI 31 (IMO Circ. 289) meteorological and hydrographic data:
/// position and observation time (the other fields are in the raw bits).
struct MetHydroReport {
  std::optional<double> lon_deg;               ///< 181 → nullopt
  std::optional<double> lat_deg;               ///< 91 → nullopt
  std::optional<bool> position_accuracy_high;  ///< FI 31 only
  std::uint8_t utc_day = 0;                    ///< 0 = not available
  std::uint8_t utc_hour = 24;                  ///< 24 = not available
  std::uint8_t utc_minute = 60;                ///< 60 = not available
};

/// DAC 200 FI 10 inland ship static and voyage data (RIS, ECE/TRANS/SC.3/176).
struct InlandStaticVoyage {
  Text<8> eni;                       ///< European vessel identification number
  std::optional<double> length_m;    ///< 0.1 m steps (0 → nullopt)
  std::optional<double> beam_m;      ///< 0.1 m steps (0 → nullopt)
  std::uint16_t ship_type = 0;       ///< ERI ship type code
  std::uint8_t hazardous_cargo = 0;  ///< blue cones 0..3, 4 B-flag, 5 unknown
  std::optional<double> draught_m;   ///< 0.01 m steps (0 → nullopt)
  std::uint8_t loaded = 0;           ///< 0 n/a, 1 loaded, 2 unloaded
  bool speed_quality_high = false;
  bool course_quality_high = false;
  bool heading_quality_high = false;
};

/// An application message decoded beyond its DAC/FI; monostate when not one we know.
using Application =
    std::variant<std::monostate, TextTelegram, TextDescription, MetHydroReport, InlandStaticVoyage>;

/// Type 6: addressed binary message.
struct AddressedBinary {
  std::uint8_t sequence = 0;
  Mmsi dest_mmsi = 0;
  bool retransmitted = false;
  std::uint16_t dac = 0;  ///< designated area code
  std::uint8_t fi = 0;    ///< function identifier
  BinaryData data;        ///< application bits after DAC/FI
  Application application;
};

/// Types 7 (binary acknowledge) and 13 (safety related acknowledge): up to four acknowledged stations.
struct Acknowledge {
  std::array<Mmsi, 4> mmsi{};
  std::array<std::uint8_t, 4> sequence{};
  std::uint8_t count = 0;  ///< entries present (1..4)
};

/// Type 8: binary broadcast message.
struct BinaryBroadcast {
  std::uint16_t dac = 0;
  std::uint8_t fi = 0;
  BinaryData data;  ///< application bits after DAC/FI
  Application application;
};

/// Type 9: standard SAR aircraft position report.
struct SarAircraftReport {
  std::optional<double> altitude_m;  ///< 0..4094 (4094 = 4094 or more); 4095 → nullopt
  std::optional<double> sog_kn;      ///< whole knots 0..1022 (1022 = 1022 or more); 1023 → nullopt
  bool position_accuracy_high = false;
  std::optional<double> lon_deg;
  std::optional<double> lat_deg;
  std::optional<double> cog_deg;  ///< 360 → nullopt
  std::uint8_t utc_second = 60;
  bool altitude_sensor_barometric = false;  ///< false: GNSS altitude
  bool dte_not_ready = true;
  bool assigned = false;
  bool raim = false;
  RadioState radio = 0;      ///< 19 bits
  bool radio_itdma = false;  ///< communication state selector: false SOTDMA, true ITDMA
};

/// Type 10: UTC/date inquiry.
struct UtcInquiry {
  Mmsi dest_mmsi = 0;
};

/// Type 12: addressed safety related message.
struct AddressedSafety {
  std::uint8_t sequence = 0;
  Mmsi dest_mmsi = 0;
  bool retransmitted = false;
  LongText text;
};

/// Type 14: safety related broadcast message.
struct SafetyBroadcast {
  LongText text;
};

/// Type 15: interrogation (one or two stations, up to three requests).
struct Interrogation {
  Mmsi mmsi1 = 0;
  std::uint8_t type1_1 = 0;
  std::uint16_t offset1_1 = 0;
  std::optional<std::uint8_t> type1_2;  ///< present when the payload carries a second request
  std::uint16_t offset1_2 = 0;
  std::optional<Mmsi> mmsi2;  ///< present when a second station is interrogated
  std::uint8_t type2_1 = 0;
  std::uint16_t offset2_1 = 0;
};

/// Type 16: assigned mode command (one or two stations).
struct AssignedModeCommand {
  Mmsi dest_a = 0;
  std::uint16_t offset_a = 0;
  std::uint16_t increment_a = 0;
  std::optional<Mmsi> dest_b;  ///< present in the 144-bit form
  std::uint16_t offset_b = 0;
  std::uint16_t increment_b = 0;
};

/// Type 17: GNSS broadcast binary message (DGNSS corrections).
struct DgnssBroadcast {
  std::optional<double> lon_deg;  ///< reference station, 0.1′ steps; 181 → nullopt
  std::optional<double> lat_deg;  ///< 91 → nullopt
  BinaryData data;
};

/// Type 18: standard class B position report.
struct PositionReportClassB {
  std::optional<double> sog_kn;
  bool position_accuracy_high = false;
  std::optional<double> lon_deg;
  std::optional<double> lat_deg;
  std::optional<double> cog_deg;
  std::optional<std::uint16_t> heading_deg;
  std::uint8_t utc_second = 60;
  bool cs_unit = false;  ///< true: carrier-sense unit, false: SOTDMA unit
  bool has_display = false;
  bool has_dsc = false;
  bool whole_band = false;     ///< can use the whole marine band
  bool accepts_msg22 = false;  ///< frequency management via message 22
  bool assigned = false;
  bool raim = false;
  RadioState radio = 0;
  bool radio_itdma = false;
};

/// Type 19: extended class B position report.
struct ExtendedReportClassB {
  std::optional<double> sog_kn;
  bool position_accuracy_high = false;
  std::optional<double> lon_deg;
  std::optional<double> lat_deg;
  std::optional<double> cog_deg;
  std::optional<std::uint16_t> heading_deg;
  std::uint8_t utc_second = 60;
  Text<20> name;
  std::uint8_t ship_type = 0;
  Dimensions dimensions;
  std::uint8_t epfd = 0;
  bool raim = false;
  bool dte_not_ready = true;
  bool assigned = false;
};

/// One slot reservation of a type 20 message.
struct SlotReservation {
  std::uint16_t offset = 0;
  std::uint8_t number = 0;
  std::uint8_t timeout_min = 0;
  std::uint16_t increment = 0;
  friend bool operator==(const SlotReservation&, const SlotReservation&) = default;
};

/// Type 20: data link management (1..4 reservations).
struct DataLinkManagement {
  std::array<SlotReservation, 4> reservations{};
  std::uint8_t count = 0;  ///< entries present
};

/// Type 21: aid-to-navigation report.
struct AidToNavigationReport {
  std::uint8_t aton_type = 0;  ///< Table 74 code (0 = not specified)
  Text<34> name;               ///< name and name extension joined
  bool position_accuracy_high = false;
  std::optional<double> lon_deg;
  std::optional<double> lat_deg;
  Dimensions dimensions;
  std::uint8_t epfd = 0;
  std::uint8_t utc_second = 60;
  bool off_position = false;
  std::uint8_t aton_status = 0;  ///< regional / AtoN status bits
  bool raim = false;
  bool virtual_aton = false;
  bool assigned = false;
};

/// Type 22: channel management (area or addressed form).
struct ChannelManagement {
  std::uint16_t channel_a = 0;
  std::uint16_t channel_b = 0;
  std::uint8_t txrx_mode = 0;
  bool low_power = false;
  bool addressed = false;
  // area form (addressed == false): corners in 0.1′ steps
  std::optional<double> ne_lon_deg;
  std::optional<double> ne_lat_deg;
  std::optional<double> sw_lon_deg;
  std::optional<double> sw_lat_deg;
  // addressed form
  Mmsi dest1 = 0;
  Mmsi dest2 = 0;
  bool band_a_narrow = false;
  bool band_b_narrow = false;
  std::uint8_t zone_size_nm = 0;  ///< transition zone size code 0..7 (1..8 nm)
};

/// Type 23: group assignment command.
struct GroupAssignment {
  std::optional<double> ne_lon_deg;
  std::optional<double> ne_lat_deg;
  std::optional<double> sw_lon_deg;
  std::optional<double> sw_lat_deg;
  std::uint8_t station_type = 0;
  std::uint8_t ship_type = 0;
  std::uint8_t txrx_mode = 0;
  std::uint8_t report_interval = 0;  ///< Table 77 code
  std::uint8_t quiet_time_min = 0;
};

/// Type 24: static data report, part A (name) or part B (the rest).
struct StaticDataReport {
  std::uint8_t part = 0;       ///< 0 = A, 1 = B
  Text<20> name;               ///< part A
  std::uint8_t ship_type = 0;  ///< part B
  Text<3> vendor_id;           ///< part B: manufacturer id (ITU-R M.1371-5: 3 characters)
  std::uint8_t unit_model = 0;
  std::uint32_t serial_number = 0;
  Text<7> callsign;
  Dimensions dimensions;  ///< part B, as sent (an auxiliary craft's bits are the mothership MMSI)
  std::optional<Mmsi> mothership_mmsi;  ///< part B of an auxiliary craft (MMSI 98xxxyyyy)
  std::uint8_t epfd = 0;                ///< part B (M.1371-5)
};

/// Types 25 (single slot) and 26 (multiple slot) binary messages.
struct SlotBinary {
  bool addressed = false;
  bool structured = false;        ///< true: carries DAC/FI
  std::optional<Mmsi> dest_mmsi;  ///< when addressed
  std::optional<std::uint16_t> dac;
  std::optional<std::uint8_t> fi;
  BinaryData data;                  ///< application bits (type 26: without the 20 radio bits)
  std::optional<RadioState> radio;  ///< type 26 only
  bool radio_itdma = false;
};

/// Type 27: long-range AIS broadcast.
struct LongRangeReport {
  bool position_accuracy_high = false;
  bool raim = false;
  std::uint8_t nav_status = 15;
  std::optional<double> lon_deg;          ///< 0.1′ steps; 181 → nullopt
  std::optional<double> lat_deg;          ///< 91 → nullopt
  std::optional<double> sog_kn;           ///< whole knots 0..62; 63 → nullopt
  std::optional<double> cog_deg;          ///< whole degrees 0..359; 511 → nullopt
  bool position_latency_over_5s = false;  ///< false: position is current (latency < 5 s)
};

/// Per-type fields; which alternative follows from Decoded::type (1/2/3 → PositionReportClassA, …).
using Body =
    std::variant<std::monostate, PositionReportClassA, BaseStationReport, StaticVoyageData, AddressedBinary,
                 Acknowledge, BinaryBroadcast, SarAircraftReport, UtcInquiry, AddressedSafety,
                 SafetyBroadcast, Interrogation, AssignedModeCommand, DgnssBroadcast, PositionReportClassB,
                 ExtendedReportClassB, DataLinkManagement, AidToNavigationReport, ChannelManagement,
                 GroupAssignment, StaticDataReport, SlotBinary, LongRangeReport>;

/// How a payload's length compares with its type's standard length.
enum class LengthFlag : std::uint8_t {
  standard,       ///< the standard length (or within the range of a variable-length type)
  short_payload,  ///< shorter than standard but decodable (like gpsd): fields that do not fit stay unset
  long_payload,   ///< longer than standard: decoded, extra bits ignored
};

/// "standard", "short" or "long".
std::string_view to_string(LengthFlag flag) noexcept;

/// Outcome of decode().
enum class DecodeStatus : std::uint8_t {
  ok,
  empty,          ///< no payload characters
  bad_character,  ///< a character outside the 6-bit armour ('0'..'W', '`'..'w')
  bad_fill_bits,  ///< fill bits above 5, or more than the payload has
  too_short,      ///< fewer bits than the shortest decodable form of its type
  too_long,       ///< more than 2046 bits: not AIS
  unknown_type,   ///< message type 0 or 28..63
  bad_subtype,    ///< type 24 part number 2 or 3
};

/// "ok", "empty", "bad_character", "bad_fill_bits", "too_short", "too_long", "unknown_type" or "bad_subtype".
std::string_view to_string(DecodeStatus status) noexcept;

/// A decoded AIS message: header and per-type fields.
struct Decoded {
  std::uint8_t type = 0;        ///< ITU message id 1..27
  std::uint8_t repeat = 0;      ///< repeat indicator 0..3
  Mmsi mmsi = 0;                ///< as sent (may be outside 1..999'999'999 in junk)
  std::uint16_t bit_count = 0;  ///< payload length in bits (after fill bits)
  LengthFlag length = LengthFlag::standard;
  Body body;
};

/// Decodes one complete payload (6-bit armour, all fragments joined) with `fill_bits` into `out`. Never
/// throws or allocates; on failure `out` is left in an unspecified but valid state.
DecodeStatus decode(std::string_view armored, unsigned fill_bits, Decoded& out) noexcept;

/// Counts of decode() outcomes and of decoded message types, for --stats and /metrics.
struct DecodeCounters {
  std::array<std::uint64_t, 8> by_status{};  ///< indexed by DecodeStatus
  std::array<std::uint64_t, 28> by_type{};   ///< decoded messages by type (index 0 unused)
  std::uint64_t short_payloads = 0;
  std::uint64_t long_payloads = 0;
  /// Records one decode() outcome (and, when ok, its type and length flag).
  void record(DecodeStatus status, const Decoded& d) noexcept;
};

/// Outcome of to_message().
enum class ConvertStatus : std::uint8_t {
  ok,       ///< `message` is set
  skipped,  ///< a type that carries no vessel data (binary, safety text, interrogation, …)
  invalid,  ///< impossible values (MMSI, latitude or longitude out of range); `reason` says which
};

/// "ok", "skipped" or "invalid".
std::string_view to_string(ConvertStatus status) noexcept;

/// Result of to_message(); `reason` is empty when status is ok.
struct Conversion {
  ConvertStatus status = ConvertStatus::skipped;
  std::optional<Message> message;
  std::string reason;
};

/// Converts a decoded message into the Message every source produces (source nmea, time `ts_ms` in ms
/// UTC, own_ship for VDO), with the aisstream.io parser's rules: types 1–5, 9, 11, 18, 19, 21, 24, 27.
Conversion to_message(const Decoded& d, TimeMs ts_ms, bool own_ship);

/// Appends the decoded fields as JSON object members without braces ("\"type\":1,\"mmsi\":…"); names and
/// units are listed in docs/NMEA.md. Not-available values are null.
void append_json_fields(const Decoded& d, std::string& out);

/// Reads one ITU 6-bit character value (0..63) as ASCII ('@', 'A'..'Z', '[', '\\', ']', '^', '_', ' '..'?').
constexpr char sixbit_ascii(unsigned value) noexcept {
  return static_cast<char>((value & 63U) < 32U ? (value & 63U) + 64U : (value & 63U));
}

}  // namespace aistrack::ais
