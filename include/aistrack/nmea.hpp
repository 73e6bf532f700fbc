// NMEA 0183 / IEC 61162-1 transport of AIS: !xxVDM and !xxVDO sentences with any talker,
// checksums, NMEA 4.x tag blocks, several sentences on one line, and multipart reassembly.
//
// Line rules (also in docs/NMEA.md):
// - Talkers: any two letters, digits or '-' ("AI", "BS", "B2", "--").
// - A line may hold any number of tag blocks (`\s:rMT1200,c:1697012048*78\`) and sentences
//   (`!AIVDM,…*hh`, `$GPRMC,…*hh`), with junk before, between and after them (e.g. a
//   "[2024-07-19 08:45:27.141] " prefix or USCG ",b003669794,1272412827" suffixes).
// - A tag block applies to the sentence right after it. A tag block whose checksum or syntax
//   is wrong is ignored (counted) and the sentence still counts.
// - Sentences need a correct "*hh" checksum. Blank lines and lines starting with '#' are
//   counted and skipped; a line with no sentence at all is junk (counted).
// - Multipart messages are joined by (sequence id, channel, VDM/VDO); fragments may arrive in
//   any order. At most `max_pending_groups` wait at once (the oldest is dropped beyond that)
//   and a group older than `fragment_timeout_ms` is dropped: every fragment so dropped counts
//   as an orphan. Nothing here throws on input or reads the clock: time comes in as a parameter.
#pragma once

#include <aistrack/types.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aistrack::nmea {

/// XOR of every byte of `body`, the text between the leading '!', '$' or '\' and the '*'.
constexpr std::uint8_t checksum(std::string_view body) noexcept {
  std::uint8_t x = 0;
  for (const char c : body) x ^= static_cast<std::uint8_t>(c);
  return x;
}

/// The g: field of a tag block ("g:1-2-1278": sentence 1 of 2 in group 1278).
struct TagGroup {
  std::uint8_t sentence = 0;  ///< 1-based
  std::uint8_t total = 0;
  std::uint32_t id = 0;
  friend bool operator==(const TagGroup&, const TagGroup&) = default;
};

/// An NMEA 4.x tag block. String fields are views into the parsed text.
struct TagBlock {
  std::optional<TimeMs> time_ms;              ///< c: UNIX time (seconds or milliseconds) as ms UTC
  std::string_view source;                    ///< s: station / source id, e.g. "rMT1200" (empty: absent)
  std::string_view destination;               ///< d:
  std::string_view text;                      ///< t:
  std::optional<std::uint32_t> line_count;    ///< n:
  std::optional<std::int64_t> relative_time;  ///< r: as sent (units are the sender's)
  std::optional<TagGroup> group;              ///< g:
};

/// Outcome of parse_tag_block.
enum class TagStatus : std::uint8_t {
  ok,
  bad_checksum,  ///< "*hh" present but wrong
  malformed,     ///< no "*hh", or a field that is not "x:value", or an unreadable c:/n:/r:/g:
};

/// Parses the text between a tag block's backslashes ("s:…,c:…*hh") into `out` (views into `content`).
/// c: values of 11 or more integer digits are milliseconds, shorter ones seconds (a fraction is allowed).
TagStatus parse_tag_block(std::string_view content, TagBlock& out) noexcept;

/// One !xxVDM or !xxVDO sentence; `payload` is a view into the parsed text.
struct Sentence {
  std::array<char, 2> talker{};      ///< "AI", "AB", "BS", "SA", "B2", "--", … (two letters, digits or '-')
  bool own_ship = false;             ///< VDO: our own vessel's report; VDM: everyone else's
  std::uint8_t fragment_count = 1;   ///< 1..9
  std::uint8_t fragment_number = 1;  ///< 1..fragment_count
  std::optional<std::uint8_t> sequence_id;  ///< 0..9; empty field → nullopt
  char channel = '\0';                      ///< 'A', 'B', '1', '2', …; '\0' when the field is empty
  std::string_view payload;                 ///< 6-bit ASCII armour, not yet checked character by character
  std::uint8_t fill_bits = 0;               ///< 0..5 (an empty field reads as 0)
};

/// Outcome of parse_sentence.
enum class SentenceStatus : std::uint8_t {
  ok,            ///< an AIS sentence; `out` is filled
  not_ais,       ///< a well-formed NMEA sentence of another kind ($GPRMC, !AIABK, …)
  no_checksum,   ///< no "*hh" after the body
  bad_checksum,  ///< "*hh" does not match
  malformed,     ///< VDM/VDO with wrong fields (count, fragment numbers, fill bits, …)
};

/// "ok", "not_ais", "no_checksum", "bad_checksum" or "malformed".
std::string_view to_string(SentenceStatus status) noexcept;

/// Parses one sentence that starts at text[0] ('!' or '$') and ends at its "*hh"; anything after the
/// checksum is ignored. `consumed` (if given) receives the length up to and including "*hh" (or up to
/// where parsing stopped). Never throws.
SentenceStatus parse_sentence(std::string_view text, Sentence& out, std::size_t* consumed = nullptr) noexcept;

/// Bounds of the multipart assembler.
struct AssemblerConfig {
  std::size_t max_pending_groups = 64;  ///< multipart messages waiting for fragments at once (1..4096)
  TimeMs fragment_timeout_ms = 10'000;  ///< a group waiting longer than this (received time) is dropped
  std::size_t max_payload_chars = 341;  ///< longer joined payloads (> 2046 bits) are dropped as oversized
};

