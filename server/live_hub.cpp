#include "live_hub.hpp"

#include <fmt/core.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <utility>

namespace aistrack::server {
namespace json = boost::json;

bool LiveFilter::in_box(const LatLon& p) const noexcept { return !bbox || bbox->contains(p); }

bool LiveFilter::matches(const VesselState& v) const noexcept {
  if (!mmsi.empty() && !mmsi.contains(v.mmsi)) return false;
  if (!bbox) return true;
  return v.position && in_box(v.position->latlon);
}

namespace {

LiveError err(std::string code, std::string message) {
  return LiveError{std::move(code), std::move(message)};
}

std::optional<Mmsi> mmsi_of(const json::value& v) {
  if (v.is_string()) return parse_mmsi(v.get_string());
  if (v.is_int64() && is_valid_mmsi(static_cast<std::uint64_t>(std::max<std::int64_t>(v.get_int64(), 0))))
    return static_cast<Mmsi>(v.get_int64());
  if (v.is_uint64() && is_valid_mmsi(v.get_uint64())) return static_cast<Mmsi>(v.get_uint64());
  return std::nullopt;
}

std::optional<double> number_of(const json::value& v) {
  if (v.is_double() && std::isfinite(v.get_double())) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

std::variant<LiveFilter::Box, LiveError> parse_box(const json::value& v) {
  const auto bad = [] {
    return err(
        "invalid_bbox",
        "bbox must be [minlat,minlon,maxlat,maxlon] in degrees: latitudes -90..90 with minlat <= maxlat, "
        "longitudes -180..180 (minlon > maxlon crosses the antimeridian)");
  };
  if (!v.is_array() || v.get_array().size() != 4) return bad();
  double d[4] = {};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto n = number_of(v.get_array()[i]);
    if (!n) return bad();
    d[i] = *n;
  }
  const LiveFilter::Box b{d[0], d[1], d[2], d[3]};
  const bool lat_ok = b.min_lat_deg >= -90 && b.max_lat_deg <= 90 && b.min_lat_deg <= b.max_lat_deg;
  const bool lon_ok =
      b.min_lon_deg >= -180 && b.min_lon_deg <= 180 && b.max_lon_deg >= -180 && b.max_lon_deg <= 180;
  if (!lat_ok || !lon_ok) return bad();
  return b;
}

}  // namespace

std::variant<LiveFilter, LiveError> parse_live_message(std::string_view text, std::size_t max_mmsi) {
  json::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec) return err("invalid_json", "the message is not JSON: " + ec.message());
  if (!doc.is_object()) return err("invalid_message", "a message is a JSON object with a \"type\"");
  const json::object& o = doc.get_object();
  const auto* type = o.if_contains("type");
  if (type == nullptr || !type->is_string())
    return err("invalid_message", "a message needs \"type\": \"subscribe\"");
  if (type->get_string() != "subscribe")
    return err("unknown_type", fmt::format("unknown message type '{}'; the only one is \"subscribe\"",
                                           std::string_view(type->get_string())));
  LiveFilter f;
  for (const auto& [key, value] : o) {
    if (key == "type") continue;
    if (key == "mmsi") {
      if (!value.is_array()) return err("invalid_mmsi", "mmsi must be an array of 9-digit MMSIs");
      const json::array& a = value.get_array();
      if (a.size() > max_mmsi)
        return err("too_many_mmsi",
                   fmt::format("at most {} MMSIs per subscription; got {}", max_mmsi, a.size()));
      for (const auto& m : a) {
        const auto mmsi = mmsi_of(m);
        if (!mmsi)
          return err("invalid_mmsi", "an MMSI is a number from 1 to 999999999 (or a 9-digit string); got " +
                                         json::serialize(m));
        f.mmsi.insert(*mmsi);
      }
    } else if (key == "bbox") {
      auto box = parse_box(value);
      if (auto* e = std::get_if<LiveError>(&box)) return std::move(*e);
      f.bbox = std::get<LiveFilter::Box>(box);
    } else {
      return err("unknown_field", fmt::format("unknown field '{}' (a subscribe has \"mmsi\" and \"bbox\")",
                                              std::string_view(key)));
    }
  }
  return f;
}

