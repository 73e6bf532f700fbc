#include "routes.hpp"

#include "json_view.hpp"

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

Response list_vessels(const App& app, const Query& q) {
  const auto limit = size_param(q, "limit", kDefaultLimit, kMaxLimit);
  if (!limit || *limit == 0) {
    return error_response(400, "invalid_parameter",
                          "limit must be an integer from 1 to " + std::to_string(kMaxLimit));
  }
  const auto offset = size_param(q, "offset", 0, SIZE_MAX);
  if (!offset) return error_response(400, "invalid_parameter", "offset must be a non-negative integer");
  auto [page, total] = app.vessels(*offset, *limit);
  json::array items;
  items.reserve(page.size());
  for (const auto& v : page) items.emplace_back(vessel_json(v));
  return json_response(
      json::object{{"total", total}, {"offset", *offset}, {"limit", *limit}, {"vessels", std::move(items)}});
}
}  // namespace

Api::Api(const App& app, const ServerConfig& config) : app_(app) {
  for (auto make : {make_stats_routes, make_map_routes}) {
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

bool Api::is_slow(const Request& request) const {
  const auto [path, query] = split_target(request.target);
  for (const auto& m : modules_) {
    if (m->is_slow(path)) return true;
  }
  return false;
}

Response Api::handle(const Request& request, TimeMs now_ms) const {
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
  if (target == "/v1/vessels") {
    if (!read) return method_not_allowed("GET, HEAD");
    return list_vessels(app_, *params);
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
