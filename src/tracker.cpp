#include <aistrack/tracker.hpp>

#include <algorithm>
#include <iterator>
#include <list>
#include <map>
#include <utility>

namespace aistrack {

std::string_view to_string(ApplyStatus status) noexcept {
  switch (status) {
    case ApplyStatus::updated: return "updated";
    case ApplyStatus::stale: return "stale";
    case ApplyStatus::filtered: return "filtered";
    case ApplyStatus::no_position: return "no_position";
    case ApplyStatus::future: return "future";
    case ApplyStatus::invalid: return "invalid";
  }
  return "invalid";
}

struct Tracker::Impl {
  struct Entry;
  using Map = std::map<Mmsi, Entry>;
  struct Entry {
    VesselState state;
    // Position in the recency list; the front is the least recently updated vessel.
    std::list<Mmsi>::iterator recency;
  };

  TrackerConfig config;
  Map vessels;
  std::list<Mmsi> recency;
  TrackerCounters counters;
  std::vector<std::pair<SubscriptionId, Subscriber>> subscribers;
  SubscriptionId next_id = 1;

  bool allowed(Mmsi mmsi) const { return config.mmsi_allow.empty() || config.mmsi_allow.contains(mmsi); }

  // Finds or creates the vessel's entry, evicting the stalest one when full; marks it most recent.
  Entry& touch(Mmsi mmsi) {
    auto it = vessels.find(mmsi);
    if (it != vessels.end()) {
      recency.splice(recency.end(), recency, it->second.recency);
      return it->second;
    }
    if (config.max_vessels > 0 && vessels.size() >= config.max_vessels) {
      vessels.erase(recency.front());
      recency.pop_front();
      ++counters.evicted;
    }
    recency.push_back(mmsi);
    Entry& e = vessels[mmsi];
    e.state.mmsi = mmsi;
    e.recency = std::prev(recency.end());
    return e;
  }
};

Tracker::Tracker(TrackerConfig config) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
}
Tracker::~Tracker() = default;
Tracker::Tracker(Tracker&&) noexcept = default;
Tracker& Tracker::operator=(Tracker&&) noexcept = default;

ApplyStatus Tracker::apply(const Message& msg, TimeMs now_ms) {
  Impl& im = *impl_;
  auto result = [&im](ApplyStatus s) {
    switch (s) {
      case ApplyStatus::updated: ++im.counters.updated; break;
      case ApplyStatus::stale: ++im.counters.stale; break;
      case ApplyStatus::filtered: ++im.counters.filtered; break;
      case ApplyStatus::no_position: ++im.counters.no_position; break;
      case ApplyStatus::future: ++im.counters.future; break;
      case ApplyStatus::invalid: ++im.counters.invalid; break;
    }
    return s;
  };
  if (!is_valid_mmsi(msg.mmsi) || (!msg.position && !msg.static_data)) return result(ApplyStatus::invalid);
  if (!im.allowed(msg.mmsi)) return result(ApplyStatus::filtered);
  if (msg.ts_ms > now_ms + im.config.max_future_ms) return result(ApplyStatus::future);
  const std::optional<PositionFix> fix = fix_of(msg);
  // A position report whose position is "not available" carries nothing we can place on a map.
  if (msg.position && !fix && !msg.static_data) return result(ApplyStatus::no_position);

  Impl::Entry& e = im.touch(msg.mmsi);
  VesselState& v = e.state;
  ++v.message_count;
  v.last_seen_ms = std::max(v.last_seen_ms, msg.ts_ms);
  // Base stations, AtoN and SAR aircraft keep their class; a vessel's class follows its newest report type.
  if (msg.ais_type != 0) v.station = msg.station;

  bool latest_changed = true;
  if (fix) {
    if (!v.position || fix->ts_ms >= v.position->ts_ms) {
      v.position = fix;
    } else {
      latest_changed = false;
    }
  }
  if (msg.static_data) {
    if (!v.static_ts_ms || msg.ts_ms >= *v.static_ts_ms) {
      merge_static(v.static_data, *msg.static_data);
      v.static_ts_ms = msg.ts_ms;
      latest_changed = latest_changed || !fix;
    }
  }
  const ApplyStatus status = latest_changed ? ApplyStatus::updated : ApplyStatus::stale;
  if (!im.subscribers.empty()) {
    const Update u{msg, v, fix ? &*fix : nullptr, latest_changed};
    for (const auto& [id, sub] : im.subscribers) sub(u);
  }
  return result(status);
}

