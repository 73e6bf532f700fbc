#include <aistrack/nmea.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace aistrack::nmea {
namespace {

constexpr std::size_t kNoJoined = std::numeric_limits<std::size_t>::max();

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Characters that end a sentence body ('*', or the start of something else) and the field separator.
constexpr std::uint8_t kComma = 1;
constexpr std::uint8_t kStop = 2;
constexpr std::array<std::uint8_t, 256> make_char_class() {
  std::array<std::uint8_t, 256> t{};
  t[static_cast<unsigned char>(',')] = kComma;
  for (const char c : {'*', '!', '$', '\\', '\r', '\n'}) t[static_cast<unsigned char>(c)] = kStop;
  return t;
}
constexpr auto kCharClass = make_char_class();

bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/// Unsigned decimal with at most `max_digits` digits; anything else → nullopt.
std::optional<std::uint64_t> parse_uint(std::string_view s, std::size_t max_digits = 18) noexcept {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

/// c: UNIX time. 11 or more integer digits → milliseconds, else seconds; an optional fraction
/// (".5", ".123") is read to the millisecond.
std::optional<TimeMs> parse_tag_time(std::string_view s) noexcept {
  const auto dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const auto w = parse_uint(whole, 15);
  if (!w) return std::nullopt;
  if (whole.size() >= 11) {
    if (dot != std::string_view::npos) return std::nullopt;
    return static_cast<TimeMs>(*w);
  }
  TimeMs ms = static_cast<TimeMs>(*w) * 1000;
  if (dot != std::string_view::npos) {
    const std::string_view frac = s.substr(dot + 1);
    if (frac.empty()) return std::nullopt;
    TimeMs scale = 100;
    for (const char c : frac) {
      if (!is_digit(c)) return std::nullopt;
      ms += (c - '0') * scale;
      scale /= 10;
    }
  }
  return ms;
}

/// "1-2-1278" → {1, 2, 1278}.
std::optional<TagGroup> parse_group(std::string_view s) noexcept {
  const auto a = s.find('-');
  if (a == std::string_view::npos) return std::nullopt;
  const auto b = s.find('-', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  const auto sentence = parse_uint(s.substr(0, a), 2);
  const auto total = parse_uint(s.substr(a + 1, b - a - 1), 2);
  const auto id = parse_uint(s.substr(b + 1), 9);
  if (!sentence || !total || !id || *sentence < 1 || *sentence > *total) return std::nullopt;
  return TagGroup{static_cast<std::uint8_t>(*sentence), static_cast<std::uint8_t>(*total),
                  static_cast<std::uint32_t>(*id)};
}

}  // namespace

std::string_view to_string(SentenceStatus status) noexcept {
  switch (status) {
    case SentenceStatus::ok: return "ok";
    case SentenceStatus::not_ais: return "not_ais";
    case SentenceStatus::no_checksum: return "no_checksum";
    case SentenceStatus::bad_checksum: return "bad_checksum";
    case SentenceStatus::malformed: return "malformed";
  }
  return "malformed";
}

TagStatus parse_tag_block(std::string_view content, TagBlock& out) noexcept {
  out = TagBlock{};
  const auto star = content.rfind('*');
  if (star == std::string_view::npos || content.size() - star != 3) return TagStatus::malformed;
  const int hi = hex_value(content[star + 1]);
  const int lo = hex_value(content[star + 2]);
  if (hi < 0 || lo < 0) return TagStatus::malformed;
  const std::string_view body = content.substr(0, star);
  if (checksum(body) != static_cast<std::uint8_t>(hi * 16 + lo)) return TagStatus::bad_checksum;
  // Fields are "k:value" separated by commas; a field we cannot read is ignored on its own.
  std::size_t pos = 0;
  while (pos <= body.size()) {
    auto comma = body.find(',', pos);
    if (comma == std::string_view::npos) comma = body.size();
    const std::string_view field = body.substr(pos, comma - pos);
    pos = comma + 1;
    const auto colon = field.find(':');
    if (colon != 1) continue;  // keys are one letter; others (e.g. a bare ":") carry nothing we use
    const std::string_view value = field.substr(2);
    switch (field[0]) {
      case 'c':
        if (auto t = parse_tag_time(value)) out.time_ms = t;
        break;
      case 's': out.source = value; break;
      case 'd': out.destination = value; break;
      case 't': out.text = value; break;
      case 'n':
        if (auto n = parse_uint(value, 9)) out.line_count = static_cast<std::uint32_t>(*n);
        break;
      case 'r':
        if (auto r = parse_uint(value, 18)) out.relative_time = static_cast<std::int64_t>(*r);
        break;
      case 'g':
      case 'G':
        if (auto g = parse_group(value)) out.group = g;
        break;
      default: break;
    }
  }
  return TagStatus::ok;
}

SentenceStatus parse_sentence(std::string_view text, Sentence& out, std::size_t* consumed) noexcept {
  const std::size_t n = text.size();
  if (n == 0 || (text[0] != '!' && text[0] != '$')) {
    if (consumed != nullptr) *consumed = n == 0 ? 0 : 1;
    return SentenceStatus::malformed;
  }
  // One pass: XOR for the checksum, the first commas, and where the body ends ('*', or where something
  // else starts when the checksum is missing). A table keeps the common character to one test.
  const char* const data = text.data();
  std::size_t commas[8] = {};
  std::size_t ncommas = 0;
  std::uint8_t x = 0;
  std::size_t i = 1;
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    const std::uint8_t cls = kCharClass[c];
    if (cls != 0) {
      if (cls != kComma) break;
      if (ncommas < 8) commas[ncommas++] = i;
    }
    x ^= c;
  }
  if (i + 2 >= n || text[i] != '*') {  // no '*', or fewer than two characters after it
    if (consumed != nullptr) *consumed = i;
    return SentenceStatus::no_checksum;
  }
  const int hi = hex_value(text[i + 1]);
  const int lo = hex_value(text[i + 2]);
  if (hi < 0 || lo < 0) {
    if (consumed != nullptr) *consumed = i + 1;
    return SentenceStatus::no_checksum;
  }
  if (consumed != nullptr) *consumed = i + 3;
  if (x != static_cast<std::uint8_t>(hi * 16 + lo)) return SentenceStatus::bad_checksum;
  // Address field: two talker characters then VDM or VDO.
  const std::size_t addr_end = ncommas > 0 ? commas[0] : i;
  auto talker_char = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  };
  if (addr_end != 6 || !talker_char(text[1]) || !talker_char(text[2]) || text[3] != 'V' || text[4] != 'D' ||
      (text[5] != 'M' && text[5] != 'O')) {
    return SentenceStatus::not_ais;
  }
  if (ncommas != 6) return SentenceStatus::malformed;
  auto field = [&](std::size_t k) {  // k = 1..6
    const std::size_t begin = commas[k - 1] + 1;
    const std::size_t end = k < 6 ? commas[k] : i;
    return text.substr(begin, end - begin);
  };
  const std::string_view count = field(1);
  const std::string_view number = field(2);
  const std::string_view seq = field(3);
  const std::string_view channel = field(4);
  const std::string_view fill = field(6);
  if (count.size() != 1 || count[0] < '1' || count[0] > '9') return SentenceStatus::malformed;
  if (number.size() != 1 || number[0] < '1' || number[0] > count[0]) return SentenceStatus::malformed;
  if (seq.size() > 1 || (seq.size() == 1 && !is_digit(seq[0]))) return SentenceStatus::malformed;
  if (channel.size() > 1) return SentenceStatus::malformed;
  if (fill.size() > 1 || (fill.size() == 1 && (fill[0] < '0' || fill[0] > '5')))
    return SentenceStatus::malformed;

