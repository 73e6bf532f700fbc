// Tile sources (issue #6): HTTP against a real tile server on 127.0.0.1, memory and disk caches,
// MBTiles, folder and chain.
#include <aistrack/map_renderer.hpp>
#include <aistrack/net/http_tile_source.hpp>

#include <doctest/doctest.h>

#include "support.hpp"
#include "tile_server.hpp"

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

using namespace aistrack;
namespace fs = std::filesystem;

namespace {
constexpr TimeMs kNow = 1'700'000'000'000;
constexpr TimeMs kDayMs = 24LL * 3600 * 1000;
constexpr char kAgent[] = "aistrack-tests/1.0 (tile source tests)";

net::HttpTileSourceConfig http_config(const std::string& url, std::int64_t timeout_ms = 5000) {
  net::HttpTileSourceConfig c;
  c.url_template = url;
  c.user_agent = kAgent;
  c.timeout_ms = timeout_ms;
  return c;
}

void check_tile_color(const Tile& t, std::array<std::uint8_t, 3> rgb) {
  REQUIRE(t.status == TileStatus::ok);
  std::optional<test::Decoded> d;
  if (t.image) {
    d = test::Decoded{t.image->width_px, t.image->height_px, 4, 4, t.image->pixels};
  } else {
    d = test::decode_image(t.encoded, 4);
  }
  REQUIRE(d);
  CHECK(d->width_px == 256);
  CHECK(d->height_px == 256);
  CHECK(d->at(0, 0, 0) == rgb[0]);
  CHECK(d->at(255, 255, 1) == rgb[1]);
  CHECK(d->at(128, 128, 2) == rgb[2]);
}

/// A source that generates base tiles and counts what it is asked.
class CountingSource : public TileSource {
 public:
  std::vector<Tile> fetch(std::span<const TileId> ids, TimeMs /*now_ms*/) override {
    std::vector<Tile> out(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      ++asked;
      if (failing) continue;
      out[i].status = TileStatus::ok;
      out[i].encoded = test::base_tile_png(ids[i].z, ids[i].x, ids[i].y);
      if (expires_ms) out[i].expires_ms = *expires_ms;
    }
    return out;
  }
  std::atomic<int> asked{0};
  bool failing = false;
  std::optional<TimeMs> expires_ms;
};
}  // namespace

TEST_CASE("tiles: HttpTileSource downloads tiles and sends the User-Agent") {
  test::TileServer server;
  net::HttpTileSource source(http_config(server.url("base")));
  const std::vector<TileId> ids = {{3, 1, 2}, {3, 2, 2}, {3, 1, 3}};
  const auto tiles = source.fetch(ids, kNow);
  REQUIRE(tiles.size() == 3);
  for (std::size_t i = 0; i < ids.size(); ++i)
    check_tile_color(tiles[i], test::base_tile_color(ids[i].z, ids[i].x, ids[i].y));
  const auto log = server.log();
  REQUIRE(log.size() == 3);
  for (const auto& r : log) CHECK(r.user_agent == kAgent);
  CHECK(source.stats().ok == 3);
  CHECK(source.url_of({5, 16, 10}) ==
        "http://127.0.0.1:" + std::to_string(server.port()) + "/base/5/16/10.png");
}

TEST_CASE("tiles: the default User-Agent names aistrack and its version") {
  CHECK(net::default_tile_user_agent().starts_with("aistrack/0."));
  CHECK_THROWS_AS(net::HttpTileSource(http_config("ftp://example.org/{z}/{x}/{y}.png")), MapError);
  CHECK_THROWS_AS(net::HttpTileSource(http_config("https://example.org/{z}/{x}.png")), MapError);
  CHECK(net::is_valid_tile_url_template("https://tile.openstreetmap.org/{z}/{x}/{y}.png"));
}

TEST_CASE("tiles: the tiles of one fetch download in parallel") {
  test::TileServer::Options o;
  o.delay_ms = 400;
  test::TileServer server(o);
  auto cfg = http_config(server.url("base"));
  cfg.max_connections = 6;
  net::HttpTileSource source(cfg);
  const std::vector<TileId> ids = {{4, 1, 1}, {4, 2, 1}, {4, 3, 1}, {4, 1, 2}, {4, 2, 2}, {4, 3, 2}};
  const auto t0 = std::chrono::steady_clock::now();
  const auto tiles = source.fetch(ids, kNow);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& t : tiles) CHECK(t.status == TileStatus::ok);
  CHECK(s < 1.6);  // one after another would take 6 × 0.4 s = 2.4 s
}

