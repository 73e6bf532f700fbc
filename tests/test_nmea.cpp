// nmea.hpp: sentences, checksums, tag blocks, line handling and multipart reassembly.
#include <aistrack/nmea.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace aistrack;
using nmea::Assembler;
using nmea::AssemblerConfig;
using nmea::Sentence;
using nmea::SentenceStatus;
using nmea::TagBlock;
using nmea::TagStatus;

namespace {

/// "!" + body + "*hh" with the right checksum.
std::string sentence(const std::string& body) {
  char hh[4];
  std::snprintf(hh, sizeof hh, "%02X", nmea::checksum(body));
  return "!" + body + "*" + hh;
}

/// "\" + body + "*hh\" with the right checksum.
std::string tag(const std::string& body) {
  char hh[4];
  std::snprintf(hh, sizeof hh, "%02X", nmea::checksum(body));
  return "\\" + body + "*" + hh + "\\";
}

struct Got {
  std::string armored;
  unsigned fill_bits = 0;
  int fragments = 0;
  TimeMs ts_ms = 0;
  bool from_tag = false;
  std::string station;
  char channel = '\0';
  bool own_ship = false;
  std::string talker;
};

std::vector<Got> feed(Assembler& a, const std::string& line, TimeMs received_ms) {
  std::vector<Got> out;
  for (const nmea::Payload& p : a.feed_line(line, received_ms)) {
    out.push_back(Got{std::string(p.armored), p.fill_bits, p.fragments, p.ts_ms, p.ts_from_tag_block,
                      std::string(p.station), p.channel, p.own_ship, std::string(p.talker.data(), 2)});
  }
  return out;
}

const std::string kType1 = "!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C";
const std::string kType5a =
    "!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C";
const std::string kType5b = "!AIVDM,2,2,1,A,88888888880,2*25";
const std::string kType5Payload = "55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp888888888880";

}  // namespace

TEST_CASE("checksum is the XOR of the body") {
  CHECK(nmea::checksum("AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0") == 0x5C);
  CHECK(nmea::checksum("") == 0);
  CHECK(nmea::checksum("A") == 'A');
}

TEST_CASE("a VDM sentence is split into its fields") {
  Sentence s;
  std::size_t used = 0;
  const std::string text = kType5a + ",trailing";  // the sentence's views point into this
  REQUIRE(nmea::parse_sentence(text, s, &used) == SentenceStatus::ok);
  CHECK(used == kType5a.size());
  CHECK(s.talker == std::array<char, 2>{'A', 'I'});
  CHECK_FALSE(s.own_ship);
  CHECK(s.fragment_count == 2);
  CHECK(s.fragment_number == 1);
  REQUIRE(s.sequence_id.has_value());
  CHECK(*s.sequence_id == 1);
  CHECK(s.channel == 'A');
  CHECK(s.payload == "55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8");
  CHECK(s.fill_bits == 0);

  REQUIRE(nmea::parse_sentence(kType1, s) == SentenceStatus::ok);
  CHECK_FALSE(s.sequence_id.has_value());
  CHECK(s.channel == 'B');
}

TEST_CASE("any talker is accepted and VDO marks own ship") {
  Sentence s;
  for (const std::string talker : {"AI", "AB", "BS", "SA", "B2", "--"}) {
    CAPTURE(talker);
    REQUIRE(nmea::parse_sentence(sentence(talker + "VDO,1,1,,,11auciwP00GRV:4CBpK8N?wF2000,0"), s) ==
            SentenceStatus::ok);
    CHECK(s.own_ship);
    CHECK(std::string(s.talker.data(), 2) == talker);
    CHECK(s.channel == '\0');
  }
}

