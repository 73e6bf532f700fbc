#include "routes.hpp"

#include "json_view.hpp"

#include <charconv>
#include <map>

namespace aistrack::server {
namespace json = boost::json;

namespace {
constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 1000;

Response error(int status, std::string_view code, std::string_view message) {
  return Response{status, "application/json", error_body(code, message), {}};
}

Response ok(const json::value& v) { return Response{200, "application/json", json::serialize(v), {}}; }

Response method_not_allowed(std::string_view allow) {
  Response r = error(405, "method_not_allowed", "this resource only supports " + std::string(allow));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

/// Decodes %XX and '+' in a query component; nullopt on a broken escape.
std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int v = 0;
      const auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec != std::errc{} || p != s.data() + i + 3) return std::nullopt;
      out += static_cast<char>(v);
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto k = url_decode(part.substr(0, eq));
    auto v = url_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (!k || !v) return std::nullopt;
    out[*k] = *v;
  }
  return out;
}

/// Reads a non-negative integer parameter; nullopt result with `bad` set when malformed.
std::optional<std::size_t> size_param(const std::map<std::string, std::string>& q, const std::string& name,
                                      std::size_t fallback, std::size_t max, bool& bad) {
  const auto it = q.find(name);
  if (it == q.end()) return fallback;
  std::size_t v = 0;
  const auto& s = it->second;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || v > max) {
    bad = true;
    return std::nullopt;
  }
  return v;
}

Response get_vessel(const App& app, std::string_view id) {
  const auto mmsi = parse_mmsi(id);
  if (!mmsi) {
    return error(400, "invalid_mmsi",
                 "an MMSI is exactly 9 digits, e.g. 244700923; got '" + std::string(id) + "'");
  }
  const auto v = app.latest(*mmsi);
  if (!v) return error(404, "not_found", "no vessel with MMSI " + format_mmsi(*mmsi) + " has been seen");
  return ok(vessel_json(*v));
}

Response list_vessels(const App& app, const std::map<std::string, std::string>& q) {
  bool bad = false;
  const auto limit = size_param(q, "limit", kDefaultLimit, kMaxLimit, bad);
  if (bad || *limit == 0) {
    return error(400, "invalid_parameter", "limit must be an integer from 1 to " + std::to_string(kMaxLimit));
  }
  const auto offset = size_param(q, "offset", 0, SIZE_MAX, bad);
  if (bad) return error(400, "invalid_parameter", "offset must be a non-negative integer");
  auto [page, total] = app.vessels(*offset, *limit);
  json::array items;
  items.reserve(page.size());
  for (const auto& v : page) items.emplace_back(vessel_json(v));
  return ok(
      json::object{{"total", total}, {"offset", *offset}, {"limit", *limit}, {"vessels", std::move(items)}});
}
}  // namespace

Response Api::handle(const Request& request, TimeMs now_ms) const {
  std::string_view target = request.target;
  std::string_view query;
  if (const auto qm = target.find('?'); qm != std::string_view::npos) {
    query = target.substr(qm + 1);
    target = target.substr(0, qm);
  }
  const bool read = request.method == "GET" || request.method == "HEAD";
  const auto params = parse_query(query);
  if (!params) return error(400, "invalid_query", "the query string has a broken %-escape");

  if (target == "/health") {
    if (!read) return method_not_allowed("GET, HEAD");
    Health h = app_.health(now_ms);
    Response r = ok(h.body);
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
  return error(404, "not_found", "no route for " + std::string(target) + " (see docs/API.md)");
}

}  // namespace aistrack::server
