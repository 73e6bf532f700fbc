// Request/response types and helpers shared by every route module.
#pragma once

#include <boost/json.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aistrack::server {

/// What a caller may do (issue #8): read-only callers get 403 from routes that change something.
enum class AccessRole { read_only, admin };

/// A request as the router sees it.
struct Request {
  std::string method;
  std::string target;     ///< path and query, e.g. "/v1/vessels?limit=10"
  std::string body = {};  ///< request body (at most 64 KiB, the HTTP layer refuses more)
  // Filled in by the HTTP layer for the access gate (auth.hpp); empty when absent.
  std::string authorization = {};   ///< the Authorization header
  std::string origin = {};          ///< the Origin header (CORS)
  std::string cors_method = {};     ///< the Access-Control-Request-Method header (CORS preflight)
  std::string client_address = {};  ///< the peer's IP address
  /// Set by the access gate before routing. Admin is what a server without access control grants,
  /// and what unit tests of the routes (which have no gate) get.
  AccessRole role = AccessRole::admin;
};

/// A response body produced part by part (a large export), so no more than one part is in memory.
/// next() runs off the network threads (it may query the Store) and never concurrently with itself.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  /// Appends the next part of the body to `out` (empty on entry), at most `max_bytes`; returns false
  /// when this part is the last. Throwing aborts the response (the client sees it truncated).
  virtual bool next(std::string& out, std::size_t max_bytes) = 0;
};

/// A response ready to send.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers (e.g. Allow)
  /// When set, the body comes from here instead of `body`, sent with Transfer-Encoding: chunked
  /// (http_stream.hpp).
  std::shared_ptr<BodyStream> stream = {};
};

/// Decoded query parameters (last value wins).
using Query = std::map<std::string, std::string>;

/// Splits "a=1&b=%20x" into decoded pairs; nullopt on a broken %-escape.
std::optional<Query> parse_query(std::string_view query);

/// {"error":{"code":…,"message":…}} with `status`.
Response error_response(int status, std::string_view code, std::string_view message);

/// 200 with the serialised JSON value.
Response json_response(const boost::json::value& value);

/// 405 with an Allow header listing `allow`.
Response method_not_allowed(std::string_view allow);

/// True for GET and HEAD, the only methods the read-only API accepts.
bool is_read(const Request& request) noexcept;

/// Reads an unsigned integer parameter in 0..max; `fallback` when absent, nullopt when malformed or out of
/// range.
std::optional<std::size_t> size_param(const Query& query, const std::string& name, std::size_t fallback,
                                      std::size_t max);

}  // namespace aistrack::server
