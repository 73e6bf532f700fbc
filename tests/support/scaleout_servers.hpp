// Real PostgreSQL 15 and redis-server instances for the scale-out tests (issue #9), each started in a
// temporary folder on 127.0.0.1 and stopped on destruction. Nothing is shared with a system
// installation: own data directory, own port, own socket folder.
#pragma once

#include "support.hpp"

#include <memory>
#include <optional>
#include <string>

namespace aistrack::test {

/// A throw-away PostgreSQL cluster (initdb + postgres) with a database `aistrack`, user `aistrack`,
/// trust authentication on 127.0.0.1 only. When the tests run as root (CI does), the server runs
/// as the unprivileged `postgres` (or `nobody`) user, which PostgreSQL requires.
class PgServer {
 public:
  /// Starts a cluster, or returns nullptr with `why_not` saying what is missing (for a skip message).
  static std::unique_ptr<PgServer> start(std::string& why_not);
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  /// libpq URL of the `aistrack` database, e.g. "postgresql://aistrack@127.0.0.1:5433/aistrack".
  [[nodiscard]] std::string url() const;
  [[nodiscard]] int port() const noexcept { return port_; }
  /// True when `CREATE EXTENSION postgis` worked in the `aistrack` database.
  [[nodiscard]] bool has_postgis() const noexcept { return postgis_; }
  /// Kills the server with SIGKILL (a crash, for failover tests); the destructor then only cleans up.
  void kill_hard();
  /// Runs SQL on the `aistrack` database; empty on success, else libpq's message.
  [[nodiscard]] std::string exec(const std::string& sql) const;
  /// The first column of the first row of `sql` on the `aistrack` database ("error: …" on failure).
  [[nodiscard]] std::string query(const std::string& sql) const;
  /// A libpq URL whose tables live in a new, empty schema (search_path `name`, then public for PostGIS),
  /// so each test gets a database of its own without the cost of CREATE DATABASE.
  [[nodiscard]] std::string fresh_schema_url(const std::string& name) const;

 private:
  PgServer() = default;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ChildProcess> proc_;
  int port_ = 0;
  bool postgis_ = false;
};

/// A throw-away redis-server on 127.0.0.1 without persistence.
class RedisServer {
 public:
  /// Starts one, or returns nullptr with `why_not` saying what is missing.
  static std::unique_ptr<RedisServer> start(std::string& why_not);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  /// "redis://127.0.0.1:PORT".
  [[nodiscard]] std::string url() const;
  [[nodiscard]] int port() const noexcept { return port_; }
  /// Stops it (SIGKILL), to test instances that lose Redis; restart() brings it back on the same port.
  void stop();
  /// Starts it again on the same port; false if it did not come up (log() says why).
  bool restart();
  /// What redis-server wrote (its log file), for failure messages.
  [[nodiscard]] std::string log() const;

 private:
  RedisServer() = default;
  bool launch();
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ChildProcess> proc_;
  int port_ = 0;
};

}  // namespace aistrack::test
