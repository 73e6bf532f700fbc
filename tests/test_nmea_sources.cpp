// server/nmea_sources.hpp over real loopback sockets and real files: UDP listener, TCP client with
// reconnect/backoff/stall detection, file replay paced by tag-block times.
#include "nmea_sources.hpp"
#include "support.hpp"

#include <doctest/doctest.h>
#include <asio.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace aistrack;
using namespace aistrack::server;
using namespace std::chrono_literals;

namespace {

/// Collects lines from any thread and lets the test wait for them.
class Lines {
 public:
  NmeaLineHandler handler() {
    return [this](std::string_view line, TimeMs received_ms) {
      const std::lock_guard lock(mutex_);
      lines_.emplace_back(line);
      times_.push_back(received_ms);
      cv_.notify_all();
    };
  }
  /// Waits until at least n lines arrived (or 10 s); returns a copy.
  std::vector<std::string> wait_for(std::size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return lines_.size() >= n; });
    return lines_;
  }
  std::vector<TimeMs> times() {
    const std::lock_guard lock(mutex_);
    return times_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::vector<TimeMs> times_;
};

/// An io_context running on its own thread for the duration of a test.
class Runner {
 public:
  Runner() : guard_(asio::make_work_guard(io)), thread_([this] { io.run(); }) {}
  ~Runner() {
    guard_.reset();
    io.stop();
    thread_.join();
  }
  asio::io_context io;

