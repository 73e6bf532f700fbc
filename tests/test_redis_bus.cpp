// Scale-out (issue #9): REDIS_URL parsing, the channel message (vessel_json and back, field for field),
// hostile channel content, and two RedisBus instances on a real redis-server that is stopped and restarted.
#include <doctest/doctest.h>

#include "config.hpp"
#include "json_view.hpp"
#include "redis_bus.hpp"
#include "scaleout_servers.hpp"
#include "scaleout_skip.hpp"

#include <hiredis/hiredis.h>

#include <boost/json.hpp>

#include <mutex>
#include <random>

using namespace aistrack;
using namespace aistrack::server;

namespace {
constexpr TimeMs kNow = 1'700'000'000'123;

PositionFix fix_at(TimeMs ts_ms, double lat_deg, double lon_deg) {
  PositionFix f;
  f.ts_ms = ts_ms;
  f.latlon = {lat_deg, lon_deg};
  return f;
}

// A state with every field set, none at a default, so a field lost on the way shows.
VesselState full_state() {
  VesselState v;
  v.mmsi = 244'700'923;
  v.station = StationClass::class_b;
  PositionFix f;
  f.ts_ms = kNow - 1500;
  f.latlon = {52.123456789, -4.987654321};
  f.sog_kn = 12.3;
  f.cog_deg = 359.9;
  f.heading_deg = 358;
  f.nav_status = NavStatus::engaged_in_fishing;
  f.rot_deg_min = -12.5;
  f.ais_type = 18;
  f.source = Source::nmea;
  v.position = f;
  StaticData& s = v.static_data;
  s.name = "ALIDA \"Ö\"";
  s.callsign = "PD1234";
  s.destination = "ROTTERDAM";
  s.imo = 9'123'456;
  s.ship_type = ShipType{70};
  s.dimensions = Dimensions{120, 30, 10, 12};
  s.eta = Eta{11, 23, 14, 30};
  s.draught_m = 7.4;
  s.aton_type = 9;
  v.static_ts_ms = kNow - 60'000;
  v.last_seen_ms = kNow - 1000;
  return v;
}

void check_same(const VesselState& a, const VesselState& b) {
  CHECK(a.mmsi == b.mmsi);
  CHECK(a.station == b.station);
  CHECK(a.position == b.position);
  CHECK(a.static_data.name == b.static_data.name);
  CHECK(a.static_data.callsign == b.static_data.callsign);
  CHECK(a.static_data.destination == b.static_data.destination);
  CHECK(a.static_data.imo == b.static_data.imo);
  CHECK(a.static_data.ship_type == b.static_data.ship_type);
  CHECK(a.static_data.dimensions == b.static_data.dimensions);
  CHECK(a.static_data.eta == b.static_data.eta);
  CHECK(a.static_data.draught_m == b.static_data.draught_m);
  CHECK(a.static_data.aton_type == b.static_data.aton_type);
  CHECK(a.static_data == b.static_data);
  CHECK(a.static_ts_ms == b.static_ts_ms);
  CHECK(a.last_seen_ms == b.last_seen_ms);
}

std::string config_error(const std::string& url) {
  try {
    load_config({}, {{"ENV_FILE", ""}, {"REDIS_URL", url}});
  } catch (const ConfigError& e) {
    return e.what();
  }
  return {};
}
}  // namespace

TEST_CASE("redis bus: REDIS_URL forms parse, with user, password, port and database") {
  std::string why;
  auto e = parse_redis_url("redis://127.0.0.1", why);
  REQUIRE(e);
  CHECK(e->host == "127.0.0.1");
  CHECK(e->port == 6379);
  CHECK(e->password.empty());
  e = parse_redis_url("redis://:p@ss/w0rd@redis.example:6380/3", why);
  REQUIRE(e);
  CHECK(e->host == "redis.example");
  CHECK(e->port == 6380);
  CHECK(e->user.empty());
  CHECK(e->password == "p@ss/w0rd");
  CHECK(e->db == 3);
  e = parse_redis_url("redis://aistrack:secret@[::1]:7000", why);
  REQUIRE(e);
  CHECK(e->host == "::1");
  CHECK(e->port == 7000);
  CHECK(e->user == "aistrack");
  CHECK(e->password == "secret");
  CHECK(redis_address(*e) == "[::1]:7000");
  for (const char* bad :
       {"http://127.0.0.1", "redis://", "redis://host:0", "redis://host:70000", "redis://host:x",
        "redis://host/db", "redis://user@host", "redis://:@host", "redis://[::1"}) {
    CHECK_MESSAGE(!parse_redis_url(bad, why), bad);
    CHECK(why.find("redis://") != std::string::npos);
  }
}

