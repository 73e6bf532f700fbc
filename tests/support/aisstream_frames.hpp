// Synthetic aisstream.io frames for tests and benchmarks: simulator messages written in the exact
// envelope shape the service sends (MetaData first, as in the 2026 captures).
#pragma once

#include <aistrack/message.hpp>
#include <aistrack/simulator.hpp>

#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

namespace aistrack::bench {

/// `minutes` of a simulated fleet ending a minute ago: recent enough that nothing looks like it comes
/// from the future or is purged by retention.
inline std::vector<Message> recent_simulated(std::size_t vessels, int minutes, std::uint64_t seed) {
  SimConfig sc;
  sc.vessels = vessels;
  sc.seed = seed;
  sc.start_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count() -
                minutes * 60'000 - 60'000;
  Simulator sim(sc);
  std::vector<Message> out;
  sim.step(sc.start_ms + minutes * 60'000, out);
  return out;
}

inline std::string go_time(TimeMs ts_ms) {
  // "2026-08-30 11:59:57.548559821 +0000 UTC" from ISO "2026-08-30T11:59:57.548Z"
  std::string iso = format_iso8601(ts_ms);
  iso[10] = ' ';
  iso.pop_back();
  return iso + "559821 +0000 UTC";
}

/// The frame aisstream.io would send for `m` (position reports and static data).
inline std::string to_aisstream_frame(const Message& m) {
  const std::string name = m.static_data && m.static_data->name ? *m.static_data->name : "";
  const std::string meta = fmt::format(
      R"({{"MMSI":{0},"MMSI_String":{0},"ShipName":"{1:<20}","latitude":{2},"longitude":{3},"time_utc":"{4}"}})",
      m.mmsi, name, m.position && m.position->latlon ? m.position->latlon->lat_deg : 0.0,
      m.position && m.position->latlon ? m.position->latlon->lon_deg : 0.0, go_time(m.ts_ms));
  if (m.position && m.position->latlon) {
    const PositionReport& p = *m.position;
    if (m.ais_type == 18) {
      return fmt::format(
          R"({{"MetaData":{0},"MessageType":"StandardClassBPositionReport","Message":{{"StandardClassBPositionReport":{{"AssignedMode":false,"ClassBBand":true,"ClassBDisplay":false,"ClassBDsc":true,"ClassBMsg22":true,"ClassBUnit":true,"Cog":{1},"CommunicationState":393222,"CommunicationStateIsItdma":true,"Latitude":{2},"Longitude":{3},"MessageID":18,"PositionAccuracy":false,"Raim":true,"RepeatIndicator":0,"Sog":{4},"Spare1":0,"Spare2":0,"Timestamp":{5},"TrueHeading":{6},"UserID":{7},"Valid":true}}}}}})",
          meta, p.cog_deg.value_or(360), p.latlon->lat_deg, p.latlon->lon_deg, p.sog_kn.value_or(102.3),
          p.utc_second.value_or(60), p.heading_deg.value_or(511), m.mmsi);
    }
    return fmt::format(
        R"({{"MetaData":{0},"MessageType":"PositionReport","Message":{{"PositionReport":{{"MessageID":{1},"RepeatIndicator":0,"UserID":{2},"Valid":true,"NavigationalStatus":{3},"RateOfTurn":0,"Sog":{4},"PositionAccuracy":true,"Longitude":{5},"Latitude":{6},"Cog":{7},"TrueHeading":{8},"Timestamp":{9},"SpecialManoeuvreIndicator":0,"Spare":0,"Raim":true,"CommunicationState":49240}}}}}})",
        meta, m.ais_type, m.mmsi, p.nav_status ? static_cast<int>(*p.nav_status) : 15,
        p.sog_kn.value_or(102.3), p.latlon->lon_deg, p.latlon->lat_deg, p.cog_deg.value_or(360),
        p.heading_deg.value_or(511), p.utc_second.value_or(60));
  }
  const StaticData s = m.static_data.value_or(StaticData{});
  const Dimensions d = s.dimensions.value_or(Dimensions{});
  return fmt::format(
      R"({{"MetaData":{0},"MessageType":"ShipStaticData","Message":{{"ShipStaticData":{{"AisVersion":2,"CallSign":"{1}","Destination":"{2}","Dimension":{{"A":{3},"B":{4},"C":{5},"D":{6}}},"Dte":false,"Eta":{{"Day":{7},"Hour":{8},"Minute":{9},"Month":{10}}},"FixType":1,"ImoNumber":{11},"MaximumStaticDraught":{12},"MessageID":5,"Name":"{13}","RepeatIndicator":0,"Spare":false,"Type":{14},"UserID":{15},"Valid":true}}}}}})",
      meta, s.callsign.value_or(""), s.destination.value_or(""), d.to_bow_m, d.to_stern_m, d.to_port_m,
      d.to_starboard_m, s.eta ? s.eta->day : 0, s.eta ? s.eta->hour.value_or(24) : 24,
      s.eta ? s.eta->minute.value_or(60) : 60, s.eta ? s.eta->month : 0, s.imo.value_or(0),
      s.draught_m.value_or(0), name, s.ship_type ? s.ship_type->code : 0, m.mmsi);
}

}  // namespace aistrack::bench
