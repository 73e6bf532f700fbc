// Routes of the dashboard (issue #7): GET / (index.html) and GET /static/{file}, from two folders:
//
//   /static/leaflet/{file} → WEB_LEAFLET_DIR (Leaflet's dist/, installed by scripts/install-deps.sh)
//   /static/{file}         → WEB_DIR (server/web in the source tree)
//
// Files are read on every request (they are small, and an edited page shows on reload). Paths are
// checked as text before the file system sees them: only [A-Za-z0-9._-] segments, none of them
// "." or "..", no %-escapes (our files need none, so an encoded "..%2f" never gets decoded); then
// the resolved file must still lie inside its folder, so a symlink cannot lead out of it either.
#include "log.hpp"
#include "routes.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

namespace aistrack::server {
namespace {
namespace fs = std::filesystem;

constexpr std::string_view kStatic = "/static/";
constexpr std::string_view kLeaflet = "leaflet/";
constexpr std::uintmax_t kMaxFileBytes = 16U << 20;

// The page may load only what this server serves: a vessel name that slipped into the DOM as markup
// still could not load or run a script from elsewhere.
constexpr std::string_view kIndexCsp =
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

std::string_view content_type_of(const fs::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".png") return "image/png";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt" || ext == ".md") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// True when `rel` is a plain relative path: segments of [A-Za-z0-9._-], none empty, "." or "..".
bool safe_relative_path(std::string_view rel) {
  if (rel.empty()) return false;
  std::size_t start = 0;
  while (start <= rel.size()) {
    const auto slash = rel.find('/', start);
    const auto end = slash == std::string_view::npos ? rel.size() : slash;
    const auto seg = rel.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (const char c : seg) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

class WebRoutes final : public RouteModule {
 public:
  explicit WebRoutes(const ServerConfig& config)
      : web_dir_(config.web_dir), leaflet_dir_(config.web_leaflet_dir) {}

  std::optional<Response> handle(const Request& request, std::string_view path, const Query& /*query*/,
                                 TimeMs /*now_ms*/) override {
    const bool index = path == "/" || path == "/index.html";
    if (!index && !path.starts_with(kStatic)) return std::nullopt;
    if (!is_read(request)) return method_not_allowed("GET, HEAD");
    if (index) return serve(web_dir_, "WEB_DIR", "index.html", true);
    const auto rel = path.substr(kStatic.size());
    if (!safe_relative_path(rel)) {
      return error_response(
          400, "invalid_path",
          "a static file path is made of segments of letters, digits, '.', '_' and '-', none "
          "of them '.' or '..', without %-escapes; got '" +
              std::string(path) + "'");
    }
    if (rel.starts_with(kLeaflet))
      return serve(leaflet_dir_, "WEB_LEAFLET_DIR", rel.substr(kLeaflet.size()), false);
    return serve(web_dir_, "WEB_DIR", rel, false);
  }

  [[nodiscard]] std::vector<RouteInfo> routes() const override {
    // {file} may hold slashes (static/leaflet/images/…), which OpenAPI's description says.
    return {{"/", {"GET"}}, {"/index.html", {"GET"}}, {std::string(kStatic) + "{file}", {"GET"}}};
  }

 private:
  // Answers with `rel` below `dir` (`setting` names the folder in messages). Our own files are
  // revalidated on every load (no-cache: an edited page shows at once); Leaflet's are versioned.
  static Response serve(const std::string& dir, std::string_view setting, std::string_view rel,
                        bool is_index) {
    const auto missing = [&] {
      return error_response(404, "not_found",
                            "no file '" + std::string(rel) + "' in " + std::string(setting) + "='" + dir +
                                "' (run scripts/install-deps.sh for Leaflet, or check the setting)");
    };
    if (dir.empty())
      return error_response(404, "not_found", std::string(setting) + " is empty: no dashboard");
    std::error_code ec;
    const fs::path root = fs::canonical(dir, ec);
    if (ec) return missing();
    const fs::path file = fs::canonical(root / fs::path(rel), ec);
    if (ec) return missing();
    // The resolved file must be below the resolved folder (a symlink inside may point anywhere).
    const auto [root_end, file_it] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
    if (root_end != root.end() || file_it == file.end()) return missing();
    if (!fs::is_regular_file(file, ec) || fs::file_size(file, ec) > kMaxFileBytes || ec) return missing();
    std::ifstream in(file, std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) {
      log(LogLevel::warn, "dashboard: cannot read {}", file.string());
      return error_response(500, "internal", "cannot read a dashboard file");
    }
    Response r{200, std::string(content_type_of(file)), std::move(body), {}};
    r.headers.emplace_back("Cache-Control",
                           setting == "WEB_LEAFLET_DIR" ? "public, max-age=86400" : "no-cache");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    if (is_index) r.headers.emplace_back("Content-Security-Policy", std::string(kIndexCsp));
    return r;
  }

  std::string web_dir_;
  std::string leaflet_dir_;
};

}  // namespace

std::unique_ptr<RouteModule> make_web_routes(const App& /*app*/, const ServerConfig& config) {
  return std::make_unique<WebRoutes>(config);
}

}  // namespace aistrack::server
