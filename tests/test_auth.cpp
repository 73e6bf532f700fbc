// Access control (issue #8) without sockets: token settings, HS256 JWTs (checked against a token
// minted independently by Python's hmac module), the token-bucket limiter, the connection limiter,
// CORS, redaction, and the gate's verdicts on requests.
#include "auth.hpp"
#include "config.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <fmt/core.h>

#include <boost/json.hpp>
#include <fstream>

using namespace aistrack::server;
namespace json = boost::json;

namespace {
constexpr std::int64_t kNowMs = 1'700'000'000'000;
constexpr std::int64_t kNowS = kNowMs / 1000;
const std::string kJwtSecret = "jwt-secret-0123456789abcdef-0123456789";
const std::string kRead = "read-secret-0123456789";
const std::string kAdmin = "admin-secret-0123456789";

AccessSettings tokens_on() {
  AccessSettings s;
  s.tokens = {{"viewer", AccessRole::read_only, kRead}, {"ops", AccessRole::admin, kAdmin}};
  return s;
}

Request get(const std::string& target, const std::string& authorization = {}) {
  Request r{"GET", target};
  r.authorization = authorization;
  r.client_address = "192.0.2.7";
  return r;
}

std::string header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

std::string error_code(const Response& r) {
  return std::string(json::parse(r.body).at("error").at("code").as_string());
}
}  // namespace

TEST_CASE("auth: API_TOKENS entries parse with their roles, bad ones are named without the secret") {
  std::string why;
  const auto ok = parse_api_tokens(" viewer:ro:" + kRead + " , ops:admin:" + kAdmin + ",\n# comment\n", why);
  REQUIRE(ok);
  REQUIRE(ok->size() == 2);
  CHECK((*ok)[0].name == "viewer");
  CHECK((*ok)[0].role == AccessRole::read_only);
  CHECK((*ok)[0].secret == kRead);
  CHECK((*ok)[1].role == AccessRole::admin);

  CHECK_FALSE(parse_api_tokens("viewer:" + kRead, why));
  CHECK(why.find("name:role:secret") != std::string::npos);
  CHECK_FALSE(parse_api_tokens("viewer:root:" + kRead, why));
  CHECK(why.find("role") != std::string::npos);
  CHECK_FALSE(parse_api_tokens("viewer:ro:short-secret", why));
  CHECK(why.find("short-secret") == std::string::npos);
  CHECK_FALSE(parse_api_tokens(":ro:" + kRead, why));
}

TEST_CASE("auth: the settings load through the configuration and reject weak secrets") {
  const auto loaded =
      load_config({"--api-tokens", "ops:admin:" + kAdmin, "--cors-origins", "https://a.example, *"},
                  {{"ENV_FILE", ""}, {"JWT_SECRET", kJwtSecret}, {"RATE_LIMIT_PER_S", "2.5"}});
  const AccessSettings a = access_settings(loaded.config);
  REQUIRE(a.tokens.size() == 1);
  CHECK(a.tokens[0].name == "ops");
  CHECK(a.jwt_secret == kJwtSecret);
  CHECK(a.rate_limit_per_s == doctest::Approx(2.5));
  CHECK(a.cors_origins == std::vector<std::string>{"https://a.example", "*"});

  CHECK_THROWS_AS(load_config({}, {{"ENV_FILE", ""}, {"JWT_SECRET", "too-short"}}), ConfigError);
  CHECK_THROWS_AS(load_config({}, {{"ENV_FILE", ""}, {"CORS_ORIGINS", "https://a.example/path"}}),
                  ConfigError);
  CHECK_THROWS_AS(load_config({}, {{"ENV_FILE", ""}, {"API_TOKEN_FILE", "/nonexistent/tokens"}}),
                  ConfigError);
  try {
    load_config({}, {{"ENV_FILE", ""}, {"API_TOKENS", "x:admin:tiny"}});
    FAIL("a short secret was accepted");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("tiny") == std::string::npos);
  }
  AccessSettings dup = tokens_on();
  dup.tokens.push_back({"viewer", AccessRole::admin, "another-secret-0123456789"});
  CHECK_THROWS_AS(AccessGate{dup}, ConfigError);
}

