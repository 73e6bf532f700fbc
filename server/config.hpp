// Server configuration: defaults < .env file < environment < command-line flags.
//
// We parse these ourselves rather than with CLI11 because every setting must come from
// three sources with one precedence, one validation and one error format (exit 2 naming
// the setting and what is allowed), and --help is generated from the same table.
#pragma once

#include "auth.hpp"

#include <aistrack/aisstream.hpp>
#include <aistrack/types.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

// Where scripts/install-deps.sh puts world-atlas, set by CMake to an absolute path.
#ifndef AISTRACK_DEFAULT_BASEMAP
#define AISTRACK_DEFAULT_BASEMAP "third_party/npm/node_modules/world-atlas/land-50m.json"
#endif

// Where the dashboard's files (server/web) and Leaflet (installed by scripts/install-deps.sh) are,
// set by CMake to absolute paths.
#ifndef AISTRACK_DEFAULT_WEB_DIR
#define AISTRACK_DEFAULT_WEB_DIR "server/web"
#endif
#ifndef AISTRACK_DEFAULT_LEAFLET_DIR
#define AISTRACK_DEFAULT_LEAFLET_DIR "third_party/npm/node_modules/leaflet/dist"
#endif

namespace aistrack::server {

/// Everything the server can be told.
struct ServerConfig {
  std::string aisstream_api_key;
  std::string aisstream_url = "wss://stream.aisstream.io/v0/stream";
  std::vector<Mmsi> mmsi_list;
  std::string db_path = "aistrack.db";
  std::string db_url;  ///< PostgreSQL (postgresql://…) instead of SQLite when set; may hold a password
  TimeMs leader_takeover_ms = 15'000;  ///< with db_url: a dead leader is replaced within this, ms
  TimeMs follower_refresh_ms = 2'000;  ///< a follower merges the shared database into memory this often, ms
  int http_port = 8000;
  std::string http_bind = "127.0.0.1";
  int http_threads = 2;
  std::size_t sim_vessels = 20;
  std::uint64_t sim_seed = 1;
  std::size_t max_vessels = 100'000;
  std::size_t store_batch_rows = 10'000;
  std::int64_t store_batch_ms = 1000;
  bool store_raw = false;
  int retention_days = 30;
  std::string log_level = "info";

  // --- sources and the aisstream.io feed (issue #3) ---
  std::string source = "auto";  ///< auto | simulator | aisstream | replay:FILE | none
  std::vector<aisstream::BoundingBox> aisstream_bboxes;  ///< empty: the whole world
  std::vector<std::string> aisstream_message_types;      ///< empty: all
  std::string aisstream_ca_file;
  std::int64_t aisstream_stall_timeout_s = 120;
  std::int64_t aisstream_ping_interval_s = 30;
  std::int64_t aisstream_backoff_max_s = 300;
  std::int64_t aisstream_rate_limit_wait_s = 60;
  std::string aisstream_record_file;  ///< append every received frame here (one per line)
  double replay_speed = 1.0;          ///< 0: as fast as possible
  bool replay_shift_to_now = false;   ///< move replayed times so the first frame is "now"
  std::size_t ingest_queue_frames = 200'000;

  // --- NMEA sources (issue #4): run alongside SOURCE ---
  int nmea_udp_port = 0;  ///< 0: off
  std::string nmea_udp_bind = "127.0.0.1";
  std::string nmea_tcp;  ///< host:port, empty: off

  // --- stats and track history (issue #5) ---
  int stats_max_hours = 168;             ///< largest window of GET /v1/stats (hours= or from/to), hours
  double stats_max_speed_kn = 60.0;      ///< Stats jump filter: fastest plausible ship, knots
  double stats_stop_sog_kn = 0.5;        ///< Stats: below this SOG a vessel is stopped, knots
  int stats_gap_s = 600;                 ///< Stats: a longer interval between fixes is a gap, seconds
  std::size_t track_max_limit = 10'000;  ///< largest page of GET /v1/ais/{mmsi}/track, fixes

  // --- run-time control and export (issue #10) ---
  std::size_t export_buffer_kb = 256;       ///< memory bound of one streamed export response, KiB
  std::size_t export_max_rows = 1'000'000;  ///< largest limit= of GET /v1/positions/export.csv

  // --- maps (issue #6) ---
  std::string map_tile_url = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";  ///< base layer; empty: none
  std::string map_seamark_url = "https://tiles.openseamap.org/seamark/{z}/{x}/{y}.png";  ///< empty: none
  std::string map_tile_mbtiles;  ///< MBTiles file asked before HTTP for base tiles (empty: none)
  std::string map_tile_folder;   ///< folder of z/x/y.png asked before HTTP for base tiles (empty: none)
  std::string map_tile_cache_dir = "tile-cache";  ///< disk cache of downloaded tiles
  std::size_t map_tile_cache_mb = 512;            ///< disk cache size cap, MiB (0: no disk cache)
  int map_tile_cache_days = 7;                    ///< keep every tile at least this long, days (≥ 7)
  std::size_t map_memory_tiles = 256;             ///< decoded tiles kept in memory (256 KiB each)
  std::string map_user_agent = "aistrack/0.1.0 (AIS ship tracker map renderer; libcurl)";
  std::int64_t map_tile_timeout_ms = 10'000;  ///< every tile of one map layer must arrive within this
  int map_tile_connections = 2;               ///< parallel connections per tile server
  std::string map_basemap = AISTRACK_DEFAULT_BASEMAP;  ///< offline land (absolute: works from any directory)
  int map_width = 800;                                 ///< default width, pixels
  int map_height = 600;                                ///< default height, pixels
  int map_min_size = 64;                      ///< smallest width/height a request may ask for, pixels
  int map_max_size = 2048;                    ///< largest width/height a request may ask for, pixels
  std::string map_color = "color";            ///< default scheme: color | grayscale
  int map_jpeg_quality = 85;                  ///< default JPEG quality 1..100
  int map_track_hours = 6;                    ///< default track window, hours
  int map_max_hours = 168;                    ///< largest hours= a request may ask for
  std::size_t map_track_max_points = 20'000;  ///< most track points read for one map

