// LiveHub: subscription rules, snapshot ordering, and the slow-client policy, driven through a
// sink whose socket backlog the test controls (the WebSocket side is tested in test_server_live.cpp).
#include "live_hub.hpp"

#include <doctest/doctest.h>

#include "json_view.hpp"

#include <boost/json.hpp>

using namespace aistrack;
using namespace aistrack::server;
namespace json = boost::json;

namespace {

struct RecordingSink final : LiveSink {
  std::vector<std::string> sent;
  std::size_t backlog = 0;
  std::optional<std::pair<std::uint16_t, std::string>> closed;
  void send_text(const std::string& text) override { sent.push_back(text); }
  [[nodiscard]] std::size_t buffered_bytes() const override { return backlog; }
  void close(std::uint16_t code, const std::string& reason) override { closed = {code, reason}; }
  // Messages sent so far, parsed.
  [[nodiscard]] std::vector<json::object> parsed() const {
    std::vector<json::object> out;
    for (const auto& s : sent) out.push_back(json::parse(s).as_object());
    return out;
  }
};

VesselState vessel(Mmsi mmsi, double lat, double lon, TimeMs ts = 1'700'000'000'000) {
  VesselState v;
  v.mmsi = mmsi;
  PositionFix p;
  p.ts_ms = ts;
  p.latlon = LatLon{lat, lon};
  v.position = p;
  v.last_seen_ms = ts;
  return v;
}

struct Fixture {
  LiveLimits limits;
  std::unique_ptr<LiveHub> hub;
  std::vector<VesselState> fleet;  // what for_each_vessel shows (the Tracker's content)
  explicit Fixture(LiveLimits l = {}) : limits(l) {
    hub = std::make_unique<LiveHub>(limits,
                                    [](const VesselState& v) { return json::serialize(vessel_json(v)); });
  }
  std::pair<LiveHub::ClientId, std::shared_ptr<RecordingSink>> connect() {
    auto sink = std::make_shared<RecordingSink>();
    const auto id = hub->add(sink);
    REQUIRE(id);
    return {*id, sink};
  }
  void say(LiveHub::ClientId id, const std::string& text, std::int64_t now_ms = 0) {
    hub->on_message(
        id, text,
        [&](const std::function<void(const VesselState&)>& visit) {
          for (const auto& v : fleet) visit(v);
        },
        now_ms);
  }
  void publish(const std::vector<VesselState>& changed, std::int64_t now_ms = 0) {
    for (const auto& v : changed) {
      auto it =
          std::find_if(fleet.begin(), fleet.end(), [&](const VesselState& f) { return f.mmsi == v.mmsi; });
      if (it == fleet.end())
        fleet.push_back(v);
      else
        *it = v;
    }
    hub->publish(changed);
    hub->fan_out(now_ms);
  }
};

std::vector<std::int64_t> update_mmsis(const RecordingSink& s) {
  std::vector<std::int64_t> out;
  for (const auto& o : s.parsed())
    if (o.at("type").as_string() == "update")
      out.push_back(o.at("vessel").at("mmsi").to_number<std::int64_t>());
  return out;
}

}  // namespace

