#include "config.hpp"

#include <fmt/core.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
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

bool boolean(std::string_view name, std::string_view v) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  bad(name, v, "expected true/false (or 1/0, yes/no, on/off)");
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
      // --- stats and track history (issue #5) ---

      // --- maps (issue #6) ---
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

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
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

}  // namespace aistrack::server
