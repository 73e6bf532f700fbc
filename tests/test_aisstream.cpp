#include <aistrack/aisstream.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <map>

using namespace aistrack;
using aisstream::Status;

namespace {
constexpr TimeMs kNow = 1'700'000'000'000;

// 2023-10-15T09:51:08.143Z
constexpr TimeMs kSampleTs = 1697363468143;

std::string position_frame(std::string_view fields,
                           std::string_view meta_time = "2023-10-15 09:51:08.143077274 +0000 UTC") {
  return std::string(R"({"Message":{"PositionReport":{"MessageID":1,"UserID":244700923,"Valid":true,)") +
         std::string(fields) +
         R"(}},"MessageType":"PositionReport","MetaData":{"MMSI":244700923,"time_utc":")" +
         std::string(meta_time) + R"("}})";
}
}  // namespace

TEST_CASE("aisstream: Go time strings with 0-9 fractional digits") {
  CHECK(aisstream::parse_go_time("2023-10-15 09:51:08.143077274 +0000 UTC") == kSampleTs);
  CHECK(aisstream::parse_go_time("2023-10-15 09:51:08 +0000 UTC") == kSampleTs - 143);
  CHECK(aisstream::parse_go_time("2023-10-15 09:51:08.1 +0000 UTC") == kSampleTs - 43);
  CHECK(aisstream::parse_go_time("2023-10-15 09:51:08.14 +0000 UTC") == kSampleTs - 3);
  CHECK(aisstream::parse_go_time("2023-10-15 09:51:08.1439 +0000 UTC") == kSampleTs);
  CHECK(aisstream::parse_go_time("2023-10-15 11:51:08.143 +0200 CEST") == kSampleTs);
  CHECK(aisstream::parse_go_time("2023-10-15 09:51:08.143077274 +0000 UTC m=+0.002") == kSampleTs);
  CHECK_FALSE(aisstream::parse_go_time("2023-10-15T09:51:08Z"));
  CHECK_FALSE(aisstream::parse_go_time("2023-13-15 09:51:08 +0000 UTC"));
  CHECK_FALSE(aisstream::parse_go_time("2023-10-15 09:51:08. +0000 UTC"));
  CHECK_FALSE(aisstream::parse_go_time("2023-10-15 09:51:08.1234567890 +0000 UTC"));
  CHECK_FALSE(aisstream::parse_go_time(""));
}

TEST_CASE("aisstream: a class A position report with every field") {
  const auto r = aisstream::parse(
      position_frame(
          R"("Latitude":51.9679,"Longitude":4.11396,"Sog":4.2,"Cog":296.1,"TrueHeading":307,)"
          R"("NavigationalStatus":5,"RateOfTurn":-11,"Timestamp":5,"PositionAccuracy":true,"Raim":false)"),
      kNow);
  REQUIRE(r.status == Status::ok);
  const Message& m = *r.message;
  CHECK(m.mmsi == 244700923);
  CHECK(m.ais_type == 1);
  CHECK(m.source == Source::aisstream);
  CHECK(m.station == StationClass::class_a);
  CHECK(m.ts_ms == kSampleTs);
  REQUIRE(m.position);
  REQUIRE(m.position->latlon);
  CHECK(m.position->latlon->lat_deg == doctest::Approx(51.9679));
  CHECK(m.position->latlon->lon_deg == doctest::Approx(4.11396));
  CHECK(m.position->sog_kn == doctest::Approx(4.2));
  CHECK(m.position->cog_deg == doctest::Approx(296.1));
  CHECK(m.position->heading_deg == 307);
  CHECK(m.position->nav_status == NavStatus::moored);
  CHECK(*m.position->rot_deg_min == doctest::Approx(-(11 / 4.733) * (11 / 4.733)));
  CHECK(m.position->utc_second == 5);
  CHECK(m.position->position_accuracy_high);
  CHECK_FALSE(m.position->raim);
  CHECK_FALSE(m.static_data);
}

TEST_CASE("aisstream: not-available sentinels become nullopt") {
  const auto r = aisstream::parse(
      position_frame(R"("Latitude":91,"Longitude":181,"Sog":102.3,"Cog":360,"TrueHeading":511,)"
                     R"("NavigationalStatus":15,"RateOfTurn":-128,"Timestamp":60)"),
      kNow);
  REQUIRE(r.status == Status::ok);
  const PositionReport& p = *r.message->position;
  CHECK_FALSE(p.latlon);
  CHECK_FALSE(p.sog_kn);
  CHECK_FALSE(p.cog_deg);
  CHECK_FALSE(p.heading_deg);
  CHECK_FALSE(p.nav_status);
  CHECK_FALSE(p.rot_deg_min);
  CHECK_FALSE(p.utc_second);
}

