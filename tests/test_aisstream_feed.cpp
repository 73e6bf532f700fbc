// The aisstream.io subscription builder and the WebSocket client against the mock service
// (a real WebSocket server on 127.0.0.1, plain and TLS).
#include <aistrack/aisstream.hpp>
#include <aistrack/net/aisstream_client.hpp>
#include <aistrack/simulator.hpp>

#include <doctest/doctest.h>

#include "aisstream_frames.hpp"
#include "config.hpp"
#include "mock_aisstream.hpp"
#include "support.hpp"

#include <boost/json.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

using namespace aistrack;
namespace json = boost::json;

namespace {

std::vector<std::string> simulated_frames(std::size_t vessels, int minutes) {
  SimConfig sc;
  sc.vessels = vessels;
  sc.seed = 11;
  sc.start_ms = 1'767'225'600'000;
  Simulator sim(sc);
  std::vector<Message> batch;
  std::vector<std::string> out;
  for (TimeMs t = sc.start_ms; t <= sc.start_ms + minutes * 60'000; t += 1000) {
    batch.clear();
    sim.step(t, batch);
    for (const auto& m : batch) out.push_back(bench::to_aisstream_frame(m));
  }
  return out;
}

/// Runs a client on its own io_context thread and collects what it hands over.
struct ClientRun {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  std::mutex m;
  std::vector<std::string> frames;
  std::vector<std::string> logs;
  std::unique_ptr<net::AisstreamClient> client;
  std::thread thread;

  explicit ClientRun(net::AisstreamClientConfig cfg) {
    client = std::make_unique<net::AisstreamClient>(
        io, std::move(cfg),
        [this](std::string&& f, std::int64_t) {
          std::lock_guard lock(m);
          frames.push_back(std::move(f));
        },
        [this](net::LogSeverity, std::string_view line) {
          std::lock_guard lock(m);
          logs.emplace_back(line);
        });
    client->start();
    thread = std::thread([this] { io.run(); });
  }
  ~ClientRun() {
    client->stop();
    guard.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    io.stop();
    thread.join();
  }
  std::size_t frame_count() {
    std::lock_guard lock(m);
    return frames.size();
  }
};

using test::wait_for;

net::AisstreamClientConfig client_config(const test::MockAisstream& mock, const std::string& key) {
  net::AisstreamClientConfig c;
  c.url = mock.url();
  c.subscription.api_key = key;
  c.jitter_seed = 7;
  return c;
}

}  // namespace

TEST_CASE("aisstream: the subscription names the key, boxes latitude first, MMSIs as strings and types") {
  aisstream::Subscription sub;
  sub.api_key = "k";
  sub.boxes.push_back({50.5, -1.0, 52.0, 2.5});
  sub.mmsi = {244700923, 2320061};
  sub.message_types = {"PositionReport"};
  const auto o = json::parse(aisstream::subscription_json(sub)).as_object();
  CHECK(o.at("APIKey").as_string() == "k");
  const auto& box = o.at("BoundingBoxes").as_array().at(0).as_array();
  CHECK(box.at(0).as_array().at(0).as_double() == 50.5);
  CHECK(box.at(0).as_array().at(1).as_double() == -1.0);
  CHECK(box.at(1).as_array().at(0).as_double() == 52.0);
  const auto& ids = o.at("FiltersShipMMSI").as_array();
  REQUIRE(ids.size() == 2);
  CHECK(ids.at(1).as_string() == "002320061");
  CHECK(o.at("FilterMessageTypes").as_array().at(0).as_string() == "PositionReport");

  aisstream::Subscription world;
  world.api_key = "k";
  for (Mmsi m = 211000001; m <= 211000051; ++m) world.mmsi.push_back(m);  // 51: over the service's limit
  const auto w = json::parse(aisstream::subscription_json(world)).as_object();
  CHECK_FALSE(w.contains("FiltersShipMMSI"));
  CHECK_FALSE(w.contains("FilterMessageTypes"));
  const auto& all = w.at("BoundingBoxes").as_array().at(0).as_array();
  CHECK(all.at(0).as_array().at(0).as_double() == -90.0);
  CHECK(all.at(1).as_array().at(1).as_double() == 180.0);
}