 private:
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

template <class F>
bool eventually(F&& pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

void send_udp(std::uint16_t port, const std::string& datagram) {
  asio::io_context io;
  asio::ip::udp::socket s(io, asio::ip::udp::endpoint(asio::ip::udp::v4(), 0));
  s.send_to(asio::buffer(datagram), asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

/// A tiny TCP feed on 127.0.0.1: accepts connections one at a time and runs `serve` on each socket.
class Feed {
 public:
  explicit Feed(std::function<void(asio::ip::tcp::socket&)> serve, std::uint16_t port = 0)
      : acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)),
        serve_(std::move(serve)),
        thread_([this] { run(); }) {}
  ~Feed() {
    stopping_ = true;
    {  // closing the acceptor does not wake a blocked accept(); a connection does
      std::error_code ec;
      asio::ip::tcp::socket poke(io_);
      poke.connect(acceptor_.local_endpoint(), ec);
    }
    thread_.join();
    std::error_code ec;
    acceptor_.close(ec);
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void run() {
    while (!stopping_) {
      std::error_code ec;
      asio::ip::tcp::socket s(io_);
      acceptor_.accept(s, ec);
      if (ec || stopping_) return;
      serve_(s);
    }
  }
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::function<void(asio::ip::tcp::socket&)> serve_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

std::string tagged(TimeMs t_ms, const std::string& sentence) {
  const std::string body = "s:test,c:" + std::to_string(t_ms / 1000);
  char hh[4];
  unsigned x = 0;
  for (const char c : body) x ^= static_cast<unsigned char>(c);
  std::snprintf(hh, sizeof hh, "%02X", x);
  return "\\" + body + "*" + hh + "\\" + sentence;
}

const std::string kType1 = "!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C";

}  // namespace

TEST_CASE("host and port strings are parsed") {
  NmeaTcpConfig c;
  CHECK(parse_host_port("ais.example.org:5631", c));
  CHECK(c.host == "ais.example.org");
  CHECK(c.port == 5631);
  CHECK(parse_host_port("[::1]:10110", c));
  CHECK(c.host == "::1");
  CHECK(c.port == 10110);
  CHECK_FALSE(parse_host_port("ais.example.org", c));
  CHECK_FALSE(parse_host_port("host:0", c));
  CHECK_FALSE(parse_host_port("host:65536", c));
  CHECK_FALSE(parse_host_port(":5631", c));
  CHECK_FALSE(parse_host_port("::1:5631", c));
  CHECK_FALSE(parse_host_port("host:56a", c));
}

TEST_CASE("tag block time is read from a line") {
  CHECK(tag_block_time("\\s:rMT1200,t:ais-listener,c:1697012048*78\\!AIVDM,...") == 1'697'012'048'000);
  CHECK_FALSE(tag_block_time(kType1).has_value());
  CHECK_FALSE(tag_block_time("\\c:1662052384,s:FM112*00\\!AIVDM").has_value());  // bad checksum
  CHECK(tag_block_time("\\g:1-2-73874*A\\" + tagged(1'000'000'000'000, kType1)) == 1'000'000'000'000);
}

TEST_CASE("bad source settings throw an aistrack error") {
  asio::io_context io;
  Lines lines;
  NmeaTcpConfig tcp;
  CHECK_THROWS_AS(NmeaTcpClient(io, tcp, lines.handler()), Error);  // no host
  tcp.host = "localhost";
  CHECK_THROWS_AS(NmeaTcpClient(io, tcp, lines.handler()), Error);  // no port
  tcp.port = 1;
  tcp.backoff_min_ms = 10'000;
  tcp.backoff_max_ms = 1'000;
  CHECK_THROWS_AS(NmeaTcpClient(io, tcp, lines.handler()), Error);
  NmeaUdpConfig udp;
  udp.bind_address = "not-an-address";
  CHECK_THROWS_AS(NmeaUdpListener(io, udp, lines.handler()), Error);
  NmeaReplayConfig replay;
  CHECK_THROWS_AS(NmeaFileReplayer(io, replay, lines.handler()), Error);  // no path
  replay.path = "x";
  replay.speed = -1;
  CHECK_THROWS_AS(NmeaFileReplayer(io, replay, lines.handler()), Error);
}

TEST_CASE("UDP listener splits datagrams into lines") {
  Runner r;
  Lines lines;
  NmeaUdpConfig cfg;
  cfg.bind_address = "127.0.0.1";
  cfg.port = 0;
  cfg.max_line_bytes = 200;
  NmeaUdpListener udp(r.io, cfg, lines.handler());
  udp.start();
  const std::uint16_t port = udp.local_port();
  REQUIRE(port != 0);
  CHECK(udp.status().state == NmeaSourceState::listening);

  send_udp(port, kType1 + "\r\n");
  CHECK(lines.wait_for(1) == std::vector<std::string>{kType1});
  send_udp(port, "one\r\ntwo\nthree");                 // several lines; the last one has no newline
  send_udp(port, std::string(300, 'x') + "\nfour\n");  // an overlong line is dropped, the next one kept
  const auto got = lines.wait_for(5);
  CHECK(got == std::vector<std::string>{kType1, "one", "two", "three", "four"});
  CHECK(eventually([&] { return udp.status().datagrams == 3; }));
  const NmeaSourceStatus st = udp.status();
  CHECK(st.lines == 5);
  CHECK(st.overlong_lines == 1);
  REQUIRE(st.last_line_ms.has_value());
  const TimeMs now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  CHECK(std::abs(*st.last_line_ms - now) < 60'000);

  udp.stop();
  CHECK(eventually([&] { return udp.status().state == NmeaSourceState::stopped; }));
}

TEST_CASE("UDP listener reports a port in use") {
  asio::io_context io;
  asio::ip::udp::socket taken(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Lines lines;
  NmeaUdpConfig cfg;
  cfg.bind_address = "127.0.0.1";
  cfg.port = taken.local_endpoint().port();
  NmeaUdpListener udp(io, cfg, lines.handler());
  CHECK_THROWS_AS(udp.start(), Error);
}

TEST_CASE("TCP client reads lines across segments and reconnects after the feed closes") {
  Feed feed([](asio::ip::tcp::socket& s) {
    asio::write(s, asio::buffer(std::string("a\r\nb\npart")));
    std::this_thread::sleep_for(50ms);
    asio::write(s, asio::buffer(std::string("ial\n") + kType1 + "\r\n"));
    std::this_thread::sleep_for(50ms);
    // closing the socket (end of scope) makes the client reconnect
  });
  Runner r;
  Lines lines;
  NmeaTcpConfig cfg;
  cfg.host = "127.0.0.1";
  cfg.port = feed.port();
  cfg.backoff_min_ms = 20;
  cfg.backoff_max_ms = 100;
  cfg.jitter_seed = 7;
  NmeaTcpClient tcp(r.io, cfg, lines.handler());
  tcp.start();
  const auto got = lines.wait_for(8);
  REQUIRE(got.size() >= 8);
  CHECK(std::vector<std::string>(got.begin(), got.begin() + 4) ==
        std::vector<std::string>{"a", "b", "partial", kType1});
  CHECK(std::vector<std::string>(got.begin() + 4, got.begin() + 8) ==
        std::vector<std::string>{"a", "b", "partial", kType1});
  CHECK(eventually([&] { return tcp.status().connects >= 2 && tcp.status().disconnects >= 1; }));
  CHECK(tcp.status().last_error.find("closed") != std::string::npos);
  tcp.stop();
  CHECK(eventually([&] { return tcp.status().state == NmeaSourceState::stopped; }));
}

TEST_CASE("TCP client backs off while the feed is down and connects when it comes up") {
  const std::uint16_t port = static_cast<std::uint16_t>(test::free_port());
  Runner r;
  Lines lines;
  NmeaTcpConfig cfg;
  cfg.host = "127.0.0.1";
  cfg.port = port;
  cfg.backoff_min_ms = 20;
  cfg.backoff_max_ms = 80;
  NmeaTcpClient tcp(r.io, cfg, lines.handler());
  tcp.start();
  REQUIRE(eventually([&] { return tcp.status().disconnects >= 3; }));
  const NmeaSourceStatus down = tcp.status();
  CHECK(down.connects == 0);
  CHECK_FALSE(down.last_error.empty());
  if (down.state == NmeaSourceState::backing_off) CHECK(down.next_retry_ms.has_value());

  Feed feed(
      [](asio::ip::tcp::socket& s) {
        asio::write(s, asio::buffer(kType1 + "\n"));
        std::this_thread::sleep_for(300ms);
      },
      port);
  CHECK(lines.wait_for(1).front() == kType1);
  CHECK(tcp.status().connects >= 1);
  tcp.stop();
}

TEST_CASE("TCP client reconnects when the feed goes silent") {
  Feed feed([](asio::ip::tcp::socket& s) {
    asio::write(s, asio::buffer(std::string("hello\n")));
    // Open but silent until the client gives up on it.
    std::array<char, 64> buf{};
    std::error_code ec;
    while (!ec) s.read_some(asio::buffer(buf), ec);
  });
  Runner r;
  Lines lines;
  NmeaTcpConfig cfg;
  cfg.host = "127.0.0.1";
  cfg.port = feed.port();
  cfg.backoff_min_ms = 10;
  cfg.backoff_max_ms = 20;
  cfg.stall_timeout_ms = 100;
  NmeaTcpClient tcp(r.io, cfg, lines.handler());
  tcp.start();
  CHECK(lines.wait_for(2).size() == 2);
  CHECK(eventually([&] { return tcp.status().last_error.find("no data") != std::string::npos; }));
  tcp.stop();
}

TEST_CASE("file replay is paced by tag block times with a speed factor") {
  test::TempDir dir;
  const auto path = dir / "replay.nmea";
  {
    std::ofstream out(path);
    const TimeMs t0 = 1'697'012'000'000;
    out << tagged(t0, kType1) << "\r\n";
    out << "# untagged lines follow the previous one at once\n";
    out << tagged(t0 + 1000, kType1) << "\n";
    out << tagged(t0 + 2000, kType1) << "\n";
    out << tagged(t0 + 500, kType1) << "\n";        // back in time a little: no wait
    out << tagged(t0 + 3'600'000, kType1) << "\n";  // an hour-long gap: capped by max_gap_ms
    out << std::string(5000, 'y') << "\n";
  }
  Runner r;
  Lines lines;
  std::promise<NmeaSourceStatus> done;
  NmeaReplayConfig cfg;
  cfg.path = path.string();
  cfg.speed = 10;  // 2 s of data in about 0.2 s
  cfg.max_gap_ms = 100;
  NmeaFileReplayer replay(r.io, cfg, lines.handler(), [&](const NmeaSourceStatus& s) { done.set_value(s); });
  const auto t0 = std::chrono::steady_clock::now();
  replay.start();
  auto fut = done.get_future();
  REQUIRE(fut.wait_for(10s) == std::future_status::ready);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  const NmeaSourceStatus st = fut.get();
  CHECK(st.state == NmeaSourceState::finished);
  CHECK(st.lines == 6);
  CHECK(st.overlong_lines == 1);
  CHECK(elapsed >= 250ms);  // 200 ms of paced data + a capped 100 ms gap
  CHECK(elapsed < 5s);
  const auto got = lines.wait_for(6);
  REQUIRE(got.size() == 6);
  CHECK(got[0] == tagged(1'697'012'000'000, kType1));
  CHECK(got[1].front() == '#');
}

TEST_CASE("file replay as fast as possible and a missing file") {
  test::TempDir dir;
  const auto path = dir / "fast.nmea";
  {
    std::ofstream out(path);
    for (int i = 0; i < 5000; ++i) out << tagged(1'697'012'000'000 + i * 60'000LL, kType1) << "\n";
  }
  Runner r;
  Lines lines;
  std::promise<NmeaSourceStatus> done;
  NmeaReplayConfig cfg;
  cfg.path = path.string();
  cfg.speed = 0;
  cfg.batch_lines = 100;
  NmeaFileReplayer replay(r.io, cfg, lines.handler(), [&](const NmeaSourceStatus& s) { done.set_value(s); });
  replay.start();
  auto fut = done.get_future();
  REQUIRE(fut.wait_for(10s) == std::future_status::ready);
  CHECK(fut.get().lines == 5000);
  CHECK(lines.wait_for(5000).size() == 5000);

  std::promise<NmeaSourceStatus> failed;
  cfg.path = (dir / "missing.nmea").string();
  NmeaFileReplayer missing(r.io, cfg, lines.handler(),
                           [&](const NmeaSourceStatus& s) { failed.set_value(s); });
  missing.start();
  auto f2 = failed.get_future();
  REQUIRE(f2.wait_for(10s) == std::future_status::ready);
  const NmeaSourceStatus st = f2.get();
  CHECK(st.state == NmeaSourceState::failed);
  CHECK(st.last_error.find("missing.nmea") != std::string::npos);
  CHECK(to_string(st.state) == "failed");
}