TEST_CASE("auth: API_TOKEN_FILE adds its tokens to API_TOKENS, a name used twice stops the start") {
  aistrack::test::TempDir dir;
  const auto file = dir / "tokens";
  std::ofstream(file) << "# operators\nops:admin:" << kAdmin << "\n\n  grafana:read:" << kRead << "  \n";
  const auto loaded = load_config(
      {},
      {{"ENV_FILE", ""}, {"API_TOKEN_FILE", file.string()}, {"API_TOKENS", "ci:ro:ci-secret-0123456789abc"}});
  const AccessSettings a = access_settings(loaded.config);
  REQUIRE(a.tokens.size() == 3);
  CHECK(a.tokens[0].name == "ci");
  CHECK(a.tokens[1].name == "ops");
  CHECK(a.tokens[1].role == AccessRole::admin);
  CHECK(a.tokens[2].name == "grafana");
  CHECK(a.tokens[2].secret == kRead);
  AccessGate gate(a);
  CHECK_FALSE(gate.check(get("/v1/vessels", "Bearer " + kRead), kNowMs).denied);

  const auto twice = load_config({}, {{"ENV_FILE", ""},
                                      {"API_TOKEN_FILE", file.string()},
                                      {"API_TOKENS", "ops:ro:another-secret-0123456789"}});
  CHECK_THROWS_AS(AccessGate{access_settings(twice.config)}, ConfigError);

  std::ofstream(file) << "ops:admin:" << kAdmin << "\nbroken line\n";
  try {
    load_config({}, {{"ENV_FILE", ""}, {"API_TOKEN_FILE", file.string()}});
    FAIL("a broken token file was accepted");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("entry 2") != std::string::npos);
    CHECK(std::string(e.what()).find(kAdmin) == std::string::npos);
  }
}

TEST_CASE("auth: constant-time comparison and base64url round trips") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK_FALSE(constant_time_equal("", "a"));
  CHECK(constant_time_equal("", ""));
  for (const std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
    const auto back = base64url_decode(base64url_encode(s));
    REQUIRE(back);
    CHECK(*back == s);
  }
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK_FALSE(base64url_decode("ab+c"));
  CHECK_FALSE(base64url_decode("a"));
}

