// decode.hpp: AIS payload bits → per-type fields → Message and JSON.
#include <aistrack/decode.hpp>
#include <aistrack/nmea.hpp>

#include <doctest/doctest.h>
#include <boost/json.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace aistrack;
using ais::Decoded;
using ais::DecodeStatus;
using ais::LengthFlag;

namespace {

/// Builds payloads bit by bit, then armours them: the test's own encoder.
class BitWriter {
 public:
  BitWriter& u(std::uint64_t value, unsigned bits) {
    for (unsigned i = bits; i-- > 0;) bits_.push_back(static_cast<bool>((value >> i) & 1U));
    return *this;
  }
  BitWriter& s(std::int64_t value, unsigned bits) { return u(static_cast<std::uint64_t>(value), bits); }
  /// ITU 6-bit text, padded with '@' to `chars`.
  BitWriter& text(const std::string& t, unsigned chars) {
    for (unsigned i = 0; i < chars; ++i) {
      const unsigned char c = i < t.size() ? static_cast<unsigned char>(t[i]) : '@';
      u(c >= 64 ? c - 64U : c, 6);
    }
    return *this;
  }
  BitWriter& pad_to(std::size_t n) {
    while (bits_.size() < n) bits_.push_back(false);
    return *this;
  }
  [[nodiscard]] std::size_t size() const { return bits_.size(); }
  /// Armoured payload; `fill` receives the fill bits.
  std::string armor(unsigned& fill) const {
    std::vector<bool> b = bits_;
    fill = static_cast<unsigned>((6 - b.size() % 6) % 6);
    b.resize(b.size() + fill, false);
    std::string out;
    for (std::size_t i = 0; i < b.size(); i += 6) {
      unsigned v = 0;
      for (std::size_t k = 0; k < 6; ++k) v = (v << 1) | (b[i + k] ? 1U : 0U);
      out += static_cast<char>(v < 40 ? v + 48 : v + 56);
    }
    return out;
  }

 private:
  std::vector<bool> bits_;
};

DecodeStatus decode(const BitWriter& w, Decoded& d) {
  unsigned fill = 0;
  const std::string a = w.armor(fill);
  return ais::decode(a, fill, d);
}

/// A type 1 report: MMSI 211234560, moored, ROT raw `rot`, SOG 12.3 kn, lon/lat as raw 1/10000′.
BitWriter class_a(int rot = 0, std::int64_t lon = 6000000, std::int64_t lat = 32100000, unsigned sog = 123,
                  unsigned cog = 2345, unsigned hdg = 234) {
  BitWriter w;
  w.u(1, 6).u(2, 2).u(211234560, 30).u(5, 4).s(rot, 8).u(sog, 10).u(1, 1).s(lon, 28).s(lat, 27).u(cog, 12);
  w.u(hdg, 9).u(42, 6).u(1, 2).u(0, 3).u(1, 1).u(0x12345, 19);
  return w;
}

std::string json_of(const Decoded& d) {
  std::string s = "{";
  ais::append_json_fields(d, s);
  s += "}";
  return s;
}

}  // namespace

TEST_CASE("a known type 1 report decodes like gpsd") {
  Decoded d;
  REQUIRE(ais::decode("177KQJ5000G?tO`K>RA1wUbN0TKH", 0, d) == DecodeStatus::ok);
  CHECK(d.type == 1);
  CHECK(d.mmsi == 477553000);
  CHECK(d.bit_count == 168);
  CHECK(d.length == LengthFlag::standard);
  const auto& a = std::get<ais::PositionReportClassA>(d.body);
  CHECK(a.nav_status == 5);
  CHECK(a.rot_raw == 0);
  CHECK(*a.sog_kn == 0.0);
  CHECK(*a.lon_deg == doctest::Approx(-122.3458333).epsilon(1e-8));
  CHECK(*a.lat_deg == doctest::Approx(47.582833).epsilon(1e-8));
  CHECK(*a.cog_deg == doctest::Approx(51.0));
  CHECK(*a.heading_deg == 181);
  CHECK(a.utc_second == 15);
  CHECK(a.radio == 149208);
}