TEST_CASE("tiles: a slow tile server times out and its tiles are missing") {
  test::TileServer::Options o;
  o.delay_ms = 5000;
  test::TileServer server(o);
  net::HttpTileSource source(http_config(server.url("base"), 300));
  const std::vector<TileId> ids = {{2, 0, 0}, {2, 1, 0}};
  const auto t0 = std::chrono::steady_clock::now();
  const auto tiles = source.fetch(ids, kNow);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& t : tiles) CHECK(t.status == TileStatus::missing);
  CHECK(s < 2.0);
  CHECK(source.stats().failed == 2);
}

TEST_CASE("tiles: 404 is an empty tile and 500 a missing one") {
  test::TileServer::Options o;
  o.mode = test::TileServer::Mode::not_found;
  test::TileServer server(o);
  net::HttpTileSource source(http_config(server.url("base")));
  const std::vector<TileId> ids = {{1, 0, 0}};
  CHECK(source.fetch(ids, kNow)[0].status == TileStatus::empty);
  server.set_mode(test::TileServer::Mode::error);
  CHECK(source.fetch(ids, kNow)[0].status == TileStatus::missing);
  server.set_mode(test::TileServer::Mode::ok);
  CHECK(source.fetch(ids, kNow)[0].status == TileStatus::ok);
}

TEST_CASE("tiles: a dead tile server gives missing tiles at once") {
  net::HttpTileSource source(http_config(test::dead_tile_url()));
  const std::vector<TileId> ids = {{1, 0, 0}, {1, 1, 0}};
  const auto t0 = std::chrono::steady_clock::now();
  const auto tiles = source.fetch(ids, kNow);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 2.0);
  for (const auto& t : tiles) CHECK(t.status == TileStatus::missing);
}

