// Routes of the stats issue; see routes.hpp. Not built yet: answers nothing, so the API 404s.
#include "routes.hpp"

namespace aistrack::server {

std::unique_ptr<RouteModule> make_stats_routes(const App& /*app*/, const ServerConfig& /*config*/) {
  return nullptr;
}

}  // namespace aistrack::server
