// The Store's PostgreSQL backend (issue #9), through libpq: batches go in with COPY into a staging
// table and one INSERT … SELECT (duplicates skipped by the primary key), positions and raw messages
// are partitioned by UTC day so retention drops whole partitions, the schema is migrated by version
// under an advisory lock, and with PostGIS a geography column with a GiST index answers area
// queries. See docs/STORE.md, "PostgreSQL".
#include "store_backend.hpp"
#include "store_schema.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace aistrack::detail {
namespace {

struct ConnClose {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnClose>;

struct ResultClear {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultClear>;

constexpr std::int64_t kDayMs = 86'400'000;

// Key of the advisory lock that serialises schema migrations between instances ("aistrack" + 1).
constexpr std::int64_t kMigrationLockKey = 0x61697374'72616301;

// Migrations, one per schema version: kMigrations[v - 1] turns version v-1 into version v, each in
// the same transaction as the version update. Never edit a released step; append one.
constexpr const char* kMigrations[] = {
    // 0 -> 1. Positions and raw messages are partitioned by report (arrival) day; the partitions are
    // made by the writer as days come (store_pg.cpp, ensure_days). The primary key includes ts_ms, as
    // PostgreSQL requires of a partitioned table's unique keys, and is the (mmsi, time) index.
    R"sql(
CREATE TABLE positions (
  mmsi        integer          NOT NULL,
  ts_ms       bigint           NOT NULL,  -- report time, ms since 1970 UTC
  seq         integer          NOT NULL,  -- 0, 1, ... for distinct fixes of this mmsi with the same ts_ms
  lat_deg     double precision NOT NULL,
  lon_deg     double precision NOT NULL,
  sog_kn      double precision,           -- NULL: not available
  cog_deg     double precision,
  heading_deg smallint,
  nav_status  smallint,                   -- ITU-R M.1371 Table 45 code
  rot_deg_min double precision,
  ais_type    smallint         NOT NULL,  -- ITU message id 1..27
  source      smallint         NOT NULL,  -- 0 unknown, 1 aisstream, 2 nmea, 3 simulator
  PRIMARY KEY (mmsi, ts_ms, seq)
) PARTITION BY RANGE (ts_ms);

CREATE TABLE vessels (
  mmsi           integer PRIMARY KEY,
  station_class  smallint NOT NULL,
  name           text,
  callsign       text,
  imo            bigint,
  ship_type      smallint,
  to_bow_m       integer,
  to_stern_m     integer,
  to_port_m      integer,
  to_starboard_m integer,
  eta_month      smallint,
  eta_day        smallint,
  eta_hour       smallint,
  eta_minute     smallint,
  draught_m      double precision,
  destination    text,
  aton_type      smallint,
  static_ts_ms   bigint,
  ts_ms          bigint,
  lat_deg        double precision,
  lon_deg        double precision,
  sog_kn         double precision,
  cog_deg        double precision,
  heading_deg    smallint,
  nav_status     smallint,
  rot_deg_min    double precision,
  ais_type       smallint,
  source         smallint,
  last_seen_ms   bigint NOT NULL
);
CREATE INDEX vessels_last_seen ON vessels (last_seen_ms);

CREATE TABLE raw_messages (
  received_ms bigint   NOT NULL,
  source      smallint NOT NULL,
  mmsi        integer,
  payload     bytea    NOT NULL  -- bytes as received (text cannot hold NUL)
) PARTITION BY RANGE (received_ms);

CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// The geography column and its index, added whenever PostGIS is installed (also to a database made
// before it was). The index is on the column as geometry: a latitude/longitude box is a box in that
// plane, whereas a geography box's edges are great circles that cut corners off the box.
constexpr const char* kPostgisStep = R"sql(
ALTER TABLE positions ADD COLUMN IF NOT EXISTS geog geography(Point, 4326)
  GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon_deg, lat_deg), 4326)::geography) STORED;
CREATE INDEX IF NOT EXISTS positions_geog ON positions USING gist ((geog::geometry));
)sql";

// ---- text in and out --------------------------------------------------------------------------

// Appends one COPY text field: \N for NULL, backslash escapes for the characters COPY gives meaning.
void copy_text(std::string& out, std::string_view v) {
  for (const char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\0': break;  // text cannot hold NUL (names and destinations never carry one)
      default: out += c;
    }
  }
}

template <class Number>
void copy_number(std::string& out, Number v) {
  char buf[32];
  // Shortest round-trip form for doubles, so an identical fix compares equal after storage.
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? end : buf);
}

template <class T>
void copy_opt(std::string& out, const std::optional<T>& v) {
  if (!v) {
    out += "\\N";
  } else if constexpr (std::is_same_v<T, std::string>) {
    copy_text(out, *v);
  } else {
    copy_number(out, *v);
  }
}

void copy_fix(std::string& out, const PositionFix& f) {
  copy_number(out, f.ts_ms);
  out += '\t';
  copy_number(out, f.latlon.lat_deg);
  out += '\t';
  copy_number(out, f.latlon.lon_deg);
  out += '\t';
  copy_opt(out, f.sog_kn);
  out += '\t';
  copy_opt(out, f.cog_deg);
  out += '\t';
  copy_opt(out, f.heading_deg);
  out += '\t';
  copy_opt(out, f.nav_status ? std::optional<int>(static_cast<int>(*f.nav_status)) : std::nullopt);
  out += '\t';
  copy_opt(out, f.rot_deg_min);
  out += '\t';
  copy_number(out, static_cast<int>(f.ais_type));
  out += '\t';
  copy_number(out, static_cast<int>(f.source));
}

