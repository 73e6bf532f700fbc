// Writes AIS messages as !AIVDM sentences (ITU-R M.1371 bit layout, 6-bit armour), for tests and
// benchmarks that feed the server NMEA over UDP or TCP.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace aistrack::test {

/// A type 1 position report for `mmsi` at lat/lon (degrees; AIS keeps 1/600000°), SOG (kn) and
/// COG (°, also sent as heading), as one "!AIVDM…*hh\r\n" line.
inline std::string aivdm_type1(std::uint32_t mmsi, double lat_deg, double lon_deg, double sog_kn,
                               double cog_deg) {
  std::vector<bool> bits;
  const auto put = [&](std::int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i) bits.push_back(((static_cast<std::uint64_t>(value) >> i) & 1U) != 0);
  };
  put(1, 6);                                         // message type
  put(0, 2);                                         // repeat
  put(mmsi, 30);                                     // MMSI
  put(0, 4);                                         // under way using engine
  put(0, 8);                                         // rate of turn 0
  put(static_cast<std::int64_t>(sog_kn * 10), 10);   // SOG, 0.1 kn
  put(1, 1);                                         // accuracy
  put(std::llround(lon_deg * 600'000), 28);          // lon, 1/10000 min
  put(std::llround(lat_deg * 600'000), 27);          // lat
  put(static_cast<std::int64_t>(cog_deg * 10), 12);  // COG, 0.1°
  put(static_cast<std::int64_t>(cog_deg), 9);        // heading
  put(30, 6);                                        // UTC second
  put(0, 2 + 3 + 1 + 19);                            // manoeuvre, spare, RAIM, radio
  std::string payload;
  for (std::size_t i = 0; i < bits.size(); i += 6) {
    int v = 0;
    for (std::size_t k = 0; k < 6; ++k) v = (v << 1) | (bits[i + k] ? 1 : 0);
    payload += static_cast<char>(v < 40 ? v + 48 : v + 56);
  }
  const std::string body = "AIVDM,1,1,,A," + payload + ",0";
  unsigned sum = 0;
  for (const char ch : body) sum ^= static_cast<unsigned char>(ch);
  return fmt::format("!{}*{:02X}\r\n", body, sum);
}

}  // namespace aistrack::test
