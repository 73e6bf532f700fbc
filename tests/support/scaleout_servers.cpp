#include "scaleout_servers.hpp"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

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

namespace {
// Arguments that run `args` through `prefix` (see unprivileged_prefix).
std::vector<std::string> prefixed(const std::vector<std::string>& prefix, std::vector<std::string> args) {
  std::vector<std::string> argv = prefix;
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// initdb into dir/data; empty on success, else why not.
std::string run_initdb(const fs::path& dir, const std::vector<std::string>& prefix) {
  ChildProcess initdb(prefixed(prefix, {(kPgBin / "initdb").string(), "-D", (dir / "data").string(), "-U",
                                        "aistrack", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"}),
                      {}, dir / "initdb.log");
  if (initdb.wait(120) != 0) return "initdb failed: " + slurp(dir / "initdb.log");
  return {};
}

// libpq connection string for `dbname` of the cluster on `port`.
std::string db_conninfo(int port, const char* dbname) {
  return "host=127.0.0.1 port=" + std::to_string(port) + " user=aistrack dbname=" + dbname;
}

// postgres on dir/data at `port`, answering on the admin database when it returns empty.
std::string launch_postgres(const fs::path& dir, const std::vector<std::string>& prefix, int port,
                            std::unique_ptr<ChildProcess>& proc) {
  // Durability off: these clusters live for one test; the crash tests are about our code.
  proc = std::make_unique<ChildProcess>(
      prefixed(prefix,
               {(kPgBin / "postgres").string(), "-D", (dir / "data").string(), "-p", std::to_string(port),
                "-k", dir.string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=60"}),
      std::vector<std::string>{}, dir / "postgres.log");
  const std::string admin = db_conninfo(port, "postgres") + " connect_timeout=2";
  if (!wait_for([&] { return PQping(admin.c_str()) == PQPING_OK; }, 30))
    return "postgres did not accept connections within 30 s: " + slurp(dir / "postgres.log");
  return {};
}

// The `aistrack` database with PostGIS (when installed); empty on success.
std::string create_database(int port) {
  if (auto err = run_sql(db_conninfo(port, "postgres"), "CREATE DATABASE aistrack"); !err.empty())
    return "CREATE DATABASE failed: " + err;
  static_cast<void>(run_sql(db_conninfo(port, "aistrack"), "CREATE EXTENSION IF NOT EXISTS postgis"));
  return {};
}

// Stops a cluster (fast shutdown); true when it shut down cleanly, so its data directory can be copied.
bool stop_postgres(ChildProcess& proc) {
  proc.signal(SIGINT);
  const auto status = proc.wait(20);
  if (status) return *status == 0;
  proc.signal(SIGKILL);
  proc.wait(5);
  return false;
}

// The shared template folder may be used only if it is ours: a real directory owned by this user
// (or, as root, by the user PostgreSQL runs as, see unprivileged_prefix) that nobody else can write.
// Otherwise another local user could plant a postgresql.conf that runs their code in our tests.
bool template_dir_is_ours(const fs::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  bool owner_ok = st.st_uid == ::geteuid();
  if (!owner_ok && ::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) pw = ::getpwnam("nobody");
    owner_ok = pw != nullptr && st.st_uid == pw->pw_uid;
  }
  return owner_ok && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

// A stopped cluster with the `aistrack` database and PostGIS made once per machine and user and
// copied for every test: initdb, CREATE DATABASE and CREATE EXTENSION postgis took 1.7 of the
// 2.3 s a cluster needed, paid by every test process that uses PostgreSQL (about 30 per ctest run).
// Built under an exclusive lock, so parallel test processes build it once; "ready" is written last,
// so an interrupted build is redone. Returns the data directory, or empty with `why_not`.
fs::path pg_template(std::string& why_not) {
  constexpr const char* kRecipe = "v1";  // bump when the initdb options or contents change
  const fs::path base = fs::temp_directory_path() / ("aistrack-pg15-template-" + std::string(kRecipe) + "-" +
                                                     std::to_string(::geteuid()));
  std::error_code ec;
  if (fs::create_directories(base, ec)) fs::permissions(base, fs::perms(0755), ec);
  if (!template_dir_is_ours(base)) {
    why_not = base.string() + " is not a folder only this user can write";
    return {};
  }
  if (fs::exists(base / "ready")) return base / "data";
  const int lock = ::open((base / "lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
    why_not = "cannot lock " + (base / "lock").string();
    if (lock >= 0) ::close(lock);
    return {};
  }
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }  // closing releases the flock
  } unlock{lock};
  if (fs::exists(base / "ready")) return base / "data";  // another process built it meanwhile
  for (const char* stale : {"data", "initdb.log", "postgres.log"}) fs::remove_all(base / stale, ec);
  const auto prefix = unprivileged_prefix(base, why_not);
  if (!why_not.empty()) return {};
  if (why_not = run_initdb(base, prefix); !why_not.empty()) return {};
  std::unique_ptr<ChildProcess> proc;
  const int port = free_port();
  why_not = launch_postgres(base, prefix, port, proc);
  if (why_not.empty()) why_not = create_database(port);
  if (!stop_postgres(*proc) && why_not.empty()) why_not = "the template cluster did not shut down cleanly";
  if (!why_not.empty()) return {};
  std::ofstream(base / "ready") << "initdb, CREATE DATABASE aistrack, CREATE EXTENSION postgis\n";
  return base / "data";
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
  std::string template_error;
  const fs::path tpl = pg_template(template_error);
  bool copied = false;
  if (!tpl.empty()) {
    std::error_code copy_ec, mode_ec;
    fs::copy(tpl, dir / "data", fs::copy_options::recursive, copy_ec);
    fs::permissions(dir / "data", fs::perms::owner_all, mode_ec);  // postgres insists on 0700
    copied = !copy_ec && !mode_ec;
    if (!copied) {  // half a copy (a full disk): start over with initdb
      template_error = "copy failed: " + (copy_ec ? copy_ec : mode_ec).message();
      fs::remove_all(dir / "data", copy_ec);
    }
  }
  const auto prefix = unprivileged_prefix(dir, why_not);  // chowns the copy too
  if (!why_not.empty()) return nullptr;
  if (!copied) {  // no template (say why in the log of a failure below): the slow way
    if (why_not = run_initdb(dir, prefix); !why_not.empty()) {
      why_not += template_error.empty() ? "" : " (template: " + template_error + ")";
      return nullptr;
    }
  }
  pg->port_ = free_port();
  if (why_not = launch_postgres(dir, prefix, pg->port_, pg->proc_); !why_not.empty()) return nullptr;
  if (!copied) {
    if (why_not = create_database(pg->port_); !why_not.empty()) return nullptr;
  }
  pg->postgis_ =
      run_sql(db_conninfo(pg->port_, "aistrack"), "CREATE EXTENSION IF NOT EXISTS postgis").empty();
  return pg;
}

PgServer::~PgServer() {
  if (proc_) static_cast<void>(stop_postgres(*proc_));
}

std::string PgServer::url() const {
  return "postgresql://aistrack@127.0.0.1:" + std::to_string(port_) + "/aistrack";
}

std::string PgServer::exec(const std::string& sql) const {
  return run_sql(db_conninfo(port_, "aistrack"), sql);
}

std::string PgServer::query(const std::string& sql) const {
  PGconn* c = PQconnectdb(db_conninfo(port_, "aistrack").c_str());
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
  const auto spawn = [&] {
    proc_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kRedisBin.string(), "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--dir", dir_->path().string(),
                                 "--daemonize", "no"},
        std::vector<std::string>{}, dir_->path() / "redis.log");
  };
  spawn();
  return wait_for(
      [&] {
        // An exit means it could not start, most likely because another process holds the port for
        // a moment (restart() must use the same port, and parallel tests pick free ports too): try again.
        if (proc_->wait(0).has_value()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          spawn();
          return false;
        }
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

std::string RedisServer::log() const { return slurp(dir_->path() / "redis.log"); }

}  // namespace aistrack::test
