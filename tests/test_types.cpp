#include <aistrack/message.hpp>
#include <aistrack/types.hpp>
#include <aistrack/version.hpp>

#include <doctest/doctest.h>

using namespace aistrack;

TEST_CASE("types: MMSI parsing takes exactly nine digits") {
  CHECK(parse_mmsi("244700923") == 244700923u);
  CHECK(parse_mmsi("002320061") == 2320061u);
  CHECK(parse_mmsi("999999999") == 999999999u);
  CHECK_FALSE(parse_mmsi("000000000"));
  CHECK_FALSE(parse_mmsi("24470092"));
  CHECK_FALSE(parse_mmsi("2447009230"));
  CHECK_FALSE(parse_mmsi("24470092x"));
  CHECK_FALSE(parse_mmsi("-24470092"));
  CHECK_FALSE(parse_mmsi(""));
  CHECK(format_mmsi(2320061) == "002320061");
  CHECK(is_valid_mmsi(1));
  CHECK_FALSE(is_valid_mmsi(0));
  CHECK_FALSE(is_valid_mmsi(1'000'000'000));
}

TEST_CASE("types: ISO-8601 round trip") {
  CHECK(format_iso8601(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_iso8601(1697363468143) == "2023-10-15T09:51:08.143Z");
  CHECK(format_iso8601(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(format_iso8601(951782400000) == "2000-02-29T00:00:00.000Z");
  for (TimeMs t : {TimeMs{0}, TimeMs{1697363468143}, TimeMs{-86'400'001}, TimeMs{4102444800000}}) {
    CHECK(parse_iso8601(format_iso8601(t)) == t);
  }
  CHECK(parse_iso8601("2023-10-15T11:51:08.143+02:00") == 1697363468143);
  CHECK(parse_iso8601("2023-10-15T09:51:08Z") == 1697363468000);
  CHECK_FALSE(parse_iso8601("2023-02-30T00:00:00Z"));
  CHECK_FALSE(parse_iso8601("2023-10-15T09:51:08"));
  CHECK_FALSE(parse_iso8601("2023-10-15T25:51:08Z"));
  CHECK_FALSE(parse_iso8601("garbage"));
}

TEST_CASE("types: navigation status and ship type have readable names") {
  CHECK(to_string(NavStatus::at_anchor) == "at anchor");
  CHECK(to_string(NavStatus::ais_sart) == "AIS-SART, MOB-AIS or EPIRB-AIS active");
  CHECK(nav_status_from_code(0) == NavStatus::under_way_using_engine);
  CHECK_FALSE(nav_status_from_code(15));
  CHECK_FALSE(nav_status_from_code(-1));
  CHECK(to_string(ShipType{70}) == "cargo");
  CHECK(to_string(ShipType{81}) == "tanker, hazardous category A");
  CHECK(to_string(ShipType{36}) == "sailing");
  CHECK(to_string(ShipType{37}) == "pleasure craft");
  CHECK(to_string(ShipType{52}) == "tug");
  CHECK(to_string(ShipType{5}) == "reserved for future use");
  CHECK_FALSE(ship_type_from_code(0));
  CHECK_FALSE(ship_type_from_code(100));
  CHECK(ship_type_from_code(99)->code == 99);
  CHECK(to_string(Source::simulator) == "simulator");
  CHECK(to_string(StationClass::class_b) == "B");
}

TEST_CASE("message: static merge keeps older fields the new message lacks") {
  StaticData held;
  held.name = "OLD";
  held.callsign = "PD2026";
  StaticData fresh;
  fresh.name = "NEW";
  fresh.ship_type = ShipType{70};
  merge_static(held, fresh);
  CHECK(held.name == "NEW");
  CHECK(held.callsign == "PD2026");
  CHECK(held.ship_type->code == 70);
}

TEST_CASE("message: fix_of needs a position with lat/lon") {
  Message m;
  m.mmsi = 244700923;
  m.ts_ms = 42;
  m.ais_type = 1;
  CHECK_FALSE(fix_of(m));
  m.position = PositionReport{};
  CHECK_FALSE(fix_of(m));
  m.position->latlon = LatLon{52, 4};
  m.position->sog_kn = 3.5;
  const auto f = fix_of(m);
  REQUIRE(f);
  CHECK(f->ts_ms == 42);
  CHECK(f->latlon.lat_deg == 52);
  CHECK(f->sog_kn == 3.5);
  CHECK(station_class_of(18) == StationClass::class_b);
  CHECK(station_class_of(4) == StationClass::base_station);
  CHECK(station_class_of(1) == StationClass::class_a);
}

TEST_CASE("version: the header matches the CMake project version") {
  CHECK(std::string(kVersion) == AISTRACK_PROJECT_VERSION);
}
