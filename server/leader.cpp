#include "leader.hpp"

#include "log.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

namespace aistrack::server {

struct LeaderElection::Session {
  struct Close {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
  };
  std::unique_ptr<PGconn, Close> conn;

  // The first value of a one-row query, or nullopt with `error` set.
  std::optional<std::string> value(const char* sql, std::string& error) const {
    PGresult* r = PQexec(conn.get(), sql);
    std::optional<std::string> out;
    if (r != nullptr && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
      out = PQgetvalue(r, 0, 0);
    } else {
      error = r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(conn.get());
      if (error.empty()) error = PQerrorMessage(conn.get());
    }
    PQclear(r);
    return out;
  }
};

namespace {
std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}
}  // namespace

LeaderElection::LeaderElection(std::string url, std::string location, TimeMs takeover_ms,
                               std::function<void(bool)> on_change, std::function<TimeMs()> clock)
    : url_(std::move(url)),
      location_(std::move(location)),
      takeover_ms_(std::max<TimeMs>(takeover_ms, 1000)),
      on_change_(std::move(on_change)),
      clock_(std::move(clock)) {}

LeaderElection::~LeaderElection() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaderElection::start() {
  thread_ = std::thread([this] { run(); });
}

LeaderStatus LeaderElection::status() const {
  const std::lock_guard lock(mutex_);
  return status_;
}

void LeaderElection::set_role(const std::string& role, bool leader) {
  bool changed = false;
  {
    const std::lock_guard lock(mutex_);
    if (status_.role != role) {
      status_.role = role;
      status_.since_ms = clock_();
    }
    if (leader != leader_) {
      changed = true;
      leader_ = leader;
      if (leader) {
        ++status_.elected;
      } else {
        ++status_.lost;
      }
    }
  }
  if (changed) {
    log(LogLevel::info, "leader election on {}: this instance is now {}", location_, role);
    on_change_(leader);
  }
}

void LeaderElection::set_error(std::string error) {
  error = one_line(std::move(error));
  const std::lock_guard lock(mutex_);
  if (error != status_.last_error) log(LogLevel::warn, "leader election on {}: {}", location_, error);
  status_.last_error = std::move(error);
}

void LeaderElection::run() {
  // A follower polls often enough to take over within a tenth of the bound after a crash.
  const auto poll = std::chrono::milliseconds(std::clamp<TimeMs>(takeover_ms_ / 10, 100, 1000));
  const std::string idle_ms = std::to_string(takeover_ms_ / 2);
  const std::string timeout_s = std::to_string(std::max<TimeMs>(takeover_ms_ / 3000, 1));
  Session s;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, s.conn ? poll : std::chrono::milliseconds(0), [&] { return stopping_; }))
        break;
    }
    std::string error;
    if (!s.conn || PQstatus(s.conn.get()) != CONNECTION_OK) {
      // Our defaults first; the URL, expanded after them, overrides them. tcp_user_timeout and the
      // keepalives make a heartbeat to a vanished server fail within the bound instead of hanging.
      const char* keys[] = {"connect_timeout",  "application_name", "keepalives_idle", "keepalives_interval",
                            "keepalives_count", "tcp_user_timeout", "dbname",          nullptr};
      const std::string user_timeout = idle_ms;
      const char* values[] = {timeout_s.c_str(),    "aistrack-leader", "2",    "1", "3",
                              user_timeout.c_str(), url_.c_str(),      nullptr};
      s.conn.reset(PQconnectdbParams(keys, values, 1));
      if (!s.conn || PQstatus(s.conn.get()) != CONNECTION_OK) {
        set_error(s.conn ? PQerrorMessage(s.conn.get()) : "out of memory");
        s.conn.reset();
        set_role("connecting", false);
        std::unique_lock lock(mutex_);
        if (wake_.wait_for(lock, poll, [&] { return stopping_; })) break;
        continue;
      }
      // A hung leader's session goes idle (no heartbeat) and the server ends it, releasing the lock.
      // PostgreSQL before 14 lacks the setting; the keepalives still cover a vanished host there.
      const std::string set_idle = "SET idle_session_timeout = " + idle_ms;
      PQclear(PQexec(s.conn.get(), set_idle.c_str()));
      PQclear(PQexec(s.conn.get(),
                     "SET tcp_keepalives_idle = 2; SET tcp_keepalives_interval = 1; "
                     "SET tcp_keepalives_count = 3"));
    }
    bool leader = false;
    {
      const std::lock_guard lock(mutex_);
      leader = leader_;
    }
    // One lock per schema, so several fleets can share a database in separate schemas.
    const auto got =
        leader
            ? s.value("SELECT 1", error)
            : s.value("SELECT pg_try_advisory_lock(hashtext('aistrack ingest ' || current_schema()))", error);
    if (!got) {
      set_error(error);
      s.conn.reset();  // closing the session releases the lock, if it still held it
      set_role("connecting", false);
      continue;
    }
    if (!leader) set_role(*got == "t" ? "leader" : "follower", *got == "t");
  }
  if (s.conn) s.conn.reset();
  set_role("stopped", false);
}

}  // namespace aistrack::server
