#include <aistrack/tracker.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace aistrack;

namespace {
constexpr TimeMs kNow = 1'700'000'000'000;

Message position(Mmsi mmsi, TimeMs ts, double lat, double lon, std::optional<double> sog = 10.0) {
  Message m;
  m.mmsi = mmsi;
  m.ais_type = 1;
  m.source = Source::simulator;
  m.ts_ms = ts;
  m.position = PositionReport{};
  m.position->latlon = LatLon{lat, lon};
  m.position->sog_kn = sog;
  return m;
}

PositionFix fix_at(TimeMs ts_ms, double lat_deg, double lon_deg) {
  PositionFix f;
  f.ts_ms = ts_ms;
  f.latlon = {lat_deg, lon_deg};
  return f;
}

Message static_msg(Mmsi mmsi, TimeMs ts, std::string name) {
  Message m;
  m.mmsi = mmsi;
  m.ais_type = 5;
  m.ts_ms = ts;
  m.static_data = StaticData{};
  m.static_data->name = std::move(name);
  return m;
}
}  // namespace

TEST_CASE("tracker: latest position per MMSI with static data merged") {
  Tracker t;
  CHECK(t.apply(position(244700923, kNow - 2000, 52.0, 4.0), kNow) == ApplyStatus::updated);
  CHECK(t.apply(static_msg(244700923, kNow - 1500, "ALIDA"), kNow) == ApplyStatus::updated);
  CHECK(t.apply(position(244700923, kNow - 1000, 52.1, 4.1), kNow) == ApplyStatus::updated);
  const auto v = t.latest(244700923);
  REQUIRE(v);
  CHECK(v->position->latlon.lat_deg == 52.1);
  CHECK(v->position->ts_ms == kNow - 1000);
  CHECK(v->static_data.name == "ALIDA");
  CHECK(v->static_ts_ms == kNow - 1500);
  CHECK(v->last_seen_ms == kNow - 1000);
  CHECK(v->message_count == 3);
  CHECK(t.size() == 1);
  CHECK_FALSE(t.latest(211000000));
}

TEST_CASE("tracker: an older position does not replace latest but is reported for storage") {
  Tracker t;
  std::vector<std::pair<bool, TimeMs>> seen;
  t.subscribe([&](const Update& u) {
    REQUIRE(u.fix != nullptr);
    seen.emplace_back(u.latest_changed, u.fix->ts_ms);
  });
  CHECK(t.apply(position(244700923, kNow - 1000, 52.1, 4.1), kNow) == ApplyStatus::updated);
  CHECK(t.apply(position(244700923, kNow - 5000, 51.0, 3.0), kNow) == ApplyStatus::stale);
  CHECK(t.latest(244700923)->position->latlon.lat_deg == 52.1);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::pair{true, kNow - 1000});
  CHECK(seen[1] == std::pair{false, kNow - 5000});
  CHECK(t.counters().stale == 1);
  CHECK(t.counters().updated == 1);
}

TEST_CASE("tracker: the allow-list filters other MMSIs") {
  TrackerConfig c;
  c.mmsi_allow = {244700923};
  Tracker t(c);
  CHECK(t.apply(position(244700923, kNow, 52, 4), kNow) == ApplyStatus::updated);
  CHECK(t.apply(position(211000000, kNow, 52, 4), kNow) == ApplyStatus::filtered);
  CHECK(t.size() == 1);
  CHECK(t.counters().filtered == 1);
  // restore() honours the allow-list too.
  VesselState other;
  other.mmsi = 211000001;
  other.last_seen_ms = kNow;
  t.restore({other});
  CHECK(t.size() == 1);
}

TEST_CASE("tracker: the bound evicts the least recently updated vessel") {
  TrackerConfig c;
  c.max_vessels = 3;
  Tracker t(c);
  t.apply(position(100000001, kNow, 50, 1), kNow);
  t.apply(position(100000002, kNow, 50, 2), kNow);
  t.apply(position(100000003, kNow, 50, 3), kNow);
  t.apply(position(100000001, kNow + 1, 50, 1.1), kNow + 1);  // 1 is fresh again; 2 is now the stalest
  t.apply(position(100000004, kNow + 2, 50, 4), kNow + 2);
  CHECK(t.size() == 3);
  CHECK_FALSE(t.latest(100000002));
  CHECK(t.latest(100000001));
  CHECK(t.latest(100000004));
  CHECK(t.counters().evicted == 1);
}

TEST_CASE("tracker: reports from the future, without position, or without content are counted") {
  Tracker t;
  CHECK(t.apply(position(244700923, kNow + 3'600'000, 52, 4), kNow) == ApplyStatus::future);
  Message no_pos = position(244700923, kNow, 52, 4);
  no_pos.position->latlon.reset();
  CHECK(t.apply(no_pos, kNow) == ApplyStatus::no_position);
  Message empty;
  empty.mmsi = 244700923;
  CHECK(t.apply(empty, kNow) == ApplyStatus::invalid);
  Message bad_mmsi = position(0, kNow, 52, 4);
  CHECK(t.apply(bad_mmsi, kNow) == ApplyStatus::invalid);
  CHECK(t.size() == 0);
  CHECK(t.counters().future == 1);
  CHECK(t.counters().no_position == 1);
  CHECK(t.counters().invalid == 2);
}

