// Store: the facade every caller sees. It owns the pending rows, the batching rules and the
// counters, identical for every database; store_sqlite.cpp and store_pg.cpp hold the SQL. See
// docs/STORE.md for the schema, batching, durability and retention rules.
#include <aistrack/store.hpp>

#include "store_backend.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace aistrack {

bool detail::same_row(const PositionFix& a, const PositionFix& b) noexcept {
  // Every stored column; message_count and the like are not stored.
  return a.ts_ms == b.ts_ms && a.latlon == b.latlon && a.sog_kn == b.sog_kn && a.cog_deg == b.cog_deg &&
         a.heading_deg == b.heading_deg && a.nav_status == b.nav_status && a.rot_deg_min == b.rot_deg_min &&
         a.ais_type == b.ais_type && a.source == b.source;
}

namespace {

using detail::Batch;
using detail::BatchPosition;
using detail::BatchRaw;

// Same merge as the vessels UPSERT, applied to two states queued in one batch.
void merge_vessel(VesselState& into, const VesselState& from) {
  if (from.position && (!into.position || from.position->ts_ms >= into.position->ts_ms)) {
    into.position = from.position;
  }
  if (from.static_ts_ms && (!into.static_ts_ms || *from.static_ts_ms >= *into.static_ts_ms)) {
    merge_static(into.static_data, from.static_data);
    into.static_ts_ms = from.static_ts_ms;
  }
  if (from.last_seen_ms >= into.last_seen_ms) {
    into.station = from.station;
    into.last_seen_ms = from.last_seen_ms;
  }
  into.message_count = std::max(into.message_count, from.message_count);
}

// A FIFO in a vector: drop_front() is O(1) amortised and clear() keeps the capacity, so the
// steady-state insert path never allocates.
template <class T>
class PendingQueue {
 public:
  [[nodiscard]] std::size_t size() const noexcept { return items_.size() - head_; }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] const T* begin() const noexcept { return items_.data() + head_; }
  [[nodiscard]] const T* end() const noexcept { return items_.data() + items_.size(); }
  [[nodiscard]] const T& front() const noexcept { return items_[head_]; }
  void reserve(std::size_t n) { items_.reserve(n); }
  void push(const T& item) { items_.push_back(item); }
  void clear() noexcept {
    items_.clear();
    head_ = 0;
  }
  // Drops the oldest item; compacts once half the vector is dead so memory stays bounded.
  // Returns how many items were erased from the front by compaction (callers rebase on it).
  std::size_t drop_front() {
    ++head_;
    if (head_ < 64 || head_ * 2 < items_.size()) return 0;
    const std::size_t erased = head_;
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
    return erased;
  }
  // Mutable access for rebasing after compaction.
  std::vector<T>& items() noexcept { return items_; }

 private:
  std::vector<T> items_;
  std::size_t head_ = 0;
};

struct PendingPosition {
  Mmsi mmsi;
  PositionFix fix;
};

// Payload bytes live in one arena string (offset/size here) so queuing a raw message does not
// allocate once the arena has grown to a batch's worth.
struct PendingRaw {
  TimeMs received_ms;
  std::size_t offset;
  std::size_t size;
  Mmsi mmsi;
  Source source;
};

// Most MMSIs one purge transaction visits, so a sweep over a large fleet with little to delete

// Row-filled batches in a row that may leave vessel rows pending (see row_queued()).
constexpr std::size_t kRowCommitsPerVesselWrite = 10;

bool is_postgres_url(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

}  // namespace

struct Store::Impl {
  StoreConfig config;
  std::unique_ptr<detail::StoreBackend> backend;

  // Writer side: only the writer thread touches these (see the class comment).
  PendingQueue<PendingPosition> positions;
  std::vector<VesselState> vessels;
  std::unordered_map<Mmsi, std::size_t> vessel_index;  // MMSI -> index into `vessels`
  PendingQueue<PendingRaw> raws;
  std::string raw_arena;
  std::size_t max_payload_bytes = 0;
  std::size_t queued_since_attempt = 0;  // rows queued since the last commit attempt
  std::optional<TimeMs> pending_since_ms;
  std::size_t row_commits_without_vessels = 0;  // see row_queued()
  // Reused by every commit, so the steady-state path does not allocate.
  std::vector<const PendingPosition*> insert_order;
  std::vector<BatchPosition> batch_positions;
  std::vector<BatchRaw> batch_raws;

