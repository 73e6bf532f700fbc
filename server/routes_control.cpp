// Run-time control routes (issue #10): the watch list, the aisstream.io areas and the simulator.
// Changes go to the App's Control (thread-safe, saved to the Store before the answer) and reach the
// Tracker, the aisstream.io subscription and the simulator on the next ingest tick.
#include "routes.hpp"

#include "csv.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace aistrack::server {
namespace json = boost::json;

namespace {

constexpr std::string_view kWatchlist = "/v1/watchlist";
constexpr std::string_view kAreas = "/v1/areas";
constexpr std::string_view kSim = "/v1/sim";
constexpr std::string_view kExport = "/v1/positions/export.csv";
constexpr std::size_t kDefaultExportRows = 100'000;
constexpr std::int64_t kDefaultExportSinceS = 86'400;
constexpr std::int64_t kMaxSinceS = 100LL * 365 * 86'400;
constexpr std::size_t kMaxExportMmsi = 1000;

// The export body: pages of the Store's positions_page() written as CSV, one part per call, each part
// within the memory bound the HTTP layer passes in.
class PositionsCsv final : public BodyStream {
 public:
  PositionsCsv(const Store& store, TimeMs from_ms, TimeMs to_ms, std::vector<Mmsi> mmsi, std::size_t limit)
      : store_(store), from_ms_(from_ms), to_ms_(to_ms), mmsi_(std::move(mmsi)), remaining_(limit) {}

  bool next(std::string& out, std::size_t max_bytes) override {
    if (!header_written_) {
      out += kPositionCsvHeader;
      header_written_ = true;
    }
    while (remaining_ > 0) {
      const std::size_t room =
          max_bytes > out.size() ? (max_bytes - out.size()) / kMaxPositionCsvRowBytes : 0;
      if (room == 0) return true;  // this part is full; the next call goes on from the cursor
      const PositionsPage page =
          store_.positions_page(from_ms_, to_ms_, mmsi_, cursor_, std::min(room, remaining_));
      for (const PositionRow& row : page.rows) append_position_csv_row(out, row.mmsi, row.fix);
      remaining_ -= std::min(remaining_, page.rows.size());
      if (!page.next) return false;
      cursor_ = page.next;
    }
    return false;
  }

 private:
  const Store& store_;
  TimeMs from_ms_, to_ms_;
  std::vector<Mmsi> mmsi_;
  std::size_t remaining_;
  std::optional<PositionsCursor> cursor_;
  bool header_written_ = false;
};

std::string_view origin_name(ControlOrigin o) {
  return o == ControlOrigin::database ? "database" : "settings";
}

json::object watchlist_json(const ControlState& st) {
  json::array ids;
  for (const Mmsi m : st.watchlist) ids.emplace_back(m);
  return json::object{{"mmsi", std::move(ids)},
                      {"count", st.watchlist.size()},
                      {"origin", origin_name(st.watchlist_origin)},
                      {"mmsi_filter", App::mmsi_filter_mode(st.watchlist.size())}};
}

json::object areas_json(const ControlState& st) {
  json::array boxes;
  for (const auto& b : st.areas)
    boxes.emplace_back(json::array{b.lat1_deg, b.lon1_deg, b.lat2_deg, b.lon2_deg});
  return json::object{
      {"areas", std::move(boxes)}, {"count", st.areas.size()}, {"origin", origin_name(st.areas_origin)}};
}

Response bad_mmsi(std::string_view what) {
  return error_response(400, "invalid_mmsi",
                        "an MMSI is exactly 9 digits (a string such as \"002442000\", or a number from 1 to "
                        "999999999); got " +
                            std::string(what));
}

// A JSON number or 9-digit string → MMSI.
std::optional<Mmsi> mmsi_of(const json::value& v) {
  if (v.is_string()) return parse_mmsi(v.get_string());
  if (v.is_int64() && v.get_int64() >= 1 && v.get_int64() <= 999'999'999)
    return static_cast<Mmsi>(v.get_int64());
  if (v.is_uint64() && v.get_uint64() >= 1 && v.get_uint64() <= 999'999'999)
    return static_cast<Mmsi>(v.get_uint64());
  return std::nullopt;
}

std::optional<json::value> parse_body(const Request& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec) return std::nullopt;
  return v;
}