TEST_CASE("a known two-part type 5 decodes with ETA dimensions and text") {
  nmea::Assembler asm_;
  CHECK(asm_.feed_line("!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C", 0)
            .empty());
  const auto p = asm_.feed_line("!AIVDM,2,2,1,A,88888888880,2*25", 0);
  REQUIRE(p.size() == 1);
  Decoded d;
  REQUIRE(ais::decode(p[0].armored, p[0].fill_bits, d) == DecodeStatus::ok);
  CHECK(d.bit_count == 424);
  const auto& s = std::get<ais::StaticVoyageData>(d.body);
  CHECK(d.mmsi == 351759000);
  CHECK(s.imo == 9134270);
  CHECK(s.callsign.view() == "3FOF8");
  CHECK(s.name.view() == "EVER DIADEM");
  CHECK(s.destination.view() == "NEW YORK");
  CHECK(s.ship_type == 70);
  CHECK(s.dimensions == Dimensions{225, 70, 1, 31});
  CHECK(s.eta_month == 5);
  CHECK(s.eta_day == 15);
  CHECK(s.eta_hour == 14);
  CHECK(s.eta_minute == 0);
  CHECK(*s.draught_m == doctest::Approx(12.2));
  CHECK_FALSE(s.dte_not_ready);

  const auto c = ais::to_message(d, 1234, false);
  REQUIRE(c.status == ais::ConvertStatus::ok);
  const Message& m = *c.message;
  CHECK(m.source == Source::nmea);
  CHECK(m.ts_ms == 1234);
  REQUIRE(m.static_data.has_value());
  CHECK(*m.static_data->name == "EVER DIADEM");
  CHECK(*m.static_data->imo == 9134270);
  CHECK(m.static_data->eta->month == 5);
  CHECK(*m.static_data->eta->hour == 14);
  CHECK(m.static_data->ship_type->code == 70);
  CHECK_FALSE(m.position.has_value());
}

TEST_CASE("the ITU six-bit table keeps underscore and apostrophe and text stops at the first at sign") {
  BitWriter w;
  w.u(24, 6).u(0, 2).u(211234560, 30).u(0, 2).text("O'NEIL_2@X", 20);
  REQUIRE(w.size() == 160);
  Decoded d;
  REQUIRE(decode(w, d) == DecodeStatus::ok);
  const auto& r = std::get<ais::StaticDataReport>(d.body);
  CHECK(r.part == 0);
  CHECK(r.name.view() == "O'NEIL_2");

  BitWriter t;  // trailing spaces go, leading ones stay
  t.u(24, 6).u(0, 2).u(211234560, 30).u(0, 2).text(" ABC  ", 20);
  REQUIRE(decode(t, d) == DecodeStatus::ok);
  CHECK(std::get<ais::StaticDataReport>(d.body).name.view() == " ABC");
  for (unsigned v = 0; v < 64; ++v)
    CHECK(ais::sixbit_ascii(v) == "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?"[v]);
}

