// Routes of the stats issue (#5): GET /v1/stats/{mmsi} and GET /v1/ais/{mmsi}/track with its
// exports (JSON, GeoJSON, CSV, GPX). See docs/API.md.
//
// The export writers live here, not in the library: they are presentation of an HTTP answer
// (Content-Type, paging cursor, Link header), the GeoJSON one is JSON and the library core never
// builds JSON (json_view.hpp), and every writer works on one bounded page (TRACK_MAX_LIMIT).
#include "routes.hpp"

#include "csv.hpp"
#include "geo_box.hpp"
#include "json_view.hpp"

#include <aistrack/stats.hpp>
#include <aistrack/version.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace aistrack::server {
namespace json = boost::json;

namespace {

constexpr TimeMs kMsPerHour = 3'600'000;
constexpr TimeMs kDefaultWindowMs = 24 * kMsPerHour;
constexpr std::size_t kDefaultTrackLimit = 1000;
constexpr double kMetresPerSecondPerKnot = 1852.0 / 3600.0;

enum class Format { json, geojson, csv, gpx };

/// A parameter error: the message of a 400 invalid_parameter answer.
struct BadParam {
  std::string message;
};

Response bad_param(const BadParam& e) { return error_response(400, "invalid_parameter", e.message); }

std::optional<std::string> param(const Query& q, const char* name) {
  const auto it = q.find(name);
  if (it == q.end()) return std::nullopt;
  return it->second;
}

/// An ISO-8601 time parameter; nullopt when absent, BadParam when malformed.
std::optional<TimeMs> time_param(const Query& q, const char* name) {
  const auto text = param(q, name);
  if (!text) return std::nullopt;
  const auto t = parse_iso8601(*text);
  if (!t) {
    throw BadParam{std::string(name) + " must be an ISO-8601 time such as 2026-08-30T12:00:00Z; got '" +
                   *text + "'"};
  }
  return t;
}

/// The [from, to] window of a request: hours=H back from now, or from/to (each defaulting
/// relative to the other: to = now, from = to − 24 h). Throws BadParam.
std::pair<TimeMs, TimeMs> window_param(const Query& q, TimeMs now_ms, std::optional<int> max_hours) {
  const auto hours_text = param(q, "hours");
  const auto from = time_param(q, "from");
  const auto to = time_param(q, "to");
  const TimeMs max_ms = max_hours ? *max_hours * kMsPerHour : std::numeric_limits<TimeMs>::max();
  const std::string bound = max_hours ? std::to_string(*max_hours) : std::string();
  if (hours_text) {
    if (from || to) throw BadParam{"give either hours or from/to, not both"};
    double hours = 0;
    const auto& s = *hours_text;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), hours);
    if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(hours) || hours <= 0 ||
        hours * static_cast<double>(kMsPerHour) > static_cast<double>(max_ms)) {
      const std::string allowed = max_hours ? " and at most " + bound + " (STATS_MAX_HOURS)" : std::string();
      throw BadParam{"hours must be a number above 0" + allowed + "; got '" + s + "'"};
    }
    return {now_ms - static_cast<TimeMs>(std::llround(hours * static_cast<double>(kMsPerHour))), now_ms};
  }
  const TimeMs to_ms = to.value_or(now_ms);
  const TimeMs from_ms = from.value_or(to_ms - std::min(kDefaultWindowMs, max_ms));
  if (from_ms > to_ms)
    throw BadParam{"from (" + format_iso8601(from_ms) + ") is after to (" + format_iso8601(to_ms) + ")"};
  if (to_ms - from_ms > max_ms) {
    throw BadParam{"the window from " + format_iso8601(from_ms) + " to " + format_iso8601(to_ms) +
                   " is longer than " + bound + " hours (STATS_MAX_HOURS)"};
  }
  return {from_ms, to_ms};
}

/// Cursor text "<ts_ms>_<seq>" (opaque to clients).
std::string cursor_text(const TrackCursor& c) {
  return std::to_string(c.ts_ms) + "_" + std::to_string(c.seq);
}

std::optional<TrackCursor> parse_cursor(std::string_view s) {
  const auto sep = s.find('_');
  if (sep == std::string_view::npos) return std::nullopt;
  TrackCursor c;
  const auto [p1, e1] = std::from_chars(s.data(), s.data() + sep, c.ts_ms);
  const auto [p2, e2] = std::from_chars(s.data() + sep + 1, s.data() + s.size(), c.seq);
  if (sep == 0 || e1 != std::errc{} || p1 != s.data() + sep || e2 != std::errc{} ||
      p2 != s.data() + s.size() || sep + 1 == s.size()) {
    return std::nullopt;
  }
  return c;
}