Response invalid_body(std::string_view message) { return error_response(400, "invalid_body", message); }

Response store_failed(const std::exception& e) {
  return error_response(503, "store_unavailable", std::string("the change was not saved: ") + e.what());
}

class ControlRoutes final : public RouteModule {
 public:
  ControlRoutes(const App& app, const ServerConfig& config) : app_(app), config_(config) {}

  std::optional<Response> handle(const Request& request, std::string_view path, const Query& query,
                                 TimeMs now_ms) override {
    if (path == kWatchlist) return watchlist(request);
    if (path.starts_with(kWatchlist) && path.size() > kWatchlist.size() && path[kWatchlist.size()] == '/') {
      return watchlist_item(request, path.substr(kWatchlist.size() + 1));
    }
    if (path == kAreas) return areas(request);
    if (path == kSim) {
      if (!is_read(request)) return method_not_allowed("GET, HEAD");
      return sim_json();
    }
    if (path == "/v1/sim/start" || path == "/v1/sim/stop")
      return sim_change(request, path.ends_with("start"), query);
    if (path == kExport) return export_csv(request, query, now_ms);
    return std::nullopt;
  }

  [[nodiscard]] std::vector<RouteInfo> routes() const override {
    return {{std::string(kWatchlist), {"GET", "PUT"}},
            {std::string(kWatchlist) + "/{mmsi}", {"POST", "DELETE"}},
            {std::string(kAreas), {"GET", "PUT"}},
            {std::string(kSim), {"GET"}},
            {"/v1/sim/start", {"POST"}},
            {"/v1/sim/stop", {"POST"}},
            {std::string(kExport), {"GET"}}};
  }

  // The export reads SQLite page by page: never on a network thread.
  [[nodiscard]] bool is_slow(std::string_view path) const override { return path == kExport; }

 private:
  // Access control (issue #8), in one place: every route that changes something calls it. The HTTP
  // layer's access gate (auth.hpp) has already authenticated the caller and set its role.
  static std::optional<Response> authorize_change(const Request& request) {
    if (request.role == AccessRole::admin) return std::nullopt;
    return error_response(403, "forbidden", "this token is read-only: changes need an admin token");
  }

  Response watchlist(const Request& r) {
    if (is_read(r)) return json_response(watchlist_json(app_.control().state()));
    if (r.method != "PUT") return method_not_allowed("GET, HEAD, PUT");
    if (auto denied = authorize_change(r)) return std::move(*denied);
    const auto body = parse_body(r);
    const json::value* list = nullptr;
    if (body && body->is_object()) list = body->get_object().if_contains("mmsi");
    if (list == nullptr || !list->is_array()) {
      return invalid_body(
          R"(expected a JSON object {"mmsi": [244700923, "002442000", …]} (an empty list tracks every vessel))");
    }
    if (list->get_array().size() > kMaxWatchlist) {
      return error_response(400, "invalid_parameter",
                            "the watch list holds at most " + std::to_string(kMaxWatchlist) + " MMSIs");
    }
    std::vector<Mmsi> ids;
    for (const auto& v : list->get_array()) {
      const auto m = mmsi_of(v);
      if (!m) return bad_mmsi(json::serialize(v));
      ids.push_back(*m);
    }
    try {
      return json_response(watchlist_json(app_.control().set_watchlist(std::move(ids))));
    } catch (const StoreError& e) {
      return store_failed(e);
    }
  }

