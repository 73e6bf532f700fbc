// Live push (issue #7): who is subscribed to what, and fan-out that never waits for a client.
//
// The hub knows nothing of sockets: each client is a LiveSink (http_server.cpp adapts a
// websocketpp connection), so the subscription rules, the per-client queues and the
// slow-client policy are unit-tested without a network and integration-tested over one.
//
// Flow: App::tick() hands the vessels whose latest state changed to publish(), which only
// copies them into an inbox (newest state per vessel wins) and returns, so ingest never
// waits for fan-out. fan_out() (run by the server on a network thread) serialises each
// vessel once and hands it to every matching client. A client whose socket is behind gets
// its updates queued; past `queue_max` the queue keeps only the newest update per vessel;
// a client still behind after `slow_close_ms` is closed with 1008 and a reason.
#pragma once

#include "geo_box.hpp"

#include <aistrack/tracker.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace aistrack::server {

/// What one client asked to see: vessels in `mmsi` (when given) and inside `bbox` (when given).
struct LiveFilter {
  std::unordered_set<Mmsi> mmsi;  ///< empty: any vessel
  using Box = GeoBox;
  std::optional<Box> bbox;  ///< none: anywhere (vessels without a position included)

  /// True when `v` (with its latest position) matches.
  [[nodiscard]] bool matches(const VesselState& v) const noexcept;
  /// True when `p` is inside the box (or there is no box).
  [[nodiscard]] bool in_box(const LatLon& p) const noexcept;
};

/// A client error, sent back as {"type":"error","error":{"code":…,"message":…}}.
struct LiveError {
  std::string code;
  std::string message;
};

/// Parses a client message; a subscribe gives its filter, anything else a LiveError.
/// `max_mmsi` bounds the MMSI list.
std::variant<LiveFilter, LiveError> parse_live_message(std::string_view text, std::size_t max_mmsi);

/// {"type":"error","error":{"code":…,"message":…}}
std::string live_error_json(const LiveError& error);

/// The transport side of one client (a WebSocket connection in the server).
class LiveSink {
 public:
  virtual ~LiveSink() = default;
  /// Queues a text message on the socket without waiting.
  virtual void send_text(const std::string& text) = 0;
  /// Bytes queued on the socket but not yet written.
  [[nodiscard]] virtual std::size_t buffered_bytes() const = 0;
  /// Starts a close handshake with `code` and `reason`.
  virtual void close(std::uint16_t code, const std::string& reason) = 0;
};

/// Limits of the live endpoint (settings LIVE_*).
struct LiveLimits {
  std::size_t max_clients = 10'000;            ///< more connections are refused (503)
  std::size_t max_mmsi = 1'000;                ///< longest MMSI list in one subscribe
  std::size_t send_buffer_bytes = 256 * 1024;  ///< above this a client counts as behind
  std::size_t queue_max = 1'000;               ///< queued updates before coalescing per vessel
  std::int64_t slow_close_ms = 10'000;         ///< a client behind this long is closed, ms
};

/// Counters for /health and /metrics.
struct LiveCounters {
  std::size_t clients = 0;                 ///< connected now
  std::uint64_t updates_in = 0;            ///< vessel changes published by ingest
  std::uint64_t updates_coalesced_in = 0;  ///< changes replaced in the inbox before fan-out
  std::uint64_t messages_sent = 0;         ///< update and snapshot messages handed to sockets
  std::uint64_t queued = 0;                ///< updates queued because a client was behind
  std::uint64_t coalesced = 0;             ///< queued updates replaced by a newer one for the same vessel
  std::uint64_t closed_slow = 0;           ///< clients closed for falling behind
  std::uint64_t refused = 0;               ///< connections refused at max_clients
  std::uint64_t client_errors = 0;         ///< malformed client messages answered with an error
};

/// Thread-safe registry and fan-out of live clients.
class LiveHub {
 public:
  using ClientId = std::uint64_t;
  /// The record for one vessel (the server passes vessel_json serialised).
  using Serializer = std::function<std::string(const VesselState&)>;

  /// A hub with `limits`; `serialize` turns a vessel into its JSON record.
  LiveHub(LiveLimits limits, Serializer serialize);
  ~LiveHub();
  LiveHub(const LiveHub&) = delete;
  LiveHub& operator=(const LiveHub&) = delete;

  /// Admits a client unless max_clients are connected; nullopt when full (counted as refused).
  std::optional<ClientId> add(std::shared_ptr<LiveSink> sink);
  /// True when another client would be admitted.
  [[nodiscard]] bool has_room() const;
  /// Forgets a client (after its connection closed); unknown ids are ignored.
  void remove(ClientId id);

  /// Handles one text message from a client at `now_ms`: a subscribe replaces the client's filter and
  /// sends a snapshot of `for_each_vessel`'s matching vessels; anything else gets an error message.
  void on_message(ClientId id, std::string_view text,
                  const std::function<void(const std::function<void(const VesselState&)>&)>& for_each_vessel,
                  std::int64_t now_ms);

  /// Hands changed vessels over from ingest; cheap (a copy into the inbox). Returns true when the
  /// inbox was empty before, i.e. the caller should schedule fan_out().
  bool publish(const std::vector<VesselState>& changed);
  /// Sends the inbox to matching clients at `now_ms`.
  void fan_out(std::int64_t now_ms);
  /// Moves queued updates of clients that were behind onto their sockets as room frees up, and closes
  /// clients behind for longer than slow_close_ms. Call it every few ms.
  void flush(std::int64_t now_ms);
  /// Number of clients with queued updates (flush() has work when > 0).
  [[nodiscard]] std::size_t behind() const;

  /// Counters.
  [[nodiscard]] LiveCounters counters() const;
  /// The limits.
  [[nodiscard]] const LiveLimits& limits() const noexcept { return limits_; }

 private:
  struct Client;
  bool deliver(Client& c, Mmsi mmsi, const std::shared_ptr<const std::string>& msg, std::int64_t now_ms);
  void drain(Client& c, std::int64_t now_ms);
  void index_add(ClientId id, const Client& c);
  void index_remove(ClientId id, const Client& c);
  void close_later(Client& c, std::uint16_t code, std::string reason);
  void run_closes();

  LiveLimits limits_;
  Serializer serialize_;
  std::mutex fan_mutex_;      // one fan_out() at a time, so a newer batch never overtakes an older one
  mutable std::mutex mutex_;  // guards everything below
  ClientId next_id_ = 1;
  std::unordered_map<ClientId, std::unique_ptr<Client>> clients_;
  // Clients filtering by MMSI only are found by MMSI; the rest are checked one by one.
  std::unordered_map<Mmsi, std::vector<ClientId>> by_mmsi_;
  std::unordered_set<ClientId> scanned_;
  std::unordered_set<ClientId> behind_;
  // Latest position fanned out per vessel, so a box client is told when a vessel leaves its box.
  std::unordered_map<Mmsi, LatLon> last_position_;
  mutable std::mutex inbox_mutex_;  // guards the inbox only, so publish() never waits for fan_out()
  std::map<Mmsi, VesselState> inbox_;
  std::uint64_t in_updates_ = 0;
  std::uint64_t in_coalesced_ = 0;
  std::vector<std::pair<std::shared_ptr<LiveSink>, std::pair<std::uint16_t, std::string>>> closes_;
  LiveCounters counters_;
};

}  // namespace aistrack::server