  out.talker = {text[1], text[2]};
  out.own_ship = text[5] == 'O';
  out.fragment_count = static_cast<std::uint8_t>(count[0] - '0');
  out.fragment_number = static_cast<std::uint8_t>(number[0] - '0');
  out.sequence_id = seq.empty() ? std::nullopt : std::optional<std::uint8_t>(seq[0] - '0');
  out.channel = channel.empty() ? '\0' : channel[0];
  out.payload = field(5);
  out.fill_bits = fill.empty() ? 0 : static_cast<std::uint8_t>(fill[0] - '0');
  return SentenceStatus::ok;
}

Assembler::Assembler(AssemblerConfig config) : config_(config) {
  if (config_.max_pending_groups == 0 || config_.max_pending_groups > 4096) {
    throw Error("nmea::AssemblerConfig::max_pending_groups must be 1..4096, got " +
                std::to_string(config_.max_pending_groups));
  }
  if (config_.fragment_timeout_ms <= 0) {
    throw Error("nmea::AssemblerConfig::fragment_timeout_ms must be positive, got " +
                std::to_string(config_.fragment_timeout_ms));
  }
  if (config_.max_payload_chars == 0)
    throw Error("nmea::AssemblerConfig::max_payload_chars must be positive");
  out_.reserve(8);
  out_joined_.reserve(8);
}

