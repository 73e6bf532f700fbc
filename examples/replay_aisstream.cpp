// Replay a file of aisstream.io JSON frames (one per line) into a SQLite Store.
//   replay_aisstream FRAMES.jsonl DB_PATH
// Exit status: 0 on success, 2 on usage or I/O errors.
#include <aistrack/aisstream.hpp>
#include <aistrack/store.hpp>
#include <aistrack/tracker.hpp>

#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FRAMES.jsonl DB_PATH\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[1]);
    return 2;
  }
  aistrack::StoreConfig store_config;
  store_config.path = argv[2];
  aistrack::Store store(store_config);
  aistrack::Tracker tracker;
  tracker.subscribe([&](const aistrack::Update& u) {
    if (u.fix != nullptr) store.add_position(u.vessel.mmsi, *u.fix);
    store.upsert_vessel(u.vessel);
  });

  aistrack::aisstream::Parser parser;
  std::size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    const auto r = parser.parse(line, 0);
    if (r.status == aistrack::aisstream::Status::ok) {
      // Replaying history: "now" is the frame's own time, so nothing looks like it is from the future.
      tracker.apply(*r.message, r.message->ts_ms);
    } else {
      std::fprintf(stderr, "line %zu: %s: %s\n", line_no, std::string(to_string(r.status)).c_str(),
                   r.reason.c_str());
    }
  }
  store.flush();
  const auto& c = parser.counters();
  std::printf("%zu lines: %llu converted, %llu skipped, %llu invalid, %llu malformed; %zu vessels in %s\n",
              line_no, static_cast<unsigned long long>(c.ok), static_cast<unsigned long long>(c.skipped),
              static_cast<unsigned long long>(c.invalid), static_cast<unsigned long long>(c.malformed),
              store.vessels().size(), argv[2]);
  return 0;
}
