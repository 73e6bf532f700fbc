// Access control (issue #8): bearer tokens and HS256 JWTs, a token-bucket rate limiter per caller,
// the CORS allow-list, and the redaction that keeps tokens out of logs. No sockets here: the HTTP
// layer builds a Request with the headers it needs and asks AccessGate::check() once per request
// (and once per /v1/live handshake), so all of it is unit-tested without a server.
#pragma once

#include "http_util.hpp"

#include <aistrack/types.hpp>

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aistrack::server {

/// One static API token: a name (for logs and rate limits), what it may do, and its secret.
struct ApiToken {
  std::string name;
  AccessRole role = AccessRole::read_only;
  std::string secret;
};

/// Shortest secret accepted in API_TOKENS / API_TOKEN_FILE / METRICS_TOKEN, characters.
inline constexpr std::size_t kMinTokenSecretChars = 16;
/// Shortest JWT_SECRET accepted, bytes (HS256 wants a key at least as long as its 32-byte hash).
inline constexpr std::size_t kMinJwtSecretBytes = 32;

/// Parses "name:role:secret" entries (role ro|read|admin) separated by commas or newlines; blank
/// entries and lines starting with '#' are skipped. nullopt with `why` set on a bad entry (the
/// message never contains a secret).
std::optional<std::vector<ApiToken>> parse_api_tokens(std::string_view text, std::string& why);

/// True when a and b are equal; the time taken depends only on their lengths, not on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// HMAC-SHA-256 of `data` under `key`: 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// base64url without padding (RFC 4648 §5), as JWTs use it.
std::string base64url_encode(std::string_view bytes);

/// Decodes base64url (padding optional); nullopt on any other character or an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);

/// Why a JWT was refused (ok: it was not).
enum class JwtStatus { ok, malformed, unsupported_alg, bad_signature, expired, not_yet_valid, missing_exp };

/// The outcome of verify_jwt.
struct JwtResult {
  JwtStatus status = JwtStatus::malformed;
  std::string subject;                      ///< the "sub" claim ("jwt" when absent)
  AccessRole role = AccessRole::read_only;  ///< admin when "role" is "admin" or "scope" lists "admin"
};

/// Clock skew tolerated on exp and nbf, seconds.
inline constexpr std::int64_t kJwtLeewayS = 30;

/// Verifies an HS256 JWT under `secret` at `now_s` (seconds since the epoch): the signature, alg
/// HS256, a numeric exp (required: a leaked token must not live forever) and nbf when present.
JwtResult verify_jwt(std::string_view token, std::string_view secret, std::int64_t now_s);

/// Signs `claims` as an HS256 JWT under `secret` (for tests and tools that mint tokens).
std::string sign_jwt(const boost::json::object& claims, std::string_view secret);

/// A short English reason for a refused JWT, safe for a response body.
std::string_view jwt_status_text(JwtStatus status) noexcept;

/// Token buckets keyed by caller: each key holds up to `burst` requests and regains `per_s` per
/// second. At most `max_keys` buckets are held: beyond that full buckets (callers who are idle)
/// are dropped first, then the least recently used. Thread-safe.
class RateLimiter {
 public:
  /// A limiter of `per_s` requests per second with bursts of `burst`; per_s == 0 turns it off.
  RateLimiter(double per_s, double burst, std::size_t max_keys);
  /// Takes one request for `key` at `now_ms` (ms, any monotonic origin): 0 when allowed, else the
  /// whole seconds (≥ 1) until one is available (the Retry-After value).
  std::int64_t take(const std::string& key, std::int64_t now_ms);
  /// True when limiting is on.
  [[nodiscard]] bool enabled() const noexcept { return per_s_ > 0; }
  /// Buckets held now.
  [[nodiscard]] std::size_t keys() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t last_ms = 0;
  };
  void make_room(std::int64_t now_ms);
  double per_s_;
  double burst_;
  std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

/// Checks that an entry of CORS_ORIGINS is "*" or scheme://host[:port] (no path, no trailing '/').
bool is_valid_cors_origin(std::string_view origin) noexcept;

/// Replaces the value of every access_token query parameter in `target` so the target can be logged.
std::string redact_target(std::string_view target);

/// What the access gate is told at start-up (from ServerConfig; see config.hpp for each setting).
struct AccessSettings {
  std::vector<ApiToken> tokens;             ///< API_TOKENS and API_TOKEN_FILE together
  std::string jwt_secret;                   ///< JWT_SECRET; empty: JWTs are not accepted
  std::string metrics_token;                ///< METRICS_TOKEN; empty: /metrics is like the API
  double rate_limit_per_s = 0;              ///< RATE_LIMIT_PER_S; 0: off
  double rate_limit_burst = 20;             ///< RATE_LIMIT_BURST
  std::size_t rate_limit_max_keys = 65536;  ///< RATE_LIMIT_MAX_KEYS: callers tracked at once
  std::vector<std::string> cors_origins;    ///< CORS_ORIGINS; empty: no CORS headers
};

/// Counts of the gate's refusals since start-up (for /health).
struct AccessCounters {
  std::uint64_t unauthorized = 0;  ///< 401: no token or an invalid one
  std::uint64_t rate_limited = 0;  ///< 429
  std::uint64_t preflights = 0;    ///< CORS preflights answered (204 or 403)
};

/// Open connections per client address, bounded: acquire() hands out a slot that gives its place
/// back when the last copy is destroyed (so it can live in the connection object). Thread-safe; the
/// slots keep the shared state alive, so they may outlive the limiter.
class ConnectionLimiter {
 public:
  /// At most `max_per_address` connections per address; 0 means no limit.
  explicit ConnectionLimiter(std::size_t max_per_address);
  /// A slot for one more connection from `address`, or nullptr when it already holds the maximum.
  std::shared_ptr<void> acquire(const std::string& address);
  /// Connections held now from `address`.
  [[nodiscard]] std::size_t open(const std::string& address) const;
  /// Connections refused since start-up.
  [[nodiscard]] std::uint64_t refused() const;

 private:
  struct State {
    std::mutex mutex;
    std::map<std::string, std::size_t> open;
    std::uint64_t refused = 0;
  };
  std::size_t max_per_address_;
  std::shared_ptr<State> state_;
};

/// The gate's verdict on one request.
struct AccessDecision {
  std::optional<Response> denied;  ///< when set, answer this and do not route the request
  AccessRole role = AccessRole::admin;
  std::string caller;  ///< "token:NAME", "jwt:SUB" or "address:IP" (never a secret), for logs
  /// Headers for whatever response goes back (CORS), also already on `denied`.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// The one place every HTTP request and /v1/live handshake passes: authentication (401), rate
/// limiting (429), CORS (preflight answers and Access-Control-Allow-Origin). Authorization of
/// changes (403) happens in the routes from AccessDecision::role. Thread-safe.
class AccessGate {
 public:
  /// A gate enforcing `settings`; throws ConfigError on duplicate token names or secrets.
  explicit AccessGate(AccessSettings settings);
  /// Checks `request` at `now_ms` (ms UTC; JWT times compare against it).
  AccessDecision check(const Request& request, std::int64_t now_ms);
  /// True when API_TOKENS, API_TOKEN_FILE or JWT_SECRET turned authentication on.
  [[nodiscard]] bool authenticates() const noexcept {
    return !settings_.tokens.empty() || !settings_.jwt_secret.empty();
  }
  /// Refusals so far.
  [[nodiscard]] AccessCounters counters() const;

 private:
  struct Identity {
    bool presented = false;  ///< a credential came with the request
    bool valid = false;
    AccessRole role = AccessRole::read_only;
    std::string caller;
    std::string why;  ///< for an invalid one
  };
  Identity identify(std::string_view credential, std::int64_t now_ms) const;
  std::vector<std::pair<std::string, std::string>> cors_headers(std::string_view origin) const;

  AccessSettings settings_;
  RateLimiter limiter_;
  mutable std::mutex counters_mutex_;
  AccessCounters counters_;
};

}  // namespace aistrack::server