void Tracker::restore(const std::vector<VesselState>& states) {
  Impl& im = *impl_;
  for (const VesselState& s : states) {
    if (!is_valid_mmsi(s.mmsi) || !im.allowed(s.mmsi)) continue;
    Impl::Entry& e = im.touch(s.mmsi);
    // Keep whatever is newer if the vessel is already live (restore after apply is allowed).
    if (e.state.last_seen_ms <= s.last_seen_ms) {
      const auto count = e.state.message_count;
      e.state = s;
      e.state.message_count = count;
    }
  }
}

bool Tracker::merge_state(const VesselState& s) {
  Impl& im = *impl_;
  if (!is_valid_mmsi(s.mmsi) || !im.allowed(s.mmsi)) return false;
  const auto it = im.vessels.find(s.mmsi);
  if (it == im.vessels.end()) {
    VesselState& v = im.touch(s.mmsi).state;
    v = s;
    v.message_count = 0;  // counts messages applied here
    return true;
  }
  const VesselState& held = it->second.state;
  const bool newer_fix = s.position && (!held.position || s.position->ts_ms >= held.position->ts_ms) &&
                         s.position != held.position;
  const bool newer_static = s.static_ts_ms && (!held.static_ts_ms || *s.static_ts_ms >= *held.static_ts_ms);
  StaticData merged = held.static_data;
  if (newer_static) merge_static(merged, s.static_data);
  const bool static_changed =
      newer_static && (merged != held.static_data || s.static_ts_ms != held.static_ts_ms);
  const bool station_changed = s.last_seen_ms >= held.last_seen_ms && s.station != held.station;
  if (!newer_fix && !static_changed && !station_changed && s.last_seen_ms <= held.last_seen_ms) return false;
  // Only a change makes the vessel the most recently updated (touch), as apply() would.
  VesselState& v = im.touch(s.mmsi).state;
  if (newer_fix) v.position = s.position;
  if (static_changed) {
    v.static_data = std::move(merged);
    v.static_ts_ms = s.static_ts_ms;
  }
  if (station_changed) v.station = s.station;
  v.last_seen_ms = std::max(v.last_seen_ms, s.last_seen_ms);
  return true;
}

std::size_t Tracker::set_mmsi_allow(std::unordered_set<Mmsi> allow) {
  impl_->config.mmsi_allow = std::move(allow);
  if (impl_->config.mmsi_allow.empty()) return 0;
  return erase_if([this](const VesselState& v) { return !impl_->allowed(v.mmsi); });
}

const std::unordered_set<Mmsi>& Tracker::mmsi_allow() const noexcept { return impl_->config.mmsi_allow; }

std::size_t Tracker::erase_if(const std::function<bool(const VesselState&)>& pred) {
  Impl& im = *impl_;
  std::size_t erased = 0;
  for (auto it = im.vessels.begin(); it != im.vessels.end();) {
    if (pred(it->second.state)) {
      im.recency.erase(it->second.recency);
      it = im.vessels.erase(it);
      ++erased;
    } else {
      ++it;
    }
  }
  return erased;
}

std::optional<VesselState> Tracker::latest(Mmsi mmsi) const {
  const auto it = impl_->vessels.find(mmsi);
  if (it == impl_->vessels.end()) return std::nullopt;
  return it->second.state;
}

std::vector<VesselState> Tracker::vessels(std::size_t offset, std::size_t limit) const {
  std::vector<VesselState> out;
  const auto& m = impl_->vessels;
  if (offset >= m.size()) return out;
  auto it = m.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(offset));
  out.reserve(std::min(limit, m.size() - offset));
  for (; it != m.end() && out.size() < limit; ++it) out.push_back(it->second.state);
  return out;
}

void Tracker::for_each(const std::function<void(const VesselState&)>& visit) const {
  for (const auto& [mmsi, entry] : impl_->vessels) visit(entry.state);
}

std::size_t Tracker::size() const noexcept { return impl_->vessels.size(); }

const TrackerCounters& Tracker::counters() const noexcept { return impl_->counters; }

Tracker::SubscriptionId Tracker::subscribe(Subscriber subscriber) {
  const SubscriptionId id = impl_->next_id++;
  impl_->subscribers.emplace_back(id, std::move(subscriber));
  return id;
}

void Tracker::unsubscribe(SubscriptionId id) {
  std::erase_if(impl_->subscribers, [id](const auto& p) { return p.first == id; });
}

}  // namespace aistrack
