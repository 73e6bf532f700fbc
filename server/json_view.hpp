// JSON views of library types for the REST API (snake_case keys, ISO-8601 UTC times,
// null for unknown values). Kept in the server: the library core never builds JSON.
#pragma once

#include <aistrack/tracker.hpp>

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace aistrack::server {

/// The record GET /v1/ais/{mmsi} returns.
boost::json::object vessel_json(const VesselState& vessel);

/// The state written by vessel_json, read back (scale-out: states other instances publish on Redis);
/// nullopt when `record` is not such a record (untrusted input: never throws). message_count is not
/// in the record and comes back 0.
std::optional<VesselState> vessel_from_json(const boost::json::value& record) noexcept;

/// {"error":{"code":code,"message":message}}; bytes of `message` that are not UTF-8 become U+FFFD.
std::string error_body(std::string_view code, std::string_view message);

/// `text` with each byte that does not start a valid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

}  // namespace aistrack::server