TEST_CASE("aisstream: bounding boxes are validated before connecting") {
  std::string why;
  auto boxes = aisstream::parse_bounding_boxes("50.5,-1,52,2.5; -10,100,10,120", why);
  REQUIRE(boxes);
  REQUIRE(boxes->size() == 2);
  CHECK((*boxes)[1].lon2_deg == 120);
  CHECK(aisstream::parse_bounding_boxes("", why)->empty());
  CHECK_FALSE(aisstream::parse_bounding_boxes("95,1,96,2", why));
  CHECK(why.find("latitude") != std::string::npos);
  CHECK_FALSE(aisstream::parse_bounding_boxes("120.5,4.1,130,5",
                                              why));  // lon-first is detectable: 120.5 is no latitude
  CHECK(why.find("lon,lat") != std::string::npos);
  CHECK_FALSE(aisstream::parse_bounding_boxes("1,2,3", why));
  CHECK_FALSE(aisstream::parse_bounding_boxes("1,2,3,x", why));
  CHECK_FALSE(aisstream::parse_bounding_boxes("1,200,3,4", why));

  using server::ConfigError;
  using server::load_config;
  CHECK_THROWS_WITH_AS(load_config({}, {{"AISSTREAM_BBOXES", "120.5,4.1,130,5"}, {"ENV_FILE", ""}}),
                       doctest::Contains("AISSTREAM_BBOXES"), ConfigError);
  CHECK_THROWS_WITH_AS(
      load_config({}, {{"AISSTREAM_MESSAGE_TYPES", "PositionReport,Nope"}, {"ENV_FILE", ""}}),
      doctest::Contains("AISSTREAM_MESSAGE_TYPES"), ConfigError);
  CHECK_THROWS_WITH_AS(load_config({"--source", "kafka"}, {{"ENV_FILE", ""}}), doctest::Contains("SOURCE"),
                       ConfigError);
  const auto c = load_config({"--aisstream-bboxes", "50,-1,52,3"}, {{"ENV_FILE", ""}}).config;
  REQUIRE(c.aisstream_bboxes.size() == 1);
  CHECK(c.aisstream_bboxes[0].lat2_deg == 52);
}

TEST_CASE("aisstream client: subscribes at once, streams, and sends the filters") {
  test::MockOptions mo;
  mo.frames = simulated_frames(6, 2);
  const std::size_t total = mo.frames.size();
  test::MockAisstream mock(mo);
  auto cfg = client_config(mock, mo.api_key);
  cfg.subscription.message_types = {"PositionReport", "ShipStaticData"};
  ClientRun run(cfg);
  REQUIRE(wait_for([&] { return run.frame_count() >= 20; }, 10));
  const auto conns = mock.connections();
  REQUIRE(conns.size() == 1);
  const auto sub = json::parse(conns[0].subscription).as_object();
  CHECK(sub.at("APIKey").as_string() == mo.api_key);
  CHECK(sub.at("FilterMessageTypes").as_array().size() == 2);
  CHECK(mock.subscribe_timeouts() == 0);
  const auto st = run.client->status();
  CHECK(st.state == net::FeedState::streaming);
  CHECK(st.connects == 1);
  CHECK(st.frames >= 20);
  CHECK(st.last_frame_ms.has_value());
  CHECK(total > 20);
}

TEST_CASE("aisstream client: the mock filters by MMSI the way the service does") {
  test::MockOptions mo;
  mo.frame_interval_ms = 0;
  mo.frames = simulated_frames(6, 2);
  const auto first = json::parse(mo.frames.front()).at("MetaData").at("MMSI").to_number<std::uint64_t>();
  test::MockAisstream mock(mo);
  auto cfg = client_config(mock, mo.api_key);
  cfg.subscription.mmsi = {static_cast<Mmsi>(first)};
  ClientRun run(cfg);
  REQUIRE(wait_for([&] { return run.frame_count() >= 5; }, 10));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::lock_guard lock(run.m);
  for (const auto& f : run.frames) {
    const auto o = json::parse(f).as_object();
    if (o.at("MessageType").as_string() == "SubscriptionConfirmation") continue;
    CHECK(o.at("MetaData").at("MMSI").to_number<std::uint64_t>() == first);
  }
}

