// Access control (issue #8) through the real aistrack-server binary over loopback: tokens and JWTs
// on REST and /v1/live, read-only vs admin on changes, rate limiting, CORS, /metrics, and tokens kept
// out of the log (the server runs with LOG_LEVEL=debug, which logs every request target).
#include "auth.hpp"

#include <doctest/doctest.h>

#include "live_client.hpp"
#include "support.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <csignal>

using namespace aistrack;
namespace json = boost::json;

namespace {
const std::string kServer = AISTRACK_SERVER_BIN;
const std::string kRead = "viewer-secret-4f1c2a9d7e";
const std::string kAdmin = "ops-secret-93b7e1d04c55";
const std::string kJwtSecret = "jwt-secret-for-the-access-test-0123456789";
using test::wait_for;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Server : test::ServerProcess {
  explicit Server(std::vector<std::string> env)
      : test::ServerProcess(kServer, with_defaults(std::move(env))) {
    REQUIRE_MESSAGE(ready(20), output());
  }
  static std::vector<std::string> with_defaults(std::vector<std::string> env) {
    env.emplace_back("SIM_VESSELS=3");
    env.emplace_back("LOG_LEVEL=debug");
    return env;
  }
  [[nodiscard]] test::HttpResponse call(const std::string& method, const std::string& target,
                                        const Headers& headers = {}, const std::string& body = {}) const {
    return test::http_request(port(), method, target, body, 5.0, headers);
  }
  [[nodiscard]] static Headers bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }
};

std::string error_code(const test::HttpResponse& r) {
  const json::value v = json::parse(r.body);
  return std::string(v.at("error").at("code").as_string());
}

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

TEST_CASE("server access: tokens guard REST and /v1/live, read-only tokens cannot change anything") {
  Server s({"API_TOKENS=viewer:ro:" + kRead + ",ops:admin:" + kAdmin, "JWT_SECRET=" + kJwtSecret});

  CHECK(s.call("GET", "/health").status == 200);  // open for load balancers
  const auto none = s.call("GET", "/v1/vessels");
  CHECK(none.status == 401);
  CHECK(error_code(none) == "unauthorized");
  CHECK(none.header("www-authenticate").starts_with("Bearer"));
  const auto wrong = s.call("GET", "/v1/vessels", Server::bearer("ops-secret-93b7e1d04c56"));
  CHECK(wrong.status == 401);
  CHECK(error_code(wrong) == "invalid_token");

  CHECK(s.call("GET", "/v1/vessels", Server::bearer(kRead)).status == 200);
  CHECK(s.call("GET", "/v1/watchlist", Server::bearer(kRead)).status == 200);
  const std::string put = R"({"mmsi":[244700923]})";
  const auto denied = s.call("PUT", "/v1/watchlist", Server::bearer(kRead), put);
  CHECK(denied.status == 403);
  CHECK(error_code(denied) == "forbidden");
  CHECK(s.call("POST", "/v1/sim/stop", Server::bearer(kRead)).status == 403);
  CHECK(s.call("PUT", "/v1/watchlist", {}, put).status == 401);
  const auto changed = s.call("PUT", "/v1/watchlist", Server::bearer(kAdmin), put);
  CHECK(changed.status == 200);
  CHECK(json::parse(changed.body).at("count") == 1);

  // JWTs signed with JWT_SECRET: the role claim decides, exp is enforced.
  const std::string admin_jwt =
      server::sign_jwt({{"sub", "ci"}, {"role", "admin"}, {"exp", now_s() + 3600}}, kJwtSecret);
  const std::string read_jwt = server::sign_jwt({{"sub", "dash"}, {"exp", now_s() + 3600}}, kJwtSecret);
  const std::string old_jwt = server::sign_jwt({{"role", "admin"}, {"exp", now_s() - 3600}}, kJwtSecret);
  CHECK(s.call("PUT", "/v1/watchlist", Server::bearer(admin_jwt), R"({"mmsi":[]})").status == 200);
  CHECK(s.call("PUT", "/v1/watchlist", Server::bearer(read_jwt), R"({"mmsi":[]})").status == 403);
  CHECK(s.call("GET", "/v1/vessels", Server::bearer(read_jwt)).status == 200);
  const auto expired = s.call("GET", "/v1/vessels", Server::bearer(old_jwt));
  CHECK(expired.status == 401);
  CHECK(expired.body.find("expired") != std::string::npos);
  CHECK(s.call("GET", "/v1/vessels",
               Server::bearer(server::sign_jwt({{"exp", now_s() + 60}},
                                               "another-secret-"
                                               "0123456789abcdef0123")))
            .status == 401);

  // /v1/live: browsers cannot set headers on a WebSocket, so ?access_token= works there.
  test::LiveClient anonymous(s.port());
  CHECK_FALSE(anonymous.wait_open(10));
  CHECK(anonymous.refused_status() == 401);
  test::LiveClient reader(s.port(), "/v1/live?access_token=" + kRead);
  CHECK(reader.wait_open(10));
  reader.send(R"({"type":"subscribe"})");
  const auto snapshot = reader.next(10);
  REQUIRE(snapshot);
  CHECK(snapshot->find("snapshot") != std::string::npos);
  reader.close();

  // /metrics (issue #8): without METRICS_TOKEN it is protected like the API.
  CHECK(s.call("GET", "/metrics").status == 401);
  CHECK(s.call("GET", "/metrics", Server::bearer(kRead)).status != 401);

  // Counted in /health.
  const json::value health = json::parse(s.call("GET", "/health").body);
  CHECK(health.at("access").at("authentication") == true);
  CHECK(health.at("access").at("unauthorized").to_number<int>() >= 6);
}