  // --- dashboard (issue #7) ---
  std::string web_dir = AISTRACK_DEFAULT_WEB_DIR;  ///< the dashboard's files, served at / and /static/
  std::string web_leaflet_dir =
      AISTRACK_DEFAULT_LEAFLET_DIR;  ///< Leaflet's dist/, served at /static/leaflet/

  // --- live push (issue #7) ---
  std::size_t live_max_clients = 10'000;           ///< more /v1/live connections are refused (503)
  std::size_t live_max_message_bytes = 64 * 1024;  ///< largest client message, bytes (larger: close 1009)
  std::size_t live_max_mmsi = 1'000;               ///< longest MMSI list in one subscription
  std::size_t live_send_buffer_kb = 256;           ///< KiB on a client's socket before it counts as behind
  std::size_t live_queue_max = 1'000;              ///< updates held for a client behind before coalescing
  int live_slow_close_s = 10;                      ///< a client behind this long is closed, seconds
  int live_ping_s = 30;                            ///< ping period, seconds
  int live_pong_timeout_s = 10;                    ///< unanswered ping closes the client, seconds

  // --- scale-out (issue #9): live updates across instances through Redis ---
  std::string redis_url;  ///< redis://[[user]:password@]host[:port][/db]; empty: no Redis (one instance)
  std::string redis_channel = "aistrack:vessels";  ///< pub/sub channel shared by the instances
  std::size_t redis_queue_max = 100'000;  ///< vessel states waiting to be published, and received ones
                                          ///< waiting for the next tick; more are dropped and counted
  std::int64_t redis_timeout_ms = 2000;   ///< connect and command timeout, ms

  // --- access control (issue #8): all off by default ---
  std::vector<ApiToken> api_tokens;          ///< API_TOKENS: name:role:secret entries
  std::string api_token_file;                ///< API_TOKEN_FILE: the same, one per line
  std::vector<ApiToken> api_file_tokens;     ///< the entries read from api_token_file
  std::string jwt_secret;                    ///< HS256 key of accepted JWTs (empty: JWTs refused)
  std::string metrics_token;                 ///< token for /metrics (empty: /metrics is like the API)
  double rate_limit_per_s = 0;               ///< requests per second per caller (0: no limit)
  double rate_limit_burst = 20;              ///< requests a caller may make at once
  std::size_t rate_limit_max_keys = 65'536;  ///< callers tracked at once by the rate limiter
  std::vector<std::string> cors_origins;     ///< origins given Access-Control-Allow-Origin ("*": any)

  // --- limits on what the network controls (issue #8) ---
  std::size_t http_max_target_bytes = 4096;       ///< longest request target (path and query), bytes (414)
  std::size_t http_max_query_bytes = 2048;        ///< longest query string, bytes (414)
  std::size_t http_max_header_bytes = 8192;       ///< largest header block, bytes (431)
  std::size_t max_connections_per_address = 256;  ///< open connections from one IP address (0: no limit)
  std::int64_t http_request_timeout_ms = 5000;    ///< a request not fully received in this is closed, ms
};

/// The access gate's settings from `config` (API_TOKENS and API_TOKEN_FILE merged).
AccessSettings access_settings(const ServerConfig& config);

/// A bad setting; what() names it and what is allowed. The server exits with status 2.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// What the command line asked for.
enum class ConfigAction { run, help, version, env_example };

/// Result of load_config.
struct LoadedConfig {
  ConfigAction action = ConfigAction::run;
  ServerConfig config;
  std::string env_file;  ///< .env file that was read, empty if none
};

/// Reads KEY=VALUE lines (comments, blank lines, `export`, quotes); throws ConfigError on a bad line.
std::map<std::string, std::string> read_dotenv(const std::string& path);

/// Builds the configuration from flags (`args` without argv[0]) and `environment`.
/// `.env` is read from --env-file / ENV_FILE, else ./.env if it exists. Throws ConfigError.
LoadedConfig load_config(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& environment);

/// The --help text: every setting with its flag, variable, default and meaning.
std::string help_text();

/// Every setting's variable name, in --help order.
std::vector<std::string> setting_names();

/// Every setting as a commented-out KEY=default line under its help (the .env.example file).
std::string env_example_text();

/// The process environment as a map.
std::map<std::string, std::string> process_environment();

}  // namespace aistrack::server