void copy_null_fix(std::string& out) {
  for (int i = 0; i < kFixColumnCount; ++i) out += i == 0 ? "\\N" : "\t\\N";
}

void copy_vessel(std::string& out, const VesselState& v) {
  copy_number(out, v.mmsi);
  out += '\t';
  copy_number(out, static_cast<int>(v.station));
  const StaticData& sd = v.static_data;
  const auto field = [&](const auto& value) {
    out += '\t';
    copy_opt(out, value);
  };
  field(sd.name);
  field(sd.callsign);
  field(sd.imo);
  field(sd.ship_type ? std::optional<int>(sd.ship_type->code) : std::nullopt);
  const auto& d = sd.dimensions;
  field(d ? std::optional<int>(d->to_bow_m) : std::nullopt);
  field(d ? std::optional<int>(d->to_stern_m) : std::nullopt);
  field(d ? std::optional<int>(d->to_port_m) : std::nullopt);
  field(d ? std::optional<int>(d->to_starboard_m) : std::nullopt);
  const auto& e = sd.eta;
  field(e ? std::optional<int>(e->month) : std::nullopt);
  field(e ? std::optional<int>(e->day) : std::nullopt);
  field(e && e->hour ? std::optional<int>(*e->hour) : std::nullopt);
  field(e && e->minute ? std::optional<int>(*e->minute) : std::nullopt);
  field(sd.draught_m);
  field(sd.destination);
  field(sd.aton_type ? std::optional<int>(*sd.aton_type) : std::nullopt);
  field(v.static_ts_ms);
  out += '\t';
  if (v.position) {
    copy_fix(out, *v.position);
  } else {
    copy_null_fix(out);
  }
  out += '\t';
  copy_number(out, v.last_seen_ms);
  out += '\n';
}

// Reads result cells. The database may have been edited by hand, so every number is range-checked.
class Row {
 public:
  Row(const PGresult* r, int row) noexcept : r_(r), row_(row) {}
  [[nodiscard]] bool null(int col) const noexcept { return PQgetisnull(r_, row_, col) != 0; }
  [[nodiscard]] std::string_view text(int col) const noexcept {
    return {PQgetvalue(r_, row_, col), static_cast<std::size_t>(PQgetlength(r_, row_, col))};
  }
  template <class Number>
  [[nodiscard]] std::optional<Number> num(int col) const noexcept {
    if (null(col)) return std::nullopt;
    const std::string_view t = text(col);
    if constexpr (std::is_floating_point_v<Number>) {
      double v = 0;
      if (std::from_chars(t.data(), t.data() + t.size(), v).ec != std::errc()) return std::nullopt;
      return v;
    } else {
      std::int64_t v = 0;
      if (std::from_chars(t.data(), t.data() + t.size(), v).ec != std::errc()) return std::nullopt;
      if (v < static_cast<std::int64_t>(std::numeric_limits<Number>::min()) ||
          static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(std::numeric_limits<Number>::max())) {
        return std::nullopt;
      }
      return static_cast<Number>(v);
    }
  }
  [[nodiscard]] std::optional<std::string> str(int col) const {
    if (null(col)) return std::nullopt;
    return std::string(text(col));
  }

 private:
  const PGresult* r_;
  int row_;
};

// Reads kFixColumns from column `first`; nullopt when the row has no position (vessels only).
std::optional<PositionFix> read_fix(const Row& row, int first) {
  const auto ts_ms = row.num<TimeMs>(first);
  const auto lat_deg = row.num<double>(first + 1);
  const auto lon_deg = row.num<double>(first + 2);
  if (!ts_ms || !lat_deg || !lon_deg) return std::nullopt;
  PositionFix fix;
  fix.ts_ms = *ts_ms;
  fix.latlon = LatLon{*lat_deg, *lon_deg};
  fix.sog_kn = row.num<double>(first + 3);
  fix.cog_deg = row.num<double>(first + 4);
  fix.heading_deg = row.num<std::uint16_t>(first + 5);
  if (const auto code = row.num<int>(first + 6)) fix.nav_status = nav_status_from_code(*code);
  fix.rot_deg_min = row.num<double>(first + 7);
  fix.ais_type = row.num<std::uint8_t>(first + 8).value_or(0);
  fix.source = source_from_code(row.num<int>(first + 9));
  return fix;
}

