#include "auth.hpp"

#include "config.hpp"
#include "json_view.hpp"

#include <fmt/core.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

namespace aistrack::server {
namespace json = boost::json;

namespace {

std::string_view trim_view(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool printable_no_space(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::optional<AccessRole> role_of(std::string_view s) {
  if (s == "ro" || s == "read" || s == "read-only") return AccessRole::read_only;
  if (s == "admin") return AccessRole::admin;
  return std::nullopt;
}

constexpr std::string_view kB64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64_value(char c) {
  const auto p = kB64Url.find(c);
  return p == std::string_view::npos ? -1 : static_cast<int>(p);
}

std::optional<std::int64_t> whole_seconds(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) {
    return v->as_uint64() > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX
                                                                  : static_cast<std::int64_t>(v->as_uint64());
  }
  // Fractional NumericDate is allowed by RFC 7519; anything beyond int64 is "never".
  if (v->is_double() && std::isfinite(v->as_double())) {
    const double d = std::floor(v->as_double());
    if (d >= 9.2e18) return INT64_MAX;
    if (d <= -9.2e18) return INT64_MIN;
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

std::optional<json::object> json_object_of(std::string_view part) {
  const auto text = base64url_decode(part);
  if (!text) return std::nullopt;
  std::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

bool lists_admin(std::string_view scope) {
  while (!scope.empty()) {
    const auto sp = scope.find(' ');
    if (scope.substr(0, sp) == "admin") return true;
    if (sp == std::string_view::npos) break;
    scope.remove_prefix(sp + 1);
  }
  return false;
}

bool ascii_iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x) == (y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y);
         });
}

// The bearer credential of a request: the Authorization header, else ?access_token= (browsers cannot
// set headers on a WebSocket). Empty when there is none.
std::string credential_of(const Request& request, std::string_view query) {
  std::string_view auth = trim_view(request.authorization);
  if (auth.size() > 7 && ascii_iequal(auth.substr(0, 7), "bearer "))
    return std::string(trim_view(auth.substr(7)));
  if (!auth.empty()) return std::string(auth);  // another scheme: presented, and refused
  if (const auto q = parse_query(query)) {
    if (const auto it = q->find("access_token"); it != q->end()) return it->second;
  }
  return {};
}

enum class PathClass { open, metrics, protected_ };

// /health stays open for load balancers; the dashboard's page and files hold no data (its API calls
// are what carry a token); everything else is the API.
PathClass classify(std::string_view path) {
  if (path == "/health" || path == "/" || path == "/index.html" || path.starts_with("/static/"))
    return PathClass::open;
  if (path == "/metrics") return PathClass::metrics;
  return PathClass::protected_;
}

Response unauthorized(std::string_view message, bool invalid_token) {
  Response r = error_response(401, invalid_token ? "invalid_token" : "unauthorized", message);
  r.headers.emplace_back("WWW-Authenticate", invalid_token
                                                 ? R"(Bearer realm="aistrack", error="invalid_token")"
                                                 : R"(Bearer realm="aistrack")");
  return r;
}

}  // namespace

std::optional<std::vector<ApiToken>> parse_api_tokens(std::string_view text, std::string& why) {
  std::vector<ApiToken> out;
  std::size_t index = 0;
  while (!text.empty()) {
    const auto end = text.find_first_of(",\n");
    const std::string_view entry = trim_view(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (entry.empty() || entry.front() == '#') continue;
    ++index;
    const auto c1 = entry.find(':');
    const auto c2 = c1 == std::string_view::npos ? c1 : entry.find(':', c1 + 1);
    if (c2 == std::string_view::npos) {
      why = "entry " + std::to_string(index) + " is not name:role:secret";
      return std::nullopt;
    }
    const auto name = entry.substr(0, c1);
    const auto role = role_of(entry.substr(c1 + 1, c2 - c1 - 1));
    const auto secret = entry.substr(c2 + 1);
    if (name.empty() || !printable_no_space(name)) {
      why = "entry " + std::to_string(index) + " has an empty or unprintable name";
      return std::nullopt;
    }
    if (!role) {
      why = "token '" + std::string(name) + "': the role must be ro, read or admin";
      return std::nullopt;
    }
    if (secret.size() < kMinTokenSecretChars || !printable_no_space(secret)) {
      why = "token '" + std::string(name) + "': the secret must be at least " +
            std::to_string(kMinTokenSecretChars) + " printable characters without spaces";
      return std::nullopt;
    }
    out.push_back(ApiToken{std::string(name), *role, std::string(secret)});
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Every byte of `a` is visited whatever the lengths, so only a's length shows in the timing.
  unsigned diff = a.size() == b.size() ? 0U : 1U;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const unsigned char y = b.empty() ? 0 : static_cast<unsigned char>(b[i % b.size()]);
    diff |= static_cast<unsigned>(static_cast<unsigned char>(a[i]) ^ y);
  }
  return diff == 0;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data(), &len);
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(bytes[i]) << 16) |
                   (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kB64Url[(n >> s) & 0x3f];
  }
  if (const auto rest = bytes.size() - i; rest > 0) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kB64Url[(n >> 18) & 0x3f];
    out += kB64Url[(n >> 12) & 0x3f];
    if (rest == 2) out += kB64Url[(n >> 6) & 0x3f];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = b64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

JwtResult verify_jwt(std::string_view token, std::string_view secret, std::int64_t now_s) {
  JwtResult r;
  const auto d1 = token.find('.');
  const auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) return r;
  const auto header = json_object_of(token.substr(0, d1));
  const auto payload = json_object_of(token.substr(d1 + 1, d2 - d1 - 1));
  const auto signature = base64url_decode(token.substr(d2 + 1));
  if (!header || !payload || !signature) return r;
  // Only HS256: "none" and public-key algorithms must not be chosen by the token itself.
  const json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string() || alg->as_string() != "HS256") {
    r.status = JwtStatus::unsupported_alg;
    return r;
  }
  if (!constant_time_equal(*signature, hmac_sha256(secret, token.substr(0, d2)))) {
    r.status = JwtStatus::bad_signature;
    return r;
  }
  const auto exp = whole_seconds(payload->if_contains("exp"));
  if (!exp) {
    r.status = JwtStatus::missing_exp;
    return r;
  }
  // Compared on the side of now_s, so an absurd exp or nbf cannot overflow.
  if (*exp <= now_s - kJwtLeewayS) {
    r.status = JwtStatus::expired;
    return r;
  }
  if (const json::value* nbf_v = payload->if_contains("nbf")) {
    const auto nbf = whole_seconds(nbf_v);
    if (!nbf) return r;
    if (*nbf > now_s + kJwtLeewayS) {
      r.status = JwtStatus::not_yet_valid;
      return r;
    }
  }
  r.subject = "jwt";
  if (const json::value* sub = payload->if_contains("sub"); sub != nullptr && sub->is_string())
    r.subject = std::string(sub->as_string());
  const json::value* role = payload->if_contains("role");
  const json::value* scope = payload->if_contains("scope");
  const bool admin = (role != nullptr && role->is_string() && role->as_string() == "admin") ||
                     (scope != nullptr && scope->is_string() && lists_admin(scope->as_string()));
  r.role = admin ? AccessRole::admin : AccessRole::read_only;
  r.status = JwtStatus::ok;
  return r;
}

