#include <aistrack/aisstream.hpp>

#include <aistrack/detail/datetime.hpp>

#include <boost/json.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <string>

namespace aistrack::aisstream {
namespace json = boost::json;

std::string_view to_string(Status status) noexcept {
  switch (status) {
    case Status::ok: return "ok";
    case Status::skipped: return "skipped";
    case Status::malformed: return "malformed";
    case Status::invalid: return "invalid";
    case Status::service_error: return "service_error";
  }
  return "malformed";
}

namespace {

const json::value* find(const json::object& o, std::string_view key) noexcept {
  const auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

std::optional<double> number(const json::object& o, std::string_view key) noexcept {
  const json::value* v = find(o, key);
  if (v == nullptr) return std::nullopt;
  switch (v->kind()) {
    case json::kind::double_: return v->get_double();
    case json::kind::int64: return static_cast<double>(v->get_int64());
    case json::kind::uint64: return static_cast<double>(v->get_uint64());
    default: return std::nullopt;
  }
}

std::optional<std::int64_t> integer(const json::object& o, std::string_view key) noexcept {
  const json::value* v = find(o, key);
  if (v == nullptr) return std::nullopt;
  switch (v->kind()) {
    case json::kind::int64: return v->get_int64();
    case json::kind::uint64:
      return v->get_uint64() > static_cast<std::uint64_t>(INT64_MAX)
                 ? std::nullopt
                 : std::optional<std::int64_t>(v->get_uint64());
    case json::kind::double_: {
      const double d = v->get_double();
      if (!(std::abs(d) < 9.0e18) || d != std::floor(d)) return std::nullopt;
      return static_cast<std::int64_t>(d);
    }
    default: return std::nullopt;
  }
}

bool boolean(const json::object& o, std::string_view key) noexcept {
  const json::value* v = find(o, key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

const json::object* object(const json::object& o, std::string_view key) noexcept {
  const json::value* v = find(o, key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

/// AIS text: cut at the first '@' (the 6-bit padding character), trim spaces; empty → nullopt.
std::optional<std::string> text(const json::object& o, std::string_view key) {
  const json::value* v = find(o, key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  std::string_view s = v->get_string();
  if (const auto at = s.find('@'); at != std::string_view::npos) s = s.substr(0, at);
  const auto first = s.find_first_not_of(' ');
  if (first == std::string_view::npos) return std::nullopt;
  const auto last = s.find_last_not_of(' ');
  return std::string(s.substr(first, last - first + 1));
}

struct Conversion {
  Status status = Status::ok;
  std::string reason;
};

Conversion fail(Status status, std::string reason) { return {status, std::move(reason)}; }

/// Fills the kinematic fields shared by types 1/2/3, 18, 19 (tenths-of-knot SOG, 0.1° COG).
void kinematics(const json::object& m, PositionReport& p) {
  if (const auto sog = number(m, "Sog"); sog && *sog >= 0 && *sog < 102.25) p.sog_kn = *sog;
  if (const auto cog = number(m, "Cog"); cog && *cog >= 0 && *cog < 360) p.cog_deg = *cog;
  if (const auto hdg = integer(m, "TrueHeading"); hdg && *hdg >= 0 && *hdg <= 359) {
    p.heading_deg = static_cast<std::uint16_t>(*hdg);
  }
}

void utc_second(const json::object& m, PositionReport& p) {
  if (const auto ts = integer(m, "Timestamp"); ts && *ts >= 0 && *ts <= 59) {
    p.utc_second = static_cast<std::uint8_t>(*ts);
  }
}

/// Latitude/longitude with the AIS rules: 91/181 → not available; other out-of-range → invalid.
Conversion latlon(const json::object& m, PositionReport& p) {
  const auto lat = number(m, "Latitude");
  const auto lon = number(m, "Longitude");
  if (!lat || !lon) return fail(Status::malformed, "position report without Latitude/Longitude");
  p.position_accuracy_high = boolean(m, "PositionAccuracy");
  p.raim = boolean(m, "Raim");
  if (*lat == 91.0 || *lon == 181.0) return {};
  if (!(*lat >= -90.0 && *lat <= 90.0))
    return fail(Status::invalid, "latitude " + std::to_string(*lat) + " out of range");
  if (!(*lon >= -180.0 && *lon <= 180.0)) {
    return fail(Status::invalid, "longitude " + std::to_string(*lon) + " out of range");
  }
  p.latlon = LatLon{*lat, *lon};
  return {};
}

std::optional<Dimensions> dimensions(const json::object* d) {
  if (d == nullptr) return std::nullopt;
  const auto a = integer(*d, "A");
  const auto b = integer(*d, "B");
  const auto c = integer(*d, "C");
  const auto e = integer(*d, "D");
  if (!a || !b || !c || !e) return std::nullopt;
  if (*a < 0 || *a > 511 || *b < 0 || *b > 511 || *c < 0 || *c > 63 || *e < 0 || *e > 63) return std::nullopt;
  if (*a == 0 && *b == 0 && *c == 0 && *e == 0) return std::nullopt;
  return Dimensions{static_cast<std::uint16_t>(*a), static_cast<std::uint16_t>(*b),
                    static_cast<std::uint8_t>(*c), static_cast<std::uint8_t>(*e)};
}

std::optional<Eta> eta(const json::object* e) {
  if (e == nullptr) return std::nullopt;
  const auto month = integer(*e, "Month");
  const auto day = integer(*e, "Day");
  if (!month || !day || *month < 1 || *month > 12 || *day < 1 || *day > 31) return std::nullopt;
  static constexpr int kDaysIn[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*day > kDaysIn[*month - 1]) return std::nullopt;
  Eta out{static_cast<std::uint8_t>(*month), static_cast<std::uint8_t>(*day), std::nullopt, std::nullopt};
  if (const auto h = integer(*e, "Hour"); h && *h >= 0 && *h <= 23) out.hour = static_cast<std::uint8_t>(*h);
  if (const auto mi = integer(*e, "Minute"); mi && *mi >= 0 && *mi <= 59)
    out.minute = static_cast<std::uint8_t>(*mi);
  return out;
}

std::optional<std::uint32_t> imo(const json::object& m) {
  const auto v = integer(m, "ImoNumber");
  if (!v || *v < 1'000'000 || *v > 9'999'999) return std::nullopt;
  return static_cast<std::uint32_t>(*v);
}

std::optional<ShipType> ship_type(const json::object& m, std::string_view key) {
  const auto v = integer(m, key);
  return v ? ship_type_from_code(static_cast<int>(*v)) : std::nullopt;
}

// ROT_AIS = 4.733·sqrt(ROT °/min), signed; ±127 means "more than 5°/30 s, no turn indicator":
// the rate is unknown, so it becomes nullopt like −128.
std::optional<double> rate_of_turn(const json::object& m) {
  const auto raw = integer(m, "RateOfTurn");
  if (!raw || *raw <= -127 || *raw >= 127) return std::nullopt;
  const double r = static_cast<double>(*raw) / 4.733;
  return *raw < 0 ? -r * r : r * r;
}

Conversion class_a(const json::object& m, Message& msg) {
  PositionReport p;
  if (auto c = latlon(m, p); c.status != Status::ok) return c;
  kinematics(m, p);
  utc_second(m, p);
  if (const auto ns = integer(m, "NavigationalStatus"))
    p.nav_status = nav_status_from_code(static_cast<int>(*ns));
  p.rot_deg_min = rate_of_turn(m);
  msg.position = p;
  return {};
}

Conversion class_b(const json::object& m, Message& msg) {
  PositionReport p;
  if (auto c = latlon(m, p); c.status != Status::ok) return c;
  kinematics(m, p);
  utc_second(m, p);
  msg.position = p;
  return {};
}

Conversion class_b_extended(const json::object& m, Message& msg) {
  if (auto c = class_b(m, msg); c.status != Status::ok) return c;
  StaticData s;
  s.name = text(m, "Name");
  s.ship_type = ship_type(m, "Type");
  s.dimensions = dimensions(object(m, "Dimension"));
  msg.static_data = std::move(s);
  return {};
}

Conversion sar_aircraft(const json::object& m, Message& msg) {
  PositionReport p;
  if (auto c = latlon(m, p); c.status != Status::ok) return c;
  // Type 9 SOG is whole knots: 1023 = not available, 1022 = 1022 kn or more.
  if (const auto sog = integer(m, "Sog"); sog && *sog >= 0 && *sog <= 1022)
    p.sog_kn = static_cast<double>(*sog);
  if (const auto cog = number(m, "Cog"); cog && *cog >= 0 && *cog < 360) p.cog_deg = *cog;
  if (const auto alt = integer(m, "Altitude"); alt && *alt >= 0 && *alt < 4095)
    p.altitude_m = static_cast<double>(*alt);
  utc_second(m, p);
  msg.position = p;
  return {};
}

Conversion base_station(const json::object& m, Message& msg) {
  PositionReport p;
  if (auto c = latlon(m, p); c.status != Status::ok) return c;
  const auto y = integer(m, "UtcYear");
  const auto mo = integer(m, "UtcMonth");
  const auto d = integer(m, "UtcDay");
  const auto h = integer(m, "UtcHour");
  const auto mi = integer(m, "UtcMinute");
  const auto s = integer(m, "UtcSecond");
  if (y && mo && d && h && mi && s && *y >= 1 && *y <= 9999 && *mo >= 1 && *mo <= 12 && *d >= 1 && *d <= 31 &&
      *h >= 0 && *h <= 23 && *mi >= 0 && *mi <= 59 && *s >= 0 && *s <= 59) {
    const std::int64_t days = days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
    p.station_utc_ms = ((days * 24 + *h) * 60 + *mi) * 60'000 + *s * 1000;
  }
  msg.position = p;
  return {};
}

Conversion aid_to_navigation(const json::object& m, Message& msg) {
  PositionReport p;
  if (auto c = latlon(m, p); c.status != Status::ok) return c;
  utc_second(m, p);
  msg.position = p;
  StaticData s;
  auto name = text(m, "Name");
  if (auto ext = text(m, "NameExtension")) name = name.value_or("") + *ext;
  s.name = std::move(name);
  if (const auto t = integer(m, "Type"); t && *t >= 1 && *t <= 31)
    s.aton_type = static_cast<std::uint8_t>(*t);
  s.dimensions = dimensions(object(m, "Dimension"));
  msg.static_data = std::move(s);
  return {};
}

Conversion ship_static(const json::object& m, Message& msg) {
  StaticData s;
  s.name = text(m, "Name");
  s.callsign = text(m, "CallSign");
  s.destination = text(m, "Destination");
  s.imo = imo(m);
  s.ship_type = ship_type(m, "Type");
  s.dimensions = dimensions(object(m, "Dimension"));
  s.eta = eta(object(m, "Eta"));
  if (const auto dr = number(m, "MaximumStaticDraught"); dr && *dr > 0 && *dr <= 25.5) s.draught_m = *dr;
  msg.static_data = std::move(s);
  return {};
}

Conversion static_report(const json::object& m, Message& msg) {
  const bool part_b = boolean(m, "PartNumber");
  StaticData s;
  if (!part_b) {
    const json::object* a = object(m, "ReportA");
    if (a == nullptr || !boolean(*a, "Valid"))
      return fail(Status::invalid, "type 24 part A without a valid ReportA");
    s.name = text(*a, "Name");
  } else {
    const json::object* b = object(m, "ReportB");
    if (b == nullptr || !boolean(*b, "Valid"))
      return fail(Status::invalid, "type 24 part B without a valid ReportB");
    s.callsign = text(*b, "CallSign");
    s.ship_type = ship_type(*b, "ShipType");
    s.dimensions = dimensions(object(*b, "Dimension"));
  }
  msg.static_data = std::move(s);
  return {};
}

Conversion long_range(const json::object& m, Message& msg) {
  PositionReport p;
  if (auto c = latlon(m, p); c.status != Status::ok) return c;
  // Type 27: whole knots (63 = not available) and whole degrees (511 = not available).
  if (const auto sog = integer(m, "Sog"); sog && *sog >= 0 && *sog < 63) p.sog_kn = static_cast<double>(*sog);
  if (const auto cog = integer(m, "Cog"); cog && *cog >= 0 && *cog < 360)
    p.cog_deg = static_cast<double>(*cog);
  if (const auto ns = integer(m, "NavigationalStatus"))
    p.nav_status = nav_status_from_code(static_cast<int>(*ns));
  msg.position = p;
  return {};
}

using Converter = Conversion (*)(const json::object&, Message&);

struct Kind {
  std::string_view name;
  Converter convert;
};

// Ordered by how often the live feed sends them, so the linear search is short.
constexpr Kind kKinds[] = {
    {"PositionReport", class_a},
    {"StandardClassBPositionReport", class_b},
    {"ShipStaticData", ship_static},
    {"StaticDataReport", static_report},
    {"AidsToNavigationReport", aid_to_navigation},
    {"BaseStationReport", base_station},
    {"ExtendedClassBPositionReport", class_b_extended},
    {"StandardSearchAndRescueAircraftReport", sar_aircraft},
    {"LongRangeAisBroadcastMessage", long_range},
};

}  // namespace

std::optional<TimeMs> parse_go_time(std::string_view t) noexcept {
  // "2006-01-02 15:04:05[.fraction] -0700 MST[ m=+0.000]"
  std::size_t pos = 0;
  const auto wall = detail::parse_wall_time(t, " ", pos);
  if (!wall) return std::nullopt;
  std::int64_t offset_min = 0;
  if (pos < t.size()) {
    int oh = 0, om = 0;
    if (t[pos] != ' ' || pos + 6 > t.size() || (t[pos + 1] != '+' && t[pos + 1] != '-') ||
        !detail::read_digits(t, pos + 2, 2, oh) || !detail::read_digits(t, pos + 4, 2, om) || oh > 23 ||
        om > 59) {
      return std::nullopt;
    }
    offset_min = (t[pos + 1] == '-' ? -1 : 1) * (oh * 60 + om);
    pos += 6;
    // The zone abbreviation ("UTC", "CEST", "+03") and Go's optional monotonic suffix are informational.
    if (pos < t.size() && t[pos] != ' ') return std::nullopt;
  }
  return *wall - offset_min * 60'000;
}

namespace {
// Every MessageType aisstream.io documents (https://aisstream.io/documentation).
constexpr std::string_view kKnownTypes[] = {"PositionReport",
                                            "UnknownMessage",
                                            "AddressedSafetyMessage",
                                            "AddressedBinaryMessage",
                                            "AidsToNavigationReport",
                                            "AssignedModeCommand",
                                            "BaseStationReport",
                                            "BinaryAcknowledge",
                                            "BinaryBroadcastMessage",
                                            "ChannelManagement",
                                            "CoordinatedUTCInquiry",
                                            "DataLinkManagementMessage",
                                            "DataLinkManagementMessageData",
                                            "ExtendedClassBPositionReport",
                                            "GroupAssignmentCommand",
                                            "GnssBroadcastBinaryMessage",
                                            "Interrogation",
                                            "LongRangeAisBroadcastMessage",
                                            "MultiSlotBinaryMessage",
                                            "SafetyBroadcastMessage",
                                            "ShipStaticData",
                                            "SingleSlotBinaryMessage",
                                            "StandardClassBPositionReport",
                                            "StandardSearchAndRescueAircraftReport",
                                            "StaticDataReport"};
}  // namespace

bool is_known_message_type(std::string_view name) noexcept {
  for (const auto known : kKnownTypes) {
    if (known == name) return true;
  }
  return false;
}

std::string subscription_json(const Subscription& sub) {
  json::object o;
  o["APIKey"] = sub.api_key;
  json::array boxes;
  if (sub.boxes.empty()) {
    boxes.push_back(json::array{json::array{-90.0, -180.0}, json::array{90.0, 180.0}});
  }
  for (const BoundingBox& b : sub.boxes) {
    boxes.push_back(json::array{json::array{b.lat1_deg, b.lon1_deg}, json::array{b.lat2_deg, b.lon2_deg}});
  }
  o["BoundingBoxes"] = std::move(boxes);
  if (!sub.mmsi.empty() && sub.mmsi.size() <= kMaxSubscribedMmsi) {
    json::array ids;
    // The service wants MMSIs as 9-digit strings.
    for (const Mmsi m : sub.mmsi) ids.push_back(json::value(format_mmsi(m)));
    o["FiltersShipMMSI"] = std::move(ids);
  }
  if (!sub.message_types.empty()) {
    json::array types;
    for (const auto& t : sub.message_types) types.push_back(json::value(t));
    o["FilterMessageTypes"] = std::move(types);
  }
  return json::serialize(o);
}

bool validate_bounding_box(const BoundingBox& b, int index, std::string& error) {
  const std::string name = "box " + std::to_string(index);
  const bool finite = std::isfinite(b.lat1_deg) && std::isfinite(b.lon1_deg) && std::isfinite(b.lat2_deg) &&
                      std::isfinite(b.lon2_deg);
  if (!finite) {
    error = name + ": every corner must be a finite number";
    return false;
  }
  const bool lat_ok = std::abs(b.lat1_deg) <= 90 && std::abs(b.lat2_deg) <= 90;
  const bool lon_ok = std::abs(b.lon1_deg) <= 180 && std::abs(b.lon2_deg) <= 180;
  if (!lat_ok && lon_ok && std::abs(b.lon1_deg) <= 90 && std::abs(b.lon2_deg) <= 90) {
    error = name + " looks like lon,lat: aisstream.io wants latitude first (lat1,lon1,lat2,lon2)";
    return false;
  }
  if (!lat_ok) {
    error = name + ": latitudes must be within -90..90";
    return false;
  }
  if (!lon_ok) {
    error = name + ": longitudes must be within -180..180";
    return false;
  }
  return true;
}

std::optional<std::vector<BoundingBox>> parse_bounding_boxes(std::string_view text, std::string& error) {
  std::vector<BoundingBox> out;
  std::size_t pos = 0;
  int index = 0;
  while (pos <= text.size()) {
    auto end = text.find(';', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view box = text.substr(pos, end - pos);
    pos = end + 1;
    if (box.find_first_not_of(" \t") == std::string_view::npos) {
      if (end == text.size()) break;
      continue;
    }
    ++index;
    double v[4];
    std::size_t p = 0;
    for (int i = 0; i < 4; ++i) {
      while (p < box.size() && box[p] == ' ') ++p;
      const auto comma = i < 3 ? box.find(',', p) : box.size();
      if (comma == std::string_view::npos) {
        error = "box " + std::to_string(index) + " ('" + std::string(box) +
                "') needs 4 numbers lat1,lon1,lat2,lon2";
        return std::nullopt;
      }
      std::string_view num = box.substr(p, comma - p);
      while (!num.empty() && num.back() == ' ') num.remove_suffix(1);
      const auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), v[i]);
      if (num.empty() || ec != std::errc{} || ptr != num.data() + num.size() || !std::isfinite(v[i])) {
        error = "box " + std::to_string(index) + ": '" + std::string(num) + "' is not a number";
        return std::nullopt;
      }
      p = comma + 1;
    }
    const BoundingBox b{v[0], v[1], v[2], v[3]};
    if (!validate_bounding_box(b, index, error)) return std::nullopt;
    out.push_back(b);
    if (end == text.size()) break;
  }
  return out;
}

struct Parser::Impl {
  // Parsed values live in a monotonic arena over `buffer`, rebuilt for every frame, so
  // frames that fit (all real ones do) never touch the heap. Rebuilt rather than
  // release()d: Boost 1.81's monotonic_resource::release() keeps doubling its next block
  // size, and after about 20 releases it throws bad_alloc.
  alignas(std::max_align_t) unsigned char buffer[32 * 1024];
  std::optional<json::monotonic_resource> arena;
  json::parser parser;
  Counters counters;
};

Parser::Parser() : impl_(std::make_unique<Impl>()) {}
Parser::~Parser() = default;
Parser::Parser(Parser&&) noexcept = default;
Parser& Parser::operator=(Parser&&) noexcept = default;

const Counters& Parser::counters() const noexcept { return impl_->counters; }

namespace {
Result convert(const json::value& root, TimeMs received_ms) {
  Result r;
  if (!root.is_object()) return {Status::malformed, std::nullopt, "frame is not a JSON object"};
  const json::object& env = root.get_object();
  if (const json::value* err = find(env, "error"); err != nullptr) {
    return {Status::service_error, std::nullopt,
            err->is_string() ? std::string(err->get_string()) : json::serialize(*err)};
  }
  const json::value* type_v = find(env, "MessageType");
  if (type_v == nullptr || !type_v->is_string()) return {Status::malformed, std::nullopt, "no MessageType"};
  const std::string_view type = type_v->get_string();
  Converter converter = nullptr;
  for (const Kind& k : kKinds) {
    if (k.name == type) {
      converter = k.convert;
      break;
    }
  }
  if (converter == nullptr) {
    return {Status::skipped, std::nullopt, "message type " + std::string(type) + " is not tracked"};
  }
  const json::object* body = object(env, "Message");
  const json::object* m = body != nullptr ? object(*body, type) : nullptr;
  if (m == nullptr) return {Status::malformed, std::nullopt, "no Message." + std::string(type) + " object"};

  Message msg;
  msg.source = Source::aisstream;
  msg.ts_ms = received_ms;
  const json::object* meta = object(env, "MetaData");
  if (meta != nullptr) {
    if (const json::value* t = find(*meta, "time_utc"); t != nullptr) {
      const auto ts = t->is_string() ? parse_go_time(t->get_string()) : std::nullopt;
      if (!ts) return {Status::malformed, std::nullopt, "MetaData.time_utc is not a Go time string"};
      msg.ts_ms = *ts;
    }
  }
  auto id = integer(*m, "UserID");
  if (!id && meta != nullptr) id = integer(*meta, "MMSI");
  if (!id) return {Status::malformed, std::nullopt, "no UserID or MetaData.MMSI"};
  if (!is_valid_mmsi(static_cast<std::uint64_t>(*id)) || *id < 0) {
    return {Status::invalid, std::nullopt, "MMSI " + std::to_string(*id) + " out of range"};
  }
  msg.mmsi = static_cast<Mmsi>(*id);
  if (const json::value* valid = find(*m, "Valid");
      valid != nullptr && valid->is_bool() && !valid->get_bool()) {
    return {Status::invalid, std::nullopt, "aisstream.io marked the message Valid=false"};
  }
  const auto ais_type = integer(*m, "MessageID");
  msg.ais_type = static_cast<std::uint8_t>(ais_type && *ais_type >= 1 && *ais_type <= 27 ? *ais_type : 0);
  msg.station = station_class_of(msg.ais_type);

  Conversion c = converter(*m, msg);
  if (c.status != Status::ok) return {c.status, std::nullopt, std::move(c.reason)};
  if (msg.ais_type == 0) {
    return {Status::malformed, std::nullopt, "no MessageID in Message." + std::string(type)};
  }
  r.status = Status::ok;
  r.message = std::move(msg);
  return r;
}

void count(Counters& c, Status s) noexcept {
  switch (s) {
    case Status::ok: ++c.ok; break;
    case Status::skipped: ++c.skipped; break;
    case Status::malformed: ++c.malformed; break;
    case Status::invalid: ++c.invalid; break;
    case Status::service_error: ++c.service_error; break;
  }
}
}  // namespace

Result Parser::parse(std::string_view frame, TimeMs received_ms) {
  Impl& im = *impl_;
  Result r;
  {
    im.parser.reset();  // drops any value still pointing into the old arena
    im.arena.emplace(im.buffer, sizeof im.buffer);
    im.parser.reset(json::storage_ptr(&*im.arena));
    boost::system::error_code ec;
    im.parser.write(frame.data(), frame.size(), ec);
    if (ec) {
      r = {Status::malformed, std::nullopt, "invalid JSON: " + ec.message()};
    } else {
      const json::value root = im.parser.release();
      r = convert(root, received_ms);
    }
  }
  count(im.counters, r.status);
  return r;
}

Result parse(std::string_view frame, TimeMs received_ms) {
  Parser p;
  return p.parse(frame, received_ms);
}

}  // namespace aistrack::aisstream
