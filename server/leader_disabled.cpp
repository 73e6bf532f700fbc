// Builds without PostgreSQL (AISTRACK_WITH_POSTGRES=OFF): no DB_URL can open a Store, so no election
// ever starts; this only keeps the server linking.
#include "leader.hpp"

#include <utility>

namespace aistrack::server {

LeaderElection::LeaderElection(std::string url, std::string location, TimeMs takeover_ms,
                               std::function<void(bool)> on_change, std::function<TimeMs()> clock)
    : url_(std::move(url)),
      location_(std::move(location)),
      takeover_ms_(takeover_ms),
      on_change_(std::move(on_change)),
      clock_(std::move(clock)) {}

LeaderElection::~LeaderElection() = default;

void LeaderElection::start() { throw Error("this aistrack-server was built without PostgreSQL support"); }

LeaderStatus LeaderElection::status() const { return status_; }

}  // namespace aistrack::server