  Response watchlist_item(const Request& r, std::string_view id) {
    if (r.method != "POST" && r.method != "DELETE") return method_not_allowed("POST, DELETE");
    const auto mmsi = parse_mmsi(id);
    if (!mmsi) return bad_mmsi("'" + std::string(id) + "'");
    if (auto denied = authorize_change(r)) return std::move(*denied);
    try {
      if (r.method == "POST") return json_response(watchlist_json(app_.control().add_to_watchlist(*mmsi)));
      const auto st = app_.control().remove_from_watchlist(*mmsi);
      if (!st)
        return error_response(404, "not_found", "MMSI " + format_mmsi(*mmsi) + " is not on the watch list");
      return json_response(watchlist_json(*st));
    } catch (const std::length_error&) {
      return error_response(400, "invalid_parameter",
                            "the watch list holds at most " + std::to_string(kMaxWatchlist) + " MMSIs");
    } catch (const StoreError& e) {
      return store_failed(e);
    }
  }

  Response areas(const Request& r) {
    if (is_read(r)) return json_response(areas_json(app_.control().state()));
    if (r.method != "PUT") return method_not_allowed("GET, HEAD, PUT");
    if (auto denied = authorize_change(r)) return std::move(*denied);
    const auto body = parse_body(r);
    const json::value* list = nullptr;
    if (body && body->is_object()) list = body->get_object().if_contains("areas");
    if (list == nullptr || !list->is_array()) {
      return invalid_body(
          R"(expected a JSON object {"areas": [[lat1, lon1, lat2, lon2], …]}, latitude first (an empty list is the whole world))");
    }
    if (list->get_array().size() > kMaxAreas) {
      return error_response(400, "invalid_parameter", "at most " + std::to_string(kMaxAreas) + " areas");
    }
    std::vector<aisstream::BoundingBox> boxes;
    for (const auto& item : list->get_array()) {
      const int index = static_cast<int>(boxes.size() + 1);
      double c[4] = {};
      bool ok = item.is_array() && item.get_array().size() == 4;
      for (std::size_t i = 0; ok && i < 4; ++i) {
        const auto& n = item.get_array()[i];
        ok = n.is_number();
        if (ok) c[i] = n.to_number<double>();
      }
      if (!ok) {
        return error_response(400, "invalid_parameter",
                              "box " + std::to_string(index) + " must be 4 numbers [lat1, lon1, lat2, lon2]");
      }
      const aisstream::BoundingBox b{c[0], c[1], c[2], c[3]};
      std::string why;
      if (!aisstream::validate_bounding_box(b, index, why))
        return error_response(400, "invalid_parameter", why);
      boxes.push_back(b);
    }
    try {
      return json_response(areas_json(app_.control().set_areas(std::move(boxes))));
    } catch (const StoreError& e) {
      return store_failed(e);
    }
  }

  Response sim_json() const {
    const ControlState st = app_.control().state();
    const App::SimStatus now = app_.sim_status();
    // `state`, `vessels` and `speed` are what was asked for (the next tick applies them); the counters
    // are what the running simulator did.
    return json_response(json::object{
        {"state", st.sim.running ? "running" : "stopped"},
        {"vessels", st.sim.vessels},
        {"speed", st.sim.speed},
        {"seed", now.seed},
        {"source", "simulator"},
        {"messages", now.messages},
        {"started", now.started_ms && st.sim.running ? json::value(format_iso8601(*now.started_ms))
                                                     : json::value(nullptr)}});
  }

