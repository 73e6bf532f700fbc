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
  // Messages quote the request (a path, a parameter), which may hold any bytes; Boost.JSON writes
  // strings byte for byte, so without this a client's JSON parser would reject the whole error.
  return json::serialize(
      json::object{{"error", json::object{{"code", code}, {"message", valid_utf8(message)}}}});
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    std::size_t len = 0;
    unsigned lo = 0x80;  // allowed range of the second byte: excludes overlongs, surrogates, > U+10FFFF
    unsigned hi = 0xBF;
    if (b0 < 0x80) {
      len = 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    }
    bool ok = len != 0 && i + len <= text.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      ok = k == 1 ? b >= lo && b <= hi : b >= 0x80 && b <= 0xBF;
    }
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace aistrack::server