  // Counters shared with stats() on other threads.
  mutable std::mutex stats_mutex;
  StoreStats counters;  // pending_rows is kept in pending_rows_atomic instead
  std::atomic<std::size_t> pending_rows_atomic{0};

  [[nodiscard]] std::size_t pending_rows() const noexcept {
    return positions.size() + vessels.size() + raws.size();
  }
  void publish_pending() noexcept { pending_rows_atomic.store(pending_rows(), std::memory_order_relaxed); }

  void count_dropped(std::uint64_t n) {
    const std::lock_guard lock(stats_mutex);
    counters.dropped_rows += n;
  }

  // Bounds memory while commits fail. Raw archive rows go first (a debugging aid), then the
  // oldest positions, and vessel states last: they are few (one per MMSI) and hold the latest state.
  void enforce_bound() {
    std::uint64_t dropped = 0;
    while (pending_rows() > config.max_pending_rows) {
      if (!raws.empty()) {
        if (const std::size_t erased = raws.drop_front(); erased > 0) rebase_raw_arena();
      } else if (!positions.empty()) {
        positions.drop_front();
      } else {
        vessels.erase(vessels.begin());
        vessel_index.clear();
        for (std::size_t i = 0; i < vessels.size(); ++i) vessel_index[vessels[i].mmsi] = i;
      }
      ++dropped;
    }
    if (dropped > 0) count_dropped(dropped);
  }

  // After the raw queue compacted its front away, drop the arena bytes no live row uses.
  void rebase_raw_arena() {
    if (raws.empty()) {
      raw_arena.clear();
      return;
    }
    const std::size_t base = raws.front().offset;
    raw_arena.erase(0, base);
    for (PendingRaw& r : raws.items()) r.offset -= base;
  }

  void row_queued() {
    ++queued_since_attempt;
    if (pending_rows() > config.max_pending_rows) enforce_bound();
    publish_pending();
    // After a failure this waits for another batch_rows rows, so an outage retries once per
    // batch instead of on every add.
    // A batch that fills up by rows leaves the vessel rows pending for up to
    // kRowCommitsPerVesselWrite batches (poll and flush always write them): they hold only the
    // latest state per MMSI, so deferring loses nothing, and during bursts it saves one UPSERT
    // per vessel per batch, which costs as much as all the position inserts of a fleet of
    // thousands (bench/).
    if (queued_since_attempt >= config.batch_rows) {
      commit_pending(row_commits_without_vessels + 1 >= kRowCommitsPerVesselWrite);
    }
  }

  // The pending positions in (mmsi, ts_ms) order with their seq; rows identical to an earlier one of
  // the same key are left out and counted. Inserting in key order keeps each batch's index updates on
  // neighbouring pages: with a fleet of thousands that is 1.5-2x faster than arrival order (bench/).
  // The sort is stable, so fixes with the same time keep their arrival order (track exports show it).
  std::size_t order_positions() {
    insert_order.clear();
    for (const PendingPosition& row : positions) insert_order.push_back(&row);
    std::stable_sort(insert_order.begin(), insert_order.end(),
                     [](const PendingPosition* a, const PendingPosition* b) {
                       return a->mmsi != b->mmsi ? a->mmsi < b->mmsi : a->fix.ts_ms < b->fix.ts_ms;
                     });
    batch_positions.clear();
    std::size_t duplicates = 0;
    std::size_t run_start = 0;  // first batch_positions index of the current (mmsi, ts_ms) key
    for (const PendingPosition* row : insert_order) {
      const bool same_key = !batch_positions.empty() && batch_positions.back().mmsi == row->mmsi &&
                            batch_positions.back().fix->ts_ms == row->fix.ts_ms;
      if (!same_key) run_start = batch_positions.size();
      const auto run = std::span(batch_positions).subspan(run_start);
      if (std::any_of(run.begin(), run.end(),
                      [&](const BatchPosition& p) { return detail::same_row(*p.fix, row->fix); })) {
        ++duplicates;
        continue;
      }
      batch_positions.push_back(BatchPosition{row->mmsi, static_cast<std::int64_t>(run.size()), &row->fix});
    }
    return duplicates;
  }

