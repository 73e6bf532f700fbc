// GET /v1/positions/export.csv through the real aistrack-server binary on a real SQLite file: the body
// is streamed in chunks no larger than the default memory bound (EXPORT_BUFFER_KB), and every row is
// checked after parsing the CSV with Python's csv module (strict mode).
#include <aistrack/store.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace aistrack;
namespace json = boost::json;

namespace {
const std::string kServer = AISTRACK_SERVER_BIN;
constexpr std::size_t kDefaultBoundBytes = 256 * 1024;  // EXPORT_BUFFER_KB's default

struct Chunked {
  bool ok = false;  ///< well-formed, ended by the zero-size chunk
  std::string body;
  std::vector<std::size_t> chunk_sizes;
};

// A strict decoder of Transfer-Encoding: chunked (RFC 9112 §7.1), without extensions or trailers.
Chunked dechunk(std::string_view raw) {
  Chunked out;
  for (;;) {
    const auto eol = raw.find("\r\n");
    if (eol == std::string_view::npos || eol == 0) return out;
    std::size_t size = 0;
    for (const char c : raw.substr(0, eol)) {
      const int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                        : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                        : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                                    : -1;
      if (digit < 0) return out;
      size = size * 16 + static_cast<std::size_t>(digit);
    }
    raw.remove_prefix(eol + 2);
    if (size == 0) {
      out.ok = raw == "\r\n";
      return out;
    }
    if (raw.size() < size + 2 || raw.substr(size, 2) != "\r\n") return out;
    out.body.append(raw.substr(0, size));
    out.chunk_sizes.push_back(size);
    raw.remove_prefix(size + 2);
  }
}

// Parses CSV text with Python's csv module (strict: a malformed quote is an error) → rows of fields.
std::vector<std::vector<std::string>> parse_csv_with_python(const test::TempDir& dir,
                                                            const std::string& text) {
  const auto csv_path = dir / "export.csv";
  const auto json_path = dir / "export.json";
  std::ofstream(csv_path, std::ios::binary) << text;
  const std::string cmd =
      "python3 -c 'import csv, json, sys\n"
      "rows = list(csv.reader(open(sys.argv[1], newline=\"\"), strict=True))\n"
      "json.dump(rows, open(sys.argv[2], \"w\"))' '" +
      csv_path.string() + "' '" + json_path.string() + "'";
  REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "python3's csv module refused the export");
  std::vector<std::vector<std::string>> rows;
  const json::value parsed = json::parse(test::slurp(json_path));
  for (const auto& row : parsed.as_array()) {
    std::vector<std::string> fields;
    for (const auto& f : row.as_array()) fields.emplace_back(f.as_string());
    rows.push_back(std::move(fields));
  }
  return rows;
}

TimeMs wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Expected {
  Mmsi mmsi;
  PositionFix fix;
};
}  // namespace

