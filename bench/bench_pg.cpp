// PostgreSQL ingest (issue #9): Store::add_position + flush into PostgreSQL against a bare libpq
// COPY of the identical rows into the identical table, in the same run, on a throw-away
// PostgreSQL 15 started by the test harness (tests/support/scaleout_servers.hpp).
//
//   baseline : COPY positions (...) FROM STDIN, one transaction per batch of --batch rows, into a
//              schema whose tables, day partitions and (with PostGIS) generated geography column and
//              GiST index the Store created
//   Store    : Store with batch_rows = --batch, add_position for every row, then flush
//
// Both run with PostGIS (database `aistrack`, where the harness installed it) and without (a second
// database where a non-superuser role owns the schema, so the Store's CREATE EXTENSION is refused).
// --profile adds a per-step breakdown of the Store's SQL (COPY to the staging table, INSERT … SELECT,
// TRUNCATE, COMMIT) done by hand with libpq, and EXPLAIN ANALYZE of one batch's INSERT … SELECT.
//
// Usage: aistrack-bench-pg [--rows N] [--batch B] [--rounds R] [--vessels V] [--profile]
// Results and the command line that produced them are recorded in docs/PERFORMANCE.md.
#include "bench_support.hpp"
#include "scaleout_servers.hpp"

#include <aistrack/message.hpp>
#include <aistrack/store.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numbers>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

using namespace aistrack;
using aistrack::bench::median;
using aistrack::bench::seconds;

namespace {

struct Options {
  std::size_t rows = 1'000'000;
  std::size_t batch = 10'000;
  std::size_t vessels = 2'000;
  int rounds = 3;
  bool profile = false;
};

constexpr TimeMs kStartMs = 1'767'268'800'000;  // 2026-01-01T12:00:00Z: 1.45 days span two UTC days
constexpr double kSpanMs = 1.45 * 86'400'000.0;
constexpr std::int64_t kDayMs = 86'400'000;

using Row = std::pair<Mmsi, PositionFix>;

// ---- data -------------------------------------------------------------------------------------

// A fleet of `vessels` reporting round robin (time-major, like a live feed) so that `rows` reports span
// ~1.45 days: ~70 % under way at 5-20 kn, the rest anchored or moored; ~30 % class B (message 18, no
// navigation status or rate of turn); headings, rates of turn and now and then SOG/COG missing.
std::vector<Row> make_rows(std::size_t rows, std::size_t vessels) {
  struct Vessel {
    Mmsi mmsi;
    double lat_deg, lon_deg, sog_kn, cog_deg;
    bool class_b, moving;
    TimeMs offset_ms;
  };
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<Vessel> fleet;
  std::vector<Mmsi> used;
  for (std::size_t i = 0; i < vessels; ++i) {
    Vessel v{};
    v.mmsi = static_cast<Mmsi>(200'000'000 + (i * 287'933 + 12'345) % 575'000'000);
    v.lat_deg = -60.0 + 130.0 * u(rng);
    v.lon_deg = -180.0 + 360.0 * u(rng);
    v.moving = u(rng) < 0.7;
    v.sog_kn = v.moving ? 5.0 + 15.0 * u(rng) : 0.0;
    v.cog_deg = 360.0 * u(rng);
    v.class_b = u(rng) < 0.3;
    fleet.push_back(v);
  }
  const std::size_t per_vessel = (rows + vessels - 1) / vessels;
  const double step_ms = kSpanMs / static_cast<double>(per_vessel);
  for (Vessel& v : fleet) v.offset_ms = static_cast<TimeMs>(u(rng) * step_ms * 0.5);
  std::vector<Row> out;
  out.reserve(rows);
  std::normal_distribution<double> noise(0.0, 1.0);
  for (std::size_t k = 0; out.size() < rows; ++k) {
    for (Vessel& v : fleet) {
      if (out.size() == rows) break;
      PositionFix f;
      // jitter below step/4 keeps one vessel's report times strictly increasing
      f.ts_ms = kStartMs + static_cast<TimeMs>(static_cast<double>(k) * step_ms) + v.offset_ms +
                static_cast<TimeMs>(u(rng) * step_ms * 0.2);
      const double dt_h = step_ms / 3'600'000.0;
      if (v.moving) {
        v.cog_deg = std::fmod(v.cog_deg + noise(rng) * 2.0 + 360.0, 360.0);
        v.sog_kn = std::clamp(v.sog_kn + noise(rng) * 0.2, 3.0, 25.0);
        const double c = v.cog_deg * std::numbers::pi / 180.0;
        v.lat_deg = std::clamp(v.lat_deg + v.sog_kn * dt_h * std::cos(c) / 60.0, -80.0, 80.0);
        v.lon_deg += v.sog_kn * dt_h * std::sin(c) / 60.0 / std::cos(v.lat_deg * std::numbers::pi / 180.0);
        if (v.lon_deg > 180.0) v.lon_deg -= 360.0;
        if (v.lon_deg < -180.0) v.lon_deg += 360.0;
      }
      // Positions as AIS gives them: 1/10000 minute.
      f.latlon = LatLon{std::round(v.lat_deg * 600'000.0) / 600'000.0,
                        std::round(v.lon_deg * 600'000.0) / 600'000.0};
      if (u(rng) > 0.02) f.sog_kn = std::round((v.moving ? v.sog_kn : 0.1 * u(rng)) * 10.0) / 10.0;
      if (u(rng) > 0.03) f.cog_deg = std::round(v.cog_deg * 10.0) / 10.0;
      if (u(rng) > 0.3) f.heading_deg = static_cast<std::uint16_t>(std::lround(v.cog_deg) % 360);
      if (v.class_b) {
        f.ais_type = 18;
      } else {
        f.ais_type = static_cast<std::uint8_t>(1 + out.size() % 3);
        f.nav_status = v.moving ? NavStatus::under_way_using_engine : NavStatus::at_anchor;
        if (u(rng) > 0.5) f.rot_deg_min = std::round(noise(rng) * 5.0 * 10.0) / 10.0;
      }
      f.source = Source::aisstream;
      out.emplace_back(v.mmsi, f);
    }
  }
  return out;
}

// ---- libpq ------------------------------------------------------------------------------------

[[noreturn]] void die(const std::string& what, PGconn* c) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), c != nullptr ? PQerrorMessage(c) : "");
  std::exit(1);
}