TEST_CASE("aisstream: impossible values are rejected or nulled as documented") {
  SUBCASE("heading 456 is nulled, the report kept") {
    const auto r = aisstream::parse(position_frame(R"("Latitude":50,"Longitude":4,"TrueHeading":456)"), kNow);
    REQUIRE(r.status == Status::ok);
    CHECK_FALSE(r.message->position->heading_deg);
  }
  SUBCASE("latitude 95 rejects the message") {
    const auto r = aisstream::parse(position_frame(R"("Latitude":95,"Longitude":4)"), kNow);
    CHECK(r.status == Status::invalid);
    CHECK(r.reason.find("latitude") != std::string::npos);
  }
  SUBCASE("longitude -190 rejects the message") {
    CHECK(aisstream::parse(position_frame(R"("Latitude":50,"Longitude":-190)"), kNow).status ==
          Status::invalid);
  }
  SUBCASE("MMSI 0 rejects the message") {
    const auto r = aisstream::parse(
        R"({"Message":{"PositionReport":{"MessageID":1,"UserID":0,"Latitude":1,"Longitude":1}},"MessageType":"PositionReport","MetaData":{}})",
        kNow);
    CHECK(r.status == Status::invalid);
    CHECK(r.reason.find("MMSI") != std::string::npos);
  }
  SUBCASE("Valid=false rejects the message") {
    const auto r = aisstream::parse(
        R"({"Message":{"PositionReport":{"MessageID":1,"UserID":244700923,"Valid":false,"Latitude":1,"Longitude":1}},"MessageType":"PositionReport"})",
        kNow);
    CHECK(r.status == Status::invalid);
  }
  SUBCASE("negative SOG and COG above 360 are nulled") {
    const auto r =
        aisstream::parse(position_frame(R"("Latitude":50,"Longitude":4,"Sog":-1,"Cog":400)"), kNow);
    REQUIRE(r.status == Status::ok);
    CHECK_FALSE(r.message->position->sog_kn);
    CHECK_FALSE(r.message->position->cog_deg);
  }
}

TEST_CASE("aisstream: frames without time use the receive time, and malformed time is an error") {
  const std::string no_meta =
      R"({"Message":{"PositionReport":{"MessageID":1,"UserID":244700923,"Latitude":1,"Longitude":1}},"MessageType":"PositionReport"})";
  const auto r = aisstream::parse(no_meta, kNow);
  REQUIRE(r.status == Status::ok);
  CHECK(r.message->ts_ms == kNow);
  CHECK(aisstream::parse(position_frame(R"("Latitude":1,"Longitude":1)", "yesterday"), kNow).status ==
        Status::malformed);
}

TEST_CASE("aisstream: malformed input returns a status and never throws") {
  aisstream::Parser p;
  const char* bad[] = {
      "",
      "{",
      "[]",
      "null",
      "{\"MessageType\":5}",
      "{\"MessageType\":\"PositionReport\"}",
      R"({"MessageType":"PositionReport","Message":{"PositionReport":{"UserID":244700923}}})",
      "{\"a\":1} trailing",
      "\xff\xfe",
      R"({"MessageType":"PositionReport","Message":[]})"};
  for (const char* frame : bad) {
    CAPTURE(frame);
    aisstream::Result r;
    CHECK_NOTHROW(r = p.parse(frame, kNow));
    CHECK(r.status == Status::malformed);
    CHECK_FALSE(r.reason.empty());
    CHECK_FALSE(r.message);
  }
  CHECK(p.counters().malformed == std::size(bad));
  CHECK(p.counters().ok == 0);
}

TEST_CASE("aisstream: SubscriptionConfirmation and unknown types are skipped, errors recognised") {
  aisstream::Parser p;
  auto r = p.parse(R"({"MessageType":"SubscriptionConfirmation","Message":{}})", kNow);
  CHECK(r.status == Status::skipped);
  CHECK(r.reason.find("SubscriptionConfirmation") != std::string::npos);
  r = p.parse(R"({"MessageType":"SomethingNew2027","Message":{"SomethingNew2027":{}}})", kNow);
  CHECK(r.status == Status::skipped);
  r = p.parse(R"({"error": "Api Key Is Not Valid"})", kNow);
  CHECK(r.status == Status::service_error);
  CHECK(r.reason == "Api Key Is Not Valid");
  CHECK(p.counters().skipped == 2);
  CHECK(p.counters().service_error == 1);
}

TEST_CASE("aisstream: a reused Parser gives the same result as a fresh one") {
  aisstream::Parser p;
  const std::string f = position_frame(R"("Latitude":51.5,"Longitude":3.25,"Sog":12.5)");
  for (int i = 0; i < 1000; ++i) {
    const auto r = p.parse(f, kNow);
    REQUIRE(r.status == Status::ok);
    REQUIRE(r.message->position->latlon->lat_deg == 51.5);
  }
  CHECK(p.counters().ok == 1000);
}

