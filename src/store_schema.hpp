// The Store's table layout shared by its SQLite and PostgreSQL backends: one list of columns, so
// both databases bind and read the same fields in the same order.
#pragma once

#include <aistrack/message.hpp>
#include <aistrack/types.hpp>

#include <iterator>
#include <optional>
#include <string>

namespace aistrack::detail {

enum class SqlDialect { sqlite, postgresql };

// Stored codes back to enums. A database can be edited by hand, so an unknown code becomes the default.
inline Source source_from_code(std::optional<int> code) {
  if (!code || *code < 0 || *code > static_cast<int>(Source::simulator)) return Source::unknown;
  return static_cast<Source>(*code);
}

inline StationClass station_from_code(std::optional<int> code) {
  if (!code || *code < 0 || *code > static_cast<int>(StationClass::aid_to_navigation)) {
    return StationClass::class_a;
  }
  return static_cast<StationClass>(*code);
}

// Columns of a fix, in bind/read order, shared by positions and the last position in vessels.
constexpr const char* kFixColumns[] = {"ts_ms",       "lat_deg",    "lon_deg",     "sog_kn",   "cog_deg",
                                       "heading_deg", "nav_status", "rot_deg_min", "ais_type", "source"};
constexpr int kFixColumnCount = static_cast<int>(std::size(kFixColumns));

// Static columns in bind/read order; `group` is the column whose NULL-ness says whether the
// whole group (dimensions, ETA) is present, so a group is always replaced as a unit.
struct StaticColumn {
  const char* name;
  const char* group;
};
constexpr StaticColumn kStaticColumns[] = {
    {"name", "name"},           {"callsign", "callsign"},       {"imo", "imo"},
    {"ship_type", "ship_type"}, {"to_bow_m", "to_bow_m"},       {"to_stern_m", "to_bow_m"},
    {"to_port_m", "to_bow_m"},  {"to_starboard_m", "to_bow_m"}, {"eta_month", "eta_month"},
    {"eta_day", "eta_month"},   {"eta_hour", "eta_month"},      {"eta_minute", "eta_month"},
    {"draught_m", "draught_m"}, {"destination", "destination"}, {"aton_type", "aton_type"},
};
constexpr int kStaticColumnCount = static_cast<int>(std::size(kStaticColumns));

// Vessel row layout (1-based bind indexes, 0-based column indexes are one less).
constexpr int kVesselMmsi = 1;
constexpr int kVesselStation = 2;
constexpr int kVesselStaticFirst = 3;
constexpr int kVesselStaticTs = kVesselStaticFirst + kStaticColumnCount;
constexpr int kVesselFixFirst = kVesselStaticTs + 1;
constexpr int kVesselLastSeen = kVesselFixFirst + kFixColumnCount;

inline std::string vessel_column_list() {
  std::string cols = "mmsi, station_class";
  for (const auto& c : kStaticColumns) cols.append(", ").append(c.name);
  cols += ", static_ts_ms";
  for (const char* c : kFixColumns) cols.append(", ").append(c);
  cols += ", last_seen_ms";
  return cols;
}

inline std::string placeholders(int count) {
  std::string out;
  for (int i = 1; i <= count; ++i) out.append(i == 1 ? "?" : ", ?").append(std::to_string(i));
  return out;
}

// The UPSERT merges like Tracker::apply does, so an out-of-order write never regresses the row:
// the last position is replaced only by one at least as new; static data only by a static
// message at least as new, and then field by field (newer non-NULL wins, groups as a unit).
// In ON CONFLICT DO UPDATE every expression sees the row as it was before the update.
inline std::string upsert_vessel_sql(SqlDialect dialect) {
  const std::string newer_static =
      "(excluded.static_ts_ms IS NOT NULL AND (vessels.static_ts_ms IS NULL OR "
      "excluded.static_ts_ms >= vessels.static_ts_ms))";
  const std::string newer_fix =
      "(excluded.ts_ms IS NOT NULL AND (vessels.ts_ms IS NULL OR excluded.ts_ms >= vessels.ts_ms))";
  // SQLite binds one row (?1, ?2, …); PostgreSQL inserts a COPY-filled staging table's rows.
  std::string sql =
      "INSERT INTO vessels (" + vessel_column_list() + ") " +
      (dialect == SqlDialect::sqlite ? "VALUES (" + placeholders(kVesselLastSeen) + ")"
                                     : "SELECT " + vessel_column_list() + " FROM vessel_stage") +
      " ON CONFLICT (mmsi) DO UPDATE SET ";
  sql +=
      "station_class = CASE WHEN excluded.last_seen_ms >= vessels.last_seen_ms THEN excluded.station_class "
      "ELSE vessels.station_class END";
  for (const auto& c : kStaticColumns) {
    sql.append(", ").append(c.name).append(" = CASE WHEN ").append(newer_static);
    sql.append(" AND excluded.").append(c.group).append(" IS NOT NULL THEN excluded.").append(c.name);
    sql.append(" ELSE vessels.").append(c.name).append(" END");
  }
  sql += ", static_ts_ms = CASE WHEN " + newer_static +
         " THEN excluded.static_ts_ms ELSE vessels.static_ts_ms END";
  for (const char* c : kFixColumns) {
    sql.append(", ").append(c).append(" = CASE WHEN ").append(newer_fix).append(" THEN excluded.");
    sql.append(c).append(" ELSE vessels.").append(c).append(" END");
  }
  sql += dialect == SqlDialect::sqlite
             ? ", last_seen_ms = max(vessels.last_seen_ms, excluded.last_seen_ms)"
             : ", last_seen_ms = greatest(vessels.last_seen_ms, excluded.last_seen_ms)";
  return sql;
}

// ---- errors -------------------------------------------------------------------------------------

}  // namespace aistrack::detail