TEST_CASE("tiles: expiry comes from Cache-Control max-age or Expires") {
  {
    test::TileServer::Options o;
    o.max_age_s = 120;
    test::TileServer server(o);
    net::HttpTileSource source(http_config(server.url("base")));
    const std::vector<TileId> ids = {{1, 1, 1}};
    const auto t = source.fetch(ids, kNow)[0];
    REQUIRE(t.expires_ms);
    CHECK(*t.expires_ms == kNow + 120'000);
  }
  {
    test::TileServer::Options o;
    o.expires = "Wed, 21 Oct 2037 07:28:00 GMT";
    test::TileServer server(o);
    net::HttpTileSource source(http_config(server.url("base")));
    const std::vector<TileId> ids = {{1, 1, 1}};
    const auto t = source.fetch(ids, kNow)[0];
    REQUIRE(t.expires_ms);
    CHECK(*t.expires_ms == (days_from_civil(2037, 10, 21) * 86'400 + 7 * 3600 + 28 * 60) * 1000);
  }
}

TEST_CASE("tiles: MemoryTileCache answers again without asking the next source") {
  auto next = std::make_shared<CountingSource>();
  MemoryTileCache cache(next, 2);
  const std::vector<TileId> ids = {{5, 3, 4}, {5, 4, 4}};
  const auto first = cache.fetch(ids, kNow);
  CHECK(next->asked == 2);
  const auto second = cache.fetch(ids, kNow);
  CHECK(next->asked == 2);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    REQUIRE(second[i].image);
    check_tile_color(second[i], test::base_tile_color(5, ids[i].x, ids[i].y));
  }
  CHECK(cache.stats().hits == 2);
  // A third tile evicts the least recently used one.
  const std::vector<TileId> third = {{5, 5, 4}};
  cache.fetch(third, kNow);
  CHECK(cache.stats().entries == 2);
  CHECK(cache.stats().evicted == 1);
  const std::vector<TileId> again = {{5, 3, 4}};
  cache.fetch(again, kNow);
  CHECK(next->asked == 4);
}

TEST_CASE("tiles: MemoryTileCache refetches expired tiles and serves them stale when that fails") {
  auto next = std::make_shared<CountingSource>();
  next->expires_ms = kNow + 1000;
  MemoryTileCache cache(next, 8);
  const std::vector<TileId> ids = {{6, 10, 20}};
  cache.fetch(ids, kNow);
  cache.fetch(ids, kNow + 999);
  CHECK(next->asked == 1);
  next->failing = true;
  const auto t = cache.fetch(ids, kNow + 5000);
  CHECK(next->asked == 2);
  check_tile_color(t[0], test::base_tile_color(6, 10, 20));
  CHECK(cache.stats().stale == 1);
}

TEST_CASE("tiles: DiskTileCache survives a restart and keeps tiles at least 7 days") {
  test::TempDir dir;
  test::TileServer::Options o;
  o.max_age_s = 60;  // the server says one minute; the policy says at least a week
  test::TileServer server(o);
  auto http = std::make_shared<net::HttpTileSource>(http_config(server.url("base")));
  const std::vector<TileId> ids = {{7, 66, 41}, {7, 67, 41}};
  DiskTileCacheConfig dc;
  dc.dir = dir / "cache";
  {
    DiskTileCache cache(dc, http);
    const auto tiles = cache.fetch(ids, kNow);
    for (std::size_t i = 0; i < ids.size(); ++i)
      check_tile_color(tiles[i], test::base_tile_color(7, ids[i].x, ids[i].y));
    CHECK(server.requests() == 2);
    CHECK(cache.stats().entries == 2);
  }
  CHECK(fs::exists(dc.dir / "7" / "66" / "41.tile"));
  DiskTileCache reopened(dc, http);
  CHECK(reopened.stats().entries == 2);
  const auto later = reopened.fetch(ids, kNow + 6 * kDayMs);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    check_tile_color(later[i], test::base_tile_color(7, ids[i].x, ids[i].y));
    REQUIRE(later[i].expires_ms);
    CHECK(*later[i].expires_ms == kNow + 7 * kDayMs);
  }
  CHECK(server.requests() == 2);  // no request within the week
  reopened.fetch(ids, kNow + 8 * kDayMs);
  CHECK(server.requests() == 4);  // expired: asked again
}

TEST_CASE("tiles: DiskTileCache keeps a tile longer when the server says so") {
  test::TempDir dir;
  auto next = std::make_shared<CountingSource>();
  next->expires_ms = kNow + 30 * kDayMs;
  DiskTileCacheConfig dc;
  dc.dir = dir.path();
  DiskTileCache cache(dc, next);
  const std::vector<TileId> ids = {{3, 3, 3}};
  cache.fetch(ids, kNow);
  cache.fetch(ids, kNow + 20 * kDayMs);
  CHECK(next->asked == 1);
}

TEST_CASE("tiles: DiskTileCache serves an expired tile when the server is down") {
  test::TempDir dir;
  auto next = std::make_shared<CountingSource>();
  DiskTileCacheConfig dc;
  dc.dir = dir.path();
  DiskTileCache cache(dc, next);
  const std::vector<TileId> ids = {{4, 4, 4}};
  cache.fetch(ids, kNow);
  next->failing = true;
  const auto t = cache.fetch(ids, kNow + 30 * kDayMs);
  check_tile_color(t[0], test::base_tile_color(4, 4, 4));
  CHECK(cache.stats().stale == 1);
}

TEST_CASE("tiles: DiskTileCache stays under its size cap") {
  test::TempDir dir;
  auto next = std::make_shared<CountingSource>();
  const auto one_tile = test::base_tile_png(9, 0, 0).size() + 64;
  DiskTileCacheConfig dc;
  dc.dir = dir.path();
  dc.max_bytes = one_tile * 5;
  DiskTileCache cache(dc, next);
  for (int x = 0; x < 12; ++x) {
    const std::vector<TileId> ids = {{9, x, 0}};
    cache.fetch(ids, kNow + x);
  }
  std::uint64_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir.path()))
    if (e.is_regular_file()) bytes += e.file_size();
  CHECK(bytes <= dc.max_bytes);
  CHECK(cache.stats().bytes == bytes);
  CHECK(cache.stats().evicted > 0);
  // The newest tile is still there.
  const std::vector<TileId> newest = {{9, 11, 0}};
  const int asked = next->asked;
  cache.fetch(newest, kNow + 20);
  CHECK(next->asked == asked);
}

TEST_CASE("tiles: DiskTileCache remembers 404 answers") {
  test::TempDir dir;
  test::TileServer::Options o;
  o.mode = test::TileServer::Mode::not_found;
  test::TileServer server(o);
  DiskTileCacheConfig dc;
  dc.dir = dir.path();
  DiskTileCache cache(dc, std::make_shared<net::HttpTileSource>(http_config(server.url("seamark"))));
  const std::vector<TileId> ids = {{8, 1, 1}};
  CHECK(cache.fetch(ids, kNow)[0].status == TileStatus::empty);
  CHECK(cache.fetch(ids, kNow + 1000)[0].status == TileStatus::empty);
  CHECK(server.requests() == 1);
}

