#include "support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef AISTRACK_SHARED_DATA_DIR
#define AISTRACK_SHARED_DATA_DIR ""
#endif

namespace aistrack::test {
namespace fs = std::filesystem;

std::optional<fs::path> shared_data_dir() {
  if (const char* env = std::getenv("AISTRACK_SHARED_DATA"); env != nullptr && *env != '\0') {
    if (fs::is_directory(env)) return fs::path(env);
    return std::nullopt;
  }
  const fs::path dir = AISTRACK_SHARED_DATA_DIR;
  if (!dir.empty() && fs::is_directory(dir)) return fs::canonical(dir);
  return std::nullopt;
}

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = fs::temp_directory_path() /
                     ("aistrack-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::error_code ec;
    if (fs::create_directory(candidate, ec)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string HttpResponse::header(const std::string& name_lower) const {
  std::istringstream in(headers);
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (line.substr(0, colon) == name_lower) {
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
      return value;
    }
  }
  return {};
}

namespace {
int connect_loopback(int port, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const auto left =
      std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(std::max<long long>(left.count(), 1000) / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(std::max<long long>(left.count(), 1000) % 1000000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}
}  // namespace

HttpResponse http_request(int port, const std::string& method, const std::string& target,
                          const std::string& body, double timeout_s,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpResponse out;
  const int fd = connect_loopback(port, timeout_s);
  if (fd < 0) return out;
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nUser-Agent: aistrack-tests\r\n";
  bool has_connection = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    has_connection = has_connection || k == "Connection";
  }
  if (!has_connection) req += "Connection: close\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  for (std::size_t sent = 0; sent < req.size();) {
    const auto n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return out;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[8192];
  for (;;) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
    // Stop at Content-Length so a server that keeps the socket open does not stall us.
    const auto end = raw.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::string lower = raw.substr(0, end);
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      const auto cl = lower.find("content-length:");
      if (cl != std::string::npos) {
        const auto len = std::stoul(lower.substr(cl + 15));
        if (raw.size() >= end + 4 + len) break;
      }
    }
  }
  ::close(fd);
  const auto end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return out;
  out.status = std::atoi(raw.c_str() + 9);
  const auto first_eol = raw.find("\r\n");
  out.headers = raw.substr(first_eol + 2, end - first_eol - 2);
  // lower-case header names only
  std::string lowered;
  std::istringstream in(out.headers);
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::transform(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), line.begin(),
                     [](unsigned char c) { return std::tolower(c); });
    }
    lowered += line + "\n";
  }
  out.headers = lowered;
  out.body = raw.substr(end + 4);
  return out;
}

bool wait_for(const std::function<bool()>& cond, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                           const fs::path& output_file) {
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int out = ::open(output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    for (const auto& kv : env) ::putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
}

void ChildProcess::signal(int sig) const {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::wait(double timeout_s) {
  if (reaped_) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      if (WIFEXITED(st)) return WEXITSTATUS(st);
      if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
      return -1;
    }
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ServerProcess::ServerProcess(const std::string& binary, std::vector<std::string> env) : port_(free_port()) {
  env.push_back("HTTP_PORT=" + std::to_string(port_));
  env.push_back("DB_PATH=" + (dir_ / "server.db").string());
  env.push_back("ENV_FILE=");
  proc_ = std::make_unique<ChildProcess>(std::vector<std::string>{binary}, env, dir_ / "server.log");
}

bool ServerProcess::ready(double timeout_s) {
  return wait_for([&] { return http_request(port_, "GET", "/health").status != 0; }, timeout_s);
}

std::string ServerProcess::output() const { return slurp(dir_ / "server.log"); }

bool ServerProcess::alive() { return !proc_->wait(0).has_value(); }

}  // namespace aistrack::test