VesselState read_vessel(const Row& row) {
  VesselState v;
  v.mmsi = row.num<Mmsi>(kVesselMmsi - 1).value_or(0);
  v.station = station_from_code(row.num<int>(kVesselStation - 1));
  int c = kVesselStaticFirst - 1;
  StaticData& sd = v.static_data;
  sd.name = row.str(c++);
  sd.callsign = row.str(c++);
  sd.imo = row.num<std::uint32_t>(c++);
  if (const auto code = row.num<int>(c++)) sd.ship_type = ship_type_from_code(*code);
  const auto to_bow_m = row.num<std::uint16_t>(c++);
  const auto to_stern_m = row.num<std::uint16_t>(c++);
  const auto to_port_m = row.num<std::uint8_t>(c++);
  const auto to_starboard_m = row.num<std::uint8_t>(c++);
  if (to_bow_m && to_stern_m && to_port_m && to_starboard_m) {
    sd.dimensions = Dimensions{*to_bow_m, *to_stern_m, *to_port_m, *to_starboard_m};
  }
  const auto eta_month = row.num<std::uint8_t>(c++);
  const auto eta_day = row.num<std::uint8_t>(c++);
  const auto eta_hour = row.num<std::uint8_t>(c++);
  const auto eta_minute = row.num<std::uint8_t>(c++);
  if (eta_month && eta_day) sd.eta = Eta{*eta_month, *eta_day, eta_hour, eta_minute};
  sd.draught_m = row.num<double>(c++);
  sd.destination = row.str(c++);
  sd.aton_type = row.num<std::uint8_t>(c++);
  v.static_ts_ms = row.num<TimeMs>(kVesselStaticTs - 1);
  v.position = read_fix(row, kVesselFixFirst - 1);
  v.last_seen_ms = row.num<TimeMs>(kVesselLastSeen - 1).value_or(0);
  return v;
}

// Columns of a positions row in reads (kFixColumns order, so read_fix reads them).
std::string fix_column_list() {
  std::string cols;
  for (const char* c : kFixColumns) cols.append(cols.empty() ? "" : ", ").append(c);
  return cols;
}

// ---- names, URLs and errors -------------------------------------------------------------------

// The URL with any password replaced by "***", for messages, logs and /health.
std::string redact(const std::string& url) {
  std::string out = url;
  const std::size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const std::size_t auth_end = out.find_first_of("@", scheme + 3);
    const std::size_t path = out.find('/', scheme + 3);
    if (auth_end != std::string::npos && (path == std::string::npos || auth_end < path)) {
      const std::size_t colon = out.find(':', scheme + 3);
      if (colon != std::string::npos && colon < auth_end) out.replace(colon + 1, auth_end - colon - 1, "***");
    }
  }
  // password=… as a query parameter
  for (std::size_t at = out.find("password="); at != std::string::npos; at = out.find("password=", at + 12)) {
    const std::size_t end = out.find('&', at);
    out.replace(at + 9, (end == std::string::npos ? out.size() : end) - at - 9, "***");
  }
  return out;
}

// What the operator can do about a SQLSTATE (or a lost connection when there is none).
const char* hint_for(std::string_view state) {
  if (state.empty() || state.starts_with("08")) {
    return "check that PostgreSQL is running and reachable at DB_URL";
  }
  if (state.starts_with("28")) return "check the user and password in DB_URL";
  if (state == "3D000") return "create the database named in DB_URL (createdb)";
  if (state == "42501") return "grant DB_URL's user the right to create tables in the database";
  if (state.starts_with("53")) return "the database server is out of disk, memory or connections";
  if (state.starts_with("57")) return "the database server is shutting down or cancelled the statement";
  return "check the database server's log";
}

// The UTC day (days since 1970) of a time, and the partition name of that day.
std::int64_t day_of(TimeMs ts_ms) { return ts_ms >= 0 ? ts_ms / kDayMs : -((-ts_ms + kDayMs - 1) / kDayMs); }

std::string partition_name(const char* table, std::int64_t day) {
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day}}};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s_d%04d%02u%02u", table, static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// A parameter list for PQexecParams: the values as text, kept alive with the call.
class Params {
 public:
  template <class... Values>
  explicit Params(const Values&... values) {
    (add(values), ...);
    for (const std::string& s : text_) ptrs_.push_back(s.c_str());
  }
  [[nodiscard]] int size() const noexcept { return static_cast<int>(ptrs_.size()); }
  [[nodiscard]] const char* const* values() const noexcept { return ptrs_.data(); }

 private:
  void add(const std::string& v) { text_.push_back(v); }
  void add(std::string_view v) { text_.emplace_back(v); }
  template <class Number>
  void add(Number v) {
    std::string s;
    copy_number(s, v);
    text_.push_back(std::move(s));
  }
  std::vector<std::string> text_;
  std::vector<const char*> ptrs_;
};

// Rows visited by positions_page and track_page cursors compare (ts_ms, seq) with these at the start.
constexpr std::int64_t kMinKey = std::numeric_limits<std::int64_t>::min();

class PgBackend final : public StoreBackend {
 public:
  explicit PgBackend(const StoreConfig& config) : url_(config.url), location_(redact(config.url)) {
    writer_ = connect();
    exec(writer_.get(), "SET client_min_messages = warning", "connect to");
    migrate();  // before the session's staging tables, which copy the tables' columns
    prepare_session(writer_.get(), true);
    reader_ = connect();
    prepare_session(reader_.get(), false);
  }

