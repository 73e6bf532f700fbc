// Real data: every file in ../shared/data/nmea/ decoded by nmea::Assembler + ais::decode and compared
// field for field with the reference decodes in ../shared/data/nmea/expected/ (libais with its text
// table corrected; see SOURCES.md there). Every message and every field the reference has must match,
// floats to the resolution the AIS field carries. The deliberate differences are listed below (and
// explained in docs/NMEA.md, "Differences from the reference decodes"); everything else fails.
#include "support.hpp"

#include <aistrack/decode.hpp>
#include <aistrack/nmea.hpp>

#include <doctest/doctest.h>
#include <zlib.h>
#include <boost/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace aistrack;

namespace {

// ---- deliberate differences ------------------------------------------------------------------------

using FileLine = std::pair<std::string, int>;

// Tag blocks whose checksum is wrong ("*00"): NMEA 4.10 says to reject them, so we ignore the tag block
// and these messages get the receive time and no station; the reference used the c: and s: anyway.
const std::set<FileLine> kBadTagBlockIgnored = {
    {"gfw-ais-tools/sample/spire-test.nmea", 1},
    {"gfw-ais-tools/sample/spire-test.nmea", 2},
};

// Type 21 whose 20-character name ends in a space and continues in the name extension: ITU-R M.1371-5
// and gpsd join name and extension as sent ("TSS ENTRANCE TO THE" + " " + "SOUND"); the reference trimmed
// the name before appending the extension ("…THESOUND").
const std::set<FileLine> kAtonNameExtension = {
    {"opencpn/test/testdata/stupan.se-10112-tcp.log", 244},
};

// Type 26 payloads shorter than their own header (address/application id) plus the 20-bit radio state
// (56 and 72 bits): rejected as too short, as gpsd does; libais reads past the end and decodes them.
const std::set<FileLine> kType26TooShort = {
    {"libais/test/data/test.aivdm", 289},
    {"libais/test/data/test.aivdm", 298},
    {"libais/test/data/test.aivdm", 302},
};

// Messages we decode that the reference does not have. Each must fall in one of these classes:
//  - a talker the reference does not accept ("--", "B1", "B2": the issue asks for any talker);
//  - types 6 and 8 whose application (DAC/FI) libais does not know: we still give DAC/FI and the bits;
//  - types 7, 13, 14, 15, 16, 17, 23 at lengths libais refuses but gpsd (and ITU-R M.1371-5) accepts;
//  - a multipart message whose fragments have different talkers (!ABVDM then !AIVDM): we join by
//    sequence id and channel, as the issue asks; the reference keyed on the talker too.
const std::set<std::string> kReferenceTalkers = {"AI", "AB", "BS", "BY", "SS", "SA"};
const std::set<int> kTypesLibaisRefusesAtSomeLengths = {7, 13, 14, 15, 16, 17, 23};
const std::set<FileLine> kMixedTalkerMultipart = {
    {"gfw-ais-tools/sample/bad-type5.nmea", 1},
};

// Payloads that do not decode at all, per file: empty payloads, unknown types (0, 28..63), and payloads
// shorter than gpsd's minimum for their type. The reference has none of these either.
const std::map<std::string, std::map<ais::DecodeStatus, int>> kUndecodable = {
    {"dma-aislib/ais-lib-communication/src/test/resources/small_example.txt",
     {{ais::DecodeStatus::too_short, 1}}},
    {"gfw-ais-tools/sample/bad-type5.nmea", {{ais::DecodeStatus::too_short, 1}}},
    {"libais/test/data/test.aivdm",
     {{ais::DecodeStatus::too_short, 18}, {ais::DecodeStatus::unknown_type, 17}}},
    {"pyais/tests/nmea_data_sample.txt", {{ais::DecodeStatus::empty, 100}}},
};

// ---- reading ---------------------------------------------------------------------------------------

std::vector<std::string> read_gz_lines(const fs::path& path) {
  std::vector<std::string> lines;
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return lines;
  std::string current;
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        lines.push_back(std::move(current));
        current.clear();
      } else {
        current += buf[i];
      }
    }
  }
  if (!current.empty()) lines.push_back(std::move(current));
  gzclose(f);
  return lines;
}

