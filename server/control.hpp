// Run-time control (issue #10): the watch list, the aisstream.io areas and the simulator, changed over
// the API while the server runs. HTTP handlers change the desired state here; App::tick() applies it
// to the Tracker, the aisstream.io client and the simulator on the ingest thread, so none of those
// needs a lock of its own for this.
#pragma once

#include "config.hpp"

#include <aistrack/aisstream.hpp>
#include <aistrack/store.hpp>

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace aistrack::server {

/// Where a list came from: the settings (MMSI_LIST, AISSTREAM_BBOXES) until it is changed through the
/// API, then the database, which wins over the settings from then on (also after a restart).
enum class ControlOrigin { settings, database };

/// What the simulator should be doing.
struct SimRequest {
  bool running = false;
  std::size_t vessels = 20;  ///< fleet size
  double speed = 1.0;        ///< simulated seconds per real second
};

/// The desired state; each part has a version that changes whenever the part changes.
struct ControlState {
  std::vector<Mmsi> watchlist;  ///< sorted, unique; empty: every vessel (in the areas)
  ControlOrigin watchlist_origin = ControlOrigin::settings;
  std::uint64_t watchlist_version = 0;
  std::vector<aisstream::BoundingBox> areas;  ///< empty: the whole world
  ControlOrigin areas_origin = ControlOrigin::settings;
  std::uint64_t areas_version = 0;
  SimRequest sim;
  std::uint64_t sim_version = 0;
};

/// Most MMSIs the watch list holds (a PUT of this many fits the 64 KiB request body limit).
inline constexpr std::size_t kMaxWatchlist = 5000;
/// Most areas (boxes) sent to aisstream.io.
inline constexpr std::size_t kMaxAreas = 100;
/// Largest simulator speed-up and fleet.
inline constexpr double kMaxSimSpeed = 1000.0;
inline constexpr std::size_t kMaxSimVessels = 100'000;

/// Thread-safe (one mutex). Changes to the lists are saved to the Store before they take effect, so a
/// change that was answered with 200 survives a restart; a failing save throws StoreError and changes
/// nothing.
class Control {
 public:
  /// Starts from the settings, or from the lists saved in `store` by an earlier run.
  Control(Store& store, const ServerConfig& config, SimRequest initial_sim);

  /// A copy of the desired state.
  [[nodiscard]] ControlState state() const;
  /// The three versions (watch list, areas, simulator), cheap to poll every tick.
  [[nodiscard]] std::array<std::uint64_t, 3> versions() const;

  /// Replaces the watch list (sorted and de-duplicated here); returns the new state.
  ControlState set_watchlist(std::vector<Mmsi> mmsi);
  /// Adds one MMSI (no-op when present); throws std::length_error beyond kMaxWatchlist.
  ControlState add_to_watchlist(Mmsi mmsi);
  /// Removes one MMSI; nullopt when it was not on the list.
  std::optional<ControlState> remove_from_watchlist(Mmsi mmsi);
  /// Replaces the areas (validated by the caller).
  ControlState set_areas(std::vector<aisstream::BoundingBox> areas);
  /// Changes what the simulator should do (not persisted: SOURCE and SIM_VESSELS decide at start-up).
  ControlState set_sim(SimRequest sim);
  /// Several instances on one database (issue #9): adopts the watch list and areas saved by another
  /// instance when they differ from this one's; true when something changed (the tick then applies it
  /// like a change made here). Throws StoreError when the database cannot be read.
  bool reload_saved();

 private:
  void save_watchlist(const std::vector<Mmsi>& list);
  void save_areas(const std::vector<aisstream::BoundingBox>& areas);

  Store& store_;
  mutable std::mutex mutex_;
  ControlState state_;
};

/// The watch list as saved in the settings table: a JSON array of MMSI numbers.
std::string watchlist_to_json(const std::vector<Mmsi>& mmsi);
/// Parses a saved watch list; nullopt when the text is not one (a hand-edited file).
std::optional<std::vector<Mmsi>> watchlist_from_json(std::string_view text);
/// Areas as saved: a JSON array of [lat1, lon1, lat2, lon2].
std::string areas_to_json(const std::vector<aisstream::BoundingBox>& areas);
/// Parses saved areas; nullopt when the text is not valid areas.
std::optional<std::vector<aisstream::BoundingBox>> areas_from_json(std::string_view text);

}  // namespace aistrack::server
