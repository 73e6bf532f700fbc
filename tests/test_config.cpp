#include "config.hpp"

#include <doctest/doctest.h>

#include "support.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

using namespace aistrack::server;

namespace {
std::string config_error(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env) {
  try {
    load_config(args, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("config: defaults") {
  const auto c = load_config({}, {{"ENV_FILE", ""}}).config;
  CHECK(c.http_port == 8000);
  CHECK(c.http_bind == "127.0.0.1");
  CHECK(c.db_path == "aistrack.db");
  CHECK(c.sim_vessels == 20);
  CHECK(c.aisstream_url == "wss://stream.aisstream.io/v0/stream");
  CHECK(c.mmsi_list.empty());
  CHECK(c.retention_days == 30);
  CHECK_FALSE(c.store_raw);
}

TEST_CASE("config: flags beat the environment, which beats the .env file") {
  aistrack::test::TempDir dir;
  const auto env_file = dir / "settings.env";
  std::ofstream(env_file) << "# comment\n"
                             "export HTTP_PORT=9001\n"
                             "DB_PATH=\"/tmp/from-dotenv.db\"\n"
                             "SIM_VESSELS = 7\n"
                             "MMSI_LIST=244700923,002320061\n";
  const std::map<std::string, std::string> env{{"ENV_FILE", env_file.string()}, {"HTTP_PORT", "9002"}};
  auto loaded = load_config({}, env);
  CHECK(loaded.env_file == env_file.string());
  CHECK(loaded.config.http_port == 9002);
  CHECK(loaded.config.db_path == "/tmp/from-dotenv.db");
  CHECK(loaded.config.sim_vessels == 7);
  CHECK(loaded.config.mmsi_list == std::vector<aistrack::Mmsi>{244700923, 2320061});
  loaded = load_config({"--http-port", "9003", "--sim-seed=42"}, env);
  CHECK(loaded.config.http_port == 9003);
  CHECK(loaded.config.sim_seed == 42);
}

TEST_CASE("config: bad values name the setting and what is allowed") {
  const std::map<std::string, std::string> none{{"ENV_FILE", ""}};
  auto msg = config_error({}, {{"HTTP_PORT", "http"}});
  CHECK(msg.find("HTTP_PORT") != std::string::npos);
  CHECK(msg.find("1 to 65535") != std::string::npos);
  CHECK(config_error({"--http-port", "70000"}, none).find("HTTP_PORT") != std::string::npos);
  msg = config_error({}, {{"MMSI_LIST", "244700923,12345"}});
  CHECK(msg.find("MMSI_LIST") != std::string::npos);
  CHECK(msg.find("12345") != std::string::npos);
  CHECK(config_error({}, {{"AISSTREAM_URL", "http://x"}}).find("AISSTREAM_URL") != std::string::npos);
  CHECK(config_error({}, {{"STORE_RAW", "maybe"}}).find("STORE_RAW") != std::string::npos);
  CHECK(config_error({}, {{"SIM_VESSELS", "-1"}}).find("SIM_VESSELS") != std::string::npos);
  CHECK(config_error({}, {{"LOG_LEVEL", "loud"}}).find("LOG_LEVEL") != std::string::npos);
  CHECK(config_error({"--no-such-flag", "1"}, none).find("--no-such-flag") != std::string::npos);
  CHECK(config_error({"--http-port"}, none).find("needs a value") != std::string::npos);
  CHECK(config_error({"stray"}, none).find("stray") != std::string::npos);
  CHECK(config_error({}, {{"ENV_FILE", "/nonexistent/x.env"}}).find("/nonexistent/x.env") !=
        std::string::npos);
}

TEST_CASE("config: a malformed .env line is reported with its line number") {
  aistrack::test::TempDir dir;
  std::ofstream(dir / "bad.env") << "HTTP_PORT=1\nthis is not a setting\n";
  const auto msg = config_error({"--env-file", (dir / "bad.env").string()}, {});
  CHECK(msg.find(":2:") != std::string::npos);
}

TEST_CASE("config: --help lists every setting with its default") {
  CHECK(load_config({"--help"}, {}).action == ConfigAction::help);
  CHECK(load_config({"--version"}, {}).action == ConfigAction::version);
  const std::string h = help_text();
  for (const char* s :
       {"AISSTREAM_API_KEY", "AISSTREAM_URL", "MMSI_LIST", "DB_PATH", "HTTP_PORT", "HTTP_BIND", "SIM_VESSELS",
        "SIM_SEED", "--http-port", "STORE_BATCH_ROWS", "RETENTION_DAYS"}) {
    CHECK_MESSAGE(h.find(s) != std::string::npos, s);
  }
  CHECK(h.find("8000") != std::string::npos);
}

TEST_CASE("config: .env.example lists every setting, and its defaults load as they are") {
  const std::filesystem::path example = std::filesystem::path(AISTRACK_SOURCE_DIR) / ".env.example";
  std::ifstream in(example);
  REQUIRE_MESSAGE(in, "missing " << example.string());
  std::set<std::string> listed;
  std::string uncommented;
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (line.size() < 2 || line[0] != '#' || eq == std::string::npos || line[1] < 'A' || line[1] > 'Z')
      continue;
    const std::string key = line.substr(1, eq - 1);
    if (key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string::npos) continue;
    listed.insert(key);
    uncommented += line.substr(1) + "\n";
  }
  const auto names = setting_names();
  const std::set<std::string> known(names.begin(), names.end());
  for (const auto& n : known)
    CHECK_MESSAGE(listed.contains(n), n << " is missing: regenerate with aistrack-server --env-example");
  for (const auto& n : listed) CHECK_MESSAGE(known.contains(n), n << " in .env.example is not a setting");
  // Every default, written out, is accepted (so copying the file and uncommenting is safe).
  aistrack::test::TempDir dir;
  const auto env = dir / "all.env";
  std::ofstream(env) << uncommented;
  const auto loaded = load_config({"--env-file", env.string()}, {});
  CHECK(loaded.config.http_port == 8000);
  CHECK(loaded.config.live_max_clients == 10'000);
}

TEST_CASE("config: --env-example prints every setting") {
  const auto loaded = load_config({"--env-example"}, {});
  CHECK(loaded.action == ConfigAction::env_example);
  const std::string text = env_example_text();
  for (const auto& n : setting_names()) CHECK_MESSAGE(text.find("#" + n + "=") != std::string::npos, n);
  // The repository's file is exactly what --env-example prints, paths in the checkout relative to it.
  std::ifstream in(std::filesystem::path(AISTRACK_SOURCE_DIR) / ".env.example");
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_MESSAGE(file == text, "regenerate: aistrack-server --env-example > .env.example");
  CHECK(text.find(AISTRACK_SOURCE_DIR) == std::string::npos);
}