/// A complete AIS payload: one single-fragment sentence or a reassembled multipart message.
/// The views stay valid until the next call on the Assembler (and, for single sentences, while the
/// line passed in lives).
struct Payload {
  std::string_view armored;        ///< 6-bit ASCII armour of all fragments, in order
  std::uint8_t fill_bits = 0;      ///< of the last fragment
  std::array<char, 2> talker{};    ///< of the last fragment
  bool own_ship = false;           ///< VDO
  char channel = '\0';             ///< '\0' when empty
  std::uint8_t fragments = 1;      ///< sentences joined
  TimeMs ts_ms = 0;                ///< tag-block c: of the earliest fragment carrying one, else received_ms
  bool ts_from_tag_block = false;  ///< true when ts_ms came from a tag block
  std::string_view station;        ///< tag-block s: (empty when absent)
};

/// Counts of everything fed to an Assembler, for --stats, /health and /metrics.
struct Counters {
  std::uint64_t lines = 0;                ///< lines fed
  std::uint64_t blank_lines = 0;          ///< empty or whitespace only
  std::uint64_t comment_lines = 0;        ///< first non-blank character '#'
  std::uint64_t junk_lines = 0;           ///< neither blank nor comment, and no sentence start in them
  std::uint64_t sentences = 0;            ///< AIS sentences accepted (VDM and VDO)
  std::uint64_t own_ship_sentences = 0;   ///< of which VDO
  std::uint64_t other_sentences = 0;      ///< well-formed NMEA that is not AIS ($GPRMC, $PGHP, …): skipped
  std::uint64_t no_checksum = 0;          ///< sentences without "*hh": dropped
  std::uint64_t bad_checksum = 0;         ///< sentences whose checksum is wrong: dropped
  std::uint64_t malformed_sentences = 0;  ///< VDM/VDO with impossible fields: dropped
  std::uint64_t tag_blocks = 0;           ///< tag blocks read and used
  std::uint64_t bad_tag_blocks = 0;  ///< tag blocks ignored (checksum or syntax); their sentence still counts
  std::uint64_t payloads = 0;        ///< complete payloads returned
  std::uint64_t multipart_payloads = 0;      ///< of which reassembled from several sentences
  std::uint64_t out_of_order_fragments = 0;  ///< fragment numbers that were not the next one expected
  std::uint64_t orphan_fragments = 0;        ///< fragments dropped because their message never completed
  std::uint64_t timed_out_groups = 0;        ///< incomplete groups dropped after fragment_timeout_ms
  std::uint64_t evicted_groups = 0;          ///< incomplete groups dropped to stay within max_pending_groups
  std::uint64_t restarted_groups = 0;    ///< incomplete groups replaced by a new message with the same key
  std::uint64_t oversized_payloads = 0;  ///< joined payloads longer than max_payload_chars: dropped
};

/// Turns lines of NMEA text into complete AIS payloads. Reuses its memory: after warm-up, feeding
/// lines does not allocate. Not thread-safe: one Assembler per input stream (or guard it).
class Assembler {
 public:
  /// Throws aistrack::Error when a bound is 0 or absurd (max_pending_groups above 4096).
  explicit Assembler(AssemblerConfig config = {});

  /// Parses one line (a trailing "\r\n" is fine) received at `received_ms` (ms UTC) and returns the
  /// payloads it completed, in order; views valid until the next call. Never throws on input.
  std::span<const Payload> feed_line(std::string_view line, TimeMs received_ms);

  /// Drops groups that have waited more than fragment_timeout_ms at `now_ms` (ms UTC); feed_line does
  /// this too, so call it only when lines stop coming.
  void expire(TimeMs now_ms);

  /// Drops every group waiting for fragments (their fragments count as orphans); call it between
  /// independent inputs, e.g. two files, so fragments never join across them.
  void clear_pending() noexcept;

  /// Number of multipart groups waiting for fragments.
  [[nodiscard]] std::size_t pending_groups() const noexcept;

  /// Everything counted since construction.
  [[nodiscard]] const Counters& counters() const noexcept { return counters_; }

  /// The bounds in use.
  [[nodiscard]] const AssemblerConfig& config() const noexcept { return config_; }

 private:
  struct Group {
    bool used = false;
    bool own_ship = false;
    std::optional<std::uint8_t> sequence_id;
    char channel = '\0';
    std::uint8_t total = 0;
    std::uint8_t received = 0;    // number of distinct fragments held
    std::uint8_t highest = 0;     // highest fragment number seen
    std::uint16_t have_mask = 0;  // bit n set: fragment n held
    TimeMs first_received_ms = 0;
    std::optional<TimeMs> tag_time_ms;  // c: of the lowest-numbered fragment carrying one
    std::uint8_t tag_time_fragment = 0;
    std::string station;
    std::array<std::string, 10> parts;  // index = fragment number (1..9)
    std::uint8_t fill_bits = 0;
    std::array<char, 2> talker{};
  };
  struct Joined {
    std::string payload;
    std::string station;
  };

  void on_sentence(const Sentence& s, const TagBlock* tag, TimeMs received_ms);
  void drop(Group& g) noexcept;
  Group* find_group(const Sentence& s) noexcept;
  Group& new_group(TimeMs received_ms);
  void emit_group(Group& g, TimeMs received_ms);

  AssemblerConfig config_;
  Counters counters_;
  std::vector<Group> groups_;
  std::size_t pending_ = 0;
  std::vector<Payload> out_;
  std::vector<Joined> joined_;  // storage for multipart payloads returned by the current call
  std::size_t joined_used_ = 0;
  std::vector<std::size_t> out_joined_;  // per out_ entry: index into joined_, or npos (views set at the end)
};

}  // namespace aistrack::nmea