TEST_CASE("aisstream client: an abrupt close (1006) reconnects after the backoff and keeps streaming") {
  test::MockOptions mo;
  mo.frames = simulated_frames(4, 5);
  test::MockAisstream mock(mo);
  mock.set_fault(test::MockFault::abrupt_close, 10);
  auto cfg = client_config(mock, mo.api_key);
  ClientRun run(cfg);
  REQUIRE(wait_for([&] { return mock.attempts().size() >= 3; }, 15));
  const auto attempts = mock.attempts();
  for (std::size_t i = 1; i < attempts.size(); ++i) {
    // Never faster than backoff_min (1 s), the floor of the full-jitter backoff.
    CHECK(attempts[i] - attempts[i - 1] >= std::chrono::milliseconds(950));
  }
  const auto st = run.client->status();
  CHECK(st.reconnects[static_cast<std::size_t>(net::ReconnectCause::closed)] >= 2);
  mock.set_fault(test::MockFault::none);
  const auto before = run.frame_count();
  REQUIRE(wait_for([&] { return run.frame_count() >= before + 20; }, 15));
}

TEST_CASE("aisstream client: a silent socket is detected by the stall watchdog") {
  test::MockOptions mo;
  mo.frames = simulated_frames(4, 5);
  test::MockAisstream mock(mo);
  mock.set_fault(test::MockFault::silence, 5);
  auto cfg = client_config(mock, mo.api_key);
  cfg.stall_timeout_ms = 800;
  cfg.ping_interval_ms = 200;
  ClientRun run(cfg);
  REQUIRE(wait_for([&] { return mock.connections().size() >= 2; }, 10));
  const auto conns = mock.connections();
  CHECK(conns[1].opened - conns[0].opened >= std::chrono::milliseconds(800));
  CHECK(run.client->status().reconnects[static_cast<std::size_t>(net::ReconnectCause::stalled)] >= 1);
  CHECK(mock.pings() >= 1);  // WebSocket pings keep the real service from dropping us
}

TEST_CASE("aisstream client: a bad key is logged and backs off to the maximum") {
  test::MockOptions mo;
  mo.frames = simulated_frames(2, 1);
  SUBCASE("error in a text frame") { mo.binary = false; }
  SUBCASE("error in a binary frame") { mo.binary = true; }
  test::MockAisstream mock(mo);
  auto cfg = client_config(mock, "wrong-key-must-not-leak");
  cfg.backoff_max_ms = 1500;
  ClientRun run(cfg);
  REQUIRE(wait_for([&] { return mock.attempts().size() >= 2; }, 10));
  const auto a = mock.attempts();
  CHECK(a[1] - a[0] >= std::chrono::milliseconds(1450));
  const auto st = run.client->status();
  CHECK(st.service_errors >= 1);
  CHECK(st.last_error.find("Api Key Is Not Valid") != std::string::npos);
  std::lock_guard lock(run.m);
  bool logged = false;
  for (const auto& l : run.logs) {
    CHECK(l.find("wrong-key-must-not-leak") == std::string::npos);
    logged = logged || l.find("Api Key Is Not Valid") != std::string::npos;
  }
  CHECK(logged);
}

TEST_CASE("aisstream client: HTTP 429 waits at least the rate-limit time") {
  test::MockOptions mo;
  mo.frames = simulated_frames(2, 1);
  test::MockAisstream mock(mo);
  mock.set_fault(test::MockFault::http_429);
  auto cfg = client_config(mock, mo.api_key);
  cfg.rate_limited_min_ms = 2000;
  ClientRun run(cfg);
  REQUIRE(wait_for([&] { return mock.attempts().size() >= 2; }, 10));
  const auto a = mock.attempts();
  CHECK(a[1] - a[0] >= std::chrono::milliseconds(1950));
  CHECK(run.client->status().reconnects[static_cast<std::size_t>(net::ReconnectCause::rate_limited)] >= 1);
  CHECK(mock.connections().empty());
}