TEST_CASE("not available codes become nullopt and impossible values are kept") {
  Decoded d;
  REQUIRE(decode(class_a(-128, 181 * 600000, 91 * 600000, 1023, 3600, 511), d) == DecodeStatus::ok);
  const auto& a = std::get<ais::PositionReportClassA>(d.body);
  CHECK(a.rot_raw == -128);
  CHECK_FALSE(a.rot_deg_min.has_value());
  CHECK_FALSE(a.sog_kn.has_value());
  CHECK_FALSE(a.lon_deg.has_value());
  CHECK_FALSE(a.lat_deg.has_value());
  CHECK_FALSE(a.cog_deg.has_value());
  CHECK_FALSE(a.heading_deg.has_value());

  REQUIRE(decode(class_a(127, -6000000, -60000000, 1022, 3601, 472), d) == DecodeStatus::ok);
  const auto& b = std::get<ais::PositionReportClassA>(d.body);
  CHECK(b.rot_raw == 127);
  CHECK_FALSE(b.rot_deg_min.has_value());  // turning fast, rate unknown
  CHECK(*b.sog_kn == doctest::Approx(102.2));
  CHECK(*b.lon_deg == doctest::Approx(-10.0));
  CHECK(*b.lat_deg == doctest::Approx(-100.0));  // impossible, kept
  CHECK(*b.cog_deg == doctest::Approx(360.1));
  CHECK(*b.heading_deg == 472);

  REQUIRE(decode(class_a(-10), d) == DecodeStatus::ok);
  const double r = 10 / 4.733;
  CHECK(*std::get<ais::PositionReportClassA>(d.body).rot_deg_min == doctest::Approx(-r * r));

  // to_message applies the aisstream.io rules to the same values.
  const auto bad = ais::to_message(d, 0, false);
  CHECK(bad.status == ais::ConvertStatus::ok);
  REQUIRE(decode(class_a(127, -6000000, -60000000, 1022, 3601, 472), d) == DecodeStatus::ok);
  const auto c = ais::to_message(d, 0, false);
  CHECK(c.status == ais::ConvertStatus::invalid);
  CHECK(c.reason.find("latitude") != std::string::npos);
  REQUIRE(decode(class_a(127, -6000000, 6000000, 1022, 3601, 472), d) == DecodeStatus::ok);
  const auto ok = ais::to_message(d, 0, true);
  REQUIRE(ok.status == ais::ConvertStatus::ok);
  const PositionReport& p = *ok.message->position;
  CHECK(ok.message->own_ship);
  CHECK(p.latlon == LatLon{10.0, -10.0});
  CHECK_FALSE(p.cog_deg.has_value());
  CHECK_FALSE(p.heading_deg.has_value());
  CHECK_FALSE(p.rot_deg_min.has_value());
  CHECK(*p.sog_kn == doctest::Approx(102.2));
  CHECK(*p.nav_status == NavStatus::moored);
  CHECK(*p.utc_second == 42);
  CHECK(p.position_accuracy_high);
  CHECK(p.raim);
}

TEST_CASE("short and long payloads are decoded and flagged like gpsd") {
  Decoded d;
  BitWriter full = class_a();
  REQUIRE(decode(full, d) == DecodeStatus::ok);
  CHECK(d.length == LengthFlag::standard);

  BitWriter longer = class_a();
  longer.u(0b101, 3);
  REQUIRE(decode(longer, d) == DecodeStatus::ok);
  CHECK(d.length == LengthFlag::long_payload);
  CHECK(d.bit_count == 171);
  CHECK(std::get<ais::PositionReportClassA>(d.body).radio == 0x12345);

  // 164 bits: everything but the radio state fits (gpsd accepts from 163).
  BitWriter shorter;
  shorter.u(1, 6).u(0, 2).u(211234560, 30).u(0, 4).s(0, 8).u(10, 10).u(0, 1).s(600000, 28).s(600000, 27);
  shorter.u(100, 12).u(90, 9).u(30, 6).u(0, 2).u(0, 3).u(0, 1).u(0, 15);
  REQUIRE(shorter.size() == 164);
  REQUIRE(decode(shorter, d) == DecodeStatus::ok);
  CHECK(d.length == LengthFlag::short_payload);
  CHECK(*std::get<ais::PositionReportClassA>(d.body).lat_deg == doctest::Approx(1.0));
  CHECK(std::get<ais::PositionReportClassA>(d.body).radio == 0);

  BitWriter too_short;
  too_short.u(1, 6).u(0, 2).u(211234560, 30).pad_to(162);
  CHECK(decode(too_short, d) == DecodeStatus::too_short);

  // Type 5 at 420..423 bits is decoded (dte only from 423); below 420 it is too short.
  BitWriter t5;
  t5.u(5, 6).u(0, 2).u(211234560, 30).u(1, 2).u(1234567, 30).text("CALL", 7).text("NAME", 20).pad_to(420);
  REQUIRE(decode(t5, d) == DecodeStatus::ok);
  CHECK(d.length == LengthFlag::short_payload);
  CHECK(std::get<ais::StaticVoyageData>(d.body).dte_not_ready);
  CHECK(std::get<ais::StaticVoyageData>(d.body).name.view() == "NAME");
  BitWriter t5short;
  t5short.u(5, 6).pad_to(419);
  CHECK(decode(t5short, d) == DecodeStatus::too_short);

  // Type 27 is 96 bits; the 168-bit form seen in the wild is decoded and flagged long.
  BitWriter lr;
  lr.u(27, 6).u(3, 2).u(366926320, 30).u(1, 1).u(1, 1).u(15, 4).s(-42509, 18).s(24876, 17).u(9, 6).u(350, 9);
  lr.u(0, 1).u(0, 1);
  REQUIRE(lr.size() == 96);
  REQUIRE(decode(lr, d) == DecodeStatus::ok);
  CHECK(d.length == LengthFlag::standard);
  const auto& l = std::get<ais::LongRangeReport>(d.body);
  CHECK(*l.lon_deg == doctest::Approx(-42509 / 600.0));
  CHECK(*l.lat_deg == doctest::Approx(24876 / 600.0));
  CHECK(*l.sog_kn == 9);
  CHECK(*l.cog_deg == 350);
  CHECK_FALSE(l.position_latency_over_5s);
  lr.pad_to(168);
  REQUIRE(decode(lr, d) == DecodeStatus::ok);
  CHECK(d.length == LengthFlag::long_payload);
}

