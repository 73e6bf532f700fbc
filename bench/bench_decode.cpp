// NMEA decoding microbenchmark (issue 4): type 1 position reports, one core.
//   decode       : ais::decode of a 28-character type 1 payload into a reused Decoded
//   line→decode  : nmea::Assembler::feed_line of the whole sentence (checksum, fields) + ais::decode
//   + to_message : the above + ais::to_message (what a server source does per line)
//   + JSON       : line → decode + ais::append_json_fields (what aistrack-decode does per line)
// Payloads are generated (random MMSIs, positions, speeds, courses) and armoured by a small encoder
// here, so the same payload is never decoded twice in a row. The median of --rounds is reported.
//
// Usage: aistrack-bench-decode [--messages N] [--rounds R]
// Results and the command line are recorded in docs/PERFORMANCE.md ("NMEA decoding (issue 4)").
#include <aistrack/decode.hpp>
#include <aistrack/nmea.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace aistrack;

namespace {

/// Packs fields MSB-first and armours them (the inverse of the decoder, for test data only).
class Encoder {
 public:
  void u(std::uint64_t v, unsigned bits) {
    for (unsigned i = bits; i-- > 0;) bits_.push_back(static_cast<char>((v >> i) & 1U));
  }
  std::string armor() const {
    std::string out;
    for (std::size_t i = 0; i + 6 <= bits_.size(); i += 6) {
      unsigned v = 0;
      for (std::size_t k = 0; k < 6; ++k) v = (v << 1) | static_cast<unsigned>(bits_[i + k]);
      out += static_cast<char>(v < 40 ? v + 48 : v + 56);
    }
    return out;
  }

 private:
  std::vector<char> bits_;
};

std::string type1_payload(std::mt19937_64& rng) {
  auto pick = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  Encoder e;
  e.u(1 + pick(0, 2), 6);                                                                  // type 1..3
  e.u(0, 2);                                                                               // repeat
  e.u(pick(200'000'000, 775'999'999), 30);                                                 // MMSI
  e.u(pick(0, 8), 4);                                                                      // nav status
  e.u(static_cast<std::uint64_t>(static_cast<std::int64_t>(pick(0, 40)) - 20) & 0xFF, 8);  // ROT
  e.u(pick(0, 250), 10);                                                                   // SOG 0.1 kn
  e.u(pick(0, 1), 1);                                                                      // accuracy
  e.u(static_cast<std::uint64_t>(static_cast<std::int64_t>(pick(0, 216'000'000)) - 108'000'000) & 0xFFFFFFF,
      28);
  e.u(static_cast<std::uint64_t>(static_cast<std::int64_t>(pick(0, 108'000'000)) - 54'000'000) & 0x7FFFFFF,
      27);
  e.u(pick(0, 3599), 12);  // COG
  e.u(pick(0, 359), 9);    // heading
  e.u(pick(0, 59), 6);     // second
  e.u(0, 2);
  e.u(0, 3);
  e.u(pick(0, 1), 1);
  e.u(pick(0, (1U << 19) - 1), 19);
  return e.armor();
}

std::string sentence(const std::string& payload, char channel) {
  const std::string body = std::string("AIVDM,1,1,,") + channel + "," + payload + ",0";
  char hh[4];
  std::snprintf(hh, sizeof hh, "%02X", nmea::checksum(body));
  return "!" + body + "*" + hh;
}

double seconds(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t messages = 200'000;
  int rounds = 9;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--messages" && i + 1 < argc) {
      messages = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: aistrack-bench-decode [--messages N] [--rounds R]\n");
      return 2;
    }
  }
  if (messages == 0 || rounds < 1) {
    std::fprintf(stderr, "aistrack-bench-decode: --messages and --rounds must be positive\n");
    return 2;
  }

  // Payloads and sentences are stored back to back, as they arrive in a read buffer.
  std::mt19937_64 rng(4);
  std::string payload_arena;
  std::string line_arena;
  std::vector<std::pair<std::size_t, std::size_t>> payload_at;
  std::vector<std::pair<std::size_t, std::size_t>> line_at;
  for (std::size_t i = 0; i < messages; ++i) {
    const std::string p = type1_payload(rng);
    const std::string l = sentence(p, (i & 1) != 0 ? 'A' : 'B');
    payload_at.emplace_back(payload_arena.size(), p.size());
    payload_arena += p;
    line_at.emplace_back(line_arena.size(), l.size());
    line_arena += l;
  }
  std::vector<std::string_view> payloads;
  std::vector<std::string_view> lines;
  for (const auto& [at, n] : payload_at) payloads.emplace_back(payload_arena.data() + at, n);
  for (const auto& [at, n] : line_at) lines.emplace_back(line_arena.data() + at, n);

  ais::Decoded d;
  std::uint64_t sink = 0;  // keeps the optimiser from dropping the work
  bool all_ok = true;
  auto run = [&](const char* name, const std::function<void()>& once) {
    std::vector<double> t;
    for (int r = 0; r < rounds; ++r) t.push_back(seconds(once));
    const double s = median(t);
    std::printf("%-34s %12.0f msg/s  %7.1f ns/msg\n", name, static_cast<double>(messages) / s,
                s * 1e9 / static_cast<double>(messages));
  };

  run("decode (type 1 payload)", [&] {
    for (const std::string_view p : payloads) {
      all_ok &= ais::decode(p, 0, d) == ais::DecodeStatus::ok;
      sink += d.mmsi;
    }
  });
  nmea::Assembler assembler;
  run("line -> decode", [&] {
    for (const std::string_view l : lines) {
      for (const nmea::Payload& p : assembler.feed_line(l, 0)) {
        all_ok &= ais::decode(p.armored, p.fill_bits, d) == ais::DecodeStatus::ok;
        sink += d.mmsi;
      }
    }
  });
  run("line -> decode -> to_message", [&] {
    for (const std::string_view l : lines) {
      for (const nmea::Payload& p : assembler.feed_line(l, 0)) {
        if (ais::decode(p.armored, p.fill_bits, d) != ais::DecodeStatus::ok) continue;
        const auto c = ais::to_message(d, p.ts_ms, p.own_ship);
        sink += c.message ? c.message->mmsi : 0;
      }
    }
  });
  std::string json;
  run("line -> decode -> JSON", [&] {
    for (const std::string_view l : lines) {
      for (const nmea::Payload& p : assembler.feed_line(l, 0)) {
        if (ais::decode(p.armored, p.fill_bits, d) != ais::DecodeStatus::ok) continue;
        json.clear();
        ais::append_json_fields(d, json);
        sink += json.size();
      }
    }
  });
  std::printf("(%zu generated type 1-3 messages, median of %d rounds, one core; checksum %llu)\n", messages,
              rounds, static_cast<unsigned long long>(sink % 1000));
  if (!all_ok) {
    std::fprintf(stderr, "aistrack-bench-decode: a generated payload did not decode\n");
    return 1;
  }
  return 0;
}
