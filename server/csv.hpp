// RFC 4180 CSV of positions, shared by the track export (/v1/ais/{mmsi}/track?format=csv) and the
// streaming export (/v1/positions/export.csv), so both write the same columns the same way.
#pragma once

#include <aistrack/message.hpp>

#include <string>
#include <string_view>

namespace aistrack::server {

/// The header row, CRLF included.
inline constexpr std::string_view kPositionCsvHeader =
    "mmsi,time,lat,lon,sog,cog,heading,rot,nav_status,nav_status_code,ais_type,source\r\n";

/// Most bytes append_position_csv_row() writes for one fix (numbers are at most 24 characters each).
inline constexpr std::size_t kMaxPositionCsvRowBytes = 320;

/// Shortest text that reads back as the same double (std::to_chars).
std::string number_text(double v);

/// Appends one RFC 4180 field: quoted when it holds a comma, a quote or a line break.
void append_csv_field(std::string& out, std::string_view value);

/// Appends one row (CRLF line end; empty fields for unknown values).
void append_position_csv_row(std::string& out, Mmsi mmsi, const PositionFix& fix);

}  // namespace aistrack::server