/// %-encodes a query component (RFC 3986 unreserved characters pass).
std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

/// Link header value for the next page: the same request with cursor replaced.
std::string next_link(std::string_view path, Query query, const TrackCursor& next) {
  query["cursor"] = cursor_text(next);
  std::string target(path);
  char sep = '?';
  for (const auto& [k, v] : query) {
    target += sep;
    target += url_encode(k) + "=" + url_encode(v);
    sep = '&';
  }
  return "<" + target + ">; rel=\"next\"";
}

/// True when `path` is prefix + 9 characters + suffix; `id` gets the middle part.
bool match_mmsi_path(std::string_view path, std::string_view prefix, std::string_view suffix,
                     std::string_view& id) {
  if (!path.starts_with(prefix) || !path.ends_with(suffix) || path.size() <= prefix.size() + suffix.size())
    return false;
  id = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  return id.find('/') == std::string_view::npos;
}

json::value opt_json(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }

json::object stats_json(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, const StatsResult& r,
                        const StatsConfig& sc) {
  json::object o;
  o["mmsi"] = mmsi;
  o["window"] = json::object{{"from", format_iso8601(from_ms)}, {"to", format_iso8601(to_ms)}};
  o["points"] = r.points;
  o["from"] = r.from_ms ? json::value(format_iso8601(*r.from_ms)) : json::value(nullptr);
  o["to"] = r.to_ms ? json::value(format_iso8601(*r.to_ms)) : json::value(nullptr);
  o["distance_m"] = r.distance_m;
  o["distance_nm"] = r.distance_nm;
  o["avg_sog_kn"] = opt_json(r.avg_sog_kn);
  o["mean_sog_kn"] = opt_json(r.mean_sog_kn);
  o["avg_speed_kn"] = opt_json(r.avg_speed_kn);
  o["max_sog_kn"] = opt_json(r.max_sog_kn);
  o["moving_time_s"] = r.moving_time_s;
  o["stopped_time_s"] = r.stopped_time_s;
  o["gaps"] =
      json::object{{"count", r.gaps.count}, {"total_s", r.gaps.total_s}, {"longest_s", r.gaps.longest_s}};
  o["rejected"] = json::object{{"duplicate", r.rejected.duplicate},
                               {"out_of_order", r.rejected.out_of_order},
                               {"invalid_position", r.rejected.invalid_position},
                               {"jump", r.rejected.jump}};
  if (r.bbox) {
    o["bbox"] = json::object{{"min_lat", r.bbox->min_lat_deg},
                             {"min_lon", r.bbox->min_lon_deg},
                             {"max_lat", r.bbox->max_lat_deg},
                             {"max_lon", r.bbox->max_lon_deg}};
  } else {
    o["bbox"] = nullptr;
  }
  o["sog_unavailable"] = r.sog_unavailable;
  o["jump_resets"] = r.jump_resets;
  o["settings"] = json::object{{"max_speed_kn", sc.max_speed_kn},
                               {"stop_sog_kn", sc.stop_sog_kn},
                               {"gap_s", static_cast<double>(sc.gap_ms) / 1000.0},
                               {"jump_tolerance_m", sc.jump_tolerance_m}};
  return o;
}

/// Per-fix properties shared by the JSON and GeoJSON exports.
json::object fix_properties(const PositionFix& f) {
  json::object o;
  o["time"] = format_iso8601(f.ts_ms);
  o["sog"] = opt_json(f.sog_kn);
  o["cog"] = opt_json(f.cog_deg);
  o["heading"] = f.heading_deg ? json::value(*f.heading_deg) : json::value(nullptr);
  o["rot"] = opt_json(f.rot_deg_min);
  if (f.nav_status) {
    o["nav_status"] = to_string(*f.nav_status);
    o["nav_status_code"] = static_cast<int>(*f.nav_status);
  } else {
    o["nav_status"] = nullptr;
    o["nav_status_code"] = nullptr;
  }
  o["ais_type"] = f.ais_type;
  o["source"] = to_string(f.source);
  return o;
}

json::value cursor_json(const std::optional<TrackCursor>& c) {
  return c ? json::value(cursor_text(*c)) : json::value(nullptr);
}