struct Ours {
  int line = 0;
  std::string talker;  // "AIVDM"
  char channel = '\0';
  int fragments = 1;
  TimeMs ts_ms = 0;
  bool ts_from_tag_block = false;
  std::string station;
  ais::Decoded d;
  bool matched = false;
};

struct FileResult {
  std::vector<Ours> messages;
  std::map<ais::DecodeStatus, int> failures;
  std::map<int, ais::DecodeStatus> failure_at_line;  // the last failure on each line
};

constexpr TimeMs kReceived = 1'000'000'000'000;  // a time no reference record uses

FileResult decode_file(const fs::path& path) {
  FileResult r;
  std::ifstream in(path, std::ios::binary);
  nmea::Assembler assembler;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    for (const nmea::Payload& p : assembler.feed_line(line, kReceived)) {
      Ours o;
      const auto status = ais::decode(p.armored, p.fill_bits, o.d);
      if (status != ais::DecodeStatus::ok) {
        ++r.failures[status];
        r.failure_at_line[n] = status;
        continue;
      }
      o.line = n;
      o.talker = std::string(p.talker.data(), 2) + (p.own_ship ? "VDO" : "VDM");
      o.channel = p.channel;
      o.fragments = p.fragments;
      o.ts_ms = p.ts_ms;
      o.ts_from_tag_block = p.ts_from_tag_block;
      o.station = std::string(p.station);
      r.messages.push_back(std::move(o));
    }
  }
  return r;
}

// ---- field access ----------------------------------------------------------------------------------

double number(const json::value& v) {
  return v.is_double() ? v.get_double() : static_cast<double>(v.to_number<std::int64_t>());
}

long long scaled(double v, double scale) { return std::llround(v * scale); }

/// The reference's text (libais table, already corrected for names/callsigns/destinations) and ours, made
/// comparable: libais writes '-' for '_' and '`' for '\'' in free text and does not cut at '@'.
std::string normalize_libais_text(std::string s) {
  if (const auto at = s.find('@'); at != std::string::npos) s.resize(at);
  for (char& c : s) {
    if (c == '`') c = '\'';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}
std::string libais_dashes(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '_') c = '-';
  }
  return out;
}

/// Two digits (or four for a year) with leading zeros.
std::string pad(unsigned v, int width) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%0*u", width, v);
  return buf;
}

struct Checker {
  const Ours& o;
  const json::object& e;
  std::string where;
  int checked = 0;

  void fail(const std::string& key, const std::string& what) const {
    FAIL_CHECK(where << " field " << key << ": " << what << " | expected " << json::serialize(e));
  }