std::string live_error_json(const LiveError& error) {
  return json::serialize(json::object{
      {"type", "error"}, {"error", json::object{{"code", error.code}, {"message", error.message}}}});
}

// Queued updates of one client. While a client keeps up this is empty and updates go straight to
// its socket. Once it holds queue_max updates it coalesces: one entry per vessel, newest message.
struct LiveHub::Client {
  std::shared_ptr<LiveSink> sink;
  LiveFilter filter;
  bool subscribed = false;
  bool awaiting_snapshot = false;
  bool closing = false;
  std::int64_t behind_since_ms = 0;
  struct Entry {
    Mmsi mmsi;
    std::shared_ptr<const std::string> msg;
  };
  std::deque<Entry> queue;
  std::uint64_t head_seq = 0;  // sequence number of queue.front()
  bool coalescing = false;
  std::unordered_map<Mmsi, std::uint64_t> where;  // coalescing: vessel → sequence number of its entry

  // Returns how many queued updates were replaced by newer ones (coalesced).
  std::size_t push(Mmsi mmsi, std::shared_ptr<const std::string> msg, std::size_t queue_max) {
    if (coalescing) {
      if (const auto it = where.find(mmsi); it != where.end()) {
        queue[static_cast<std::size_t>(it->second - head_seq)].msg = std::move(msg);
        return 1;
      }
      where.emplace(mmsi, head_seq + queue.size());
      queue.push_back({mmsi, std::move(msg)});
      return 0;
    }
    queue.push_back({mmsi, std::move(msg)});
    if (queue.size() > queue_max) return start_coalescing();
    return 0;
  }
  // Keeps only the newest entry per vessel, in the order of those newest entries.
  std::size_t start_coalescing() {
    coalescing = true;
    std::deque<Entry> kept;
    std::unordered_set<Mmsi> seen;
    for (auto it = queue.rbegin(); it != queue.rend(); ++it) {
      if (seen.insert(it->mmsi).second) kept.push_front(std::move(*it));
    }
    const std::size_t dropped = queue.size() - kept.size();
    queue = std::move(kept);
    where.clear();
    for (std::size_t i = 0; i < queue.size(); ++i) where.emplace(queue[i].mmsi, head_seq + i);
    return dropped;
  }
  Entry pop() {
    Entry e = std::move(queue.front());
    queue.pop_front();
    if (coalescing) where.erase(e.mmsi);
    ++head_seq;
    if (queue.empty()) coalescing = false;
    return e;
  }
  void clear_queue() {
    head_seq += queue.size();
    queue.clear();
    where.clear();
    coalescing = false;
  }
};

LiveHub::LiveHub(LiveLimits limits, Serializer serialize)
    : limits_(limits), serialize_(std::move(serialize)) {}

LiveHub::~LiveHub() = default;

std::optional<LiveHub::ClientId> LiveHub::add(std::shared_ptr<LiveSink> sink) {
  std::lock_guard lock(mutex_);
  if (clients_.size() >= limits_.max_clients) {
    ++counters_.refused;
    return std::nullopt;
  }
  const ClientId id = next_id_++;
  auto c = std::make_unique<Client>();
  c->sink = std::move(sink);
  clients_.emplace(id, std::move(c));
  return id;
}

bool LiveHub::has_room() const {
  std::lock_guard lock(mutex_);
  return clients_.size() < limits_.max_clients;
}

void LiveHub::remove(ClientId id) {
  std::lock_guard lock(mutex_);
  const auto it = clients_.find(id);
  if (it == clients_.end()) return;
  index_remove(id, *it->second);
  behind_.erase(id);
  clients_.erase(it);
}

void LiveHub::index_add(ClientId id, const Client& c) {
  if (!c.subscribed) return;
  if (c.filter.mmsi.empty()) {
    scanned_.insert(id);
    return;
  }
  for (const Mmsi m : c.filter.mmsi) by_mmsi_[m].push_back(id);
}

