// aistrack-decode: NMEA !AIVDM/!AIVDO lines from files (or stdin) → one JSON object per decoded AIS
// message on stdout. The one idea: nmea::Assembler turns lines into payloads, ais::decode turns
// payloads into fields.
//
//   aistrack-decode [--stats] [FILE...]     ("-" or no FILE: standard input)
//
// Field names are listed in docs/NMEA.md. Errors in the input (bad checksums, junk lines, orphan
// fragments, undecodable payloads) are counted, never fatal; --stats prints the counts on stderr.
// Exit status: 0 when every input was read, 1 for an I/O error (unreadable file, failed write),
// 2 for a usage error.
#include <aistrack/decode.hpp>
#include <aistrack/nmea.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using aistrack::TimeMs;

constexpr std::size_t kReadBytes = 1 << 20;
constexpr std::size_t kFlushBytes = 1 << 20;

TimeMs now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Writes `v` as exactly `width` digits (leading zeros) at p; returns the end.
char* put_digits(char* p, std::int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

/// "2023-10-15T09:51:08.143Z" (years 0..9999; proleptic Gregorian, Howard Hinnant's algorithm) at p.
char* put_iso8601(char* p, TimeMs ts_ms) {
  std::int64_t days = ts_ms / 86'400'000;
  std::int64_t ms_of_day = ts_ms % 86'400'000;
  if (ms_of_day < 0) {
    ms_of_day += 86'400'000;
    --days;
  }
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = std::clamp<std::int64_t>(yoe + era * 400 + (month <= 2 ? 1 : 0), 0, 9999);
  p = put_digits(p, year, 4);
  *p++ = '-';
  p = put_digits(p, month, 2);
  *p++ = '-';
  p = put_digits(p, day, 2);
  *p++ = 'T';
  p = put_digits(p, ms_of_day / 3'600'000, 2);
  *p++ = ':';
  p = put_digits(p, ms_of_day / 60'000 % 60, 2);
  *p++ = ':';
  p = put_digits(p, ms_of_day / 1000 % 60, 2);
  *p++ = '.';
  p = put_digits(p, ms_of_day % 1000, 3);
  *p++ = 'Z';
  return p;
}

/// Appends `s` as a JSON string (tag-block values: printable ASCII; quotes and backslashes escaped).
char* put_string(char* p, std::string_view s) {
  *p++ = '"';
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20) continue;
    if (c == '"' || c == '\\') *p++ = '\\';
    *p++ = c;
  }
  *p++ = '"';
  return p;
}

/// Copies a string literal (a constant length, so no call to memcpy).
template <std::size_t N>
char* put(char* p, const char (&s)[N]) {
  std::memcpy(p, s, N - 1);
  return p + N - 1;
}

