#include "csv.hpp"

#include <array>
#include <charconv>
#include <optional>
#include <type_traits>

namespace aistrack::server {

std::string number_text(double v) {
  std::array<char, 32> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc{}) return "0";
  return std::string(buf.data(), end);
}

namespace {

template <class T>
std::string opt_text(const std::optional<T>& v) {
  if (!v) return {};
  if constexpr (std::is_floating_point_v<T>) {
    return number_text(*v);
  } else {
    return std::to_string(*v);
  }
}
}  // namespace

void append_csv_field(std::string& out, std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += v;
    return;
  }
  out += '"';
  for (const char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_position_csv_row(std::string& out, Mmsi mmsi, const PositionFix& f) {
  const std::string fields[] = {
      std::to_string(mmsi),
      format_iso8601(f.ts_ms),
      number_text(f.latlon.lat_deg),
      number_text(f.latlon.lon_deg),
      opt_text(f.sog_kn),
      opt_text(f.cog_deg),
      opt_text(f.heading_deg),
      opt_text(f.rot_deg_min),
      f.nav_status ? std::string(to_string(*f.nav_status)) : std::string(),
      f.nav_status ? std::to_string(static_cast<int>(*f.nav_status)) : std::string(),
      std::to_string(f.ais_type),
      std::string(to_string(f.source)),
  };
  bool first = true;
  for (const std::string& field : fields) {
    if (!first) out += ',';
    append_csv_field(out, field);
    first = false;
  }
  out += "\r\n";
}

}  // namespace aistrack::server