  // Writes every pending row (vessel rows only when `with_vessels`) in one transaction. On
  // failure keeps the rows, records the error and throws.
  void commit_pending(bool with_vessels = true) {
    if (pending_rows() == 0) return;
    with_vessels = with_vessels || vessels.empty();
    row_commits_without_vessels = with_vessels ? 0 : row_commits_without_vessels + 1;
    queued_since_attempt = 0;
    if (with_vessels) pending_since_ms.reset();  // else poll() still owes the vessels a commit
    const std::size_t batch_duplicates = order_positions();
    batch_raws.clear();
    for (const PendingRaw& r : raws) {
      batch_raws.push_back(
          BatchRaw{r.received_ms, r.source, r.mmsi, std::string_view(raw_arena).substr(r.offset, r.size)});
    }
    Batch batch;
    batch.positions = batch_positions;
    batch.vessels = std::span<const VesselState>(vessels.data(), with_vessels ? vessels.size() : 0);
    batch.raws = batch_raws;
    std::size_t stored_duplicates = 0;
    try {
      stored_duplicates = backend->write(batch);
    } catch (const StoreError& e) {
      std::string error = e.what();
      error += "; " + std::to_string(pending_rows()) + " rows stay pending and are retried";
      {
        const std::lock_guard lock(stats_mutex);
        ++counters.commit_failures;
        counters.last_error = error;
      }
      throw StoreError(error);
    }
    const std::size_t duplicates = batch_duplicates + stored_duplicates;
    {
      const std::lock_guard lock(stats_mutex);
      counters.positions_written += positions.size() - duplicates;
      counters.duplicate_rows += duplicates;
      counters.vessels_written += with_vessels ? vessels.size() : 0;
      counters.raw_written += raws.size();
      ++counters.commits;
      counters.last_error.clear();
    }
    positions.clear();
    if (with_vessels) {
      vessels.clear();
      vessel_index.clear();
    }
    raws.clear();
    raw_arena.clear();
    publish_pending();
  }
};

// ---- Store --------------------------------------------------------------------------------------

Store::Store(StoreConfig config) : impl_(std::make_unique<Impl>()) {
  Impl& im = *impl_;
  im.config = std::move(config);
  im.config.batch_rows = std::max<std::size_t>(im.config.batch_rows, 1);
  im.config.max_pending_rows = std::max(im.config.max_pending_rows, im.config.batch_rows);
  if (!im.config.url.empty()) {
    if (!is_postgres_url(im.config.url)) {
      throw StoreError(
          "database URL must start with postgresql:// (or postgres://); for SQLite leave DB_URL "
          "empty and set DB_PATH");
    }
    im.backend = detail::open_postgres_backend(im.config);
  } else {
    // SQLite would silently use a private temporary database, which no reader could see.
    if (im.config.path.empty()) throw StoreError("database path is empty; set DB_PATH to a file name");
    im.backend = detail::open_sqlite_backend(im.config);
  }
  im.max_payload_bytes = im.backend->max_payload_bytes();
  const std::size_t reserve = std::min<std::size_t>(im.config.batch_rows, 1 << 16);
  im.positions.reserve(reserve);
}

Store::~Store() {
  if (!impl_) return;
  try {
    impl_->commit_pending();
  } catch (...) {  // NOLINT(bugprone-empty-catch): documented; flush() reports errors
  }
}

void Store::add_position(Mmsi mmsi, const PositionFix& fix) {
  Impl& im = *impl_;
  // A NaN coordinate would violate NOT NULL and fail every later batch; drop it here instead.
  if (!std::isfinite(fix.latlon.lat_deg) || !std::isfinite(fix.latlon.lon_deg)) {
    im.count_dropped(1);
    return;
  }
  im.positions.push(PendingPosition{mmsi, fix});
  im.row_queued();
}

void Store::upsert_vessel(const VesselState& vessel) {
  Impl& im = *impl_;
  const VesselState* state = &vessel;
  VesselState cleaned;
  // A NaN coordinate would fail every later batch; keep the rest of the state without it.
  if (vessel.position &&
      (!std::isfinite(vessel.position->latlon.lat_deg) || !std::isfinite(vessel.position->latlon.lon_deg))) {
    cleaned = vessel;
    cleaned.position.reset();
    state = &cleaned;
  }
  if (const auto it = im.vessel_index.find(state->mmsi); it != im.vessel_index.end()) {
    merge_vessel(im.vessels[it->second], *state);  // one row per MMSI per batch
    return;
  }
  im.vessel_index.emplace(state->mmsi, im.vessels.size());
  im.vessels.push_back(*state);
  im.row_queued();
}

