// The scale-out test harness (issue #9): a real PostgreSQL 15 (with PostGIS) and a real redis-server,
// started by the tests on 127.0.0.1 in temporary folders. Where they cannot start, the tests say why
// and skip; .ci/run sets AISTRACK_REQUIRE_SCALEOUT=1 so that in CI a skip is a failure.
#include <doctest/doctest.h>

#include "scaleout_servers.hpp"
#include "scaleout_skip.hpp"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

namespace {
using aistrack::test::scaleout_available;

std::string query_one(PGconn* c, const char* sql) {
  PGresult* r = PQexec(c, sql);
  std::string out = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "";
  if (out.empty()) out = "error: " + std::string(PQerrorMessage(c));
  PQclear(r);
  return out;
}

struct Reply {
  redisReply* r;
  explicit Reply(void* p) : r(static_cast<redisReply*>(p)) {}
  ~Reply() {
    if (r != nullptr) freeReplyObject(r);
  }
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
};
}  // namespace

TEST_CASE("scale-out harness: a real PostgreSQL 15 with PostGIS answers on 127.0.0.1") {
  std::string why_not;
  const auto pg = aistrack::test::PgServer::start(why_not);
  if (!scaleout_available(pg.get(), why_not)) return;
  PGconn* c = PQconnectdb(pg->url().c_str());
  REQUIRE_MESSAGE(PQstatus(c) == CONNECTION_OK, PQerrorMessage(c));
  CHECK(query_one(c, "SELECT current_setting('server_version_num')").starts_with("15"));
  CHECK(query_one(c, "SELECT current_user") == "aistrack");
  CHECK(pg->has_postgis());
  if (pg->has_postgis()) {
    // One degree of latitude at the equator on the WGS84 ellipsoid: 110,574.4 m.
    const double d = std::stod(query_one(
        c, "SELECT ST_Distance('SRID=4326;POINT(0 0)'::geography, 'SRID=4326;POINT(0 1)'::geography)"));
    CHECK(d == doctest::Approx(110'574.4).epsilon(1e-5));
  }
  PQfinish(c);
}

TEST_CASE("scale-out harness: a real redis-server delivers a publish and comes back after a stop") {
  std::string why_not;
  const auto redis = aistrack::test::RedisServer::start(why_not);
  if (!scaleout_available(redis.get(), why_not)) return;
  const timeval timeout{2, 0};
  redisContext* sub = redisConnectWithTimeout("127.0.0.1", redis->port(), timeout);
  redisContext* pub = redisConnectWithTimeout("127.0.0.1", redis->port(), timeout);
  REQUIRE((sub != nullptr && sub->err == 0 && pub != nullptr && pub->err == 0));
  {
    const Reply ok(redisCommand(sub, "SUBSCRIBE aistrack.test"));
    REQUIRE(ok.r != nullptr);
  }
  {
    const Reply n(redisCommand(pub, "PUBLISH aistrack.test %s", "{\"mmsi\":244700923}"));
    REQUIRE(n.r != nullptr);
    CHECK(n.r->type == REDIS_REPLY_INTEGER);
    CHECK(n.r->integer == 1);  // one subscriber heard it
  }
  void* raw = nullptr;
  REQUIRE(redisGetReply(sub, &raw) == REDIS_OK);
  const Reply message(raw);
  REQUIRE(message.r->type == REDIS_REPLY_ARRAY);
  REQUIRE(message.r->elements == 3);
  CHECK(std::string(message.r->element[0]->str) == "message");
  CHECK(std::string(message.r->element[2]->str) == "{\"mmsi\":244700923}");
  redisFree(sub);
  redisFree(pub);

  redis->stop();
  redisContext* down = redisConnectWithTimeout("127.0.0.1", redis->port(), timeout);
  CHECK((down == nullptr || down->err != 0));
  if (down != nullptr) redisFree(down);
  {
    // Another process holds the port for a moment (a parallel test's listener): restart() waits it out.
    const int holder = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(redis->port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    ::setsockopt(holder, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    REQUIRE(::bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(holder, 1) == 0);
    std::thread release([holder] {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      ::close(holder);
    });
    const bool up = redis->restart();
    release.join();
    REQUIRE_MESSAGE(up, redis->log());
  }
  redisContext* again = redisConnectWithTimeout("127.0.0.1", redis->port(), timeout);
  REQUIRE(again != nullptr);
  CHECK(again->err == 0);
  redisFree(again);
}