TEST_CASE("broken sentences get a status and never throw") {
  Sentence s;
  CHECK(nmea::parse_sentence("!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5D", s) ==
        SentenceStatus::bad_checksum);
  CHECK(nmea::parse_sentence("!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0", s) ==
        SentenceStatus::no_checksum);
  CHECK(nmea::parse_sentence("!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5", s) ==
        SentenceStatus::no_checksum);
  CHECK(nmea::parse_sentence("!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*ZZ", s) ==
        SentenceStatus::no_checksum);
  CHECK(nmea::parse_sentence("!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5c", s) == SentenceStatus::ok);
  CHECK(nmea::parse_sentence(sentence("AIVDM,1,2,,A,1,0"), s) ==
        SentenceStatus::malformed);  // number > count
  CHECK(nmea::parse_sentence(sentence("AIVDM,0,1,,A,1,0"), s) == SentenceStatus::malformed);   // count 0
  CHECK(nmea::parse_sentence(sentence("AIVDM,1,1,,A,1,6"), s) == SentenceStatus::malformed);   // fill 6
  CHECK(nmea::parse_sentence(sentence("AIVDM,1,1,,AB,1,0"), s) == SentenceStatus::malformed);  // channel
  CHECK(nmea::parse_sentence(sentence("AIVDM,1,1,x,A,1,0"), s) == SentenceStatus::malformed);  // sequence id
  CHECK(nmea::parse_sentence(sentence("AIVDM,1,1,,A,1"), s) == SentenceStatus::malformed);     // 6 fields
  CHECK(nmea::parse_sentence(sentence("AIVDM,1,1,,A,1,0,extra"), s) == SentenceStatus::malformed);
  CHECK(nmea::parse_sentence("$GPRMC,092211.00,A,5759.09700,N,01144.34344,E,5.257,28.27,200715,,,A*58", s) ==
        SentenceStatus::not_ais);
  CHECK(nmea::parse_sentence(sentence("AIABK,1,2"), s) == SentenceStatus::not_ais);
  CHECK(nmea::parse_sentence(sentence("A\"VDM,1,1,,A,1,0"), s) == SentenceStatus::not_ais);  // talker
  CHECK(nmea::parse_sentence("!", s) == SentenceStatus::no_checksum);
  CHECK(nmea::to_string(SentenceStatus::bad_checksum) == "bad_checksum");
}

TEST_CASE("tag blocks give time source group and the other fields") {
  TagBlock t;
  REQUIRE(nmea::parse_tag_block("s:rMT1200,t:ais-listener,c:1697012048*78", t) == TagStatus::ok);
  CHECK(t.source == "rMT1200");
  CHECK(t.text == "ais-listener");
  REQUIRE(t.time_ms.has_value());
  CHECK(*t.time_ms == 1'697'012'048'000);

  REQUIRE(nmea::parse_tag_block("c:1599239526500,s:sdr-experiments,T:2020-09-04 18.12.06*5D", t) ==
          TagStatus::ok);
  CHECK(*t.time_ms == 1'599'239'526'500);  // 13 digits: milliseconds
  CHECK(t.source == "sdr-experiments");

  const std::string body = "g:1-2-1278,s:66,c:1661782369.25,n:157036,r:42,d:dest,t:hello";
  char hh[4];
  std::snprintf(hh, sizeof hh, "%02x", nmea::checksum(body));
  const std::string content = body + "*" + hh;  // the tag block's views point into this
  REQUIRE(nmea::parse_tag_block(content, t) == TagStatus::ok);
  CHECK(*t.time_ms == 1'661'782'369'250);
  REQUIRE(t.group.has_value());
  CHECK(*t.group == nmea::TagGroup{1, 2, 1278});
  CHECK(*t.line_count == 157036);
  CHECK(*t.relative_time == 42);
  CHECK(t.destination == "dest");
  CHECK(t.text == "hello");

  CHECK(nmea::parse_tag_block("c:1662052384,s:FM112*00", t) == TagStatus::bad_checksum);
  CHECK(nmea::parse_tag_block("g:1-2-73874*A", t) == TagStatus::malformed);
  CHECK(nmea::parse_tag_block("c:1662052384", t) == TagStatus::malformed);
  // An unreadable g: is dropped on its own; the time is still good.
  REQUIRE(nmea::parse_tag_block("g:1-2--001,c:1326055296*3C", t) == TagStatus::ok);
  CHECK_FALSE(t.group.has_value());
  CHECK(*t.time_ms == 1'326'055'296'000);
}

TEST_CASE("a single sentence becomes a payload with the receive time or the tag time") {
  Assembler a;
  auto got = feed(a, kType1 + "\r\n", 5000);
  REQUIRE(got.size() == 1);
  CHECK(got[0].armored == "177KQJ5000G?tO`K>RA1wUbN0TKH");
  CHECK(got[0].ts_ms == 5000);
  CHECK_FALSE(got[0].from_tag);
  CHECK(got[0].fragments == 1);
  CHECK(got[0].talker == "AI");

  got = feed(a, tag("s:rMT1200,c:1697012048") + kType1, 5000);
  REQUIRE(got.size() == 1);
  CHECK(got[0].ts_ms == 1'697'012'048'000);
  CHECK(got[0].from_tag);
  CHECK(got[0].station == "rMT1200");
  CHECK(a.counters().tag_blocks == 1);

  // A tag block with a wrong checksum is ignored; its sentence still counts.
  got = feed(a, "\\c:1662052384,s:FM112*00\\" + kType1, 7000);
  REQUIRE(got.size() == 1);
  CHECK(got[0].ts_ms == 7000);
  CHECK(got[0].station.empty());
  CHECK(a.counters().bad_tag_blocks == 1);
  CHECK(a.counters().sentences == 3);
  CHECK(a.counters().payloads == 3);
}

