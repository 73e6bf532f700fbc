#include <aistrack/decode.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace aistrack::ais {
namespace {

constexpr std::size_t kMaxBits = 2046;  // 341 armour characters
constexpr std::size_t kBufferBytes = 256 + 8;

// Armour character → 6-bit value, or 0xFF when the character is not armour.
constexpr std::array<std::uint8_t, 256> make_armor_table() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = 0xFF;
  for (int c = '0'; c <= 'W'; ++c) t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - '0');
  for (int c = '`'; c <= 'w'; ++c) t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - '0' - 8);
  return t;
}
constexpr auto kArmor = make_armor_table();

/// The payload as a big-endian bit string; bits past the end read as 0.
class Bits {
 public:
  DecodeStatus load(std::string_view armored, unsigned fill_bits) noexcept {
    if (armored.empty()) return DecodeStatus::empty;
    if (fill_bits > 5) return DecodeStatus::bad_fill_bits;
    const std::size_t total = armored.size() * 6;
    if (total - fill_bits > kMaxBits) return DecodeStatus::too_long;
    const auto* in = reinterpret_cast<const unsigned char*>(armored.data());
    const std::size_t n = armored.size();
    std::uint8_t bad = 0;
    std::size_t j = 0;
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
      const std::uint8_t a = kArmor[in[i]];
      const std::uint8_t b = kArmor[in[i + 1]];
      const std::uint8_t c = kArmor[in[i + 2]];
      const std::uint8_t d = kArmor[in[i + 3]];
      bad |= static_cast<std::uint8_t>(a | b | c | d);
      const std::uint32_t v =
          (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) | (std::uint32_t{c} << 6) | d;
      bytes_[j] = static_cast<std::uint8_t>(v >> 16);
      bytes_[j + 1] = static_cast<std::uint8_t>(v >> 8);
      bytes_[j + 2] = static_cast<std::uint8_t>(v);
      j += 3;
    }
    if (i < n) {
      std::uint32_t v = 0;
      const std::size_t rest = n - i;
      for (std::size_t k = 0; k < rest; ++k) {
        const std::uint8_t a = kArmor[in[i + k]];
        bad |= a;
        v = (v << 6) | (a & 63U);
      }
      v <<= 6 * (4 - rest);
      bytes_[j] = static_cast<std::uint8_t>(v >> 16);
      bytes_[j + 1] = static_cast<std::uint8_t>(v >> 8);
      bytes_[j + 2] = static_cast<std::uint8_t>(v);
      j += 3;
    }
    if ((bad & 0x80U) != 0) return DecodeStatus::bad_character;
    size_ = total - fill_bits;
    // Clear the fill bits and the next bytes, so the 8-byte reads near the end see zeros.
    const std::size_t first_byte = size_ / 8;
    if (size_ % 8 != 0) bytes_[first_byte] &= static_cast<std::uint8_t>(0xFFU << (8 - size_ % 8));
    zeroed_ = first_byte + (size_ % 8 != 0 ? 1 : 0);
    zero_through_bit(size_ + 64);
    return DecodeStatus::ok;
  }

  /// Makes every read of bits below `bit` (beyond the payload) return zeros.
  void zero_through_bit(std::size_t bit) noexcept {
    const std::size_t upto = std::min(kBufferBytes, bit / 8 + 9);
    if (upto > zeroed_) {
      std::memset(bytes_.data() + zeroed_, 0, upto - zeroed_);
      zeroed_ = upto;
    }
  }

  /// Unsigned field of `len` (1..32) bits at bit `start` (start + len ≤ 2100).
  [[nodiscard]] std::uint32_t u(std::size_t start, unsigned len) const noexcept {
    std::uint64_t w = 0;
    std::memcpy(&w, bytes_.data() + (start >> 3), sizeof w);
    if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
    w <<= (start & 7U);
    return static_cast<std::uint32_t>(w >> (64U - len));
  }
  /// Two's-complement signed field.
  [[nodiscard]] std::int32_t s(std::size_t start, unsigned len) const noexcept {
    const std::uint32_t v = u(start, len);
    const std::uint32_t sign = 1U << (len - 1);
    return static_cast<std::int32_t>(v ^ sign) - static_cast<std::int32_t>(sign);
  }
  [[nodiscard]] bool b(std::size_t start) const noexcept { return u(start, 1) != 0; }
  [[nodiscard]] bool has(std::size_t start, std::size_t len) const noexcept { return start + len <= size_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Up to `count` 6-bit characters from `start` (only those fully present), ITU table, cut at the first '@',
  /// trailing spaces removed.
  template <std::size_t N>
  void text(std::size_t start, std::size_t count, Text<N>& out) const noexcept {
    char buf[N];
    std::size_t len = 0;
    for (std::size_t k = 0; k < count && len < N && has(start + 6 * k, 6); ++k) {
      const char c = sixbit_ascii(u(start + 6 * k, 6));
      if (c == '@') break;
      buf[len++] = c;
    }
    while (len > 0 && buf[len - 1] == ' ') --len;
    out.assign(std::string_view(buf, len));
  }

  /// Bits [start, end) copied left-aligned into `out` (at most 1024).
  void copy(std::size_t start, std::size_t end, BinaryData& out) const noexcept {
    out = BinaryData{};
    if (end <= start) return;
    const std::size_t n = std::min<std::size_t>(end - start, 1024);
    out.bit_count = static_cast<std::uint16_t>(n);
    for (std::size_t k = 0; k * 8 < n; ++k) {
      const unsigned take = static_cast<unsigned>(std::min<std::size_t>(8, n - k * 8));
      out.bytes[k] = static_cast<std::uint8_t>(u(start + k * 8, take) << (8 - take));
    }
  }

 private:
  // Not zero-initialised: load() writes the payload and zeroes what follows it (see zero_through_bit).
  std::array<std::uint8_t, kBufferBytes> bytes_;
  std::size_t size_ = 0;
  std::size_t zeroed_ = 0;  // bytes_[0, zeroed_) are written
};

// ---- scaling ------------------------------------------------------------------------------------

constexpr std::int32_t kLon181 = 181 * 600000;
constexpr std::int32_t kLat91 = 91 * 600000;

std::optional<double> lon_1e4min(std::int32_t raw) {
  if (raw == kLon181) return std::nullopt;
  return raw / 600000.0;
}
std::optional<double> lat_1e4min(std::int32_t raw) {
  if (raw == kLat91) return std::nullopt;
  return raw / 600000.0;
}
std::optional<double> lon_tenth_min(std::int32_t raw) {
  if (raw == 181 * 600) return std::nullopt;
  return raw / 600.0;
}
std::optional<double> lat_tenth_min(std::int32_t raw) {
  if (raw == 91 * 600) return std::nullopt;
  return raw / 600.0;
}
std::optional<double> lon_milli_min(std::int32_t raw) {
  if (raw == 181 * 60000) return std::nullopt;
  return raw / 60000.0;
}
std::optional<double> lat_milli_min(std::int32_t raw) {
  if (raw == 91 * 60000) return std::nullopt;
  return raw / 60000.0;
}
std::optional<double> sog_tenths(std::uint32_t raw) {
  if (raw == 1023) return std::nullopt;
  return raw / 10.0;
}
std::optional<double> cog_tenths(std::uint32_t raw) {
  if (raw == 3600) return std::nullopt;
  return raw / 10.0;
}
std::optional<std::uint16_t> heading(std::uint32_t raw) {
  if (raw == 511) return std::nullopt;
  return static_cast<std::uint16_t>(raw);
}
Dimensions dims(const Bits& b, std::size_t at) {
  Dimensions d;
  d.to_bow_m = static_cast<std::uint16_t>(b.u(at, 9));
  d.to_stern_m = static_cast<std::uint16_t>(b.u(at + 9, 9));
  d.to_port_m = static_cast<std::uint8_t>(b.u(at + 18, 6));
  d.to_starboard_m = static_cast<std::uint8_t>(b.u(at + 24, 6));
  return d;
}

