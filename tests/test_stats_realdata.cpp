// Stats on real vessel tracks (../shared/data/nmea, decoded by libais: expected/*.jsonl.gz),
// checked against GeographicLib's GeodSolve (Debian geographiclib-tools) run as a separate
// program over the very fixes Stats used.
#include <aistrack/geo.hpp>
#include <aistrack/stats.hpp>
#include <aistrack/store.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace aistrack;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr TimeMs kAll0 = std::numeric_limits<TimeMs>::min();
constexpr TimeMs kAll1 = std::numeric_limits<TimeMs>::max();

/// Output of a shell command (stdout), or nullopt when it cannot be started or fails.
std::optional<std::string> run(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buf[65536];
  for (std::size_t n = 0; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (status != 0) return std::nullopt;
  return out;
}

std::optional<double> number(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

/// Position fixes of `mmsi` from a libais reference decode (gzipped JSON lines), in file order.
/// libais keeps AIS's "not available" values (SOG 102.3, COG 360, lat 91 / lon 181); they are
/// turned into nullopt here as our decoder does, except the position, which Stats must reject.
std::vector<PositionFix> load_track(const fs::path& gz, Mmsi mmsi) {
  const auto text = run("gzip -dc '" + gz.string() + "'");
  REQUIRE_MESSAGE(text.has_value(), "cannot decompress " << gz);
  std::vector<PositionFix> out;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const json::object o = json::parse(line).as_object();
    const auto m = number(o, "mmsi");
    const auto type = number(o, "type");
    const auto time = number(o, "time");
    const auto lat = number(o, "lat");
    const auto lon = number(o, "lon");
    if (!m || static_cast<Mmsi>(*m) != mmsi || !type || !time || !lat || !lon) continue;
    const int t = static_cast<int>(*type);
    if (t != 1 && t != 2 && t != 3 && t != 18 && t != 19) continue;
    PositionFix f;
    f.ts_ms = std::llround(*time * 1000.0);
    f.latlon = LatLon{*lat, *lon};
    if (const auto sog = number(o, "sog"); sog && std::abs(*sog - 102.3) > 0.05) f.sog_kn = *sog;
    if (const auto cog = number(o, "cog"); cog && *cog < 359.95) f.cog_deg = *cog;
    f.ais_type = static_cast<std::uint8_t>(t);
    f.source = Source::nmea;
    out.push_back(f);
  }
  return out;
}

/// Sum of GeodSolve's s12 over consecutive fixes; fails the test when GeodSolve is missing.
double geodsolve_sum_m(const std::vector<PositionFix>& fixes, const test::TempDir& dir) {
  REQUIRE_MESSAGE(run("command -v GeodSolve >/dev/null 2>&1 && echo yes").value_or("") == "yes\n",
                  "GeodSolve not found: install Debian's geographiclib-tools (scripts/install-deps.sh does)");
  const fs::path input = dir / "pairs.txt";
  {
    std::ofstream out(input);
    out.precision(17);
    for (std::size_t i = 1; i < fixes.size(); ++i) {
      out << fixes[i - 1].latlon.lat_deg << ' ' << fixes[i - 1].latlon.lon_deg << ' '
          << fixes[i].latlon.lat_deg << ' ' << fixes[i].latlon.lon_deg << '\n';
    }
  }
  // -i: inverse problem; output "azi1 azi2 s12" per line; -p 6: s12 to the micrometre.
  const auto output = run("GeodSolve -i -p 6 < '" + input.string() + "'");
  REQUIRE_MESSAGE(output.has_value(), "GeodSolve failed");
  std::istringstream in(*output);
  double sum = 0;
  std::size_t lines = 0;
  for (double azi1 = 0, azi2 = 0, s12 = 0; in >> azi1 >> azi2 >> s12; ++lines) sum += s12;
  REQUIRE(lines == fixes.size() - 1);
  return sum;
}

struct Checked {
  StatsResult result;
  std::vector<PositionFix> used;
};

/// Stats over the whole track, and its distance against GeodSolve over the fixes it used.
Checked check_against_geodsolve(const std::vector<PositionFix>& track, const test::TempDir& dir) {
  Checked c;
  c.result = Stats().compute(track, kAll0, kAll1, &c.used);
  REQUIRE(c.result.jump_resets == 0);  // one unbroken track, so a plain pairwise sum is the reference
  REQUIRE(c.used.size() == c.result.points);
  const double reference_m = geodsolve_sum_m(c.used, dir);
  const double rel = std::abs(c.result.distance_m - reference_m) / reference_m;
  MESSAGE("points " << c.result.points << ", distance " << c.result.distance_m << " m (GeodSolve "
                    << reference_m << " m, relative difference " << rel << "), rejected: duplicate "
                    << c.result.rejected.duplicate << ", jump " << c.result.rejected.jump << ", invalid "
                    << c.result.rejected.invalid_position);
  CHECK(rel <= 0.001);  // the bound
  CHECK(rel <= 1e-6);   // what the method actually achieves
  return c;
}

const char* kHakefjord = "nmea/expected/opencpn__derived__Hakefjord.loop1.log.jsonl.gz";
const char* kHakefjordFull = "nmea/expected/opencpn__test__testdata__Hakefjord.log.jsonl.gz";
const char* kGuernsey = "nmea/expected/opencpn__test__testdata__Go_to_Guernesey.txt.jsonl.gz";

}  // namespace