  // speed / vessels from the query string or a JSON body ({"speed": 10, "vessels": 50}).
  Response sim_change(const Request& r, bool start, const Query& q) {
    if (r.method != "POST") return method_not_allowed("POST");
    if (auto denied = authorize_change(r)) return std::move(*denied);
    SimRequest sim = app_.control().state().sim;
    if (!start) {
      sim.running = false;
      app_.control().set_sim(sim);
      return sim_json();
    }
    std::optional<json::object> body;
    if (!r.body.empty()) {
      const auto v = parse_body(r);
      if (!v || !v->is_object())
        return invalid_body(R"(expected a JSON object such as {"speed": 10, "vessels": 50})");
      body = v->get_object();
    }
    auto param = [&](const char* name) -> std::optional<std::string> {
      if (const auto it = q.find(name); it != q.end()) return it->second;
      if (body) {
        if (const auto* v = body->if_contains(name))
          return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
      }
      return std::nullopt;
    };
    if (const auto v = param("speed")) {
      double d = 0;
      const auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), d);
      if (v->empty() || ec != std::errc{} || p != v->data() + v->size() || !(d > 0) || d > kMaxSimSpeed) {
        return error_response(400, "invalid_parameter",
                              "speed must be a number above 0 and at most " +
                                  std::to_string(static_cast<int>(kMaxSimSpeed)) +
                                  " (simulated seconds per real second)");
      }
      sim.speed = d;
    }
    if (const auto v = param("vessels")) {
      std::size_t n = 0;
      const auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
      if (v->empty() || ec != std::errc{} || p != v->data() + v->size() || n < 1 || n > kMaxSimVessels) {
        return error_response(400, "invalid_parameter",
                              "vessels must be a whole number from 1 to " + std::to_string(kMaxSimVessels));
      }
      sim.vessels = n;
    }
    sim.running = true;
    app_.control().set_sim(sim);
    return sim_json();
  }

  // GET /v1/positions/export.csv?since=&limit=&mmsi=: rows in (mmsi, time) order, streamed.
  Response export_csv(const Request& r, const Query& q, TimeMs now_ms) const {
    if (!is_read(r)) return method_not_allowed("GET, HEAD");
    // since: seconds back from now (as /v1/vessels?since=) or an ISO-8601 time (as from= on the track).
    TimeMs from_ms = now_ms - kDefaultExportSinceS * 1000;
    if (const auto it = q.find("since"); it != q.end()) {
      std::int64_t seconds = 0;
      const std::string& v = it->second;
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
      if (!v.empty() && ec == std::errc{} && p == v.data() + v.size() && seconds >= 1 &&
          seconds <= kMaxSinceS) {
        from_ms = now_ms - seconds * 1000;
      } else if (const auto t = parse_iso8601(v)) {
        from_ms = *t;
      } else {
        return error_response(400, "invalid_parameter",
                              "since must be whole seconds back from now (1 to " +
                                  std::to_string(kMaxSinceS) +
                                  ") or an ISO-8601 time such as 2026-08-30T12:00:00Z; got '" + v + "'");
      }
    }
    const auto limit = size_param(q, "limit", std::min(kDefaultExportRows, config_.export_max_rows),
                                  config_.export_max_rows);
    if (!limit || *limit == 0) {
      return error_response(400, "invalid_parameter",
                            "limit must be a whole number from 1 to " +
                                std::to_string(config_.export_max_rows) + " (EXPORT_MAX_ROWS)");
    }
    std::vector<Mmsi> mmsi;
    if (const auto it = q.find("mmsi"); it != q.end()) {
      std::string_view rest = it->second;
      while (!rest.empty() || mmsi.empty()) {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        const auto m = parse_mmsi(item);
        if (!m) return bad_mmsi("'" + std::string(item) + "' in mmsi=");
        mmsi.push_back(*m);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      if (mmsi.size() > kMaxExportMmsi) {
        return error_response(400, "invalid_parameter",
                              "mmsi= lists at most " + std::to_string(kMaxExportMmsi) + " MMSIs");
      }
      std::sort(mmsi.begin(), mmsi.end());
      mmsi.erase(std::unique(mmsi.begin(), mmsi.end()), mmsi.end());
    }
    Response res{200, "text/csv; charset=utf-8; header=present", {}, {}};
    res.headers.emplace_back("Content-Disposition", "attachment; filename=\"positions.csv\"");
    res.stream = std::make_shared<PositionsCsv>(app_.store(), from_ms, now_ms, std::move(mmsi), *limit);
    return res;
  }

  const App& app_;
  const ServerConfig& config_;
};

}  // namespace

std::unique_ptr<RouteModule> make_control_routes(const App& app, const ServerConfig& config) {
  return std::make_unique<ControlRoutes>(app, config);
}

}  // namespace aistrack::server
