// Embed a Tracker in your own program: feed it messages (here from the built-in
// simulator, driven by a simulated clock) and read the latest state back.
#include <aistrack/simulator.hpp>
#include <aistrack/tracker.hpp>

#include <cstdio>
#include <vector>

int main() {
  const aistrack::TimeMs start_ms =
      1'767'225'600'000;  // 2026-01-01T00:00:00Z: the library never reads the clock
  aistrack::SimConfig sim_config;
  sim_config.vessels = 8;
  sim_config.seed = 2026;
  sim_config.start_ms = start_ms;
  aistrack::Simulator sim(sim_config);
  aistrack::Tracker tracker;

  std::size_t updates = 0;
  tracker.subscribe([&](const aistrack::Update&) { ++updates; });

  std::vector<aistrack::Message> batch;
  for (aistrack::TimeMs t = start_ms; t <= start_ms + 15 * 60'000; t += 1000) {
    batch.clear();
    sim.step(t, batch);
    for (const auto& m : batch) tracker.apply(m, t);
  }

  std::printf("%zu vessels, %zu updates in 15 simulated minutes\n", tracker.size(), updates);
  for (const auto& v : tracker.vessels(0, 100)) {
    if (!v.position) continue;
    std::printf("%09u %-20s %8.4f %9.4f %5.1f kn  %s\n", v.mmsi, v.static_data.name.value_or("?").c_str(),
                v.position->latlon.lat_deg, v.position->latlon.lon_deg, v.position->sog_kn.value_or(0),
                aistrack::format_iso8601(v.position->ts_ms).c_str());
  }
  return tracker.size() == sim_config.vessels ? 0 : 1;
}
