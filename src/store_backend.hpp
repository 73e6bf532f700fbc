// The two halves of the Store: the facade in store.cpp owns the pending rows, the batching rules and
// the counters (the same for every database), and a StoreBackend owns one database's SQL. A backend
// only ever sees whole batches, so batching, bounds and dedup within a batch behave identically on
// SQLite and PostgreSQL and are tested once (tests/test_store.cpp runs against both).
#pragma once

#include <aistrack/store.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aistrack::detail {

/// One position of a batch.
struct BatchPosition {
  Mmsi mmsi = 0;
  /// 0, 1, … for the batch's distinct fixes of this MMSI with the same ts_ms, in arrival order.
  std::int64_t seq = 0;
  const PositionFix* fix = nullptr;
};

/// One raw message of a batch; `payload` points into the facade's arena.
struct BatchRaw {
  TimeMs received_ms = 0;
  Source source = Source::unknown;
  Mmsi mmsi = 0;  ///< 0 when unknown
  std::string_view payload;
};

/// What one transaction writes.
struct Batch {
  std::span<const BatchPosition> positions;  ///< (mmsi, ts_ms, seq) order, no two rows identical
  std::span<const VesselState> vessels;      ///< one per MMSI, merged within the batch
  std::span<const BatchRaw> raws;            ///< arrival order
};

/// True when two fixes would be the same row in the positions table (every column equal).
[[nodiscard]] bool same_row(const PositionFix& a, const PositionFix& b) noexcept;

/// One database behind the Store. The facade has already answered empty ranges (limit 0, from after
/// to, an invalid box), so queries here always have work to do. The facade serialises writers (write,
/// purge_step, save_setting may still run on another thread than queries); queries may run on any thread at
/// any time.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;

  /// Writes the batch in one transaction. A position whose key (mmsi, ts_ms, seq) is taken by an
  /// earlier batch goes after the stored ones, unless a stored row is identical: then it is skipped.
  /// Returns the rows skipped so. Throws StoreError (nothing written) on failure.
  virtual std::size_t write(const Batch& batch) = 0;
  /// Longest raw payload the database accepts, bytes.
  [[nodiscard]] virtual std::size_t max_payload_bytes() const = 0;
  /// Deletes (or drops) positions and raw rows older than cutoff_ms, at most about `max_rows` per
  /// call; returns rows deleted, 0 when nothing is left to do.
  virtual std::size_t purge_step(TimeMs cutoff_ms, std::size_t max_rows) = 0;

  [[nodiscard]] virtual std::optional<VesselState> latest(Mmsi mmsi) const = 0;
  [[nodiscard]] virtual std::vector<PositionFix> track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms,
                                                       std::size_t limit) const = 0;
  [[nodiscard]] virtual TrackPage track_page(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms,
                                             std::optional<TrackCursor> after, std::size_t limit) const = 0;
  virtual std::size_t visit_track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, std::size_t limit,
                                  const std::function<void(const PositionFix&)>& visit,
                                  TrackFields fields) const = 0;
  [[nodiscard]] virtual PositionsPage positions_page(TimeMs from_ms, TimeMs to_ms,
                                                     const std::vector<Mmsi>& mmsi,
                                                     std::optional<PositionsCursor> after,
                                                     std::size_t limit) const = 0;
  [[nodiscard]] virtual std::vector<PositionRow> area_positions(const GeoBox& box, TimeMs from_ms,
                                                                TimeMs to_ms, std::size_t limit) const = 0;
  [[nodiscard]] virtual std::optional<std::string> load_setting(std::string_view key) const = 0;
  virtual void save_setting(std::string_view key, std::string_view value) = 0;
  [[nodiscard]] virtual std::vector<std::string> track_query_plan() const = 0;
  [[nodiscard]] virtual std::vector<std::string> area_query_plan() const = 0;
  /// Vessels with last_seen_ms >= seen_since_ms, oldest last_seen first.
  [[nodiscard]] virtual std::vector<VesselState> vessels(TimeMs seen_since_ms) const = 0;
  [[nodiscard]] virtual int schema_version() const = 0;
  [[nodiscard]] virtual std::string check() const = 0;
  /// Where the data lives, for messages: the file, or the URL without its password.
  [[nodiscard]] virtual const std::string& location() const noexcept = 0;
  [[nodiscard]] virtual StoreBackendKind kind() const noexcept = 0;
};

/// Opens the SQLite file config.path (creating or migrating it).
std::unique_ptr<StoreBackend> open_sqlite_backend(const StoreConfig& config);
/// Connects to config.url (creating or migrating the schema); throws StoreError when this build has
/// no PostgreSQL support.
std::unique_ptr<StoreBackend> open_postgres_backend(const StoreConfig& config);

}  // namespace aistrack::detail