std::string track_json(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, const TrackPage& page) {
  json::array fixes;
  fixes.reserve(page.fixes.size());
  for (const PositionFix& f : page.fixes) {
    json::object o = fix_properties(f);
    o["lat"] = f.latlon.lat_deg;
    o["lon"] = f.latlon.lon_deg;
    fixes.emplace_back(std::move(o));
  }
  return json::serialize(json::object{{"mmsi", mmsi},
                                      {"from", format_iso8601(from_ms)},
                                      {"to", format_iso8601(to_ms)},
                                      {"count", page.fixes.size()},
                                      {"next_cursor", cursor_json(page.next)},
                                      {"fixes", std::move(fixes)}});
}

/// RFC 7946: a FeatureCollection whose first feature is the track as a LineString (null geometry
/// with fewer than two fixes, which a LineString cannot hold), followed by one Point per fix.
std::string track_geojson(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, const TrackPage& page) {
  json::array features;
  features.reserve(page.fixes.size() + 1);
  json::array line;
  json::array times;
  line.reserve(page.fixes.size());
  times.reserve(page.fixes.size());
  for (const PositionFix& f : page.fixes) {
    line.emplace_back(json::array{f.latlon.lon_deg, f.latlon.lat_deg});
    times.emplace_back(format_iso8601(f.ts_ms));
  }
  json::value geometry = nullptr;
  if (line.size() >= 2) geometry = json::object{{"type", "LineString"}, {"coordinates", std::move(line)}};
  features.emplace_back(json::object{{"type", "Feature"},
                                     {"geometry", std::move(geometry)},
                                     {"properties", json::object{{"mmsi", mmsi},
                                                                 {"from", format_iso8601(from_ms)},
                                                                 {"to", format_iso8601(to_ms)},
                                                                 {"count", page.fixes.size()},
                                                                 {"next_cursor", cursor_json(page.next)},
                                                                 {"times", std::move(times)}}}});
  for (const PositionFix& f : page.fixes) {
    json::object props = fix_properties(f);
    props["mmsi"] = mmsi;
    features.emplace_back(json::object{
        {"type", "Feature"},
        {"geometry",
         json::object{{"type", "Point"}, {"coordinates", json::array{f.latlon.lon_deg, f.latlon.lat_deg}}}},
        {"properties", std::move(props)}});
  }
  return json::serialize(json::object{{"type", "FeatureCollection"}, {"features", std::move(features)}});
}

/// RFC 4180: CRLF line ends, a header row, empty fields for unknown values (csv.hpp).
std::string track_csv(Mmsi mmsi, const TrackPage& page) {
  std::string out(kPositionCsvHeader);
  out.reserve(out.size() + page.fixes.size() * 110);
  for (const PositionFix& f : page.fixes) append_position_csv_row(out, mmsi, f);
  return out;
}

/// Text for XML character data or attributes; drops characters XML 1.0 forbids.
std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (c >= 0x20 || ch == '\t' || ch == '\n' || ch == '\r') out += ch;
    }
  }
  return out;
}

/// GPX 1.1 (http://www.topografix.com/GPX/1/1): one <trk> with one <trkseg>. SOG (m/s) and COG go
/// into Garmin's TrackPointExtension v2, which most GPX readers understand; GPX 1.1 has no such field.
std::string track_gpx(Mmsi mmsi, const std::optional<VesselState>& vessel, TimeMs now_ms,
                      const TrackPage& page) {
  std::string name = "MMSI " + format_mmsi(mmsi);
  if (vessel && vessel->static_data.name) name += " " + *vessel->static_data.name;
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<gpx version=\"1.1\" creator=\"aistrack ";
  out += kVersion;
  out +=
      "\" xmlns=\"http://www.topografix.com/GPX/1/1\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xmlns:gpxtpx=\"http://www.garmin.com/xmlschemas/TrackPointExtension/v2\" "
      "xsi:schemaLocation=\"http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd\">\n";
  out += "  <metadata>\n    <name>" + xml_escape(name) + "</name>\n    <time>" + format_iso8601(now_ms) +
         "</time>\n  </metadata>\n";
  out += "  <trk>\n    <name>" + xml_escape(name) + "</name>\n    <type>AIS</type>\n    <trkseg>\n";
  out.reserve(out.size() + page.fixes.size() * 260);
  for (const PositionFix& f : page.fixes) {
    // GPX's longitudeType is −180 <= lon < 180.
    const double lon = f.latlon.lon_deg >= 180.0 ? f.latlon.lon_deg - 360.0 : f.latlon.lon_deg;
    out += "      <trkpt lat=\"" + number_text(f.latlon.lat_deg) + "\" lon=\"" + number_text(lon) + "\">";
    out += "<time>" + format_iso8601(f.ts_ms) + "</time>";
    if (f.sog_kn || f.cog_deg) {
      out += "<extensions><gpxtpx:TrackPointExtension>";
      if (f.sog_kn)
        out += "<gpxtpx:speed>" + number_text(*f.sog_kn * kMetresPerSecondPerKnot) + "</gpxtpx:speed>";
      if (f.cog_deg) out += "<gpxtpx:course>" + number_text(*f.cog_deg) + "</gpxtpx:course>";
      out += "</gpxtpx:TrackPointExtension></extensions>";
    }
    out += "</trkpt>\n";
  }
  out += "    </trkseg>\n  </trk>\n</gpx>\n";
  return out;
}