class Decoder {
 public:
  /// Decodes every line of `fd`; false on a read error (message on stderr).
  bool run(int fd, const char* name) {
    std::string carry;
    std::vector<char> buf(kReadBytes);
    for (;;) {
      const ssize_t got = ::read(fd, buf.data(), buf.size());
      if (got < 0) {
        if (errno == EINTR) continue;
        std::fprintf(stderr, "aistrack-decode: cannot read %s: %s\n", name, std::strerror(errno));
        return false;
      }
      if (got == 0) break;
      const TimeMs received = now_ms();  // one clock read per block of lines
      std::string_view chunk(buf.data(), static_cast<std::size_t>(got));
      if (!carry.empty()) {  // finish the line cut at the previous block's end
        const auto nl = chunk.find('\n');
        if (nl == std::string_view::npos) {
          carry.append(chunk);
          continue;
        }
        carry.append(chunk.substr(0, nl));
        line(carry, received);
        carry.clear();
        chunk.remove_prefix(nl + 1);
      }
      for (;;) {
        const void* nl = std::memchr(chunk.data(), '\n', chunk.size());
        if (nl == nullptr) break;
        const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - chunk.data());
        line(chunk.substr(0, len), received);
        chunk.remove_prefix(len + 1);
      }
      carry.assign(chunk);
      if (out_.size() >= kFlushBytes && !flush()) return false;
    }
    if (!carry.empty()) line(carry, now_ms());
    assembler_.clear_pending();  // fragments never join across inputs
    return flush();
  }

  bool flush() {
    if (!out_.empty() && std::fwrite(out_.data(), 1, out_.size(), stdout) != out_.size()) {
      write_failed_ = true;
    }
    out_.clear();
    return !write_failed_;
  }

  [[nodiscard]] bool write_failed() const noexcept { return write_failed_; }

  void print_stats() const {
    const aistrack::nmea::Counters& c = assembler_.counters();
    std::fprintf(
        stderr,
        "lines %llu (blank %llu, comment %llu, junk %llu)\n"
        "sentences %llu AIS (own ship %llu), %llu other NMEA; dropped: %llu bad checksum, %llu no "
        "checksum, %llu malformed\n"
        "tag blocks %llu used, %llu ignored (bad checksum or syntax)\n"
        "payloads %llu (%llu multipart); fragments: %llu out of order, %llu orphaned; groups: %llu timed "
        "out, %llu evicted, %llu restarted; %llu oversized\n",
        u(c.lines), u(c.blank_lines), u(c.comment_lines), u(c.junk_lines), u(c.sentences),
        u(c.own_ship_sentences), u(c.other_sentences), u(c.bad_checksum), u(c.no_checksum),
        u(c.malformed_sentences), u(c.tag_blocks), u(c.bad_tag_blocks), u(c.payloads),
        u(c.multipart_payloads), u(c.out_of_order_fragments), u(c.orphan_fragments), u(c.timed_out_groups),
        u(c.evicted_groups), u(c.restarted_groups), u(c.oversized_payloads));
    std::fprintf(stderr, "decoded %llu (short %llu, long %llu)", u(counts_.by_status[0]),
                 u(counts_.short_payloads), u(counts_.long_payloads));
    for (std::size_t s = 1; s < counts_.by_status.size(); ++s) {
      if (counts_.by_status[s] == 0) continue;
      const auto status = static_cast<aistrack::ais::DecodeStatus>(s);
      std::fprintf(stderr, ", %s %llu", std::string(aistrack::ais::to_string(status)).c_str(),
                   u(counts_.by_status[s]));
    }
    std::fprintf(stderr, "\nby type:");
    for (std::size_t t = 1; t < counts_.by_type.size(); ++t) {
      if (counts_.by_type[t] != 0) std::fprintf(stderr, " %zu:%llu", t, u(counts_.by_type[t]));
    }
    std::fprintf(stderr, "\n");
  }

 private:
  static unsigned long long u(std::uint64_t v) { return static_cast<unsigned long long>(v); }

  void line(std::string_view text, TimeMs received_ms) {
    for (const aistrack::nmea::Payload& p : assembler_.feed_line(text, received_ms)) {
      const auto status = aistrack::ais::decode(p.armored, p.fill_bits, decoded_);
      counts_.record(status, decoded_);
      if (status != aistrack::ais::DecodeStatus::ok) continue;
      // The envelope; tag-block station ids are short, but cap them so the buffer is always enough.
      char buf[512];
      char* e = put(buf, "{\"ts_ms\":");
      e = std::to_chars(e, buf + 64, p.ts_ms).ptr;
      e = put(e, ",\"time\":\"");
      e = put_iso8601(e, p.ts_ms);
      if (p.ts_from_tag_block) {
        e = put(e, "\",\"time_source\":\"tag_block\",\"talker\":\"");
      } else {
        e = put(e, "\",\"time_source\":\"received\",\"talker\":\"");
      }
      *e++ = p.talker[0];
      *e++ = p.talker[1];
      if (p.own_ship) {
        e = put(e, "\",\"own_ship\":true,\"channel\":");
      } else {
        e = put(e, "\",\"own_ship\":false,\"channel\":");
      }
      if (p.channel == '\0') {
        e = put(e, "null");
      } else {
        e = put_string(e, std::string_view(&p.channel, 1));
      }
      e = put(e, ",\"fragments\":");
      *e++ = static_cast<char>('0' + p.fragments);
      if (!p.station.empty()) {
        e = put(e, ",\"station\":");
        e = put_string(e, p.station.substr(0, 150));
      }
      *e++ = ',';
      out_.append(buf, static_cast<std::size_t>(e - buf));
      aistrack::ais::append_json_fields(decoded_, out_);
      out_ += "}\n";
    }
  }

  aistrack::nmea::Assembler assembler_;
  aistrack::ais::Decoded decoded_;
  aistrack::ais::DecodeCounters counts_;
  std::string out_;
  bool write_failed_ = false;
};

void usage(std::FILE* to) {
  std::fprintf(
      to,
      "usage: aistrack-decode [--stats] [FILE...]\n"
      "Decodes NMEA !AIVDM/!AIVDO lines (stdin when no FILE or FILE is -) into one JSON object per\n"
      "AIS message on stdout. --stats prints counts of lines, sentences, errors and types on stderr.\n");
}

}  // namespace

int main(int argc, char** argv) {
  bool stats = false;
  std::vector<const char*> files;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--stats") {
      stats = true;
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else if (arg.size() > 1 && arg[0] == '-') {
      std::fprintf(stderr, "aistrack-decode: unknown option %s\n", argv[i]);
      usage(stderr);
      return 2;
    } else {
      files.push_back(argv[i]);
    }
  }
  if (files.empty()) files.push_back("-");

  Decoder decoder;
  int status = 0;
  for (const char* name : files) {
    const bool is_stdin = std::string_view(name) == "-";
    const int fd = is_stdin ? 0 : ::open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::fprintf(stderr, "aistrack-decode: cannot open %s: %s\n", name, std::strerror(errno));
      status = 1;
      continue;
    }
    if (!decoder.run(fd, is_stdin ? "standard input" : name)) status = 1;
    if (!is_stdin) ::close(fd);
    if (decoder.write_failed()) break;
  }
  if (!decoder.flush() || std::fflush(stdout) != 0) {
    std::fprintf(stderr, "aistrack-decode: cannot write to standard output: %s\n", std::strerror(errno));
    status = 1;
  }
  if (stats) decoder.print_stats();
  return status;
}