TEST_CASE(
    "server export: more rows than the default memory bound, streamed in bounded chunks, every row "
    "parsed by a real CSV parser") {
  test::TempDir dir;
  const auto db = (dir / "export.db").string();
  // 5 vessels × 5000 fixes in the last hour, plus one old fix that since= leaves out.
  const TimeMs now = wall_ms();
  std::vector<Expected> expected;
  const std::vector<Mmsi> fleet = {211000001, 219000002, 244700923, 257000004, 2442000};
  {
    StoreConfig sc;
    sc.path = db;
    sc.batch_rows = 5000;
    Store store(sc);
    for (const Mmsi m : fleet) {
      for (int i = 0; i < 5000; ++i) {
        PositionFix f;
        f.ts_ms = now - 3'600'000 + i * 500;
        f.latlon = LatLon{54.0 + i * 1e-5, 4.0 + static_cast<double>(m % 7) * 0.1};
        if (i % 3 != 0) f.sog_kn = 12.5 + (i % 10) * 0.1;
        if (i % 4 != 0) f.cog_deg = (i % 360) + 0.5;
        if (i % 5 == 0) f.heading_deg = static_cast<std::uint16_t>(i % 360);
        if (i % 7 == 0) f.nav_status = nav_status_from_code(i % 15);  // 14 has a comma in its name
        f.ais_type = 1;
        f.source = Source::aisstream;
        store.add_position(m, f);
        expected.push_back({m, f});
      }
      PositionFix old;
      old.ts_ms = now - 3 * 86'400'000LL;
      old.latlon = LatLon{50, 1};
      old.ais_type = 1;
      store.add_position(m, old);
    }
    store.flush();
  }
  std::stable_sort(expected.begin(), expected.end(), [](const Expected& a, const Expected& b) {
    return a.mmsi != b.mmsi ? a.mmsi < b.mmsi : a.fix.ts_ms < b.fix.ts_ms;
  });

  const int port = test::free_port();
  test::ChildProcess proc(
      {kServer},
      {"HTTP_PORT=" + std::to_string(port), "DB_PATH=" + db, "SOURCE=none", "ENV_FILE=", "RETENTION_DAYS=0"},
      dir / "server.log");
  REQUIRE(test::wait_for([&] { return test::http_request(port, "GET", "/health").status != 0; }, 20));

  const auto r = test::http_request(port, "GET", "/v1/positions/export.csv?limit=1000000", {}, 30);
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type").starts_with("text/csv"));
  CHECK(r.header("transfer-encoding") == "chunked");
  CHECK(r.header("content-length").empty());
  const Chunked body = dechunk(r.body);
  REQUIRE(body.ok);
  // More than one response's memory bound of rows, sent in several parts, none above the bound.
  CHECK(body.body.size() > 4 * kDefaultBoundBytes);
  CHECK(body.chunk_sizes.size() >= 5);
  for (const std::size_t size : body.chunk_sizes) CHECK(size <= kDefaultBoundBytes);

  const auto rows = parse_csv_with_python(dir, body.body);
  REQUIRE(rows.size() == expected.size() + 1);
  CHECK(rows[0] == std::vector<std::string>{"mmsi", "time", "lat", "lon", "sog", "cog", "heading", "rot",
                                            "nav_status", "nav_status_code", "ais_type", "source"});
  std::size_t mismatches = 0;
  std::size_t quoted = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& row = rows[i + 1];
    const auto& e = expected[i];
    const auto opt = [](const auto& v) { return v ? std::to_string(*v) : std::string(); };
    const bool ok =
        row.size() == 12 && row[0] == std::to_string(e.mmsi) && row[1] == format_iso8601(e.fix.ts_ms) &&
        std::stod(row[2]) == e.fix.latlon.lat_deg && std::stod(row[3]) == e.fix.latlon.lon_deg &&
        (row[4].empty() ? !e.fix.sog_kn : e.fix.sog_kn && std::stod(row[4]) == *e.fix.sog_kn) &&
        (row[5].empty() ? !e.fix.cog_deg : e.fix.cog_deg && std::stod(row[5]) == *e.fix.cog_deg) &&
        row[6] == opt(e.fix.heading_deg) && row[7].empty() &&
        row[8] == (e.fix.nav_status ? std::string(to_string(*e.fix.nav_status)) : "") &&
        row[9] == (e.fix.nav_status ? std::to_string(static_cast<int>(*e.fix.nav_status)) : "") &&
        row[10] == "1" && row[11] == "aisstream";
    if (!ok && ++mismatches <= 3)
      MESSAGE("row " << i + 1 << " differs, mmsi " << row.at(0) << " time " << row.at(1));
    if (row.size() > 8 && row[8].find(',') != std::string::npos) ++quoted;
  }
  CHECK(mismatches == 0);
  CHECK(quoted > 0);  // "AIS-SART, MOB-AIS or EPIRB-AIS active" went through RFC 4180 quoting
  // RFC 4180 line ends: CRLF after every record (no field here holds a line break).
  std::size_t crlf = 0;
  for (std::size_t p = body.body.find("\r\n"); p != std::string::npos; p = body.body.find("\r\n", p + 2))
    ++crlf;
  CHECK(crlf == rows.size());

  // Filters: an MMSI list (leading zeros kept), since as an ISO time, a limit; errors are JSON.
  const auto some = test::http_request(
      port, "GET",
      "/v1/positions/export.csv?mmsi=002442000,244700923&since=" + format_iso8601(now - 1'800'000));
  REQUIRE(some.status == 200);
  const auto some_rows = parse_csv_with_python(dir, dechunk(some.body).body);
  std::size_t want = 0;
  for (const auto& e : expected)
    want += (e.mmsi == 2442000 || e.mmsi == 244700923) && e.fix.ts_ms >= now - 1'800'000;
  CHECK(some_rows.size() == want + 1);
  CHECK(some_rows.at(1).at(0) == "2442000");
  const auto limited = test::http_request(port, "GET", "/v1/positions/export.csv?limit=7&since=7200");
  CHECK(parse_csv_with_python(dir, dechunk(limited.body).body).size() == 8);
  const auto old =
      test::http_request(port, "GET", "/v1/positions/export.csv?since=2000-01-01T00:00:00Z&mmsi=211000001");
  CHECK(parse_csv_with_python(dir, dechunk(old.body).body).size() == 5002);  // the 3-day-old fix too
  const auto bad = test::http_request(port, "GET", "/v1/positions/export.csv?mmsi=24470092");
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body).at("error").at("code").as_string() == "invalid_mmsi");
  CHECK(test::http_request(port, "GET", "/v1/positions/export.csv?limit=0").status == 400);
  CHECK(test::http_request(port, "GET", "/v1/positions/export.csv?since=yesterday").status == 400);
  CHECK(test::http_request(port, "POST", "/v1/positions/export.csv").status == 405);
  const auto head = test::http_request(port, "HEAD", "/v1/positions/export.csv");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  // The server is still fine after all of it.
  CHECK(test::http_request(port, "GET", "/health").status == 200);
  proc.signal(SIGTERM);
  CHECK(proc.wait(20) == 0);
}