void Store::add_raw(TimeMs received_ms, Source source, Mmsi mmsi, std::string_view payload) {
  Impl& im = *impl_;
  if (!im.config.keep_raw) return;
  // Beyond the database's length limit the insert would fail every later batch; drop it here instead.
  if (payload.size() > im.max_payload_bytes) {
    im.count_dropped(1);
    return;
  }
  const std::size_t offset = im.raw_arena.size();
  im.raw_arena.append(payload);
  im.raws.push(PendingRaw{received_ms, offset, payload.size(), mmsi, source});
  im.row_queued();
}

bool Store::poll(TimeMs now_ms) {
  Impl& im = *impl_;
  if (im.pending_rows() == 0) {
    im.pending_since_ms.reset();
    return false;
  }
  if (!im.pending_since_ms) im.pending_since_ms = now_ms;
  if (now_ms - *im.pending_since_ms < im.config.batch_ms) return false;
  im.commit_pending();
  return true;
}

void Store::flush() { impl_->commit_pending(); }

std::optional<VesselState> Store::latest(Mmsi mmsi) const { return impl_->backend->latest(mmsi); }

std::vector<PositionFix> Store::track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, std::size_t limit) const {
  if (limit == 0 || from_ms > to_ms) return {};
  return impl_->backend->track(mmsi, from_ms, to_ms, limit);
}

TrackPage Store::track_page(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, std::optional<TrackCursor> after,
                            std::size_t limit) const {
  if (limit == 0 || from_ms > to_ms) return {};
  return impl_->backend->track_page(mmsi, from_ms, to_ms, after, limit);
}

std::size_t Store::visit_track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, std::size_t limit,
                               const std::function<void(const PositionFix&)>& visit,
                               TrackFields fields) const {
  if (limit == 0 || from_ms > to_ms) return 0;
  return impl_->backend->visit_track(mmsi, from_ms, to_ms, limit, visit, fields);
}

PositionsPage Store::positions_page(TimeMs from_ms, TimeMs to_ms, const std::vector<Mmsi>& mmsi,
                                    std::optional<PositionsCursor> after, std::size_t limit) const {
  if (limit == 0 || from_ms > to_ms) return {};
  return impl_->backend->positions_page(from_ms, to_ms, mmsi, after, limit);
}

std::vector<PositionRow> Store::area_positions(const GeoBox& box, TimeMs from_ms, TimeMs to_ms,
                                               std::size_t limit) const {
  if (limit == 0 || from_ms > to_ms || !box.valid()) return {};
  return impl_->backend->area_positions(box, from_ms, to_ms, limit);
}

std::optional<std::string> Store::load_setting(std::string_view key) const {
  return impl_->backend->load_setting(key);
}

void Store::save_setting(std::string_view key, std::string_view value) {
  impl_->backend->save_setting(key, value);
}

std::vector<std::string> Store::track_query_plan() const { return impl_->backend->track_query_plan(); }

std::vector<std::string> Store::area_query_plan() const { return impl_->backend->area_query_plan(); }

std::vector<VesselState> Store::vessels() const {
  return impl_->backend->vessels(std::numeric_limits<TimeMs>::min());
}

std::vector<VesselState> Store::vessels_seen_since(TimeMs since_ms) const {
  return impl_->backend->vessels(since_ms);
}

std::size_t Store::purge_step(TimeMs cutoff_ms, std::size_t max_rows) {
  Impl& im = *impl_;
  if (max_rows == 0) return 0;
  // Commit first: pending rows may be old too, and a purge must not interleave with a batch.
  im.commit_pending();
  std::size_t deleted = 0;
  try {
    deleted = im.backend->purge_step(cutoff_ms, max_rows);
  } catch (const StoreError& e) {
    const std::lock_guard lock(im.stats_mutex);
    im.counters.last_error = e.what();
    throw;
  }
  if (deleted > 0) {
    const std::lock_guard lock(im.stats_mutex);
    im.counters.purged_rows += deleted;
  }
  return deleted;
}

StoreStats Store::stats() const {
  const Impl& im = *impl_;
  StoreStats out;
  {
    const std::lock_guard lock(im.stats_mutex);
    out = im.counters;
  }
  out.pending_rows = im.pending_rows_atomic.load(std::memory_order_relaxed);
  return out;
}

int Store::schema_version() const { return impl_->backend->schema_version(); }

std::string Store::check() const { return impl_->backend->check(); }

const std::string& Store::path() const noexcept { return impl_->backend->location(); }

StoreBackendKind Store::backend() const noexcept { return impl_->backend->kind(); }

}  // namespace aistrack
