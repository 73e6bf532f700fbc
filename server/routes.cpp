#include "routes.hpp"

#include "geo_box.hpp"
#include "json_view.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <tuple>

namespace aistrack::server {
namespace json = boost::json;

namespace {
constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 1000;

Response get_vessel(const App& app, std::string_view id) {
  const auto mmsi = parse_mmsi(id);
  if (!mmsi) {
    return error_response(400, "invalid_mmsi",
                          "an MMSI is exactly 9 digits, e.g. 244700923; got '" + std::string(id) + "'");
  }
  const auto v = app.latest(*mmsi);
  if (!v)
    return error_response(404, "not_found", "no vessel with MMSI " + format_mmsi(*mmsi) + " has been seen");
  return json_response(vessel_json(*v));
}

Response list_vessels(const App& app, const Query& q, TimeMs now_ms) {
  const auto limit = size_param(q, "limit", kDefaultLimit, kMaxLimit);
  if (!limit || *limit == 0) {
    return error_response(400, "invalid_parameter",
                          "limit must be an integer from 1 to " + std::to_string(kMaxLimit));
  }
  const auto offset = size_param(q, "offset", 0, SIZE_MAX);
  if (!offset) return error_response(400, "invalid_parameter", "offset must be a non-negative integer");
  // bbox and since (issue #5) filter the vessels in memory by their latest position / last_seen.
  std::optional<GeoBox> box;
  if (const auto it = q.find("bbox"); it != q.end()) {
    box = parse_geo_box(it->second);
    if (!box)
      return error_response(400, "invalid_parameter",
                            std::string(kGeoBoxRule) + "; got '" + it->second + "'");
  }
  constexpr std::size_t kMaxSinceS = 100ULL * 365 * 86'400;
  const auto since_s = size_param(q, "since", 0, kMaxSinceS);
  if (!since_s || (q.contains("since") && *since_s == 0)) {
    return error_response(400, "invalid_parameter",
                          "since must be a whole number of seconds from 1 to " + std::to_string(kMaxSinceS));
  }
  std::vector<VesselState> page;
  std::size_t total = 0;
  if (box || q.contains("since")) {
    const TimeMs seen_after_ms = now_ms - static_cast<TimeMs>(*since_s) * 1000;
    app.for_each_vessel([&](const VesselState& v) {
      if (q.contains("since") && v.last_seen_ms < seen_after_ms) return;
      if (box && !(v.position && box->contains(v.position->latlon))) return;
      if (total >= *offset && page.size() < *limit) page.push_back(v);
      ++total;
    });
  } else {
    std::tie(page, total) = app.vessels(*offset, *limit);
  }
  json::array items;
  items.reserve(page.size());
  for (const auto& v : page) items.emplace_back(vessel_json(v));
  return json_response(
      json::object{{"total", total}, {"offset", *offset}, {"limit", *limit}, {"vessels", std::move(items)}});
}
}  // namespace

Api::Api(const App& app, const ServerConfig& config) : app_(app) {
  for (auto make : {make_stats_routes, make_map_routes, make_web_routes, make_control_routes}) {
    if (auto m = make(app, config)) modules_.push_back(std::move(m));
  }
}

Api::~Api() = default;

namespace {
std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  const auto qm = target.find('?');
  if (qm == std::string_view::npos) return {target, {}};
  return {target.substr(0, qm), target.substr(qm + 1)};
}
}  // namespace

std::vector<RouteInfo> Api::routes() const {
  std::vector<RouteInfo> out{{"/health", {"GET"}},
                             {"/openapi.json", {"GET"}},
                             {"/v1/vessels", {"GET"}},
                             {"/v1/ais/{mmsi}", {"GET"}},
                             {std::string(kLivePath), {"GET"}}};
  out.push_back({"/metrics", {"GET"}});  // Prometheus (issue #8)
  for (const auto& m : modules_) {
    for (auto& r : m->routes()) out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const RouteInfo& a, const RouteInfo& b) { return a.path < b.path; });
  return out;
}

bool Api::is_slow(const Request& request) const {
  const auto [path, query] = split_target(request.target);
  for (const auto& m : modules_) {
    if (m->is_slow(path)) return true;
  }
  return false;
}

void Api::count_refused(const Request& request, int status) const {
  http_metrics_.record(split_target(request.target).first, request.method, status, 0.0);
}

Response Api::handle(const Request& request, TimeMs now_ms) const {
  const auto start = std::chrono::steady_clock::now();
  const std::string_view path = split_target(request.target).first;
  try {
    Response r = route(request, now_ms);
    http_metrics_.record(path, request.method, r.status, seconds_since(start));
    return r;
  } catch (...) {
    http_metrics_.record(path, request.method, 500, seconds_since(start));
    throw;
  }
}

Response Api::metrics(TimeMs now_ms) const {
  MetricsText out;
  app_.write_metrics(out, now_ms);
  http_metrics_.write(out);
  Response r;
  r.content_type = std::string(kMetricsContentType);
  r.body = out.str();
  return r;
}

Response Api::route(const Request& request, TimeMs now_ms) const {
  const auto [target, query] = split_target(request.target);
  const bool read = is_read(request);
  const auto params = parse_query(query);
  if (!params) return error_response(400, "invalid_query", "the query string has a broken %-escape");

  if (target == "/health") {
    if (!read) return method_not_allowed("GET, HEAD");
    Health h = app_.health(now_ms);
    Response r = json_response(h.body);
    if (!h.healthy) r.status = 503;
    return r;
  }
  if (target == "/openapi.json") {
    if (!read) return method_not_allowed("GET, HEAD");
    Response r;
    r.body = std::string(openapi_json());
    return r;
  }
  if (target == "/metrics") {
    if (!read) return method_not_allowed("GET, HEAD");
    return metrics(now_ms);
  }
  if (target == "/v1/vessels") {
    if (!read) return method_not_allowed("GET, HEAD");
    return list_vessels(app_, *params, now_ms);
  }
  constexpr std::string_view kAis = "/v1/ais/";
  if (target.starts_with(kAis) && target.size() > kAis.size() &&
      target.find('/', kAis.size()) == std::string_view::npos) {
    if (!read) return method_not_allowed("GET, HEAD");
    return get_vessel(app_, target.substr(kAis.size()));
  }
  for (const auto& m : modules_) {
    if (auto r = m->handle(request, target, *params, now_ms)) return std::move(*r);
  }
  return error_response(404, "not_found", "no route for " + std::string(target) + " (see docs/API.md)");
}

}  // namespace aistrack::server