TEST_CASE("auth: HMAC-SHA-256 matches RFC 4231 test case 2") {
  const std::string mac = hmac_sha256("Jefe", "what do ya want for nothing?");
  std::string hex;
  for (const unsigned char c : mac) hex += fmt::format("{:02x}", c);
  CHECK(hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("auth: JWT verification checks alg, signature, exp and nbf and reads the role") {
  // Minted with Python: hmac.new(b"jwt-secret-0123456789abcdef-0123456789", header + b"." + payload,
  // hashlib.sha256) over {"alg":"HS256","typ":"JWT"} and {"sub":"alice","role":"admin","exp":2000000000}.
  const std::string external =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGUiOiJhZG1pbiIsImV4cCI6MjAwMDAwMDAwMH0."
      "HlFf7xgmxrbNkDTYVPaqECnwA-vDI1NI1l1t03K9raw";
  const JwtResult ext = verify_jwt(external, kJwtSecret, kNowS);
  CHECK(ext.status == JwtStatus::ok);
  CHECK(ext.subject == "alice");
  CHECK(ext.role == AccessRole::admin);
  CHECK(verify_jwt(external, kJwtSecret + "x", kNowS).status == JwtStatus::bad_signature);

  const std::string reader = sign_jwt({{"sub", "bob"}, {"exp", kNowS + 3600}}, kJwtSecret);
  CHECK(verify_jwt(reader, kJwtSecret, kNowS).role == AccessRole::read_only);
  const std::string scoped = sign_jwt({{"scope", "read admin"}, {"exp", kNowS + 3600}}, kJwtSecret);
  CHECK(verify_jwt(scoped, kJwtSecret, kNowS).role == AccessRole::admin);

  CHECK(verify_jwt(sign_jwt({{"exp", kNowS - 3600}}, kJwtSecret), kJwtSecret, kNowS).status ==
        JwtStatus::expired);
  CHECK(verify_jwt(sign_jwt({{"exp", kNowS + 7200}, {"nbf", kNowS + 3600}}, kJwtSecret), kJwtSecret, kNowS)
            .status == JwtStatus::not_yet_valid);
  CHECK(verify_jwt(sign_jwt({{"sub", "x"}}, kJwtSecret), kJwtSecret, kNowS).status == JwtStatus::missing_exp);
  // Absurd times neither overflow nor pass: -1e300 has expired, 1e300 has not, a huge nbf is in the future.
  CHECK(verify_jwt(sign_jwt({{"exp", -1e300}}, kJwtSecret), kJwtSecret, kNowS).status == JwtStatus::expired);
  CHECK(verify_jwt(sign_jwt({{"exp", 1e300}}, kJwtSecret), kJwtSecret, kNowS).status == JwtStatus::ok);
  CHECK(verify_jwt(sign_jwt({{"exp", 1e300}, {"nbf", 1e300}}, kJwtSecret), kJwtSecret, kNowS).status ==
        JwtStatus::not_yet_valid);
  CHECK(verify_jwt(sign_jwt({{"exp", std::uint64_t{18'446'744'073'709'551'615ULL}}}, kJwtSecret), kJwtSecret,
                   kNowS)
            .status == JwtStatus::ok);
  CHECK(verify_jwt(sign_jwt({{"exp", "tomorrow"}}, kJwtSecret), kJwtSecret, kNowS).status ==
        JwtStatus::missing_exp);

  // alg "none" with the signature stripped, and a header that is not JSON.
  const std::string payload = reader.substr(reader.find('.') + 1, reader.rfind('.') - reader.find('.') - 1);
  CHECK(verify_jwt(base64url_encode(R"({"alg":"none"})") + "." + payload + ".", kJwtSecret, kNowS).status ==
        JwtStatus::unsupported_alg);
  CHECK(verify_jwt("bm90LWpzb24." + payload + ".c2ln", kJwtSecret, kNowS).status == JwtStatus::malformed);
  CHECK(verify_jwt("a.b", kJwtSecret, kNowS).status == JwtStatus::malformed);
  CHECK(verify_jwt("a.b.c.d", kJwtSecret, kNowS).status == JwtStatus::malformed);
  CHECK(verify_jwt("", kJwtSecret, kNowS).status == JwtStatus::malformed);
}

TEST_CASE("auth: the token bucket allows a burst, then one request per refill, and bounds its keys") {
  RateLimiter off(0, 5, 10);
  CHECK_FALSE(off.enabled());
  for (int i = 0; i < 100; ++i) CHECK(off.take("a", kNowMs) == 0);

  RateLimiter limiter(2, 3, 2);  // 2 per second, bursts of 3
  for (int i = 0; i < 3; ++i) CHECK(limiter.take("a", kNowMs) == 0);
  CHECK(limiter.take("a", kNowMs) == 1);        // empty: half a second to the next, rounded up
  CHECK(limiter.take("b", kNowMs) == 0);        // another caller has its own bucket
  CHECK(limiter.take("a", kNowMs + 500) == 0);  // one refilled
  CHECK(limiter.take("a", kNowMs + 500) == 1);
  CHECK(limiter.take("a", kNowMs - 10'000) > 0);  // the clock going back refills nothing

  RateLimiter slow(0.1, 1, 2);
  CHECK(slow.take("a", kNowMs) == 0);
  CHECK(slow.take("a", kNowMs) == 10);

  CHECK(limiter.keys() == 2);
  CHECK(limiter.take("c", kNowMs + 600) == 0);  // a third caller: the least recently used goes
  CHECK(limiter.keys() == 2);
}

TEST_CASE("auth: the connection limiter counts slots per address until they are released") {
  ConnectionLimiter limiter(2);
  auto a1 = limiter.acquire("10.0.0.1");
  auto a2 = limiter.acquire("10.0.0.1");
  REQUIRE(a1);
  REQUIRE(a2);
  CHECK_FALSE(limiter.acquire("10.0.0.1"));
  CHECK(limiter.refused() == 1);
  CHECK(limiter.acquire("10.0.0.2"));
  CHECK(limiter.open("10.0.0.1") == 2);
  a1.reset();
  CHECK(limiter.open("10.0.0.1") == 1);
  CHECK(limiter.acquire("10.0.0.1"));

  ConnectionLimiter unlimited(0);
  std::vector<std::shared_ptr<void>> many;
  for (int i = 0; i < 1000; ++i) many.push_back(unlimited.acquire("10.0.0.1"));
  CHECK(many.back() != nullptr);
  CHECK(unlimited.open("10.0.0.1") == 1000);
}

TEST_CASE("auth: access tokens are redacted from logged targets") {
  CHECK(redact_target("/v1/live?access_token=s3cret&x=1") == "/v1/live?access_token=REDACTED&x=1");
  CHECK(redact_target("/v1/live?x=1&access%5Ftoken=s3cret") == "/v1/live?x=1&access%5Ftoken=REDACTED");
  CHECK(redact_target("/v1/vessels?limit=5") == "/v1/vessels?limit=5");
  CHECK(redact_target("/v1/vessels") == "/v1/vessels");
  CHECK(redact_target("/a?%zz=s3cret").find("s3cret") == std::string::npos);
  CHECK(redact_target("/a?access_token=1&access_token=2") ==
        "/a?access_token=REDACTED&access_token=REDACTED");
}

TEST_CASE("auth: without settings the gate lets everything through as admin") {
  AccessGate gate(AccessSettings{});
  CHECK_FALSE(gate.authenticates());
  const AccessDecision d = gate.check(get("/v1/vessels"), kNowMs);
  CHECK_FALSE(d.denied);
  CHECK(d.role == AccessRole::admin);
  CHECK(d.headers.empty());
  Request put{"PUT", "/v1/watchlist", "{}"};
  CHECK(gate.check(put, kNowMs).role == AccessRole::admin);
}

TEST_CASE("auth: with tokens the API needs one, /health and the dashboard stay open") {
  AccessGate gate(tokens_on());
  const AccessDecision none = gate.check(get("/v1/vessels"), kNowMs);
  REQUIRE(none.denied);
  CHECK(none.denied->status == 401);
  CHECK(error_code(*none.denied) == "unauthorized");
  CHECK(header(*none.denied, "WWW-Authenticate").starts_with("Bearer"));

  const AccessDecision wrong = gate.check(get("/v1/vessels", "Bearer not-a-known-token-at-all"), kNowMs);
  REQUIRE(wrong.denied);
  CHECK(wrong.denied->status == 401);
  CHECK(error_code(*wrong.denied) == "invalid_token");
  CHECK(wrong.denied->body.find("not-a-known") == std::string::npos);

  const AccessDecision basic = gate.check(get("/v1/vessels", "Basic dXNlcjpwYXNz"), kNowMs);
  REQUIRE(basic.denied);
  CHECK(basic.denied->status == 401);

  const AccessDecision reader = gate.check(get("/v1/vessels", "Bearer " + kRead), kNowMs);
  CHECK_FALSE(reader.denied);
  CHECK(reader.role == AccessRole::read_only);
  CHECK(reader.caller == "token:viewer");
  const AccessDecision admin = gate.check(get("/v1/vessels", "bearer  " + kAdmin), kNowMs);
  CHECK_FALSE(admin.denied);
  CHECK(admin.role == AccessRole::admin);

  const AccessDecision query = gate.check(get("/v1/live?access_token=" + kAdmin), kNowMs);
  CHECK_FALSE(query.denied);
  CHECK(query.role == AccessRole::admin);

  for (const std::string open : {"/health", "/", "/index.html", "/static/app.js"}) {
    const AccessDecision d = gate.check(get(open), kNowMs);
    CHECK_MESSAGE(!d.denied, open);
    CHECK(d.role == AccessRole::read_only);
  }
  CHECK(gate.check(get("/metrics"), kNowMs).denied);  // no METRICS_TOKEN: /metrics is like the API
  CHECK_FALSE(gate.check(get("/metrics", "Bearer " + kRead), kNowMs).denied);
  CHECK(gate.counters().unauthorized == 4);
}

TEST_CASE("auth: METRICS_TOKEN protects /metrics on its own and opens nothing else") {
  AccessSettings s;
  s.metrics_token = "metrics-secret-0123456789";
  AccessGate alone(s);
  CHECK_FALSE(alone.authenticates());
  CHECK(alone.check(get("/metrics"), kNowMs).denied->status == 401);
  CHECK_FALSE(alone.check(get("/metrics", "Bearer metrics-secret-0123456789"), kNowMs).denied);
  CHECK_FALSE(alone.check(get("/v1/vessels"), kNowMs).denied);

  AccessSettings both = tokens_on();
  both.metrics_token = s.metrics_token;
  AccessGate gate(both);
  CHECK_FALSE(gate.check(get("/metrics", "Bearer metrics-secret-0123456789"), kNowMs).denied);
  CHECK_FALSE(gate.check(get("/metrics", "Bearer " + kAdmin), kNowMs).denied);
  CHECK(gate.check(get("/metrics", "Bearer " + kRead), kNowMs).denied->status == 403);
  CHECK(gate.check(get("/v1/vessels", "Bearer metrics-secret-0123456789"), kNowMs).denied->status == 401);
}

TEST_CASE("auth: JWTs are accepted next to tokens, expired ones get 401") {
  AccessSettings s = tokens_on();
  s.jwt_secret = kJwtSecret;
  AccessGate gate(s);
  const AccessDecision ok = gate.check(
      get("/v1/vessels", "Bearer " + sign_jwt({{"sub", "carol"}, {"exp", kNowS + 60}}, kJwtSecret)), kNowMs);
  CHECK_FALSE(ok.denied);
  CHECK(ok.caller == "jwt:carol");
  CHECK(ok.role == AccessRole::read_only);
  const AccessDecision expired =
      gate.check(get("/v1/vessels", "Bearer " + sign_jwt({{"exp", kNowS - 600}}, kJwtSecret)), kNowMs);
  REQUIRE(expired.denied);
  CHECK(expired.denied->status == 401);
  CHECK(expired.denied->body.find("expired") != std::string::npos);
  CHECK_FALSE(gate.check(get("/v1/vessels", "Bearer " + kRead), kNowMs).denied);
}

TEST_CASE("auth: the gate rate-limits per token, per address without one, and never /health") {
  AccessSettings s = tokens_on();
  s.rate_limit_per_s = 1;
  s.rate_limit_burst = 2;
  AccessGate gate(s);
  const auto as_reader = get("/v1/vessels", "Bearer " + kRead);
  CHECK_FALSE(gate.check(as_reader, kNowMs).denied);
  CHECK_FALSE(gate.check(as_reader, kNowMs).denied);
  const AccessDecision limited = gate.check(as_reader, kNowMs);
  REQUIRE(limited.denied);
  CHECK(limited.denied->status == 429);
  CHECK(header(*limited.denied, "Retry-After") == "1");
  CHECK_FALSE(gate.check(get("/v1/vessels", "Bearer " + kAdmin), kNowMs).denied);  // its own bucket
  for (int i = 0; i < 10; ++i) CHECK_FALSE(gate.check(get("/health"), kNowMs).denied);

  // Without a valid token the address is the key, so guessing tokens is limited too.
  CHECK(gate.check(get("/v1/vessels", "Bearer guess-0000000000000000"), kNowMs).denied->status == 401);
  CHECK(gate.check(get("/v1/vessels", "Bearer guess-0000000000000001"), kNowMs).denied->status == 401);
  CHECK(gate.check(get("/v1/vessels", "Bearer guess-0000000000000002"), kNowMs).denied->status == 429);
  CHECK_FALSE(gate.check(as_reader, kNowMs + 1000).denied);
  CHECK(gate.counters().rate_limited == 2);
}

TEST_CASE("auth: CORS answers preflights for listed origins only and tags their responses") {
  AccessSettings s = tokens_on();
  s.cors_origins = {"https://app.example"};
  AccessGate gate(s);
  Request pre{"OPTIONS", "/v1/watchlist"};
  pre.origin = "https://app.example";
  pre.cors_method = "PUT";
  const AccessDecision ok = gate.check(pre, kNowMs);  // no token: preflights carry none
  REQUIRE(ok.denied);
  CHECK(ok.denied->status == 204);
  CHECK(header(*ok.denied, "Access-Control-Allow-Origin") == "https://app.example");
  CHECK(header(*ok.denied, "Access-Control-Allow-Headers").find("Authorization") != std::string::npos);
  CHECK(header(*ok.denied, "Access-Control-Allow-Methods").find("PUT") != std::string::npos);

  pre.origin = "https://evil.example";
  const AccessDecision bad = gate.check(pre, kNowMs);
  REQUIRE(bad.denied);
  CHECK(bad.denied->status == 403);
  CHECK(header(*bad.denied, "Access-Control-Allow-Origin").empty());

  Request listed = get("/v1/vessels", "Bearer " + kRead);
  listed.origin = "https://app.example";
  const AccessDecision tagged = gate.check(listed, kNowMs);
  CHECK_FALSE(tagged.denied);
  REQUIRE(!tagged.headers.empty());
  CHECK(tagged.headers[0] ==
        std::pair<std::string, std::string>{"Access-Control-Allow-Origin", "https://app.example"});
  listed.authorization.clear();
  const AccessDecision refused = gate.check(listed, kNowMs);  // a 401 a browser script can read
  REQUIRE(refused.denied);
  CHECK(header(*refused.denied, "Access-Control-Allow-Origin") == "https://app.example");
  listed.origin = "https://evil.example";
  CHECK(gate.check(listed, kNowMs).headers.empty());

  AccessSettings any;
  any.cors_origins = {"*"};
  AccessGate star(any);
  Request from = get("/v1/vessels");
  from.origin = "https://anything.example";
  const AccessDecision d = star.check(from, kNowMs);
  REQUIRE(!d.headers.empty());
  CHECK(d.headers[0].second == "*");
}
