#include "store_targets.hpp"

#include "scaleout_skip.hpp"

#include <doctest/doctest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <memory>

namespace aistrack::test {
namespace {

std::unique_ptr<PgServer>& pg_slot() {
  static std::unique_ptr<PgServer> pg;
  return pg;
}

// The libpq connection string for a Store URL (they are the same thing).
long long pg_count(const std::string& url, const std::string& sql) {
  PGconn* c = PQconnectdb(url.c_str());
  long long out = -1;
  std::string err;
  PGresult* r = PQexec(c, sql.c_str());
  const auto st = PQresultStatus(r);
  if (st == PGRES_TUPLES_OK && PQntuples(r) >= 1) {
    out = std::atoll(PQgetvalue(r, 0, 0));
  } else if (st == PGRES_COMMAND_OK) {
    out = 0;
  } else {
    err = PQerrorMessage(c);
  }
  PQclear(r);
  PQfinish(c);
  REQUIRE_MESSAGE(err.empty(), sql << ": " << err);
  return out;
}

long long sqlite_count(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  long long out = 0;
  char* err = nullptr;
  const int rc = sqlite3_exec(
      db, sql.c_str(),
      [](void* p, int n, char** values, char**) {
        if (n > 0 && values[0] != nullptr) *static_cast<long long*>(p) = std::atoll(values[0]);
        return 0;
      },
      &out, &err);
  const std::string msg = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close_v2(db);
  REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << msg);
  return out;
}

}  // namespace

const std::vector<std::string>& store_backends() {
  static const std::vector<std::string> backends = [] {
    std::vector<std::string> out{"sqlite"};
    std::string why_not;
    pg_slot() = PgServer::start(why_not);
    if (scaleout_available(pg_slot().get(), "PostgreSQL backend: " + why_not)) out.emplace_back("postgresql");
    return out;
  }();
  return backends;
}

std::string store_backend_subcase() {
  std::string chosen;
  for (const std::string& backend : store_backends()) {
    SUBCASE(backend.c_str()) { chosen = backend; }
  }
  REQUIRE_MESSAGE(!chosen.empty(), "no Store backend subcase was entered");
  return chosen;
}

const PgServer* store_test_pg() { return pg_slot().get(); }

StoreConfig fresh_store_config(const std::string& backend, const TempDir& dir, std::size_t batch_rows,
                               TimeMs batch_ms) {
  StoreConfig c;
  c.batch_rows = batch_rows;
  c.batch_ms = batch_ms;
  if (backend == "postgresql") {
    static std::atomic<int> counter{0};
    REQUIRE(store_test_pg() != nullptr);
    c.url = store_test_pg()->fresh_schema_url("t" + std::to_string(++counter));
    REQUIRE_MESSAGE(!c.url.starts_with("error"), c.url);
  } else {
    c.path = (dir / "ais.db").string();
  }
  return c;
}

long long count_in(const StoreConfig& cfg, const std::string& sql) {
  return cfg.url.empty() ? sqlite_count(cfg.path, sql) : pg_count(cfg.url, sql);
}

void exec_in(const StoreConfig& cfg, const std::string& sql) { count_in(cfg, sql); }

}  // namespace aistrack::test
