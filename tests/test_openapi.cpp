// The OpenAPI document (docs/openapi.json, served at /openapi.json) against the server that really
// runs: the same routes and methods as the router lists, and every documented operation, sent to the
// real aistrack-server over loopback, answers with a status and a content type the document lists.
#include <doctest/doctest.h>

#include "route_checks.hpp"
#include "routes.hpp"
#include "support.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

using namespace aistrack;
using namespace aistrack::server;
namespace json = boost::json;

namespace {
const std::string kServer = AISTRACK_SERVER_BIN;
const std::vector<std::string> kMethods = {"get", "put", "post", "delete"};  // the order probes run in

json::object document() {
  const auto path = std::filesystem::path(AISTRACK_SOURCE_DIR) / "docs" / "openapi.json";
  const std::string text = test::slurp(path);
  REQUIRE_MESSAGE(!text.empty(), "cannot read " << path);
  return json::parse(text).as_object();
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// Media type without parameters: "text/csv; charset=utf-8" -> "text/csv".
std::string base_type(std::string_view t) {
  t = t.substr(0, t.find(';'));
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return std::string(t);
}

std::string header_value(const test::HttpResponse& r, const std::string& name) {
  std::string v = r.header(name);
  while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
  return v;
}

// The `example` of each parameter of `op` (and of its path item), by location and name.
std::map<std::string, std::string> examples(const json::object& op, std::string_view in) {
  std::map<std::string, std::string> out;
  if (!op.contains("parameters")) return out;
  for (const auto& p : op.at("parameters").as_array()) {
    const auto& o = p.as_object();
    if (o.at("in").as_string() != in || !o.contains("example")) continue;
    const auto& ex = o.at("example");
    out[std::string(o.at("name").as_string())] =
        ex.is_string() ? std::string(ex.as_string()) : json::serialize(ex);
  }
  return out;
}
}  // namespace

TEST_CASE("openapi: the document lists exactly the routes and methods the server answers") {
  const json::object doc = document();
  CHECK(doc.at("openapi").as_string().starts_with("3."));
  CHECK(doc.at("info").at("version").as_string() == AISTRACK_PROJECT_VERSION);

  std::map<std::string, std::set<std::string>> documented;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      if (std::find(kMethods.begin(), kMethods.end(), std::string(method)) == kMethods.end()) continue;
      CHECK_MESSAGE(op.as_object().contains("responses"), path << " " << method);
      documented[std::string(path)].insert(upper(std::string(method)));
    }
  }
  std::map<std::string, std::set<std::string>> served;
  for (const RouteInfo& r : test::served_routes()) {
    CHECK_MESSAGE(!served.contains(r.path), "route listed twice: " << r.path);
    served[r.path].insert(r.methods.begin(), r.methods.end());
  }
  for (const auto& [path, methods] : served) {
    CAPTURE(path);
    REQUIRE_MESSAGE(documented.contains(path),
                    "the server answers " << path << " but docs/openapi.json lacks it");
    CHECK(documented.at(path) == methods);
  }
  for (const auto& [path, methods] : documented) {
    CHECK_MESSAGE(served.contains(path),
                  "docs/openapi.json documents " << path << " but no route answers it");
  }
}