TEST_CASE("blank comment junk and other NMEA lines are counted and skipped") {
  Assembler a;
  CHECK(feed(a, "", 0).empty());
  CHECK(feed(a, "   \r", 0).empty());
  CHECK(feed(a, "# a comment with !AIVDM in it", 0).empty());
  CHECK(feed(a, "IamNotAnAisMessage1111", 0).empty());
  CHECK(feed(a, "$GPRMC,092211.00,A,5759.09700,N,01144.34344,E,5.257,28.27,200715,,,A*58", 0).empty());
  CHECK(feed(a, "!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*00", 0).empty());
  CHECK(feed(a, "!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0", 0).empty());
  // Prefixes and suffixes around a sentence are fine.
  CHECK(feed(a, "[2024-07-19 08:45:27.141] " + kType1, 0).size() == 1);
  CHECK(feed(a, kType1 + ",b003669794,1272412827", 0).size() == 1);
  const nmea::Counters& c = a.counters();
  CHECK(c.lines == 9);
  CHECK(c.blank_lines == 2);
  CHECK(c.comment_lines == 1);
  CHECK(c.junk_lines == 1);
  CHECK(c.other_sentences == 1);
  CHECK(c.bad_checksum == 1);
  CHECK(c.no_checksum == 1);
  CHECK(c.sentences == 2);
}

TEST_CASE("fragments are joined in order with the last fill bits") {
  Assembler a;
  CHECK(feed(a, kType5a, 1000).empty());
  CHECK(a.pending_groups() == 1);
  const auto got = feed(a, kType5b, 1001);
  REQUIRE(got.size() == 1);
  CHECK(got[0].armored == kType5Payload);
  CHECK(got[0].fill_bits == 2);
  CHECK(got[0].fragments == 2);
  CHECK(got[0].channel == 'A');
  CHECK(got[0].ts_ms == 1001);
  CHECK(a.pending_groups() == 0);
  CHECK(a.counters().multipart_payloads == 1);
  CHECK(a.counters().out_of_order_fragments == 0);
}

TEST_CASE("several sentences on one line and the first fragment's tag time") {
  Assembler a;
  const std::string line =
      tag("s:rMT2083,c:1698785948") + kType5a + tag("s:rMT2083,c:1698785947") + kType5b + kType1;
  const auto got = feed(a, line, 9);
  REQUIRE(got.size() == 2);
  CHECK(got[0].armored == kType5Payload);
  CHECK(got[0].ts_ms == 1'698'785'948'000);
  CHECK(got[0].station == "rMT2083");
  CHECK(got[1].armored == "177KQJ5000G?tO`K>RA1wUbN0TKH");
  CHECK(got[1].ts_ms == 9);  // no tag block right before it
}

TEST_CASE("out of order fragments are joined and counted") {
  Assembler a;
  CHECK(feed(a, kType5b, 0).empty());
  const auto got = feed(a, kType5a, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].armored == kType5Payload);
  CHECK(got[0].fill_bits == 2);
  CHECK(a.counters().out_of_order_fragments == 2);  // 2 came before 1, and 1 after 2
}

TEST_CASE("interleaved messages are kept apart by sequence id and channel") {
  Assembler a;
  const std::string a1 = sentence("AIVDM,2,1,3,A,AAAA,0");
  const std::string b1 = sentence("AIVDM,2,1,3,B,BBBB,0");
  const std::string c1 = sentence("AIVDM,2,1,4,A,CCCC,0");
  const std::string a2 = sentence("AIVDM,2,2,3,A,aa,2");
  const std::string b2 = sentence("AIVDM,2,2,3,B,bb,4");
  const std::string c2 = sentence("AIVDM,2,2,4,A,cc,0");
  CHECK(feed(a, a1, 0).empty());
  CHECK(feed(a, b1, 0).empty());
  CHECK(feed(a, c1, 0).empty());
  CHECK(a.pending_groups() == 3);
  auto got = feed(a, c2, 0);
  REQUIRE(got.size() == 1);
  CHECK(got[0].armored == "CCCCcc");
  got = feed(a, b2 + a2, 0);
  REQUIRE(got.size() == 2);
  CHECK(got[0].armored == "BBBBbb");
  CHECK(got[0].fill_bits == 4);
  CHECK(got[1].armored == "AAAAaa");
  CHECK(got[1].fill_bits == 2);
}