TEST_CASE("undecodable payloads return a status") {
  Decoded d;
  CHECK(ais::decode("", 0, d) == DecodeStatus::empty);
  CHECK(ais::decode("177KQJ5000G?tO`K>RA1wUbN0TKH", 6, d) == DecodeStatus::bad_fill_bits);
  CHECK(ais::decode("177KQJ5000G?tO`K>RA1wUbN0TKX", 0, d) == DecodeStatus::bad_character);
  CHECK(ais::decode("177KQJ5000G?tO`K>RA1wUbN0TK\x7f", 0, d) == DecodeStatus::bad_character);
  CHECK(ais::decode("077KQJ5000G?tO`K>RA1wUbN0TKH", 0, d) == DecodeStatus::unknown_type);  // type 0
  CHECK(ais::decode("L77KQJ5000G?tO`K>RA1wUbN0TKH", 0, d) == DecodeStatus::unknown_type);  // type 28
  CHECK(ais::decode("1", 0, d) == DecodeStatus::too_short);
  CHECK(ais::decode(std::string(342, '1'), 0, d) == DecodeStatus::too_long);
  BitWriter part2;
  part2.u(24, 6).u(0, 2).u(211234560, 30).u(2, 2).pad_to(168);
  CHECK(decode(part2, d) == DecodeStatus::bad_subtype);
  CHECK(ais::to_string(DecodeStatus::too_short) == "too_short");
  CHECK(ais::to_string(LengthFlag::long_payload) == "long");

  ais::DecodeCounters counters;
  counters.record(DecodeStatus::too_short, d);
  REQUIRE(ais::decode("177KQJ5000G?tO`K>RA1wUbN0TKH", 0, d) == DecodeStatus::ok);
  counters.record(DecodeStatus::ok, d);
  CHECK(counters.by_status[static_cast<std::size_t>(DecodeStatus::too_short)] == 1);
  CHECK(counters.by_status[0] == 1);
  CHECK(counters.by_type[1] == 1);
}

TEST_CASE("type 24 part B gives vendor call sign dimensions or the mothership") {
  BitWriter w;
  w.u(24, 6).u(0, 2).u(338123456, 30).u(1, 2).u(37, 8).text("GRM", 3).u(5, 4).u(12345, 20).text("H985200", 7);
  w.u(10, 9).u(4, 9).u(2, 6).u(3, 6).u(1, 4).u(0, 2);
  REQUIRE(w.size() == 168);
  Decoded d;
  REQUIRE(decode(w, d) == DecodeStatus::ok);
  const auto& r = std::get<ais::StaticDataReport>(d.body);
  CHECK(r.part == 1);
  CHECK(r.ship_type == 37);
  CHECK(r.vendor_id.view() == "GRM");
  CHECK(r.unit_model == 5);
  CHECK(r.serial_number == 12345);
  CHECK(r.callsign.view() == "H985200");
  CHECK(r.dimensions == Dimensions{10, 4, 2, 3});
  CHECK_FALSE(r.mothership_mmsi.has_value());
  CHECK(r.epfd == 1);
  const auto c = ais::to_message(d, 0, false);
  REQUIRE(c.status == ais::ConvertStatus::ok);
  CHECK(c.message->station == StationClass::class_b);
  CHECK(c.message->static_data->dimensions == Dimensions{10, 4, 2, 3});

  BitWriter aux;  // auxiliary craft 98xxxyyyy: the dimension bits carry the mothership MMSI
  aux.u(24, 6).u(0, 2).u(981234567, 30).u(1, 2).u(37, 8).text("GRM", 3).u(0, 24).text("AUX", 7);
  aux.u(211234560, 30).u(0, 6);
  REQUIRE(decode(aux, d) == DecodeStatus::ok);
  CHECK(*std::get<ais::StaticDataReport>(d.body).mothership_mmsi == 211234560);
  const auto ca = ais::to_message(d, 0, false);
  CHECK_FALSE(ca.message->static_data->dimensions.has_value());
}