class StatsRoutes final : public RouteModule {
 public:
  StatsRoutes(const App& app, const ServerConfig& config) : app_(app), config_(config) {
    stats_config_.max_speed_kn = config.stats_max_speed_kn;
    stats_config_.stop_sog_kn = config.stats_stop_sog_kn;
    stats_config_.gap_ms = static_cast<TimeMs>(config.stats_gap_s) * 1000;
    const Stats validated(stats_config_);  // a bad setting fails at start-up, not per request
    static_cast<void>(validated);
  }

  std::optional<Response> handle(const Request& request, std::string_view path, const Query& query,
                                 TimeMs now_ms) override {
    std::string_view id;
    if (match_mmsi_path(path, "/v1/stats/", "", id)) {
      if (!is_read(request)) return method_not_allowed("GET, HEAD");
      return guarded([&] { return stats(id, query, now_ms); });
    }
    if (match_mmsi_path(path, "/v1/ais/", "/track", id)) {
      if (!is_read(request)) return method_not_allowed("GET, HEAD");
      return guarded([&] { return track(path, id, query, now_ms); });
    }
    if (path == kAreaPath) {
      if (!is_read(request)) return method_not_allowed("GET, HEAD");
      return guarded([&] { return area(query, now_ms); });
    }
    return std::nullopt;
  }

  [[nodiscard]] std::vector<RouteInfo> routes() const override {
    return {
        {"/v1/stats/{mmsi}", {"GET"}}, {"/v1/ais/{mmsi}/track", {"GET"}}, {std::string(kAreaPath), {"GET"}}};
  }

  [[nodiscard]] bool is_slow(std::string_view path) const override {
    // All read the Store (up to STATS_MAX_HOURS of fixes, or a page of TRACK_MAX_LIMIT).
    std::string_view id;
    return match_mmsi_path(path, "/v1/stats/", "", id) || match_mmsi_path(path, "/v1/ais/", "/track", id) ||
           path == kAreaPath;
  }

 private:
  template <class F>
  static Response guarded(F&& answer) {
    try {
      return answer();
    } catch (const BadParam& e) {
      return bad_param(e);
    }
  }

  /// The vessel's record when it is known (in memory, else in the Store); a 400/404 otherwise.
  std::variant<std::pair<Mmsi, std::optional<VesselState>>, Response> known_vessel(
      std::string_view id) const {
    const auto mmsi = parse_mmsi(id);
    if (!mmsi) {
      return error_response(400, "invalid_mmsi",
                            "an MMSI is exactly 9 digits, e.g. 244700923; got '" + std::string(id) + "'");
    }
    auto v = app_.latest(*mmsi);
    if (!v) v = app_.store().latest(*mmsi);  // evicted from memory but still stored
    if (!v) {
      return error_response(404, "not_found", "no vessel with MMSI " + format_mmsi(*mmsi) + " has been seen");
    }
    return std::pair{*mmsi, std::move(v)};
  }

  Response stats(std::string_view id, const Query& q, TimeMs now_ms) const {
    const auto [from_ms, to_ms] = window_param(q, now_ms, config_.stats_max_hours);
    auto known = known_vessel(id);
    if (auto* r = std::get_if<Response>(&known)) return std::move(*r);
    const Mmsi mmsi = std::get<0>(known).first;
    Stats stats(stats_config_);
    // Stats reads only motion fields; reading the other four columns would cost ~20 % more.
    app_.store().visit_track(
        mmsi, from_ms, to_ms, std::numeric_limits<std::size_t>::max(),
        [&](const PositionFix& f) { stats.add(f); }, TrackFields::motion);
    return json_response(stats_json(mmsi, from_ms, to_ms, stats.result(), stats_config_));
  }