TEST_CASE("aisstream: every real capture is converted or skipped with a reason") {
  AISTRACK_REQUIRE_SHARED_DATA(data);
  const auto lines = test::read_lines(data / "aisstream" / "samples.jsonl");
  REQUIRE(lines.size() == 25);
  aisstream::Parser p;
  std::map<std::string, Status> by_type;
  std::vector<aisstream::Result> results;
  for (const auto& line : lines) {
    auto r = p.parse(line, kNow);
    CHECK_MESSAGE((r.status == Status::ok || !r.reason.empty()), line);
    CHECK(r.status != Status::malformed);
    results.push_back(std::move(r));
  }
  // Line 1: PositionReport of NORDIC QINNGUA.
  const Message& m1 = *results[0].message;
  CHECK(m1.mmsi == 538009327);
  CHECK(m1.ts_ms == kSampleTs);
  CHECK(m1.position->latlon->lat_deg == doctest::Approx(51.967933333333335));
  CHECK(m1.position->sog_kn == doctest::Approx(4.2));
  CHECK(m1.position->heading_deg == 307);
  CHECK(m1.position->nav_status == NavStatus::under_way_using_engine);
  // Line 2: AssignedModeCommand is not tracked.
  CHECK(results[1].status == Status::skipped);
  // Line 3: class B, heading 511 → nullopt.
  CHECK(results[2].message->station == StationClass::class_b);
  CHECK_FALSE(results[2].message->position->heading_deg);
  CHECK_FALSE(results[2].message->position->nav_status);
  // Line 4: UnknownMessage.
  CHECK(results[3].status == Status::skipped);
  // Line 5: AtoN with name, type and dimensions.
  const Message& aton = *results[4].message;
  CHECK(aton.station == StationClass::aid_to_navigation);
  CHECK(aton.static_data->name == "D12-B PLATFORM");
  CHECK(aton.static_data->aton_type == 3);
  CHECK(aton.static_data->dimensions->length_m() == 50);
  CHECK_FALSE(aton.position->utc_second);
  // Line 6: type 5 with ETA "not available", IMO 0, draught 0, ship type 99, names trimmed.
  const StaticData& s6 = *results[5].message->static_data;
  CHECK(s6.name == "RVE 56");
  CHECK(s6.callsign == "PD2026");
  CHECK(s6.destination == "MAASVLAKTE");
  CHECK_FALSE(s6.eta);
  CHECK_FALSE(s6.imo);
  CHECK_FALSE(s6.draught_m);
  CHECK(s6.ship_type->code == 99);
  CHECK(s6.dimensions->length_m() == 22);
  CHECK_FALSE(results[5].message->position);
  // Line 7: type 24 part A.
  CHECK(results[6].message->static_data->name == "VIVID");
  CHECK_FALSE(results[6].message->static_data->callsign);
  // Line 9: type 19, empty name → nullopt, ship type 30 fishing, SOG 0.
  const Message& m9 = *results[8].message;
  CHECK(m9.ais_type == 19);
  CHECK_FALSE(m9.static_data->name);
  CHECK(to_string(*m9.static_data->ship_type) == "fishing");
  CHECK(m9.position->sog_kn == 0.0);
  // Line 10: base station with MMSI 0 is rejected.
  CHECK(results[9].status == Status::invalid);
  // Line 17: SAR aircraft at 1493 m, 151 kn.
  const Message& sar = *results[16].message;
  CHECK(sar.station == StationClass::sar_aircraft);
  CHECK(sar.position->altitude_m == 1493.0);
  CHECK(sar.position->sog_kn == 151.0);
  // Line 21: 2026 capture with MetaData first and ROT -128.
  CHECK(results[20].message->mmsi == 244700923);
  CHECK_FALSE(results[20].message->position->rot_deg_min);
  // Line 24: IMO, draught and ship type 37.
  const StaticData& s24 = *results[23].message->static_data;
  CHECK(s24.imo == 9890214u);
  CHECK(s24.draught_m == doctest::Approx(3.5));
  CHECK(to_string(*s24.ship_type) == "pleasure craft");
  // Line 25: heading 456 nulled, name trimmed.
  CHECK_FALSE(results[24].message->position->heading_deg);
  CHECK(results[24].message->static_data->name == "YONDER 2");

  const auto& c = p.counters();
  CHECK(c.ok == 12);
  CHECK(c.skipped == 12);
  CHECK(c.invalid == 1);
  CHECK(c.malformed == 0);
}