PGconn* connect(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) die("connect " + conninfo, c);
  PQclear(PQexec(c, "SET client_min_messages = warning"));
  return c;
}

void exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) die(sql.substr(0, 200), c);
}

// Every row of the first column of `sql`.
std::vector<std::string> column(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    PQclear(r);
    die(sql.substr(0, 200), c);
  }
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r); ++i) out.emplace_back(PQgetvalue(r, i, 0));
  PQclear(r);
  return out;
}

void copy_in(PGconn* c, const std::string& sql, const std::string& data) {
  PGresult* start = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(start) == PGRES_COPY_IN;
  PQclear(start);
  if (!ok) die(sql, c);
  if (PQputCopyData(c, data.data(), static_cast<int>(data.size())) != 1 || PQputCopyEnd(c, nullptr) != 1) {
    die("COPY data", c);
  }
  bool done = true;
  for (PGresult* r = PQgetResult(c); r != nullptr; r = PQgetResult(c)) {
    done = done && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
  }
  if (!done) die("COPY end", c);
}

// ---- COPY text, as the Store writes it --------------------------------------------------------

template <class Number>
void put(std::string& out, Number v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? end : buf);
}

template <class T>
void put_opt(std::string& out, const std::optional<T>& v) {
  if (v) {
    put(out, *v);
  } else {
    out += "\\N";
  }
}

constexpr const char* kColumns =
    "mmsi, seq, ts_ms, lat_deg, lon_deg, sog_kn, cog_deg, heading_deg, nav_status, rot_deg_min, ais_type, "
    "source";

void put_row(std::string& out, const Row& row) {
  const PositionFix& f = row.second;
  put(out, row.first);
  out += "\t0\t";  // seq: every (mmsi, ts_ms) of the data is distinct
  put(out, f.ts_ms);
  out += '\t';
  put(out, f.latlon.lat_deg);
  out += '\t';
  put(out, f.latlon.lon_deg);
  out += '\t';
  put_opt(out, f.sog_kn);
  out += '\t';
  put_opt(out, f.cog_deg);
  out += '\t';
  put_opt(out, f.heading_deg);
  out += '\t';
  put_opt(out, f.nav_status ? std::optional<int>(static_cast<int>(*f.nav_status)) : std::nullopt);
  out += '\t';
  put_opt(out, f.rot_deg_min);
  out += '\t';
  put(out, static_cast<int>(f.ais_type));
  out += '\t';
  put(out, static_cast<int>(f.source));
  out += '\n';
}

// The COPY text of rows [at, at + batch), sorted by (MMSI, time) as the Store sorts each batch.
void format_batch(const std::vector<Row>& rows, std::size_t at, std::size_t batch, std::vector<Row>& sorted,
                  std::string& buf) {
  sorted.assign(rows.begin() + static_cast<std::ptrdiff_t>(at),
                rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), at + batch)));
  std::sort(sorted.begin(), sorted.end(), [](const Row& a, const Row& b) {
    return a.first != b.first ? a.first < b.first : a.second.ts_ms < b.second.ts_ms;
  });
  buf.clear();
  for (const Row& r : sorted) put_row(buf, r);
}