TEST_CASE("tiles: DiskTileCache says what to fix when its folder cannot be made") {
  test::TempDir dir;
  std::ofstream(dir / "file") << "x";
  DiskTileCacheConfig dc;
  dc.dir = dir / "file" / "cache";
  CHECK_THROWS_AS(DiskTileCache(dc, nullptr), MapError);
}

TEST_CASE("tiles: MBTilesSource reads tiles in TMS row order") {
  test::TempDir dir;
  const auto path = dir / "tiles.mbtiles";
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(
      sqlite3_exec(
          db,
          "CREATE TABLE metadata (name TEXT, value TEXT);"
          "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);",
          nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_stmt* insert = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "INSERT INTO tiles VALUES (?, ?, ?, ?)", -1, &insert, nullptr) == SQLITE_OK);
  const auto put = [&](int z, int x, int tms_row, const std::string& png) {
    sqlite3_bind_int(insert, 1, z);
    sqlite3_bind_int(insert, 2, x);
    sqlite3_bind_int(insert, 3, tms_row);
    sqlite3_bind_blob(insert, 4, png.data(), static_cast<int>(png.size()), SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(insert) == SQLITE_DONE);
    sqlite3_reset(insert);
  };
  // XYZ (2, 1, 0) is TMS row 3; XYZ (2, 1, 3) is TMS row 0.
  put(2, 1, 3, test::solid_png({200, 10, 10}));
  put(2, 1, 0, test::solid_png({10, 200, 10}));
  sqlite3_finalize(insert);
  sqlite3_close(db);

  MBTilesSource source(path);
  const std::vector<TileId> ids = {{2, 1, 0}, {2, 1, 3}, {2, 0, 0}};
  const auto tiles = source.fetch(ids, kNow);
  check_tile_color(tiles[0], {200, 10, 10});
  check_tile_color(tiles[1], {10, 200, 10});
  CHECK(tiles[2].status == TileStatus::missing);

  std::ofstream(dir / "not.mbtiles") << "not a database";
  CHECK_THROWS_AS(MBTilesSource(dir / "not.mbtiles"), MapError);
  CHECK_THROWS_AS(MBTilesSource(dir / "absent.mbtiles"), MapError);
}

TEST_CASE("tiles: FolderTileSource reads z/x/y.png") {
  test::TempDir dir;
  fs::create_directories(dir / "4" / "8");
  std::ofstream(dir / "4" / "8" / "5.png", std::ios::binary) << test::base_tile_png(4, 8, 5);
  FolderTileSource source(dir.path());
  const std::vector<TileId> ids = {{4, 8, 5}, {4, 8, 6}};
  const auto tiles = source.fetch(ids, kNow);
  check_tile_color(tiles[0], test::base_tile_color(4, 8, 5));
  CHECK(tiles[1].status == TileStatus::missing);
}

TEST_CASE("tiles: ChainTileSource asks the next source only for what is missing") {
  test::TempDir dir;
  fs::create_directories(dir / "4" / "8");
  std::ofstream(dir / "4" / "8" / "5.png", std::ios::binary) << test::solid_png({1, 2, 3});
  auto counting = std::make_shared<CountingSource>();
  ChainTileSource chain({std::make_shared<FolderTileSource>(dir.path()), nullptr, counting});
  const std::vector<TileId> ids = {{4, 8, 5}, {4, 8, 6}};
  const auto tiles = chain.fetch(ids, kNow);
  check_tile_color(tiles[0], {1, 2, 3});
  check_tile_color(tiles[1], test::base_tile_color(4, 8, 6));
  CHECK(counting->asked == 1);
}

TEST_CASE("tiles: decode_tile refuses corrupt and wrongly sized images") {
  CHECK_FALSE(decode_tile("not a png"));
  CHECK_FALSE(decode_tile(""));
  std::vector<std::uint8_t> small(16 * 16 * 3, 9);
  CHECK_FALSE(decode_tile(test::encode_png(small, 16, 16, 3)));
  const auto ok = decode_tile(test::solid_png({5, 6, 7}));
  REQUIRE(ok);
  CHECK(ok->channels == 4);
  CHECK(ok->pixels[0] == 5);
  CHECK(ok->pixels[3] == 255);
}
