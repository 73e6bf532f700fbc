// websocketpp's UTF-8 validator as aistrack builds it (cmake/WebsocketppCxx20.cmake adds an ASCII
// fast path): it must accept and reject exactly what the byte-at-a-time state machine does.
#include <websocketpp/utf8_validator.hpp>

#ifndef AISTRACK_WSPP_UTF8_FAST_PATH
#error \
    "not the patched websocketpp (cmake/WebsocketppCxx20.cmake): this test would compare the original with itself"
#endif

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {
namespace u8 = websocketpp::utf8_validator;

// The reference: every byte through the state machine, as websocketpp 0.8.2 does.
bool reference_valid(const std::string& s) {
  std::uint32_t state = u8::utf8_accept;
  std::uint32_t codepoint = 0;
  for (const char c : s) {
    if (u8::decode(&state, &codepoint, static_cast<std::uint8_t>(c)) == u8::utf8_reject) return false;
  }
  return state == u8::utf8_accept;
}

// What the WebSocket processor does: decode() over the frame in pieces, then complete().
bool patched_valid(const std::string& s, std::size_t split) {
  u8::validator v;
  std::string copy = s;  // decode() takes std::string iterators, as in the processor
  const auto mid = copy.begin() + static_cast<std::ptrdiff_t>(std::min(split, copy.size()));
  return v.decode(copy.begin(), mid) && v.decode(mid, copy.end()) && v.complete();
}
}  // namespace

TEST_CASE("utf8 validator: the ASCII fast path accepts and rejects what the state machine does") {
  const std::vector<std::string> pieces = {"{\"MessageType\":\"PositionReport\",",
                                           "abcdefgh",
                                           "x",
                                           "\xC3\xA9",
                                           "\xE2\x82\xAC",
                                           "\xF0\x9F\x9A\xA2",
                                           "\xC3",                // a lead byte without its continuation
                                           "\x80",                // a lone continuation byte
                                           "\xC0\xAF",            // an overlong '/'
                                           "\xED\xA0\x80",        // a UTF-16 surrogate
                                           "\xF4\x90\x80\x80",    // above U+10FFFF
                                           std::string(1, '\0'),  // NUL is valid UTF-8
                                           "\xFF"};
  std::mt19937 rng(42);
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1), count(0, 40);
  std::size_t valid = 0, invalid = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const std::size_t n = count(rng);
    // Mostly ASCII, as aisstream.io frames are, so multi-byte characters land at every offset of a word.
    for (std::size_t k = 0; k < n; ++k) s += (rng() % 4 == 0) ? pieces[pick(rng)] : pieces[rng() % 3];
    const bool want = reference_valid(s);
    const std::size_t split = s.empty() ? 0 : rng() % (s.size() + 1);
    CAPTURE(s);
    CAPTURE(split);
    REQUIRE(patched_valid(s, split) == want);
    (want ? valid : invalid) += 1;
  }
  // Both outcomes were exercised many times.
  CHECK(valid > 1000);
  CHECK(invalid > 1000);
  // A bad byte right after a long ASCII run, and a character split across the two decode calls.
  CHECK_FALSE(patched_valid(std::string(64, 'a') + "\xC3\x28", 0));
  CHECK(patched_valid(std::string(61, 'a') + "\xF0\x9F\x9A\xA2" + std::string(9, 'b'), 63));
  CHECK_FALSE(patched_valid(std::string(16, 'a') + "\xE2\x82", 18));
}
