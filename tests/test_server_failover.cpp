// Several instances on one PostgreSQL database (issue #9): two real aistrack-server processes share a
// real PostgreSQL 15 and a real redis-server; exactly one (the leader, by advisory lock) ingests a replayed
// aisstream.io feed, the other serves the API from the shared database. The leader is killed with SIGKILL
// mid-feed: the follower takes over within LEADER_TAKEOVER_S, replays the feed from its start, nothing that
// was committed is lost, and the rows it ingests again are recognised as duplicates and not stored twice.
#include <doctest/doctest.h>

#include "aisstream_frames.hpp"
#include "scaleout_servers.hpp"
#include "scaleout_skip.hpp"
#include "store_targets.hpp"
#include "support.hpp"

#include <libpq-fe.h>
#include <boost/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>

namespace {
namespace json = boost::json;
using aistrack::test::http_request;
using aistrack::test::wait_for;
const std::string kServer = AISTRACK_SERVER_BIN;

using aistrack::test::scaleout_available;

json::object health(const aistrack::test::ServerProcess& s) {
  const auto r = http_request(s.port(), "GET", "/health");
  if (r.status == 0) return {};
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  return ec || !v.is_object() ? json::object{} : v.as_object();
}

std::string role(const aistrack::test::ServerProcess& s) {
  const auto h = health(s);
  return h.contains("leader") ? std::string(h.at("leader").at("role").as_string()) : "";
}

// Rows of `sql` (two columns) from the database at `url`.
std::set<std::pair<std::string, std::string>> rows(const std::string& url, const std::string& sql) {
  std::set<std::pair<std::string, std::string>> out;
  PGconn* c = PQconnectdb(url.c_str());
  PGresult* r = PQexec(c, sql.c_str());
  if (PQresultStatus(r) == PGRES_TUPLES_OK) {
    for (int i = 0; i < PQntuples(r); ++i) out.emplace(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
  }
  PQclear(r);
  PQfinish(c);
  return out;
}

// The number `sql` answers on the database at `url` (tests/support/store_targets.hpp).
long long number(const std::string& url, const std::string& sql) {
  aistrack::StoreConfig db;
  db.url = url;
  return aistrack::test::count_in(db, sql);
}
// A PostgreSQL cluster with a fresh schema `schema` (its URL in `url`), or nullptr once
// scaleout_available has reported why the test skips.
std::unique_ptr<aistrack::test::PgServer> pg_with_schema(const std::string& schema, std::string& url) {
  std::string why_not;
  auto pg = aistrack::test::PgServer::start(why_not);
  if (!scaleout_available(pg.get(), why_not)) return nullptr;
  url = pg->fresh_schema_url(schema);
  REQUIRE_MESSAGE(!url.starts_with("error"), url);
  return pg;
}
}  // namespace

TEST_CASE(
    "server failover: the follower takes over ingest within LEADER_TAKEOVER_S, nothing committed is lost, "
    "no position is stored twice") {
  std::string why_not;
  std::string url;
  const auto pg = pg_with_schema("failover", url);
  if (!pg) return;
  const auto redis = aistrack::test::RedisServer::start(why_not);
  if (!scaleout_available(redis.get(), why_not)) return;

  // Five minutes of a 30-vessel fleet as aisstream.io frames with their own (recent) times; replayed
  // at 10x, so a full replay takes about 30 s and the kill lands in the middle of it.
  aistrack::test::TempDir dir;
  const auto messages = aistrack::bench::recent_simulated(30, 5, 7);
  std::map<aistrack::Mmsi, aistrack::LatLon> last_position;
  std::size_t positions = 0;
  {
    std::ofstream out(dir / "feed.jsonl");
    for (const auto& m : messages) {
      out << aistrack::bench::to_aisstream_frame(m) << '\n';
      if (m.position && m.position->latlon) {
        ++positions;
        last_position[m.mmsi] = *m.position->latlon;
      }
    }
  }
  REQUIRE(positions > 500);
  const std::vector<std::string> env = {
      "DB_URL=" + url,        "SOURCE=replay:" + (dir / "feed.jsonl").string(),
      "REPLAY_SPEED=10",      "STORE_BATCH_MS=200",
      "LEADER_TAKEOVER_S=15", "FOLLOWER_REFRESH_MS=300",
      "AISSTREAM_API_KEY=",   "LOG_LEVEL=debug"};
  auto a = std::make_unique<aistrack::test::ServerProcess>(kServer, env);
  REQUIRE_MESSAGE(wait_for([&] { return role(*a) == "leader"; }, 60), a->output());
  aistrack::test::ServerProcess b(kServer, env);
  REQUIRE_MESSAGE(wait_for([&] { return role(b) == "follower"; }, 60), b.output());
  CHECK(health(b).at("leader").at("ingesting").as_bool() == false);

  // Kill the leader once it has committed a good part of the feed.
  const auto count_sql = "SELECT count(*) FROM positions";
  REQUIRE_MESSAGE(
      wait_for([&] { return number(url, count_sql) >= static_cast<long long>(positions / 3); }, 90),
      a->output());
  // The follower serves what the leader stored, from the shared database.
  const aistrack::Mmsi some = last_position.begin()->first;
  CHECK(wait_for(
      [&] { return http_request(b.port(), "GET", "/v1/ais/" + std::to_string(some)).status == 200; }, 20));
  const auto committed = rows(url, "SELECT mmsi::text, ts_ms::text FROM positions");
  a->process().signal(SIGKILL);
  a->process().wait(10);
  const auto killed_at = std::chrono::steady_clock::now();
  MESSAGE("leader killed after committing " << committed.size() << " of " << positions << " positions");

  REQUIRE_MESSAGE(wait_for([&] { return role(b) == "leader"; }, 30), b.output());
  const double takeover_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  MESSAGE("the follower took over ingest " << takeover_s << " s after the kill");
  CHECK(takeover_s <= 15.0);
  const auto h = health(b);
  CHECK(h.at("leader").at("elected").to_number<int>() == 1);
  CHECK(h.at("leader").at("ingesting").as_bool());

  // The new leader replays the feed from its start: every position ends up stored exactly once.
  REQUIRE_MESSAGE(wait_for([&] { return number(url, count_sql) >= static_cast<long long>(positions); }, 120),
                  "stored " << number(url, count_sql) << " of " << positions << "\n"
                            << b.output());
  const auto after = rows(url, "SELECT mmsi::text, ts_ms::text FROM positions");
  std::size_t lost = 0;
  for (const auto& r : committed) lost += after.count(r) == 0 ? 1 : 0;
  CHECK(lost == 0);
  const long long stored = number(url, count_sql);
  const long long duplicates =
      stored - number(url,
                      "SELECT count(*) FROM (SELECT DISTINCT mmsi, ts_ms, lat_deg, lon_deg, sog_kn, cog_deg, "
                      "heading_deg, nav_status, rot_deg_min, ais_type, source FROM positions) d");
  const auto skipped = health(b).at("store").at("duplicate_rows").to_number<long long>();
  MESSAGE("stored " << stored << " positions of " << positions
                    << " sent; duplicate rows in the database: " << duplicates
                    << "; re-ingested positions the new leader recognised and skipped: " << skipped);
  CHECK(duplicates == 0);
  CHECK(stored == static_cast<long long>(positions));
  CHECK(skipped >= static_cast<long long>(committed.size()));

  // The new leader answers the last position the feed sent for every vessel.
  for (const auto& [mmsi, p] : last_position) {
    const auto r = http_request(b.port(), "GET", "/v1/ais/" + std::to_string(mmsi));
    REQUIRE(r.status == 200);
    const auto v = json::parse(r.body).as_object();
    CHECK(v.at("lat").to_number<double>() == doctest::Approx(p.lat_deg));
    CHECK(v.at("lon").to_number<double>() == doctest::Approx(p.lon_deg));
  }
}

TEST_CASE(
    "server failover: a leader that hangs is replaced within LEADER_TAKEOVER_S and steps down when it "
    "wakes") {
  std::string url;
  const auto pg = pg_with_schema("hang", url);
  if (!pg) return;
  // The simulator as the feed; a short bound so the test is quick.
  const std::vector<std::string> env = {"DB_URL=" + url,           "SOURCE=simulator",
                                        "SIM_VESSELS=5",           "LEADER_TAKEOVER_S=4",
                                        "FOLLOWER_REFRESH_MS=300", "AISSTREAM_API_KEY="};
  aistrack::test::ServerProcess a(kServer, env);
  REQUIRE_MESSAGE(wait_for([&] { return role(a) == "leader"; }, 60), a.output());
  aistrack::test::ServerProcess b(kServer, env);
  REQUIRE_MESSAGE(wait_for([&] { return role(b) == "follower"; }, 60), b.output());

  a.process().signal(SIGSTOP);  // hung: its session stays open but sends nothing
  const auto stopped_at = std::chrono::steady_clock::now();
  REQUIRE_MESSAGE(wait_for([&] { return role(b) == "leader"; }, 30), b.output());
  const double takeover_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped_at).count();
  MESSAGE("the follower took over " << takeover_s << " s after the leader hung (bound 4 s)");
  CHECK(takeover_s <= 4.0 + 1.5);  // the bound plus one poll and the /health round trip

