// libFuzzer target for the aisstream.io JSON parser and what follows it in the library: each line
// of the input is one WebSocket text frame for aisstream::Parser, and every converted Message is
// applied to a small Tracker, so conversion, merging, eviction and the future/stale checks all see
// hostile values. The whole input also goes to the helpers that read user-supplied text (time
// strings, bounding-box lists). Built and run by scripts/fuzz.sh; the seed corpus is made at run time
// from ../shared/data/aisstream and never copied into the repository.
//
// Invariants that must hold for any input are checked and abort on violation.
#include "fuzz_support.hpp"

#include <aistrack/aisstream.hpp>
#include <aistrack/tracker.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using aistrack::fuzz::require;

void check_message(const aistrack::Message& m) {
  require(aistrack::is_valid_mmsi(m.mmsi));
  require(m.source == aistrack::Source::aisstream);
  require(m.ais_type >= 1 && m.ais_type <= 27);
  if (m.position && m.position->latlon) {
    require(std::abs(m.position->latlon->lat_deg) <= 90.0);
    require(std::abs(m.position->latlon->lon_deg) <= 180.0);
  }
  if (m.position && m.position->heading_deg) require(*m.position->heading_deg <= 359);
  if (m.position && m.position->cog_deg) require(*m.position->cog_deg >= 0 && *m.position->cog_deg < 360);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // A small bound so a few frames already evict; the clock sits near the sample data's dates.
  aistrack::TrackerConfig config;
  config.max_vessels = 4;
  aistrack::Tracker tracker(config);
  const aistrack::TimeMs now = 1'700'000'000'000;

  aistrack::aisstream::Parser parser;
  std::uint64_t frames = 0;
  aistrack::fuzz::for_each_line(input, [&](std::string_view frame) {
    ++frames;
    aistrack::aisstream::Result r = parser.parse(frame, now);
    if (r.status == aistrack::aisstream::Status::ok) {
      require(r.message.has_value() && r.reason.empty());
      check_message(*r.message);
      (void)tracker.apply(*r.message, now);
      const auto latest = tracker.latest(r.message->mmsi);
      if (latest) require(latest->mmsi == r.message->mmsi);
    } else {
      require(!r.message.has_value());
      require(r.status == aistrack::aisstream::Status::service_error || !r.reason.empty());
    }
  });
  const aistrack::aisstream::Counters& c = parser.counters();
  require(c.ok + c.skipped + c.malformed + c.invalid + c.service_error == frames);
  require(tracker.vessels(0, 100).size() <= config.max_vessels);

  // The one-shot form must agree with the reusable parser on the same text.
  const auto once = aistrack::aisstream::parse(input, now);
  aistrack::aisstream::Parser fresh;
  require(fresh.parse(input, now).status == once.status);

  if (const auto ts = aistrack::aisstream::parse_go_time(input)) (void)*ts;
  std::string error;
  if (const auto boxes = aistrack::aisstream::parse_bounding_boxes(input, error)) {
    int index = 0;
    for (const aistrack::aisstream::BoundingBox& b : *boxes) {
      require(aistrack::aisstream::validate_bounding_box(b, ++index, error));
    }
    aistrack::aisstream::Subscription sub;
    sub.boxes = *boxes;
    require(!aistrack::aisstream::subscription_json(sub).empty());
  } else {
    require(!error.empty());
  }
  (void)aistrack::aisstream::is_known_message_type(input);
  return 0;
}
