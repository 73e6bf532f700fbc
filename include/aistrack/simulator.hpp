// Simulator: a deterministic fleet that sails a real sea area and reports like real AIS.
#pragma once

#include <aistrack/message.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace aistrack {

/// A convex sea area: every great-circle leg between two points inside stays at sea.
/// Edges are great-circle arcs (not lines of constant latitude), which is what makes that true.
struct SeaArea {
  std::string name;
  std::vector<LatLon> polygon;  ///< convex, counter-clockwise (clockwise is accepted too), no land inside
  /// Central/southern North Sea between the UK, the Frisian islands and Denmark (the default).
  static SeaArea north_sea();
  /// True when `p` is inside the polygon or on its boundary (meaningful for a convex polygon only).
  [[nodiscard]] bool contains(LatLon p) const noexcept;
};

/// Simulator settings.
struct SimConfig {
  std::size_t vessels = 20;  ///< fleet size (the SIM_VESSELS setting)
  std::uint64_t seed = 1;    ///< same seed, same start → same messages (SIM_SEED)
  TimeMs start_ms = 0;       ///< simulation epoch, ms UTC (the server passes its start time)
  SeaArea area = SeaArea::north_sea();
};

/// Description of one simulated vessel (fixed for the run).
struct SimVessel {
  Mmsi mmsi = 0;
  StationClass station = StationClass::class_a;
  std::string name;
  ShipType ship_type;
  /// under way, at anchor or moored (class B messages carry no nav status, but still follow it)
  NavStatus behaviour = NavStatus::under_way_using_engine;
  double cruise_sog_kn =
      0;  ///< nominal speed under way (each leg ±0.3 kn, each report ±0.15 kn); 0 if stationary
};

/// Fleet of `vessels` ships: class A cargo/tanker 10–20 kn, class B leisure 4–8 kn and some
/// at anchor or moored. Position reports follow ITU-R M.1371-5 Table 1 (class A 2–10 s by
/// speed and turning, 3 min at anchor; class B 30 s, 3 min below 2 kn); static data every 6 min.
///
/// Deterministic: the messages depend only on the config and `now` values, not on how
/// often step() is called. Thread-safety: none inside; one thread at a time.
class Simulator {
 public:
  /// Builds the fleet; throws aistrack::Error if the area has fewer than 3 vertices, is not
  /// (strictly) convex, spans more than ~160°, has a latitude outside −90..90, or if `vessels`
  /// exceeds 1'000'000.
  explicit Simulator(SimConfig config);
  ~Simulator();
  Simulator(Simulator&&) noexcept;
  Simulator& operator=(Simulator&&) noexcept;

  /// Appends every message due in (previous now, now_ms] to `out`, oldest first; `now_ms` is ms UTC.
  /// Nothing is due before config.start_ms; a `now_ms` at or before the previous one adds nothing.
  /// Cost is proportional to the messages emitted (a heap pop and push each), so one call over a
  /// long span is how benchmark data is generated.
  void step(TimeMs now_ms, std::vector<Message>& out);

  /// The fleet.
  [[nodiscard]] const std::vector<SimVessel>& vessels() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aistrack