  a.process().signal(SIGCONT);
  // Its heartbeat finds the session gone: it stops ingesting at once and campaigns again as a follower.
  REQUIRE_MESSAGE(wait_for([&] { return role(a) == "follower"; }, 30), a.output());
  CHECK(health(a).at("leader").at("ingesting").as_bool() == false);
  CHECK(health(a).at("leader").at("lost").to_number<int>() == 1);
  CHECK(role(b) == "leader");
}

TEST_CASE("server failover: a DB_URL password never reaches the output, whatever goes wrong") {
  // Nothing listens on port 1: the Store cannot connect and the server exits 1 saying why.
  aistrack::test::ServerProcess down(kServer, {"DB_URL=postgresql://aistrack:hunter2pw@127.0.0.1:1/fleet",
                                               "AISSTREAM_API_KEY=", "LOG_LEVEL=debug"});
  CHECK(down.process().wait(30) == 1);
  CHECK(down.output().find("cannot connect to database 'postgresql://aistrack:***@127.0.0.1:1/fleet'") !=
        std::string::npos);
  CHECK(down.output().find("hunter2pw") == std::string::npos);
  // Not a PostgreSQL URL: a settings error (exit 2) that names the setting, not the value.
  aistrack::test::ServerProcess bad(kServer,
                                    {"DB_URL=mysql://root:hunter2pw@db/fleet", "AISSTREAM_API_KEY="});
  CHECK(bad.process().wait(30) == 2);
  CHECK(bad.output().find("DB_URL") != std::string::npos);
  CHECK(bad.output().find("hunter2pw") == std::string::npos);
}

