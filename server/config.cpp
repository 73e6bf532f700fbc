#include "config.hpp"

#include "nmea_sources.hpp"
#include "redis_bus.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <string_view>

extern char** environ;

namespace aistrack::server {
namespace {

[[noreturn]] void bad(std::string_view name, std::string_view value, std::string_view allowed) {
  throw ConfigError(fmt::format("invalid {}='{}': {}", name, value, allowed));
}

template <typename T>
T integer_in(std::string_view name, std::string_view v, T lo, T hi) {
  T out{};
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || out < lo || out > hi) {
    bad(name, v, fmt::format("expected an integer from {} to {}", lo, hi));
  }
  return out;
}

double number_in(std::string_view name, std::string_view v, double lo, double hi) {
  double out = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || !(out >= lo && out <= hi)) {
    bad(name, v, fmt::format("expected a number from {} to {}", lo, hi));
  }
  return out;
}

// access control (issue #8): a bad token setting names the entry, never echoes the secrets.
[[noreturn]] void bad_secret(std::string_view name, std::string_view why) {
  throw ConfigError(fmt::format("invalid {}: {}", name, why));
}

bool boolean(std::string_view name, std::string_view v) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  bad(name, v, "expected true/false (or 1/0, yes/no, on/off)");
}

// maps (issue #6): a tile URL template (same rule as aistrack::net::is_valid_tile_url_template).
bool map_url_ok(std::string_view v) {
  if (!v.starts_with("http://") && !v.starts_with("https://")) return false;
  for (const char ch : v)
    if (static_cast<unsigned char>(ch) <= 0x20) return false;
  return v.find("{z}") != std::string_view::npos && v.find("{x}") != std::string_view::npos &&
         v.find("{y}") != std::string_view::npos;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

struct Setting {
  std::string_view env;
  std::string_view default_text;
  std::string_view help;
  std::function<void(ServerConfig&, std::string_view name, std::string_view value)> apply;
};

const std::vector<Setting>& settings() {
  static const std::vector<Setting> kSettings = {
      {"AISSTREAM_API_KEY", "", "aisstream.io API key; when empty the built-in simulator is the source",
       [](ServerConfig& c, auto, auto v) { c.aisstream_api_key = std::string(v); }},
      {"AISSTREAM_URL", "wss://stream.aisstream.io/v0/stream",
       "aisstream.io endpoint (ws:// allowed for local tests)",
       [](ServerConfig& c, auto n, auto v) {
         if (!v.starts_with("wss://") && !v.starts_with("ws://")) bad(n, v, "expected a wss:// or ws:// URL");
         c.aisstream_url = std::string(v);
       }},
      {"MMSI_LIST", "", "only track these MMSIs: 9-digit numbers separated by commas (empty: all)",
       [](ServerConfig& c, auto n, std::string_view v) {
         c.mmsi_list.clear();
         std::size_t pos = 0;
         while (pos <= v.size()) {
           auto end = v.find_first_of(", ;", pos);
           if (end == std::string_view::npos) end = v.size();
           const auto item = v.substr(pos, end - pos);
           if (!item.empty()) {
             const auto mmsi = parse_mmsi(item);
             if (!mmsi) bad(n, item, "every MMSI must be exactly 9 digits (1..999999999)");
             c.mmsi_list.push_back(*mmsi);
           }
           pos = end + 1;
         }
       }},
      {"DB_PATH", "aistrack.db", "SQLite database file (created if missing)",
       [](ServerConfig& c, auto n, auto v) {
         if (v.empty()) bad(n, v, "expected a file path");
         c.db_path = std::string(v);
       }},
      {"DB_URL", "",
       "PostgreSQL instead of SQLite: a libpq URL postgresql://user:password@host:port/db (DB_PATH is then "
       "unused; several servers may share one database, see README \"Scale-out\")",
       [](ServerConfig& c, auto n, auto v) {
         if (!v.empty() && !v.starts_with("postgresql://") && !v.starts_with("postgres://")) {
           bad_secret(n, "expected a URL starting with postgresql:// (or postgres://)");
         }
         c.db_url = std::string(v);
       }},
      {"LEADER_TAKEOVER_S", "15",
       "with DB_URL: instances elect one leader that ingests (an advisory lock); a dead leader is replaced "
       "within this many seconds",
       [](ServerConfig& c, auto n, auto v) {
         c.leader_takeover_ms = integer_in<TimeMs>(n, v, 2, 3600) * 1000;
       }},
      {"FOLLOWER_REFRESH_MS", "2000",
       "with DB_URL: a follower (not the leader) merges the vessels the leader stored into memory this often "
       "(REDIS_URL brings them live)",
       [](ServerConfig& c, auto n, auto v) {
         c.follower_refresh_ms = integer_in<TimeMs>(n, v, 100, 600'000);
       }},
      {"HTTP_PORT", "8000", "HTTP port",
       [](ServerConfig& c, auto n, auto v) { c.http_port = integer_in<int>(n, v, 1, 65535); }},
      {"HTTP_BIND", "127.0.0.1", "address to listen on (0.0.0.0 for every interface)",
       [](ServerConfig& c, auto n, auto v) {
         if (v.empty()) bad(n, v, "expected an IPv4 or IPv6 address");
         c.http_bind = std::string(v);
       }},
      {"HTTP_THREADS", "2", "threads serving HTTP",
       [](ServerConfig& c, auto n, auto v) { c.http_threads = integer_in<int>(n, v, 1, 64); }},
      {"SIM_VESSELS", "20", "simulated vessels when no API key is set (0 disables the simulator)",
       [](ServerConfig& c, auto n, auto v) { c.sim_vessels = integer_in<std::size_t>(n, v, 0, 100'000); }},
      {"SIM_SEED", "1", "simulator seed (same seed, same fleet and tracks)",
       [](ServerConfig& c, auto n, auto v) {
         c.sim_seed = integer_in<std::uint64_t>(n, v, 0, std::numeric_limits<std::uint64_t>::max());
       }},
      {"MAX_VESSELS", "100000",
       "most vessels held in memory; the least recently updated is dropped beyond it",
       [](ServerConfig& c, auto n, auto v) {
         c.max_vessels = integer_in<std::size_t>(n, v, 1, 100'000'000);
       }},
      {"STORE_BATCH_ROWS", "10000", "commit to SQLite every N rows …",
       [](ServerConfig& c, auto n, auto v) {
         c.store_batch_rows = integer_in<std::size_t>(n, v, 1, 1'000'000);
       }},
      {"STORE_BATCH_MS", "1000", "… or after this many milliseconds",
       [](ServerConfig& c, auto n, auto v) {
         c.store_batch_ms = integer_in<std::int64_t>(n, v, 1, 3'600'000);
       }},
      {"STORE_RAW", "false", "also archive every raw message as received (costs disk: see docs/STORE.md)",
       [](ServerConfig& c, auto n, auto v) { c.store_raw = boolean(n, v); }},
      {"RETENTION_DAYS", "30", "delete positions older than this many days (0 keeps everything)",
       [](ServerConfig& c, auto n, auto v) { c.retention_days = integer_in<int>(n, v, 0, 36'500); }},
      {"LOG_LEVEL", "info", "debug, info, warn or error",
       [](ServerConfig& c, auto n, auto v) {
         if (v != "debug" && v != "info" && v != "warn" && v != "error")
           bad(n, v, "expected debug, info, warn or error");
         c.log_level = std::string(v);
       }},
      // --- sources and the aisstream.io feed (issue #3) ---
      {"SOURCE", "auto",
       "auto (aisstream.io when AISSTREAM_API_KEY is set, else the simulator), simulator, aisstream, "
       "replay:FILE (aisstream.io JSON lines), nmea-file:FILE (NMEA !AIVDM lines) or none",
       [](ServerConfig& c, auto n, std::string_view v) {
         if (v != "auto" && v != "simulator" && v != "aisstream" && v != "none" &&
             !(v.starts_with("replay:") && v.size() > 7) && !(v.starts_with("nmea-file:") && v.size() > 10)) {
           bad(n, v, "expected auto, simulator, aisstream, replay:FILE, nmea-file:FILE or none");
         }
         c.source = std::string(v);
       }},
      {"AISSTREAM_BBOXES", "",
       "boxes lat1,lon1,lat2,lon2 separated by ';', latitude first (empty: the world)",
       [](ServerConfig& c, auto n, std::string_view v) {
         std::string why;
         auto boxes = aisstream::parse_bounding_boxes(v, why);
         if (!boxes) bad(n, v, why);
         c.aisstream_bboxes = std::move(*boxes);
       }},
      {"AISSTREAM_MESSAGE_TYPES", "",
       "FilterMessageTypes, comma-separated aisstream.io type names (empty: all)",
       [](ServerConfig& c, auto n, std::string_view v) {
         c.aisstream_message_types.clear();
         std::size_t pos = 0;
         while (pos <= v.size()) {
           auto end = v.find_first_of(", ", pos);
           if (end == std::string_view::npos) end = v.size();
           const auto item = v.substr(pos, end - pos);
           if (!item.empty()) {
             if (!aisstream::is_known_message_type(item)) {
               bad(n, item, "not an aisstream.io message type (e.g. PositionReport, ShipStaticData)");
             }
             c.aisstream_message_types.emplace_back(item);
           }
           pos = end + 1;
         }
       }},
      {"AISSTREAM_CA_FILE", "", "PEM file of CAs to trust for wss:// instead of the system store",
       [](ServerConfig& c, auto n, std::string_view v) {
         if (!v.empty() && !std::filesystem::is_regular_file(v)) bad(n, v, "no such file");
         c.aisstream_ca_file = std::string(v);
       }},
      {"AISSTREAM_STALL_TIMEOUT_S", "120", "reconnect when no message arrived for this many seconds",
       [](ServerConfig& c, auto n, auto v) {
         c.aisstream_stall_timeout_s = integer_in<std::int64_t>(n, v, 1, 86'400);
       }},
      {"AISSTREAM_PING_INTERVAL_S", "30",
       "WebSocket ping period, seconds (the service drops clients silent ~2 min)",
       [](ServerConfig& c, auto n, auto v) {
         c.aisstream_ping_interval_s = integer_in<std::int64_t>(n, v, 1, 60);
       }},
      {"AISSTREAM_BACKOFF_MAX_S", "300", "longest wait between reconnects, seconds (backoff starts at 1 s)",
       [](ServerConfig& c, auto n, auto v) {
         c.aisstream_backoff_max_s = integer_in<std::int64_t>(n, v, 1, 3600);
       }},
      {"AISSTREAM_RATE_LIMIT_WAIT_S", "60", "least wait after HTTP 429 (lowering it risks an IP ban)",
       [](ServerConfig& c, auto n, auto v) {
         c.aisstream_rate_limit_wait_s = integer_in<std::int64_t>(n, v, 1, 86'400);
       }},
      {"AISSTREAM_RECORD_FILE", "",
       "append every frame received to this file (replay it with SOURCE=replay:FILE)",
       [](ServerConfig& c, auto, auto v) { c.aisstream_record_file = std::string(v); }},
      {"REPLAY_SPEED", "1", "replay pace: 1 = real time, 10 = ten times faster, 0 = as fast as possible",
       [](ServerConfig& c, auto n, std::string_view v) {
         double d = 0;
         const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
         if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || !(d >= 0) || d > 1e6) {
           bad(n, v, "expected a number from 0 to 1000000");
         }
         c.replay_speed = d;
       }},
      {"REPLAY_SHIFT_TO_NOW", "false", "shift replayed times so the first frame is now",
       [](ServerConfig& c, auto n, auto v) { c.replay_shift_to_now = boolean(n, v); }},
      {"INGEST_QUEUE_FRAMES", "200000",
       "frames held between the network and the parser; more are dropped and counted",
       [](ServerConfig& c, auto n, auto v) {
         c.ingest_queue_frames = integer_in<std::size_t>(n, v, 100, 100'000'000);
       }},
      // --- NMEA sources (issue #4) ---
      {"NMEA_UDP_PORT", "0",
       "listen for NMEA !AIVDM datagrams on this UDP port (0: off); runs alongside SOURCE",
       [](ServerConfig& c, auto n, auto v) { c.nmea_udp_port = integer_in<int>(n, v, 0, 65535); }},
      {"NMEA_UDP_BIND", "127.0.0.1",
       "address for NMEA_UDP_PORT (0.0.0.0: every interface; anyone who can reach "
       "it can inject positions)",
       [](ServerConfig& c, auto n, auto v) {
         if (v.empty()) bad(n, v, "expected an IPv4 or IPv6 address");
         c.nmea_udp_bind = std::string(v);
       }},
      {"NMEA_TCP", "", "read NMEA from a TCP feed host:port (reconnects with backoff); runs alongside SOURCE",
       [](ServerConfig& c, auto n, std::string_view v) {
         NmeaTcpConfig probe;
         if (!v.empty() && !parse_host_port(v, probe))
           bad(n, v, "expected host:port with a port from 1 to 65535");
         c.nmea_tcp = std::string(v);
       }},
      // --- stats and track history (issue #5) ---
      {"STATS_MAX_HOURS", "168", "largest window of /v1/stats (hours=, or from/to), hours",
       [](ServerConfig& c, auto n, auto v) { c.stats_max_hours = integer_in<int>(n, v, 1, 87'600); }},
      {"STATS_MAX_SPEED_KN", "60",
       "Stats jump filter: a fix implying a faster speed from the last good one is rejected, knots",
       [](ServerConfig& c, auto n, std::string_view v) {
         double kn = 0;
         const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), kn);
         if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || !(kn > 0 && kn <= 1000))
           bad(n, v, "expected a speed in knots above 0 and at most 1000");
         c.stats_max_speed_kn = kn;
       }},
      {"STATS_STOP_SOG_KN", "0.5", "Stats: below this speed over ground a vessel counts as stopped, knots",
       [](ServerConfig& c, auto n, std::string_view v) {
         double kn = 0;
         const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), kn);
         if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || !(kn >= 0 && kn <= 50))
           bad(n, v, "expected a speed in knots from 0 to 50");
         c.stats_stop_sog_kn = kn;
       }},
      {"STATS_GAP_S", "600",
       "Stats: a longer interval between two fixes is a gap (also caps SOG weights), seconds",
       [](ServerConfig& c, auto n, auto v) { c.stats_gap_s = integer_in<int>(n, v, 1, 86'400); }},
      // --- run-time control and export (issue #10) ---
      {"EXPORT_BUFFER_KB", "256",
       "memory bound of one /v1/positions/export.csv response, KiB: the body is streamed in parts of at most "
       "this size",
       [](ServerConfig& c, auto n, auto v) {
         c.export_buffer_kb = integer_in<std::size_t>(n, v, 16, 65'536);
       }},
      {"EXPORT_MAX_ROWS", "1000000", "largest limit= of /v1/positions/export.csv, rows",
       [](ServerConfig& c, auto n, auto v) {
         c.export_max_rows = integer_in<std::size_t>(n, v, 1, 100'000'000);
       }},
      {"TRACK_MAX_LIMIT", "10000", "largest page of /v1/ais/{mmsi}/track (limit=), fixes",
       [](ServerConfig& c, auto n, auto v) {
         c.track_max_limit = integer_in<std::size_t>(n, v, 1, 1'000'000);
       }},

      // --- maps (issue #6) ---
      {"MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
       "base map tiles: http(s) URL template with {z}, {x}, {y} (empty: offline basemap only)",
       [](ServerConfig& c, auto n, std::string_view v) {
         if (!v.empty() && !map_url_ok(v))
           bad(n, v, "expected an http:// or https:// URL with {z}, {x} and {y}");
         c.map_tile_url = std::string(v);
       }},
      {"MAP_SEAMARK_URL", "https://tiles.openseamap.org/seamark/{z}/{x}/{y}.png",
       "OpenSeaMap seamark tiles drawn over the base map: URL template (empty: none)",
       [](ServerConfig& c, auto n, std::string_view v) {
         if (!v.empty() && !map_url_ok(v))
           bad(n, v, "expected an http:// or https:// URL with {z}, {x} and {y}");
         c.map_seamark_url = std::string(v);
       }},
      {"MAP_TILE_MBTILES", "", "MBTiles file of base tiles, asked before MAP_TILE_URL (empty: none)",
       [](ServerConfig& c, auto n, std::string_view v) {
         if (!v.empty() && !std::filesystem::is_regular_file(v)) bad(n, v, "no such file");
         c.map_tile_mbtiles = std::string(v);
       }},
      {"MAP_TILE_FOLDER", "", "folder of base tiles as z/x/y.png, asked before MAP_TILE_URL (empty: none)",
       [](ServerConfig& c, auto n, std::string_view v) {
         if (!v.empty() && !std::filesystem::is_directory(v)) bad(n, v, "no such folder");
         c.map_tile_folder = std::string(v);
       }},
      {"MAP_TILE_CACHE_DIR", "tile-cache",
       "disk cache of downloaded tiles (created when the first map is drawn)",
       [](ServerConfig& c, auto n, std::string_view v) {
         if (v.empty()) bad(n, v, "expected a folder path");
         c.map_tile_cache_dir = std::string(v);
       }},
      {"MAP_TILE_CACHE_MB", "512", "size cap of the tile disk cache, MiB (0: no disk cache)",
       [](ServerConfig& c, auto n, auto v) {
         c.map_tile_cache_mb = integer_in<std::size_t>(n, v, 0, 1'048'576);
       }},
      {"MAP_TILE_CACHE_DAYS", "7",
       "keep every cached tile at least this many days, longer when the server says so (OSM policy: 7)",
       [](ServerConfig& c, auto n, auto v) { c.map_tile_cache_days = integer_in<int>(n, v, 7, 3650); }},
      {"MAP_MEMORY_TILES", "256", "decoded tiles kept in memory per layer (256 KiB each)",
       [](ServerConfig& c, auto n, auto v) {
         c.map_memory_tiles = integer_in<std::size_t>(n, v, 16, 65'536);
       }},
      {"MAP_USER_AGENT", "aistrack/0.1.0 (AIS ship tracker map renderer; libcurl)",
       "User-Agent of tile requests: identify your installation, with a contact (OSM tile policy)",
       [](ServerConfig& c, auto n, std::string_view v) {
         bool printable = !v.empty() && v.size() <= 512;
         for (const char ch : v) printable = printable && static_cast<unsigned char>(ch) >= 0x20;
         if (!printable) bad(n, v, "expected a non-empty single-line User-Agent (at most 512 characters)");
         c.map_user_agent = std::string(v);
       }},
      {"MAP_TILE_TIMEOUT_MS", "10000", "every tile of one map layer must arrive within this, ms",
       [](ServerConfig& c, auto n, auto v) {
         c.map_tile_timeout_ms = integer_in<std::int64_t>(n, v, 100, 120'000);
       }},
      {"MAP_TILE_CONNECTIONS", "2", "parallel connections to one tile server",
       [](ServerConfig& c, auto n, auto v) { c.map_tile_connections = integer_in<int>(n, v, 1, 16); }},
      {"MAP_BASEMAP", AISTRACK_DEFAULT_BASEMAP,
       "offline basemap for missing tiles: TopoJSON or GeoJSON land polygons (empty: sea and graticule only)",
       [](ServerConfig& c, auto, auto v) { c.map_basemap = std::string(v); }},
      {"MAP_MIN_SIZE", "64", "smallest width or height a map request may ask for, pixels",
       [](ServerConfig& c, auto n, auto v) { c.map_min_size = integer_in<int>(n, v, 16, 8192); }},
      {"MAP_MAX_SIZE", "2048", "largest width or height a map request may ask for, pixels",
       [](ServerConfig& c, auto n, auto v) {
         c.map_max_size = integer_in<int>(n, v, 16, 8192);
         if (c.map_max_size < c.map_min_size) bad(n, v, "must not be below MAP_MIN_SIZE");
       }},
      {"MAP_WIDTH", "800", "default map width, pixels (within MAP_MIN_SIZE..MAP_MAX_SIZE)",
       [](ServerConfig& c, auto n, auto v) {
         c.map_width = integer_in<int>(n, v, c.map_min_size, c.map_max_size);
       }},
      {"MAP_HEIGHT", "600", "default map height, pixels (within MAP_MIN_SIZE..MAP_MAX_SIZE)",
       [](ServerConfig& c, auto n, auto v) {
         c.map_height = integer_in<int>(n, v, c.map_min_size, c.map_max_size);
       }},
      {"MAP_COLOR", "color", "default colour scheme of maps: color or grayscale",
       [](ServerConfig& c, auto n, std::string_view v) {
         if (v != "color" && v != "grayscale") bad(n, v, "expected color or grayscale");
         c.map_color = std::string(v);
       }},
      {"MAP_JPEG_QUALITY", "85", "default JPEG quality, 1..100",
       [](ServerConfig& c, auto n, auto v) { c.map_jpeg_quality = integer_in<int>(n, v, 1, 100); }},
      {"MAP_TRACK_HOURS", "6", "default track window of a map, hours",
       [](ServerConfig& c, auto n, auto v) { c.map_track_hours = integer_in<int>(n, v, 1, 87'600); }},
      {"MAP_MAX_HOURS", "168", "largest track window (hours=) a map request may ask for, hours",
       [](ServerConfig& c, auto n, auto v) { c.map_max_hours = integer_in<int>(n, v, 1, 87'600); }},
      {"MAP_TRACK_MAX_POINTS", "20000", "most track points read for one map (the newest are kept)",
       [](ServerConfig& c, auto n, auto v) {
         c.map_track_max_points = integer_in<std::size_t>(n, v, 2, 10'000'000);
       }},
      // --- live push (issue #7) ---
      {"LIVE_MAX_CLIENTS", "10000", "most /v1/live WebSocket clients; more are refused with 503",
       [](ServerConfig& c, auto n, auto v) {
         c.live_max_clients = integer_in<std::size_t>(n, v, 0, 1'000'000);
       }},
      {"LIVE_MAX_MESSAGE_BYTES", "65536", "largest message a /v1/live client may send (larger: close 1009)",
       [](ServerConfig& c, auto n, auto v) {
         c.live_max_message_bytes = integer_in<std::size_t>(n, v, 256, 16 * 1024 * 1024);
       }},
      {"LIVE_MAX_MMSI", "1000", "longest MMSI list in one /v1/live subscription",
       [](ServerConfig& c, auto n, auto v) {
         c.live_max_mmsi = integer_in<std::size_t>(n, v, 1, 1'000'000);
       }},
      {"LIVE_SEND_BUFFER_KB", "256", "KiB queued on a client's socket before it counts as behind",
       [](ServerConfig& c, auto n, auto v) {
         c.live_send_buffer_kb = integer_in<std::size_t>(n, v, 1, 1024 * 1024);
       }},
      {"LIVE_QUEUE_MAX", "1000",
       "updates held for a client that is behind before they are coalesced to the newest per vessel",
       [](ServerConfig& c, auto n, auto v) {
         c.live_queue_max = integer_in<std::size_t>(n, v, 1, 10'000'000);
       }},
      {"LIVE_SLOW_CLOSE_S", "10", "a client behind this long is closed (1008), seconds",
       [](ServerConfig& c, auto n, auto v) { c.live_slow_close_s = integer_in<int>(n, v, 1, 86'400); }},
      {"LIVE_PING_S", "30", "WebSocket ping period for /v1/live clients, seconds",
       [](ServerConfig& c, auto n, auto v) { c.live_ping_s = integer_in<int>(n, v, 1, 3600); }},
      {"LIVE_PONG_TIMEOUT_S", "10", "a client that does not answer a ping within this is closed, seconds",
       [](ServerConfig& c, auto n, auto v) { c.live_pong_timeout_s = integer_in<int>(n, v, 1, 3600); }},

      // --- scale-out (issue #9) ---
      {"REDIS_URL", "",
       "redis://[[user]:password@]host[:port][/db]: publish each vessel update there and apply the other "
       "instances' (live clients of every instance see every vessel); empty: one instance, no Redis",
       [](ServerConfig& c, auto n, std::string_view v) {
         std::string why;
         // The URL may hold a password: the error explains the format and never echoes the value.
         if (!v.empty() && !parse_redis_url(v, why)) bad_secret(n, why);
         c.redis_url = std::string(v);
       }},
      {"REDIS_CHANNEL", "aistrack:vessels", "Redis pub/sub channel the instances share",
       [](ServerConfig& c, auto n, std::string_view v) {
         const bool printable = std::all_of(v.begin(), v.end(), [](char ch) {
           return static_cast<unsigned char>(ch) > 0x20 && static_cast<unsigned char>(ch) < 0x7f;
         });
         if (v.empty() || v.size() > 200 || !printable)
           bad(n, v, "expected 1..200 printable ASCII characters");
         c.redis_channel = std::string(v);
       }},
      {"REDIS_QUEUE_MAX", "100000",
       "vessel states waiting to be published to Redis, and received ones waiting to be applied; more are "
       "dropped and counted",
       [](ServerConfig& c, auto n, auto v) {
         c.redis_queue_max = integer_in<std::size_t>(n, v, 1, 100'000'000);
       }},
      {"REDIS_TIMEOUT_MS", "2000", "Redis connect and command timeout, ms",
       [](ServerConfig& c, auto n, auto v) {
         c.redis_timeout_ms = integer_in<std::int64_t>(n, v, 50, 600'000);
       }},

      // --- access control (issue #8) ---
      {"API_TOKENS", "",
       "bearer tokens that turn on authentication: name:role:secret entries separated by commas, role ro "
       "(read-only) or admin (may also change the watch list, areas and simulator), secret at least 16 "
       "characters (empty: no tokens)",
       [](ServerConfig& c, auto n, std::string_view v) {
         std::string why;
         auto tokens = parse_api_tokens(v, why);
         if (!tokens) bad_secret(n, why);
         c.api_tokens = std::move(*tokens);
       }},
      {"API_TOKEN_FILE", "",
       "file of more tokens, one name:role:secret per line ('#' starts a comment), read at start-up "
       "(empty: none)",
       [](ServerConfig& c, auto n, std::string_view v) {
         c.api_file_tokens.clear();
         c.api_token_file = std::string(v);
         if (v.empty()) return;
         std::ifstream in{std::string(v)};
         if (!in) bad(n, v, "cannot read the file");
         const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
         std::string why;
         auto tokens = parse_api_tokens(text, why);
         if (!tokens) bad_secret(n, fmt::format("{}: {}", v, why));
         c.api_file_tokens = std::move(*tokens);
       }},
      {"JWT_SECRET", "",
       "HS256 key: JWTs signed with it are accepted as bearer tokens (exp required; role=admin or a scope "
       "listing admin grants admin), at least 32 bytes (empty: JWTs refused)",
       [](ServerConfig& c, auto n, std::string_view v) {
         if (!v.empty() && v.size() < kMinJwtSecretBytes)
           bad_secret(n, fmt::format("expected at least {} bytes", kMinJwtSecretBytes));
         c.jwt_secret = std::string(v);
       }},
      {"METRICS_TOKEN", "",
       "bearer token for /metrics alone (admin tokens work too), so a scraper needs no API token; set, it "
       "protects /metrics even without API_TOKENS (empty: /metrics is protected like the API)",
       [](ServerConfig& c, auto n, std::string_view v) {
         if (!v.empty() && v.size() < kMinTokenSecretChars)
           bad_secret(n, fmt::format("expected at least {} characters", kMinTokenSecretChars));
         c.metrics_token = std::string(v);
       }},
      {"RATE_LIMIT_PER_S", "0",
       "requests per second allowed per token (or per client address without one); more get 429 with "
       "Retry-After (0: no limit)",
       [](ServerConfig& c, auto n, auto v) { c.rate_limit_per_s = number_in(n, v, 0, 1e6); }},
      {"RATE_LIMIT_BURST", "20",
       "requests a token or address may make at once before RATE_LIMIT_PER_S applies",
       [](ServerConfig& c, auto n, auto v) { c.rate_limit_burst = number_in(n, v, 1, 1e6); }},
      {"RATE_LIMIT_MAX_KEYS", "65536", "tokens and addresses the rate limiter tracks at once",
       [](ServerConfig& c, auto n, auto v) {
         c.rate_limit_max_keys = integer_in<std::size_t>(n, v, 1, 10'000'000);
       }},
      {"CORS_ORIGINS", "",
       "origins allowed to call the API from a browser, comma-separated (https://example.org), or * for any "
       "(empty: no CORS headers)",
       [](ServerConfig& c, auto n, std::string_view v) {
         c.cors_origins.clear();
         while (!v.empty()) {
           const auto comma = v.find(',');
           std::string item = trim(v.substr(0, comma));
           v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
           if (item.empty()) continue;
           if (!is_valid_cors_origin(item)) bad(n, item, "expected * or scheme://host[:port] without a path");
           c.cors_origins.push_back(std::move(item));
         }
       }},
      // --- limits on what the network controls (issue #8) ---
      {"HTTP_MAX_TARGET_BYTES", "4096", "longest request target (path and query), bytes; longer gets 414",
       [](ServerConfig& c, auto n, auto v) {
         c.http_max_target_bytes = integer_in<std::size_t>(n, v, 256, 15'000);
       }},
      {"HTTP_MAX_QUERY_BYTES", "2048", "longest query string, bytes; longer gets 414",
       [](ServerConfig& c, auto n, auto v) {
         c.http_max_query_bytes = integer_in<std::size_t>(n, v, 64, 15'000);
       }},
      {"HTTP_MAX_HEADER_BYTES", "8192",
       "largest request header block, bytes; larger gets 431 (beyond 16000 bytes websocketpp answers 431 "
       "itself)",
       [](ServerConfig& c, auto n, auto v) {
         c.http_max_header_bytes = integer_in<std::size_t>(n, v, 1024, 15'000);
       }},
      {"MAX_CONNECTIONS_PER_ADDRESS", "256",
       "open connections (HTTP and /v1/live) from one client address; more get 503 and are closed (0: no "
       "limit)",
       [](ServerConfig& c, auto n, auto v) {
         c.max_connections_per_address = integer_in<std::size_t>(n, v, 0, 1'000'000);
       }},
      {"HTTP_REQUEST_TIMEOUT_MS", "5000",
       "a request (line, headers and body) not fully received within this is dropped (slow clients), ms",
       [](ServerConfig& c, auto n, auto v) {
         c.http_request_timeout_ms = integer_in<std::int64_t>(n, v, 100, 600'000);
       }},

      // --- dashboard (issue #7) ---
      // Not checked for existence: a server without the dashboard's files still serves the API, and
      // the dashboard's 404 names the setting.
      {"WEB_DIR", AISTRACK_DEFAULT_WEB_DIR,
       "the dashboard's files, served at / and /static/ (empty: no dashboard)",
       [](ServerConfig& c, auto, auto v) { c.web_dir = std::string(v); }},
      {"WEB_LEAFLET_DIR", AISTRACK_DEFAULT_LEAFLET_DIR,
       "Leaflet's dist folder (npm leaflet, installed by scripts/install-deps.sh), served at "
       "/static/leaflet/",
       [](ServerConfig& c, auto, auto v) { c.web_leaflet_dir = std::string(v); }},
  };
  return kSettings;
}

std::string flag_of(std::string_view env) {
  std::string f = "--";
  for (const char c : env) f += c == '_' ? '-' : static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return f;
}

std::string unquote(std::string v) {
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    return v.substr(1, v.size() - 2);
  return v;
}

}  // namespace

std::map<std::string, std::string> read_dotenv(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw ConfigError(
        fmt::format("cannot read the env file '{}': check the path given by --env-file/ENV_FILE", path));
  std::map<std::string, std::string> out;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    std::string t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    if (t.starts_with("export ")) t = trim(t.substr(7));
    const auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError(fmt::format("{}:{}: expected KEY=VALUE, got '{}'", path, line_no, t));
    }
    out[trim(t.substr(0, eq))] = unquote(trim(t.substr(eq + 1)));
  }
  return out;
}

LoadedConfig load_config(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& environment) {
  LoadedConfig out;
  // First pass over flags: help/version/env-file decide what to read.
  std::map<std::string, std::string> flags;
  std::string env_file;
  bool env_file_explicit = false;  // --env-file given: ENV_FILE and ./.env are not consulted
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out.action = ConfigAction::help;
      return out;
    }
    if (a == "--version") {
      out.action = ConfigAction::version;
      return out;
    }
    if (a == "--env-example") {
      out.action = ConfigAction::env_example;
      return out;
    }
    if (!a.starts_with("--")) throw ConfigError(fmt::format("unexpected argument '{}' (see --help)", a));
    std::string name = a;
    std::string value;
    if (const auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else {
      if (i + 1 >= args.size()) throw ConfigError(fmt::format("{} needs a value (see --help)", a));
      value = args[++i];
    }
    if (name == "--env-file") {
      env_file = value;
      env_file_explicit = true;
      continue;
    }
    bool known = false;
    for (const Setting& s : settings()) {
      if (flag_of(s.env) == name) {
        flags[std::string(s.env)] = value;
        known = true;
      }
    }
    if (!known) throw ConfigError(fmt::format("unknown option '{}' (see --help)", name));
  }
  if (!env_file_explicit) {
    // ENV_FILE set but empty turns the .env file off (tests and containers use that).
    if (const auto it = environment.find("ENV_FILE"); it != environment.end()) {
      env_file = it->second;
    } else if (std::filesystem::exists(".env")) {
      env_file = ".env";
    }
  }
  std::map<std::string, std::string> dotenv;
  if (!env_file.empty()) {
    dotenv = read_dotenv(env_file);
    out.env_file = env_file;
  }
  for (const Setting& s : settings()) {
    const std::string key(s.env);
    const std::string* value = nullptr;
    if (const auto f = flags.find(key); f != flags.end()) {
      value = &f->second;
    } else if (const auto e = environment.find(key); e != environment.end()) {
      value = &e->second;
    } else if (const auto d = dotenv.find(key); d != dotenv.end()) {
      value = &d->second;
    }
    if (value != nullptr) s.apply(out.config, s.env, *value);
  }
  return out;
}

std::string help_text() {
  std::string h =
      "Usage: aistrack-server [--SETTING VALUE | --SETTING=VALUE]... [--env-file PATH]\n"
      "\n"
      "Tracks ships from AIS, stores every position in SQLite and serves a REST API.\n"
      "Each setting comes from its flag, else the environment, else the .env file\n"
      "(--env-file, $ENV_FILE, or ./.env when present), else the default.\n"
      "\n";
  for (const Setting& s : settings()) {
    h += fmt::format("  {:<22} ${:<20} default: {}\n      {}\n", flag_of(s.env) + " V", s.env,
                     s.default_text.empty() ? "(empty)" : s.default_text, s.help);
  }
  h += "\n  --env-file PATH        read settings from PATH\n"
       "  --help                 this text\n"
       "  --version              print the version\n"
       "  --env-example          print every setting as a commented .env file (see .env.example)\n"
       "\nExit status: 0 after SIGINT/SIGTERM (data flushed), 1 on a runtime failure,\n"
       "2 on a bad setting (the message names it).\n";
  return h;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string_view::npos)
      out.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

std::vector<std::string> setting_names() {
  std::vector<std::string> out;
  for (const Setting& s : settings()) out.emplace_back(s.env);
  return out;
}

AccessSettings access_settings(const ServerConfig& config) {
  AccessSettings a;
  a.tokens = config.api_tokens;
  a.tokens.insert(a.tokens.end(), config.api_file_tokens.begin(), config.api_file_tokens.end());
  a.jwt_secret = config.jwt_secret;
  a.metrics_token = config.metrics_token;
  a.rate_limit_per_s = config.rate_limit_per_s;
  a.rate_limit_burst = config.rate_limit_burst;
  a.rate_limit_max_keys = config.rate_limit_max_keys;
  a.cors_origins = config.cors_origins;
  return a;
}

std::string env_example_text() {
  std::string h =
      "# aistrack-server settings: every one, commented out at its default.\n"
      "# Copy to .env and uncomment what you change. The environment and command-line flags\n"
      "# (--setting-name value) win over this file. Regenerate: aistrack-server --env-example\n";
  const std::string root = std::string(AISTRACK_DEFAULT_ROOT) + "/";
  for (const Setting& s : settings()) {
    // Paths inside the checkout (the dashboard, the basemap) as the repository's own file shows them.
    std::string_view value = s.default_text;
    std::string_view note;
    if (value.starts_with(root)) {
      value.remove_prefix(root.size());
      note = "# (the built server's default is the absolute path of this one in its source tree)\n";
    }
    h += fmt::format("\n# {}\n{}#{}={}\n", s.help, note, s.env, value);
  }
  return h;
}

}  // namespace aistrack::server
