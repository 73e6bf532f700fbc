// A program outside the aistrack tree that links the library the way users do.
// Exits non-zero if anything is off, so the consumer tests can fail.
#include <aistrack/aisstream.hpp>
#include <aistrack/store.hpp>
#include <aistrack/tracker.hpp>

#include <cstdio>
#include <filesystem>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer DB_PATH\n");
    return 2;
  }
  std::filesystem::remove(argv[1]);
  const auto r = aistrack::aisstream::parse(
      R"({"MessageType":"PositionReport","MetaData":{"time_utc":"2026-08-30 11:59:57.5 +0000 UTC"},)"
      R"("Message":{"PositionReport":{"MessageID":1,"UserID":244700923,"Latitude":52.8,"Longitude":5.2,"Sog":2.2}}})",
      0);
  if (r.status != aistrack::aisstream::Status::ok) {
    std::fprintf(stderr, "parse failed: %s\n", r.reason.c_str());
    return 1;
  }
  aistrack::Tracker tracker;
  aistrack::StoreConfig sc;
  sc.path = argv[1];
  aistrack::Store store(sc);
  tracker.subscribe([&](const aistrack::Update& u) {
    if (u.fix != nullptr) store.add_position(u.vessel.mmsi, *u.fix);
  });
  tracker.apply(*r.message, r.message->ts_ms);
  store.flush();
  const auto track = store.track(244700923, 0, r.message->ts_ms, 10);
  if (track.size() != 1 || track[0].latlon.lat_deg != 52.8) {
    std::fprintf(stderr, "store round trip failed (%zu rows)\n", track.size());
    return 1;
  }
  std::printf("consumer ok: %s\n", aistrack::format_iso8601(track[0].ts_ms).c_str());
  return 0;
}
