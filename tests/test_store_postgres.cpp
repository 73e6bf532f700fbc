// What only the PostgreSQL backend of the Store has (issue #9): URLs and their secrets, schema
// versions shared by several instances, day partitions and PostGIS, index-bound queries, and a
// connection the server drops. Everything else runs against both backends in test_store.cpp.
#include <doctest/doctest.h>

#include <aistrack/store.hpp>

#include "store_targets.hpp"
#include "support.hpp"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

namespace {

using aistrack::Mmsi;
using aistrack::PositionFix;
using aistrack::Store;
using aistrack::StoreConfig;
using aistrack::StoreError;
using aistrack::TimeMs;
using aistrack::test::count_in;
using aistrack::test::exec_in;
using aistrack::test::fresh_store_config;
using aistrack::test::store_backends;
using aistrack::test::TempDir;

// True when PostgreSQL runs here (store_backends() reports a skip, or fails in CI, otherwise).
bool have_pg() {
  const auto& b = store_backends();
  return std::find(b.begin(), b.end(), "postgresql") != b.end();
}

PositionFix fix_at(TimeMs ts_ms, double lat_deg, double lon_deg) {
  PositionFix f;
  f.ts_ms = ts_ms;
  f.latlon = {lat_deg, lon_deg};
  f.sog_kn = 10.0;
  f.ais_type = 1;
  f.source = aistrack::Source::nmea;
  return f;
}

std::string what_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const StoreError& e) {
    return e.what();
  }
  return {};
}

