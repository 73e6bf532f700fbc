// The dashboard's static files (issue #7): GET / and /static/{file} from WEB_DIR and WEB_LEAFLET_DIR,
// content types, cache headers, and no way out of the two folders. The last cases run the real
// server binary and the real files of server/web.
#include "routes.hpp"

#include <doctest/doctest.h>

#include "route_checks.hpp"
#include "support.hpp"

#include <csignal>
#include <fstream>
#include <regex>
#include <set>

using namespace aistrack;
using namespace aistrack::server;
namespace fs = std::filesystem;

namespace {
constexpr TimeMs kNow = 1'700'000'000'000;

void write(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A web folder and a Leaflet folder with a few files, and a secret beside them.
struct Fixture {
  test::TempDir dir;
  ServerConfig config;
  std::unique_ptr<App> app;
  std::unique_ptr<Api> api;

  Fixture() {
    write(dir / "web/index.html", "<!doctype html><title>t</title>");
    write(dir / "web/app.js", "export const x = 1;\n");
    write(dir / "web/style.css", "body{}\n");
    write(dir / "web/img/ship.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>");
    write(dir / "web/data.bin", std::string("\0\1\2", 3));
    write(dir / "leaflet/leaflet.js", "window.L = {};\n");
    write(dir / "leaflet/images/layers.png", "\x89PNG\r\n\x1a\n");
    write(dir / "secret.txt", "the-secret-content");
    config.db_path = (dir / "web.db").string();
    config.sim_vessels = 0;
    config.web_dir = (dir / "web").string();
    config.web_leaflet_dir = (dir / "leaflet").string();
    app = std::make_unique<App>(config, kNow);
    api = std::make_unique<Api>(*app, config);
  }
  [[nodiscard]] Response get(const std::string& target, const std::string& method = "GET") const {
    return api->handle(Request{method, target}, kNow);
  }
};

}  // namespace

TEST_CASE("web routes: / is index.html, files under /static/ with their content types") {
  Fixture f;
  for (const char* index : {"/", "/index.html", "/?x=1"}) {
    const std::string index_text = index;
    CAPTURE(index_text);
    const Response r = f.get(index);
    REQUIRE(r.status == 200);
    CHECK(r.content_type == "text/html; charset=utf-8");
    CHECK(r.body == test::slurp(f.dir / "web/index.html"));
    CHECK(test::header_of(r, "Content-Security-Policy").find("default-src 'self'") != std::string::npos);
  }
  const std::pair<const char*, const char*> cases[] = {
      {"/static/app.js", "text/javascript; charset=utf-8"},
      {"/static/style.css", "text/css; charset=utf-8"},
      {"/static/img/ship.svg", "image/svg+xml"},
      {"/static/data.bin", "application/octet-stream"},
      {"/static/leaflet/leaflet.js", "text/javascript; charset=utf-8"},
      {"/static/leaflet/images/layers.png", "image/png"},
  };
  for (const auto& [path, type] : cases) {
    const std::string path_text = path;
    CAPTURE(path_text);
    const Response r = f.get(path);
    REQUIRE(r.status == 200);
    CHECK(r.content_type == type);
    CHECK(test::header_of(r, "X-Content-Type-Options") == "nosniff");
  }
  CHECK(f.get("/static/data.bin").body == std::string("\0\1\2", 3));
  CHECK(f.get("/static/leaflet/leaflet.js").body == "window.L = {};\n");
  // Ours are revalidated (an edited page shows on reload); Leaflet's are versioned.
  CHECK(test::header_of(f.get("/static/app.js"), "Cache-Control") == "no-cache");
  CHECK(test::header_of(f.get("/"), "Cache-Control") == "no-cache");
  CHECK(test::header_of(f.get("/static/leaflet/leaflet.js"), "Cache-Control") == "public, max-age=86400");
  CHECK(f.get("/static/app.js", "HEAD").status == 200);
}

TEST_CASE("web routes: no path leads out of the folders, encoded or not") {
  Fixture f;
  for (const char* path :
       {"/static/../secret.txt", "/static/img/../../secret.txt", "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt", "/static/%2E%2E%2Fsecret.txt", "/static/leaflet/../../secret.txt",
        "/static/leaflet/%2e%2e/%2e%2e/secret.txt", "/static/./app.js", "/static//etc/passwd", "/static/img/",
        "/static/", "/static/app.js%00.png", "/static/a\\..\\secret.txt", "/static/.hidden", "/static/..",
        "/static/leaflet/.."}) {
    const std::string target = path;
    CAPTURE(target);
    const Response r = f.get(target);
    CHECK((r.status == 400 || r.status == 404));
    CHECK(r.content_type == "application/json");
    CHECK(r.body.find("the-secret-content") == std::string::npos);
  }
  test::check_error(f.get("/static/../secret.txt"), 400, "invalid_path");
  test::check_error(f.get("/static/%2e%2e/secret.txt"), 400, "invalid_path");
  // A symlink inside the folder that points out of it is not followed.
  fs::create_symlink(f.dir / "secret.txt", f.dir / "web/link.txt");
  fs::create_directory_symlink(f.dir.path(), f.dir / "web/up");
  test::check_error(f.get("/static/link.txt"), 404, "not_found");
  test::check_error(f.get("/static/up/secret.txt"), 404, "not_found");
  // Folders and missing files are 404 with JSON; other methods 405.
  test::check_error(f.get("/static/img"), 404, "not_found");
  test::check_error(f.get("/static/nope.js"), 404, "not_found");
  test::check_error(f.get("/static/leaflet/nope.js"), 404, "not_found");
  test::check_error(f.get("/static/app.js", "POST"), 405, "method_not_allowed");
  test::check_error(f.get("/", "DELETE"), 405, "method_not_allowed");
  // Routes of other modules are untouched.
  test::check_error(f.get("/staticx/app.js"), 404, "not_found");
  CHECK(f.get("/v1/vessels").status == 200);
  CHECK_FALSE(f.api->is_slow(Request{"GET", "/static/app.js"}));
}

TEST_CASE("web routes: an empty or missing WEB_DIR answers 404, and the API still works") {
  Fixture f;
  f.config.web_dir.clear();
  Api no_web(*f.app, f.config);
  CHECK(no_web.handle(Request{"GET", "/"}, kNow).status == 404);
  f.config.web_dir = (f.dir / "absent").string();
  Api absent(*f.app, f.config);
  const Response r = absent.handle(Request{"GET", "/static/app.js"}, kNow);
  test::check_error(r, 404, "not_found");
  CHECK(r.body.find("WEB_DIR") != std::string::npos);
  CHECK(absent.handle(Request{"GET", "/health"}, kNow).status == 200);
}

TEST_CASE("web config: WEB_DIR and WEB_LEAFLET_DIR from flags, environment and defaults") {
  const auto env = std::map<std::string, std::string>{{"ENV_FILE", ""}, {"WEB_DIR", "/srv/web"}};
  const auto c = load_config({"--web-leaflet-dir=/srv/leaflet"}, env).config;
  CHECK(c.web_dir == "/srv/web");
  CHECK(c.web_leaflet_dir == "/srv/leaflet");
  const auto d = load_config({}, {{"ENV_FILE", ""}}).config;
  CHECK(d.web_dir == AISTRACK_DEFAULT_WEB_DIR);
  CHECK(d.web_leaflet_dir == AISTRACK_DEFAULT_LEAFLET_DIR);
  CHECK(help_text().find("WEB_DIR") != std::string::npos);
}

TEST_CASE("dashboard: the real server serves the page, every file it references, and tiles") {
  const fs::path leaflet = AISTRACK_DEFAULT_LEAFLET_DIR;
  if (!fs::is_regular_file(leaflet / "leaflet.js")) {
    MESSAGE("SKIPPED: Leaflet is not installed in " << leaflet.string() << " (run scripts/install-deps.sh)");
    return;
  }
  test::TempDir dir;
  const int port = test::free_port();
  test::ChildProcess server({AISTRACK_SERVER_BIN},
                            {"HTTP_PORT=" + std::to_string(port), "DB_PATH=" + (dir / "db").string(),
                             "SIM_VESSELS=2", "ENV_FILE=", "AISSTREAM_API_KEY=", "MAP_TILE_URL=",
                             "MAP_SEAMARK_URL=", "MAP_TILE_CACHE_DIR=" + (dir / "tiles").string()},
                            dir / "server.log");
  REQUIRE_MESSAGE(
      test::wait_for([&] { return test::http_request(port, "GET", "/health").status == 200; }, 60),
      test::slurp(dir / "server.log"));

  const auto index = test::http_request(port, "GET", "/");
  REQUIRE(index.status == 200);
  CHECK(index.header("content-type") == "text/html; charset=utf-8");
  // The route's Cache-Control replaces the server's default no-store.
  CHECK(index.header("cache-control") == "no-cache");
  CHECK(index.body == test::slurp(fs::path(AISTRACK_DEFAULT_WEB_DIR) / "index.html"));

  // Every local script and stylesheet of the page, and the modules app.js imports, are served.
  std::set<std::string> refs;
  const std::regex attr(R"re((?:src|href)="(/static/[^"]+)")re");
  for (auto it = std::sregex_iterator(index.body.begin(), index.body.end(), attr);
       it != std::sregex_iterator(); ++it)
    refs.insert((*it)[1]);
  const std::string app = test::http_request(port, "GET", "/static/app.js").body;
  const std::regex import(R"re(from '\./([a-z_]+\.js)')re");
  for (auto it = std::sregex_iterator(app.begin(), app.end(), import); it != std::sregex_iterator(); ++it)
    refs.insert("/static/" + (*it)[1].str());
  CHECK(refs.contains("/static/leaflet/leaflet.js"));
  CHECK(refs.contains("/static/app.js"));
  CHECK(refs.contains("/static/live.js"));
  for (const auto& ref : refs) {
    CAPTURE(ref);
    const auto r = test::http_request(port, "GET", ref);
    CHECK(r.status == 200);
    CHECK(!r.body.empty());
  }
  const auto head = test::http_request(port, "HEAD", "/static/leaflet/leaflet.css");
  CHECK(head.status == 200);
  CHECK(head.header("cache-control") == "public, max-age=86400");
  CHECK(head.body.empty());
  CHECK(test::http_request(port, "GET", "/static/../CMakeLists.txt").status == 400);

  // No tile server: the tile comes from the offline basemap (when world-atlas is installed) or is a 404.
  const auto tile = test::http_request(port, "GET", "/v1/tiles/6/33/20.png", {}, 60);
  if (fs::is_regular_file(AISTRACK_DEFAULT_BASEMAP)) {
    CHECK(tile.status == 200);
    CHECK(tile.header("x-tile-source") == "basemap");
    CHECK(tile.header("content-type") == "image/png");
    CHECK(tile.header("cache-control") == "public, max-age=60");
  } else {
    CHECK(tile.status == 404);
    CHECK(tile.header("content-type") == "application/json");
  }
  server.signal(SIGTERM);
  CHECK(server.wait(30) == 0);
}