void LiveHub::index_remove(ClientId id, const Client& c) {
  if (!c.subscribed) return;
  if (c.filter.mmsi.empty()) {
    scanned_.erase(id);
    return;
  }
  for (const Mmsi m : c.filter.mmsi) {
    const auto it = by_mmsi_.find(m);
    if (it == by_mmsi_.end()) continue;
    std::erase(it->second, id);
    if (it->second.empty()) by_mmsi_.erase(it);
  }
}

void LiveHub::on_message(
    ClientId id, std::string_view text,
    const std::function<void(const std::function<void(const VesselState&)>&)>& for_each_vessel,
    std::int64_t now_ms) {
  auto parsed = parse_live_message(text, limits_.max_mmsi);
  std::shared_ptr<LiveSink> sink;
  if (auto* e = std::get_if<LiveError>(&parsed)) {
    {
      std::lock_guard lock(mutex_);
      const auto it = clients_.find(id);
      if (it == clients_.end() || it->second->closing) return;
      ++counters_.client_errors;
      sink = it->second->sink;
    }
    sink->send_text(live_error_json(*e));
    return;
  }
  LiveFilter filter = std::move(std::get<LiveFilter>(parsed));
  {
    std::lock_guard lock(mutex_);
    const auto it = clients_.find(id);
    if (it == clients_.end() || it->second->closing) return;
    Client& c = *it->second;
    index_remove(id, c);
    c.filter = filter;
    c.subscribed = true;
    // Updates from here on are held until the snapshot is out, so none is lost between the two and
    // none arrives before it; updates queued for the old filter no longer apply.
    c.awaiting_snapshot = true;
    c.clear_queue();
    behind_.erase(id);
    index_add(id, c);
    sink = c.sink;
  }
  // Copy under the Tracker's lock, serialise outside it, so a big snapshot never holds up ingest.
  std::vector<VesselState> matching;
  for_each_vessel([&](const VesselState& v) {
    if (filter.matches(v)) matching.push_back(v);
  });
  std::string snapshot = R"({"type":"snapshot","vessels":[)";
  for (std::size_t i = 0; i < matching.size(); ++i) {
    if (i > 0) snapshot += ',';
    snapshot += serialize_(matching[i]);
  }
  snapshot += "]}";
  sink->send_text(snapshot);
  {
    std::lock_guard lock(mutex_);
    const auto it = clients_.find(id);
    if (it == clients_.end()) return;
    Client& c = *it->second;
    c.awaiting_snapshot = false;
    ++counters_.messages_sent;
    if (!c.queue.empty() && !c.closing) {
      behind_.insert(id);
      c.behind_since_ms = now_ms;
      drain(c, now_ms);
      if (c.queue.empty()) behind_.erase(id);
    }
  }
  run_closes();
}

bool LiveHub::publish(const std::vector<VesselState>& changed) {
  std::lock_guard lock(inbox_mutex_);
  const bool was_empty = inbox_.empty();
  for (const VesselState& v : changed) {
    auto [it, inserted] = inbox_.try_emplace(v.mmsi, v);
    if (!inserted) {
      it->second = v;
      ++in_coalesced_;
    }
  }
  in_updates_ += changed.size();
  return was_empty && !changed.empty();
}

bool LiveHub::deliver(Client& c, Mmsi mmsi, const std::shared_ptr<const std::string>& msg,
                      std::int64_t now_ms) {
  if (c.closing) return false;
  if (!c.awaiting_snapshot && c.queue.empty() && c.sink->buffered_bytes() <= limits_.send_buffer_bytes) {
    c.sink->send_text(*msg);
    ++counters_.messages_sent;
    return false;
  }
  ++counters_.queued;
  counters_.coalesced += c.push(mmsi, msg, limits_.queue_max);
  if (c.awaiting_snapshot) return false;
  if (c.queue.size() == 1) c.behind_since_ms = now_ms;
  return true;
}