TEST_CASE("stats realdata: own ship 265599690 in Hakefjord matches GeodSolve within 0.1 percent") {
  AISTRACK_REQUIRE_SHARED_DATA(data);
  const test::TempDir dir;
  const auto track = load_track(data / kHakefjord, 265599690);
  REQUIRE(track.size() == 1303);
  const Checked c = check_against_geodsolve(track, dir);
  CHECK(c.result.points > 1200);
  // A 22-minute leg of a small boat at about 5 kn: roughly 2 nm.
  CHECK(c.result.distance_nm > 1.0);
  CHECK(c.result.distance_nm < 4.0);
  REQUIRE(c.result.avg_sog_kn);
  REQUIRE(c.result.avg_speed_kn);
  MESSAGE("avg_sog_kn " << *c.result.avg_sog_kn << ", avg_speed_kn " << *c.result.avg_speed_kn << ", moving "
                        << c.result.moving_time_s << " s");
  // Reported SOG and the speed the positions imply agree for a real, clean track.
  CHECK(*c.result.avg_speed_kn == doctest::Approx(*c.result.avg_sog_kn).epsilon(0.1));
}

TEST_CASE("stats realdata: 636009794 crossing to Guernsey matches GeodSolve within 0.1 percent") {
  AISTRACK_REQUIRE_SHARED_DATA(data);
  const test::TempDir dir;
  const auto track = load_track(data / kGuernsey, 636009794);
  REQUIRE(track.size() == 484);
  const Checked c = check_against_geodsolve(track, dir);
  CHECK(c.result.points > 450);
  // About three hours at ~16 kn.
  CHECK(c.result.distance_nm > 40.0);
  CHECK(c.result.distance_nm < 55.0);
  REQUIRE(c.result.avg_sog_kn);
  REQUIRE(c.result.avg_speed_kn);
  CHECK(*c.result.avg_sog_kn == doctest::Approx(16.2).epsilon(0.05));
  CHECK(*c.result.avg_speed_kn == doctest::Approx(*c.result.avg_sog_kn).epsilon(0.05));
}

TEST_CASE("stats realdata: a fix 100 nm away in the middle of a real track leaves the distance unchanged") {
  AISTRACK_REQUIRE_SHARED_DATA(data);
  for (const auto& [file, mmsi] :
       {std::pair{kGuernsey, Mmsi{636009794}}, std::pair{kHakefjord, Mmsi{265599690}}}) {
    CAPTURE(mmsi);
    const auto track = load_track(data / file, mmsi);
    REQUIRE(track.size() > 100);
    const StatsResult clean = Stats().compute(track, kAll0, kAll1);
    auto bad = track;
    const std::size_t mid = track.size() / 2;
    PositionFix jump = track[mid];
    jump.latlon = geo::destination(track[mid].latlon, 135.0, 100 * 1852.0);
    bad.insert(bad.begin() + static_cast<std::ptrdiff_t>(mid) + 1, jump);  // same time as its neighbour
    const StatsResult r = Stats().compute(bad, kAll0, kAll1);
    CHECK(r.rejected.jump == clean.rejected.jump + 1);
    CHECK(r.points == clean.points);
    CHECK(r.distance_m == doctest::Approx(clean.distance_m).epsilon(0.001));
    // A naive sum would have added the 200 nm there and back.
    CHECK(r.distance_nm < clean.distance_nm + 1.0);
  }
}