TEST_CASE("server access: tokens never reach the log, even at debug level") {
  Server s({"API_TOKENS=viewer:ro:" + kRead + ",ops:admin:" + kAdmin, "JWT_SECRET=" + kJwtSecret});
  const std::string jwt = server::sign_jwt({{"sub", "log"}, {"exp", now_s() + 3600}}, kJwtSecret);
  CHECK(s.call("GET", "/v1/vessels?limit=1&access_token=" + kAdmin).status == 200);
  CHECK(s.call("GET", "/v1/vessels?access%5Ftoken=" + kRead).status == 200);
  CHECK(s.call("GET", "/v1/vessels", Server::bearer(jwt)).status == 200);
  CHECK(s.call("GET", "/v1/nothing-here?access_token=" + kRead).status == 404);
  CHECK(s.call("GET", "/v1/vessels?access_token=ops-secret-93b7e1d04c56").status == 401);
  test::LiveClient live(s.port(), "/v1/live?access_token=" + kAdmin);
  CHECK(live.wait_open(10));
  live.close();
  s.process().signal(SIGTERM);
  CHECK(s.process().wait(20) == 0);
  const std::string log = s.output();
  CHECK(log.find("/v1/vessels?limit=1&access_token=REDACTED") != std::string::npos);  // the line is there
  CHECK(log.find(kAdmin) == std::string::npos);
  CHECK(log.find(kRead) == std::string::npos);
  CHECK(log.find("ops-secret-93b7e1d04c56") == std::string::npos);
  CHECK(log.find(jwt.substr(jwt.rfind('.') + 1)) == std::string::npos);
}

TEST_CASE("server access: rate limiting answers 429 with Retry-After per token and per address") {
  // 0.01 per second: once a burst is spent, the next request is 100 s away whatever the test's speed.
  Server s({"API_TOKENS=viewer:ro:" + kRead + ",ops:admin:" + kAdmin, "RATE_LIMIT_PER_S=0.01",
            "RATE_LIMIT_BURST=3"});
  for (int i = 0; i < 3; ++i) CHECK(s.call("GET", "/v1/vessels", Server::bearer(kRead)).status == 200);
  const auto limited = s.call("GET", "/v1/vessels", Server::bearer(kRead));
  CHECK(limited.status == 429);
  CHECK(error_code(limited) == "rate_limited");
  CHECK(limited.header("retry-after") == "100");
  CHECK(s.call("GET", "/v1/vessels", Server::bearer(kAdmin)).status == 200);  // its own bucket
  CHECK(s.call("GET", "/health").status == 200);                              // never limited
  test::LiveClient live(s.port(), "/v1/live?access_token=" + kRead);          // handshakes count too
  CHECK_FALSE(live.wait_open(10));
  CHECK(live.refused_status() == 429);

  // Without a valid token the client address is the key: guessing is limited like anything else.
  for (int i = 0; i < 3; ++i)
    CHECK(s.call("GET", "/v1/vessels", Server::bearer("guess-" + std::to_string(i) + "-0123456789abcdef"))
              .status == 401);
  CHECK(s.call("GET", "/v1/vessels", Server::bearer("guess-x-0123456789abcdef")).status == 429);
  const json::value health = json::parse(s.call("GET", "/health").body);
  CHECK(health.at("access").at("rate_limited").to_number<int>() == 3);
}