std::size_t Assembler::pending_groups() const noexcept { return pending_; }

void Assembler::clear_pending() noexcept {
  for (Group& g : groups_) {
    if (g.used) drop(g);
  }
}

void Assembler::drop(Group& g) noexcept {
  counters_.orphan_fragments += g.received;
  g.used = false;
  --pending_;
}

void Assembler::expire(TimeMs now_ms) {
  if (pending_ == 0) return;
  for (Group& g : groups_) {
    if (!g.used) continue;
    const TimeMs age = now_ms - g.first_received_ms;
    if (age > config_.fragment_timeout_ms || age < -config_.fragment_timeout_ms) {
      ++counters_.timed_out_groups;
      drop(g);
    }
  }
}

Assembler::Group* Assembler::find_group(const Sentence& s) noexcept {
  if (pending_ == 0) return nullptr;
  for (Group& g : groups_) {
    if (g.used && g.own_ship == s.own_ship && g.sequence_id == s.sequence_id && g.channel == s.channel)
      return &g;
  }
  return nullptr;
}

Assembler::Group& Assembler::new_group(TimeMs received_ms) {
  Group* slot = nullptr;
  for (Group& g : groups_) {
    if (!g.used) {
      slot = &g;
      break;
    }
  }
  if (slot == nullptr && groups_.size() < config_.max_pending_groups) {
    groups_.emplace_back();
    slot = &groups_.back();
  }
  if (slot == nullptr) {  // full: the group waiting longest makes room
    slot = &*std::min_element(groups_.begin(), groups_.end(), [](const Group& a, const Group& b) {
      return a.first_received_ms < b.first_received_ms;
    });
    ++counters_.evicted_groups;
    drop(*slot);
  }
  Group& g = *slot;
  g.used = true;
  g.received = 0;
  g.highest = 0;
  g.have_mask = 0;
  g.first_received_ms = received_ms;
  g.tag_time_ms.reset();
  g.tag_time_fragment = 0;
  g.station.clear();
  g.fill_bits = 0;
  ++pending_;
  return g;
}

void Assembler::emit_group(Group& g, TimeMs received_ms) {
  std::size_t total_chars = 0;
  for (std::uint8_t k = 1; k <= g.total; ++k) total_chars += g.parts[k].size();
  g.used = false;
  --pending_;
  if (total_chars > config_.max_payload_chars) {
    ++counters_.oversized_payloads;
    return;
  }
  if (joined_used_ == joined_.size()) joined_.emplace_back();
  Joined& j = joined_[joined_used_];
  j.payload.clear();
  for (std::uint8_t k = 1; k <= g.total; ++k) j.payload += g.parts[k];
  j.station = g.station;
  Payload p;
  p.fill_bits = g.fill_bits;
  p.talker = g.talker;
  p.own_ship = g.own_ship;
  p.channel = g.channel;
  p.fragments = g.total;
  p.ts_from_tag_block = g.tag_time_ms.has_value();
  p.ts_ms = g.tag_time_ms.value_or(received_ms);
  out_.push_back(p);
  out_joined_.push_back(joined_used_);
  ++joined_used_;
  ++counters_.payloads;
  ++counters_.multipart_payloads;
}