// ---- targets: where a fresh schema comes from -------------------------------------------------

// A database to run in: with PostGIS (the harness's `aistrack`) or without (see make_nogis).
struct Target {
  std::string label;
  std::string admin_conninfo;  // a superuser connection to the database, to make and drop schemas
  std::string base_url;        // the libpq URL of the database as the Store's user, without options
  std::string schema_owner;    // AUTHORIZATION of the schemas made ("" for the connecting superuser)
  int next = 0;
};

// A fresh schema with the Store's tables and the day partitions of the data (made by the Store: one
// throw-away row per day, deleted again), so baseline and Store write into identical tables.
std::string fresh_schema(Target& t, const std::string& tag, const Options& o) {
  const std::string name = "bench_" + tag + "_" + std::to_string(t.next++);
  PGconn* admin = connect(t.admin_conninfo);
  exec(admin, "DROP SCHEMA IF EXISTS " + name + " CASCADE");
  exec(admin, "CREATE SCHEMA " + name + (t.schema_owner.empty() ? "" : " AUTHORIZATION " + t.schema_owner));
  PQfinish(admin);
  const std::string url = t.base_url + "?options=-csearch_path%3D" + name + "%2Cpublic";
  {
    StoreConfig sc;
    sc.url = url;
    sc.batch_rows = o.batch;
    Store store(sc);
    for (TimeMs day = kStartMs / kDayMs; day <= (kStartMs + static_cast<TimeMs>(kSpanMs)) / kDayMs; ++day) {
      PositionFix f;
      f.ts_ms = day * kDayMs + 1;
      f.latlon = LatLon{0, 0};
      f.ais_type = 1;
      store.add_position(1, f);
    }
    store.flush();
  }
  PGconn* c = connect(url);
  exec(c, "DELETE FROM positions WHERE mmsi = 1");
  exec(c, "VACUUM ANALYZE positions");
  PQfinish(c);
  return url;
}

void drop_schema(const Target& t, const std::string& url) {
  const std::string name = url.substr(url.find("%3D") + 3, url.find("%2C") - url.find("%3D") - 3);
  PGconn* admin = connect(t.admin_conninfo);
  exec(admin, "DROP SCHEMA " + name + " CASCADE");
  PQfinish(admin);
}

std::size_t count_rows(const std::string& url) {
  PGconn* c = connect(url);
  const std::size_t n = std::stoul(column(c, "SELECT count(*) FROM positions").at(0));
  PQfinish(c);
  return n;
}

bool has_geog(const std::string& url) {
  PGconn* c = connect(url);
  const bool yes = column(c,
                          "SELECT count(*) FROM pg_attribute WHERE attrelid = 'positions'::regclass AND "
                          "attname = 'geog'")
                       .at(0) != "0";
  PQfinish(c);
  return yes;
}

// ---- the two measurements ---------------------------------------------------------------------

double bare_copy(const std::string& url, const std::vector<Row>& rows, std::size_t batch) {
  PGconn* c = connect(url);
  std::string buf;
  const std::string sql = std::string("COPY positions (") + kColumns + ") FROM STDIN";
  const double s = seconds([&] {
    for (std::size_t at = 0; at < rows.size(); at += batch) {
      buf.clear();
      for (std::size_t i = at; i < std::min(rows.size(), at + batch); ++i) put_row(buf, rows[i]);
      exec(c, "BEGIN");
      copy_in(c, sql, buf);
      exec(c, "COMMIT");
    }
  });
  PQfinish(c);
  return s;
}

double store_ingest(const std::string& url, const std::vector<Row>& rows, std::size_t batch) {
  StoreConfig sc;
  sc.url = url;
  sc.batch_rows = batch;
  Store store(sc);
  return seconds([&] {
    for (const auto& [mmsi, fix] : rows) store.add_position(mmsi, fix);
    store.flush();
  });
}

