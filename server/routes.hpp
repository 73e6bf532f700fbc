// The REST API as a pure function of a request: no sockets, so it is unit-tested
// directly and served by http_server.cpp.
#pragma once

#include "app.hpp"

#include <string>
#include <utility>
#include <vector>

namespace aistrack::server {

/// A request as the router sees it.
struct Request {
  std::string method;
  std::string target;  ///< path and query, e.g. "/v1/vessels?limit=10"
};

/// A response ready to send.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers (e.g. Allow)
};

/// Routes requests to the App. Thread-safe (App's readers are).
class Api {
 public:
  /// An API over `app`, which must outlive it.
  explicit Api(const App& app) : app_(app) {}
  /// Answers one request at `now_ms` (ms UTC).
  [[nodiscard]] Response handle(const Request& request, TimeMs now_ms) const;

 private:
  const App& app_;
};

}  // namespace aistrack::server