TEST_CASE("type 21 joins name and extension and converts to position plus static data") {
  BitWriter w;
  w.u(21, 6).u(0, 2).u(992196045, 30).u(29, 5).text("TSS ENTRANCE TO THE ", 20).u(1, 1).s(7449490, 28);
  w.s(33709220, 27).u(0, 30).u(1, 4).u(60, 6).u(0, 1).u(0, 8).u(0, 1).u(1, 1).u(0, 1).u(0, 1);
  REQUIRE(w.size() == 272);
  w.text("SOUND", 5).pad_to(304);
  Decoded d;
  REQUIRE(decode(w, d) == DecodeStatus::ok);
  const auto& a = std::get<ais::AidToNavigationReport>(d.body);
  CHECK(a.name.view() == "TSS ENTRANCE TO THE SOUND");
  CHECK(a.aton_type == 29);
  CHECK(a.virtual_aton);
  const auto c = ais::to_message(d, 0, false);
  REQUIRE(c.status == ais::ConvertStatus::ok);
  CHECK(c.message->station == StationClass::aid_to_navigation);
  CHECK(*c.message->static_data->name == "TSS ENTRANCE TO THE SOUND");
  CHECK(*c.message->static_data->aton_type == 29);
  CHECK_FALSE(c.message->static_data->dimensions.has_value());
  CHECK(c.message->position->latlon->lat_deg == doctest::Approx(33709220 / 600000.0));
}

TEST_CASE("types 6 and 8 give DAC FI raw bits and known applications") {
  BitWriter t6;  // DAC 1 FI 0 text telegram, addressed
  t6.u(6, 6).u(0, 2).u(3669971, 30).u(2, 2).u(923156, 30).u(1, 1).u(0, 1).u(1, 10).u(0, 6);
  t6.u(1, 1).u(77, 11).text("HELLO", 5);
  Decoded d;
  REQUIRE(decode(t6, d) == DecodeStatus::ok);
  const auto& a = std::get<ais::AddressedBinary>(d.body);
  CHECK(a.dest_mmsi == 923156);
  CHECK(a.sequence == 2);
  CHECK(a.retransmitted);
  CHECK(a.dac == 1);
  CHECK(a.fi == 0);
  CHECK(a.data.bit_count == 42);
  const auto& tt = std::get<ais::TextTelegram>(a.application);
  CHECK(tt.ack_required);
  CHECK(tt.text_sequence == 77);
  CHECK(tt.text.view() == "HELLO");
  CHECK(ais::to_message(d, 0, false).status == ais::ConvertStatus::skipped);

  BitWriter unknown;  // an application we do not know: DAC/FI and the bits
  unknown.u(8, 6).u(0, 2).u(2655619, 30).u(0, 2).u(235, 10).u(10, 6).u(0xABCDE, 20);
  REQUIRE(decode(unknown, d) == DecodeStatus::ok);
  const auto& b = std::get<ais::BinaryBroadcast>(d.body);
  CHECK(b.dac == 235);
  CHECK(b.fi == 10);
  CHECK(b.data.bit_count == 20);
  CHECK(b.data.bytes[0] == 0xAB);
  CHECK(b.data.bytes[1] == 0xCD);
  CHECK(b.data.bytes[2] == 0xE0);
  CHECK(std::holds_alternative<std::monostate>(b.application));
  CHECK(json_of(d).find("\"data_hex\":\"abcde0\"") != std::string::npos);

  BitWriter met;  // DAC 1 FI 31: longitude first, 1/1000 minute, then accuracy
  met.u(8, 6).u(0, 2).u(2655619, 30).u(0, 2).u(1, 10).u(31, 6).s(739119, 25).s(3498549, 24).u(1, 1);
  met.u(12, 5).u(8, 5).u(30, 6).pad_to(360);
  REQUIRE(decode(met, d) == DecodeStatus::ok);
  const auto& m = std::get<ais::MetHydroReport>(std::get<ais::BinaryBroadcast>(d.body).application);
  CHECK(*m.lon_deg == doctest::Approx(739119 / 60000.0));
  CHECK(*m.lat_deg == doctest::Approx(3498549 / 60000.0));
  CHECK(*m.position_accuracy_high);
  CHECK(m.utc_day == 12);
  CHECK(m.utc_hour == 8);
  CHECK(m.utc_minute == 30);

  BitWriter inland;  // DAC 200 FI 10: draught in centimetres
  inland.u(8, 6).u(0, 2).u(211000001, 30).u(0, 2).u(200, 10).u(10, 6).text("02345678", 8).u(1105, 13);
  inland.u(114, 10).u(8021, 14).u(1, 3).u(278, 11).u(1, 2).u(1, 1).u(1, 1).u(0, 1).u(0, 8);
  REQUIRE(inland.size() == 168);
  REQUIRE(decode(inland, d) == DecodeStatus::ok);
  const auto& s = std::get<ais::InlandStaticVoyage>(std::get<ais::BinaryBroadcast>(d.body).application);
  CHECK(s.eni.view() == "02345678");
  CHECK(*s.length_m == doctest::Approx(110.5));
  CHECK(*s.beam_m == doctest::Approx(11.4));
  CHECK(s.ship_type == 8021);
  CHECK(*s.draught_m == doctest::Approx(2.78));
  CHECK(s.loaded == 1);
  CHECK(s.speed_quality_high);
  CHECK_FALSE(s.heading_quality_high);
}