std::string sign_jwt(const json::object& claims, std::string_view secret) {
  std::string signing_input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(json::serialize(claims));
  const std::string signature = base64url_encode(hmac_sha256(secret, signing_input));
  return signing_input + "." + signature;
}

std::string_view jwt_status_text(JwtStatus status) noexcept {
  switch (status) {
    case JwtStatus::ok: return "valid";
    case JwtStatus::malformed: return "the token is neither a known API token nor a well-formed JWT";
    case JwtStatus::unsupported_alg: return "the JWT is not signed with HS256";
    case JwtStatus::bad_signature:
      return "the token is neither a known API token nor a JWT signed with JWT_SECRET";
    case JwtStatus::expired: return "the JWT has expired (exp)";
    case JwtStatus::not_yet_valid: return "the JWT is not valid yet (nbf)";
    case JwtStatus::missing_exp:
      return "the JWT has no numeric exp claim (tokens without expiry are refused)";
  }
  return "invalid token";
}

// --- RateLimiter ---

RateLimiter::RateLimiter(double per_s, double burst, std::size_t max_keys)
    : per_s_(per_s), burst_(std::max(1.0, burst)), max_keys_(std::max<std::size_t>(1, max_keys)) {}

std::int64_t RateLimiter::take(const std::string& key, std::int64_t now_ms) {
  if (!enabled()) return 0;
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) make_room(now_ms);
    it = buckets_.emplace(key, Bucket{burst_, now_ms}).first;
  }
  Bucket& b = it->second;
  // A clock step backwards refills nothing rather than draining the bucket.
  const double elapsed_s = now_ms > b.last_ms ? static_cast<double>(now_ms - b.last_ms) / 1000.0 : 0.0;
  b.tokens = std::min(burst_, b.tokens + elapsed_s * per_s_);
  b.last_ms = std::max(b.last_ms, now_ms);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil((1.0 - b.tokens) / per_s_)));
}