TEST_CASE("server export: a client that goes away mid-stream does not hurt the server") {
  test::TempDir dir;
  const auto db = (dir / "gone.db").string();
  {
    StoreConfig sc;
    sc.path = db;
    Store store(sc);
    const TimeMs now = wall_ms();
    for (int i = 0; i < 30'000; ++i) {
      PositionFix f;
      f.ts_ms = now - 3'000'000 + i * 100;
      f.latlon = LatLon{54, 4};
      f.ais_type = 1;
      store.add_position(244700923, f);
    }
    store.flush();
  }
  const int port = test::free_port();
  test::ChildProcess proc({kServer},
                          {"HTTP_PORT=" + std::to_string(port), "DB_PATH=" + db, "SOURCE=none",
                           "ENV_FILE=", "EXPORT_BUFFER_KB=16"},
                          dir / "server.log");
  REQUIRE(test::wait_for([&] { return test::http_request(port, "GET", "/health").status != 0; }, 20));
  for (int round = 0; round < 5; ++round) {
    // Ask for the export, read a few bytes, hang up.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    const std::string req = "GET /v1/positions/export.csv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
    char buf[512];
    CHECK(::recv(fd, buf, sizeof buf, 0) > 0);
    ::close(fd);
  }
  // Still answering, and a complete export still works.
  const auto r = test::http_request(port, "GET", "/v1/positions/export.csv", {}, 30);
  REQUIRE(r.status == 200);
  const Chunked body = dechunk(r.body);
  CHECK(body.ok);
  for (const std::size_t size : body.chunk_sizes) CHECK(size <= 16 * 1024);
  CHECK(parse_csv_with_python(dir, body.body).size() == 30'001);
  proc.signal(SIGTERM);
  CHECK(proc.wait(20) == 0);
}