TEST_CASE("aisstream client: TLS needs a trusted certificate for the right host") {
  test::TempDir dir;
  const std::string cert = (dir / "cert.pem").string();
  const std::string key = (dir / "key.pem").string();
  test::make_self_signed_cert(cert, key);
  test::MockOptions mo;
  mo.tls = true;
  mo.cert_file = cert;
  mo.key_file = key;
  mo.frames = simulated_frames(2, 1);
  test::MockAisstream mock(mo);

  SUBCASE("the system store does not trust a self-signed certificate") {
    ClientRun run(client_config(mock, mo.api_key));
    REQUIRE(wait_for(
        [&] {
          return run.client->status().reconnects[static_cast<std::size_t>(net::ReconnectCause::tls)] >= 1;
        },
        10));
    CHECK(run.frame_count() == 0);
    CHECK(run.client->status().last_error.find("certificate") != std::string::npos);
    CHECK(mock.connections().empty());
  }
  SUBCASE("with its CA the client connects and streams") {
    auto cfg = client_config(mock, mo.api_key);
    cfg.ca_file = cert;
    ClientRun run(cfg);
    REQUIRE(wait_for([&] { return run.frame_count() >= 5; }, 10));
    CHECK(run.client->status().state == net::FeedState::streaming);
  }
  SUBCASE("the host name is checked: 127.0.0.1 is not DNS:localhost") {
    auto cfg = client_config(mock, mo.api_key);
    cfg.ca_file = cert;
    cfg.url = "wss://127.0.0.1:" + std::to_string(mock.port()) + "/v0/stream";
    ClientRun run(cfg);
    REQUIRE(wait_for(
        [&] {
          return run.client->status().reconnects[static_cast<std::size_t>(net::ReconnectCause::tls)] >= 1;
        },
        10));
    CHECK(run.frame_count() == 0);
  }
}

TEST_CASE("aisstream client: the real captures stream through unchanged") {
  AISTRACK_REQUIRE_SHARED_DATA(data);
  test::MockOptions mo;
  mo.frame_interval_ms = 0;
  mo.frames = test::read_lines(data / "aisstream" / "samples.jsonl");
  // The same JSON whichever frame type the service chooses.
  SUBCASE("as text frames") { mo.binary = false; }
  SUBCASE("as binary frames") { mo.binary = true; }
  test::MockAisstream mock(mo);
  ClientRun run(client_config(mock, mo.api_key));
  REQUIRE(wait_for([&] { return run.frame_count() >= 26; }, 10));  // 25 + the confirmation
  aisstream::Parser p;
  std::lock_guard lock(run.m);
  for (const auto& f : run.frames) p.parse(f, 0);
  CHECK(p.counters().ok == 12);
  CHECK(p.counters().skipped == 13);  // the 12 untracked types + SubscriptionConfirmation
  CHECK(p.counters().invalid == 1);
}

TEST_CASE("mock aisstream: a connection that never subscribes is closed like the real service does") {
  test::MockOptions mo;
  mo.subscribe_timeout_ms = 300;
  mo.frames = simulated_frames(1, 1);
  test::MockAisstream mock(mo);
  // A bare RFC 6455 upgrade over a plain socket, and then nothing.
  const auto r = test::http_request(mock.port(), "GET", "/v0/stream", {}, 5.0,
                                    {{"Upgrade", "websocket"},
                                     {"Connection", "Upgrade"},
                                     {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                     {"Sec-WebSocket-Version", "13"}});
  CHECK(r.status == 101);
  CHECK(mock.subscribe_timeouts() == 1);
  REQUIRE(mock.connections().size() == 1);
  CHECK(mock.connections()[0].subscription.empty());
}