TEST_CASE("server access: CORS preflights and Access-Control-Allow-Origin follow CORS_ORIGINS") {
  Server s({"API_TOKENS=ops:admin:" + kAdmin, "CORS_ORIGINS=https://app.example,http://localhost:5173"});
  const Headers preflight{{"Origin", "https://app.example"},
                          {"Access-Control-Request-Method", "PUT"},
                          {"Access-Control-Request-Headers", "authorization, content-type"}};
  const auto ok = s.call("OPTIONS", "/v1/watchlist", preflight);
  CHECK(ok.status == 204);
  CHECK(ok.header("access-control-allow-origin") == "https://app.example");
  CHECK(ok.header("access-control-allow-methods").find("PUT") != std::string::npos);
  CHECK(ok.header("access-control-allow-headers").find("Authorization") != std::string::npos);

  const auto evil = s.call("OPTIONS", "/v1/watchlist",
                           {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "PUT"}});
  CHECK(evil.status == 403);
  CHECK(evil.header("access-control-allow-origin").empty());

  Headers from_app = Server::bearer(kAdmin);
  from_app.emplace_back("Origin", "http://localhost:5173");
  const auto listed = s.call("GET", "/v1/vessels", from_app);
  CHECK(listed.status == 200);
  CHECK(listed.header("access-control-allow-origin") == "http://localhost:5173");
  CHECK(listed.header("vary") == "Origin");
  const auto refused = s.call("GET", "/v1/vessels", {{"Origin", "http://localhost:5173"}});
  CHECK(refused.status == 401);  // a browser script can read why
  CHECK(refused.header("access-control-allow-origin") == "http://localhost:5173");
  Headers from_evil = Server::bearer(kAdmin);
  from_evil.emplace_back("Origin", "https://evil.example");
  const auto unlisted = s.call("GET", "/v1/vessels", from_evil);
  CHECK(unlisted.status == 200);  // not a browser matter: the token decides; the browser hides it
  CHECK(unlisted.header("access-control-allow-origin").empty());
}

TEST_CASE("server access: METRICS_TOKEN protects /metrics alone, the API stays open without API_TOKENS") {
  Server s({"METRICS_TOKEN=metrics-scrape-0123456789"});
  CHECK(s.call("GET", "/metrics").status == 401);
  const auto scrape = s.call("GET", "/metrics", Server::bearer("metrics-scrape-0123456789"));
  CHECK(scrape.status == 200);
  // Refusals by the gate are counted beside the API's own answers.
  CHECK(
      scrape.body.find("aistrack_http_requests_total{route=\"/metrics\",method=\"GET\",code=\"401\"} 1\n") !=
      std::string::npos);
  CHECK(s.call("GET", "/v1/vessels").status == 200);
  CHECK(s.call("PUT", "/v1/watchlist", {}, R"({"mmsi":[]})").status == 200);  // off by default: admin
}

TEST_CASE("server access: a bad token setting stops the start with status 2 and never prints the secret") {
  test::TempDir dir;
  test::ChildProcess bad(
      {kServer}, {"ENV_FILE=", "DB_PATH=" + (dir / "bad.db").string(), "API_TOKENS=ops:root:" + kAdmin},
      dir / "bad.log");
  CHECK(bad.wait(20) == 2);
  const std::string out = test::slurp(dir / "bad.log");
  CHECK(out.find("API_TOKENS") != std::string::npos);
  CHECK(out.find(kAdmin) == std::string::npos);
}
