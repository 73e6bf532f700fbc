// Helpers shared by the libFuzzer targets in fuzz/.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <string_view>

namespace aistrack::fuzz {

/// Aborts when an invariant fails: libFuzzer then reports the input as a crash.
inline void require(bool ok) {
  if (!ok) std::abort();
}

/// Calls `visit` with each '\n'-separated line of `input`, the last one even when empty.
template <class Visit>
void for_each_line(std::string_view input, Visit&& visit) {
  std::size_t pos = 0;
  while (pos <= input.size()) {
    std::size_t nl = input.find('\n', pos);
    if (nl == std::string_view::npos) nl = input.size();
    visit(input.substr(pos, nl - pos));
    pos = nl + 1;
  }
}

}  // namespace aistrack::fuzz
