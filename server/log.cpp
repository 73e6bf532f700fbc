#include "log.hpp"

#include <aistrack/types.hpp>

#include <chrono>
#include <cstdio>

namespace aistrack::server {

std::atomic<LogLevel> g_log_level{LogLevel::info};

bool parse_log_level(std::string_view text, LogLevel& out) noexcept {
  if (text == "debug")
    out = LogLevel::debug;
  else if (text == "info")
    out = LogLevel::info;
  else if (text == "warn")
    out = LogLevel::warn;
  else if (text == "error")
    out = LogLevel::error;
  else
    return false;
  return true;
}

void log_line(LogLevel level, std::string_view text) {
  if (level < g_log_level.load(std::memory_order_relaxed)) return;
  static constexpr std::string_view kNames[] = {"debug", "info ", "warn ", "error"};
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const std::string line = format_iso8601(now) + " " + std::string(kNames[static_cast<int>(level)]) + " " +
                           std::string(text) + "\n";
  // One fwrite per line keeps lines whole when several threads log at once.
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace aistrack::server