TEST_CASE("tracker: vessels() pages in MMSI order") {
  Tracker t;
  for (Mmsi m : {300000003u, 100000001u, 200000002u, 400000004u}) t.apply(position(m, kNow, 50, 1), kNow);
  const auto page1 = t.vessels(0, 2);
  REQUIRE(page1.size() == 2);
  CHECK(page1[0].mmsi == 100000001);
  CHECK(page1[1].mmsi == 200000002);
  const auto page2 = t.vessels(2, 10);
  REQUIRE(page2.size() == 2);
  CHECK(page2[1].mmsi == 400000004);
  CHECK(t.vessels(10, 10).empty());
  std::vector<Mmsi> visited;
  t.for_each([&](const VesselState& v) { visited.push_back(v.mmsi); });
  CHECK(visited == std::vector<Mmsi>{100000001, 200000002, 300000003, 400000004});
}

TEST_CASE("tracker: restore seeds state and live data wins when newer") {
  Tracker t;
  VesselState old;
  old.mmsi = 244700923;
  old.last_seen_ms = kNow - 10'000;
  old.position = PositionFix{};
  old.position->ts_ms = kNow - 10'000;
  old.position->latlon = LatLon{50, 3};
  old.static_data.name = "FROM STORE";
  t.restore({old});
  CHECK(t.latest(244700923)->static_data.name == "FROM STORE");
  t.apply(position(244700923, kNow, 52, 4), kNow);
  CHECK(t.latest(244700923)->position->latlon.lat_deg == 52);
  CHECK(t.latest(244700923)->static_data.name == "FROM STORE");
  t.restore({old});  // older than what is live: ignored
  CHECK(t.latest(244700923)->position->latlon.lat_deg == 52);
}

TEST_CASE("tracker: unsubscribe stops notifications") {
  Tracker t;
  int calls = 0;
  const auto id = t.subscribe([&](const Update&) { ++calls; });
  t.apply(position(244700923, kNow, 52, 4), kNow);
  t.unsubscribe(id);
  t.apply(position(244700923, kNow + 1, 52, 4), kNow + 1);
  CHECK(calls == 1);
}

TEST_CASE("tracker: merge_state keeps the newer fix and the newer static data, like the Store's upsert") {
  Tracker t;
  std::size_t notified = 0;
  t.subscribe([&](const Update&) { ++notified; });
  REQUIRE(t.apply(position(244700923, kNow - 2000, 52.0, 4.0), kNow) == ApplyStatus::updated);
  REQUIRE(t.apply(static_msg(244700923, kNow - 3000, "ALIDA"), kNow) == ApplyStatus::updated);
  notified = 0;

  // Newer position, older static data: the fix is taken, the name kept.
  VesselState remote;
  remote.mmsi = 244700923;
  remote.position = fix_at(kNow - 1000, 53.0, 5.0);
  remote.static_data.name = "OLD NAME";
  remote.static_data.callsign = "PD1234";
  remote.static_ts_ms = kNow - 4000;
  remote.last_seen_ms = kNow - 1000;
  CHECK(t.merge_state(remote));
  auto v = t.latest(244700923);
  REQUIRE(v);
  CHECK(v->position->latlon.lat_deg == 53.0);
  CHECK(v->static_data.name == "ALIDA");
  CHECK_FALSE(v->static_data.callsign);
  CHECK(v->static_ts_ms == kNow - 3000);
  CHECK(v->last_seen_ms == kNow - 1000);
  CHECK(v->message_count == 2);  // messages applied here; a merge is not one
  CHECK(notified == 0);

  // Older position, newer static data: static fields merge (set ones win), the fix stays.
  remote.position = fix_at(kNow - 5000, 50.0, 1.0);
  remote.static_data = StaticData{};
  remote.static_data.callsign = "PD1234";
  remote.static_ts_ms = kNow - 500;
  remote.last_seen_ms = kNow - 500;
  CHECK(t.merge_state(remote));
  v = t.latest(244700923);
  CHECK(v->position->latlon.lat_deg == 53.0);
  CHECK(v->static_data.name == "ALIDA");
  CHECK(v->static_data.callsign == "PD1234");
  CHECK(v->static_ts_ms == kNow - 500);
  CHECK(v->last_seen_ms == kNow - 500);

  // The same state again changes nothing.
  CHECK_FALSE(t.merge_state(remote));
  CHECK_FALSE(t.merge_state(*v));
}

TEST_CASE("tracker: merge_state adds new vessels within the allow-list and the bound") {
  TrackerConfig config;
  config.max_vessels = 2;
  config.mmsi_allow = {244700923, 244700924, 244700925};
  Tracker t(config);
  auto state = [](Mmsi mmsi, TimeMs ts) {
    VesselState s;
    s.mmsi = mmsi;
    s.position = fix_at(ts, 52.0, 4.0);
    s.last_seen_ms = ts;
    s.message_count = 99;
    return s;
  };
  CHECK(t.merge_state(state(244700923, kNow)));
  CHECK(t.latest(244700923)->message_count == 0);
  CHECK_FALSE(t.merge_state(state(211000000, kNow)));  // not on the allow-list
  CHECK_FALSE(t.merge_state(state(0, kNow)));          // invalid MMSI
  CHECK(t.merge_state(state(244700924, kNow)));
  CHECK(t.merge_state(state(244700925, kNow)));  // evicts the least recently updated
  CHECK(t.size() == 2);
  CHECK_FALSE(t.latest(244700923));
  CHECK(t.counters().evicted == 1);
}