TEST_CASE("orphans time out and restarted groups are counted") {
  AssemblerConfig cfg;
  cfg.fragment_timeout_ms = 1000;
  Assembler a(cfg);
  // A second fragment whose first never comes.
  CHECK(feed(a, kType5b, 0).empty());
  CHECK(a.pending_groups() == 1);
  CHECK(feed(a, kType1, 1001).size() == 1);  // feeding any line expires old groups
  CHECK(a.pending_groups() == 0);
  CHECK(a.counters().timed_out_groups == 1);
  CHECK(a.counters().orphan_fragments == 1);

  // A first fragment, then another first fragment with the same key: the old group is dropped.
  CHECK(feed(a, kType5a, 2000).empty());
  CHECK(feed(a, kType5a, 2001).empty());
  CHECK(a.counters().restarted_groups == 1);
  CHECK(a.counters().orphan_fragments == 2);
  CHECK(feed(a, kType5b, 2002).size() == 1);

  // Fragments further apart than the timeout do not join.
  CHECK(feed(a, kType5a, 3000).empty());
  CHECK(feed(a, kType5b, 4001).empty());
  CHECK(a.counters().timed_out_groups == 2);
  a.clear_pending();
  CHECK(a.pending_groups() == 0);
  CHECK(a.counters().orphan_fragments == 4);

  // expire() on its own.
  CHECK(feed(a, kType5a, 10'000).empty());
  a.expire(10'500);
  CHECK(a.pending_groups() == 1);
  a.expire(11'001);
  CHECK(a.pending_groups() == 0);
}

TEST_CASE("waiting groups are bounded and the oldest is evicted") {
  AssemblerConfig cfg;
  cfg.max_pending_groups = 2;
  Assembler a(cfg);
  CHECK(feed(a, sentence("AIVDM,2,1,1,A,AAAA,0"), 0).empty());
  CHECK(feed(a, sentence("AIVDM,2,1,2,A,BBBB,0"), 1).empty());
  CHECK(feed(a, sentence("AIVDM,2,1,3,A,CCCC,0"), 2).empty());
  CHECK(a.pending_groups() == 2);
  CHECK(a.counters().evicted_groups == 1);
  CHECK(feed(a, sentence("AIVDM,2,2,1,A,aa,0"), 3).empty());  // its group was evicted
  const auto got = feed(a, sentence("AIVDM,2,2,3,A,cc,0"), 4);
  REQUIRE(got.size() == 1);
  CHECK(got[0].armored == "CCCCcc");
}

TEST_CASE("oversized payloads are dropped") {
  AssemblerConfig cfg;
  cfg.max_payload_chars = 10;
  Assembler a(cfg);
  CHECK(feed(a, sentence("AIVDM,1,1,,A,12345678901,0"), 0).empty());
  CHECK(feed(a, sentence("AIVDM,2,1,1,A,123456,0"), 0).empty());
  CHECK(feed(a, sentence("AIVDM,2,2,1,A,12345,0"), 0).empty());
  CHECK(a.counters().oversized_payloads == 2);
  CHECK(feed(a, sentence("AIVDM,1,1,,A,1234567890,0"), 0).size() == 1);
}

TEST_CASE("own ship VDO reaches the payload") {
  Assembler a;
  const auto got = feed(a, "!AIVDO,1,1,,,11auciwP00GRV:4CBpK8N?wF2000,0*51", 0);
  REQUIRE(got.size() == 1);
  CHECK(got[0].own_ship);
  CHECK(got[0].channel == '\0');
  CHECK(a.counters().own_ship_sentences == 1);
  // VDM and VDO with the same sequence id and channel are different streams.
  CHECK(feed(a, sentence("AIVDO,2,1,1,A,AAAA,0"), 0).empty());
  CHECK(feed(a, sentence("AIVDM,2,1,1,A,BBBB,0"), 0).empty());
  CHECK(a.pending_groups() == 2);
}

TEST_CASE("bad assembler bounds throw an aistrack error") {
  AssemblerConfig cfg;
  cfg.max_pending_groups = 0;
  CHECK_THROWS_AS(Assembler{cfg}, Error);
  cfg.max_pending_groups = 5000;
  CHECK_THROWS_AS(Assembler{cfg}, Error);
  cfg.max_pending_groups = 8;
  cfg.fragment_timeout_ms = 0;
  CHECK_THROWS_AS(Assembler{cfg}, Error);
}
