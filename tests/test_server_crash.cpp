// Crash safety (issue #8): the real aistrack-server under sustained NMEA ingest over TCP is killed with
// SIGKILL 20 times at random moments and restarted each time. After every kill the database must pass
// PRAGMA integrity_check, and every position the feed sent more than one batch window before the kill
// must be in it: what is lost is at most the last, uncommitted batch.
#include <doctest/doctest.h>

#include "aivdm.hpp"
#include "support.hpp"

#include <sqlite3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <mutex>
#include <random>
#include <set>
#include <thread>

namespace {
using Clock = std::chrono::steady_clock;
const std::string kServer = AISTRACK_SERVER_BIN;
constexpr std::uint32_t kVessels = 20;
constexpr std::uint32_t kBaseMmsi = 244'000'000;
constexpr std::int64_t kLonBaseUnits = 600'000;  // 1.0° in AIS units (1/600000°)

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

// Message `seq` is vessel seq % kVessels moving east by one AIS unit (about 0.1 m) per report, so every
// stored row names the message it came from: seq = (lon units - base) * kVessels + vessel.
std::string sentence(std::uint64_t seq) {
  const auto vessel = static_cast<std::uint32_t>(seq % kVessels);
  const auto lon_units = kLonBaseUnits + static_cast<std::int64_t>(seq / kVessels);
  return aistrack::test::aivdm_type1(kBaseMmsi + vessel, 54.0 + 0.01 * vessel,
                                     static_cast<double>(lon_units) / 600'000.0, 5.0, 90.0);
}

// An NMEA feed the server connects to (NMEA_TCP): about 1,000 sentences a second to whoever is
// connected, one connection at a time, numbering sentences across connections and remembering when
// each was written.
class Feed {
 public:
  Feed() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listen_fd_ >= 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 4) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~Feed() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  [[nodiscard]] int port() const { return port_; }
  /// Send times (steady ms) of every sentence written so far, by seq.
  [[nodiscard]] std::vector<std::int64_t> sent_ms() const {
    const std::lock_guard lock(mutex_);
    return sent_ms_;
  }
  /// The first seq written to each connection, in order.
  [[nodiscard]] std::vector<std::uint64_t> connection_starts() const {
    const std::lock_guard lock(mutex_);
    return starts_;
  }

 private:
  void run() {
    while (!stop_) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      timeval tv{0, 200'000};
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      {
        const std::lock_guard lock(mutex_);
        starts_.push_back(sent_ms_.size());
      }
      auto next = Clock::now();
      while (!stop_) {
        // Two sentences every 2 ms.
        std::string lines;
        std::uint64_t first = 0;
        {
          const std::lock_guard lock(mutex_);
          first = sent_ms_.size();
        }
        lines = sentence(first) + sentence(first + 1);
        if (::send(fd, lines.data(), lines.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(lines.size())) break;
        {
          const std::lock_guard lock(mutex_);
          sent_ms_.push_back(now_ms());
          sent_ms_.push_back(now_ms());
        }
        next += std::chrono::milliseconds(2);
        std::this_thread::sleep_until(next);
      }
      ::close(fd);
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<std::int64_t> sent_ms_;
  std::vector<std::uint64_t> starts_;
  std::thread thread_;
};

struct DbCheck {
  std::string integrity;
  std::set<std::uint64_t> seqs;
};

// Opens the file as the next process would (recovering the WAL), checks it and reads which messages
// it holds.
DbCheck inspect(const std::string& path) {
  DbCheck out;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr) == SQLITE_OK);
  while (sqlite3_step(s) == SQLITE_ROW) {
    out.integrity += reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  }
  sqlite3_finalize(s);
  REQUIRE(sqlite3_prepare_v2(db, "SELECT mmsi, lon_deg FROM positions", -1, &s, nullptr) == SQLITE_OK);
  while (sqlite3_step(s) == SQLITE_ROW) {
    const auto vessel = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0) - kBaseMmsi);
    const auto step =
        static_cast<std::uint64_t>(std::llround(sqlite3_column_double(s, 1) * 600'000.0) - kLonBaseUnits);
    out.seqs.insert(step * kVessels + vessel);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}
}  // namespace

TEST_CASE("crash: 20 SIGKILLs under sustained ingest leave a sound database that lost at most one batch") {
  constexpr int kKills = 20;
  constexpr std::int64_t kBatchMs = 250;
  // The Store commits rows that have waited kBatchMs, as seen by the 100 ms ingest tick; a sentence also
  // spends a moment in the socket and the ingest queue before it is pending. So the newest
  // kBatchMs + 100 ms + 150 ms of the feed may be lost at a kill, and nothing older.
  constexpr std::int64_t kWindowMs = kBatchMs + 100 + 150;
  aistrack::test::TempDir dir;
  const std::string db = (dir / "crash.db").string();
  Feed feed;
  std::mt19937 rng(20261123);
  std::uniform_int_distribution<int> run_ms(300, 1500);
  std::set<std::uint64_t> lost;  // sentences lost at earlier kills (within their window)
  std::int64_t worst_loss_ms = 0;
  std::int64_t previous_kill_ms = 0;
  std::size_t rows = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    CAPTURE(kill);
    const int port = aistrack::test::free_port();
    const std::vector<std::string> env = {"HTTP_PORT=" + std::to_string(port),
                                          "DB_PATH=" + db,
                                          "ENV_FILE=",
                                          "SOURCE=none",
                                          "NMEA_TCP=127.0.0.1:" + std::to_string(feed.port()),
                                          "STORE_BATCH_MS=" + std::to_string(kBatchMs),
                                          "LOG_LEVEL=warn"};
    const auto log = dir / ("server-" + std::to_string(kill) + ".log");
    aistrack::test::ChildProcess proc({kServer}, env, log);
    REQUIRE_MESSAGE(
        aistrack::test::wait_for(
            [&] { return aistrack::test::http_request(port, "GET", "/health").status == 200; }, 20),
        aistrack::test::slurp(log));
    const std::size_t sent_before = feed.sent_ms().size();
    REQUIRE_MESSAGE(aistrack::test::wait_for([&] { return feed.sent_ms().size() > sent_before + 100; }, 10),
                    "the server did not connect to the NMEA feed: " << aistrack::test::slurp(log));
    std::this_thread::sleep_for(std::chrono::milliseconds(run_ms(rng)));
    const std::int64_t kill_ms = now_ms();
    proc.signal(SIGKILL);
    REQUIRE(proc.wait(10).has_value());

    const DbCheck check = inspect(db);
    CHECK(check.integrity == "ok");
    const auto sent = feed.sent_ms();
    const std::uint64_t this_connection = feed.connection_starts().back();
    std::size_t missing_old = 0;
    for (std::uint64_t seq = 0; seq < sent.size(); ++seq) {
      if (check.seqs.contains(seq) || lost.contains(seq)) continue;
      if (sent[seq] > kill_ms) continue;  // written into the dead socket: never reached a server
      if (seq < this_connection && sent[seq] > previous_kill_ms) {
        lost.insert(seq);  // the same, after the previous kill
        continue;
      }
      worst_loss_ms = std::max(worst_loss_ms, kill_ms - sent[seq]);
      if (kill_ms - sent[seq] > kWindowMs) ++missing_old;
      lost.insert(seq);
    }
    CHECK_MESSAGE(missing_old == 0,
                  missing_old << " sentences older than " << kWindowMs << " ms at the kill are missing");
    CHECK(check.seqs.size() > rows);  // every run stored something
    rows = check.seqs.size();
    previous_kill_ms = kill_ms;
  }
  MESSAGE("stored " << rows << " positions over " << kKills << " kills, lost " << lost.size()
                    << " in all; the oldest lost sentence was " << worst_loss_ms << " ms old at its kill");
  CHECK(rows > 1000);
}
