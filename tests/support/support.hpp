// Helpers shared by the tests: shared-data lookup, temporary directories, a tiny
// blocking HTTP/1.1 client over real loopback sockets, and child processes.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aistrack::test {

/// ../shared/data (or $AISTRACK_SHARED_DATA) when present; nullopt in a user's fresh clone.
std::optional<std::filesystem::path> shared_data_dir();

/// Lines of a text file (no trailing newline characters).
std::vector<std::string> read_lines(const std::filesystem::path& path);

/// A fresh directory under the system temp dir, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// Response of http_request; status 0 means the connection failed.
struct HttpResponse {
  int status = 0;
  std::string headers;  ///< raw header block, lower-cased names
  std::string body;
  [[nodiscard]] std::string header(const std::string& name_lower) const;
};

/// Sends one HTTP/1.1 request to 127.0.0.1:port and reads the whole response.
HttpResponse http_request(int port, const std::string& method, const std::string& target,
                          const std::string& body = {}, double timeout_s = 5.0,
                          const std::vector<std::pair<std::string, std::string>>& headers = {});

/// Polls `cond` every 20 ms until it holds or `timeout_s` passes; returns its last value.
bool wait_for(const std::function<bool()>& cond, double timeout_s);

/// A TCP port that was free a moment ago on 127.0.0.1.
int free_port();

/// A child process started with extra environment variables; SIGKILLed on destruction if still running.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::filesystem::path& output_file);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  /// Sends a signal.
  void signal(int sig) const;
  /// Waits up to timeout_s; returns the exit status (or 128+signal) or nullopt on timeout.
  std::optional<int> wait(double timeout_s);
  [[nodiscard]] int pid() const noexcept { return pid_; }

 private:
  int pid_ = -1;
  bool reaped_ = false;
};

/// The real aistrack-server started on a free port with a fresh database and log in a temporary
/// directory, no .env file, and `env` on top; SIGKILLed on destruction if still running.
class ServerProcess {
 public:
  /// Starts `binary`; ready() says whether /health answered.
  ServerProcess(const std::string& binary, std::vector<std::string> env);
  /// Waits up to `timeout_s` for /health to answer at all (any status).
  bool ready(double timeout_s);
  [[nodiscard]] int port() const noexcept { return port_; }
  /// Everything the server wrote on stdout and stderr so far.
  [[nodiscard]] std::string output() const;
  /// True while the process has not exited.
  [[nodiscard]] bool alive();
  [[nodiscard]] ChildProcess& process() noexcept { return *proc_; }

 private:
  TempDir dir_;
  int port_;
  std::unique_ptr<ChildProcess> proc_;
};

/// Contents of a file, or empty if it cannot be read.
std::string slurp(const std::filesystem::path& path);

}  // namespace aistrack::test

/// Skips the rest of a test case (ctest reports it as skipped) when ../shared/data is absent.
#define AISTRACK_REQUIRE_SHARED_DATA(dir_var)                                                           \
  const auto dir_var##_opt = ::aistrack::test::shared_data_dir();                                       \
  if (!dir_var##_opt) {                                                                                 \
    MESSAGE("SKIPPED: ../shared/data not found (set AISTRACK_SHARED_DATA to run the real-data tests)"); \
    return;                                                                                             \
  }                                                                                                     \
  const std::filesystem::path& dir_var = *dir_var##_opt
