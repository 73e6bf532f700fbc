// Tracker: the latest state of every vessel, in memory.
#pragma once

#include <aistrack/message.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

namespace aistrack {

/// What the Tracker knows of one vessel.
struct VesselState {
  Mmsi mmsi = 0;
  StationClass station = StationClass::class_a;
  std::optional<PositionFix> position;  ///< newest fix by report time
  StaticData static_data;               ///< merged from every static message
  std::optional<TimeMs> static_ts_ms;   ///< time of the newest static message
  TimeMs last_seen_ms = 0;              ///< newest report time of any message
  std::uint64_t message_count = 0;      ///< messages applied since the Tracker started (not persisted)
};

/// Tracker settings.
struct TrackerConfig {
  /// Most vessels held; a new vessel beyond it evicts the least recently updated one.
  std::size_t max_vessels = 100'000;
  /// When non-empty, only these MMSIs are tracked (the MMSI_LIST setting); others are counted as filtered.
  std::unordered_set<Mmsi> mmsi_allow;
  /// A report more than this far ahead of `now` is rejected as from the future (ms).
  TimeMs max_future_ms = 5 * 60 * 1000;
};

/// Outcome of Tracker::apply.
enum class ApplyStatus : std::uint8_t {
  updated,      ///< state changed; a position in the message is the vessel's newest
  stale,        ///< position older than the one held: "latest" unchanged, but still worth storing
  filtered,     ///< MMSI not on the allow-list
  no_position,  ///< a position report without a usable position (lat/lon not available); nothing changed
  future,       ///< report time more than max_future_ms ahead of now
  invalid,      ///< MMSI out of range or nothing to apply
};

/// "updated", "stale", "filtered", "no_position", "future" or "invalid".
std::string_view to_string(ApplyStatus status) noexcept;

/// What subscribers are told after each updated or stale message.
struct Update {
  const Message& message;
  const VesselState& vessel;  ///< state after the message was applied
  const PositionFix* fix;     ///< the message's fix, or nullptr when it carries none
  bool latest_changed;        ///< false for a stale (older) position
};

/// Counts of apply() outcomes plus evictions.
struct TrackerCounters {
  std::uint64_t updated = 0;
  std::uint64_t stale = 0;
  std::uint64_t filtered = 0;
  std::uint64_t no_position = 0;
  std::uint64_t future = 0;
  std::uint64_t invalid = 0;
  std::uint64_t evicted = 0;
};

/// Latest state per MMSI, static data merged in; bounded by TrackerConfig::max_vessels.
///
/// Thread-safety: none inside (like a standard container). Const members may run
/// concurrently with each other; anything else needs the caller's exclusive lock.
/// Subscribers run synchronously inside apply() on the caller's thread and must not
/// call apply(), restore(), subscribe() or unsubscribe().
class Tracker {
 public:
  using Subscriber = std::function<void(const Update&)>;
  using SubscriptionId = std::uint64_t;

  /// A tracker with the given bounds and allow-list.
  explicit Tracker(TrackerConfig config = {});
  ~Tracker();
  Tracker(Tracker&&) noexcept;
  Tracker& operator=(Tracker&&) noexcept;
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  /// Applies one message received at `now_ms` (ms UTC) and notifies subscribers when it changed anything.
  ApplyStatus apply(const Message& msg, TimeMs now_ms);

  /// Seeds state (e.g. from Store::vessels() at start-up); entries not on the allow-list are skipped.
  void restore(const std::vector<VesselState>& states);

  /// Merges a state known elsewhere (another server instance, or the Store after an outage) field by
  /// field, as the Store's UPSERT does: the newer position fix and the newer static data win, last_seen
  /// is the later one. Subscribers are not told (no message was applied). Returns true when the state
  /// held changed; false for an MMSI that is invalid, not on the allow-list or already as new.
  bool merge_state(const VesselState& state);

  /// Replaces the allow-list (empty: every MMSI) at run time. Vessels held that are not on the new
  /// list are dropped from memory at once, as a restart would drop them (restore() skips them);
  /// vessels newly allowed appear with their next report (or through restore()). Returns how many
  /// were dropped.
  std::size_t set_mmsi_allow(std::unordered_set<Mmsi> allow);

  /// The current allow-list (empty: every MMSI).
  [[nodiscard]] const std::unordered_set<Mmsi>& mmsi_allow() const noexcept;

  /// Drops every vessel for which `pred` is true (e.g. the simulator's fleet when it stops); returns
  /// how many. Not counted as evictions.
  std::size_t erase_if(const std::function<bool(const VesselState&)>& pred);

  /// Latest state of one vessel, if tracked.
  [[nodiscard]] std::optional<VesselState> latest(Mmsi mmsi) const;

  /// Up to `limit` vessels in MMSI order, skipping the first `offset`.
  [[nodiscard]] std::vector<VesselState> vessels(std::size_t offset, std::size_t limit) const;

  /// Calls `visit` for every vessel in MMSI order, without copying.
  void for_each(const std::function<void(const VesselState&)>& visit) const;

  /// Number of vessels held.
  [[nodiscard]] std::size_t size() const noexcept;

  /// Outcome counts since construction.
  [[nodiscard]] const TrackerCounters& counters() const noexcept;

  /// Registers a callback for every updated or stale message; returns an id for unsubscribe().
  SubscriptionId subscribe(Subscriber subscriber);

  /// Removes a subscriber; unknown ids are ignored.
  void unsubscribe(SubscriptionId id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aistrack
