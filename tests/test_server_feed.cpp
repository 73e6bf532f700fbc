// The real aistrack-server binary against the mock aisstream.io on 127.0.0.1: every failure
// the service is known for, recovery within the configured bounds, nothing lost, no secrets out.
#include <aistrack/simulator.hpp>

#include <doctest/doctest.h>

#include "aisstream_frames.hpp"
#include "mock_aisstream.hpp"
#include "support.hpp"

#include <sqlite3.h>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <functional>
#include <thread>

using namespace aistrack;
namespace json = boost::json;

namespace {
const std::string kServer = AISTRACK_SERVER_BIN;
const std::string kKey = "AKEY-5e3c1f0b9d2a4c7e8f6a1b2c3d4e5f60";

using test::wait_for;

std::vector<std::string> frames_of(const std::vector<Message>& msgs) {
  std::vector<std::string> out;
  for (const auto& m : msgs) out.push_back(bench::to_aisstream_frame(m));
  return out;
}

std::vector<Message> simulated(std::size_t vessels, int minutes) {
  return bench::recent_simulated(vessels, minutes, 5);
}

struct Server {
  test::TempDir dir;
  int port = test::free_port();
  std::unique_ptr<test::ChildProcess> proc;

  explicit Server(const std::string& url, std::vector<std::string> extra_env = {}) {
    std::vector<std::string> env = {"HTTP_PORT=" + std::to_string(port),
                                    "DB_PATH=" + (dir / "feed.db").string(),
                                    "AISSTREAM_API_KEY=" + kKey,
                                    "AISSTREAM_URL=" + url,
                                    "ENV_FILE=",
                                    "LOG_LEVEL=debug",
                                    "STORE_BATCH_MS=200"};
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    proc = std::make_unique<test::ChildProcess>(std::vector<std::string>{kServer}, env, dir / "server.log");
    REQUIRE_MESSAGE(wait_for([&] { return test::http_request(port, "GET", "/health").status != 0; }, 20),
                    test::slurp(dir / "server.log"));
  }
  json::object health() const {
    const auto r = test::http_request(port, "GET", "/health");
    return r.status == 0 ? json::object{} : json::parse(r.body).as_object();
  }
  json::object feed() const {
    const auto h = health();
    return h.empty() ? json::object{} : h.at("source").at("feed").as_object();
  }
  std::uint64_t reconnects(const char* cause) const {
    const auto f = feed();
    return f.empty() ? 0 : f.at("reconnects").at(cause).to_number<std::uint64_t>();
  }
  int stop() {
    proc->signal(SIGTERM);
    const auto st = proc->wait(20);
    return st ? *st : -1;
  }
  std::int64_t positions() const {
    sqlite3* h = nullptr;
    sqlite3_open_v2((dir / "feed.db").c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(h, "SELECT count(*) FROM positions", -1, &s, nullptr);
    sqlite3_step(s);
    const auto n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return n;
  }
  std::string output() const { return test::slurp(dir / "server.log"); }
};

void check_no_secret(const Server& s) {
  const std::string out = s.output();
  CHECK_MESSAGE(out.find(kKey) == std::string::npos, "the API key leaked into the server output");
  CHECK(json::serialize(s.health()).find(kKey) == std::string::npos);
}
}  // namespace

TEST_CASE("server feed: streams from aisstream.io into the Store and answers the last position") {
  const auto msgs = simulated(5, 3);
  test::MockOptions mo;
  mo.api_key = kKey;
  mo.frame_interval_ms = 5;
  mo.frames = frames_of(msgs);
  test::MockAisstream mock(mo);
  Server s(mock.url());
  REQUIRE(wait_for([&] { return mock.frames_sent() == msgs.size(); }, 30));
  // The last position the mock sent for one vessel is what the API answers.
  const Message* last = nullptr;
  for (const auto& m : msgs) {
    if (m.position && m.mmsi == msgs.front().mmsi) last = &m;
  }
  REQUIRE(last != nullptr);
  REQUIRE(wait_for(
      [&] {
        const auto r = test::http_request(s.port, "GET", "/v1/ais/" + format_mmsi(last->mmsi));
        return r.status == 200 && json::parse(r.body).at("time").as_string() == format_iso8601(last->ts_ms);
      },
      10));
  const auto v = json::parse(test::http_request(s.port, "GET", "/v1/ais/" + format_mmsi(last->mmsi)).body);
  CHECK(v.at("lat").as_double() == doctest::Approx(last->position->latlon->lat_deg).epsilon(1e-9));
  CHECK(v.at("source").as_string() == "aisstream");
  const auto f = s.feed();
  CHECK(f.at("state").as_string() == "streaming");
  CHECK(s.health().at("source").at("kind").as_string() == "aisstream");
  CHECK(s.health().at("source").at("skipped_by_type").as_object().size() >= 1);  // the confirmation
  CHECK(s.stop() == 0);
  std::size_t with_position = 0;
  for (const auto& m : msgs) with_position += (m.position && m.position->latlon) ? 1 : 0;
  CHECK(s.positions() == static_cast<std::int64_t>(with_position));
  check_no_secret(s);
}

TEST_CASE("server feed: recovers from abrupt closes and keeps every converted message") {
  const auto msgs = simulated(4, 4);
  test::MockOptions mo;
  mo.api_key = kKey;
  mo.frame_interval_ms = 5;
  mo.frames = frames_of(msgs);
  test::MockAisstream mock(mo);
  mock.set_fault(test::MockFault::abrupt_close, 40);
  Server s(mock.url());
  REQUIRE(wait_for([&] { return s.reconnects("closed") >= 2; }, 20));
  const auto a = mock.attempts();
  for (std::size_t i = 1; i < a.size(); ++i) CHECK(a[i] - a[i - 1] >= std::chrono::milliseconds(950));
  // Freeze the stream so "sent" is final, let loopback deliver, then stop: the server must
  // ingest what it still holds in its queue before it exits.
  mock.set_fault(test::MockFault::silence, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(s.stop() == 0);
  // Every connection got its first 40 frames (each starts the replay over): every report sent was
  // stored, and the ones a later connection sent again are the same reports, stored once.
  std::size_t furthest = 0;
  const auto conns = mock.connections();
  REQUIRE(conns.size() >= 2);
  for (const auto& c : conns) furthest = std::max(furthest, std::min(c.frames_sent, msgs.size()));
  std::size_t sent_with_position = 0;
  for (std::size_t i = 0; i < furthest; ++i) {
    sent_with_position += (msgs[i].position && msgs[i].position->latlon) ? 1 : 0;
  }
  CHECK(s.positions() == static_cast<std::int64_t>(sent_with_position));
  check_no_secret(s);
}

TEST_CASE("server feed: a silent socket is replaced after AISSTREAM_STALL_TIMEOUT_S") {
  test::MockOptions mo;
  mo.api_key = kKey;
  mo.frames = frames_of(simulated(3, 3));
  test::MockAisstream mock(mo);
  mock.set_fault(test::MockFault::silence, 5);
  Server s(mock.url(), {"AISSTREAM_STALL_TIMEOUT_S=2", "AISSTREAM_PING_INTERVAL_S=1"});
  REQUIRE(wait_for([&] { return mock.connections().size() >= 2; }, 20));
  const auto c = mock.connections();
  CHECK(c[1].opened - c[0].opened >= std::chrono::milliseconds(2000));
  CHECK(c[1].opened - c[0].opened <=
        std::chrono::milliseconds(2000 + 3000));  // stall + at most a few s of backoff
  CHECK(s.reconnects("stalled") >= 1);
  CHECK(mock.pings() >= 1);
  CHECK(s.stop() == 0);
}

TEST_CASE("server feed: a bad key is reported and retried no faster than the maximum backoff") {
  test::MockOptions mo;
  mo.api_key = "the-right-key";
  mo.frames = frames_of(simulated(2, 1));
  test::MockAisstream mock(mo);
  Server s(mock.url(), {"AISSTREAM_BACKOFF_MAX_S=2"});
  REQUIRE(wait_for([&] { return mock.attempts().size() >= 2; }, 20));
  const auto a = mock.attempts();
  CHECK(a[1] - a[0] >= std::chrono::milliseconds(1950));
  CHECK(s.reconnects("service_error") >= 1);
  const auto f = s.feed();
  CHECK(f.at("last_error").as_string().find("Api Key Is Not Valid") != std::string::npos);
  CHECK(s.health().at("source").at("frames").at("service_error").to_number<int>() >= 1);
  CHECK(s.stop() == 0);
  CHECK(s.output().find("Api Key Is Not Valid") != std::string::npos);
  check_no_secret(s);
}

TEST_CASE("server feed: HTTP 429 on upgrade waits AISSTREAM_RATE_LIMIT_WAIT_S") {
  test::MockOptions mo;
  mo.api_key = kKey;
  mo.frames = frames_of(simulated(2, 1));
  test::MockAisstream mock(mo);
  mock.set_fault(test::MockFault::http_429);
  Server s(mock.url(), {"AISSTREAM_RATE_LIMIT_WAIT_S=2"});
  REQUIRE(wait_for([&] { return mock.attempts().size() >= 2; }, 20));
  const auto a = mock.attempts();
  CHECK(a[1] - a[0] >= std::chrono::milliseconds(1950));
  CHECK(s.reconnects("rate_limited") >= 1);
  CHECK(s.feed().at("next_retry").is_string());
  mock.set_fault(test::MockFault::none);
  REQUIRE(wait_for([&] { return s.feed().at("state").as_string() == "streaming"; }, 20));
  CHECK(s.stop() == 0);
}

TEST_CASE("server feed: an untrusted certificate is refused unless AISSTREAM_CA_FILE trusts it") {
  test::TempDir certs;
  const std::string cert = (certs / "cert.pem").string();
  const std::string key = (certs / "key.pem").string();
  test::make_self_signed_cert(cert, key);
  test::MockOptions mo;
  mo.api_key = kKey;
  mo.tls = true;
  mo.cert_file = cert;
  mo.key_file = key;
  mo.frames = frames_of(simulated(2, 1));
  test::MockAisstream mock(mo);
  {
    Server s(mock.url());
    REQUIRE(wait_for([&] { return s.reconnects("tls") >= 1; }, 20));
    CHECK(mock.connections().empty());
    CHECK(s.feed().at("last_error").as_string().find("certificate") != std::string::npos);
    CHECK(s.stop() == 0);
  }
  Server trusted(mock.url(), {"AISSTREAM_CA_FILE=" + cert});
  REQUIRE(wait_for([&] { return trusted.feed().at("state").as_string() == "streaming"; }, 20));
  CHECK(trusted.stop() == 0);
  check_no_secret(trusted);
}

TEST_CASE("server feed: frames recorded to a file replay offline") {
  const auto msgs = simulated(3, 2);
  test::MockOptions mo;
  mo.api_key = kKey;
  mo.frame_interval_ms = 0;
  mo.frames = frames_of(msgs);
  test::MockAisstream mock(mo);
  test::TempDir keep;
  const auto record = keep / "capture.jsonl";
  {
    Server s(mock.url(), {"AISSTREAM_RECORD_FILE=" + record.string()});
    REQUIRE(wait_for([&] { return mock.frames_sent() == msgs.size(); }, 20));
    REQUIRE(wait_for([&] { return test::read_lines(record).size() == msgs.size() + 1; }, 10));
    CHECK(s.stop() == 0);
  }
  // Offline: no API key, the capture as the source, as fast as possible.
  test::TempDir dir;
  const int port = test::free_port();
  test::ChildProcess replay({kServer, "--source", "replay:" + record.string(), "--replay-speed", "0"},
                            {"HTTP_PORT=" + std::to_string(port), "DB_PATH=" + (dir / "r.db").string(),
                             "ENV_FILE=", "AISSTREAM_API_KEY="},
                            dir / "replay.log");
  const Mmsi mmsi = msgs.back().mmsi;
  REQUIRE_MESSAGE(
      wait_for([&] { return test::http_request(port, "GET", "/v1/ais/" + format_mmsi(mmsi)).status == 200; },
               20),
      test::slurp(dir / "replay.log"));
  const auto h = json::parse(test::http_request(port, "GET", "/health").body);
  CHECK(h.at("source").at("kind").as_string() == "replay");
  replay.signal(SIGTERM);
  CHECK(replay.wait(20) == 0);
}

TEST_CASE("server feed: bad feed settings exit 2 naming the setting") {
  test::TempDir dir;
  test::ChildProcess bad({kServer}, {"AISSTREAM_BBOXES=120.5,4.1,130,5", "ENV_FILE="}, dir / "out.log");
  CHECK(bad.wait(20) == 2);
  CHECK(test::slurp(dir / "out.log").find("AISSTREAM_BBOXES") != std::string::npos);
  test::ChildProcess no_key({kServer, "--source", "aisstream"}, {"ENV_FILE=", "AISSTREAM_API_KEY="},
                            dir / "o2.log");
  CHECK(no_key.wait(20) == 2);
  CHECK(test::slurp(dir / "o2.log").find("AISSTREAM_API_KEY") != std::string::npos);
}

TEST_CASE("server feed: more than 50 MMSIs subscribe without the filter and filter locally") {
  const auto msgs = simulated(4, 2);
  const Mmsi wanted = msgs.front().mmsi;
  std::string list = format_mmsi(wanted);
  for (Mmsi m = 211000001; m <= 211000050; ++m) list += "," + format_mmsi(m);  // 51 in all
  test::MockOptions mo;
  mo.api_key = kKey;
  mo.frame_interval_ms = 0;
  mo.frames = frames_of(msgs);
  test::MockAisstream mock(mo);
  Server s(mock.url(), {"MMSI_LIST=" + list});
  REQUIRE(wait_for([&] { return mock.frames_sent() == msgs.size(); }, 20));
  REQUIRE(wait_for(
      [&] { return test::http_request(s.port, "GET", "/v1/ais/" + format_mmsi(wanted)).status == 200; }, 10));
  const auto sub = json::parse(mock.connections().at(0).subscription).as_object();
  CHECK_FALSE(sub.contains("FiltersShipMMSI"));
  const auto all = json::parse(test::http_request(s.port, "GET", "/v1/vessels").body);
  CHECK(all.at("total").to_number<int>() == 1);
  CHECK(s.health().at("tracker").at("filtered").to_number<int>() > 0);
  CHECK(s.stop() == 0);
  CHECK(s.output().find("filtering here") != std::string::npos);
}
