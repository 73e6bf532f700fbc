#include <aistrack/message.hpp>

namespace aistrack {

void merge_static(StaticData& into, const StaticData& from) {
  auto take = [](auto& dst, const auto& src) {
    if (src) dst = src;
  };
  take(into.name, from.name);
  take(into.callsign, from.callsign);
  take(into.destination, from.destination);
  take(into.imo, from.imo);
  take(into.ship_type, from.ship_type);
  take(into.dimensions, from.dimensions);
  take(into.eta, from.eta);
  take(into.draught_m, from.draught_m);
  take(into.aton_type, from.aton_type);
}

std::optional<PositionFix> fix_of(const Message& msg) {
  if (!msg.position || !msg.position->latlon) return std::nullopt;
  const PositionReport& p = *msg.position;
  return PositionFix{
      .ts_ms = msg.ts_ms,
      .latlon = *p.latlon,
      .sog_kn = p.sog_kn,
      .cog_deg = p.cog_deg,
      .heading_deg = p.heading_deg,
      .nav_status = p.nav_status,
      .rot_deg_min = p.rot_deg_min,
      .ais_type = msg.ais_type,
      .source = msg.source,
  };
}

StationClass station_class_of(int ais_type) noexcept {
  switch (ais_type) {
    case 4:
    case 11: return StationClass::base_station;
    case 9: return StationClass::sar_aircraft;
    case 18:
    case 19:
    case 24: return StationClass::class_b;
    case 21: return StationClass::aid_to_navigation;
    default: return StationClass::class_a;
  }
}

}  // namespace aistrack