// ---- per type -----------------------------------------------------------------------------------

void decode_class_a(const Bits& b, Decoded& d) {
  PositionReportClassA m;
  m.nav_status = static_cast<std::uint8_t>(b.u(38, 4));
  m.rot_raw = static_cast<std::int8_t>(b.s(42, 8));
  if (m.rot_raw > -127 && m.rot_raw < 127) {
    const double r = m.rot_raw / 4.733;
    m.rot_deg_min = m.rot_raw < 0 ? -r * r : r * r;
  }
  m.sog_kn = sog_tenths(b.u(50, 10));
  m.position_accuracy_high = b.b(60);
  m.lon_deg = lon_1e4min(b.s(61, 28));
  m.lat_deg = lat_1e4min(b.s(89, 27));
  m.cog_deg = cog_tenths(b.u(116, 12));
  m.heading_deg = heading(b.u(128, 9));
  m.utc_second = static_cast<std::uint8_t>(b.u(137, 6));
  m.maneuver = static_cast<std::uint8_t>(b.u(143, 2));
  m.raim = b.b(148);
  if (b.has(149, 19)) m.radio = b.u(149, 19);
  d.body = m;
}

void decode_base_station(const Bits& b, Decoded& d) {
  BaseStationReport m;
  m.utc_year = static_cast<std::uint16_t>(b.u(38, 14));
  m.utc_month = static_cast<std::uint8_t>(b.u(52, 4));
  m.utc_day = static_cast<std::uint8_t>(b.u(56, 5));
  m.utc_hour = static_cast<std::uint8_t>(b.u(61, 5));
  m.utc_minute = static_cast<std::uint8_t>(b.u(66, 6));
  m.utc_second = static_cast<std::uint8_t>(b.u(72, 6));
  m.position_accuracy_high = b.b(78);
  m.lon_deg = lon_1e4min(b.s(79, 28));
  m.lat_deg = lat_1e4min(b.s(107, 27));
  m.epfd = static_cast<std::uint8_t>(b.u(134, 4));
  m.long_range_control = b.b(138);
  m.raim = b.b(148);
  m.radio = b.u(149, 19);
  d.body = m;
}

void decode_static_voyage(const Bits& b, Decoded& d) {
  StaticVoyageData m;
  m.ais_version = static_cast<std::uint8_t>(b.u(38, 2));
  m.imo = b.u(40, 30);
  b.text(70, 7, m.callsign);
  b.text(112, 20, m.name);
  m.ship_type = static_cast<std::uint8_t>(b.u(232, 8));
  m.dimensions = dims(b, 240);
  m.epfd = static_cast<std::uint8_t>(b.u(270, 4));
  m.eta_month = static_cast<std::uint8_t>(b.u(274, 4));
  m.eta_day = static_cast<std::uint8_t>(b.u(278, 5));
  m.eta_hour = static_cast<std::uint8_t>(b.u(283, 5));
  m.eta_minute = static_cast<std::uint8_t>(b.u(288, 6));
  if (const auto dr = b.u(294, 8); dr != 0) m.draught_m = dr / 10.0;
  b.text(302, 20, m.destination);
  if (b.has(422, 1)) m.dte_not_ready = b.b(422);
  d.body = m;
}

/// Application messages we decode beyond DAC/FI. `at` is the first bit after DAC/FI; `end` the usable end.
Application application(const Bits& b, bool broadcast, std::uint16_t dac, std::uint8_t fi, std::size_t at,
                        std::size_t end) {
  if (dac == 1 && fi == 0 && end >= at + 12) {  // text telegram
    TextTelegram t;
    t.ack_required = b.b(at);
    t.text_sequence = static_cast<std::uint16_t>(b.u(at + 1, 11));
    b.text(at + 12, (end - at - 12) / 6, t.text);
    return t;
  }
  if (!broadcast) return {};
  if (dac == 1 && fi == 29 && end >= at + 10) {  // text description
    TextDescription t;
    t.message_linkage_id = static_cast<std::uint16_t>(b.u(at, 10));
    b.text(at + 10, (end - at - 10) / 6, t.text);
    return t;
  }
  if (dac == 1 && fi == 11 && end >= at + 65) {  // IMO 236: latitude first, 1/1000 minute
    MetHydroReport m;
    m.lat_deg = lat_milli_min(b.s(at, 24));
    m.lon_deg = lon_milli_min(b.s(at + 24, 25));
    m.utc_day = static_cast<std::uint8_t>(b.u(at + 49, 5));
    m.utc_hour = static_cast<std::uint8_t>(b.u(at + 54, 5));
    m.utc_minute = static_cast<std::uint8_t>(b.u(at + 59, 6));
    return m;
  }
  if (dac == 1 && fi == 31 && end >= at + 66) {  // IMO 289: longitude first, then accuracy
    MetHydroReport m;
    m.lon_deg = lon_milli_min(b.s(at, 25));
    m.lat_deg = lat_milli_min(b.s(at + 25, 24));
    m.position_accuracy_high = b.b(at + 49);
    m.utc_day = static_cast<std::uint8_t>(b.u(at + 50, 5));
    m.utc_hour = static_cast<std::uint8_t>(b.u(at + 55, 5));
    m.utc_minute = static_cast<std::uint8_t>(b.u(at + 60, 6));
    return m;
  }
  if (dac == 200 && fi == 10 && end - at >= 112) {  // inland static and voyage data (168-bit message)
    InlandStaticVoyage m;
    b.text(at, 8, m.eni);
    if (const auto v = b.u(at + 48, 13); v != 0) m.length_m = v / 10.0;
    if (const auto v = b.u(at + 61, 10); v != 0) m.beam_m = v / 10.0;
    m.ship_type = static_cast<std::uint16_t>(b.u(at + 71, 14));
    m.hazardous_cargo = static_cast<std::uint8_t>(b.u(at + 85, 3));
    if (const auto v = b.u(at + 88, 11); v != 0) m.draught_m = v / 100.0;
    m.loaded = static_cast<std::uint8_t>(b.u(at + 99, 2));
    m.speed_quality_high = b.b(at + 101);
    m.course_quality_high = b.b(at + 102);
    m.heading_quality_high = b.b(at + 103);
    return m;
  }
  return {};
}

void decode_addressed_binary(const Bits& b, Decoded& d, std::size_t end) {
  AddressedBinary m;
  m.sequence = static_cast<std::uint8_t>(b.u(38, 2));
  m.dest_mmsi = b.u(40, 30);
  m.retransmitted = b.b(70);
  m.dac = static_cast<std::uint16_t>(b.u(72, 10));
  m.fi = static_cast<std::uint8_t>(b.u(82, 6));
  b.copy(88, end, m.data);
  m.application = application(b, false, m.dac, m.fi, 88, end);
  d.body = m;
}

void decode_acknowledge(const Bits& b, Decoded& d, std::size_t end) {
  Acknowledge m;
  for (std::size_t k = 0; k < 4 && 40 + 32 * k + 30 <= end; ++k) {
    m.mmsi[k] = b.u(40 + 32 * k, 30);
    m.sequence[k] = static_cast<std::uint8_t>(b.u(70 + 32 * k, 2));
    m.count = static_cast<std::uint8_t>(k + 1);
  }
  d.body = m;
}

