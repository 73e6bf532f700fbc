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

namespace {
// Reads the fields of one vessel_json record. Every accessor leaves `ok` false on a field of the wrong
// type or out of range, so one bad field rejects the record instead of half-applying it.
class RecordReader {
 public:
  explicit RecordReader(const json::object& o) : o_(o) {}
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] bool present(std::string_view key) const {
    const json::value* v = o_.if_contains(key);
    return v != nullptr && !v->is_null();
  }
  std::optional<double> number(std::string_view key, double lo, double hi) {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    boost::system::error_code ec;
    const double d = v->to_number<double>(ec);
    if (ec || !(d >= lo && d <= hi)) return fail<double>();
    return d;
  }
  template <typename T>
  std::optional<T> integer(std::string_view key, std::int64_t lo, std::int64_t hi) {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    boost::system::error_code ec;
    const auto i = v->to_number<std::int64_t>(ec);
    if (ec || i < lo || i > hi) return fail<T>();
    return static_cast<T>(i);
  }
  std::optional<std::string> text(std::string_view key) {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_string()) return fail<std::string>();
    return std::string(v->get_string());
  }
  std::optional<TimeMs> time(std::string_view key) {
    const auto t = text(key);
    if (!t) return std::nullopt;
    const auto ms = parse_iso8601(*t);
    if (!ms) return fail<TimeMs>();
    return ms;
  }
  const json::object* object(std::string_view key) {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr || v->is_null()) return nullptr;
    if (!v->is_object()) ok_ = false;
    return v->if_object();
  }
  template <typename T>
  std::optional<T> fail() {
    ok_ = false;
    return std::nullopt;
  }

 private:
  const json::object& o_;
  bool ok_ = true;
};

std::optional<Source> source_named(std::string_view name) {
  for (const Source s : {Source::unknown, Source::aisstream, Source::nmea, Source::simulator})
    if (to_string(s) == name) return s;
  return std::nullopt;
}

std::optional<StationClass> station_named(std::string_view name) {
  for (const StationClass c : {StationClass::class_a, StationClass::class_b, StationClass::sar_aircraft,
                               StationClass::base_station, StationClass::aid_to_navigation})
    if (to_string(c) == name) return c;
  return std::nullopt;
}

std::optional<PositionFix> fix_from(RecordReader& r) {
  const auto ts = r.time("time");
  const auto lat = r.number("lat", -90, 90);
  const auto lon = r.number("lon", -180, 180);
  if (!ts || !lat || !lon) {
    if (ts || lat || lon) r.fail<int>();  // a position needs all three
    return std::nullopt;
  }
  PositionFix f;
  f.ts_ms = *ts;
  f.latlon = {*lat, *lon};
  f.sog_kn = r.number("sog", 0, 1e4);
  f.cog_deg = r.number("cog", 0, 360);
  f.heading_deg = r.integer<std::uint16_t>("heading", 0, 359);
  f.rot_deg_min = r.number("rot", -1e4, 1e4);
  if (const auto code = r.integer<int>("nav_status_code", 0, 14)) f.nav_status = nav_status_from_code(*code);
  f.ais_type = r.integer<std::uint8_t>("ais_type", 0, 255).value_or(0);
  if (const auto src = r.text("source")) {
    const auto named = source_named(*src);
    if (!named) return r.fail<PositionFix>();
    f.source = *named;
  }
  return f;
}

void static_from(RecordReader& r, StaticData& s) {
  s.name = r.text("name");
  s.callsign = r.text("callsign");
  s.destination = r.text("destination");
  s.imo = r.integer<std::uint32_t>("imo", 0, 0xFFFF'FFFF);
  if (const auto code = r.integer<int>("ship_type_code", 1, 99)) s.ship_type = ship_type_from_code(*code);
  if (const json::object* e = r.object("eta")) {
    RecordReader er(*e);
    Eta eta;
    eta.month = er.integer<std::uint8_t>("month", 1, 12).value_or(0);
    eta.day = er.integer<std::uint8_t>("day", 1, 31).value_or(0);
    eta.hour = er.integer<std::uint8_t>("hour", 0, 23);
    eta.minute = er.integer<std::uint8_t>("minute", 0, 59);
    if (!er.ok() || eta.month == 0 || eta.day == 0) r.fail<int>();
    s.eta = eta;
  }
  if (const json::object* d = r.object("dimensions")) {
    RecordReader dr(*d);
    Dimensions dim;
    dim.to_bow_m = dr.integer<std::uint16_t>("to_bow_m", 0, 65535).value_or(0);
    dim.to_stern_m = dr.integer<std::uint16_t>("to_stern_m", 0, 65535).value_or(0);
    dim.to_port_m = dr.integer<std::uint8_t>("to_port_m", 0, 255).value_or(0);
    dim.to_starboard_m = dr.integer<std::uint8_t>("to_starboard_m", 0, 255).value_or(0);
    if (!dr.ok()) r.fail<int>();
    s.dimensions = dim;
  }
  s.draught_m = r.number("draught_m", 0, 1e4);
  s.aton_type = r.integer<std::uint8_t>("aton_type", 0, 255);
}
}  // namespace

std::optional<VesselState> vessel_from_json(const json::value& record) noexcept {
  try {  // allocation failure is the only exception left; untrusted input must never throw
    const json::object* o = record.if_object();
    if (o == nullptr) return std::nullopt;
    RecordReader r(*o);
    VesselState v;
    const auto mmsi = r.integer<Mmsi>("mmsi", 1, kMaxMmsi);
    const auto last_seen = r.time("last_seen");
    const auto station = r.text("station_class");
    if (!mmsi || !last_seen || !station || !station_named(*station)) return std::nullopt;
    v.mmsi = *mmsi;
    v.last_seen_ms = *last_seen;
    v.station = *station_named(*station);
    v.position = fix_from(r);
    static_from(r, v.static_data);
    v.static_ts_ms = r.time("static_time");
    if (!r.ok()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
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