// The Store's statements for each batch, by hand, each step timed; EXPLAIN ANALYZE of the middle batch.
void profile(const std::string& url, const std::vector<Row>& rows, std::size_t batch) {
  PGconn* c = connect(url);
  exec(c, "CREATE TEMP TABLE position_stage (LIKE positions)");
  const std::string insert = std::string("INSERT INTO positions (") + kColumns + ") SELECT " + kColumns +
                             " FROM position_stage ORDER BY mmsi, ts_ms, seq ON CONFLICT DO NOTHING";
  double format_s = 0;
  double stage_s = 0;
  double insert_s = 0;
  double truncate_s = 0;
  double commit_s = 0;
  std::vector<std::string> plan;
  std::string buf;
  std::vector<Row> sorted;
  const std::size_t middle = (rows.size() / batch / 2) * batch;
  for (std::size_t at = 0; at < rows.size(); at += batch) {
    format_s += seconds([&] { format_batch(rows, at, batch, sorted, buf); });
    exec(c, "BEGIN");
    stage_s +=
        seconds([&] { copy_in(c, std::string("COPY position_stage (") + kColumns + ") FROM STDIN", buf); });
    insert_s += seconds([&] {
      if (at == middle) {
        plan = column(c, "EXPLAIN (ANALYZE, BUFFERS) " + insert);
      } else {
        exec(c, insert);
      }
    });
    truncate_s += seconds([&] { exec(c, "TRUNCATE position_stage"); });
    commit_s += seconds([&] { exec(c, "COMMIT"); });
  }
  PQfinish(c);
  const double total = format_s + stage_s + insert_s + truncate_s + commit_s;
  std::printf("  profile: the Store's statements by hand, %zu rows (s, share)\n", rows.size());
  for (const auto& [what, s] :
       std::vector<std::pair<const char*, double>>{{"sort + format COPY text", format_s},
                                                   {"COPY into temp stage", stage_s},
                                                   {"INSERT ... SELECT ... ON CONFLICT", insert_s},
                                                   {"TRUNCATE stage", truncate_s},
                                                   {"COMMIT", commit_s}}) {
    std::printf("    %-36s %8.2f s  %5.1f %%\n", what, s, 100.0 * s / total);
  }
  std::printf("    %-36s %8.2f s  (%.0f rows/s)\n", "total", total, static_cast<double>(rows.size()) / total);
  std::printf("  EXPLAIN (ANALYZE, BUFFERS) of the INSERT of batch %zu:\n", middle / batch);
  for (const std::string& line : plan) std::printf("    %s\n", line.c_str());
}

// Alternatives to the Store's statements, by hand, each batch sorted as the Store sorts it and in its
// own transaction: rows/s of the whole load.
enum class Variant { stage_insert_plain, copy_in_savepoint };

double variant_rate(const std::string& url, const std::vector<Row>& rows, std::size_t batch, Variant v) {
  PGconn* c = connect(url);
  exec(c, "CREATE TEMP TABLE position_stage (LIKE positions)");
  const std::string plain =
      std::string("INSERT INTO positions (") + kColumns + ") SELECT " + kColumns + " FROM position_stage";
  std::string buf;
  std::vector<Row> sorted;
  const double s = seconds([&] {
    for (std::size_t at = 0; at < rows.size(); at += batch) {
      format_batch(rows, at, batch, sorted, buf);
      exec(c, "BEGIN");
      if (v == Variant::stage_insert_plain) {
        copy_in(c, std::string("COPY position_stage (") + kColumns + ") FROM STDIN", buf);
        exec(c, plain);
        exec(c, "TRUNCATE position_stage");
      } else {
        // What the Store could do: COPY straight into positions, and only on a unique violation
        // (23505) roll back to the savepoint and take the staging path.
        exec(c, "SAVEPOINT batch");
        copy_in(c, std::string("COPY positions (") + kColumns + ") FROM STDIN", buf);
        exec(c, "RELEASE SAVEPOINT batch");
      }
      exec(c, "COMMIT");
    }
  });
  PQfinish(c);
  return static_cast<double>(rows.size()) / s;
}

struct Result {
  std::string label;
  bool geog = false;
  std::vector<double> base_rate, store_rate;
};

