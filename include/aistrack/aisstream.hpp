// aisstream.io JSON text frames → Message.
//
// Conversion rules (also in README "aisstream.io messages"):
// - Converted: PositionReport (1/2/3), BaseStationReport (4), ShipStaticData (5),
//   StandardSearchAndRescueAircraftReport (9), StandardClassBPositionReport (18),
//   ExtendedClassBPositionReport (19), AidsToNavigationReport (21), StaticDataReport (24 A/B),
//   LongRangeAisBroadcastMessage (27).
// - Skipped with a reason (status `skipped`, not an error): SubscriptionConfirmation, every
//   other message type (binary, safety text, interrogation, …) and unknown types.
// - `{"error": "..."}` frames from the service → status `service_error` with its text.
// - Rejected (`invalid`): MMSI 0 or above 999'999'999; latitude outside ±90 or longitude
//   outside ±180 other than the "not available" 91 / 181; a type-24 frame with neither part valid.
// - Nulled (message kept): heading outside 0..359, SOG/COG out of range, ROT −128, ETA with
//   an impossible date, IMO outside 1'000'000..9'999'999, all-zero dimensions, empty strings.
// - Time: MetaData.time_utc (Go's time.String(): "2006-01-02 15:04:05.999999999 -0700 MST",
//   0–9 fractional digits) → ms UTC, truncated. Absent → the `received_ms` argument;
//   present but malformed → `malformed`.
#pragma once

#include <aistrack/message.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aistrack::aisstream {

/// Outcome of converting one frame.
enum class Status : std::uint8_t {
  ok,             ///< `message` is set
  skipped,        ///< well-formed but not something we track (reason says which type)
  malformed,      ///< not JSON, or JSON without the envelope's required fields
  invalid,        ///< well-formed but impossible values (reason says which)
  service_error,  ///< the service sent {"error": "..."}; reason holds its text
};

/// "ok", "skipped", "malformed", "invalid" or "service_error".
std::string_view to_string(Status status) noexcept;

/// Result of Parser::parse; `reason` is empty when status is ok.
struct Result {
  Status status = Status::malformed;
  std::optional<Message> message;
  std::string reason;
};

/// Counts of every outcome since construction, for /health and /metrics.
struct Counters {
  std::uint64_t ok = 0;
  std::uint64_t skipped = 0;
  std::uint64_t malformed = 0;
  std::uint64_t invalid = 0;
  std::uint64_t service_error = 0;
};

/// Reusable converter; keeps its JSON memory between frames so steady-state parsing
/// does not allocate. Not thread-safe: use one Parser per thread.
class Parser {
 public:
  Parser();
  ~Parser();
  Parser(Parser&&) noexcept;
  Parser& operator=(Parser&&) noexcept;
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  /// Converts one text frame; `received_ms` (ms UTC) is used when the frame has no time. Never throws on
  /// input.
  Result parse(std::string_view frame, TimeMs received_ms);

  /// Outcome counts of every parse() so far.
  [[nodiscard]] const Counters& counters() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// One-shot convenience around Parser (allocates; prefer a Parser in loops).
Result parse(std::string_view frame, TimeMs received_ms);

/// One subscription box, corners as aisstream.io wants them: latitude first.
struct BoundingBox {
  double lat1_deg = -90;
  double lon1_deg = -180;
  double lat2_deg = 90;
  double lon2_deg = 180;
};

/// What to ask the service for.
struct Subscription {
  std::string api_key;
  std::vector<BoundingBox> boxes;          ///< empty → the whole world
  std::vector<Mmsi> mmsi;                  ///< sent only when 1..kMaxSubscribedMmsi (else filter locally)
  std::vector<std::string> message_types;  ///< empty → all types
};

/// Most MMSIs the service accepts in FiltersShipMMSI.
inline constexpr std::size_t kMaxSubscribedMmsi = 50;

/// The subscription message (JSON) to send within 3 s of connecting. Contains the API key: never log it.
std::string subscription_json(const Subscription& subscription);

/// Checks one box: latitudes within ±90, longitudes within ±180, and not evidently lon-first; on error
/// returns false and says why in `error` (`index` is the 1-based box number used in the message).
bool validate_bounding_box(const BoundingBox& box, int index, std::string& error);

/// Decides when a changed subscription may be sent on an open connection: the service takes at most
/// one subscription per second, so changes that come faster are coalesced into one later send.
/// Pure logic: the caller passes the clock (`now_ms`, any monotonic ms) and owns the timer.
class SubscriptionPacer {
 public:
  /// At most one send per `min_interval_ms` (aisstream.io: 1000).
  explicit SubscriptionPacer(TimeMs min_interval_ms = 1000) noexcept : min_interval_ms_(min_interval_ms) {}
  /// A subscription was sent at `now_ms` (at connect, or the paced one); nothing is pending any more.
  void sent(TimeMs now_ms) noexcept {
    last_sent_ms_ = now_ms;
    pending_ = false;
  }
  /// The subscription changed at `now_ms`: returns when to send it (ms, >= now_ms), or nullopt when a
  /// send is already scheduled, which will carry this change too (the caller sends the newest one).
  std::optional<TimeMs> changed(TimeMs now_ms) noexcept {
    if (pending_) return std::nullopt;
    pending_ = true;
    if (!last_sent_ms_) return now_ms;
    return std::max(now_ms, *last_sent_ms_ + min_interval_ms_);
  }
  /// The connection ended: nothing is scheduled (the next connection subscribes with the newest anyway).
  void reset() noexcept {
    pending_ = false;
    last_sent_ms_.reset();
  }
  /// True while a send is scheduled.
  [[nodiscard]] bool pending() const noexcept { return pending_; }

 private:
  TimeMs min_interval_ms_;
  std::optional<TimeMs> last_sent_ms_;
  bool pending_ = false;
};

/// Parses "lat1,lon1,lat2,lon2;…" (latitude first); on error returns nullopt and says why in `error`.
std::optional<std::vector<BoundingBox>> parse_bounding_boxes(std::string_view text, std::string& error);

/// True when `name` is a message type aisstream.io knows (for FilterMessageTypes).
bool is_known_message_type(std::string_view name) noexcept;

/// Parses Go's time.String() form ("2023-10-15 09:51:08.143077274 +0000 UTC") → ms UTC.
std::optional<TimeMs> parse_go_time(std::string_view text) noexcept;

}  // namespace aistrack::aisstream
