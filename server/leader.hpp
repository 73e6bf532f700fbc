// Leader election for several servers on one PostgreSQL database (issue #9): aisstream.io allows only
// one to three connections per key, so exactly one instance ingests; the others serve the API from
// the shared database. The leader is whoever holds a session-level advisory lock.
#pragma once

#include <aistrack/types.hpp>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace aistrack::server {

/// Where this instance stands.
struct LeaderStatus {
  std::string role = "connecting";  ///< "leader", "follower" or "connecting" (no database session)
  std::optional<TimeMs> since_ms;   ///< when it took that role, ms UTC
  std::uint64_t elected = 0;        ///< times this instance became the leader
  std::uint64_t lost = 0;           ///< times it stopped being the leader while running
  std::string last_error;           ///< the last database error, without secrets
};

/// Holds (or waits for) the ingest lock on its own connection and thread.
///
/// How fast a dead leader is replaced: a crashed process's session ends at once, so a follower (polling
/// every takeover/10, at most every second) takes over within about a second. A leader that hangs or is
/// cut off stops sending its heartbeat; its session is then idle, and PostgreSQL ends it after
/// takeover/2 (idle_session_timeout; TCP keepalives catch a vanished host), so a follower takes over
/// within `takeover_ms`. A leader whose heartbeat fails steps down at once, before a follower can win.
///
/// Thread-safety: status() from any thread; `on_change` runs on the election thread.
class LeaderElection {
 public:
  /// `url` is a libpq URL (may hold a password, never logged); `location` the same without it.
  /// `on_change(true)` when this instance becomes the leader, `on_change(false)` when it stops.
  /// `clock` gives ms UTC.
  LeaderElection(std::string url, std::string location, TimeMs takeover_ms,
                 std::function<void(bool)> on_change, std::function<TimeMs()> clock);
  /// Steps down (closing the session releases the lock) and joins the thread.
  ~LeaderElection();
  LeaderElection(const LeaderElection&) = delete;
  LeaderElection& operator=(const LeaderElection&) = delete;

  /// Starts campaigning on the election thread.
  void start();
  /// A snapshot for /health and /metrics.
  [[nodiscard]] LeaderStatus status() const;

 private:
  struct Session;
  void run();
  void set_role(const std::string& role, bool leader);
  void set_error(std::string error);

  std::string url_;
  std::string location_;
  TimeMs takeover_ms_;
  std::function<void(bool)> on_change_;
  std::function<TimeMs()> clock_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool leader_ = false;
  LeaderStatus status_;
  std::thread thread_;
};

}  // namespace aistrack::server