TEST_CASE("types 25 and 26 follow the addressed and structured flags") {
  BitWriter w;
  w.u(25, 6).u(0, 2).u(752864929, 30).u(1, 1).u(1, 1).u(415140862, 30).u(882, 10).u(52, 6).u(0xF0, 8);
  Decoded d;
  REQUIRE(decode(w, d) == DecodeStatus::ok);
  const auto& b = std::get<ais::SlotBinary>(d.body);
  CHECK(*b.dest_mmsi == 415140862);
  CHECK(*b.dac == 882);
  CHECK(*b.fi == 52);
  CHECK(b.data.bit_count == 8);
  CHECK(b.data.bytes[0] == 0xF0);
  CHECK_FALSE(b.radio.has_value());

  BitWriter m26;
  m26.u(26, 6)
      .u(0, 2)
      .u(1025342127, 30)
      .u(0, 1)
      .u(1, 1)
      .u(136, 10)
      .u(29, 6)
      .u(0xAA, 8)
      .u(1, 1)
      .u(0x7FFFF, 19);
  REQUIRE(decode(m26, d) == DecodeStatus::ok);
  const auto& c = std::get<ais::SlotBinary>(d.body);
  CHECK_FALSE(c.dest_mmsi.has_value());
  CHECK(*c.dac == 136);
  CHECK(c.data.bit_count == 8);
  CHECK(c.radio_itdma);
  CHECK(*c.radio == 0x7FFFF);

  BitWriter short26;  // addressed + structured needs 40 + 30 + 16 + 20 bits
  short26.u(26, 6).u(0, 2).u(1, 30).u(1, 1).u(1, 1).pad_to(100);
  CHECK(decode(short26, d) == DecodeStatus::too_short);
}

TEST_CASE("base station time and the station clock") {
  BitWriter w;
  w.u(4, 6).u(0, 2).u(2655619, 30).u(2020, 14).u(6, 4).u(1, 5).u(12, 5).u(34, 6).u(56, 6).u(1, 1);
  w.s(6000000, 28).s(30000000, 27).u(1, 4).u(0, 10).u(0, 1).u(0, 19);
  REQUIRE(w.size() == 168);
  Decoded d;
  REQUIRE(decode(w, d) == DecodeStatus::ok);
  const auto c = ais::to_message(d, 0, false);
  REQUIRE(c.status == ais::ConvertStatus::ok);
  CHECK(c.message->station == StationClass::base_station);
  CHECK(*c.message->position->station_utc_ms == 1'591'014'896'000);  // 2020-06-01T12:34:56Z
}