void RateLimiter::make_room(std::int64_t now_ms) {
  // A bucket that has refilled is the same as no bucket: dropping it loses nothing.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double elapsed_s =
        now_ms > it->second.last_ms ? static_cast<double>(now_ms - it->second.last_ms) / 1000.0 : 0.0;
    it = it->second.tokens + elapsed_s * per_s_ >= burst_ ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() < max_keys_) return;
  const auto oldest = std::min_element(buckets_.begin(), buckets_.end(), [](const auto& a, const auto& b) {
    return a.second.last_ms < b.second.last_ms;
  });
  buckets_.erase(oldest);
}

std::size_t RateLimiter::keys() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

// --- CORS and redaction ---

bool is_valid_cors_origin(std::string_view origin) noexcept {
  if (origin == "*") return true;
  const auto sep = origin.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  const auto host = origin.substr(sep + 3);
  return !host.empty() && printable_no_space(origin) && host.find('/') == std::string_view::npos;
}

std::string redact_target(std::string_view target) {
  const auto qm = target.find('?');
  if (qm == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, qm + 1));
  std::string_view query = target.substr(qm + 1);
  bool first = true;
  while (true) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    if (!first) out += '&';
    first = false;
    const auto eq = part.find('=');
    // The name may be %-encoded (access%5Ftoken): decode it; when it cannot be decoded, redact anyway.
    const auto name = parse_query(part.substr(0, eq));
    if (!name || name->contains("access_token")) {
      out += part.substr(0, eq);
      if (eq != std::string_view::npos) out += "=REDACTED";
    } else {
      out += part;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

// --- ConnectionLimiter ---

ConnectionLimiter::ConnectionLimiter(std::size_t max_per_address)
    : max_per_address_(max_per_address), state_(std::make_shared<State>()) {}

std::shared_ptr<void> ConnectionLimiter::acquire(const std::string& address) {
  std::lock_guard lock(state_->mutex);
  std::size_t& n = state_->open[address];
  if (max_per_address_ > 0 && n >= max_per_address_) {
    ++state_->refused;
    return nullptr;
  }
  ++n;
  // The deleter holds the state, not the limiter: a connection may end after the server did.
  return std::shared_ptr<void>(new int(0), [state = state_, address](int* p) {
    delete p;
    std::lock_guard inner(state->mutex);
    if (const auto it = state->open.find(address); it != state->open.end() && --it->second == 0)
      state->open.erase(it);
  });
}

std::size_t ConnectionLimiter::open(const std::string& address) const {
  std::lock_guard lock(state_->mutex);
  const auto it = state_->open.find(address);
  return it == state_->open.end() ? 0 : it->second;
}

std::uint64_t ConnectionLimiter::refused() const {
  std::lock_guard lock(state_->mutex);
  return state_->refused;
}

// --- AccessGate ---

AccessGate::AccessGate(AccessSettings settings)
    : settings_(std::move(settings)),
      limiter_(settings_.rate_limit_per_s, settings_.rate_limit_burst, settings_.rate_limit_max_keys) {
  std::set<std::string_view> names;
  std::set<std::string_view> secrets;
  for (const ApiToken& t : settings_.tokens) {
    if (!names.insert(t.name).second)
      throw ConfigError("API_TOKENS/API_TOKEN_FILE: the token name '" + t.name + "' is used twice");
    if (!secrets.insert(t.secret).second)
      throw ConfigError("API_TOKENS/API_TOKEN_FILE: two tokens share a secret (token '" + t.name + "')");
  }
}

AccessGate::Identity AccessGate::identify(std::string_view credential, std::int64_t now_ms) const {
  Identity id;
  id.presented = !credential.empty();
  if (!id.presented) return id;
  // Compare against every token, so the time taken does not tell which one came close.
  const ApiToken* match = nullptr;
  for (const ApiToken& t : settings_.tokens) {
    if (constant_time_equal(credential, t.secret)) match = &t;
  }
  if (match != nullptr) {
    id.valid = true;
    id.role = match->role;
    id.caller = "token:" + match->name;
    return id;
  }
  if (!settings_.jwt_secret.empty()) {
    const JwtResult jwt = verify_jwt(credential, settings_.jwt_secret, now_ms / 1000);
    if (jwt.status == JwtStatus::ok) {
      id.valid = true;
      id.role = jwt.role;
      id.caller = "jwt:" + jwt.subject;
      return id;
    }
    id.why = jwt_status_text(jwt.status);
    return id;
  }
  id.why = "the token is not one of API_TOKENS";
  return id;
}

AccessCounters AccessGate::counters() const {
  std::lock_guard lock(counters_mutex_);
  return counters_;
}

std::vector<std::pair<std::string, std::string>> AccessGate::cors_headers(std::string_view origin) const {
  std::vector<std::pair<std::string, std::string>> h;
  if (origin.empty()) return h;
  for (const std::string& allowed : settings_.cors_origins) {
    if (allowed == "*" || allowed == origin) {
      h.emplace_back("Access-Control-Allow-Origin", allowed == "*" ? "*" : std::string(origin));
      h.emplace_back("Vary", "Origin");
      h.emplace_back("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate");
      break;
    }
  }
  return h;
}

AccessDecision AccessGate::check(const Request& request, std::int64_t now_ms) {
  AccessDecision d;
  const std::string_view target = request.target;
  const auto qm = target.find('?');
  const std::string_view path = target.substr(0, qm);
  const std::string_view query = qm == std::string_view::npos ? std::string_view{} : target.substr(qm + 1);
  d.headers = cors_headers(request.origin);
  auto deny = [&](Response r) {
    {
      std::lock_guard lock(counters_mutex_);
      if (r.status == 401) ++counters_.unauthorized;
      if (r.status == 429) ++counters_.rate_limited;
    }
    for (const auto& h : d.headers) r.headers.push_back(h);
    d.denied = std::move(r);
    return d;
  };

  // A CORS preflight carries no credentials (browsers never send them on OPTIONS), so it is
  // answered here, before authentication.
  if (request.method == "OPTIONS" && !request.origin.empty() && !request.cors_method.empty()) {
    {
      std::lock_guard lock(counters_mutex_);
      ++counters_.preflights;
    }
    if (d.headers.empty()) {
      return deny(
          error_response(403, "origin_not_allowed",
                         "this origin is not in CORS_ORIGINS: browsers may not call the API from it"));
    }
    Response r{204, "application/json", {}, {}};
    r.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, PUT, POST, DELETE, OPTIONS");
    r.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
    r.headers.emplace_back("Access-Control-Max-Age", "600");
    return deny(std::move(r));
  }

  const PathClass cls = classify(path);
  const std::string credential = credential_of(request, query);
  const bool metrics_token_used = cls == PathClass::metrics && !settings_.metrics_token.empty() &&
                                  constant_time_equal(credential, settings_.metrics_token);
  Identity id = metrics_token_used ? Identity{true, true, AccessRole::read_only, "token:metrics", {}}
                                   : identify(credential, now_ms);
  if (!authenticates()) {
    id.role = AccessRole::admin;  // no access control: everyone may do everything (the default)
  }
  d.role = id.valid || !authenticates() ? id.role : AccessRole::read_only;
  d.caller = id.valid ? id.caller : "address:" + request.client_address;

  // Rate limiting before the verdict on the credential, so guessing tokens is limited too; /health
  // stays out of it so a busy client cannot make the server look down to its monitor.
  if (path != "/health") {
    if (const auto wait_s = limiter_.take(d.caller, now_ms); wait_s > 0) {
      Response r =
          error_response(429, "rate_limited",
                         "too many requests from this " + std::string(id.valid ? "token" : "address") +
                             " (RATE_LIMIT_PER_S=" + fmt::format("{:g}", settings_.rate_limit_per_s) +
                             "): retry after " + std::to_string(wait_s) + " s");
      r.headers.emplace_back("Retry-After", std::to_string(wait_s));
      return deny(std::move(r));
    }
  }

  const bool needs_token = cls == PathClass::protected_ ? authenticates()
                           : cls == PathClass::metrics  ? authenticates() || !settings_.metrics_token.empty()
                                                        : false;
  if (!needs_token) return d;
  if (!id.presented) {
    return deny(
        unauthorized("this resource needs a token: send Authorization: Bearer <token> (or "
                     "?access_token=<token> on /v1/live)",
                     false));
  }
  if (!id.valid) return deny(unauthorized(id.why, true));
  // METRICS_TOKEN set: /metrics takes it or an admin token, not every read-only API token.
  if (cls == PathClass::metrics && !settings_.metrics_token.empty() && !metrics_token_used &&
      id.role != AccessRole::admin) {
    return deny(error_response(403, "forbidden", "/metrics needs METRICS_TOKEN or an admin token"));
  }
  return d;
}

}  // namespace aistrack::server