void decode_binary_broadcast(const Bits& b, Decoded& d, std::size_t end) {
  BinaryBroadcast m;
  m.dac = static_cast<std::uint16_t>(b.u(40, 10));
  m.fi = static_cast<std::uint8_t>(b.u(50, 6));
  b.copy(56, end, m.data);
  m.application = application(b, true, m.dac, m.fi, 56, end);
  d.body = m;
}

void decode_sar(const Bits& b, Decoded& d) {
  SarAircraftReport m;
  if (const auto alt = b.u(38, 12); alt != 4095) m.altitude_m = alt;
  if (const auto sog = b.u(50, 10); sog != 1023) m.sog_kn = sog;
  m.position_accuracy_high = b.b(60);
  m.lon_deg = lon_1e4min(b.s(61, 28));
  m.lat_deg = lat_1e4min(b.s(89, 27));
  m.cog_deg = cog_tenths(b.u(116, 12));
  m.utc_second = static_cast<std::uint8_t>(b.u(128, 6));
  m.altitude_sensor_barometric = b.b(134);
  m.dte_not_ready = b.b(142);
  m.assigned = b.b(146);
  m.raim = b.b(147);
  m.radio_itdma = b.b(148);
  m.radio = b.u(149, 19);
  d.body = m;
}

void decode_safety(const Bits& b, Decoded& d, std::size_t end) {
  if (d.type == 12) {
    AddressedSafety m;
    m.sequence = static_cast<std::uint8_t>(b.u(38, 2));
    m.dest_mmsi = b.u(40, 30);
    m.retransmitted = b.b(70);
    b.text(72, (end - 72) / 6, m.text);
    d.body = m;
  } else {
    SafetyBroadcast m;
    b.text(40, (end - 40) / 6, m.text);
    d.body = m;
  }
}

void decode_interrogation(const Bits& b, Decoded& d, std::size_t end) {
  Interrogation m;
  m.mmsi1 = b.u(40, 30);
  m.type1_1 = static_cast<std::uint8_t>(b.u(70, 6));
  m.offset1_1 = static_cast<std::uint16_t>(b.u(76, 12));
  if (end >= 108) {
    m.type1_2 = static_cast<std::uint8_t>(b.u(90, 6));
    m.offset1_2 = static_cast<std::uint16_t>(b.u(96, 12));
  }
  if (end >= 158) {
    m.mmsi2 = b.u(110, 30);
    m.type2_1 = static_cast<std::uint8_t>(b.u(140, 6));
    m.offset2_1 = static_cast<std::uint16_t>(b.u(146, 12));
  }
  d.body = m;
}

void decode_assigned_mode(const Bits& b, Decoded& d, std::size_t end) {
  AssignedModeCommand m;
  m.dest_a = b.u(40, 30);
  m.offset_a = static_cast<std::uint16_t>(b.u(70, 12));
  m.increment_a = static_cast<std::uint16_t>(b.u(82, 10));
  if (end >= 144) {
    m.dest_b = b.u(92, 30);
    m.offset_b = static_cast<std::uint16_t>(b.u(122, 12));
    m.increment_b = static_cast<std::uint16_t>(b.u(134, 10));
  }
  d.body = m;
}

void decode_dgnss(const Bits& b, Decoded& d, std::size_t end) {
  DgnssBroadcast m;
  m.lon_deg = lon_tenth_min(b.s(40, 18));
  m.lat_deg = lat_tenth_min(b.s(58, 17));
  b.copy(80, end, m.data);
  d.body = m;
}

void decode_class_b(const Bits& b, Decoded& d) {
  PositionReportClassB m;
  m.sog_kn = sog_tenths(b.u(46, 10));
  m.position_accuracy_high = b.b(56);
  m.lon_deg = lon_1e4min(b.s(57, 28));
  m.lat_deg = lat_1e4min(b.s(85, 27));
  m.cog_deg = cog_tenths(b.u(112, 12));
  m.heading_deg = heading(b.u(124, 9));
  m.utc_second = static_cast<std::uint8_t>(b.u(133, 6));
  m.cs_unit = b.b(141);
  m.has_display = b.b(142);
  m.has_dsc = b.b(143);
  m.whole_band = b.b(144);
  m.accepts_msg22 = b.b(145);
  m.assigned = b.b(146);
  m.raim = b.b(147);
  m.radio_itdma = b.b(148);
  m.radio = b.u(149, 19);
  d.body = m;
}

void decode_class_b_extended(const Bits& b, Decoded& d) {
  ExtendedReportClassB m;
  m.sog_kn = sog_tenths(b.u(46, 10));
  m.position_accuracy_high = b.b(56);
  m.lon_deg = lon_1e4min(b.s(57, 28));
  m.lat_deg = lat_1e4min(b.s(85, 27));
  m.cog_deg = cog_tenths(b.u(112, 12));
  m.heading_deg = heading(b.u(124, 9));
  m.utc_second = static_cast<std::uint8_t>(b.u(133, 6));
  b.text(143, 20, m.name);
  m.ship_type = static_cast<std::uint8_t>(b.u(263, 8));
  m.dimensions = dims(b, 271);
  m.epfd = static_cast<std::uint8_t>(b.u(301, 4));
  m.raim = b.b(305);
  m.dte_not_ready = b.b(306);
  m.assigned = b.b(307);
  d.body = m;
}

void decode_data_link(const Bits& b, Decoded& d, std::size_t end) {
  DataLinkManagement m;
  for (std::size_t k = 0; k < 4 && 40 + 30 * k + 30 <= end; ++k) {
    const std::size_t at = 40 + 30 * k;
    SlotReservation r;
    r.offset = static_cast<std::uint16_t>(b.u(at, 12));
    r.number = static_cast<std::uint8_t>(b.u(at + 12, 4));
    r.timeout_min = static_cast<std::uint8_t>(b.u(at + 16, 3));
    r.increment = static_cast<std::uint16_t>(b.u(at + 19, 11));
    m.reservations[k] = r;
    m.count = static_cast<std::uint8_t>(k + 1);
  }
  d.body = m;
}

void decode_aton(const Bits& b, Decoded& d, std::size_t end) {
  AidToNavigationReport m;
  m.aton_type = static_cast<std::uint8_t>(b.u(38, 5));
  // Name (20 characters) and name extension (up to 14 after bit 272) are one text, cut at the first '@'.
  char joined[34];
  std::size_t len = 0;
  const std::size_t ext_chars = end > 272 ? std::min<std::size_t>((end - 272) / 6, 14) : 0;
  for (std::size_t k = 0; k < 20 + ext_chars; ++k) {
    const std::size_t at = k < 20 ? 43 + 6 * k : 272 + 6 * (k - 20);
    const char c = sixbit_ascii(b.u(at, 6));
    if (c == '@') break;
    joined[len++] = c;
  }
  while (len > 0 && joined[len - 1] == ' ') --len;
  m.name.assign(std::string_view(joined, len));
  m.position_accuracy_high = b.b(163);
  m.lon_deg = lon_1e4min(b.s(164, 28));
  m.lat_deg = lat_1e4min(b.s(192, 27));
  m.dimensions = dims(b, 219);
  m.epfd = static_cast<std::uint8_t>(b.u(249, 4));
  m.utc_second = static_cast<std::uint8_t>(b.u(253, 6));
  m.off_position = b.b(259);
  m.aton_status = static_cast<std::uint8_t>(b.u(260, 8));
  m.raim = b.b(268);
  m.virtual_aton = b.b(269);
  m.assigned = b.b(270);
  d.body = m;
}