  Response track(std::string_view path, std::string_view id, const Query& q, TimeMs now_ms) const {
    const std::string format_text = param(q, "format").value_or("json");
    Format format = Format::json;
    if (format_text == "geojson") {
      format = Format::geojson;
    } else if (format_text == "csv") {
      format = Format::csv;
    } else if (format_text == "gpx") {
      format = Format::gpx;
    } else if (format_text != "json") {
      throw BadParam{"format must be json, geojson, csv or gpx; got '" + format_text + "'"};
    }
    const auto [from_ms, to_ms] = window_param(q, now_ms, std::nullopt);
    const auto limit = size_param(q, "limit", std::min(kDefaultTrackLimit, config_.track_max_limit),
                                  config_.track_max_limit);
    if (!limit || *limit == 0) {
      throw BadParam{"limit must be an integer from 1 to " + std::to_string(config_.track_max_limit) +
                     " (TRACK_MAX_LIMIT)"};
    }
    std::optional<TrackCursor> after;
    if (const auto c = param(q, "cursor")) {
      after = parse_cursor(*c);
      if (!after) throw BadParam{"cursor must be a next_cursor value from a previous page; got '" + *c + "'"};
    }
    auto known = known_vessel(id);
    if (auto* r = std::get_if<Response>(&known)) return std::move(*r);
    const auto& [mmsi, vessel] = std::get<0>(known);
    const TrackPage page = app_.store().track_page(mmsi, from_ms, to_ms, after, *limit);

    Response r;
    switch (format) {
      case Format::json:
        r = Response{200, "application/json", track_json(mmsi, from_ms, to_ms, page), {}};
        break;
      case Format::geojson:
        r = Response{200, "application/geo+json", track_geojson(mmsi, from_ms, to_ms, page), {}};
        break;
      case Format::csv:
        r = Response{200, "text/csv; charset=utf-8; header=present", track_csv(mmsi, page), {}};
        break;
      case Format::gpx:
        r = Response{200, "application/gpx+xml", track_gpx(mmsi, vessel, now_ms, page), {}};
        break;
    }
    if (page.next) r.headers.emplace_back("Link", next_link(path, q, *page.next));
    return r;
  }

  // Who was in an area: the stored positions inside a box during a window (PostGIS answers from its
  // GiST index; elsewhere a scan of the window, see Store::area_positions).
  Response area(const Query& q, TimeMs now_ms) const {
    const auto text = param(q, "bbox");
    if (!text) throw BadParam{std::string(kGeoBoxRule) + "; bbox is required"};
    const auto box = parse_geo_box(*text);
    if (!box) throw BadParam{std::string(kGeoBoxRule) + "; got '" + *text + "'"};
    const auto [from_ms, to_ms] = window_param(q, now_ms, config_.stats_max_hours);
    const auto limit = size_param(q, "limit", std::min(kDefaultTrackLimit, config_.track_max_limit),
                                  config_.track_max_limit);
    if (!limit || *limit == 0) {
      throw BadParam{"limit must be an integer from 1 to " + std::to_string(config_.track_max_limit) +
                     " (TRACK_MAX_LIMIT)"};
    }
    auto rows = app_.store().area_positions(*box, from_ms, to_ms, *limit + 1);  // one more: truncated?
    const bool truncated = rows.size() > *limit;
    if (truncated) rows.resize(*limit);
    json::array positions;
    positions.reserve(rows.size());
    for (const PositionRow& r : rows) {
      json::object o = fix_properties(r.fix);
      o["mmsi"] = r.mmsi;
      o["lat"] = r.fix.latlon.lat_deg;
      o["lon"] = r.fix.latlon.lon_deg;
      positions.emplace_back(std::move(o));
    }
    const json::array bbox{box->min_lat_deg, box->min_lon_deg, box->max_lat_deg, box->max_lon_deg};
    return json_response(json::object{{"bbox", bbox},
                                      {"from", format_iso8601(from_ms)},
                                      {"to", format_iso8601(to_ms)},
                                      {"count", rows.size()},
                                      {"truncated", truncated},
                                      {"positions", std::move(positions)}});
  }

  static constexpr std::string_view kAreaPath = "/v1/positions";

  const App& app_;
  ServerConfig config_;
  StatsConfig stats_config_;
};

}  // namespace

std::unique_ptr<RouteModule> make_stats_routes(const App& app, const ServerConfig& config) {
  return std::make_unique<StatsRoutes>(app, config);
}

}  // namespace aistrack::server