  void eq_int(const std::string& key, long long ours) {
    ++checked;
    const long long want = std::llround(number(e.at(key)));
    if (want != ours) fail(key, "ours " + std::to_string(ours));
  }
  void eq_bool(const std::string& key, bool ours) {
    ++checked;
    const json::value& v = e.at(key);
    const bool want = v.is_bool() ? v.get_bool() : number(v) != 0;
    if (want != ours) fail(key, std::string("ours ") + (ours ? "true" : "false"));
  }
  void eq_str(const std::string& key, std::string_view ours) {
    ++checked;
    const std::string want(e.at(key).as_string());
    if (want != ours) fail(key, "ours \"" + std::string(ours) + "\"");
  }
  /// Float at a resolution of 1/scale; `sentinel` in the reference ⇔ nullopt here.
  void eq_scaled(const std::string& key, const std::optional<double>& ours, double scale,
                 std::optional<double> sentinel) {
    ++checked;
    const double want = number(e.at(key));
    if (sentinel && std::abs(want - *sentinel) < 0.5 / scale) {
      if (ours) fail(key, "ours " + std::to_string(*ours) + ", reference says not available");
      return;
    }
    if (!ours) return fail(key, "ours null");
    if (scaled(want, scale) != scaled(*ours, scale)) fail(key, "ours " + std::to_string(*ours));
  }
  void eq_heading(const std::optional<std::uint16_t>& ours) {
    ++checked;
    const long long want = std::llround(number(e.at("heading")));
    if (want == 511) {
      if (ours) fail("heading", "ours " + std::to_string(*ours));
    } else if (!ours || *ours != want) {
      fail("heading", ours ? "ours " + std::to_string(*ours) : "ours null");
    }
  }
  void rot(const ais::PositionReportClassA& a) {
    ++checked;
    const double want = number(e.at("rot"));
    const long long raw = std::llround(std::copysign(std::sqrt(std::abs(want)) * 4.733, want));
    if (raw != a.rot_raw)
      fail("rot", "ours raw " + std::to_string(a.rot_raw) + ", reference raw " + std::to_string(raw));
  }
  void dims(const Dimensions& d) {
    eq_int("to_bow", d.to_bow_m);
    eq_int("to_stern", d.to_stern_m);
    eq_int("to_port", d.to_port_m);
    eq_int("to_starboard", d.to_starboard_m);
  }
  void text(const std::string& key, std::string_view ours) {
    ++checked;
    const std::string want = normalize_libais_text(std::string(e.at(key).as_string()));
    if (want != libais_dashes(ours)) fail(key, "ours \"" + std::string(ours) + "\"");
  }
};