TEST_CASE("live: subscribe parsing accepts the documented forms and rejects the rest with a code") {
  const auto ok =
      parse_live_message(R"({"type":"subscribe","mmsi":[244700923,"211234560"],"bbox":[50,2,55,9]})", 10);
  REQUIRE(std::holds_alternative<LiveFilter>(ok));
  const auto& f = std::get<LiveFilter>(ok);
  CHECK(f.mmsi.size() == 2);
  CHECK(f.mmsi.contains(211234560));
  REQUIRE(f.bbox);
  CHECK(f.bbox->max_lon_deg == 9);
  CHECK(std::holds_alternative<LiveFilter>(parse_live_message(R"({"type":"subscribe"})", 10)));

  const auto code = [](std::string_view text, std::size_t max_mmsi = 10) {
    const auto r = parse_live_message(text, max_mmsi);
    REQUIRE(std::holds_alternative<LiveError>(r));
    CHECK_FALSE(std::get<LiveError>(r).message.empty());
    return std::get<LiveError>(r).code;
  };
  CHECK(code("{not json") == "invalid_json");
  CHECK(code("[1,2]") == "invalid_message");
  CHECK(code(R"({"mmsi":[1]})") == "invalid_message");
  CHECK(code(R"({"type":"unsubscribe"})") == "unknown_type");
  CHECK(code(R"({"type":"subscribe","mmsis":[244700923]})") == "unknown_field");
  CHECK(code(R"({"type":"subscribe","mmsi":244700923})") == "invalid_mmsi");
  CHECK(code(R"({"type":"subscribe","mmsi":[0]})") == "invalid_mmsi");
  CHECK(code(R"({"type":"subscribe","mmsi":[1000000000]})") == "invalid_mmsi");
  CHECK(code(R"({"type":"subscribe","mmsi":[-5]})") == "invalid_mmsi");
  CHECK(code(R"({"type":"subscribe","mmsi":["12345"]})") == "invalid_mmsi");
  CHECK(code(R"({"type":"subscribe","mmsi":[1,2,3]})", 2) == "too_many_mmsi");
  CHECK(code(R"({"type":"subscribe","bbox":[50,2,55]})") == "invalid_bbox");
  CHECK(code(R"({"type":"subscribe","bbox":[95,2,96,3]})") == "invalid_bbox");
  CHECK(code(R"({"type":"subscribe","bbox":[55,2,50,3]})") == "invalid_bbox");
  CHECK(code(R"({"type":"subscribe","bbox":[50,2,55,181]})") == "invalid_bbox");
  CHECK(code(R"({"type":"subscribe","bbox":[50,"2",55,3]})") == "invalid_bbox");

  const auto e = json::parse(live_error_json(LiveError{"too_many_mmsi", "at most 2"})).as_object();
  CHECK(e.at("type").as_string() == "error");
  CHECK(e.at("error").at("code").as_string() == "too_many_mmsi");
}

TEST_CASE("live: a box crossing the antimeridian and vessels without a position") {
  LiveFilter f;
  f.bbox = LiveFilter::Box{-10, 170, 10, -170};
  CHECK(f.matches(vessel(244700923, 0, 175)));
  CHECK(f.matches(vessel(244700923, 0, -175)));
  CHECK_FALSE(f.matches(vessel(244700923, 0, 0)));
  VesselState no_pos;
  no_pos.mmsi = 244700923;
  CHECK_FALSE(f.matches(no_pos));
  CHECK(LiveFilter{}.matches(no_pos));
}

TEST_CASE("live: snapshot of matching vessels first, then updates by MMSI and by box") {
  Fixture fx;
  fx.fleet = {vessel(211000001, 54, 8), vessel(211000002, 51, 3), vessel(211000003, 60, 20)};
  auto [by_mmsi, s1] = fx.connect();
  auto [by_box, s2] = fx.connect();
  auto [all, s3] = fx.connect();
  auto [silent, s4] = fx.connect();
  fx.say(by_mmsi, R"({"type":"subscribe","mmsi":[211000002]})");
  fx.say(by_box, R"({"type":"subscribe","bbox":[50,0,56,10]})");
  fx.say(all, R"({"type":"subscribe"})");

  REQUIRE(s1->sent.size() == 1);
  const auto snap1 = s1->parsed()[0];
  CHECK(snap1.at("type").as_string() == "snapshot");
  REQUIRE(snap1.at("vessels").as_array().size() == 1);
  CHECK(snap1.at("vessels").as_array()[0].at("mmsi").to_number<std::int64_t>() == 211000002);
  CHECK(s2->parsed()[0].at("vessels").as_array().size() == 2);
  CHECK(s3->parsed()[0].at("vessels").as_array().size() == 3);
  CHECK(s4->sent.empty());  // nothing before the first subscribe

  fx.publish({vessel(211000001, 54.1, 8.1), vessel(211000002, 51.1, 3.1), vessel(211000003, 60.1, 20.1)});
  CHECK(update_mmsis(*s1) == std::vector<std::int64_t>{211000002});
  CHECK(update_mmsis(*s2) == std::vector<std::int64_t>{211000001, 211000002});
  CHECK(update_mmsis(*s3) == std::vector<std::int64_t>{211000001, 211000002, 211000003});
  CHECK(s4->sent.empty());
  const auto upd = s1->parsed().back();
  CHECK(upd.at("vessel").at("lat").as_double() == doctest::Approx(51.1));
  CHECK(fx.hub->counters().messages_sent == 3 + 6);
}