Result run(Target& t, const std::vector<Row>& rows, const Options& o) {
  Result res;
  res.label = t.label;
  const double n = static_cast<double>(rows.size());
  for (int r = 0; r < o.rounds; ++r) {
    // Alternate which one goes first, so a trend in the machine's load hits both alike.
    for (int k = 0; k < 2; ++k) {
      const bool baseline = (k == 0) == (r % 2 == 0);
      const std::string url = fresh_schema(t, baseline ? "copy" : "store", o);
      res.geog = has_geog(url);
      const double s = baseline ? bare_copy(url, rows, o.batch) : store_ingest(url, rows, o.batch);
      const std::size_t stored = count_rows(url);
      if (stored != rows.size()) {
        std::fprintf(stderr, "%s %s: %zu rows in positions, expected %zu\n", t.label.c_str(),
                     baseline ? "bare COPY" : "Store", stored, rows.size());
        std::exit(1);
      }
      (baseline ? res.base_rate : res.store_rate).push_back(n / s);
      std::printf("  %-12s round %d  %-10s %9.0f rows/s  (%.2f s, %zu rows counted)\n", t.label.c_str(),
                  r + 1, baseline ? "bare COPY" : "Store", n / s, s, stored);
      std::fflush(stdout);
      drop_schema(t, url);
    }
  }
  if (o.profile) {
    const std::string url = fresh_schema(t, "profile", o);
    profile(url, rows, o.batch);
    drop_schema(t, url);
    for (const auto& [v, what] :
         {std::pair{Variant::stage_insert_plain, "stage + INSERT ... SELECT without ON CONFLICT, ORDER BY"},
          std::pair{Variant::copy_in_savepoint, "COPY into positions in a SAVEPOINT (sorted)"}}) {
      const std::string vurl = fresh_schema(t, "variant", o);
      const double rate = variant_rate(vurl, rows, o.batch, v);
      if (count_rows(vurl) != rows.size()) {
        std::fprintf(stderr, "variant lost rows\n");
        std::exit(1);
      }
      std::printf("  variant: %-58s %9.0f rows/s\n", what, rate);
      drop_schema(t, vurl);
    }
  }
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--rows" && has_value) {
      o.rows = std::max<std::size_t>(1, std::stoul(argv[++i]));
    } else if (a == "--batch" && has_value) {
      o.batch = std::max<std::size_t>(1, std::stoul(argv[++i]));
    } else if (a == "--vessels" && has_value) {
      o.vessels = std::max<std::size_t>(1, std::stoul(argv[++i]));
    } else if (a == "--rounds" && has_value) {
      o.rounds = std::max(1, std::stoi(argv[++i]));
    } else if (a == "--profile") {
      o.profile = true;
    } else {
      std::fprintf(
          stderr, "usage: aistrack-bench-pg [--rows N] [--batch B] [--rounds R] [--vessels V] [--profile]\n");
      return 2;
    }
  }
  std::string why_not;
  const auto pg = test::PgServer::start(why_not);
  if (!pg) {
    std::fprintf(stderr, "aistrack-bench-pg: cannot start PostgreSQL: %s\n", why_not.c_str());
    return 2;
  }
  const std::string host = "host=127.0.0.1 port=" + std::to_string(pg->port()) + " user=aistrack";
  std::vector<Target> targets;
  if (pg->has_postgis()) {
    targets.push_back(Target{"PostGIS", host + " dbname=aistrack", pg->url(), "", 0});
  }
  // Without PostGIS: PostGIS is looked up database-wide (pg_extension) and installed if the user may, so
  // a second database and a role that is not a superuser (postgis is not a trusted extension).
  if (const std::string err = pg->exec("CREATE ROLE bench_plain LOGIN"); !err.empty()) {
    std::fprintf(stderr, "CREATE ROLE: %s\n", err.c_str());
    return 1;
  }
  if (const std::string err = pg->exec("CREATE DATABASE plain"); !err.empty()) {
    std::fprintf(stderr, "CREATE DATABASE: %s\n", err.c_str());
    return 1;
  }
  targets.push_back(Target{"no PostGIS", host + " dbname=plain",
                           "postgresql://bench_plain@127.0.0.1:" + std::to_string(pg->port()) + "/plain",
                           "bench_plain", 0});

  std::printf("PostgreSQL ingest: %zu rows, %zu vessels, batch %zu rows, %d rounds, median rows/s\n", o.rows,
              o.vessels, o.batch, o.rounds);
  const std::vector<Row> rows = make_rows(o.rows, o.vessels);
  std::printf("data: %s .. %s (ms), PostGIS %s\n\n", std::to_string(rows.front().second.ts_ms).c_str(),
              std::to_string(rows.back().second.ts_ms).c_str(),
              pg->has_postgis() ? "installed" : "not installed");

  std::vector<Result> results;
  for (Target& t : targets) results.push_back(run(t, rows, o));

  std::printf("\n%-12s %-6s %16s %16s %8s   %s\n", "database", "geog", "bare COPY rows/s", "Store rows/s",
              "ratio", "target");
  for (const Result& r : results) {
    const double base = median(r.base_rate);
    const double store = median(r.store_rate);
    std::printf("%-12s %-6s %16.0f %16.0f %8.2f   >=0.50 %s\n", r.label.c_str(), r.geog ? "yes" : "no", base,
                store, store / base, store / base >= 0.5 ? "ok" : "MISSED");
  }
  return 0;
}