/// Compares every key of the reference record `e` with our decode; unknown keys fail.
void compare(const Ours& o, const json::object& e, const std::string& rel) {
  const FileLine here{rel, o.line};
  Checker c{o, e, rel + ":" + std::to_string(o.line)};
  const ais::Decoded& d = o.d;
  std::set<std::string> keys;
  for (const auto& kv : e) keys.insert(std::string(kv.key()));
  auto has = [&](const char* k) { return keys.count(k) != 0; };
  auto done = [&](std::initializer_list<const char*> ks) {
    for (const char* k : ks) keys.erase(k);
  };
  done({"file", "line"});

  // Envelope.
  c.eq_str("talker", o.talker);
  c.eq_str("channel", o.channel == '\0' ? std::string() : std::string(1, o.channel));
  c.eq_int("fragments", o.fragments);
  if (has("lenient") && e.at("lenient").as_bool() && d.length != ais::LengthFlag::long_payload) {
    c.fail("lenient", "reference trimmed an over-long payload; ours not flagged long");
  }
  const bool tag_time = has("time_src") && e.at("time_src").as_string() == "tagblock";
  if (kBadTagBlockIgnored.count(here) != 0) {
    ++c.checked;
    if (o.ts_from_tag_block || !o.station.empty())
      c.fail("time", "a tag block with a wrong checksum was used");
  } else {
    if (has("station")) c.eq_str("station", o.station);
    if (tag_time) {
      ++c.checked;
      const TimeMs want = std::llround(number(e.at("time")) * 1000.0);
      if (!o.ts_from_tag_block || o.ts_ms != want) c.fail("time", "ours " + std::to_string(o.ts_ms));
    } else if (o.ts_from_tag_block) {
      c.fail("time", "ours came from a tag block the reference did not use");
    }
  }
  done({"talker", "channel", "fragments", "station", "lenient", "time", "time_src"});
  c.eq_int("type", d.type);
  c.eq_int("repeat", d.repeat);
  c.eq_int("mmsi", d.mmsi);
  done({"type", "repeat", "mmsi"});

  if (const auto* a = std::get_if<ais::PositionReportClassA>(&d.body)) {
    c.eq_int("nav_status", a->nav_status);
    c.rot(*a);
    c.eq_bool("rot_over_range", !a->rot_deg_min.has_value());
    c.eq_scaled("sog", a->sog_kn, 10, 102.3);
    c.eq_bool("accuracy", a->position_accuracy_high);
    c.eq_scaled("lon", a->lon_deg, 600000, 181);
    c.eq_scaled("lat", a->lat_deg, 600000, 91);
    c.eq_scaled("cog", a->cog_deg, 10, 360);
    c.eq_heading(a->heading_deg);
    c.eq_int("second", a->utc_second);
    c.eq_int("maneuver", a->maneuver);
    c.eq_bool("raim", a->raim);
    done({"nav_status", "rot", "rot_over_range", "sog", "accuracy", "lon", "lat", "cog", "heading", "second",
          "maneuver", "raim"});
  } else if (const auto* b4 = std::get_if<ais::BaseStationReport>(&d.body)) {
    c.eq_bool("accuracy", b4->position_accuracy_high);
    c.eq_scaled("lon", b4->lon_deg, 600000, 181);
    c.eq_scaled("lat", b4->lat_deg, 600000, 91);
    c.eq_bool("raim", b4->raim);
    c.eq_int("epfd", b4->epfd);
    c.eq_str("timestamp", pad(b4->utc_year, 4) + "-" + pad(b4->utc_month, 2) + "-" + pad(b4->utc_day, 2) +
                              "T" + pad(b4->utc_hour, 2) + ":" + pad(b4->utc_minute, 2) + ":" +
                              pad(b4->utc_second, 2) + "Z");
    done({"accuracy", "lon", "lat", "raim", "epfd", "timestamp"});
  } else if (const auto* s5 = std::get_if<ais::StaticVoyageData>(&d.body)) {
    c.eq_int("ais_version", s5->ais_version);
    c.eq_int("imo", s5->imo);
    c.eq_str("callsign", s5->callsign.view());
    c.eq_str("name", s5->name.view());
    c.eq_int("ship_type", s5->ship_type);
    c.dims(s5->dimensions);
    c.eq_int("epfd", s5->epfd);
    c.eq_scaled("draught", s5->draught_m, 10, 0.0);
    c.eq_str("destination", s5->destination.view());
    c.eq_int("dte", s5->dte_not_ready ? 1 : 0);
    c.eq_str("eta", pad(s5->eta_month, 2) + "-" + pad(s5->eta_day, 2) + "T" + pad(s5->eta_hour, 2) + ":" +
                        pad(s5->eta_minute, 2) + "Z");
    done({"ais_version", "imo", "callsign", "name", "ship_type", "to_bow", "to_stern", "to_port",
          "to_starboard", "epfd", "draught", "destination", "dte", "eta"});
  } else if (const auto* b6 = std::get_if<ais::AddressedBinary>(&d.body)) {
    c.eq_int("dac", b6->dac);
    c.eq_int("fi", b6->fi);
    if (has("text")) {
      const auto* t = std::get_if<ais::TextTelegram>(&b6->application);
      if (t == nullptr) {
        c.fail("text", "ours has no text telegram");
      } else {
        c.text("text", t->text.view());
      }
    }
    done({"dac", "fi", "text"});
  } else if (const auto* b8 = std::get_if<ais::BinaryBroadcast>(&d.body)) {
    c.eq_int("dac", b8->dac);
    c.eq_int("fi", b8->fi);
    if (has("lat") || has("lon") || has("accuracy")) {
      const auto* m = std::get_if<ais::MetHydroReport>(&b8->application);
      if (m == nullptr) {
        c.fail("lat", "ours has no met-hydro position");
      } else {
        if (has("lon")) c.eq_scaled("lon", m->lon_deg, 60000, 181);
        if (has("lat")) c.eq_scaled("lat", m->lat_deg, 60000, 91);
        if (has("accuracy")) c.eq_bool("accuracy", m->position_accuracy_high.value_or(false));
      }
    }
    if (has("draught")) {
      const auto* s = std::get_if<ais::InlandStaticVoyage>(&b8->application);
      if (s == nullptr) {
        c.fail("draught", "ours has no inland static data");
      } else {
        // libais divides this centimetre field by 10 instead of 100: compare the raw field.
        ++c.checked;
        const long long want_raw = std::llround(number(e.at("draught")) * 10);
        const long long ours_raw = std::llround(s->draught_m.value_or(0) * 100);
        if (want_raw != ours_raw) c.fail("draught", "ours raw " + std::to_string(ours_raw));
      }
    }
    if (has("text")) {
      if (const auto* t = std::get_if<ais::TextTelegram>(&b8->application)) {
        c.text("text", t->text.view());
      } else if (const auto* t2 = std::get_if<ais::TextDescription>(&b8->application)) {
        c.text("text", t2->text.view());
      } else {
        c.fail("text", "ours has no text");
      }
    }
    done({"dac", "fi", "lat", "lon", "accuracy", "draught", "text"});
  } else if (const auto* s9 = std::get_if<ais::SarAircraftReport>(&d.body)) {
    c.eq_scaled("alt", s9->altitude_m, 1, 4095);
    c.eq_scaled("sog", s9->sog_kn, 1, 1023);
    c.eq_bool("accuracy", s9->position_accuracy_high);
    c.eq_scaled("lon", s9->lon_deg, 600000, 181);
    c.eq_scaled("lat", s9->lat_deg, 600000, 91);
    c.eq_scaled("cog", s9->cog_deg, 10, 360);
    c.eq_int("second", s9->utc_second);
    c.eq_int("dte", s9->dte_not_ready ? 1 : 0);
    c.eq_bool("raim", s9->raim);
    done({"alt", "sog", "accuracy", "lon", "lat", "cog", "second", "dte", "raim"});
  } else if (const auto* q = std::get_if<ais::UtcInquiry>(&d.body)) {
    c.eq_int("dest_mmsi", q->dest_mmsi);
    done({"dest_mmsi"});
  } else if (const auto* s12 = std::get_if<ais::AddressedSafety>(&d.body)) {
    c.eq_int("dest_mmsi", s12->dest_mmsi);
    c.text("text", s12->text.view());
    done({"dest_mmsi", "text"});
  } else if (const auto* s14 = std::get_if<ais::SafetyBroadcast>(&d.body)) {
    c.text("text", s14->text.view());
    done({"text"});
  } else if (const auto* g = std::get_if<ais::DgnssBroadcast>(&d.body)) {
    c.eq_scaled("lon", g->lon_deg, 600, 181);
    c.eq_scaled("lat", g->lat_deg, 600, 91);
    done({"lon", "lat"});
  } else if (const auto* b18 = std::get_if<ais::PositionReportClassB>(&d.body)) {
    c.eq_scaled("sog", b18->sog_kn, 10, 102.3);
    c.eq_bool("accuracy", b18->position_accuracy_high);
    c.eq_scaled("lon", b18->lon_deg, 600000, 181);
    c.eq_scaled("lat", b18->lat_deg, 600000, 91);
    c.eq_scaled("cog", b18->cog_deg, 10, 360);
    c.eq_heading(b18->heading_deg);
    c.eq_int("second", b18->utc_second);
    c.eq_bool("raim", b18->raim);
    c.eq_bool("unit_flag", b18->cs_unit);
    c.eq_bool("display_flag", b18->has_display);
    c.eq_bool("dsc_flag", b18->has_dsc);
    c.eq_bool("band_flag", b18->whole_band);
    c.eq_bool("m22_flag", b18->accepts_msg22);
    c.eq_bool("mode_flag", b18->assigned);
    c.eq_bool("commstate_flag", b18->radio_itdma);
    done({"sog", "accuracy", "lon", "lat", "cog", "heading", "second", "raim", "unit_flag", "display_flag",
          "dsc_flag", "band_flag", "m22_flag", "mode_flag", "commstate_flag"});
  } else if (const auto* b19 = std::get_if<ais::ExtendedReportClassB>(&d.body)) {
    c.eq_scaled("sog", b19->sog_kn, 10, 102.3);
    c.eq_bool("accuracy", b19->position_accuracy_high);
    c.eq_scaled("lon", b19->lon_deg, 600000, 181);
    c.eq_scaled("lat", b19->lat_deg, 600000, 91);
    c.eq_scaled("cog", b19->cog_deg, 10, 360);
    c.eq_heading(b19->heading_deg);
    c.eq_int("second", b19->utc_second);
    c.eq_bool("raim", b19->raim);
    c.eq_str("name", b19->name.view());
    c.eq_int("ship_type", b19->ship_type);
    c.dims(b19->dimensions);
    c.eq_int("epfd", b19->epfd);
    c.eq_int("dte", b19->dte_not_ready ? 1 : 0);
    done({"sog", "accuracy", "lon", "lat", "cog", "heading", "second", "raim", "name", "ship_type", "to_bow",
          "to_stern", "to_port", "to_starboard", "epfd", "dte"});
  } else if (const auto* a21 = std::get_if<ais::AidToNavigationReport>(&d.body)) {
    c.eq_bool("accuracy", a21->position_accuracy_high);
    c.eq_scaled("lon", a21->lon_deg, 600000, 181);
    c.eq_scaled("lat", a21->lat_deg, 600000, 91);
    c.eq_int("second", a21->utc_second);
    c.eq_bool("raim", a21->raim);
    if (kAtonNameExtension.count(here) != 0) {  // ours keeps the space between name and extension
      ++c.checked;
      const std::string ours(a21->name.view());
      if (ours.size() < 21 || ours[19] != ' ' ||
          ours.substr(0, 19) + ours.substr(20) != e.at("name").as_string()) {
        c.fail("name", "ours \"" + ours + "\"");
      }
    } else {
      c.eq_str("name", a21->name.view());
    }
    c.dims(a21->dimensions);
    c.eq_int("epfd", a21->epfd);
    c.eq_int("aton_type", a21->aton_type);
    c.eq_bool("off_pos", a21->off_position);
    c.eq_bool("virtual_aton", a21->virtual_aton);
    done({"accuracy", "lon", "lat", "second", "raim", "name", "to_bow", "to_stern", "to_port", "to_starboard",
          "epfd", "aton_type", "off_pos", "virtual_aton"});
  } else if (const auto* g23 = std::get_if<ais::GroupAssignment>(&d.body)) {
    c.eq_int("ship_type", g23->ship_type);
    done({"ship_type"});
  } else if (const auto* s24 = std::get_if<ais::StaticDataReport>(&d.body)) {
    c.eq_int("part_num", s24->part);
    if (s24->part == 0) {
      c.eq_str("name", s24->name.view());
      done({"part_num", "name"});
    } else {
      c.eq_int("ship_type", s24->ship_type);
      c.eq_str("callsign", s24->callsign.view());
      c.eq_str("vendor_id", s24->vendor_id.view());
      c.dims(s24->dimensions);
      done({"part_num", "ship_type", "callsign", "vendor_id", "to_bow", "to_stern", "to_port",
            "to_starboard"});
    }
  } else if (const auto* sb = std::get_if<ais::SlotBinary>(&d.body)) {
    if (has("dest_mmsi")) c.eq_int("dest_mmsi", sb->dest_mmsi.value_or(0));
    if (has("dac")) c.eq_int("dac", sb->dac.value_or(9999));
    if (has("fi")) c.eq_int("fi", sb->fi.value_or(9999));
    done({"dest_mmsi", "dac", "fi"});
  } else if (const auto* l27 = std::get_if<ais::LongRangeReport>(&d.body)) {
    c.eq_int("nav_status", l27->nav_status);
    c.eq_scaled("sog", l27->sog_kn, 1, 63);
    c.eq_bool("accuracy", l27->position_accuracy_high);
    c.eq_scaled("lon", l27->lon_deg, 600, 181);
    c.eq_scaled("lat", l27->lat_deg, 600, 91);
    c.eq_scaled("cog", l27->cog_deg, 1, 511);
    c.eq_bool("raim", l27->raim);
    c.eq_bool("gnss", !l27->position_latency_over_5s);  // libais's "gnss": position is current
    done({"nav_status", "sog", "accuracy", "lon", "lat", "cog", "raim", "gnss"});
  }
  for (const auto& k : keys) c.fail(k, "not compared (unknown to this test)");
}

