// Checks shared by the route tests (they call an Api directly): one response header, and the
// error body every 4xx/5xx answer must have. Header-only: the support library does not link the
// server's route code, the test binary does.
#pragma once

#include "http_util.hpp"
#include "routes.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace aistrack::test {

/// Value of the response header `name` (exact case), or "<absent>".
inline std::string header_of(const server::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<absent>";
}

/// Checks `r` is `status` with the JSON body {"error":{"code": code, "message": non-empty}}.
inline void check_error(const server::Response& r, int status, std::string_view code) {
  CAPTURE(r.body);
  CHECK(r.status == status);
  CHECK(r.content_type == "application/json");
  boost::system::error_code ec;
  const auto v = boost::json::parse(r.body, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(v.is_object());
  const auto* error = v.as_object().if_contains("error");
  REQUIRE(error != nullptr);
  CHECK(error->at("code").as_string() == code);
  CHECK_FALSE(error->at("message").as_string().empty());
}

/// Every route an Api answers (on a throw-away database, no simulator).
inline std::vector<server::RouteInfo> served_routes() {
  TempDir dir;
  server::ServerConfig config;
  config.db_path = (dir / "routes.db").string();
  config.sim_vessels = 0;
  server::App app(config, 1'700'000'000'000);
  return server::Api(app, config).routes();
}

}  // namespace aistrack::test