void decode_channel_management(const Bits& b, Decoded& d) {
  ChannelManagement m;
  m.channel_a = static_cast<std::uint16_t>(b.u(40, 12));
  m.channel_b = static_cast<std::uint16_t>(b.u(52, 12));
  m.txrx_mode = static_cast<std::uint8_t>(b.u(64, 4));
  m.low_power = b.b(68);
  m.addressed = b.b(139);
  if (m.addressed) {
    m.dest1 = b.u(69, 30);
    m.dest2 = b.u(104, 30);
  } else {
    m.ne_lon_deg = lon_tenth_min(b.s(69, 18));
    m.ne_lat_deg = lat_tenth_min(b.s(87, 17));
    m.sw_lon_deg = lon_tenth_min(b.s(104, 18));
    m.sw_lat_deg = lat_tenth_min(b.s(122, 17));
  }
  m.band_a_narrow = b.b(140);
  m.band_b_narrow = b.b(141);
  m.zone_size_nm = static_cast<std::uint8_t>(b.u(142, 3));
  d.body = m;
}

void decode_group_assignment(const Bits& b, Decoded& d) {
  GroupAssignment m;
  m.ne_lon_deg = lon_tenth_min(b.s(40, 18));
  m.ne_lat_deg = lat_tenth_min(b.s(58, 17));
  m.sw_lon_deg = lon_tenth_min(b.s(75, 18));
  m.sw_lat_deg = lat_tenth_min(b.s(93, 17));
  m.station_type = static_cast<std::uint8_t>(b.u(110, 4));
  m.ship_type = static_cast<std::uint8_t>(b.u(114, 8));
  m.txrx_mode = static_cast<std::uint8_t>(b.u(144, 2));
  m.report_interval = static_cast<std::uint8_t>(b.u(146, 4));
  m.quiet_time_min = static_cast<std::uint8_t>(b.u(150, 4));
  d.body = m;
}

void decode_static_report(const Bits& b, Decoded& d) {
  StaticDataReport m;
  m.part = static_cast<std::uint8_t>(b.u(38, 2));
  if (m.part == 0) {
    b.text(40, 20, m.name);
  } else {
    m.ship_type = static_cast<std::uint8_t>(b.u(40, 8));
    b.text(48, 3, m.vendor_id);
    m.unit_model = static_cast<std::uint8_t>(b.u(66, 4));
    m.serial_number = b.u(70, 20);
    b.text(90, 7, m.callsign);
    m.dimensions = dims(b, 132);
    if (d.mmsi / 10'000'000U == 98U) m.mothership_mmsi = b.u(132, 30);
    m.epfd = static_cast<std::uint8_t>(b.u(162, 4));
  }
  d.body = m;
}

void decode_slot_binary(const Bits& b, Decoded& d, std::size_t end) {
  SlotBinary m;
  m.addressed = b.b(38);
  m.structured = b.b(39);
  std::size_t at = 40;
  if (m.addressed) {
    m.dest_mmsi = b.u(40, 30);
    at += 30;
  }
  if (m.structured) {
    m.dac = static_cast<std::uint16_t>(b.u(at, 10));
    m.fi = static_cast<std::uint8_t>(b.u(at + 10, 6));
    at += 16;
  }
  std::size_t data_end = end;
  if (d.type == 26) {
    data_end = end - 20;
    m.radio_itdma = b.b(data_end);
    m.radio = b.u(data_end + 1, 19);
  }
  b.copy(at, data_end, m.data);
  d.body = m;
}

void decode_long_range(const Bits& b, Decoded& d) {
  LongRangeReport m;
  m.position_accuracy_high = b.b(38);
  m.raim = b.b(39);
  m.nav_status = static_cast<std::uint8_t>(b.u(40, 4));
  m.lon_deg = lon_tenth_min(b.s(44, 18));
  m.lat_deg = lat_tenth_min(b.s(62, 17));
  if (const auto sog = b.u(79, 6); sog != 63) m.sog_kn = sog;
  if (const auto cog = b.u(85, 9); cog != 511) m.cog_deg = cog;
  m.position_latency_over_5s = b.b(94);
  d.body = m;
}

/// Shortest decodable length (gpsd's), and the standard range, per type.
struct LengthRule {
  std::uint16_t min = 0;
  std::uint16_t standard_min = 0;
  std::uint16_t standard_max = 0;
};

constexpr LengthRule length_rule(unsigned type, unsigned part24) noexcept {
  switch (type) {
    case 1:
    case 2:
    case 3: return {163, 168, 168};
    case 4:
    case 11: return {168, 168, 168};
    case 5: return {420, 424, 424};
    case 6: return {88, 88, 1008};
    case 7:
    case 13: return {72, 72, 168};
    case 8: return {56, 56, 1008};
    case 9: return {168, 168, 168};
    case 10: return {72, 72, 72};
    case 12: return {72, 72, 1008};
    case 14: return {40, 40, 1008};
    case 15: return {88, 88, 160};
    case 16: return {96, 96, 144};
    case 17: return {80, 80, 816};
    case 18: return {168, 168, 168};
    case 19: return {312, 312, 312};
    case 20: return {72, 72, 160};
    case 21: return {272, 272, 360};
    case 22: return {168, 168, 168};
    case 23: return {160, 160, 160};
    case 24: return part24 == 0 ? LengthRule{160, 160, 160} : LengthRule{168, 168, 168};
    case 25: return {40, 40, 168};
    case 26: return {60, 60, 1064};
    case 27: return {96, 96, 96};
    default: return {};
  }
}

// ---- JSON ---------------------------------------------------------------------------------------

/// Writes JSON members into a stack buffer and appends it to the output string in large pieces (one
/// append per message in practice): string appends per character were the cost of aistrack-decode.
class Json {
 public:
  explicit Json(std::string& out) : out_(out) {}
  ~Json() { flush(); }
  Json(const Json&) = delete;
  Json& operator=(const Json&) = delete;

  // Keys are string literals: their length is a constant, so copying them compiles to a few moves.
  template <std::size_t N>
  void key(const char (&k)[N]) {
    reserve(kMaxValueBytes + N);
    if (!first_) *p_++ = ',';
    first_ = false;
    *p_++ = '"';
    std::memcpy(p_, k, N - 1);
    p_ += N - 1;
    *p_++ = '"';
    *p_++ = ':';
  }
  template <std::size_t N>
  void num(const char (&k)[N], std::int64_t v) {
    key(k);
    p_ = std::to_chars(p_, end(), v).ptr;
  }
  template <std::size_t N>
  void boolean(const char (&k)[N], bool v) {
    key(k);
    if (v) {
      std::memcpy(p_, "true", 4);
      p_ += 4;
    } else {
      std::memcpy(p_, "false", 5);
      p_ += 5;
    }
  }
  template <std::size_t N>
  void null(const char (&k)[N]) {
    key(k);
    std::memcpy(p_, "null", 4);
    p_ += 4;
  }
  template <std::size_t N>
  void real(const char (&k)[N], double v, int decimals) {
    key(k);
    put_real(v, decimals);
  }
  template <std::size_t N>
  void real(const char (&k)[N], const std::optional<double>& v, int decimals) {
    if (!v) return null(k);
    real(k, *v, decimals);
  }
  template <std::size_t N, class T>
  void opt_num(const char (&k)[N], const std::optional<T>& v) {
    if (!v) return null(k);
    num(k, static_cast<std::int64_t>(*v));
  }
  template <std::size_t N>
  void str(const char (&k)[N], std::string_view v) {
    key(k);
    *p_++ = '"';
    for (const char c : v) {
      if (c == '"' || c == '\\') {
        *p_++ = '\\';
        *p_++ = c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        std::memcpy(p_, "\\u00", 4);
        p_ += 4;
        *p_++ = kHex[(static_cast<unsigned char>(c) >> 4) & 15];
        *p_++ = kHex[static_cast<unsigned char>(c) & 15];
      } else {
        *p_++ = c;
      }
    }
    *p_++ = '"';
  }
  template <std::size_t N>
  void hex(const char (&k)[N], const BinaryData& data) {
    num("data_bits", data.bit_count);
    key(k);
    static constexpr char kHex[] = "0123456789abcdef";
    *p_++ = '"';
    for (std::size_t i = 0; i * 8 < data.bit_count; ++i) {
      *p_++ = kHex[data.bytes[i] >> 4];
      *p_++ = kHex[data.bytes[i] & 15];
    }
    *p_++ = '"';
  }
  template <std::size_t N>
  void open_object(const char (&k)[N]) {
    key(k);
    *p_++ = '{';
    first_ = true;
  }
  void close_object() {
    reserve(1);
    *p_++ = '}';
    first_ = false;
  }
  template <std::size_t N>
  void open_array(const char (&k)[N]) {
    key(k);
    *p_++ = '[';
    first_ = true;
  }
  void close_array() {
    reserve(1);
    *p_++ = ']';
    first_ = false;
  }
  void element_object() {
    reserve(2);
    if (!first_) *p_++ = ',';
    *p_++ = '{';
    first_ = true;
  }

