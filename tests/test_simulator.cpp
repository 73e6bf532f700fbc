// Simulator: fleet make-up, ITU-R M.1371-5 reporting intervals measured from the output,
// static data cadence, determinism, and that every simulated position is at sea.
#include <aistrack/geo.hpp>
#include <aistrack/simulator.hpp>

#include <doctest/doctest.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"

namespace {

using aistrack::LatLon;
using aistrack::Message;
using aistrack::NavStatus;
using aistrack::SeaArea;
using aistrack::SimConfig;
using aistrack::Simulator;
using aistrack::StationClass;
using aistrack::TimeMs;

constexpr TimeMs kStartMs = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
constexpr TimeMs kMinuteMs = 60'000;
constexpr TimeMs kHourMs = 60 * kMinuteMs;

std::vector<Message> run(const SimConfig& config, TimeMs duration_ms, TimeMs step_ms) {
  Simulator sim(config);
  std::vector<Message> out;
  for (TimeMs t = config.start_ms; t < config.start_ms + duration_ms; t += step_ms) sim.step(t, out);
  sim.step(config.start_ms + duration_ms, out);
  return out;
}

SimConfig config_with(std::uint64_t seed, std::size_t vessels = 20) {
  SimConfig c;
  c.seed = seed;
  c.vessels = vessels;
  c.start_ms = kStartMs;
  return c;
}

// Every field, doubles in hexadecimal so that "equal" means bit-identical.
std::string describe(const Message& m) {
  std::string s;
  char buf[64];
  const auto num = [&](double d) {
    std::snprintf(buf, sizeof buf, "%a,", d);
    s += buf;
  };
  const auto opt = [&](const auto& o, auto&& f) {
    if (o) {
      f(*o);
    } else {
      s += "-,";
    }
  };
  s += std::to_string(m.mmsi) + "," + std::to_string(m.ais_type) + "," +
       std::to_string(static_cast<int>(m.source)) + "," + std::to_string(static_cast<int>(m.station)) + "," +
       std::to_string(m.ts_ms) + "|";
  if (m.position) {
    const auto& p = *m.position;
    opt(p.latlon, [&](LatLon ll) {
      num(ll.lat_deg);
      num(ll.lon_deg);
    });
    opt(p.sog_kn, num);
    opt(p.cog_deg, num);
    opt(p.heading_deg, [&](int h) { s += std::to_string(h) + ","; });
    opt(p.nav_status, [&](NavStatus n) { s += std::to_string(static_cast<int>(n)) + ","; });
    opt(p.rot_deg_min, num);
    opt(p.utc_second, [&](int u) { s += std::to_string(u) + ","; });
    opt(p.altitude_m, num);
    opt(p.station_utc_ms, [&](TimeMs t) { s += std::to_string(t) + ","; });
    s += std::to_string(p.position_accuracy_high) + std::to_string(p.raim);
  }
  s += "|";
  if (m.static_data) {
    const auto& d = *m.static_data;
    const auto str = [&](const std::string& t) { s += t + ","; };
    opt(d.name, str);
    opt(d.callsign, str);
    opt(d.destination, str);
    opt(d.imo, [&](std::uint32_t i) { s += std::to_string(i) + ","; });
    opt(d.ship_type, [&](aistrack::ShipType t) { s += std::to_string(t.code) + ","; });
    opt(d.dimensions, [&](aistrack::Dimensions x) {
      s += std::to_string(x.to_bow_m) + "/" + std::to_string(x.to_stern_m) + "/" +
           std::to_string(x.to_port_m) + "/" + std::to_string(x.to_starboard_m) + ",";
    });
    opt(d.eta, [&](aistrack::Eta e) {
      s += std::to_string(e.month) + "/" + std::to_string(e.day) + "/" + std::to_string(e.hour.value_or(99)) +
           "/" + std::to_string(e.minute.value_or(99)) + ",";
    });
    opt(d.draught_m, num);
  }
  return s;
}

std::vector<std::string> describe_all(const std::vector<Message>& msgs) {
  std::vector<std::string> out;
  out.reserve(msgs.size());
  for (const Message& m : msgs) out.push_back(describe(m));
  return out;
}

// ITU-R M.1371-5 Annex 1 §4.2.1, written out again independently of the implementation.
enum class Regime {
  a_stationary,
  a_slow,
  a_slow_turning,
  a_fast,
  a_fast_turning,
  a_very_fast,
  b_moving,
  b_slow
};

Regime regime_of(const Message& m) {
  const auto& p = *m.position;
  const double sog_kn = p.sog_kn.value_or(0.0);
  if (m.station == StationClass::class_b) return sog_kn > 2.0 ? Regime::b_moving : Regime::b_slow;
  const bool stationary = p.nav_status == NavStatus::at_anchor || p.nav_status == NavStatus::moored;
  if (stationary && sog_kn <= 3.0) return Regime::a_stationary;
  const bool turning = p.rot_deg_min.has_value() && *p.rot_deg_min != 0.0;
  if (sog_kn > 23.0) return Regime::a_very_fast;
  if (sog_kn > 14.0) return turning ? Regime::a_fast_turning : Regime::a_fast;
  return turning ? Regime::a_slow_turning : Regime::a_slow;
}

TimeMs interval_ms(Regime r) {
  switch (r) {
    case Regime::a_stationary:
    case Regime::b_slow: return 180'000;  // 3 min
    case Regime::a_slow: return 10'000;
    case Regime::a_slow_turning: return 3'333;  // 3⅓ s
    case Regime::a_fast: return 6'000;
    case Regime::a_fast_turning:
    case Regime::a_very_fast: return 2'000;
    case Regime::b_moving: return 30'000;
  }
  return 0;
}

bool valid_imo(std::uint32_t imo) {
  if (imo < 1'000'000 || imo > 9'999'999) return false;
  std::uint32_t sum = 0;
  std::uint32_t digits = imo / 10;
  for (std::uint32_t weight = 2; weight <= 7; ++weight, digits /= 10) sum += (digits % 10) * weight;
  return sum % 10 == imo % 10;
}

bool north_sea_mid(aistrack::Mmsi mmsi) {
  const std::uint32_t mid = mmsi / 1'000'000;
  return mmsi >= 100'000'000 && (mid == 244 || mid == 219 || mid == 211 || mid == 235 || mid == 257);
}

std::map<aistrack::Mmsi, const aistrack::SimVessel*> by_mmsi(const Simulator& sim) {
  std::map<aistrack::Mmsi, const aistrack::SimVessel*> out;
  for (const auto& v : sim.vessels()) out[v.mmsi] = &v;
  return out;
}

bool is_stationary(const aistrack::SimVessel& v) {
  return v.behaviour == NavStatus::at_anchor || v.behaviour == NavStatus::moored;
}

// Points along the area's boundary, about every `step_m` metres (great-circle edges).
std::vector<LatLon> boundary_points(const SeaArea& area, double step_m) {
  std::vector<LatLon> out;
  const auto& poly = area.polygon;
  for (std::size_t i = 0; i < poly.size(); ++i) {
    const LatLon a = poly[i];
    const LatLon b = poly[(i + 1) % poly.size()];
    const double len_m = aistrack::geo::great_circle_m(a, b);
    const double brg = aistrack::geo::initial_bearing_deg(a, b);
    for (double d = 0; d < len_m; d += step_m) out.push_back(aistrack::geo::destination(a, brg, d));
  }
  return out;
}

}  // namespace