TEST_CASE("server failover: a watch list changed through a follower reaches the leader's ingest") {
  std::string url;
  const auto pg = pg_with_schema("control", url);
  if (!pg) return;
  const std::vector<std::string> env = {"DB_URL=" + url, "SOURCE=simulator", "SIM_VESSELS=6",
                                        "FOLLOWER_REFRESH_MS=300", "AISSTREAM_API_KEY="};
  aistrack::test::ServerProcess a(kServer, env);
  REQUIRE_MESSAGE(wait_for([&] { return role(a) == "leader"; }, 60), a.output());
  aistrack::test::ServerProcess b(kServer, env);
  REQUIRE_MESSAGE(wait_for([&] { return role(b) == "follower"; }, 60), b.output());
  const auto total = [](const aistrack::test::ServerProcess& s) {
    const auto r = http_request(s.port(), "GET", "/v1/vessels?limit=1000");
    return r.status == 200 ? json::parse(r.body).at("total").to_number<int>() : -1;
  };
  REQUIRE_MESSAGE(wait_for([&] { return total(a) >= 2; }, 30), a.output());  // the fleet appears over seconds
  const auto first =
      json::parse(http_request(a.port(), "GET", "/v1/vessels?limit=1").body).at("vessels").at(0).at("mmsi");
  const std::string mmsi = std::to_string(first.to_number<aistrack::Mmsi>());

  // Changed through the follower: saved to the shared database; the leader adopts it and filters.
  const auto put = http_request(b.port(), "PUT", "/v1/watchlist", R"({"mmsi":[")" + mmsi + R"("]})");
  REQUIRE_MESSAGE(put.status == 200, put.body);
  const auto watchlist = [&](const aistrack::test::ServerProcess& s) {
    const auto r = http_request(s.port(), "GET", "/v1/watchlist");
    return r.status == 200 ? json::serialize(json::parse(r.body).at("mmsi")) : std::string();
  };
  CHECK(wait_for([&] { return watchlist(a) == "[" + mmsi + "]"; }, 10));
  CHECK(wait_for([&] { return total(a) == 1; }, 10));
  CHECK(a.output().find("changed by another instance") != std::string::npos);
}

