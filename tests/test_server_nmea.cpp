// The real aistrack-server with NMEA inputs: UDP datagrams, a TCP feed the test serves, and a
// file, each alongside (or instead of) the main source, each message stored with source "nmea".
#include <doctest/doctest.h>

#include "support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <thread>

namespace json = boost::json;
using namespace aistrack;

namespace {
const std::string kServer = AISTRACK_SERVER_BIN;
// A class A position report of MMSI 371798000 (gpsd's documentation example).
const std::string kLine = "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A";

using test::wait_for;

void send_udp(int port, const std::string& text) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::sendto(fd, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  ::close(fd);
}

json::object vessel(int port) {
  const auto r = test::http_request(port, "GET", "/v1/ais/371798000");
  return r.status == 200 ? json::parse(r.body).as_object() : json::object{};
}
}  // namespace

TEST_CASE("server nmea: UDP datagrams alongside the simulator are decoded and stored as nmea") {
  test::TempDir dir;
  const int http = test::free_port();
  const int udp = test::free_port();
  test::ChildProcess s(
      {kServer},
      {"HTTP_PORT=" + std::to_string(http), "DB_PATH=" + (dir / "n.db").string(),
       "ENV_FILE=", "AISSTREAM_API_KEY=", "SIM_VESSELS=3", "NMEA_UDP_PORT=" + std::to_string(udp)},
      dir / "server.log");
  REQUIRE_MESSAGE(wait_for([&] { return test::http_request(http, "GET", "/health").status == 200; }, 20),
                  test::slurp(dir / "server.log"));
  REQUIRE(wait_for(
      [&] {
        send_udp(udp, "# a comment\r\n" + kLine + "\r\n");
        return !vessel(http).empty();
      },
      20));
  const auto v = vessel(http);
  CHECK(v.at("source").as_string() == "nmea");
  CHECK(v.at("lat").as_double() == doctest::Approx(48.3816333));
  CHECK(v.at("lon").as_double() == doctest::Approx(-123.3953833));
  CHECK(v.at("sog").as_double() == doctest::Approx(12.3));
  const auto h = json::parse(test::http_request(http, "GET", "/health").body);
  CHECK(h.at("source").at("kind").as_string() == "simulator");  // the simulator still runs
  CHECK(h.at("source").at("nmea").at("udp").at("lines").to_number<int>() >= 1);
  CHECK(h.at("source").at("nmea").at("decoded").to_number<int>() >= 1);
  s.signal(SIGTERM);
  CHECK(s.wait(20) == 0);
}

TEST_CASE("server nmea: a TCP feed and an NMEA file") {
  test::TempDir dir;
  // A one-shot TCP feed on loopback: accept, write a few lines, close (the client reconnects later).
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  ::listen(listener, 4);
  const int feed_port = ntohs(addr.sin_port);
  std::thread feed([&] {
    const int c = ::accept(listener, nullptr, nullptr);
    if (c < 0) return;
    const std::string text = "junk line\r\n" + kLine + "\r\n";
    ::send(c, text.data(), text.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::close(c);
  });
  const int http = test::free_port();
  test::ChildProcess s({kServer, "--source", "none", "--nmea-tcp", "127.0.0.1:" + std::to_string(feed_port)},
                       {"HTTP_PORT=" + std::to_string(http), "DB_PATH=" + (dir / "t.db").string(),
                        "ENV_FILE=", "AISSTREAM_API_KEY="},
                       dir / "server.log");
  REQUIRE_MESSAGE(wait_for([&] { return !vessel(http).empty(); }, 20), test::slurp(dir / "server.log"));
  CHECK(vessel(http).at("source").as_string() == "nmea");
  const auto h = json::parse(test::http_request(http, "GET", "/health").body);
  CHECK(h.at("source").at("nmea").at("tcp").at("connects").to_number<int>() >= 1);
  CHECK(h.at("source").at("nmea").at("junk_lines").to_number<int>() >= 1);
  s.signal(SIGTERM);
  CHECK(s.wait(20) == 0);
  feed.join();
  ::close(listener);

  // The same line from a file, with a tag-block time: the stored time is the tag block's.
  const auto file = dir / "capture.nmea";
  std::ofstream(file) << "\\c:1700000000*5F\\" << kLine << "\n";
  const int http2 = test::free_port();
  test::ChildProcess f({kServer, "--source", "nmea-file:" + file.string(), "--replay-speed", "0"},
                       {"HTTP_PORT=" + std::to_string(http2), "DB_PATH=" + (dir / "f.db").string(),
                        "ENV_FILE=", "AISSTREAM_API_KEY="},
                       dir / "file.log");
  REQUIRE_MESSAGE(wait_for([&] { return !vessel(http2).empty(); }, 20), test::slurp(dir / "file.log"));
  const auto v = vessel(http2);
  CHECK(v.at("source").as_string() == "nmea");
  CHECK(v.at("time").as_string() == "2023-11-14T22:13:20.000Z");
  f.signal(SIGTERM);
  CHECK(f.wait(20) == 0);
}

TEST_CASE("server nmea: a bad NMEA_TCP exits 2 naming the setting") {
  test::TempDir dir;
  test::ChildProcess bad({kServer}, {"NMEA_TCP=localhost", "ENV_FILE="}, dir / "out.log");
  CHECK(bad.wait(20) == 2);
  CHECK(test::slurp(dir / "out.log").find("NMEA_TCP") != std::string::npos);
}