TEST_CASE("live: a box client hears the update that takes a vessel out of its box, then nothing") {
  Fixture fx;
  fx.fleet = {vessel(211000001, 54, 8)};
  auto [id, s] = fx.connect();
  fx.say(id, R"({"type":"subscribe","bbox":[50,0,56,10]})");
  fx.publish({vessel(211000001, 55, 9)});
  fx.publish({vessel(211000001, 57, 9)});    // leaves: still told
  fx.publish({vessel(211000001, 58, 9)});    // outside: not told
  fx.publish({vessel(211000001, 55.5, 9)});  // back inside
  const auto msgs = s->parsed();
  REQUIRE(msgs.size() == 4);
  CHECK(msgs[1].at("vessel").at("lat").as_double() == 55);
  CHECK(msgs[2].at("vessel").at("lat").as_double() == 57);
  CHECK(msgs[3].at("vessel").at("lat").as_double() == 55.5);
}

TEST_CASE("live: a later subscribe replaces the filter and brings a fresh snapshot") {
  Fixture fx;
  fx.fleet = {vessel(211000001, 54, 8), vessel(211000002, 51, 3)};
  auto [id, s] = fx.connect();
  fx.say(id, R"({"type":"subscribe","mmsi":[211000001]})");
  fx.say(id, R"({"type":"subscribe","mmsi":[211000002]})");
  fx.publish({vessel(211000001, 54.2, 8), vessel(211000002, 51.2, 3)});
  const auto msgs = s->parsed();
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[1].at("type").as_string() == "snapshot");
  CHECK(msgs[1].at("vessels").as_array()[0].at("mmsi").to_number<std::int64_t>() == 211000002);
  CHECK(update_mmsis(*s) == std::vector<std::int64_t>{211000002});
}

TEST_CASE("live: a malformed message gets an error and the subscription stays as it was") {
  Fixture fx;
  fx.fleet = {vessel(211000001, 54, 8)};
  auto [id, s] = fx.connect();
  fx.say(id, R"({"type":"subscribe","mmsi":[211000001]})");
  fx.say(id, R"({"type":"subscribe","mmsi":[1,2,3)");
  REQUIRE(s->sent.size() == 2);
  const auto err = s->parsed()[1];
  CHECK(err.at("type").as_string() == "error");
  CHECK(err.at("error").at("code").as_string() == "invalid_json");
  fx.publish({vessel(211000001, 54.5, 8)});
  CHECK(update_mmsis(*s) == std::vector<std::int64_t>{211000001});
  CHECK(fx.hub->counters().client_errors == 1);
  CHECK_FALSE(s->closed);
}