TEST_CASE("to_message rejects bad MMSIs and skips types without vessel data") {
  BitWriter w;
  w.u(1, 6).u(0, 2).u(0, 30).pad_to(168);
  Decoded d;
  REQUIRE(decode(w, d) == DecodeStatus::ok);
  const auto c = ais::to_message(d, 0, false);
  CHECK(c.status == ais::ConvertStatus::invalid);
  CHECK_FALSE(c.message.has_value());
  BitWriter t20;
  t20.u(20, 6).u(0, 2).u(2655619, 30).u(0, 2).u(1021, 12).u(3, 4).u(6, 3).u(1948, 11).pad_to(72);
  REQUIRE(decode(t20, d) == DecodeStatus::ok);
  const auto& r = std::get<ais::DataLinkManagement>(d.body);
  CHECK(r.count == 1);
  CHECK(r.reservations[0].offset == 1021);
  CHECK(r.reservations[0].increment == 1948);
  const auto s = ais::to_message(d, 0, false);
  CHECK(s.status == ais::ConvertStatus::skipped);
  CHECK(ais::to_string(s.status) == "skipped");
}

TEST_CASE("JSON fields are valid JSON for every type and escape text") {
  // Random payloads of each type at its standard length must decode and give well-formed JSON.
  std::mt19937_64 rng(42);
  const unsigned lengths[28] = {0,   168, 168, 168, 168, 424, 200, 168, 400, 168, 72,  168, 300, 104,
                                200, 160, 144, 200, 168, 312, 160, 360, 168, 160, 168, 120, 200, 96};
  int decoded = 0;
  for (unsigned type = 1; type <= 27; ++type) {
    for (int round = 0; round < 50; ++round) {
      BitWriter w;
      w.u(type, 6);
      while (w.size() + 8 <= lengths[type]) w.u(rng() & 0xFF, 8);
      w.pad_to(lengths[type]);
      Decoded d;
      const auto st = decode(w, d);
      if (st != DecodeStatus::ok) {
        CHECK(((type == 24 && st == DecodeStatus::bad_subtype) ||
               ((type == 25 || type == 26) && st == DecodeStatus::too_short)));
        continue;
      }
      ++decoded;
      const std::string j = json_of(d);
      boost::system::error_code ec;
      const auto v = boost::json::parse(j, ec);
      REQUIRE_MESSAGE(!ec, j);
      CHECK(v.as_object().at("type").as_int64() == type);
      (void)ais::to_message(d, 0, false);
    }
  }
  CHECK(decoded > 27 * 30);

  BitWriter q;  // '"' and '\' are in the six-bit table and must be escaped
  q.u(14, 6).u(0, 2).u(211234560, 30).u(0, 2).text("SAY \"HI\" \\ OK", 13);
  Decoded d;
  REQUIRE(decode(q, d) == DecodeStatus::ok);
  CHECK(std::get<ais::SafetyBroadcast>(d.body).text.view() == "SAY \"HI\" \\ OK");
  const auto v = boost::json::parse(json_of(d));
  CHECK(v.as_object().at("text").as_string() == "SAY \"HI\" \\ OK");

  REQUIRE(ais::decode("177KQJ5000G?tO`K>RA1wUbN0TKH", 0, d) == DecodeStatus::ok);
  const auto o = boost::json::parse(json_of(d)).as_object();
  CHECK(o.at("mmsi").as_int64() == 477553000);
  CHECK(o.at("lat_deg").as_double() == doctest::Approx(47.5828333));
  CHECK(o.at("sog_kn").to_number<double>() == 0.0);
  CHECK(o.at("rot_raw").as_int64() == 0);
  REQUIRE(decode(class_a(-128, 181 * 600000, 91 * 600000, 1023, 3600, 511), d) == DecodeStatus::ok);
  const auto n = boost::json::parse(json_of(d)).as_object();
  CHECK(n.at("lat_deg").is_null());
  CHECK(n.at("lon_deg").is_null());
  CHECK(n.at("heading_deg").is_null());
  CHECK(n.at("rot_deg_min").is_null());
}