  std::size_t write(const Batch& batch) override {
    PGconn* c = ready(writer_, true, "write to");
    try {
      exec(c, "BEGIN", "write to");
      ensure_days(c, batch);
      const std::size_t duplicates = write_positions(c, batch);
      if (!batch.vessels.empty()) {
        copy_buf_.clear();
        for (const VesselState& v : batch.vessels) copy_vessel(copy_buf_, v);
        copy_in(c, "COPY vessel_stage (" + vessel_column_list() + ") FROM STDIN", "write to");
        exec(c, upsert_vessel_sql(SqlDialect::postgresql), "write to");
        exec(c, "TRUNCATE vessel_stage", "write to");
      }
      if (!batch.raws.empty()) {
        copy_buf_.clear();
        for (const BatchRaw& r : batch.raws) {
          copy_number(copy_buf_, r.received_ms);
          copy_buf_ += '\t';
          copy_number(copy_buf_, static_cast<int>(r.source));
          copy_buf_ += '\t';
          if (r.mmsi != 0) {
            copy_number(copy_buf_, r.mmsi);
          } else {
            copy_buf_ += "\\N";
          }
          copy_buf_ += "\t\\\\x";  // bytea in hex, its backslash escaped for COPY
          constexpr const char* kHex = "0123456789abcdef";
          for (const char ch : r.payload) {
            const auto byte = static_cast<unsigned char>(ch);
            copy_buf_ += kHex[byte >> 4];
            copy_buf_ += kHex[byte & 15];
          }
          copy_buf_ += '\n';
        }
        copy_in(c, "COPY raw_messages (received_ms, source, mmsi, payload) FROM STDIN", "write to");
      }
      exec(c, "COMMIT", "write to");
      known_days_.insert(new_days_.begin(), new_days_.end());  // a rollback would have undone them
      return duplicates;
    } catch (...) {
      rollback(c);
      throw;
    }
  }

  [[nodiscard]] std::size_t max_payload_bytes() const override {
    return 256 * 1024 * 1024;  // far below text's 1 GB limit, and below what a COPY line should hold
  }

  std::size_t purge_step(TimeMs cutoff_ms, std::size_t /*max_rows*/) override {
    PGconn* c = ready(writer_, true, "purge old rows from");
    // Whole days older than the cutoff, oldest first; empty ones are dropped on the way, so 0 still
    // means "nothing left".
    for (const char* table : {"positions", "raw_messages"}) {
      for (const auto& [day, name] : partitions(c, table)) {
        if ((day + 1) * kDayMs > cutoff_ms) break;
        ResultPtr counted = query(c, "SELECT count(*) FROM " + name, Params(), "purge old rows from");
        const auto rows = Row(counted.get(), 0).num<std::int64_t>(0).value_or(0);
        exec(c, "DROP TABLE IF EXISTS " + name, "purge old rows from");
        if (rows > 0) return static_cast<std::size_t>(rows);
      }
    }
    return 0;
  }

  [[nodiscard]] std::optional<VesselState> latest(Mmsi mmsi) const override {
    const std::lock_guard lock(read_mutex_);
    ResultPtr r = read("SELECT " + vessel_column_list() + " FROM vessels WHERE mmsi = $1", Params(mmsi));
    if (PQntuples(r.get()) == 0) return std::nullopt;
    return read_vessel(Row(r.get(), 0));
  }

