#include "control.hpp"

#include "log.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <stdexcept>

namespace aistrack::server {
namespace json = boost::json;

namespace {
constexpr std::string_view kWatchlistKey = "watchlist";
constexpr std::string_view kAreasKey = "areas";

void normalise(std::vector<Mmsi>& list) {
  std::sort(list.begin(), list.end());
  list.erase(std::unique(list.begin(), list.end()), list.end());
}

std::optional<double> number_of(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}
}  // namespace

std::string watchlist_to_json(const std::vector<Mmsi>& mmsi) {
  json::array a;
  for (const Mmsi m : mmsi) a.emplace_back(m);
  return json::serialize(a);
}

std::optional<std::vector<Mmsi>> watchlist_from_json(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return std::nullopt;
  std::vector<Mmsi> out;
  for (const auto& item : v.get_array()) {
    const auto n = number_of(item);
    if (!n || *n < 1 || *n > 999'999'999 || *n != static_cast<double>(static_cast<Mmsi>(*n)))
      return std::nullopt;
    out.push_back(static_cast<Mmsi>(*n));
  }
  normalise(out);
  return out;
}

std::string areas_to_json(const std::vector<aisstream::BoundingBox>& areas) {
  json::array a;
  for (const auto& b : areas) a.emplace_back(json::array{b.lat1_deg, b.lon1_deg, b.lat2_deg, b.lon2_deg});
  return json::serialize(a);
}

std::optional<std::vector<aisstream::BoundingBox>> areas_from_json(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return std::nullopt;
  std::vector<aisstream::BoundingBox> out;
  for (const auto& item : v.get_array()) {
    if (!item.is_array() || item.get_array().size() != 4) return std::nullopt;
    double c[4];
    for (std::size_t i = 0; i < 4; ++i) {
      const auto n = number_of(item.get_array()[i]);
      if (!n) return std::nullopt;
      c[i] = *n;
    }
    const aisstream::BoundingBox b{c[0], c[1], c[2], c[3]};
    std::string why;
    if (!aisstream::validate_bounding_box(b, static_cast<int>(out.size() + 1), why)) return std::nullopt;
    out.push_back(b);
  }
  return out;
}

Control::Control(Store& store, const ServerConfig& config, SimRequest initial_sim) : store_(store) {
  state_.watchlist = config.mmsi_list;
  normalise(state_.watchlist);
  state_.areas = config.aisstream_bboxes;
  state_.sim = initial_sim;
  // Once changed through the API the database wins over MMSI_LIST / AISSTREAM_BBOXES: say so, because
  // an operator who edits MMSI_LIST and restarts would otherwise wonder why nothing changed.
  if (const auto saved = store.load_setting(kWatchlistKey)) {
    if (auto list = watchlist_from_json(*saved)) {
      if (!config.mmsi_list.empty() || !list->empty()) {
        log(LogLevel::info,
            "watch list: {} MMSIs from the database (changed through /v1/watchlist); MMSI_LIST ({} MMSIs) "
            "is ignored while the database has one",
            list->size(), config.mmsi_list.size());
      }
      state_.watchlist = std::move(*list);
      state_.watchlist_origin = ControlOrigin::database;
    } else {
      log(LogLevel::warn, "watch list saved in the database is unreadable; using MMSI_LIST");
    }
  }
  if (const auto saved = store.load_setting(kAreasKey)) {
    if (auto areas = areas_from_json(*saved)) {
      log(LogLevel::info,
          "areas: {} boxes from the database (changed through /v1/areas); AISSTREAM_BBOXES is ignored while "
          "the database has them",
          areas->size());
      state_.areas = std::move(*areas);
      state_.areas_origin = ControlOrigin::database;
    } else {
      log(LogLevel::warn, "areas saved in the database are unreadable; using AISSTREAM_BBOXES");
    }
  }
}

ControlState Control::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::array<std::uint64_t, 3> Control::versions() const {
  std::lock_guard lock(mutex_);
  return {state_.watchlist_version, state_.areas_version, state_.sim_version};
}

void Control::save_watchlist(const std::vector<Mmsi>& list) {
  store_.save_setting(kWatchlistKey, watchlist_to_json(list));
}

void Control::save_areas(const std::vector<aisstream::BoundingBox>& areas) {
  store_.save_setting(kAreasKey, areas_to_json(areas));
}

namespace {
// Saves `list` first (a failed save throws and changes nothing), then makes it the watch list, from
// the database from now on. The caller holds the Control's mutex.
template <class Save>
ControlState replace_watchlist(ControlState& state, std::vector<Mmsi> list, Save&& save) {
  save(list);
  state.watchlist = std::move(list);
  state.watchlist_origin = ControlOrigin::database;
  ++state.watchlist_version;
  return state;
}
}  // namespace

ControlState Control::set_watchlist(std::vector<Mmsi> mmsi) {
  normalise(mmsi);
  if (mmsi.size() > kMaxWatchlist) throw std::length_error("watch list too long");
  std::lock_guard lock(mutex_);
  return replace_watchlist(state_, std::move(mmsi), [this](const auto& l) { save_watchlist(l); });
}

ControlState Control::add_to_watchlist(Mmsi mmsi) {
  std::lock_guard lock(mutex_);
  std::vector<Mmsi> list = state_.watchlist;
  const auto it = std::lower_bound(list.begin(), list.end(), mmsi);
  if (it != list.end() && *it == mmsi && state_.watchlist_origin == ControlOrigin::database) return state_;
  if (it == list.end() || *it != mmsi) list.insert(it, mmsi);
  if (list.size() > kMaxWatchlist) throw std::length_error("watch list too long");
  return replace_watchlist(state_, std::move(list), [this](const auto& l) { save_watchlist(l); });
}

std::optional<ControlState> Control::remove_from_watchlist(Mmsi mmsi) {
  std::lock_guard lock(mutex_);
  std::vector<Mmsi> list = state_.watchlist;
  const auto it = std::lower_bound(list.begin(), list.end(), mmsi);
  if (it == list.end() || *it != mmsi) return std::nullopt;
  list.erase(it);
  return replace_watchlist(state_, std::move(list), [this](const auto& l) { save_watchlist(l); });
}

ControlState Control::set_areas(std::vector<aisstream::BoundingBox> areas) {
  std::lock_guard lock(mutex_);
  save_areas(areas);
  state_.areas = std::move(areas);
  state_.areas_origin = ControlOrigin::database;
  ++state_.areas_version;
  return state_;
}

bool Control::reload_saved() {
  // Under the mutex, so a change made here meanwhile cannot be overwritten by an older saved value.
  std::lock_guard lock(mutex_);
  bool changed = false;
  if (const auto saved = store_.load_setting(kWatchlistKey)) {
    if (auto list = watchlist_from_json(*saved); list && *list != state_.watchlist) {
      replace_watchlist(state_, std::move(*list), [](const auto&) {});  // already saved, by its author
      changed = true;
    }
  }
  if (const auto saved = store_.load_setting(kAreasKey)) {
    if (auto areas = areas_from_json(*saved); areas && areas_to_json(*areas) != areas_to_json(state_.areas)) {
      state_.areas = std::move(*areas);
      state_.areas_origin = ControlOrigin::database;
      ++state_.areas_version;
      changed = true;
    }
  }
  return changed;
}

ControlState Control::set_sim(SimRequest sim) {
  std::lock_guard lock(mutex_);
  state_.sim = sim;
  ++state_.sim_version;
  return state_;
}

}  // namespace aistrack::server
