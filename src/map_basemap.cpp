// Basemap: Natural Earth land polygons from TopoJSON (npm world-atlas) or GeoJSON.
//
// TopoJSON keeps each shared border once, as an "arc"; polygons list arc indices (~i means arc i
// reversed). With a "transform", arc positions are quantized integers, delta-encoded: each position
// after the first is the difference from the one before, and lon = x·scale[0] + translate[0].
// Arcs of one ring share their end points, so the first point of every arc after the first is dropped.
#include "map_internal.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace aistrack {
namespace json = boost::json;

namespace {

[[noreturn]] void fail(std::string_view what, std::string_view why) {
  throw MapError(std::string(what) + ": " + std::string(why) +
                 " (expected TopoJSON land polygons such as world-atlas's land-50m.json, or a GeoJSON "
                 "FeatureCollection of Polygon/MultiPolygon features)");
}

bool number_of(const json::value& v, double& out) {
  if (!v.is_number()) return false;
  out = v.to_number<double>();
  return std::isfinite(out);
}

bool position_of(const json::value& v, double& a, double& b) {
  const auto* arr = v.if_array();
  return arr != nullptr && arr->size() >= 2 && number_of((*arr)[0], a) && number_of((*arr)[1], b);
}

void add_ring(std::vector<LatLon> points, std::vector<Basemap::Ring>& out) {
  if (points.size() >= 2 && points.front() == points.back()) points.pop_back();
  if (points.size() < 3) return;
  Basemap::Ring ring;
  ring.min_lat_deg = ring.max_lat_deg = points.front().lat_deg;
  ring.min_lon_deg = ring.max_lon_deg = points.front().lon_deg;
  for (auto& p : points) {
    p.lat_deg = std::clamp(p.lat_deg, -90.0, 90.0);
    p.lon_deg = std::clamp(p.lon_deg, -180.0, 180.0);
    ring.min_lat_deg = std::min(ring.min_lat_deg, p.lat_deg);
    ring.max_lat_deg = std::max(ring.max_lat_deg, p.lat_deg);
    ring.min_lon_deg = std::min(ring.min_lon_deg, p.lon_deg);
    ring.max_lon_deg = std::max(ring.max_lon_deg, p.lon_deg);
  }
  ring.points = std::move(points);
  out.push_back(std::move(ring));
}

// ---- TopoJSON ----

struct Topology {
  std::vector<std::vector<LatLon>> arcs;
};

Topology decode_arcs(const json::object& topo, std::string_view what) {
  double sx = 1;
  double sy = 1;
  double tx = 0;
  double ty = 0;
  bool quantized = false;
  if (const auto* t = topo.if_contains("transform"); t != nullptr && t->is_object()) {
    const auto& tr = t->as_object();
    const auto* scale = tr.if_contains("scale");
    const auto* translate = tr.if_contains("translate");
    if (scale == nullptr || translate == nullptr || !position_of(*scale, sx, sy) ||
        !position_of(*translate, tx, ty))
      fail(what, "the TopoJSON transform needs scale and translate pairs");
    quantized = true;
  }
  const auto* arcs = topo.if_contains("arcs");
  if (arcs == nullptr || !arcs->is_array()) fail(what, "a TopoJSON topology without \"arcs\"");
  Topology out;
  out.arcs.reserve(arcs->as_array().size());
  for (const auto& arc : arcs->as_array()) {
    std::vector<LatLon> points;
    const auto* positions = arc.if_array();
    if (positions == nullptr) fail(what, "an arc that is not an array of positions");
    points.reserve(positions->size());
    double x = 0;
    double y = 0;
    for (const auto& pos : *positions) {
      double a = 0;
      double b = 0;
      if (!position_of(pos, a, b)) fail(what, "an arc position that is not [x, y]");
      if (quantized) {
        x += a;  // delta-encoded
        y += b;
        points.push_back(LatLon{y * sy + ty, x * sx + tx});
      } else {
        points.push_back(LatLon{b, a});
      }
    }
    out.arcs.push_back(std::move(points));
  }
  return out;
}

std::vector<LatLon> stitch(const Topology& topo, const json::value& arc_refs, std::string_view what) {
  std::vector<LatLon> ring;
  const auto* refs = arc_refs.if_array();
  if (refs == nullptr) fail(what, "a ring that is not a list of arc indices");
  for (const auto& ref : *refs) {
    if (!ref.is_int64() && !ref.is_uint64()) fail(what, "an arc index that is not an integer");
    const std::int64_t index = ref.to_number<std::int64_t>();
    const bool reversed = index < 0;
    const std::int64_t arc_index = reversed ? ~index : index;
    if (arc_index >= static_cast<std::int64_t>(topo.arcs.size())) fail(what, "an arc index out of range");
    const auto& arc = topo.arcs[static_cast<std::size_t>(arc_index)];
    const std::size_t skip = ring.empty() ? 0 : 1;
    if (reversed) {
      for (auto it = arc.rbegin() + static_cast<std::ptrdiff_t>(std::min(skip, arc.size())); it != arc.rend();
           ++it)
        ring.push_back(*it);
    } else {
      for (std::size_t i = std::min(skip, arc.size()); i < arc.size(); ++i) ring.push_back(arc[i]);
    }
  }
  return ring;
}

void topo_geometry(const Topology& topo, const json::value& g, std::vector<Basemap::Ring>& out,
                   std::string_view what, int depth) {
  const auto* obj = g.if_object();
  if (obj == nullptr || depth > 16) return;
  const auto* type = obj->if_contains("type");
  if (type == nullptr || !type->is_string()) return;
  const auto& t = type->as_string();
  if (t == "GeometryCollection") {
    if (const auto* gs = obj->if_contains("geometries"); gs != nullptr && gs->is_array())
      for (const auto& child : gs->as_array()) topo_geometry(topo, child, out, what, depth + 1);
    return;
  }
  const auto* arcs = obj->if_contains("arcs");
  if (arcs == nullptr || !arcs->is_array()) return;
  if (t == "Polygon") {
    for (const auto& ring : arcs->as_array()) add_ring(stitch(topo, ring, what), out);
  } else if (t == "MultiPolygon") {
    for (const auto& polygon : arcs->as_array()) {
      if (!polygon.is_array()) fail(what, "a MultiPolygon member that is not a list of rings");
      for (const auto& ring : polygon.as_array()) add_ring(stitch(topo, ring, what), out);
    }
  }
}

// ---- GeoJSON ----

std::vector<LatLon> geo_ring(const json::value& coords, std::string_view what) {
  std::vector<LatLon> ring;
  const auto* arr = coords.if_array();
  if (arr == nullptr) fail(what, "a GeoJSON ring that is not an array of positions");
  ring.reserve(arr->size());
  for (const auto& pos : *arr) {
    double lon = 0;
    double lat = 0;
    if (!position_of(pos, lon, lat)) fail(what, "a GeoJSON position that is not [lon, lat]");
    ring.push_back(LatLon{lat, lon});
  }
  return ring;
}

void geo_geometry(const json::value& g, std::vector<Basemap::Ring>& out, std::string_view what, int depth) {
  const auto* obj = g.if_object();
  if (obj == nullptr || depth > 16) return;
  const auto* type = obj->if_contains("type");
  if (type == nullptr || !type->is_string()) return;
  const auto& t = type->as_string();
  if (t == "FeatureCollection") {
    if (const auto* fs = obj->if_contains("features"); fs != nullptr && fs->is_array())
      for (const auto& f : fs->as_array()) geo_geometry(f, out, what, depth + 1);
  } else if (t == "Feature") {
    if (const auto* geom = obj->if_contains("geometry")) geo_geometry(*geom, out, what, depth + 1);
  } else if (t == "GeometryCollection") {
    if (const auto* gs = obj->if_contains("geometries"); gs != nullptr && gs->is_array())
      for (const auto& child : gs->as_array()) geo_geometry(child, out, what, depth + 1);
  } else if (t == "Polygon" || t == "MultiPolygon") {
    const auto* coords = obj->if_contains("coordinates");
    if (coords == nullptr || !coords->is_array()) fail(what, "a polygon without coordinates");
    if (t == "Polygon") {
      for (const auto& ring : coords->as_array()) add_ring(geo_ring(ring, what), out);
    } else {
      for (const auto& polygon : coords->as_array()) {
        if (!polygon.is_array()) fail(what, "a MultiPolygon member that is not a list of rings");
        for (const auto& ring : polygon.as_array()) add_ring(geo_ring(ring, what), out);
      }
    }
  }
}

}  // namespace