void Assembler::on_sentence(const Sentence& s, const TagBlock* tag, TimeMs received_ms) {
  if (s.fragment_count == 1) {
    if (s.payload.size() > config_.max_payload_chars) {
      ++counters_.oversized_payloads;
      return;
    }
    Payload p;
    p.armored = s.payload;
    p.fill_bits = s.fill_bits;
    p.talker = s.talker;
    p.own_ship = s.own_ship;
    p.channel = s.channel;
    p.fragments = 1;
    p.ts_from_tag_block = tag != nullptr && tag->time_ms.has_value();
    p.ts_ms = p.ts_from_tag_block ? *tag->time_ms : received_ms;
    if (tag != nullptr) p.station = tag->source;
    out_.push_back(p);
    out_joined_.push_back(kNoJoined);
    ++counters_.payloads;
    return;
  }
  const std::uint8_t n = s.fragment_number;
  Group* g = find_group(s);
  if (g != nullptr && (g->total != s.fragment_count || (g->have_mask & (1U << n)) != 0)) {
    // Same key, but this fragment belongs to a new message: the old one will never complete.
    ++counters_.restarted_groups;
    drop(*g);
    g = nullptr;
  }
  if (g == nullptr) {
    g = &new_group(received_ms);
    g->own_ship = s.own_ship;
    g->sequence_id = s.sequence_id;
    g->channel = s.channel;
    g->total = s.fragment_count;
  }
  if (n != g->highest + 1) ++counters_.out_of_order_fragments;
  g->highest = std::max(g->highest, n);
  g->parts[n].assign(s.payload.data(), s.payload.size());
  g->have_mask = static_cast<std::uint16_t>(g->have_mask | (1U << n));
  ++g->received;
  if (tag != nullptr) {
    if (tag->time_ms && (!g->tag_time_ms || n < g->tag_time_fragment)) {
      g->tag_time_ms = tag->time_ms;
      g->tag_time_fragment = n;
    }
    if (!tag->source.empty() && g->station.empty()) g->station.assign(tag->source.data(), tag->source.size());
  }
  if (n == g->total) {
    g->fill_bits = s.fill_bits;
    g->talker = s.talker;
  }
  if (g->received == g->total) emit_group(*g, received_ms);
}

std::span<const Payload> Assembler::feed_line(std::string_view line, TimeMs received_ms) {
  out_.clear();
  out_joined_.clear();
  joined_used_ = 0;
  ++counters_.lines;
  if (pending_ > 0) expire(received_ms);

  std::size_t b = 0;
  std::size_t e = line.size();
  while (b < e && is_blank(line[b])) ++b;
  while (e > b && is_blank(line[e - 1])) --e;
  if (b == e) {
    ++counters_.blank_lines;
    return {};
  }
  if (line[b] == '#') {
    ++counters_.comment_lines;
    return {};
  }

  bool found_sentence = false;
  TagBlock tag;
  bool have_tag = false;
  std::size_t i = b;
  while (i < e) {
    const char c = line[i];
    if (c == '\\') {
      const std::size_t close = line.find('\\', i + 1);
      if (close == std::string_view::npos || close >= e) break;  // unterminated: the rest is junk
      if (parse_tag_block(line.substr(i + 1, close - i - 1), tag) == TagStatus::ok) {
        ++counters_.tag_blocks;
        have_tag = true;
      } else {
        ++counters_.bad_tag_blocks;
        have_tag = false;
      }
      i = close + 1;
      continue;
    }
    if (c == '!' || c == '$') {
      found_sentence = true;
      Sentence s;
      std::size_t used = 0;
      switch (parse_sentence(line.substr(i, e - i), s, &used)) {
        case SentenceStatus::ok:
          ++counters_.sentences;
          if (s.own_ship) ++counters_.own_ship_sentences;
          on_sentence(s, have_tag ? &tag : nullptr, received_ms);
          break;
        case SentenceStatus::not_ais: ++counters_.other_sentences; break;
        case SentenceStatus::no_checksum: ++counters_.no_checksum; break;
        case SentenceStatus::bad_checksum: ++counters_.bad_checksum; break;
        case SentenceStatus::malformed: ++counters_.malformed_sentences; break;
      }
      have_tag = false;
      i += std::max<std::size_t>(used, 1);
      continue;
    }
    ++i;
  }
  if (!found_sentence) ++counters_.junk_lines;

  // Multipart payloads live in joined_, which may have grown during this call: point at them now.
  for (std::size_t k = 0; k < out_.size(); ++k) {
    if (out_joined_[k] == kNoJoined) continue;
    const Joined& j = joined_[out_joined_[k]];
    out_[k].armored = j.payload;
    out_[k].station = j.station;
  }
  return out_;
}

}  // namespace aistrack::nmea