bool has_line(const std::vector<std::string>& plan, const std::string& part) {
  return std::any_of(plan.begin(), plan.end(),
                     [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace

TEST_CASE("store postgresql: the URL's password never appears in path() or in errors") {
  if (!have_pg()) return;
  TempDir dir;
  StoreConfig cfg = fresh_store_config("postgresql", dir);
  // Trust authentication ignores the password, so the URL still connects.
  cfg.url.replace(cfg.url.find("aistrack@"), 9, "aistrack:s3cr%3Et@");
  {
    Store store(cfg);
    CHECK(store.backend() == aistrack::StoreBackendKind::postgresql);
    CHECK(store.path().find("s3cr") == std::string::npos);
    CHECK(store.path().find("aistrack:***@127.0.0.1") != std::string::npos);
    CHECK(store.check() == "ok");
  }
  StoreConfig closed = cfg;
  const int port = aistrack::test::store_test_pg()->port();
  closed.url.replace(closed.url.find(std::to_string(port)), std::to_string(port).size(), "1");
  const std::string msg = what_of([&] { Store store(closed); });
  CHECK(msg.find("cannot connect to database 'postgresql://aistrack:***@127.0.0.1:1/") != std::string::npos);
  CHECK(msg.find("check that PostgreSQL is running") != std::string::npos);
  CHECK(msg.find("s3cr") == std::string::npos);
  StoreConfig bad = cfg;
  bad.url = "mysql://x";
  CHECK(what_of([&] { Store store(bad); }).find("postgresql://") != std::string::npos);
}

TEST_CASE("store postgresql: instances opening one new database together migrate it once") {
  if (!have_pg()) return;
  TempDir dir;
  const StoreConfig cfg = fresh_store_config("postgresql", dir);
  std::vector<std::thread> threads;
  std::vector<std::string> errors(4);
  for (std::size_t i = 0; i < errors.size(); ++i) {
    threads.emplace_back([&, i] { errors[i] = what_of([&] { Store store(cfg); }); });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) CHECK(e.empty());
  Store store(cfg);
  CHECK(store.schema_version() == 1);
  CHECK(count_in(cfg, "SELECT count(*) FROM aistrack_schema") == 1);
  CHECK(store.check() == "ok");

  exec_in(cfg, "UPDATE aistrack_schema SET version = 99");
  const std::string msg = what_of([&] { Store newer(cfg); });
  CHECK(msg.find("schema version 99 is newer") != std::string::npos);
  CHECK(msg.find("point DB_URL at another database") != std::string::npos);
  CHECK(count_in(cfg, "SELECT version FROM aistrack_schema") == 99);
}

TEST_CASE("store postgresql: day partitions, PostGIS and index-bound track and area queries") {
  if (!have_pg()) return;
  TempDir dir;
  const StoreConfig cfg = fresh_store_config("postgresql", dir, 5000);
  Store store(cfg);
  constexpr TimeMs kDay = 86'400'000;
  constexpr TimeMs kBase = 20'000 * kDay;  // 2024-10-04, a UTC midnight
  // 200 vessels over two days, 100 fixes each, spread over the North Sea.
  for (Mmsi m = 0; m < 200; ++m) {
    for (int i = 0; i < 100; ++i) {
      store.add_position(219'000'000 + m,
                         fix_at(kBase + i * 1'500'000 + m, 52.0 + m * 0.02 + i * 1e-4, 2.0 + i * 0.03));
    }
  }
  store.flush();
  CHECK(count_in(cfg, "SELECT count(*) FROM positions") == 20'000);
  CHECK(count_in(cfg, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'positions'::regclass") == 2);
  CHECK(count_in(cfg, "SELECT count(*) FROM positions_d20241004") > 0);
  CHECK(count_in(cfg, "SELECT count(*) FROM positions_d20241005") > 0);
  exec_in(cfg, "ANALYZE positions");

  const auto track_plan = store.track_query_plan();
  INFO(joined(track_plan));
  CHECK_FALSE(has_line(track_plan, "Seq Scan"));
  CHECK_FALSE(has_line(track_plan, "Sort"));
  CHECK(has_line(track_plan, "Index"));

  const auto* pg = aistrack::test::store_test_pg();
  if (pg->has_postgis()) {
    CHECK(count_in(cfg,
                   "SELECT count(*) FROM information_schema.columns WHERE table_name = 'positions' AND "
                   "column_name = 'geog' AND table_schema = current_schema()") == 1);
    const auto area_plan = store.area_query_plan();
    INFO(joined(area_plan));
    CHECK(has_line(area_plan, "geog"));
    CHECK(has_line(area_plan, "Index"));
    CHECK_FALSE(has_line(area_plan, "Seq Scan"));
  } else {
    MESSAGE("PostGIS is not installed: the plain-column area query was tested in test_store.cpp");
  }
  // The area query agrees with a plain scan of the same rows.
  const aistrack::GeoBox box{53.0, 3.0, 54.0, 4.0};
  const auto rows = store.area_positions(box, kBase, kBase + 2 * kDay, 100'000);
  CHECK(
      static_cast<long long>(rows.size()) ==
      count_in(cfg,
               "SELECT count(*) FROM positions WHERE lat_deg BETWEEN 53 AND 54 AND lon_deg BETWEEN 3 AND 4"));
  CHECK(!rows.empty());

  // Retention drops the first day's partition whole.
  CHECK(store.purge_step(kBase + kDay, 1000) > 0);
  CHECK(count_in(cfg, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'positions'::regclass") == 1);
  CHECK(count_in(cfg, "SELECT count(*) FROM positions WHERE ts_ms < " + std::to_string(kBase + kDay)) == 0);
}

TEST_CASE("store postgresql: a connection the server drops fails one commit, keeps the rows and reconnects") {
  if (!have_pg()) return;
  TempDir dir;
  const StoreConfig cfg = fresh_store_config("postgresql", dir, 1000);
  Store store(cfg);
  store.add_position(1, fix_at(1000, 59, 10));
  store.flush();
  const auto drop_connections = [&] {
    // The server ends every aistrack session (as a restart or a fail-over of the database would).
    exec_in(cfg,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
            "'aistrack' AND pid <> pg_backend_pid()");
  };
  drop_connections();
  store.add_position(1, fix_at(2000, 59, 10));
  const std::string msg = what_of([&] { store.flush(); });
  CHECK(msg.find("cannot write to database") != std::string::npos);
  CHECK(store.stats().pending_rows == 1);
  CHECK(store.stats().commit_failures == 1);
  store.flush();  // a new connection
  CHECK(store.stats().pending_rows == 0);
  // Reads reconnect without failing the caller.
  drop_connections();
  CHECK(store.track(1, 0, 10'000, 10).size() == 2);
  CHECK(store.vessels().empty());
}