std::string reference_input(const fs::path& expected) {
  std::string name = expected.filename().string();
  name.resize(name.size() - std::string(".jsonl.gz").size());
  for (std::size_t p = name.find("__"); p != std::string::npos; p = name.find("__", p + 1))
    name.replace(p, 2, "/");
  return name;
}

}  // namespace

TEST_CASE("every shared NMEA file decodes to the reference fields") {
  AISTRACK_REQUIRE_SHARED_DATA(shared);
  const fs::path nmea = shared / "nmea";
  const fs::path expected_dir = nmea / "expected";
  REQUIRE(fs::is_directory(expected_dir));

  std::vector<fs::path> expected_files;
  for (const auto& entry : fs::directory_iterator(expected_dir)) expected_files.push_back(entry.path());
  std::sort(expected_files.begin(), expected_files.end());
  REQUIRE(expected_files.size() >= 30);

  long reference_messages = 0;
  long matched = 0;
  long deliberately_undecoded = 0;
  long fields = 0;
  long extra = 0;
  for (const fs::path& exp : expected_files) {
    const std::string rel = reference_input(exp);
    CAPTURE(rel);
    REQUIRE(fs::is_regular_file(nmea / rel));
    FileResult ours = decode_file(nmea / rel);
    std::map<int, std::vector<Ours*>> by_line;
    for (Ours& o : ours.messages) by_line[o.line].push_back(&o);

    for (const std::string& text : read_gz_lines(exp)) {
      const json::object e = json::parse(text).as_object();
      ++reference_messages;
      const int line = static_cast<int>(e.at("line").to_number<std::int64_t>());
      const auto type = e.at("type").to_number<std::int64_t>();
      const auto mmsi = e.at("mmsi").to_number<std::int64_t>();
      Ours* hit = nullptr;
      for (Ours* o : by_line[line]) {
        if (!o->matched && o->d.type == type && o->d.mmsi == mmsi) {
          hit = o;
          break;
        }
      }
      if (hit == nullptr && kType26TooShort.count({rel, line}) != 0) {
        ++deliberately_undecoded;
        CHECK(type == 26);
        CHECK(ours.failure_at_line[line] == ais::DecodeStatus::too_short);
        continue;
      }
      if (hit == nullptr) {
        FAIL_CHECK(rel << ":" << line << ": reference message not decoded: " << text);
        continue;
      }
      hit->matched = true;
      ++matched;
      compare(*hit, e, rel);
      fields += static_cast<long>(e.size());
    }

    for (const Ours& o : ours.messages) {
      if (o.matched) continue;
      ++extra;
      const bool explained = kReferenceTalkers.count(o.talker.substr(0, 2)) == 0 || o.d.type == 6 ||
                             o.d.type == 8 || kTypesLibaisRefusesAtSomeLengths.count(o.d.type) != 0 ||
                             kMixedTalkerMultipart.count({rel, o.line}) != 0;
      if (!explained) {
        FAIL_CHECK(rel << ":" << o.line << ": type " << int{o.d.type}
                       << " decoded here but not by the reference");
      }
    }
    const auto want_failures = kUndecodable.find(rel);
    const std::map<ais::DecodeStatus, int> none;
    CHECK(ours.failures == (want_failures == kUndecodable.end() ? none : want_failures->second));
  }
  MESSAGE("reference messages " << reference_messages << ": " << matched << " matched field for field ("
                                << fields << " fields), " << deliberately_undecoded
                                << " deliberately not decoded; " << extra
                                << " decoded here but not by the reference");
  CHECK(matched + deliberately_undecoded == reference_messages);
  CHECK(deliberately_undecoded == static_cast<long>(kType26TooShort.size()));
  CHECK(reference_messages > 40000);
}