TEST_CASE("live: a client behind is queued, then coalesced per vessel, and catches up in order") {
  LiveLimits limits;
  limits.send_buffer_bytes = 1000;
  limits.queue_max = 4;
  limits.slow_close_ms = 60'000;
  Fixture fx(limits);
  auto [id, s] = fx.connect();
  auto [fast_id, fast] = fx.connect();
  fx.say(id, R"({"type":"subscribe"})");
  fx.say(fast_id, R"({"type":"subscribe"})");
  s->backlog = 5000;  // its socket stops draining
  // Vessel 1 moves 5 times, vessel 2 twice: 7 updates > queue_max, so the queue coalesces.
  for (int i = 0; i < 5; ++i) fx.publish({vessel(211000001, 50 + i, 1)}, 1000 + i);
  fx.publish({vessel(211000002, 40, 1)}, 1010);
  fx.publish({vessel(211000002, 41, 1)}, 1011);
  CHECK(s->sent.size() == 1);         // only the snapshot
  CHECK(fast->sent.size() == 1 + 7);  // the other client never waits for this one
  CHECK(fx.hub->behind() == 1);
  const auto c = fx.hub->counters();
  CHECK(c.queued == 7);
  CHECK(c.coalesced >= 4);

  s->backlog = 0;
  fx.hub->flush(2000);
  CHECK(fx.hub->behind() == 0);
  const auto msgs = s->parsed();
  REQUIRE(msgs.size() == 3);  // snapshot + newest of each vessel
  CHECK(msgs[1].at("vessel").at("mmsi").to_number<std::int64_t>() == 211000001);
  CHECK(msgs[1].at("vessel").at("lat").as_double() == 54);
  CHECK(msgs[2].at("vessel").at("lat").as_double() == 41);

  // Back in step: updates go straight out again, uncoalesced.
  fx.publish({vessel(211000001, 60, 1)}, 2001);
  fx.publish({vessel(211000001, 61, 1)}, 2002);
  CHECK(s->sent.size() == 5);
  CHECK_FALSE(s->closed);
}

TEST_CASE("live: a client still behind after slow_close_ms is closed with 1008 and a reason") {
  LiveLimits limits;
  limits.send_buffer_bytes = 1000;
  limits.slow_close_ms = 5000;
  Fixture fx(limits);
  auto [id, s] = fx.connect();
  fx.say(id, R"({"type":"subscribe"})");
  s->backlog = 1'000'000;
  fx.publish({vessel(211000001, 50, 1)}, 10'000);
  fx.hub->flush(14'000);
  CHECK_FALSE(s->closed);
  fx.hub->flush(15'001);
  REQUIRE(s->closed);
  CHECK(s->closed->first == 1008);
  CHECK(s->closed->second.find("too slow") != std::string::npos);
  CHECK(fx.hub->counters().closed_slow == 1);
  CHECK(fx.hub->behind() == 0);
  // Closing: no more sends even though the connection has not gone yet.
  const auto before = s->sent.size();
  s->backlog = 0;
  fx.publish({vessel(211000001, 51, 1)}, 16'000);
  CHECK(s->sent.size() == before);
  fx.hub->remove(id);
  CHECK(fx.hub->counters().clients == 0);
}

TEST_CASE("live: max_clients refuses the next client and frees a place on remove") {
  LiveLimits limits;
  limits.max_clients = 2;
  Fixture fx(limits);
  auto [a, sa] = fx.connect();
  auto [b, sb] = fx.connect();
  CHECK_FALSE(fx.hub->has_room());
  CHECK_FALSE(fx.hub->add(std::make_shared<RecordingSink>()));
  CHECK(fx.hub->counters().refused == 1);
  fx.hub->remove(a);
  CHECK(fx.hub->has_room());
}

TEST_CASE("live: changes published before fan-out are coalesced to the newest state per vessel") {
  Fixture fx;
  auto [id, s] = fx.connect();
  fx.say(id, R"({"type":"subscribe"})");
  CHECK(fx.hub->publish({vessel(211000001, 50, 1)}));
  CHECK_FALSE(fx.hub->publish({vessel(211000001, 51, 1)}));  // already scheduled
  fx.hub->fan_out(0);
  const auto msgs = s->parsed();
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[1].at("vessel").at("lat").as_double() == 51);
  CHECK(fx.hub->counters().updates_coalesced_in == 1);
}