TEST_SUITE("simulator") {
  TEST_CASE(
      "the default fleet mixes cargo, tankers, leisure craft and stationary ships at plausible speeds") {
    const Simulator sim(config_with(1));
    const auto& fleet = sim.vessels();
    REQUIRE(fleet.size() == 20);
    int cargo = 0, tanker = 0, leisure = 0, anchored_a = 0, moored_a = 0, stationary_b = 0;
    int slow_band = 0, fast_band = 0;
    for (const auto& v : fleet) {
      CAPTURE(v.name);
      CHECK(!v.name.empty());
      CHECK(v.name.size() <= 20);
      const int type = v.ship_type.code;
      if (v.station == StationClass::class_a) {
        CHECK(((type >= 70 && type <= 79) || (type >= 80 && type <= 89)));
        cargo += type / 10 == 7 ? 1 : 0;
        tanker += type / 10 == 8 ? 1 : 0;
        anchored_a += v.behaviour == NavStatus::at_anchor ? 1 : 0;
        moored_a += v.behaviour == NavStatus::moored ? 1 : 0;
        if (v.behaviour == NavStatus::under_way_using_engine) {
          CHECK(v.cruise_sog_kn >= 10.0);
          CHECK(v.cruise_sog_kn <= 20.0);
          (v.cruise_sog_kn < 14.0 ? slow_band : fast_band) += 1;
        }
      } else {
        CHECK(v.station == StationClass::class_b);
        CHECK((type == 36 || type == 37));
        ++leisure;
        if (v.behaviour == NavStatus::under_way_using_engine) {
          CHECK(v.cruise_sog_kn >= 4.0);
          CHECK(v.cruise_sog_kn <= 8.0);
        } else {
          ++stationary_b;
        }
      }
      if (is_stationary(v)) CHECK(v.cruise_sog_kn == 0.0);
    }
    CHECK(cargo >= 5);
    CHECK(tanker >= 3);
    CHECK(leisure >= 4);
    CHECK(anchored_a >= 1);
    CHECK(moored_a >= 1);
    CHECK(stationary_b >= 1);
    // Both Table 1 speed bands (0–14 kn and 14–23 kn) are represented.
    CHECK(slow_band >= 2);
    CHECK(fast_band >= 2);
  }

  TEST_CASE("MMSIs are unique, valid and carry the MID of a North Sea state") {
    for (const std::size_t n : {std::size_t{20}, std::size_t{2000}}) {
      const Simulator sim(config_with(7, n));
      std::set<aistrack::Mmsi> seen;
      std::set<std::string> names;
      for (const auto& v : sim.vessels()) {
        CHECK(aistrack::is_valid_mmsi(v.mmsi));
        CHECK(north_sea_mid(v.mmsi));
        seen.insert(v.mmsi);
        names.insert(v.name);
        CHECK(v.name.size() <= 20);
      }
      CHECK(seen.size() == n);
      CHECK(names.size() == n);
    }
    const Simulator empty(config_with(1, 0));
    CHECK(empty.vessels().empty());
    SimConfig too_many = config_with(1, 2'000'000);
    CHECK_THROWS_AS(Simulator{too_many}, aistrack::Error);
  }

  TEST_CASE("position reports are filled like a decoder fills them") {
    const SimConfig config = config_with(3);
    const Simulator reference(config);
    const auto vessels = by_mmsi(reference);
    const auto msgs = run(config, 2 * kHourMs, 1000);
    int positions = 0;
    for (const Message& m : msgs) {
      CAPTURE(describe(m));
      REQUIRE(vessels.count(m.mmsi) == 1);
      const auto& v = *vessels.at(m.mmsi);
      CHECK(m.source == aistrack::Source::simulator);
      CHECK(m.station == v.station);
      CHECK(m.ts_ms >= kStartMs);
      CHECK(m.ts_ms <= kStartMs + 2 * kHourMs);
      if (!m.position) continue;
      ++positions;
      const auto& p = *m.position;
      CHECK(!m.static_data);
      CHECK(m.ais_type == (v.station == StationClass::class_a ? 1 : 18));
      REQUIRE(p.latlon);
      // Latitude/longitude at the 1/10000-minute resolution of the AIS fields.
      const double lat_units = p.latlon->lat_deg * 600'000.0;
      const double lon_units = p.latlon->lon_deg * 600'000.0;
      CHECK(std::abs(lat_units - std::round(lat_units)) < 1e-6);
      CHECK(std::abs(lon_units - std::round(lon_units)) < 1e-6);
      REQUIRE(p.sog_kn);
      CHECK(std::abs(*p.sog_kn * 10 - std::round(*p.sog_kn * 10)) < 1e-9);
      if (is_stationary(v)) {
        CHECK(*p.sog_kn <= 0.3);
      } else if (v.station == StationClass::class_a) {
        CHECK(*p.sog_kn >= 10.0);
        CHECK(*p.sog_kn <= 20.0);
      } else {
        CHECK(*p.sog_kn >= 4.0);
        CHECK(*p.sog_kn <= 8.0);
      }
      REQUIRE(p.cog_deg);
      CHECK(*p.cog_deg >= 0.0);
      CHECK(*p.cog_deg < 360.0);
      if (p.heading_deg) CHECK(*p.heading_deg <= 359);
      REQUIRE(p.utc_second);
      CHECK(*p.utc_second == (m.ts_ms / 1000) % 60);
      CHECK(!p.altitude_m);
      CHECK(!p.station_utc_ms);
      if (v.station == StationClass::class_a) {
        REQUIRE(p.nav_status);
        CHECK(*p.nav_status == v.behaviour);
        REQUIRE(p.heading_deg);
        REQUIRE(p.rot_deg_min);
        // ROT as a decoder returns it: (ROT_AIS / 4.733)², ROT_AIS an integer up to 126.
        const double rot_ais = 4.733 * std::sqrt(std::abs(*p.rot_deg_min));
        CHECK(std::abs(rot_ais - std::round(rot_ais)) < 1e-6);
        CHECK(std::abs(*p.rot_deg_min) <= 40.0);  // ships turn at 15–30 °/min, swing at anchor far slower
        if (!is_stationary(v)) {
          // Heading within a few degrees of the course over ground (leeway, current set, noise).
          const double diff = std::abs(std::remainder(*p.heading_deg - *p.cog_deg, 360.0));
          CHECK(diff <= 5.0);
        }
      } else {
        CHECK(!p.nav_status);
        CHECK(!p.rot_deg_min);
        CHECK(!p.raim);
      }
    }
    CHECK(positions > 5000);
  }

  TEST_CASE("reporting intervals follow ITU-R M.1371-5 for every class and state") {
    const SimConfig config = config_with(1);
    const auto msgs = run(config, 6 * kHourMs, 5000);
    std::map<aistrack::Mmsi, const Message*> previous;
    std::map<Regime, int> seen;
    int turning_reports = 0;
    for (const Message& m : msgs) {
      if (!m.position) continue;
      if (m.station == StationClass::class_a && m.position->rot_deg_min && *m.position->rot_deg_min != 0 &&
          m.position->nav_status == NavStatus::under_way_using_engine) {
        ++turning_reports;
      }
      const auto it = previous.find(m.mmsi);
      if (it != previous.end()) {
        const Message& prev = *it->second;
        const Regime r = regime_of(prev);
        CAPTURE(describe(prev));
        CAPTURE(describe(m));
        CHECK(m.ts_ms - prev.ts_ms == interval_ms(r));
        ++seen[r];
      }
      previous[m.mmsi] = &m;
    }
    CHECK(seen[Regime::a_stationary] > 0);
    CHECK(seen[Regime::a_slow] > 0);
    CHECK(seen[Regime::a_slow_turning] > 0);
    CHECK(seen[Regime::a_fast] > 0);
    CHECK(seen[Regime::a_fast_turning] > 0);
    CHECK(seen[Regime::b_moving] > 0);
    CHECK(seen[Regime::b_slow] > 0);
    CHECK(seen[Regime::a_very_fast] == 0);  // nobody in this fleet exceeds 23 kn
    // Turns are a small share of the time (waypoints tens of km apart), but do happen.
    CHECK(turning_reports > 20);
    CHECK(turning_reports < seen[Regime::a_slow] + seen[Regime::a_fast]);
  }

  TEST_CASE("course changes during a turn match the reported rate of turn") {
    const auto msgs = run(config_with(1), 6 * kHourMs, 60'000);
    std::map<aistrack::Mmsi, const Message*> previous;
    int checked = 0;
    for (const Message& m : msgs) {
      if (!m.position || m.station != StationClass::class_a) continue;
      const Message* prev = std::exchange(previous[m.mmsi], &m);
      if (prev == nullptr) continue;
      const auto& a = *prev->position;
      const auto& b = *m.position;
      if (a.nav_status != NavStatus::under_way_using_engine || *a.rot_deg_min == 0 ||
          *b.rot_deg_min != *a.rot_deg_min) {
        continue;
      }
      const double dt_min = static_cast<double>(m.ts_ms - prev->ts_ms) / 60'000.0;
      const double turned_deg = std::remainder(*b.cog_deg - *a.cog_deg, 360.0);
      CAPTURE(describe(*prev));
      CAPTURE(describe(m));
      CHECK(std::abs(turned_deg - *a.rot_deg_min * dt_min) <= 1.5);  // COG noise ±0.5° per report
      ++checked;
    }
    CHECK(checked > 20);
  }

  TEST_CASE("consecutive fixes are as far apart as the reported speed says") {
    const auto msgs = run(config_with(5), 3 * kHourMs, 10'000);
    std::map<aistrack::Mmsi, const Message*> previous;
    int checked = 0;
    for (const Message& m : msgs) {
      if (!m.position) continue;
      const Message* prev = std::exchange(previous[m.mmsi], &m);
      if (prev == nullptr) continue;
      const auto& a = *prev->position;
      const auto& b = *m.position;
      const double dt_s = static_cast<double>(m.ts_ms - prev->ts_ms) / 1000.0;
      const double dist_m = aistrack::geo::great_circle_m(*a.latlon, *b.latlon);
      CAPTURE(describe(*prev));
      CAPTURE(describe(m));
      if (*a.sog_kn < 1.0) {
        CHECK(dist_m <= 6.5);  // stationary: GNSS jitter of a few metres, nothing more
        continue;
      }
      // ±0.3 kn of SOG noise between the two reports, and 2 × 3 m of jitter.
      const double implied_kn = dist_m / dt_s / (aistrack::geo::kMetresPerNm / 3600.0);
      const double tolerance_kn = 0.4 + 6.5 / dt_s / (aistrack::geo::kMetresPerNm / 3600.0);
      if (a.rot_deg_min.value_or(0.0) == 0.0) CHECK(std::abs(implied_kn - *a.sog_kn) <= tolerance_kn);
      CHECK(implied_kn <= *a.sog_kn + tolerance_kn);  // a turn's chord is shorter than its arc
      ++checked;
    }
    CHECK(checked > 1000);
  }

  TEST_CASE("static data comes every 6 minutes: type 5 for class A, type 24 A and B for class B") {
    const SimConfig config = config_with(2);
    const Simulator reference(config);
    const auto vessels = by_mmsi(reference);
    const auto msgs = run(config, kHourMs, 2000);
    std::map<aistrack::Mmsi, std::vector<TimeMs>> type5, part_a, part_b;
    for (const Message& m : msgs) {
      if (!m.static_data) continue;
      CAPTURE(describe(m));
      const auto& v = *vessels.at(m.mmsi);
      const auto& s = *m.static_data;
      CHECK(!m.position);
      if (v.station == StationClass::class_a) {
        REQUIRE(m.ais_type == 5);
        type5[m.mmsi].push_back(m.ts_ms);
        CHECK(s.name == v.name);
        REQUIRE(s.callsign);
        CHECK(s.callsign->size() >= 4);
        CHECK(s.callsign->size() <= 7);
        REQUIRE(s.imo);
        CHECK(valid_imo(*s.imo));
        CHECK(s.ship_type == v.ship_type);
        REQUIRE(s.dimensions);
        CHECK(s.dimensions->length_m() >= 80);
        CHECK(s.dimensions->beam_m() >= 10);
        CHECK(s.dimensions->to_port_m <= 63);
        CHECK(s.dimensions->to_starboard_m <= 63);
        REQUIRE(s.destination);
        CHECK(!s.destination->empty());
        CHECK(s.destination->size() <= 20);
        REQUIRE(s.eta);
        CHECK(s.eta->month >= 1);
        CHECK(s.eta->month <= 12);
        CHECK(s.eta->day >= 1);
        CHECK(s.eta->day <= 31);
        CHECK(s.eta->hour.value_or(99) <= 23);
        CHECK(s.eta->minute.value_or(99) <= 59);
        REQUIRE(s.draught_m);
        CHECK(*s.draught_m >= 2.0);
        CHECK(*s.draught_m <= 25.5);
      } else {
        REQUIRE(m.ais_type == 24);
        CHECK(!s.imo);
        CHECK(!s.destination);
        CHECK(!s.eta);
        CHECK(!s.draught_m);
        if (s.name) {  // part A: the name and nothing else
          CHECK(*s.name == v.name);
          CHECK(!s.callsign);
          CHECK(!s.ship_type);
          CHECK(!s.dimensions);
          part_a[m.mmsi].push_back(m.ts_ms);
        } else {  // part B
          REQUIRE(s.callsign);
          CHECK(s.ship_type == v.ship_type);
          REQUIRE(s.dimensions);
          CHECK(s.dimensions->length_m() <= 20);
          part_b[m.mmsi].push_back(m.ts_ms);
        }
      }
    }
    const auto every_6_min = [](const std::vector<TimeMs>& ts) {
      REQUIRE(ts.size() >= 9);  // one hour: 9 or 10 reports
      CHECK(ts.front() < kStartMs + 6 * kMinuteMs);
      for (std::size_t i = 1; i < ts.size(); ++i) CHECK(ts[i] - ts[i - 1] == 6 * kMinuteMs);
    };
    for (const auto& v : reference.vessels()) {
      CAPTURE(v.name);
      if (v.station == StationClass::class_a) {
        CHECK(part_a.count(v.mmsi) == 0);
        every_6_min(type5[v.mmsi]);
      } else {
        CHECK(type5.count(v.mmsi) == 0);
        every_6_min(part_a[v.mmsi]);
        every_6_min(part_b[v.mmsi]);
        // Part B follows part A within a minute, as M.1371-5 asks.
        const TimeMs lag_ms = part_b[v.mmsi].front() - part_a[v.mmsi].front();
        CHECK(lag_ms > 0);
        CHECK(lag_ms < kMinuteMs);
      }
    }
  }

  TEST_CASE("first reports are spread over each vessel's first interval") {
    const SimConfig config = config_with(4);
    const Simulator reference(config);
    const auto vessels = by_mmsi(reference);
    const auto msgs = run(config, 4 * kMinuteMs, 1000);
    std::map<aistrack::Mmsi, TimeMs> first;
    for (const Message& m : msgs) {
      if (m.position && first.count(m.mmsi) == 0) first[m.mmsi] = m.ts_ms;
    }
    REQUIRE(first.size() == 20);
    std::set<TimeMs> distinct;
    for (const auto& [mmsi, ts] : first) {
      const auto& v = *vessels.at(mmsi);
      CAPTURE(v.name);
      TimeMs nominal_ms = 180'000;
      if (!is_stationary(v))
        nominal_ms = v.station == StationClass::class_b ? 30'000 : (v.cruise_sog_kn > 14 ? 6'000 : 10'000);
      CHECK(ts >= kStartMs);
      CHECK(ts < kStartMs + nominal_ms);
      distinct.insert(ts);
    }
    CHECK(distinct.size() >= 18);
    CHECK(std::count_if(first.begin(), first.end(), [](const auto& kv) { return kv.second == kStartMs; }) <=
          1);
  }

  TEST_CASE("messages depend on the seed and the covered time, not on how often step() runs") {
    const SimConfig config = config_with(42);
    const TimeMs duration_ms = kHourMs;
    const auto fine = describe_all(run(config, duration_ms, 100));
    const auto coarse = describe_all(run(config, duration_ms, duration_ms));
    REQUIRE(fine.size() > 5000);
    CHECK(fine == coarse);

    // Irregular steps, including repeated and backwards `now` values, which add nothing.
    Simulator sim(config);
    std::vector<Message> out;
    TimeMs t = kStartMs - 5000;
    std::uint64_t x = 12345;
    while (t < kStartMs + duration_ms) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      t = std::min(t + static_cast<TimeMs>((x >> 33) % 20'000), kStartMs + duration_ms);
      sim.step(t, out);
      sim.step(t, out);
      sim.step(t - 7000, out);
    }
    sim.step(kStartMs + duration_ms, out);
    CHECK(describe_all(out) == fine);

    // Oldest first across the fleet, and (previous now, now] exactly.
    Simulator halves(config);
    std::vector<Message> first_half, second_half;
    halves.step(kStartMs + duration_ms / 2, first_half);
    halves.step(kStartMs + duration_ms, second_half);
    REQUIRE(!first_half.empty());
    REQUIRE(!second_half.empty());
    CHECK(first_half.back().ts_ms <= kStartMs + duration_ms / 2);
    CHECK(second_half.front().ts_ms > kStartMs + duration_ms / 2);
    const auto msgs = run(config, duration_ms, duration_ms);
    CHECK(std::is_sorted(msgs.begin(), msgs.end(),
                         [](const Message& a, const Message& b) { return a.ts_ms < b.ts_ms; }));

    // Nothing exists before the simulation epoch.
    Simulator early(config);
    std::vector<Message> none;
    early.step(kStartMs - 1, none);
    CHECK(none.empty());

    CHECK(describe_all(run(config_with(43), duration_ms, duration_ms)) != fine);
    CHECK(describe_all(run(config_with(42), duration_ms, duration_ms)) == fine);
  }

  TEST_CASE("a fleet keeps its first vessels when it grows") {
    const Simulator small(config_with(9, 5));
    const Simulator big(config_with(9, 40));
    for (std::size_t i = 0; i < small.vessels().size(); ++i) {
      CHECK(small.vessels()[i].mmsi == big.vessels()[i].mmsi);
      CHECK(small.vessels()[i].name == big.vessels()[i].name);
    }
  }

  TEST_CASE("every position stays inside the area for 6 simulated hours") {
    for (const std::uint64_t seed : {1ULL, 2ULL, 99ULL}) {
      const SimConfig config = config_with(seed, 40);
      const auto msgs = run(config, 6 * kHourMs, 60'000);
      int outside = 0;
      int positions = 0;
      for (const Message& m : msgs) {
        if (!m.position) continue;
        ++positions;
        if (!config.area.contains(*m.position->latlon)) ++outside;
      }
      CAPTURE(seed);
      CHECK(positions > 50'000);
      CHECK(outside == 0);
    }
  }

  TEST_CASE("stationary vessels stay within a few metres of their berth") {
    const SimConfig config = config_with(6);
    const Simulator reference(config);
    const auto vessels = by_mmsi(reference);
    std::map<aistrack::Mmsi, std::vector<LatLon>> fixes;
    for (const Message& m : run(config, 6 * kHourMs, 60'000)) {
      if (m.position && is_stationary(*vessels.at(m.mmsi))) fixes[m.mmsi].push_back(*m.position->latlon);
    }
    REQUIRE(fixes.size() >= 5);
    for (const auto& [mmsi, points] : fixes) {
      CHECK(points.size() >= 115);  // one every 3 min for 6 hours
      for (const LatLon& a : points) CHECK(aistrack::geo::great_circle_m(a, points.front()) <= 6.5);
    }
  }

  TEST_CASE("the constructor rejects areas that are too small to be a polygon or not convex") {
    SimConfig c = config_with(1);
    c.area.polygon = {};
    CHECK_THROWS_AS(Simulator{c}, aistrack::Error);
    c.area.polygon = {{54.0, 2.0}, {55.0, 3.0}};
    CHECK_THROWS_AS(Simulator{c}, aistrack::Error);
    // A dart: the fourth vertex points inwards.
    c.area.polygon = {{54.0, 2.0}, {54.0, 6.0}, {56.0, 6.0}, {55.0, 4.0}, {56.0, 2.0}};
    CHECK_THROWS_AS(Simulator{c}, aistrack::Error);
    // A bow-tie and a pentagram (each turn goes one way, but the edges cross).
    c.area.polygon = {{54.0, 2.0}, {56.0, 6.0}, {54.0, 6.0}, {56.0, 2.0}};
    CHECK_THROWS_AS(Simulator{c}, aistrack::Error);
    std::vector<LatLon> star;
    for (int k = 0; k < 5; ++k) {
      const double a = 2 * 3.141592653589793 * (2 * k) / 5;  // every second vertex of a pentagon
      star.push_back({55.0 + std::cos(a), 4.0 + 1.7 * std::sin(a)});
    }
    c.area.polygon = star;
    CHECK_THROWS_AS(Simulator{c}, aistrack::Error);
    // Repeated vertex, and a latitude out of range.
    c.area.polygon = {{54.0, 2.0}, {54.0, 6.0}, {54.0, 6.0}, {56.0, 6.0}, {56.0, 2.0}};
    CHECK_THROWS_AS(Simulator{c}, aistrack::Error);
    c.area.polygon = {{54.0, 2.0}, {54.0, 6.0}, {95.0, 6.0}};
    CHECK_THROWS_AS(Simulator{c}, aistrack::Error);
    // The same area in either winding order is accepted.
    c.area = SeaArea::north_sea();
    CHECK_NOTHROW(Simulator{c});
    std::reverse(c.area.polygon.begin(), c.area.polygon.end());
    CHECK_NOTHROW(Simulator{c});
    CHECK(c.area.contains({55.0, 4.0}));
  }

  TEST_CASE("a small custom area, across the antimeridian, keeps its fleet inside") {
    SimConfig c = config_with(8, 20);
    c.area =
        SeaArea{"Bering test box", {{52.00, 179.80}, {52.00, -179.80}, {52.25, -179.80}, {52.25, 179.80}}};
    const auto msgs = run(c, 2 * kHourMs, 60'000);
    int positions = 0;
    for (const Message& m : msgs) {
      if (!m.position) continue;
      ++positions;
      CHECK(c.area.contains(*m.position->latlon));
      CHECK(m.position->latlon->lon_deg >= -180.0);
      CHECK(m.position->latlon->lon_deg < 180.0);
    }
    CHECK(positions > 1000);
  }

  TEST_CASE("SeaArea::contains uses great-circle edges") {
    const SeaArea area = SeaArea::north_sea();
    CHECK(area.contains({55.0, 4.0}));
    CHECK(area.contains({53.80, 1.50}));          // vertices are on the boundary, which counts as inside
    CHECK_FALSE(area.contains({52.37, 4.90}));    // Amsterdam
    CHECK_FALSE(area.contains({-55.0, -176.0}));  // antipode of the middle of the area
    CHECK_FALSE(area.contains({55.0, 7.5}));
    // The northern edge runs along a great circle, which bulges ~2 km north of the 56.5° parallel
    // half-way between the vertices at 1.5° E and 6.8° E.
    CHECK(area.contains({56.51, 4.15}));
    CHECK_FALSE(area.contains({56.51, 1.6}));
    CHECK_FALSE(SeaArea{}.contains({55.0, 4.0}));
  }

  TEST_CASE("the North Sea area keeps clear of the coasts and islands around it") {
    // Approximate positions of the nearest land (gazetteer coordinates, to ~1 km).
    struct Place {
      const char* name;
      LatLon at;
    };
    const Place land[] = {
        {"Flamborough Head", {54.116, -0.083}},
        {"Spurn Head", {53.578, 0.110}},
        {"Cromer", {52.931, 1.301}},
        {"Texel", {53.18, 4.87}},
        {"Terschelling", {53.41, 5.35}},
        {"Ameland", {53.45, 5.76}},
        {"Schiermonnikoog", {53.48, 6.16}},
        {"Rottumeroog", {53.54, 6.57}},
        {"Borkum", {53.59, 6.67}},
        {"Juist", {53.68, 7.00}},
        {"Norderney", {53.71, 7.16}},
        {"Wangerooge", {53.79, 7.90}},
        {"Helgoland", {54.18, 7.89}},
        {"Sylt (List)", {55.02, 8.43}},
        {"Blåvandshuk", {55.56, 8.08}},
        {"Hvide Sande", {56.00, 8.13}},
        {"Thyborøn", {56.70, 8.21}},
        {"St Abb's Head", {55.92, -2.14}},
        {"Aberdeen", {57.15, -2.09}},
        {"Lindesnes", {57.98, 7.05}},
    };
    const SeaArea area = SeaArea::north_sea();
    const auto edge = boundary_points(area, 500.0);
    for (const Place& p : land) {
      CAPTURE(p.name);
      CHECK_FALSE(area.contains(p.at));
      double nearest_m = 1e12;
      for (const LatLon& q : edge) nearest_m = std::min(nearest_m, aistrack::geo::great_circle_m(p.at, q));
      CHECK(nearest_m >= 15'000.0);
    }
  }

  TEST_CASE("a large fleet produces benchmark-sized output quickly and in order") {
    SimConfig c = config_with(11, 500);
    Simulator sim(c);
    std::vector<Message> out;
    out.reserve(200'000);
    sim.step(kStartMs + kHourMs, out);
    CHECK(out.size() > 100'000);
    CHECK(std::is_sorted(out.begin(), out.end(),
                         [](const Message& a, const Message& b) { return a.ts_ms < b.ts_ms; }));
  }
}

// ---------------------------------------------------------------------------------------------
// Real data: Natural Earth 1:110m land polygons.

namespace {

struct LandPolygon {
  std::vector<std::vector<LatLon>> rings;  // outer ring first, then holes
  double lat_min = 90, lat_max = -90, lon_min = 180, lon_max = -180;
};

bool in_ring(const std::vector<LatLon>& ring, LatLon p) {
  // Even-odd ray casting in the lon/lat plane, as GeoJSON rings are drawn.
  bool inside = false;
  for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
    const LatLon a = ring[i];
    const LatLon b = ring[j];
    if ((a.lat_deg > p.lat_deg) != (b.lat_deg > p.lat_deg) &&
        p.lon_deg < (b.lon_deg - a.lon_deg) * (p.lat_deg - a.lat_deg) / (b.lat_deg - a.lat_deg) + a.lon_deg) {
      inside = !inside;
    }
  }
  return inside;
}

bool on_land(const std::vector<LandPolygon>& land, LatLon p) {
  for (const LandPolygon& poly : land) {
    if (p.lat_deg < poly.lat_min || p.lat_deg > poly.lat_max || p.lon_deg < poly.lon_min ||
        p.lon_deg > poly.lon_max) {
      continue;
    }
    if (!in_ring(poly.rings.front(), p)) continue;
    bool in_hole = false;
    for (std::size_t h = 1; h < poly.rings.size(); ++h) in_hole = in_hole || in_ring(poly.rings[h], p);
    if (!in_hole) return true;
  }
  return false;
}

std::vector<LandPolygon> load_land(const std::filesystem::path& file) {
  const boost::json::value doc = boost::json::parse(aistrack::test::slurp(file));
  std::vector<LandPolygon> out;
  const auto add_polygon = [&](const boost::json::array& rings) {
    LandPolygon poly;
    for (const auto& ring : rings) {
      std::vector<LatLon> pts;
      for (const auto& coord : ring.as_array()) {
        const auto& c = coord.as_array();
        const LatLon p{c.at(1).to_number<double>(), c.at(0).to_number<double>()};
        poly.lat_min = std::min(poly.lat_min, p.lat_deg);
        poly.lat_max = std::max(poly.lat_max, p.lat_deg);
        poly.lon_min = std::min(poly.lon_min, p.lon_deg);
        poly.lon_max = std::max(poly.lon_max, p.lon_deg);
        pts.push_back(p);
      }
      poly.rings.push_back(std::move(pts));
    }
    if (!poly.rings.empty()) out.push_back(std::move(poly));
  };
  for (const auto& feature : doc.at("features").as_array()) {
    const auto& geometry = feature.at("geometry").as_object();
    const std::string_view type = geometry.at("type").as_string();
    if (type == "Polygon") {
      add_polygon(geometry.at("coordinates").as_array());
    } else if (type == "MultiPolygon") {
      for (const auto& polygon : geometry.at("coordinates").as_array()) add_polygon(polygon.as_array());
    }
  }
  return out;
}

}  // namespace

TEST_CASE("real data: no simulated position and no part of the area is on Natural Earth land") {
  AISTRACK_REQUIRE_SHARED_DATA(shared);
  const auto land = load_land(shared / "coast" / "ne_110m_land.geojson");
  REQUIRE(land.size() > 100);
  // The point-in-polygon test itself works: inland Britain, Denmark and the Netherlands are land,
  // the middle of the North Sea and the Atlantic are not.
  CHECK(on_land(land, {52.5, -1.5}));
  CHECK(on_land(land, {56.0, 9.2}));
  CHECK(on_land(land, {52.3, 5.9}));
  CHECK_FALSE(on_land(land, {55.0, 3.0}));
  CHECK_FALSE(on_land(land, {45.0, -30.0}));

  const SeaArea area = SeaArea::north_sea();
  for (const LatLon& v : area.polygon) CHECK_FALSE(on_land(land, v));
  for (const LatLon& q : boundary_points(area, 1000.0)) {
    CAPTURE(q.lat_deg);
    CAPTURE(q.lon_deg);
    CHECK_FALSE(on_land(land, q));
  }

  const SimConfig config = config_with(1, 40);
  int positions = 0;
  int on_land_count = 0;
  for (const Message& m : run(config, 6 * kHourMs, 60'000)) {
    if (!m.position) continue;
    ++positions;
    if (on_land(land, *m.position->latlon)) ++on_land_count;
  }
  CHECK(positions > 50'000);
  CHECK(on_land_count == 0);
}
