#include "scaleout_servers.hpp"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

namespace fs = std::filesystem;

namespace aistrack::test {
namespace {
const fs::path kPgBin = "/usr/lib/postgresql/15/bin";
const fs::path kRedisBin = "/usr/bin/redis-server";

// PostgreSQL refuses to run as root: as root, run its programs through setpriv as the unprivileged
// `postgres` user (or `nobody`), which must own the folder.
std::vector<std::string> unprivileged_prefix(const fs::path& dir, std::string& why_not) {
  if (::geteuid() != 0) return {};
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) pw = ::getpwnam("nobody");
  if (pw == nullptr) {
    why_not = "running as root and there is neither a 'postgres' nor a 'nobody' user to run PostgreSQL as";
    return {};
  }
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (::chown(entry.path().c_str(), pw->pw_uid, pw->pw_gid) != 0)
      why_not = "cannot chown " + entry.path().string();
  }
  if (::chown(dir.c_str(), pw->pw_uid, pw->pw_gid) != 0) why_not = "cannot chown " + dir.string();
  return {"/usr/bin/setpriv", "--reuid=" + std::to_string(pw->pw_uid),
          "--regid=" + std::to_string(pw->pw_gid), "--clear-groups", "--"};
}

// Runs one SQL statement on a fresh connection; empty on success, else libpq's message.
std::string run_sql(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  std::string err;
  if (PQstatus(c) != CONNECTION_OK) {
    err = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
      err = PQerrorMessage(c);
    PQclear(r);
  }
  PQfinish(c);
  return err;
}
}  // namespace

std::unique_ptr<PgServer> PgServer::start(std::string& why_not) {
  if (!fs::exists(kPgBin / "initdb") || !fs::exists(kPgBin / "postgres")) {
    why_not = "PostgreSQL 15 is not installed (" + (kPgBin / "initdb").string() +
              " missing; scripts/install-deps.sh installs postgresql-15)";
    return nullptr;
  }
  std::unique_ptr<PgServer> pg(new PgServer);
  pg->dir_ = std::make_unique<TempDir>();
  const fs::path dir = pg->dir_->path();
  const auto prefix = unprivileged_prefix(dir, why_not);
  if (!why_not.empty()) return nullptr;
  const auto command = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = prefix;
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  {
    ChildProcess initdb(command({(kPgBin / "initdb").string(), "-D", (dir / "data").string(), "-U",
                                 "aistrack", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"}),
                        {}, dir / "initdb.log");
    const auto status = initdb.wait(120);
    if (status != 0) {
      why_not = "initdb failed: " + slurp(dir / "initdb.log");
      return nullptr;
    }
  }
  pg->port_ = free_port();
  // Durability off: these clusters live for one test; the crash tests are about our code.
  pg->proc_ = std::make_unique<ChildProcess>(
      command({(kPgBin / "postgres").string(), "-D", (dir / "data").string(), "-p", std::to_string(pg->port_),
               "-k", dir.string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
               "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=60"}),
      std::vector<std::string>{}, dir / "postgres.log");
  const std::string admin =
      "host=127.0.0.1 port=" + std::to_string(pg->port_) + " user=aistrack dbname=postgres connect_timeout=2";
  if (!wait_for([&] { return PQping(admin.c_str()) == PQPING_OK; }, 30)) {
    why_not = "postgres did not accept connections within 30 s: " + slurp(dir / "postgres.log");
    return nullptr;
  }
  if (auto err = run_sql(admin, "CREATE DATABASE aistrack"); !err.empty()) {
    why_not = "CREATE DATABASE failed: " + err;
    return nullptr;
  }
  const std::string db =
      "host=127.0.0.1 port=" + std::to_string(pg->port_) + " user=aistrack dbname=aistrack";
  pg->postgis_ = run_sql(db, "CREATE EXTENSION IF NOT EXISTS postgis").empty();
  return pg;
}

PgServer::~PgServer() {
  if (proc_) {
    proc_->signal(SIGINT);  // fast shutdown: roll back and exit
    if (!proc_->wait(20)) proc_->signal(SIGKILL);
  }
}

std::string PgServer::url() const {
  return "postgresql://aistrack@127.0.0.1:" + std::to_string(port_) + "/aistrack";
}

std::string PgServer::exec(const std::string& sql) const {
  return run_sql("host=127.0.0.1 port=" + std::to_string(port_) + " user=aistrack dbname=aistrack", sql);
}

std::string PgServer::query(const std::string& sql) const {
  const std::string conninfo =
      "host=127.0.0.1 port=" + std::to_string(port_) + " user=aistrack dbname=aistrack";
  PGconn* c = PQconnectdb(conninfo.c_str());
  std::string out;
  PGresult* r = PQexec(c, sql.c_str());
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) >= 1 && PQnfields(r) >= 1) {
    out = PQgetvalue(r, 0, 0);
  } else {
    out = "error: " + std::string(PQerrorMessage(c));
  }
  PQclear(r);
  PQfinish(c);
  return out;
}

std::string PgServer::fresh_schema_url(const std::string& name) const {
  if (const std::string err = exec("CREATE SCHEMA " + name); !err.empty()) return "error: " + err;
  return url() + "?options=-csearch_path%3D" + name + "%2Cpublic";
}

void PgServer::kill_hard() {
  proc_->signal(SIGKILL);
  proc_->wait(10);
}

std::unique_ptr<RedisServer> RedisServer::start(std::string& why_not) {
  if (!fs::exists(kRedisBin)) {
    why_not = "redis-server is not installed (" + kRedisBin.string() +
              " missing; scripts/install-deps.sh installs it)";
    return nullptr;
  }
  std::unique_ptr<RedisServer> r(new RedisServer);
  r->dir_ = std::make_unique<TempDir>();
  r->port_ = free_port();
  if (!r->launch()) {
    why_not = "redis-server did not answer PING within 10 s: " + slurp(r->dir_->path() / "redis.log");
    return nullptr;
  }
  return r;
}

bool RedisServer::launch() {
  proc_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{kRedisBin.string(), "--port", std::to_string(port_), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", dir_->path().string(),
                               "--daemonize", "no"},
      std::vector<std::string>{}, dir_->path() / "redis.log");
  return wait_for(
      [&] {
        const timeval timeout{1, 0};
        redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, timeout);
        bool ok = false;
        if (c != nullptr && c->err == 0) {
          auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
          ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS && std::string(reply->str) == "PONG";
          if (reply != nullptr) freeReplyObject(reply);
        }
        if (c != nullptr) redisFree(c);
        return ok;
      },
      10);
}

RedisServer::~RedisServer() = default;  // ChildProcess SIGKILLs it: nothing to keep

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

void RedisServer::stop() {
  proc_->signal(SIGKILL);
  proc_->wait(10);
}

bool RedisServer::restart() { return launch(); }

}  // namespace aistrack::test
