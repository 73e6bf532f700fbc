// aistrack-server: simulator or aisstream.io → Tracker → SQLite Store → REST API.
#include "config.hpp"
#include "http_server.hpp"
#include "log.hpp"

#include <aistrack/store.hpp>
#include <aistrack/version.hpp>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  using namespace aistrack::server;
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    const LoadedConfig loaded = load_config(args, process_environment());
    if (loaded.action == ConfigAction::help) {
      std::fputs(help_text().c_str(), stdout);
      return 0;
    }
    if (loaded.action == ConfigAction::env_example) {
      std::fputs(env_example_text().c_str(), stdout);
      return 0;
    }
    if (loaded.action == ConfigAction::version) {
      std::printf("aistrack-server %s\n", aistrack::kVersion);
      return 0;
    }
    const ServerConfig& config = loaded.config;
    LogLevel level = LogLevel::info;
    parse_log_level(config.log_level, level);
    g_log_level = level;
    if (!loaded.env_file.empty()) log(LogLevel::info, "settings read from {}", loaded.env_file);
    return run_server(config);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "aistrack-server: %s\n", e.what());
    return 2;
  } catch (const aistrack::StoreError& e) {
    std::fprintf(stderr, "aistrack-server: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aistrack-server: fatal: %s\n", e.what());
    return 1;
  }
}
