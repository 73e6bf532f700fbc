// Internal: date-time text parsing shared by the ISO-8601 and aisstream.io (Go) time formats.
#pragma once

#include <aistrack/types.hpp>

#include <cstddef>
#include <optional>
#include <string_view>

namespace aistrack::detail {

/// Reads `n` ASCII digits of `s` at `pos` into `out`; false if any is missing or not a digit.
bool read_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept;

/// Parses "YYYY-MM-DD?HH:MM:SS[.f…]" at the start of `text` ('?' is one of `separators`, the
/// fraction 1–9 digits, truncated to ms) as a wall-clock time in ms since the epoch (no offset
/// applied) and sets `end` just past it. Impossible dates such as 30 February → nullopt.
std::optional<TimeMs> parse_wall_time(std::string_view text, std::string_view separators,
                                      std::size_t& end) noexcept;

}  // namespace aistrack::detail
