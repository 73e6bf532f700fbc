#include "json_view.hpp"

namespace aistrack::server {
namespace json = boost::json;

namespace {
template <typename T>
json::value opt(const std::optional<T>& v) {
  if (!v) return nullptr;
  return json::value(*v);
}
}  // namespace

json::object vessel_json(const VesselState& v) {
  json::object o;
  o["mmsi"] = v.mmsi;
  const PositionFix* p = v.position ? &*v.position : nullptr;
  o["time"] = p ? json::value(format_iso8601(p->ts_ms)) : json::value(nullptr);
  o["lat"] = p ? json::value(p->latlon.lat_deg) : json::value(nullptr);
  o["lon"] = p ? json::value(p->latlon.lon_deg) : json::value(nullptr);
  o["sog"] = p ? opt(p->sog_kn) : json::value(nullptr);
  o["cog"] = p ? opt(p->cog_deg) : json::value(nullptr);
  o["heading"] = p ? opt(p->heading_deg) : json::value(nullptr);
  o["rot"] = p ? opt(p->rot_deg_min) : json::value(nullptr);
  if (p && p->nav_status) {
    o["nav_status"] = to_string(*p->nav_status);
    o["nav_status_code"] = static_cast<int>(*p->nav_status);
  } else {
    o["nav_status"] = nullptr;
    o["nav_status_code"] = nullptr;
  }
  o["source"] = p ? json::value(to_string(p->source)) : json::value(nullptr);
  o["ais_type"] = p ? json::value(p->ais_type) : json::value(nullptr);
  o["station_class"] = to_string(v.station);
  o["last_seen"] = format_iso8601(v.last_seen_ms);

  const StaticData& s = v.static_data;
  o["name"] = opt(s.name);
  o["callsign"] = opt(s.callsign);
  o["imo"] = opt(s.imo);
  if (s.ship_type) {
    o["ship_type"] = to_string(*s.ship_type);
    o["ship_type_code"] = s.ship_type->code;
  } else {
    o["ship_type"] = nullptr;
    o["ship_type_code"] = nullptr;
  }
  o["destination"] = opt(s.destination);
  if (s.eta) {
    json::object e;
    e["month"] = s.eta->month;
    e["day"] = s.eta->day;
    e["hour"] = opt(s.eta->hour);
    e["minute"] = opt(s.eta->minute);
    o["eta"] = std::move(e);
  } else {
    o["eta"] = nullptr;
  }
  if (s.dimensions) {
    const Dimensions& d = *s.dimensions;
    o["dimensions"] = json::object{{"to_bow_m", d.to_bow_m},   {"to_stern_m", d.to_stern_m},
                                   {"to_port_m", d.to_port_m}, {"to_starboard_m", d.to_starboard_m},
                                   {"length_m", d.length_m()}, {"beam_m", d.beam_m()}};
  } else {
    o["dimensions"] = nullptr;
  }
  o["draught_m"] = opt(s.draught_m);
  o["aton_type"] = opt(s.aton_type);
  o["static_time"] = v.static_ts_ms ? json::value(format_iso8601(*v.static_ts_ms)) : json::value(nullptr);
  return o;
}

std::string error_body(std::string_view code, std::string_view message) {
  return json::serialize(json::object{{"error", json::object{{"code", code}, {"message", message}}}});
}

}  // namespace aistrack::server