TEST_CASE("redis bus: a bad REDIS_URL is a ConfigError naming the setting, never quoting the password") {
  const std::string error = config_error("redis://:hunter2-secret@host:99999");
  CHECK(error.find("REDIS_URL") != std::string::npos);
  CHECK(error.find("hunter2-secret") == std::string::npos);
  CHECK(config_error("redis://127.0.0.1:6380/1").empty());
  CHECK(config_error("").empty());  // off
  const auto loaded =
      load_config({"--redis-channel", "fleet:one", "--redis-queue-max", "10"}, {{"ENV_FILE", ""}});
  CHECK(loaded.config.redis_channel == "fleet:one");
  CHECK(loaded.config.redis_queue_max == 10);
  CHECK_THROWS_AS(load_config({"--redis-channel", "has space"}, {{"ENV_FILE", ""}}), ConfigError);
}

TEST_CASE("redis bus: vessel_from_json reads back every field vessel_json writes") {
  const VesselState v = full_state();
  const auto back = vessel_from_json(boost::json::parse(boost::json::serialize(vessel_json(v))));
  REQUIRE(back);
  check_same(*back, v);

  // A vessel known only from static data, and one known only from a bare position.
  VesselState bare;
  bare.mmsi = 2'320'061;
  bare.last_seen_ms = kNow;
  bare.static_data.name = "ONLY A NAME";
  bare.static_ts_ms = kNow;
  auto again = vessel_from_json(vessel_json(bare));
  REQUIRE(again);
  check_same(*again, bare);
  bare.static_data = {};
  bare.static_ts_ms.reset();
  bare.position = fix_at(kNow, -33.9, 151.2);
  again = vessel_from_json(vessel_json(bare));
  REQUIRE(again);
  check_same(*again, bare);
}

TEST_CASE("redis bus: hostile records and messages are refused and counted, never thrown") {
  const boost::json::object good = vessel_json(full_state());
  auto with = [&](const char* key, boost::json::value value) {
    boost::json::object o = good;
    o[key] = std::move(value);
    return boost::json::value(std::move(o));
  };
  CHECK_FALSE(vessel_from_json(boost::json::value(nullptr)));
  CHECK_FALSE(vessel_from_json(boost::json::array{1, 2}));
  CHECK_FALSE(vessel_from_json(with("mmsi", 0)));
  CHECK_FALSE(vessel_from_json(with("mmsi", "244700923")));
  CHECK_FALSE(vessel_from_json(with("mmsi", 1e12)));
  CHECK_FALSE(vessel_from_json(with("lat", 91.0)));
  CHECK_FALSE(vessel_from_json(with("lat", nullptr)));  // a position needs time, lat and lon
  CHECK_FALSE(vessel_from_json(with("time", "yesterday")));
  CHECK_FALSE(vessel_from_json(with("station_class", "Z")));
  CHECK_FALSE(vessel_from_json(with("source", "carrier pigeon")));
  CHECK_FALSE(vessel_from_json(with("heading", 720)));
  CHECK_FALSE(vessel_from_json(with("name", 42)));
  CHECK_FALSE(vessel_from_json(with("eta", boost::json::object{{"month", 13}, {"day", 1}})));
  CHECK_FALSE(vessel_from_json(with("dimensions", "big")));
  CHECK_FALSE(vessel_from_json(with("last_seen", nullptr)));
  CHECK(vessel_from_json(with("unknown_field", "ignored")));

  std::string sender;
  std::vector<VesselState> states;
  for (const char* text :
       {"", "not json", "[]", "{}", R"({"instance":1,"vessels":[]})", R"({"instance":"x","vessels":{}})",
        "{\"instance\":\"x\",\"vessels\":[", "\xff\xfe"}) {
    states.clear();
    CHECK_MESSAGE(parse_redis_message(text, sender, states) == 1, text);
    CHECK(states.empty());
  }
  // One bad record among good ones: the good ones are kept, the bad one counted.
  std::string message = redis_message("abc", {full_state(), full_state()});
  const auto pos = message.find("\"mmsi\":244700923");
  REQUIRE(pos != std::string::npos);
  message.replace(pos, 16, "\"mmsi\":-1");
  states.clear();
  CHECK(parse_redis_message(message, sender, states) == 1);
  CHECK(sender == "abc");
  REQUIRE(states.size() == 1);
  check_same(states[0], full_state());
}