TEST_CASE("stats realdata: the Hakefjord log replayed four times gives the distance of one pass") {
  AISTRACK_REQUIRE_SHARED_DATA(data);
  // The OpenCPN test log holds the same 22-minute session four times over (see SOURCES.md),
  // with the same times: the repeats are duplicates, and arrival order does not matter.
  const auto once = load_track(data / kHakefjord, 265599690);
  auto four = load_track(data / kHakefjordFull, 265599690);
  REQUIRE(four.size() == 4 * once.size());
  const StatsResult a = Stats().compute(once, kAll0, kAll1);
  const StatsResult b = Stats().compute(four, kAll0, kAll1);
  CHECK(b.points == a.points);
  CHECK(b.rejected.duplicate == a.rejected.duplicate + 3 * once.size());
  CHECK(b.distance_m == doctest::Approx(a.distance_m).epsilon(1e-12));
  CHECK(b.from_ms == a.from_ms);
  CHECK(b.to_ms == a.to_ms);
  // Shuffled: the two reports this log puts on each 2-second stamp are put back in order
  // (without that the distance grows by 40 %).
  std::shuffle(four.begin(), four.end(), std::mt19937(11));
  const StatsResult c = Stats().compute(four, kAll0, kAll1);
  CHECK(c.points == a.points);
  CHECK(c.rejected.duplicate == b.rejected.duplicate);
  CHECK(c.distance_m == doctest::Approx(a.distance_m).epsilon(1e-12));
}

TEST_CASE(
    "stats realdata: the Hakefjord log through the Store: every duplicate kept, motion fields suffice") {
  AISTRACK_REQUIRE_SHARED_DATA(data);
  // Four passes with the same times, two reports per 2-second stamp: up to eight fixes share one
  // (mmsi, ts_ms) key, the case the Store's seq column exists for.
  const auto once = load_track(data / kHakefjord, 265599690);
  auto four = load_track(data / kHakefjordFull, 265599690);
  REQUIRE(four.size() == 4 * once.size());
  // Fields Stats must not need, so that a TrackFields::motion read can be checked against a full one.
  for (std::size_t i = 0; i < four.size(); ++i) {
    four[i].heading_deg = static_cast<std::uint16_t>(i % 360);
    four[i].nav_status = i % 2 == 0 ? NavStatus::moored : NavStatus::under_way_using_engine;
    four[i].rot_deg_min = static_cast<double>(i % 7) - 3.0;
  }
  const test::TempDir dir;
  StoreConfig sc;
  sc.path = (dir / "hakefjord.db").string();
  sc.batch_rows = 1000;  // several batches, so equal keys also meet across commits
  Store store(sc);
  for (const PositionFix& f : four) store.add_position(265599690, f);
  store.flush();
  const auto stored = store.track(265599690, kAll0, kAll1, std::numeric_limits<std::size_t>::max());
  CHECK(stored.size() == four.size());
  std::vector<PositionFix> sorted = four;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const PositionFix& a, const PositionFix& b) { return a.ts_ms < b.ts_ms; });
  CHECK(stored == sorted);  // equal times in arrival order

  const auto via_store = [&](TrackFields fields) {
    Stats stats;
    store.visit_track(
        265599690, kAll0, kAll1, std::numeric_limits<std::size_t>::max(),
        [&](const PositionFix& f) { stats.add(f); }, fields);
    return stats.result();
  };
  const StatsResult all = via_store(TrackFields::all);
  const StatsResult motion = via_store(TrackFields::motion);
  const StatsResult reference = Stats().compute(once, kAll0, kAll1);
  CHECK(all.points == reference.points);
  CHECK(all.distance_m == doctest::Approx(reference.distance_m).epsilon(1e-12));
  for (const StatsResult* r : {&all, &motion}) {
    CHECK(r->rejected.duplicate == reference.rejected.duplicate + 3 * once.size());
  }
  CHECK(motion.points == all.points);
  CHECK(motion.distance_m == all.distance_m);
  CHECK(motion.avg_sog_kn == all.avg_sog_kn);
  CHECK(motion.mean_sog_kn == all.mean_sog_kn);
  CHECK(motion.avg_speed_kn == all.avg_speed_kn);
  CHECK(motion.max_sog_kn == all.max_sog_kn);
  CHECK(motion.moving_time_s == all.moving_time_s);
  CHECK(motion.stopped_time_s == all.stopped_time_s);
  CHECK(motion.gaps.count == all.gaps.count);
  CHECK(motion.rejected.total() == all.rejected.total());
  CHECK(motion.from_ms == all.from_ms);
  CHECK(motion.to_ms == all.to_ms);
  CHECK(motion.jump_resets == all.jump_resets);
}