TEST_CASE(
    "server failover: a follower re-reads only the vessels seen lately, and every vessel once a minute") {
  std::string url;
  const auto pg = pg_with_schema("refresh", url);
  if (!pg) return;
  // 2,000 vessels last seen two hours ago (a long-running fleet's stale majority), then a live feed of 10.
  const aistrack::TimeMs now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
  constexpr std::size_t kStale = 2000;
  {
    aistrack::StoreConfig db;
    db.url = url;
    aistrack::Store store(db);
    for (std::size_t i = 0; i < kStale; ++i) {
      aistrack::VesselState v;
      v.mmsi = static_cast<aistrack::Mmsi>(219'000'000 + i);
      aistrack::PositionFix f;
      f.ts_ms = now - 2 * 3'600'000 + static_cast<aistrack::TimeMs>(i);
      f.latlon = aistrack::LatLon{55.0 + static_cast<double>(i % 100) * 0.01, 11.0};
      v.position = f;
      v.last_seen_ms = f.ts_ms;
      store.upsert_vessel(v);
    }
    store.flush();
  }
  aistrack::test::TempDir dir;
  std::set<aistrack::Mmsi> live;
  {
    std::ofstream out(dir / "feed.jsonl");
    for (const auto& m : aistrack::bench::recent_simulated(10, 5, 3)) {
      out << aistrack::bench::to_aisstream_frame(m) << '\n';
      live.insert(m.mmsi);
    }
  }
  const std::vector<std::string> env = {
      "DB_URL=" + url,           "SOURCE=replay:" + (dir / "feed.jsonl").string(),
      "REPLAY_SPEED=10",         "STORE_BATCH_MS=200",
      "FOLLOWER_REFRESH_MS=200", "AISSTREAM_API_KEY="};
  aistrack::test::ServerProcess a(kServer, env);
  REQUIRE_MESSAGE(wait_for([&] { return role(a) == "leader"; }, 60), a.output());
  aistrack::test::ServerProcess b(kServer, env);
  REQUIRE_MESSAGE(wait_for([&] { return role(b) == "follower"; }, 60), b.output());
  const auto refresh = [&] { return health(b).at("leader").at("refresh").as_object(); };
  REQUIRE_MESSAGE(wait_for([&] { return refresh().at("incremental").to_number<int>() >= 10; }, 30),
                  b.output());

  const auto r = refresh();
  const auto full = r.at("full").to_number<std::uint64_t>();
  const auto incremental = r.at("incremental").to_number<std::uint64_t>();
  const auto read = r.at("vessels_read").to_number<std::uint64_t>();
  MESSAGE("follower refreshes: " << full << " full, " << incremental << " incremental, " << read
                                 << " vessels read");
  CHECK(full >= 1);
  // The stale 2,000 come only with the full reloads; an incremental one reads at most the live ten.
  CHECK(read <= full * (kStale + live.size()) + incremental * live.size());
  CHECK(r.at("merged").to_number<std::uint64_t>() >= 1);  // the stale ones it had from start-up
  // The follower serves both kinds: a stale vessel (from the full reload) and a live one's newest
  // position as the leader stored it.
  CHECK(http_request(b.port(), "GET", "/v1/ais/219000007").status == 200);
  std::string in_list;
  for (const aistrack::Mmsi m : live) in_list += (in_list.empty() ? "" : ",") + std::to_string(m);
  const std::string newest_live = "SELECT mmsi FROM vessels WHERE ts_ms IS NOT NULL AND mmsi IN (" + in_list +
                                  ") ORDER BY ts_ms DESC LIMIT 1";
  REQUIRE(wait_for([&] { return number(url, newest_live) > 0; }, 10));
  const std::string one = std::to_string(number(url, newest_live));
  const long long stored_ms = number(url, "SELECT ts_ms FROM vessels WHERE mmsi = " + one);
  REQUIRE(stored_ms > 0);
  CHECK(wait_for(
      [&] {
        const auto rb = http_request(b.port(), "GET", "/v1/ais/" + one);
        return rb.status == 200 && std::string(json::parse(rb.body).at("time").as_string()) >=
                                       aistrack::format_iso8601(stored_ms);
      },
      10));
}