TEST_CASE("redis bus: reconnect waits are jittered between half the backoff and the backoff") {
  std::mt19937_64 rng(5);
  for (const std::int64_t backoff : {1000, 1001, 30'000}) {
    std::int64_t lo = backoff, hi = 0;
    for (int i = 0; i < 2000; ++i) {
      const std::int64_t w = server::redis_reconnect_wait_ms(backoff, rng());
      REQUIRE(w >= backoff / 2);
      REQUIRE(w <= backoff);
      lo = std::min(lo, w);
      hi = std::max(hi, w);
    }
    // Spread over the whole range, not one fixed wait.
    CHECK(lo < backoff / 2 + backoff / 20);
    CHECK(hi > backoff - backoff / 20);
  }
  CHECK(server::redis_reconnect_wait_ms(0, 123) == 0);
  CHECK(server::redis_reconnect_wait_ms(1, 123) == 1);
  // The extremes of the random value stay inside the range.
  CHECK(server::redis_reconnect_wait_ms(1000, 0) == 500);
  CHECK(server::redis_reconnect_wait_ms(1000, ~std::uint64_t{0}) <= 1000);
}

TEST_CASE("redis bus: two buses on a real redis-server exchange states, skip their own, and reconnect") {
  std::string why_not;
  const auto redis = test::RedisServer::start(why_not);
  if (!test::scaleout_available(redis.get(), why_not)) return;
  struct Inbox {
    std::mutex mutex;
    std::vector<VesselState> states;
    int subscribed = 0;
    std::size_t size() {
      std::lock_guard lock(mutex);
      return states.size();
    }
  };
  Inbox in1;
  Inbox in2;
  auto bus_config = [&] {
    std::string why;
    RedisBusConfig c;
    c.endpoint = *parse_redis_url(redis->url(), why);
    c.channel = "aistrack:test";
    c.backoff_min_ms = 100;  // quick retries keep the test short
    c.backoff_max_ms = 400;
    return c;
  };
  auto make = [&](Inbox& in) {
    return std::make_unique<RedisBus>(
        bus_config(),
        [&in](std::vector<VesselState>&& states) {
          std::lock_guard lock(in.mutex);
          in.states.insert(in.states.end(), states.begin(), states.end());
          return states.size();
        },
        [&in] {
          std::lock_guard lock(in.mutex);
          ++in.subscribed;
        });
  };
  auto bus1 = make(in1);
  auto bus2 = make(in2);
  CHECK(bus1->instance_id() != bus2->instance_id());
  bus1->start();
  bus2->start();
  auto connected = [](const RedisBus& b) { return b.status().overall() == RedisState::connected; };
  REQUIRE(test::wait_for([&] { return connected(*bus1) && connected(*bus2); }, 10));

  bus1->publish({full_state()});
  REQUIRE(test::wait_for([&] { return in2.size() == 1; }, 10));
  check_same(in2.states[0], full_state());
  CHECK(test::wait_for([&] { return bus1->status().own_messages == 1; }, 10));
  CHECK(in1.size() == 0);
  CHECK(bus1->status().published == 1);
  CHECK(bus2->status().received == 1);

  // Whatever else is on the channel is counted and skipped.
  {
    redisContext* c = redisConnect("127.0.0.1", redis->port());
    REQUIRE((c != nullptr && c->err == 0));
    freeReplyObject(redisCommand(c, "PUBLISH aistrack:test %s", "definitely not json"));
    redisFree(c);
  }
  CHECK(test::wait_for(
      [&] { return bus2->status().dropped[static_cast<std::size_t>(RedisDrop::malformed)] == 1; }, 10));

  redis->stop();
  REQUIRE(test::wait_for([&] { return bus2->status().overall() == RedisState::down; }, 10));
  CHECK_FALSE(bus2->status().last_error.empty());
  bus1->publish({full_state()});  // no Redis: given up and counted, never blocking the caller
  REQUIRE_MESSAGE(redis->restart(), redis->log());
  REQUIRE(test::wait_for([&] { return connected(*bus1) && connected(*bus2); }, 15));
  CHECK(bus2->status().reconnects >= 1);
  // The App catches up from the Store on each (re)subscription.
  CHECK(test::wait_for(
      [&] {
        std::lock_guard lock(in2.mutex);
        return in2.subscribed >= 2;
      },
      10));
  VesselState moved = full_state();
  moved.position->ts_ms += 1000;
  // The publisher may still hold the connection Redis dropped: it retries once on a fresh one.
  REQUIRE(test::wait_for(
      [&] {
        bus1->publish({moved});
        std::lock_guard lock(in2.mutex);
        return !in2.states.empty() && in2.states.back().position == moved.position;
      },
      15));
  bus1->stop();
  bus2->stop();
}

TEST_CASE("redis bus: the publish queue keeps one state per vessel, is bounded and counts what it drops") {
  RedisBusConfig c;
  c.endpoint.host = "127.0.0.1";
  c.endpoint.port = 1;  // never started: nothing drains the queue
  c.queue_max = 3;
  RedisBus bus(c, [](std::vector<VesselState>&&) { return std::size_t{0}; }, {});
  auto vessel = [](Mmsi mmsi) {
    VesselState v = full_state();
    v.mmsi = mmsi;
    return v;
  };
  bus.publish({vessel(211000001), vessel(211000002)});
  bus.publish({vessel(211000001), vessel(211000003), vessel(211000004)});
  const RedisBusStatus s = bus.status();
  CHECK(s.queue_depth == 3);
  CHECK(s.coalesced == 1);
  CHECK(s.dropped[static_cast<std::size_t>(RedisDrop::queue_full)] == 1);
  CHECK(s.overall() == RedisState::off);
  boost::json::object body;
  write_redis_health(nullptr, c, body);
  CHECK(boost::json::serialize(body) == R"({"redis":{"state":"off"}})");
}
