// A small fmt-based logger for the server: one line per event on stderr,
// "2026-11-23T07:22:56.123Z info  message". Thread-safe (one write per line).
#pragma once

#include <fmt/core.h>

#include <atomic>
#include <string_view>

namespace aistrack::server {

enum class LogLevel : int { debug = 0, info = 1, warn = 2, error = 3 };

/// Parses "debug", "info", "warn" or "error".
bool parse_log_level(std::string_view text, LogLevel& out) noexcept;

/// Minimum level written; set once at start-up.
extern std::atomic<LogLevel> g_log_level;

/// Writes one already-formatted line at `level` (no-op below g_log_level).
void log_line(LogLevel level, std::string_view text);

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level < g_log_level.load(std::memory_order_relaxed)) return;
  log_line(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace aistrack::server