Basemap Basemap::parse(std::string_view json_text, std::string_view what) {
  boost::system::error_code ec;
  const json::value doc = json::parse(json_text, ec);
  if (ec) fail(what, "not valid JSON (" + ec.message() + ")");
  const auto* root = doc.if_object();
  if (root == nullptr) fail(what, "the top level is not a JSON object");
  Basemap out;
  const auto* type = root->if_contains("type");
  if (type != nullptr && type->is_string() && type->as_string() == "Topology") {
    const Topology topo = decode_arcs(*root, what);
    const auto* objects = root->if_contains("objects");
    if (objects == nullptr || !objects->is_object()) fail(what, "a TopoJSON topology without \"objects\"");
    for (const auto& kv : objects->as_object()) topo_geometry(topo, kv.value(), out.rings_, what, 0);
  } else {
    geo_geometry(doc, out.rings_, what, 0);
  }
  if (out.rings_.empty()) fail(what, "no polygon with at least 3 points");
  return out;
}

Basemap Basemap::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw MapError("cannot read the basemap file '" + path.string() +
                   "': check the path (scripts/install-deps.sh installs world-atlas into "
                   "third_party/npm/node_modules/world-atlas)");
  }
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return parse(text, path.string());
}

std::size_t Basemap::vertex_count() const noexcept {
  std::size_t n = 0;
  for (const auto& r : rings_) n += r.points.size();
  return n;
}

}  // namespace aistrack
