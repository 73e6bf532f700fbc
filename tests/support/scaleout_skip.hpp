// Whether a scale-out test can go on (issue #9): where PostgreSQL or redis-server cannot start, the
// test says why and skips; with AISTRACK_REQUIRE_SCALEOUT=1 (.ci/run sets it) a skip is a failure.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

namespace aistrack::test {

/// True when `server` started; otherwise reports the skip (or fails when AISTRACK_REQUIRE_SCALEOUT=1).
inline bool scaleout_available(const void* server, const std::string& why_not) {
  if (server != nullptr) return true;
  const char* required = std::getenv("AISTRACK_REQUIRE_SCALEOUT");
  if (required != nullptr && std::string(required) == "1") {
    FAIL("AISTRACK_REQUIRE_SCALEOUT=1 but: " << why_not);
  }
  MESSAGE("skipped: " << why_not);
  return false;
}

}  // namespace aistrack::test
