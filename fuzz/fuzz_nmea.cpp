// libFuzzer target for the NMEA sentence parser, tag blocks, multipart assembly and the AIS decoder.
// Built and run by scripts/fuzz.sh (clang++ -fsanitize=fuzzer,address,undefined); the seed corpus is
// made at run time from ../shared/data/nmea and never copied into the repository.
//
// The input is read as lines; the first byte also picks the assembler bounds and a time step so that
// eviction, time-outs and clock jumps get exercised. Each completed payload goes through decode(),
// to_message() and the JSON writer; the whole input is also tried as one payload and one tag block.
// Invariants that must hold for any input are checked and abort on violation.
#include "fuzz_support.hpp"

#include <aistrack/decode.hpp>
#include <aistrack/nmea.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using aistrack::fuzz::require;

void check_decoded(const aistrack::ais::Decoded& d, aistrack::TimeMs ts_ms, bool own_ship,
                   std::string& json) {
  require(d.type >= 1 && d.type <= 27);
  require(d.bit_count <= 2046);
  const auto c = aistrack::ais::to_message(d, ts_ms, own_ship);
  if (c.status == aistrack::ais::ConvertStatus::ok) {
    require(c.message.has_value());
    const aistrack::Message& m = *c.message;
    require(aistrack::is_valid_mmsi(m.mmsi));
    require(m.source == aistrack::Source::nmea);
    require(m.ts_ms == ts_ms);
    if (m.position && m.position->latlon) {
      require(std::abs(m.position->latlon->lat_deg) <= 90.0);
      require(std::abs(m.position->latlon->lon_deg) <= 180.0);
    }
    if (m.position && m.position->cog_deg) require(*m.position->cog_deg >= 0 && *m.position->cog_deg < 360);
    if (m.position && m.position->heading_deg) require(*m.position->heading_deg <= 359);
  } else {
    require(!c.message.has_value());
    require(!c.reason.empty());
  }
  json.clear();
  json += '{';
  aistrack::ais::append_json_fields(d, json);
  json += '}';
  require(json.size() > 2 && json.back() == '}');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const unsigned knob = size > 0 ? data[0] : 0;

  aistrack::nmea::AssemblerConfig config;
  config.max_pending_groups = 1 + (knob & 7);
  config.fragment_timeout_ms = 1 + (knob >> 3 & 7) * 500;
  config.max_payload_chars = (knob & 64) != 0 ? 341 : 40;
  aistrack::nmea::Assembler assembler(config);
  const aistrack::TimeMs step = (knob & 128) != 0 ? -700 : 300;  // sometimes the clock runs backwards

  aistrack::ais::Decoded decoded;
  std::string json;
  aistrack::TimeMs now = 1'700'000'000'000;
  aistrack::fuzz::for_each_line(input, [&](std::string_view line) {
    now += step;
    for (const aistrack::nmea::Payload& p : assembler.feed_line(line, now)) {
      require(p.fragments >= 1 && p.fragments <= 9);
      require(p.fill_bits <= 5);
      require(p.armored.size() <= config.max_payload_chars);
      require(p.ts_from_tag_block || p.ts_ms == now);
      if (aistrack::ais::decode(p.armored, p.fill_bits, decoded) == aistrack::ais::DecodeStatus::ok) {
        check_decoded(decoded, p.ts_ms, p.own_ship, json);
      }
    }
    require(assembler.pending_groups() <= config.max_pending_groups);
  });
  assembler.expire(now + 100'000);
  require(assembler.pending_groups() == 0);
  const aistrack::nmea::Counters& c = assembler.counters();
  require(c.payloads >= c.multipart_payloads);
  require(c.lines >= c.blank_lines + c.comment_lines + c.junk_lines);

  // The raw input as one payload, and as a tag block.
  if (size > 0 &&
      aistrack::ais::decode(input.substr(1), knob % 8, decoded) == aistrack::ais::DecodeStatus::ok) {
    check_decoded(decoded, now, false, json);
  }
  aistrack::nmea::TagBlock tag;
  (void)aistrack::nmea::parse_tag_block(input, tag);
  aistrack::nmea::Sentence sentence;
  std::size_t used = 0;
  if (aistrack::nmea::parse_sentence(input, sentence, &used) == aistrack::nmea::SentenceStatus::ok) {
    require(used <= input.size());
    require(sentence.fragment_number >= 1 && sentence.fragment_number <= sentence.fragment_count);
  }
  return 0;
}
