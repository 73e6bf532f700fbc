// The REST API as a pure function of a request: no sockets, so it is unit-tested
// directly and served by http_server.cpp. Feature areas (stats, maps …) plug in as
// RouteModules, each in its own file.
#pragma once

#include "app.hpp"
#include "config.hpp"
#include "http_util.hpp"
#include "metrics.hpp"

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace aistrack::server {

/// The live-push WebSocket (issue #7), served by http_server.cpp beside the REST routes.
inline constexpr std::string_view kLivePath = "/v1/live";

/// The OpenAPI 3 document of this API (docs/openapi.json, embedded at build time), served at
/// /openapi.json.
std::string_view openapi_json() noexcept;

/// One route as docs/openapi.json documents it: an OpenAPI path template and the methods it takes
/// (HEAD is implied wherever GET is, and not listed).
struct RouteInfo {
  std::string path;                  ///< e.g. "/v1/ais/{mmsi}/track"
  std::vector<std::string> methods;  ///< e.g. {"GET"} or {"GET", "PUT"}
  friend bool operator==(const RouteInfo&, const RouteInfo&) = default;
};

/// One feature's routes. handle() returns nullopt for paths it does not own.
class RouteModule {
 public:
  virtual ~RouteModule() = default;
  /// Every route handle() answers, so the OpenAPI document can be checked against the server.
  [[nodiscard]] virtual std::vector<RouteInfo> routes() const = 0;
  /// Answers `request` if `path` (without query) is one of this module's routes; `now_ms` is ms UTC.
  virtual std::optional<Response> handle(const Request& request, std::string_view path, const Query& query,
                                         TimeMs now_ms) = 0;
  /// True when answering `path` may take long (e.g. rendering): the server then runs it off the network
  /// threads.
  [[nodiscard]] virtual bool is_slow(std::string_view /*path*/) const { return false; }
};

/// Routes of the stats issue (#5): /v1/stats/{mmsi}, /v1/ais/{mmsi}/track (routes_stats.cpp).
std::unique_ptr<RouteModule> make_stats_routes(const App& app, const ServerConfig& config);
/// Routes of the map issue (#6): /v1/map/{mmsi}, and the dashboard's tile proxy /v1/tiles/{z}/{x}/{y}.png
/// (issue #7), which shares the map's tile chain (routes_map.cpp).
std::unique_ptr<RouteModule> make_map_routes(const App& app, const ServerConfig& config);
/// Routes of the dashboard (issue #7): / and /static/{file} (routes_web.cpp).
std::unique_ptr<RouteModule> make_web_routes(const App& app, const ServerConfig& config);

/// Routes of run-time control (#10): /v1/watchlist, /v1/areas, /v1/sim, /v1/positions/export.csv
/// (routes_control.cpp).
std::unique_ptr<RouteModule> make_control_routes(const App& app, const ServerConfig& config);

/// Routes requests to the App and the feature modules. Thread-safe when the modules are.
class Api {
 public:
  /// An API over `app`, which must outlive it.
  Api(const App& app, const ServerConfig& config);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  /// Answers one request at `now_ms` (ms UTC) and counts it in /metrics (an exception counts as a 500 and
  /// is rethrown).
  [[nodiscard]] Response handle(const Request& request, TimeMs now_ms) const;
  /// True when the request should be answered off the network threads.
  [[nodiscard]] bool is_slow(const Request& request) const;
  /// Counts in /metrics a request the HTTP layer answered itself with `status` (refused by the access
  /// gate or a limit), so 401/429/414/431 show beside the API's own answers.
  void count_refused(const Request& request, int status) const;
  /// Every route the server answers (these, the modules' and the /v1/live WebSocket), in path order.
  [[nodiscard]] std::vector<RouteInfo> routes() const;

 private:
  [[nodiscard]] Response route(const Request& request, TimeMs now_ms) const;
  [[nodiscard]] Response metrics(TimeMs now_ms) const;

  const App& app_;
  std::vector<std::unique_ptr<RouteModule>> modules_;
  // Recorded by every handle(); thread-safe inside, so handle() stays const like the rest of the API.
  mutable HttpMetrics http_metrics_;
};

}  // namespace aistrack::server