void LiveHub::fan_out(std::int64_t now_ms) {
  std::lock_guard fan_lock(fan_mutex_);
  std::map<Mmsi, VesselState> batch;
  {
    std::lock_guard lock(inbox_mutex_);
    batch.swap(inbox_);
  }
  if (batch.empty()) return;
  {
    std::lock_guard lock(mutex_);
    std::vector<ClientId> recipients;
    for (const auto& [mmsi, v] : batch) {
      recipients.clear();
      const auto prev_it = last_position_.find(mmsi);
      const LatLon* prev = prev_it == last_position_.end() ? nullptr : &prev_it->second;
      // A box client also hears the update that takes a vessel out of its box, so its map does not keep
      // showing the vessel where it last was inside.
      // Init-captures: clang before 16 (the fuzz build) cannot capture a structured binding.
      const auto wants = [&prev, &vessel = v, vessel_mmsi = mmsi](const Client& c) {
        return c.filter.matches(vessel) || (c.filter.bbox && prev != nullptr && c.filter.in_box(*prev) &&
                                            (c.filter.mmsi.empty() || c.filter.mmsi.contains(vessel_mmsi)));
      };
      if (const auto it = by_mmsi_.find(mmsi); it != by_mmsi_.end()) {
        for (const ClientId id : it->second)
          if (wants(*clients_.at(id))) recipients.push_back(id);
      }
      for (const ClientId id : scanned_)
        if (wants(*clients_.at(id))) recipients.push_back(id);
      if (v.position) last_position_[mmsi] = v.position->latlon;
      if (recipients.empty()) continue;
      const auto msg =
          std::make_shared<const std::string>(R"({"type":"update","vessel":)" + serialize_(v) + "}");
      for (const ClientId id : recipients) {
        if (deliver(*clients_.at(id), mmsi, msg, now_ms)) behind_.insert(id);
      }
    }
  }
  run_closes();
}

void LiveHub::drain(Client& c, std::int64_t now_ms) {
  while (!c.queue.empty() && c.sink->buffered_bytes() <= limits_.send_buffer_bytes) {
    c.sink->send_text(*c.pop().msg);
    ++counters_.messages_sent;
  }
  if (!c.queue.empty() && now_ms - c.behind_since_ms > limits_.slow_close_ms) {
    close_later(c, 1008,
                fmt::format("client too slow: {} updates waiting after {} s behind", c.queue.size(),
                            (now_ms - c.behind_since_ms) / 1000));
  }
}

void LiveHub::flush(std::int64_t now_ms) {
  {
    std::lock_guard lock(mutex_);
    for (auto it = behind_.begin(); it != behind_.end();) {
      const auto c = clients_.find(*it);
      if (c == clients_.end()) {
        it = behind_.erase(it);
        continue;
      }
      drain(*c->second, now_ms);
      if (c->second->queue.empty() || c->second->closing)
        it = behind_.erase(it);
      else
        ++it;
    }
  }
  run_closes();
}

std::size_t LiveHub::behind() const {
  std::lock_guard lock(mutex_);
  return behind_.size();
}

void LiveHub::close_later(Client& c, std::uint16_t code, std::string reason) {
  if (c.closing) return;
  c.closing = true;
  c.clear_queue();
  ++counters_.closed_slow;
  closes_.emplace_back(c.sink, std::make_pair(code, std::move(reason)));
}

void LiveHub::run_closes() {
  decltype(closes_) closes;
  {
    std::lock_guard lock(mutex_);
    closes.swap(closes_);
  }
  // Outside the lock: a transport may call back into remove() from close().
  for (auto& [sink, what] : closes) sink->close(what.first, what.second);
}

LiveCounters LiveHub::counters() const {
  LiveCounters out;
  {
    std::lock_guard lock(mutex_);
    out = counters_;
    out.clients = clients_.size();
  }
  std::lock_guard lock(inbox_mutex_);
  out.updates_in = in_updates_;
  out.updates_coalesced_in = in_coalesced_;
  return out;
}

}  // namespace aistrack::server