  [[nodiscard]] std::vector<PositionFix> track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms,
                                               std::size_t limit) const override {
    std::vector<PositionFix> out;
    visit_track(
        mmsi, from_ms, to_ms, limit, [&](const PositionFix& f) { out.push_back(f); }, TrackFields::all);
    return out;
  }

  std::size_t visit_track(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms, std::size_t limit,
                          const std::function<void(const PositionFix&)>& visit,
                          TrackFields /*fields*/) const override {
    const std::lock_guard lock(read_mutex_);
    ResultPtr r = read(track_sql_ + " LIMIT $4", Params(mmsi, from_ms, to_ms, clamp(limit)));
    const int n = PQntuples(r.get());
    for (int i = 0; i < n; ++i) {
      if (const auto fix = read_fix(Row(r.get(), i), 1)) visit(*fix);
    }
    return static_cast<std::size_t>(n);
  }

  [[nodiscard]] TrackPage track_page(Mmsi mmsi, TimeMs from_ms, TimeMs to_ms,
                                     std::optional<TrackCursor> after, std::size_t limit) const override {
    TrackPage out;
    const std::lock_guard lock(read_mutex_);
    const std::int64_t after_ts = after ? after->ts_ms : kMinKey;
    const std::int64_t after_seq = after ? after->seq : -1;  // seq is an integer column, never negative
    ResultPtr r = read(track_after_sql_, Params(mmsi, from_ms, to_ms, after_ts, after_seq, clamp(limit) + 1));
    const int n = PQntuples(r.get());
    for (int i = 0; i < n; ++i) {
      const Row row(r.get(), i);
      if (static_cast<std::size_t>(i) == limit) {
        const Row last(r.get(), i - 1);
        out.next = TrackCursor{last.num<TimeMs>(1).value_or(0), last.num<std::int64_t>(0).value_or(0)};
        break;
      }
      if (const auto fix = read_fix(row, 1)) out.fixes.push_back(*fix);
    }
    return out;
  }

  [[nodiscard]] PositionsPage positions_page(TimeMs from_ms, TimeMs to_ms, const std::vector<Mmsi>& mmsi,
                                             std::optional<PositionsCursor> after,
                                             std::size_t limit) const override {
    PositionsPage out;
    const std::lock_guard lock(read_mutex_);
    std::string list = "{";
    for (const Mmsi m : mmsi) list.append(list.size() > 1 ? "," : "").append(std::to_string(m));
    list += "}";
    const std::int64_t a_mmsi = after ? static_cast<std::int64_t>(after->mmsi) : -1;
    const std::int64_t a_ts = after ? after->ts_ms : kMinKey;
    const std::int64_t a_seq = after ? after->seq : -1;
    // One ordered walk of the partitions' primary keys (a merge of index scans), from the cursor on.
    ResultPtr r =
        read("SELECT mmsi, seq, " + fix_column_list() +
                 " FROM positions WHERE ts_ms BETWEEN $1 AND $2 AND (mmsi, ts_ms, seq) > ($3, $4, $5)"
                 " AND ($6 = '{}' OR mmsi = ANY($6::integer[])) ORDER BY mmsi, ts_ms, seq LIMIT $7",
             Params(from_ms, to_ms, a_mmsi, a_ts, a_seq, list, clamp(limit)));
    const int n = PQntuples(r.get());
    for (int i = 0; i < n; ++i) {
      const Row row(r.get(), i);
      const Mmsi m = row.num<Mmsi>(0).value_or(0);
      if (const auto fix = read_fix(row, 2)) {
        out.rows.push_back(PositionRow{m, *fix});
        out.next = PositionsCursor{m, fix->ts_ms, row.num<std::int64_t>(1).value_or(0)};
      }
    }
    if (static_cast<std::size_t>(n) < limit) out.next.reset();
    return out;
  }

  [[nodiscard]] std::vector<PositionRow> area_positions(const GeoBox& box, TimeMs from_ms, TimeMs to_ms,
                                                        std::size_t limit) const override {
    std::vector<PositionRow> out;
    const std::lock_guard lock(read_mutex_);
    ResultPtr r = read(area_sql(), area_params(box, from_ms, to_ms, limit));
    const int n = PQntuples(r.get());
    for (int i = 0; i < n; ++i) {
      const Row row(r.get(), i);
      if (const auto fix = read_fix(row, 1)) out.push_back(PositionRow{row.num<Mmsi>(0).value_or(0), *fix});
    }
    return out;
  }

  [[nodiscard]] std::optional<std::string> load_setting(std::string_view key) const override {
    const std::lock_guard lock(read_mutex_);
    ResultPtr r = read("SELECT value FROM settings WHERE key = $1", Params(key));
    if (PQntuples(r.get()) == 0) return std::nullopt;
    return Row(r.get(), 0).str(0);
  }

  void save_setting(std::string_view key, std::string_view value) override {
    const std::lock_guard lock(read_mutex_);
    read(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = "
        "excluded.value",
        Params(key, value), "save a setting to");
  }

  [[nodiscard]] std::vector<std::string> track_query_plan() const override {
    const std::lock_guard lock(read_mutex_);
    std::vector<std::string> out;
    explain(track_sql_ + " LIMIT $4", Params(std::int64_t{0}, std::int64_t{0}, kDayMs * 365 * 200, 100), out);
    explain(track_after_sql_, Params(std::int64_t{0}, std::int64_t{0}, kDayMs * 365 * 200, kMinKey, -1, 101),
            out);
    return out;
  }

  [[nodiscard]] std::vector<std::string> area_query_plan() const override {
    const std::lock_guard lock(read_mutex_);
    std::vector<std::string> out;
    explain(area_sql(), area_params(GeoBox{50, 0, 51, 1}, 0, kDayMs * 365 * 200, 100), out);
    return out;
  }

  [[nodiscard]] std::vector<VesselState> vessels(TimeMs seen_since_ms) const override {
    const std::lock_guard lock(read_mutex_);
    // An index range (vessels_last_seen) for a follower's refresh; the whole table at the minimum.
    ResultPtr r = read("SELECT " + vessel_column_list() +
                           " FROM vessels WHERE last_seen_ms >= $1 ORDER BY last_seen_ms, mmsi",
                       Params(seen_since_ms));
    std::vector<VesselState> out;
    const int n = PQntuples(r.get());
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) out.push_back(read_vessel(Row(r.get(), i)));
    return out;
  }

  [[nodiscard]] int schema_version() const override {
    const std::lock_guard lock(read_mutex_);
    return read_version(reader());
  }

  [[nodiscard]] std::string check() const override {
    const std::lock_guard lock(read_mutex_);
    PGconn* c = reader();
    const int version = read_version(c);
    if (version != kSchemaVersion) {
      return "schema version " + std::to_string(version) + ", expected " + std::to_string(kSchemaVersion);
    }
    ResultPtr r = query(c,
                        "SELECT count(*) FROM pg_class WHERE relname IN ('positions', 'vessels', "
                        "'raw_messages', 'settings') AND relnamespace = current_schema()::regnamespace",
                        Params());
    const auto tables = Row(r.get(), 0).num<int>(0).value_or(0);
    return tables == 4 ? "ok" : "missing tables: found " + std::to_string(tables) + " of 4";
  }

  [[nodiscard]] const std::string& location() const noexcept override { return location_; }
  [[nodiscard]] StoreBackendKind kind() const noexcept override { return StoreBackendKind::postgresql; }

 private:
  // ---- connections ----------------------------------------------------------------------------

  [[noreturn]] void fail(PGconn* c, const PGresult* r, std::string_view action) const {
    const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string msg = r != nullptr ? PQresultErrorMessage(r) : "";
    if (msg.empty() && c != nullptr) msg = PQerrorMessage(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (char& ch : msg) {
      if (ch == '\n') ch = ' ';
    }
    throw StoreError("cannot " + std::string(action) + " database '" + location_ + "': " + msg + "; " +
                     hint_for(state != nullptr ? state : ""));
  }

  ConnPtr connect() const {
    // Our defaults first: the URL's own settings, expanded after them, override them.
    const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"10", "aistrack", url_.c_str(), nullptr};
    ConnPtr c(PQconnectdbParams(keys, values, 1));
    if (!c) throw StoreError("cannot connect to database '" + location_ + "': out of memory");
    if (PQstatus(c.get()) != CONNECTION_OK) fail(c.get(), nullptr, "connect to");
    return c;
  }

  // Session state every connection needs again after a reconnect.
  void prepare_session(PGconn* c, bool writer) const {
    // Times are integers, so the session time zone never matters; messages stay terse.
    exec(c, "SET client_min_messages = warning", "connect to");
    if (!writer) return;
    // The staging tables of a batch: temporary (no WAL), emptied by each batch. LIKE copies the
    // columns (a generated geog column as a plain one, which COPY leaves NULL), not the keys.
    exec(c, "CREATE TEMP TABLE IF NOT EXISTS position_stage (LIKE positions)", "connect to");
    exec(c, "CREATE TEMP TABLE IF NOT EXISTS vessel_stage (LIKE vessels)", "connect to");
  }

  // The connection, reconnected (and its session set up again) when it was lost.
  PGconn* ready(ConnPtr& c, bool writer, std::string_view action) const {
    if (PQstatus(c.get()) == CONNECTION_OK) return c.get();
    PQreset(c.get());
    if (PQstatus(c.get()) != CONNECTION_OK) fail(c.get(), nullptr, action);
    prepare_session(c.get(), writer);
    if (writer) known_days_.clear();
    return c.get();
  }

  PGconn* reader() const { return ready(reader_, false, "read"); }

  // A query on the read connection (read_mutex_ held). A connection the server dropped (a restart, a
  // fail-over, an idle timeout) is noticed only by the next query: that one is retried once on a new
  // connection, so an HTTP request does not fail for it.
  ResultPtr read(const std::string& sql, const Params& params, std::string_view action = "read") const {
    try {
      return query(reader(), sql, params, action);
    } catch (const StoreError&) {
      if (PQstatus(reader_.get()) == CONNECTION_OK) throw;
      return query(reader(), sql, params, action);
    }
  }

  ResultPtr query(PGconn* c, const std::string& sql, const Params& params,
                  std::string_view action = "read") const {
    ResultPtr r(PQexecParams(c, sql.c_str(), params.size(), nullptr, params.values(), nullptr, nullptr, 0));
    const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) fail(c, r.get(), action);
    return r;
  }

  void exec(PGconn* c, const std::string& sql, std::string_view action) const {
    ResultPtr r(PQexec(c, sql.c_str()));
    const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(c, r.get(), action);
  }

  void rollback(PGconn* c) const noexcept {
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE) {
      ResultPtr r(PQexec(c, "ROLLBACK"));
    }
  }

  // Sends copy_buf_ as the data of `copy_sql`. Returns false when it failed with SQLSTATE `tolerated`
  // (the transaction is then aborted: the caller rolls back to a savepoint); throws on any other error.
  bool copy_in(PGconn* c, const std::string& copy_sql, std::string_view action,
               std::string_view tolerated = {}) {
    ResultPtr start(PQexec(c, copy_sql.c_str()));
    if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) fail(c, start.get(), action);
    if (PQputCopyData(c, copy_buf_.data(), static_cast<int>(copy_buf_.size())) != 1 ||
        PQputCopyEnd(c, nullptr) != 1) {
      fail(c, nullptr, action);
    }
    ResultPtr end(PQgetResult(c));
    const bool ok = end && PQresultStatus(end.get()) == PGRES_COMMAND_OK;
    // libpq wants every result read before the next command.
    for (ResultPtr rest(PQgetResult(c)); rest; rest.reset(PQgetResult(c))) {
    }
    if (ok) return true;
    const char* state = end ? PQresultErrorField(end.get(), PG_DIAG_SQLSTATE) : nullptr;
    if (!tolerated.empty() && state != nullptr && tolerated == state) return false;
    fail(c, end.get(), action);
  }

  static std::int64_t clamp(std::size_t limit) {
    constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max() - 1);
    return static_cast<std::int64_t>(std::min(limit, kMax));
  }

  void explain(const std::string& sql, const Params& params, std::vector<std::string>& out) const {
    ResultPtr r = read("EXPLAIN " + sql, params);
    for (int i = 0; i < PQntuples(r.get()); ++i) out.emplace_back(Row(r.get(), i).text(0));
  }

  // ---- schema ---------------------------------------------------------------------------------

  int read_version(PGconn* c) const {
    ResultPtr r =
        query(c, "SELECT max(version) FROM aistrack_schema", Params(), "read the schema version of");
    return Row(r.get(), 0).num<int>(0).value_or(0);
  }

  void migrate() {
    PGconn* c = writer_.get();
    try {
      exec(c, "BEGIN", "migrate the schema of");
      // Two instances starting together: the second waits here, then finds the schema made.
      exec(c, "SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")",
           "migrate the schema of");
      exec(c, "CREATE TABLE IF NOT EXISTS aistrack_schema (version integer NOT NULL)",
           "migrate the schema of");
      const int version = read_version(c);
      if (version > kSchemaVersion) {
        throw StoreError(
            "cannot open database '" + location_ + "': its schema version " + std::to_string(version) +
            " is newer than version " + std::to_string(kSchemaVersion) +
            " that this aistrack supports; upgrade aistrack or point DB_URL at another database");
      }
      for (int v = version; v < kSchemaVersion; ++v) exec(c, kMigrations[v], "migrate the schema of");
      if (version < kSchemaVersion) {
        exec(c, "DELETE FROM aistrack_schema", "migrate the schema of");
        exec(c, "INSERT INTO aistrack_schema (version) VALUES (" + std::to_string(kSchemaVersion) + ")",
             "migrate the schema of");
      }
      // PostGIS when the server has it: already installed, or installable by this user (a superuser,
      // or the database owner where the extension is trusted). Tried in a savepoint, so a refusal
      // only means plain columns.
      ResultPtr ext = query(c, "SELECT 1 FROM pg_extension WHERE extname = 'postgis'", Params());
      postgis_ = PQntuples(ext.get()) > 0;
      if (!postgis_) {
        exec(c, "SAVEPOINT postgis", "migrate the schema of");
        ResultPtr made(PQexec(c, "CREATE EXTENSION IF NOT EXISTS postgis"));
        postgis_ = made && PQresultStatus(made.get()) == PGRES_COMMAND_OK;
        exec(c, postgis_ ? "RELEASE SAVEPOINT postgis" : "ROLLBACK TO SAVEPOINT postgis",
             "migrate the schema of");
      }
      if (postgis_) exec(c, kPostgisStep, "add the PostGIS column to");
      exec(c, "COMMIT", "commit the schema migration of");
    } catch (...) {
      rollback(c);
      throw;
    }
  }

  // Existing partitions of `table` as (day, name), oldest first.
  std::vector<std::pair<std::int64_t, std::string>> partitions(PGconn* c, const char* table) const {
    ResultPtr r = query(c,
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE "
                        "i.inhparent = $1::regclass ORDER BY c.relname",
                        Params(std::string_view(table)), "list the partitions of");
    std::vector<std::pair<std::int64_t, std::string>> out;
    const std::string prefix = std::string(table) + "_d";
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      const std::string name(Row(r.get(), i).text(0));
      if (!name.starts_with(prefix) || name.size() != prefix.size() + 8) continue;
      int y = 0;
      unsigned m = 0;
      unsigned d = 0;
      if (std::sscanf(name.c_str() + prefix.size(), "%4d%2u%2u", &y, &m, &d) != 3) continue;
      const std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}};
      out.emplace_back(day.time_since_epoch().count(), name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Creates the day partitions this batch needs (rarely: once a day per table).
  void ensure_days(PGconn* c, const Batch& batch) {
    new_days_.clear();
    std::set<std::pair<int, std::int64_t>> needed;  // (0 positions / 1 raw, day)
    for (const BatchPosition& p : batch.positions) needed.emplace(0, day_of(p.fix->ts_ms));
    for (const BatchRaw& r : batch.raws) needed.emplace(1, day_of(r.received_ms));
    for (const auto& [which, day] : needed) {
      if (known_days_.contains({which, day})) continue;
      const char* table = which == 0 ? "positions" : "raw_messages";
      exec(c,
           "CREATE TABLE IF NOT EXISTS " + partition_name(table, day) + " PARTITION OF " + table +
               " FOR VALUES FROM (" + std::to_string(day * kDayMs) + ") TO (" +
               std::to_string((day + 1) * kDayMs) + ")",
           "add a day partition to");
      new_days_.emplace_back(which, day);
    }
  }

  // ---- writing --------------------------------------------------------------------------------

  std::size_t write_positions(PGconn* c, const Batch& batch) {
    if (batch.positions.empty()) return 0;
    copy_buf_.clear();
    for (const BatchPosition& p : batch.positions) {
      copy_number(copy_buf_, p.mmsi);
      copy_buf_ += '\t';
      copy_number(copy_buf_, p.seq);
      copy_buf_ += '\t';
      copy_fix(copy_buf_, *p.fix);
      copy_buf_ += '\n';
    }
    const std::string cols = "mmsi, seq, " + fix_column_list();
    // Nearly always every row is new: COPY goes straight into positions, inside a savepoint. A unique
    // violation means an earlier batch stored some of these keys (a replay, a new leader after a
    // fail-over); then roll back to the savepoint and take the staging path below, which skips the
    // identical rows and numbers the others after the stored ones. The direct path ran at 0.9-1.1x a
    // bare COPY in aistrack-bench-pg, the staging path at ~0.8x (docs/PERFORMANCE.md).
    exec(c, "SAVEPOINT direct_copy", "write to");
    if (copy_in(c, "COPY positions (" + cols + ") FROM STDIN", "write to", "23505")) {
      exec(c, "RELEASE SAVEPOINT direct_copy", "write to");
      return 0;
    }
    exec(c, "ROLLBACK TO SAVEPOINT direct_copy", "write to");
    copy_in(c, "COPY position_stage (" + cols + ") FROM STDIN", "write to");
    // The primary key skips rows whose (mmsi, ts_ms, seq) is stored already.
    ResultPtr fast = query(c,
                           "INSERT INTO positions (" + cols + ") SELECT " + cols +
                               " FROM position_stage ORDER BY mmsi, ts_ms, seq ON CONFLICT DO NOTHING",
                           Params(), "write to");
    std::size_t inserted = std::stoul(PQcmdTuples(fast.get()));
    if (inserted < batch.positions.size()) {
      // Some keys were taken by an earlier batch: a row identical to a stored one is the same report
      // again (skipped); any other goes after the key's largest stored seq, in batch order.
      // ts_ms, lat_deg and lon_deg are NOT NULL, and `=` on them keeps the probe on the primary key.
      std::string same = "p.mmsi = s.mmsi";
      for (int i = 0; i < kFixColumnCount; ++i) {
        same.append(" AND p.").append(kFixColumns[i]).append(i < 3 ? " = s." : " IS NOT DISTINCT FROM s.");
        same.append(kFixColumns[i]);
      }
      ResultPtr slow =
          query(c,
                "INSERT INTO positions (" + cols +
                    ") SELECT s.mmsi, (SELECT coalesce(max(p.seq), -1) FROM positions p "
                    "WHERE p.mmsi = s.mmsi AND p.ts_ms = s.ts_ms) + row_number() OVER (PARTITION BY s.mmsi, "
                    "s.ts_ms ORDER BY s.seq), " +
                    prefixed("s.") +
                    " FROM position_stage s WHERE NOT EXISTS (SELECT 1 FROM positions p WHERE " + same + ")",
                Params(), "write to");
      inserted += std::stoul(PQcmdTuples(slow.get()));
    }
    exec(c, "TRUNCATE position_stage", "write to");
    return batch.positions.size() - std::min(inserted, batch.positions.size());
  }

  static std::string prefixed(const char* prefix) {
    std::string out;
    for (const char* col : kFixColumns) out.append(out.empty() ? "" : ", ").append(prefix).append(col);
    return out;
  }

  // ---- reading --------------------------------------------------------------------------------

  [[nodiscard]] std::string area_sql() const {
    // $1..$2 time, $3..$6 box (min lat, max lat, min lon, max lon), $7 limit. The exact test on the plain
    // columns follows the index test (edges included, the antimeridian handled by the CASE), so both backends
    // answer alike.
    std::string sql =
        "SELECT mmsi, " + fix_column_list() + " FROM positions WHERE ts_ms BETWEEN $1 AND $2 AND ";
    if (postgis_) {
      sql +=
          "(geog::geometry && ST_MakeEnvelope($5::float8, $3::float8, CASE WHEN $5::float8 <= $6::float8 "
          "THEN $6::float8 ELSE 180 END, $4::float8, 4326) OR "
          "($5::float8 > $6::float8 AND geog::geometry && ST_MakeEnvelope(-180, $3::float8, $6::float8, "
          "$4::float8, 4326))) AND ";
    }
    sql +=
        "lat_deg BETWEEN $3::float8 AND $4::float8 AND (CASE WHEN $5::float8 <= $6::float8 THEN lon_deg "
        "BETWEEN $5::float8 AND $6::float8 ELSE lon_deg >= $5::float8 OR "
        "lon_deg <= $6::float8 END) ORDER BY mmsi, ts_ms, seq LIMIT $7";
    return sql;
  }

  static Params area_params(const GeoBox& box, TimeMs from_ms, TimeMs to_ms, std::size_t limit) {
    return Params(from_ms, to_ms, box.min_lat_deg, box.max_lat_deg, box.min_lon_deg, box.max_lon_deg,
                  clamp(limit));
  }

  std::string url_;
  std::string location_;
  bool postgis_ = false;
  // Writer side: the writer thread only.
  ConnPtr writer_;
  mutable std::set<std::pair<int, std::int64_t>> known_days_;  // partitions made by committed batches
  std::vector<std::pair<int, std::int64_t>> new_days_;         // made by the batch in progress
  std::string copy_buf_;
  // Read side (and settings): one connection, serialised.
  mutable std::mutex read_mutex_;
  mutable ConnPtr reader_;
  // ORDER BY (ts_ms, seq) inside one vessel: the partitions are ranges of ts_ms, so an ordered append
  // of each partition's primary-key range, with no sort (track_query_plan shows it).
  const std::string track_sql_ =
      "SELECT seq, " + fix_column_list() +
      " FROM positions WHERE mmsi = $1 AND ts_ms BETWEEN $2 AND $3 ORDER BY ts_ms, seq";
  const std::string track_after_sql_ = "SELECT seq, " + fix_column_list() +
                                       " FROM positions WHERE mmsi = $1 AND ts_ms BETWEEN $2 AND $3 AND "
                                       "(ts_ms, seq) > ($4, $5) ORDER BY ts_ms, "
                                       "seq LIMIT $6";
};

}  // namespace

std::unique_ptr<StoreBackend> open_postgres_backend(const StoreConfig& config) {
  return std::make_unique<PgBackend>(config);
}

}  // namespace aistrack::detail