TEST_CASE("openapi: every documented operation answers the real server with a documented status") {
  const json::object doc = document();
  test::TempDir dir;
  const int port = test::free_port();
  const std::vector<std::string> env = {
      "HTTP_PORT=" + std::to_string(port), "DB_PATH=" + (dir / "openapi.db").string(),
      "ENV_FILE=", "SOURCE=simulator", "SIM_VESSELS=5", "STORE_BATCH_MS=100",
      // Maps and tiles from the offline basemap only: nothing leaves the machine.
      "MAP_TILE_URL=", "MAP_SEAMARK_URL=", "MAP_TILE_CACHE_DIR=" + (dir / "tiles").string()};
  test::ChildProcess proc({kServer}, env, dir / "server.log");
  REQUIRE_MESSAGE(
      test::wait_for([&] { return test::http_request(port, "GET", "/health").status == 200; }, 20),
      test::slurp(dir / "server.log"));

  // The served document is docs/openapi.json.
  const auto served = test::http_request(port, "GET", "/openapi.json");
  REQUIRE(served.status == 200);
  CHECK(base_type(header_value(served, "content-type")) == "application/json");
  CHECK(json::parse(served.body).as_object() == doc);

  // A simulated vessel with stored fixes stands in for every {mmsi}.
  std::string mmsi;
  REQUIRE(test::wait_for(
      [&] {
        const auto r = test::http_request(port, "GET", "/v1/vessels?limit=1");
        if (r.status != 200) return false;
        const json::value page = json::parse(r.body);
        const auto& v = page.at("vessels").as_array();
        if (v.empty()) return false;
        mmsi = std::to_string(v.at(0).at("mmsi").to_number<std::int64_t>());
        mmsi.insert(0, 9 - mmsi.size(), '0');
        return test::http_request(port, "GET", "/v1/stats/" + mmsi + "?hours=1").body.find("\"points\":0") ==
               std::string::npos;
      },
      20));

  // Routes that change what the server tracks (stopping the simulator, a watch list without it) go
  // last, so the vessel routes are probed with the vessel in memory.
  std::vector<std::pair<std::string, const json::object*>> order;
  for (const auto& [path, item] : doc.at("paths").as_object()) order.emplace_back(path, &item.as_object());
  const auto changes = [](const std::string& p) {
    return p.starts_with("/v1/sim") || p.starts_with("/v1/watchlist");
  };
  std::stable_partition(order.begin(), order.end(), [&](const auto& e) { return !changes(e.first); });

  std::size_t probed = 0;
  for (const auto& [path_template, item_ptr] : order) {
    const json::object& item = *item_ptr;
    std::set<std::string> allow;
    std::string target;
    for (const std::string& method : kMethods) {
      if (!item.contains(method)) continue;
      const json::object& op = item.at(method).as_object();
      allow.insert(upper(method));
      if (method == "get") allow.insert("HEAD");
      // The path with {mmsi} and every other path parameter filled in from its example.
      std::string path(path_template);
      for (const auto& [name, value] : examples(op, "path")) {
        const std::string key = "{" + name + "}";
        path.replace(path.find(key), key.size(), name == "mmsi" ? mmsi : value);
      }
      REQUIRE_MESSAGE(path.find('{') == std::string::npos,
                      path_template << ": a path parameter has no example");
      std::string query;
      for (const auto& [name, value] : examples(op, "query"))
        query += (query.empty() ? "?" : "&") + name + "=" + value;
      std::string body;
      if (op.contains("requestBody")) {
        const auto& content = op.at("requestBody").at("content").as_object();
        if (content.contains("application/json") &&
            content.at("application/json").as_object().contains("example"))
          body = json::serialize(content.at("application/json").at("example"));
      }
      target = path;
      const auto r = test::http_request(port, upper(method), path + query, body, 20.0);
      CAPTURE(upper(method));
      CAPTURE(path + query);
      CAPTURE(r.body.substr(0, 300));
      REQUIRE(r.status != 0);
      const json::object& responses = op.at("responses").as_object();
      const std::string status = std::to_string(r.status);
      REQUIRE_MESSAGE(responses.contains(status), "status " << status << " is not documented");
      ++probed;
      const json::object& documented = responses.at(status).as_object();
      if (!documented.contains("content")) continue;
      const std::string type = base_type(header_value(r, "content-type"));
      bool listed = false;
      for (const auto& [media, schema] : documented.at("content").as_object()) {
        listed = listed || media == "*/*" || base_type(media) == type;
      }
      CHECK_MESSAGE(listed, "content type '" << type << "' is not documented for " << status);
    }
    // A method the document does not list gets 405, and Allow names exactly the documented ones.
    const auto r = test::http_request(port, "PATCH", target);
    CAPTURE(target);
    CHECK(r.status == 405);
    std::set<std::string> allowed;
    std::string list = header_value(r, "allow");
    for (std::size_t start = 0; start <= list.size();) {
      const auto comma = std::min(list.find(',', start), list.size());
      std::string m = list.substr(start, comma - start);
      m.erase(0, m.find_first_not_of(' '));
      if (!m.empty()) allowed.insert(m);
      start = comma + 1;
    }
    CHECK(allowed == allow);
  }
  CHECK(probed >= 20);
  CHECK(proc.wait(0.0) == std::nullopt);  // still running after every probe
}