 private:
  // The longest single value: 168 text characters escaped as \u00XX (6 each), or 128 bytes of hex.
  static constexpr std::size_t kMaxValueBytes = 168 * 6 + 64;

  char* end() noexcept { return buf_.data() + buf_.size(); }
  void flush() {
    out_.append(buf_.data(), static_cast<std::size_t>(p_ - buf_.data()));
    p_ = buf_.data();
  }
  void reserve(std::size_t n) {
    if (static_cast<std::size_t>(end() - p_) < n + 8) flush();
  }
  /// Fixed-point with `decimals` digits, trailing zeros dropped ("12.30" → "12.3", "5.0" → "5").
  void put_real(double v, int decimals) {
    static constexpr std::int64_t kPow10[] = {1, 10, 100, 1'000, 10'000, 100'000, 1'000'000, 10'000'000};
    const double scaled = v * static_cast<double>(kPow10[decimals]);
    if (!(std::abs(scaled) < 9.0e15)) {  // not a value AIS can carry: print it as it is
      p_ = std::to_chars(p_, end(), v).ptr;
      return;
    }
    std::int64_t i = static_cast<std::int64_t>(scaled < 0 ? scaled - 0.5 : scaled + 0.5);  // round half away
    if (i < 0) {
      *p_++ = '-';
      i = -i;
    }
    p_ = std::to_chars(p_, end(), i / kPow10[decimals]).ptr;
    std::int64_t frac = i % kPow10[decimals];
    if (frac == 0) return;
    int digits = decimals;
    while (frac % 10 == 0) {
      frac /= 10;
      --digits;
    }
    *p_++ = '.';
    char tmp[8];
    for (int d = digits - 1; d >= 0; --d) {
      tmp[d] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    std::memcpy(p_, tmp, static_cast<std::size_t>(digits));
    p_ += digits;
  }

  std::string& out_;
  std::array<char, 4096> buf_;
  char* p_ = buf_.data();
  bool first_ = true;
};

void json_dims(Json& j, const Dimensions& d) {
  j.num("to_bow_m", d.to_bow_m);
  j.num("to_stern_m", d.to_stern_m);
  j.num("to_port_m", d.to_port_m);
  j.num("to_starboard_m", d.to_starboard_m);
}

void json_position(Json& j, const std::optional<double>& lon, const std::optional<double>& lat) {
  j.real("lon_deg", lon, 7);
  j.real("lat_deg", lat, 7);
}

void json_application(Json& j, const Application& app) {
  if (std::holds_alternative<std::monostate>(app)) return;
  j.open_object("application");
  if (const auto* t = std::get_if<TextTelegram>(&app)) {
    j.str("kind", "text_telegram");
    j.boolean("ack_required", t->ack_required);
    j.num("text_sequence", t->text_sequence);
    j.str("text", t->text.view());
  } else if (const auto* t2 = std::get_if<TextDescription>(&app)) {
    j.str("kind", "text_description");
    j.num("message_linkage_id", t2->message_linkage_id);
    j.str("text", t2->text.view());
  } else if (const auto* m = std::get_if<MetHydroReport>(&app)) {
    j.str("kind", "met_hydro");
    json_position(j, m->lon_deg, m->lat_deg);
    if (m->position_accuracy_high) j.boolean("position_accuracy_high", *m->position_accuracy_high);
    j.num("utc_day", m->utc_day);
    j.num("utc_hour", m->utc_hour);
    j.num("utc_minute", m->utc_minute);
  } else if (const auto* s = std::get_if<InlandStaticVoyage>(&app)) {
    j.str("kind", "inland_static_voyage");
    j.str("eni", s->eni.view());
    j.real("length_m", s->length_m, 1);
    j.real("beam_m", s->beam_m, 1);
    j.num("ship_type", s->ship_type);
    j.num("hazardous_cargo", s->hazardous_cargo);
    j.real("draught_m", s->draught_m, 2);
    j.num("loaded", s->loaded);
    j.boolean("speed_quality_high", s->speed_quality_high);
    j.boolean("course_quality_high", s->course_quality_high);
    j.boolean("heading_quality_high", s->heading_quality_high);
  }
  j.close_object();
}

struct JsonBody {
  Json& j;

  void operator()(const std::monostate&) const {}
  void operator()(const PositionReportClassA& m) const {
    j.num("nav_status", m.nav_status);
    j.real("rot_deg_min", m.rot_deg_min, 3);
    j.num("rot_raw", m.rot_raw);
    j.real("sog_kn", m.sog_kn, 1);
    j.boolean("position_accuracy_high", m.position_accuracy_high);
    json_position(j, m.lon_deg, m.lat_deg);
    j.real("cog_deg", m.cog_deg, 1);
    j.opt_num("heading_deg", m.heading_deg);
    j.num("utc_second", m.utc_second);
    j.num("maneuver", m.maneuver);
    j.boolean("raim", m.raim);
    j.num("radio", m.radio);
  }
  void operator()(const BaseStationReport& m) const {
    j.num("utc_year", m.utc_year);
    j.num("utc_month", m.utc_month);
    j.num("utc_day", m.utc_day);
    j.num("utc_hour", m.utc_hour);
    j.num("utc_minute", m.utc_minute);
    j.num("utc_second", m.utc_second);
    j.boolean("position_accuracy_high", m.position_accuracy_high);
    json_position(j, m.lon_deg, m.lat_deg);
    j.num("epfd", m.epfd);
    j.boolean("long_range_control", m.long_range_control);
    j.boolean("raim", m.raim);
    j.num("radio", m.radio);
  }
  void operator()(const StaticVoyageData& m) const {
    j.num("ais_version", m.ais_version);
    j.num("imo", m.imo);
    j.str("callsign", m.callsign.view());
    j.str("name", m.name.view());
    j.num("ship_type", m.ship_type);
    json_dims(j, m.dimensions);
    j.num("epfd", m.epfd);
    j.num("eta_month", m.eta_month);
    j.num("eta_day", m.eta_day);
    j.num("eta_hour", m.eta_hour);
    j.num("eta_minute", m.eta_minute);
    j.real("draught_m", m.draught_m, 1);
    j.str("destination", m.destination.view());
    j.boolean("dte_not_ready", m.dte_not_ready);
  }
  void operator()(const AddressedBinary& m) const {
    j.num("sequence", m.sequence);
    j.num("dest_mmsi", m.dest_mmsi);
    j.boolean("retransmitted", m.retransmitted);
    j.num("dac", m.dac);
    j.num("fi", m.fi);
    j.hex("data_hex", m.data);
    json_application(j, m.application);
  }
  void operator()(const Acknowledge& m) const {
    j.open_array("acks");
    for (std::size_t k = 0; k < m.count; ++k) {
      j.element_object();
      j.num("mmsi", m.mmsi[k]);
      j.num("sequence", m.sequence[k]);
      j.close_object();
    }
    j.close_array();
  }
  void operator()(const BinaryBroadcast& m) const {
    j.num("dac", m.dac);
    j.num("fi", m.fi);
    j.hex("data_hex", m.data);
    json_application(j, m.application);
  }
  void operator()(const SarAircraftReport& m) const {
    j.real("altitude_m", m.altitude_m, 0);
    j.real("sog_kn", m.sog_kn, 0);
    j.boolean("position_accuracy_high", m.position_accuracy_high);
    json_position(j, m.lon_deg, m.lat_deg);
    j.real("cog_deg", m.cog_deg, 1);
    j.num("utc_second", m.utc_second);
    j.boolean("altitude_sensor_barometric", m.altitude_sensor_barometric);
    j.boolean("dte_not_ready", m.dte_not_ready);
    j.boolean("assigned", m.assigned);
    j.boolean("raim", m.raim);
    j.boolean("radio_itdma", m.radio_itdma);
    j.num("radio", m.radio);
  }
  void operator()(const UtcInquiry& m) const { j.num("dest_mmsi", m.dest_mmsi); }
  void operator()(const AddressedSafety& m) const {
    j.num("sequence", m.sequence);
    j.num("dest_mmsi", m.dest_mmsi);
    j.boolean("retransmitted", m.retransmitted);
    j.str("text", m.text.view());
  }
  void operator()(const SafetyBroadcast& m) const { j.str("text", m.text.view()); }
  void operator()(const Interrogation& m) const {
    j.num("mmsi1", m.mmsi1);
    j.num("type1_1", m.type1_1);
    j.num("offset1_1", m.offset1_1);
    if (m.type1_2) {
      j.num("type1_2", *m.type1_2);
      j.num("offset1_2", m.offset1_2);
    }
    if (m.mmsi2) {
      j.num("mmsi2", *m.mmsi2);
      j.num("type2_1", m.type2_1);
      j.num("offset2_1", m.offset2_1);
    }
  }
  void operator()(const AssignedModeCommand& m) const {
    j.num("dest_a", m.dest_a);
    j.num("offset_a", m.offset_a);
    j.num("increment_a", m.increment_a);
    if (m.dest_b) {
      j.num("dest_b", *m.dest_b);
      j.num("offset_b", m.offset_b);
      j.num("increment_b", m.increment_b);
    }
  }
  void operator()(const DgnssBroadcast& m) const {
    j.real("lon_deg", m.lon_deg, 5);
    j.real("lat_deg", m.lat_deg, 5);
    j.hex("data_hex", m.data);
  }
  void operator()(const PositionReportClassB& m) const {
    j.real("sog_kn", m.sog_kn, 1);
    j.boolean("position_accuracy_high", m.position_accuracy_high);
    json_position(j, m.lon_deg, m.lat_deg);
    j.real("cog_deg", m.cog_deg, 1);
    j.opt_num("heading_deg", m.heading_deg);
    j.num("utc_second", m.utc_second);
    j.boolean("cs_unit", m.cs_unit);
    j.boolean("has_display", m.has_display);
    j.boolean("has_dsc", m.has_dsc);
    j.boolean("whole_band", m.whole_band);
    j.boolean("accepts_msg22", m.accepts_msg22);
    j.boolean("assigned", m.assigned);
    j.boolean("raim", m.raim);
    j.boolean("radio_itdma", m.radio_itdma);
    j.num("radio", m.radio);
  }
  void operator()(const ExtendedReportClassB& m) const {
    j.real("sog_kn", m.sog_kn, 1);
    j.boolean("position_accuracy_high", m.position_accuracy_high);
    json_position(j, m.lon_deg, m.lat_deg);
    j.real("cog_deg", m.cog_deg, 1);
    j.opt_num("heading_deg", m.heading_deg);
    j.num("utc_second", m.utc_second);
    j.str("name", m.name.view());
    j.num("ship_type", m.ship_type);
    json_dims(j, m.dimensions);
    j.num("epfd", m.epfd);
    j.boolean("raim", m.raim);
    j.boolean("dte_not_ready", m.dte_not_ready);
    j.boolean("assigned", m.assigned);
  }
  void operator()(const DataLinkManagement& m) const {
    j.open_array("reservations");
    for (std::size_t k = 0; k < m.count; ++k) {
      j.element_object();
      j.num("offset", m.reservations[k].offset);
      j.num("number", m.reservations[k].number);
      j.num("timeout_min", m.reservations[k].timeout_min);
      j.num("increment", m.reservations[k].increment);
      j.close_object();
    }
    j.close_array();
  }
  void operator()(const AidToNavigationReport& m) const {
    j.num("aton_type", m.aton_type);
    j.str("name", m.name.view());
    j.boolean("position_accuracy_high", m.position_accuracy_high);
    json_position(j, m.lon_deg, m.lat_deg);
    json_dims(j, m.dimensions);
    j.num("epfd", m.epfd);
    j.num("utc_second", m.utc_second);
    j.boolean("off_position", m.off_position);
    j.num("aton_status", m.aton_status);
    j.boolean("raim", m.raim);
    j.boolean("virtual_aton", m.virtual_aton);
    j.boolean("assigned", m.assigned);
  }
  void operator()(const ChannelManagement& m) const {
    j.num("channel_a", m.channel_a);
    j.num("channel_b", m.channel_b);
    j.num("txrx_mode", m.txrx_mode);
    j.boolean("low_power", m.low_power);
    j.boolean("addressed", m.addressed);
    if (m.addressed) {
      j.num("dest1", m.dest1);
      j.num("dest2", m.dest2);
    } else {
      j.real("ne_lon_deg", m.ne_lon_deg, 5);
      j.real("ne_lat_deg", m.ne_lat_deg, 5);
      j.real("sw_lon_deg", m.sw_lon_deg, 5);
      j.real("sw_lat_deg", m.sw_lat_deg, 5);
    }
    j.boolean("band_a_narrow", m.band_a_narrow);
    j.boolean("band_b_narrow", m.band_b_narrow);
    j.num("zone_size", m.zone_size_nm);
  }
  void operator()(const GroupAssignment& m) const {
    j.real("ne_lon_deg", m.ne_lon_deg, 5);
    j.real("ne_lat_deg", m.ne_lat_deg, 5);
    j.real("sw_lon_deg", m.sw_lon_deg, 5);
    j.real("sw_lat_deg", m.sw_lat_deg, 5);
    j.num("station_type", m.station_type);
    j.num("ship_type", m.ship_type);
    j.num("txrx_mode", m.txrx_mode);
    j.num("report_interval", m.report_interval);
    j.num("quiet_time_min", m.quiet_time_min);
  }
  void operator()(const StaticDataReport& m) const {
    j.str("part", m.part == 0 ? "A" : "B");
    if (m.part == 0) {
      j.str("name", m.name.view());
      return;
    }
    j.num("ship_type", m.ship_type);
    j.str("vendor_id", m.vendor_id.view());
    j.num("unit_model", m.unit_model);
    j.num("serial_number", m.serial_number);
    j.str("callsign", m.callsign.view());
    if (m.mothership_mmsi) {
      j.num("mothership_mmsi", *m.mothership_mmsi);
    } else {
      json_dims(j, m.dimensions);
    }
    j.num("epfd", m.epfd);
  }
  void operator()(const SlotBinary& m) const {
    j.boolean("addressed", m.addressed);
    j.boolean("structured", m.structured);
    if (m.dest_mmsi) j.num("dest_mmsi", *m.dest_mmsi);
    if (m.dac) j.num("dac", *m.dac);
    if (m.fi) j.num("fi", *m.fi);
    j.hex("data_hex", m.data);
    if (m.radio) {
      j.boolean("radio_itdma", m.radio_itdma);
      j.num("radio", *m.radio);
    }
  }
  void operator()(const LongRangeReport& m) const {
    j.boolean("position_accuracy_high", m.position_accuracy_high);
    j.boolean("raim", m.raim);
    j.num("nav_status", m.nav_status);
    j.real("lon_deg", m.lon_deg, 5);
    j.real("lat_deg", m.lat_deg, 5);
    j.real("sog_kn", m.sog_kn, 0);
    j.real("cog_deg", m.cog_deg, 0);
    j.boolean("position_latency_over_5s", m.position_latency_over_5s);
  }
};

// ---- to_message ---------------------------------------------------------------------------------

std::optional<std::string> clean_text(std::string_view s) {
  const auto first = s.find_first_not_of(' ');
  if (first == std::string_view::npos) return std::nullopt;
  const auto last = s.find_last_not_of(' ');
  return std::string(s.substr(first, last - first + 1));
}

std::optional<Dimensions> clean_dims(const Dimensions& d) {
  if (d.to_bow_m == 0 && d.to_stern_m == 0 && d.to_port_m == 0 && d.to_starboard_m == 0) return std::nullopt;
  return d;
}

std::optional<std::uint8_t> clean_second(std::uint8_t s) {
  if (s > 59) return std::nullopt;
  return s;
}

std::optional<double> clean_sog(const std::optional<double>& v, double limit) {
  if (!v || *v < 0 || *v > limit) return std::nullopt;
  return v;
}

std::optional<double> clean_cog(const std::optional<double>& v) {
  if (!v || *v < 0 || *v >= 360) return std::nullopt;
  return v;
}

std::optional<std::uint16_t> clean_heading(const std::optional<std::uint16_t>& v) {
  if (!v || *v > 359) return std::nullopt;
  return v;
}

/// lat/lon with the AIS rules: not available → no position; out of range → invalid.
bool set_latlon(const std::optional<double>& lon, const std::optional<double>& lat, PositionReport& p,
                Conversion& c) {
  if (!lon || !lat) return true;
  if (!(*lat >= -90.0 && *lat <= 90.0)) {
    c.status = ConvertStatus::invalid;
    c.reason = "latitude " + std::to_string(*lat) + " out of range";
    return false;
  }
  if (!(*lon >= -180.0 && *lon <= 180.0)) {
    c.status = ConvertStatus::invalid;
    c.reason = "longitude " + std::to_string(*lon) + " out of range";
    return false;
  }
  p.latlon = LatLon{*lat, *lon};
  return true;
}

std::optional<Eta> clean_eta(const StaticVoyageData& m) {
  if (m.eta_month < 1 || m.eta_month > 12 || m.eta_day < 1 || m.eta_day > 31) return std::nullopt;
  static constexpr int kDaysIn[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m.eta_day > kDaysIn[m.eta_month - 1]) return std::nullopt;
  Eta e;
  e.month = m.eta_month;
  e.day = m.eta_day;
  if (m.eta_hour <= 23) e.hour = m.eta_hour;
  if (m.eta_minute <= 59) e.minute = m.eta_minute;
  return e;
}

std::optional<std::uint32_t> clean_imo(std::uint32_t v) {
  if (v < 1'000'000 || v > 9'999'999) return std::nullopt;
  return v;
}

}  // namespace

std::string_view to_string(LengthFlag flag) noexcept {
  switch (flag) {
    case LengthFlag::standard: return "standard";
    case LengthFlag::short_payload: return "short";
    case LengthFlag::long_payload: return "long";
  }
  return "standard";
}

std::string_view to_string(DecodeStatus status) noexcept {
  switch (status) {
    case DecodeStatus::ok: return "ok";
    case DecodeStatus::empty: return "empty";
    case DecodeStatus::bad_character: return "bad_character";
    case DecodeStatus::bad_fill_bits: return "bad_fill_bits";
    case DecodeStatus::too_short: return "too_short";
    case DecodeStatus::too_long: return "too_long";
    case DecodeStatus::unknown_type: return "unknown_type";
    case DecodeStatus::bad_subtype: return "bad_subtype";
  }
  return "unknown_type";
}

std::string_view to_string(ConvertStatus status) noexcept {
  switch (status) {
    case ConvertStatus::ok: return "ok";
    case ConvertStatus::skipped: return "skipped";
    case ConvertStatus::invalid: return "invalid";
  }
  return "invalid";
}

DecodeStatus decode(std::string_view armored, unsigned fill_bits, Decoded& out) noexcept {
  Bits b;
  if (const auto st = b.load(armored, fill_bits); st != DecodeStatus::ok) return st;
  const std::size_t n = b.size();
  if (n < 6) return DecodeStatus::too_short;
  const unsigned type = b.u(0, 6);
  if (type == 0 || type > 27) return DecodeStatus::unknown_type;
  const unsigned part24 = type == 24 ? b.u(38, 2) : 0;
  if (type == 24 && part24 > 1 && n >= 40) return DecodeStatus::bad_subtype;
  const LengthRule rule = length_rule(type, part24);
  if (n < rule.min) return DecodeStatus::too_short;
  b.zero_through_bit(rule.standard_max + 64U);  // fields a short payload lacks read as zero
  if (type == 25 || type == 26) {               // the optional address and application id must fit too
    const std::size_t need = 40 + (b.b(38) ? 30 : 0) + (b.b(39) ? 16 : 0) + (type == 26 ? 20 : 0);
    if (n < need) return DecodeStatus::too_short;
  }
  out.type = static_cast<std::uint8_t>(type);
  out.repeat = static_cast<std::uint8_t>(b.u(6, 2));
  out.mmsi = b.u(8, 30);
  out.bit_count = static_cast<std::uint16_t>(n);
  out.length = n < rule.standard_min   ? LengthFlag::short_payload
               : n > rule.standard_max ? LengthFlag::long_payload
                                       : LengthFlag::standard;
  const std::size_t end = std::min<std::size_t>(n, rule.standard_max);  // variable-length fields stop here
  switch (type) {
    case 1:
    case 2:
    case 3: decode_class_a(b, out); break;
    case 4:
    case 11: decode_base_station(b, out); break;
    case 5: decode_static_voyage(b, out); break;
    case 6: decode_addressed_binary(b, out, end); break;
    case 7:
    case 13: decode_acknowledge(b, out, end); break;
    case 8: decode_binary_broadcast(b, out, end); break;
    case 9: decode_sar(b, out); break;
    case 10: out.body = UtcInquiry{b.u(40, 30)}; break;
    case 12:
    case 14: decode_safety(b, out, end); break;
    case 15: decode_interrogation(b, out, end); break;
    case 16: decode_assigned_mode(b, out, end); break;
    case 17: decode_dgnss(b, out, end); break;
    case 18: decode_class_b(b, out); break;
    case 19: decode_class_b_extended(b, out); break;
    case 20: decode_data_link(b, out, end); break;
    case 21: decode_aton(b, out, end); break;
    case 22: decode_channel_management(b, out); break;
    case 23: decode_group_assignment(b, out); break;
    case 24: decode_static_report(b, out); break;
    case 25:
    case 26: decode_slot_binary(b, out, end); break;
    case 27: decode_long_range(b, out); break;
    default: return DecodeStatus::unknown_type;
  }
  return DecodeStatus::ok;
}

void DecodeCounters::record(DecodeStatus status, const Decoded& d) noexcept {
  const auto i = static_cast<std::size_t>(status);
  if (i < by_status.size()) ++by_status[i];
  if (status != DecodeStatus::ok) return;
  if (d.type < by_type.size()) ++by_type[d.type];
  if (d.length == LengthFlag::short_payload) ++short_payloads;
  if (d.length == LengthFlag::long_payload) ++long_payloads;
}

Conversion to_message(const Decoded& d, TimeMs ts_ms, bool own_ship) {
  Conversion c;
  if (!is_valid_mmsi(d.mmsi)) {
    c.status = ConvertStatus::invalid;
    c.reason = "MMSI " + std::to_string(d.mmsi) + " out of range";
    return c;
  }
  Message msg;
  msg.mmsi = d.mmsi;
  msg.ais_type = d.type;
  msg.source = Source::nmea;
  msg.station = station_class_of(d.type);
  msg.ts_ms = ts_ms;
  msg.own_ship = own_ship;
  c.status = ConvertStatus::ok;

  if (const auto* a = std::get_if<PositionReportClassA>(&d.body)) {
    PositionReport p;
    if (!set_latlon(a->lon_deg, a->lat_deg, p, c)) return c;
    p.sog_kn = clean_sog(a->sog_kn, 102.2);
    p.cog_deg = clean_cog(a->cog_deg);
    p.heading_deg = clean_heading(a->heading_deg);
    p.nav_status = nav_status_from_code(a->nav_status);
    p.rot_deg_min = a->rot_deg_min;
    p.utc_second = clean_second(a->utc_second);
    p.position_accuracy_high = a->position_accuracy_high;
    p.raim = a->raim;
    msg.position = p;
  } else if (const auto* bs = std::get_if<BaseStationReport>(&d.body)) {
    PositionReport p;
    if (!set_latlon(bs->lon_deg, bs->lat_deg, p, c)) return c;
    p.position_accuracy_high = bs->position_accuracy_high;
    p.raim = bs->raim;
    if (bs->utc_year >= 1 && bs->utc_month >= 1 && bs->utc_month <= 12 && bs->utc_day >= 1 &&
        bs->utc_day <= 31 && bs->utc_hour <= 23 && bs->utc_minute <= 59 && bs->utc_second <= 59) {
      const std::int64_t days = days_from_civil(bs->utc_year, bs->utc_month, bs->utc_day);
      p.station_utc_ms = ((days * 24 + bs->utc_hour) * 60 + bs->utc_minute) * 60'000 + bs->utc_second * 1000;
    }
    msg.position = p;
  } else if (const auto* sv = std::get_if<StaticVoyageData>(&d.body)) {
    StaticData s;
    s.name = clean_text(sv->name.view());
    s.callsign = clean_text(sv->callsign.view());
    s.destination = clean_text(sv->destination.view());
    s.imo = clean_imo(sv->imo);
    s.ship_type = ship_type_from_code(sv->ship_type);
    s.dimensions = clean_dims(sv->dimensions);
    s.eta = clean_eta(*sv);
    s.draught_m = sv->draught_m;
    msg.static_data = std::move(s);
  } else if (const auto* sar = std::get_if<SarAircraftReport>(&d.body)) {
    PositionReport p;
    if (!set_latlon(sar->lon_deg, sar->lat_deg, p, c)) return c;
    p.sog_kn = sar->sog_kn;
    p.cog_deg = clean_cog(sar->cog_deg);
    p.altitude_m = sar->altitude_m;
    p.utc_second = clean_second(sar->utc_second);
    p.position_accuracy_high = sar->position_accuracy_high;
    p.raim = sar->raim;
    msg.position = p;
  } else if (const auto* b = std::get_if<PositionReportClassB>(&d.body)) {
    PositionReport p;
    if (!set_latlon(b->lon_deg, b->lat_deg, p, c)) return c;
    p.sog_kn = clean_sog(b->sog_kn, 102.2);
    p.cog_deg = clean_cog(b->cog_deg);
    p.heading_deg = clean_heading(b->heading_deg);
    p.utc_second = clean_second(b->utc_second);
    p.position_accuracy_high = b->position_accuracy_high;
    p.raim = b->raim;
    msg.position = p;
  } else if (const auto* e = std::get_if<ExtendedReportClassB>(&d.body)) {
    PositionReport p;
    if (!set_latlon(e->lon_deg, e->lat_deg, p, c)) return c;
    p.sog_kn = clean_sog(e->sog_kn, 102.2);
    p.cog_deg = clean_cog(e->cog_deg);
    p.heading_deg = clean_heading(e->heading_deg);
    p.utc_second = clean_second(e->utc_second);
    p.position_accuracy_high = e->position_accuracy_high;
    p.raim = e->raim;
    msg.position = p;
    StaticData s;
    s.name = clean_text(e->name.view());
    s.ship_type = ship_type_from_code(e->ship_type);
    s.dimensions = clean_dims(e->dimensions);
    msg.static_data = std::move(s);
  } else if (const auto* at = std::get_if<AidToNavigationReport>(&d.body)) {
    PositionReport p;
    if (!set_latlon(at->lon_deg, at->lat_deg, p, c)) return c;
    p.utc_second = clean_second(at->utc_second);
    p.position_accuracy_high = at->position_accuracy_high;
    p.raim = at->raim;
    msg.position = p;
    StaticData s;
    s.name = clean_text(at->name.view());
    if (at->aton_type >= 1 && at->aton_type <= 31) s.aton_type = at->aton_type;
    s.dimensions = clean_dims(at->dimensions);
    msg.static_data = std::move(s);
  } else if (const auto* sr = std::get_if<StaticDataReport>(&d.body)) {
    StaticData s;
    if (sr->part == 0) {
      s.name = clean_text(sr->name.view());
    } else {
      s.callsign = clean_text(sr->callsign.view());
      s.ship_type = ship_type_from_code(sr->ship_type);
      if (!sr->mothership_mmsi) s.dimensions = clean_dims(sr->dimensions);
    }
    msg.static_data = std::move(s);
  } else if (const auto* lr = std::get_if<LongRangeReport>(&d.body)) {
    PositionReport p;
    if (!set_latlon(lr->lon_deg, lr->lat_deg, p, c)) return c;
    p.sog_kn = lr->sog_kn;
    p.cog_deg = clean_cog(lr->cog_deg);
    p.nav_status = nav_status_from_code(lr->nav_status);
    p.position_accuracy_high = lr->position_accuracy_high;
    p.raim = lr->raim;
    msg.position = p;
  } else {
    c.status = ConvertStatus::skipped;
    c.reason = "message type " + std::to_string(d.type) + " carries no vessel data";
    return c;
  }
  c.message = std::move(msg);
  return c;
}

void append_json_fields(const Decoded& d, std::string& out) {
  Json j(out);
  j.num("type", d.type);
  j.num("repeat", d.repeat);
  j.num("mmsi", d.mmsi);
  j.num("bits", d.bit_count);
  if (d.length != LengthFlag::standard) j.str("length", to_string(d.length));
  std::visit(JsonBody{j}, d.body);
}

}  // namespace aistrack::ais
