// Server configuration: defaults < .env file < environment < command-line flags.
//
// We parse these ourselves rather than with CLI11 because every setting must come from
// three sources with one precedence, one validation and one error format (exit 2 naming
// the setting and what is allowed), and --help is generated from the same table.
#pragma once

#include <aistrack/types.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace aistrack::server {

/// Everything the server can be told.
struct ServerConfig {
  std::string aisstream_api_key;
  std::string aisstream_url = "wss://stream.aisstream.io/v0/stream";
  std::vector<Mmsi> mmsi_list;
  std::string db_path = "aistrack.db";
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

  // --- stats and track history (issue #5) ---

  // --- maps (issue #6) ---
};

/// A bad setting; what() names it and what is allowed. The server exits with status 2.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// What the command line asked for.
enum class ConfigAction { run, help, version };

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

/// The process environment as a map.
std::map<std::string, std::string> process_environment();

}  // namespace aistrack::server
