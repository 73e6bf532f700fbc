// MapRenderer: tiles → RGB canvas → vector overlays → PNG/JPEG. See docs/MAP.md for the
// drawing order, the colours and why each choice was made.
#include "map_internal.hpp"

#include <aistrack/geo.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <numbers>

namespace aistrack {
namespace {

constexpr int kTile = geo::kTileSizePx;
constexpr int kMaxSidePx = 8192;
constexpr int kMaxZoom = 22;
constexpr double kStationaryKn = 0.5;

struct Rgb {
  std::uint8_t r = 0;
  std::uint8_t g = 0;
  std::uint8_t b = 0;
};

// OpenStreetMap Carto's water and land colours, so fallback tiles sit quietly next to real ones.
constexpr Rgb kSea{170, 211, 223};
constexpr Rgb kLand{242, 239, 233};
constexpr Rgb kGraticule{96, 125, 139};
constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kInk{34, 34, 34};
constexpr Rgb kMarkerColor{230, 0, 180};
constexpr Rgb kMarkerGray{0, 0, 0};

Rgb lerp(Rgb a, Rgb b, double t) {
  const auto mix = [t](std::uint8_t x, std::uint8_t y) {
    return static_cast<std::uint8_t>(std::lround(x + (static_cast<double>(y) - x) * t));
  };
  return Rgb{mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

// Track colour by speed: blue (stopped) → green → yellow → orange → red (20 kn and more) in
// colour; dark → mid grey in grayscale (so it stays visible on light map grey). Unknown: grey.
Rgb speed_color(std::optional<double> sog_kn, ColorScheme scheme) {
  if (scheme == ColorScheme::grayscale) {
    if (!sog_kn) return Rgb{90, 90, 90};
    return lerp(Rgb{0, 0, 0}, Rgb{150, 150, 150}, std::clamp(*sog_kn / 20.0, 0.0, 1.0));
  }
  if (!sog_kn) return Rgb{120, 120, 120};
  struct Stop {
    double kn;
    Rgb color;
  };
  static constexpr std::array<Stop, 5> kStops = {{{0, {37, 99, 235}},
                                                  {5, {22, 163, 74}},
                                                  {10, {234, 179, 8}},
                                                  {15, {234, 88, 12}},
                                                  {20, {220, 38, 38}}}};
  const double v = std::clamp(*sog_kn, 0.0, kStops.back().kn);
  for (std::size_t i = 1; i < kStops.size(); ++i) {
    if (v <= kStops[i].kn)
      return lerp(kStops[i - 1].color, kStops[i].color,
                  (v - kStops[i - 1].kn) / (kStops[i].kn - kStops[i - 1].kn));
  }
  return kStops.back().color;
}

class Canvas {
 public:
  Canvas(int w, int h, Rgb fill) : w_(w), h_(h), px_(static_cast<std::size_t>(w) * h * 3) {
    for (std::size_t i = 0; i < px_.size(); i += 3) {
      px_[i] = fill.r;
      px_[i + 1] = fill.g;
      px_[i + 2] = fill.b;
    }
  }
  [[nodiscard]] int width() const noexcept { return w_; }
  [[nodiscard]] int height() const noexcept { return h_; }
  std::uint8_t* row(int y) { return px_.data() + static_cast<std::size_t>(y) * w_ * 3; }
  std::vector<std::uint8_t>& pixels() { return px_; }

  void blend(int x, int y, Rgb c, double alpha) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_ || alpha <= 0) return;
    std::uint8_t* p = row(y) + static_cast<std::size_t>(x) * 3;
    if (alpha >= 1) {
      p[0] = c.r;
      p[1] = c.g;
      p[2] = c.b;
      return;
    }
    p[0] = static_cast<std::uint8_t>(std::lround(p[0] + (c.r - p[0]) * alpha));
    p[1] = static_cast<std::uint8_t>(std::lround(p[1] + (c.g - p[1]) * alpha));
    p[2] = static_cast<std::uint8_t>(std::lround(p[2] + (c.b - p[2]) * alpha));
  }

  void fill_rect(int x0, int y0, int x1, int y1, Rgb c, double alpha) {
    x0 = std::max(x0, 0);
    y0 = std::max(y0, 0);
    x1 = std::min(x1, w_);
    y1 = std::min(y1, h_);
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) blend(x, y, c, alpha);
  }

 private:
  int w_;
  int h_;
  std::vector<std::uint8_t> px_;
};

struct Rect {
  int x0 = 0;
  int y0 = 0;
  int x1 = 0;
  int y1 = 0;  // exclusive
};

Rect clip(Rect r, int w, int h) {
  return Rect{std::max(r.x0, 0), std::max(r.y0, 0), std::min(r.x1, w), std::min(r.y1, h)};
}

// Composites a 256×256 RGBA tile with its top-left corner at (ox, oy).
void composite_tile(Canvas& canvas, const Image& tile, int ox, int oy) {
  const Rect r = clip(Rect{ox, oy, ox + kTile, oy + kTile}, canvas.width(), canvas.height());
  for (int y = r.y0; y < r.y1; ++y) {
    const std::uint8_t* src =
        tile.pixels.data() + (static_cast<std::size_t>(y - oy) * kTile + (r.x0 - ox)) * 4;
    std::uint8_t* dst = canvas.row(y) + static_cast<std::size_t>(r.x0) * 3;
    for (int x = r.x0; x < r.x1; ++x, src += 4, dst += 3) {
      const unsigned a = src[3];
      if (a == 255) {
        dst[0] = src[0];
        dst[1] = src[1];
        dst[2] = src[2];
      } else if (a != 0) {
        for (int c = 0; c < 3; ++c)
          dst[c] = static_cast<std::uint8_t>((src[c] * a + dst[c] * (255 - a) + 127) / 255);
      }
    }
  }
}

// ---- offline basemap ----

struct Edge {
  double x0, y0, x1, y1;  // y0 < y1
};

// Land coverage (0..1) of every pixel in rows [y0, y1), even-odd rule, 4 sub-scanlines per row
// with exact horizontal coverage: anti-aliased enough for a fallback layer.
void rasterize_land(const Basemap& basemap, int zoom, double left, double top, int w, int y0, int y1,
                    std::vector<float>& coverage) {
  const double world = geo::world_size_px(zoom);
  std::vector<Edge> edges;
  std::vector<std::pair<double, double>> projected;
  for (const auto& ring : basemap.rings()) {
    const double ry0 = geo::to_world_px(LatLon{ring.max_lat_deg, 0}, zoom).y - top;
    const double ry1 = geo::to_world_px(LatLon{ring.min_lat_deg, 0}, zoom).y - top;
    if (ry1 < y0 || ry0 > y1) continue;
    const double rx0 = geo::to_world_px(LatLon{0, ring.min_lon_deg}, zoom).x - left;
    const double rx1 = geo::to_world_px(LatLon{0, ring.max_lon_deg}, zoom).x - left;
    projected.clear();
    const int kmin = static_cast<int>(std::floor((0 - rx1) / world));
    const int kmax = static_cast<int>(std::ceil((w - rx0) / world));
    for (int k = kmin; k <= kmax; ++k) {
      const double shift = k * world;
      if (rx1 + shift < 0 || rx0 + shift > w) continue;
      if (projected.empty()) {
        for (const auto& p : ring.points) {
          const auto wp = geo::to_world_px(p, zoom);
          const double x = wp.x - left;
          const double y = wp.y - top;
          // Drop sub-pixel steps: coarse zooms of a detailed file would otherwise cost for nothing.
          if (!projected.empty() && std::abs(x - projected.back().first) < 0.5 &&
              std::abs(y - projected.back().second) < 0.5)
            continue;
          projected.emplace_back(x, y);
        }
      }
      const std::size_t n = projected.size();
      if (n < 3) break;
      for (std::size_t i = 0; i < n; ++i) {
        const auto& a = projected[i];
        const auto& b = projected[(i + 1) % n];
        if (a.second == b.second) continue;
        Edge e = a.second < b.second ? Edge{a.first + shift, a.second, b.first + shift, b.second}
                                     : Edge{b.first + shift, b.second, a.first + shift, a.second};
        if (e.y1 <= y0 || e.y0 >= y1) continue;
        edges.push_back(e);
      }
    }
  }
  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) { return a.y0 < b.y0; });
  std::vector<const Edge*> active;
  std::vector<double> xs;
  std::size_t next = 0;
  constexpr int kSub = 4;
  constexpr float kWeight = 1.0F / kSub;
  for (int y = y0; y < y1; ++y) {
    float* out = coverage.data() + static_cast<std::size_t>(y) * w;
    for (int s = 0; s < kSub; ++s) {
      const double sy = y + (s + 0.5) / kSub;
      while (next < edges.size() && edges[next].y0 <= sy) active.push_back(&edges[next++]);
      std::erase_if(active, [sy](const Edge* e) { return e->y1 <= sy; });
      xs.clear();
      for (const Edge* e : active) {
        if (e->y0 > sy) continue;
        xs.push_back(e->x0 + (sy - e->y0) / (e->y1 - e->y0) * (e->x1 - e->x0));
      }
      std::sort(xs.begin(), xs.end());
      for (std::size_t i = 0; i + 1 < xs.size(); i += 2) {
        const double xa = std::clamp(xs[i], 0.0, static_cast<double>(w));
        const double xb = std::clamp(xs[i + 1], 0.0, static_cast<double>(w));
        if (xb <= xa) continue;
        const int ia = static_cast<int>(xa);
        const int ib = static_cast<int>(xb);
        if (ia == ib) {
          if (ia < w) out[ia] += static_cast<float>(xb - xa) * kWeight;
          continue;
        }
        out[ia] += static_cast<float>(ia + 1 - xa) * kWeight;
        for (int x = ia + 1; x < ib; ++x) out[x] += kWeight;
        if (ib < w) out[ib] += static_cast<float>(xb - ib) * kWeight;
      }
    }
  }
}

// Graticule spacing: the finest of these (degrees) that keeps lines at least 96 px apart.
double graticule_step_deg(int zoom) {
  static constexpr double kSteps[] = {30,        20,        10,        5,         2,        1,
                                      0.5,       0.25,      1.0 / 6,   1.0 / 12,  1.0 / 30, 1.0 / 60,
                                      1.0 / 120, 1.0 / 240, 1.0 / 600, 1.0 / 1200};
  const double px_per_deg = geo::world_size_px(zoom) / 360.0;
  double best = kSteps[0];
  for (const double s : kSteps)
    if (s * px_per_deg >= 96) best = s;
  return best;
}

void draw_basemap(Canvas& canvas, const Basemap* basemap, const std::vector<Rect>& rects, int zoom,
                  double left, double top) {
  const int w = canvas.width();
  int y0 = canvas.height();
  int y1 = 0;
  for (const auto& r : rects) {
    y0 = std::min(y0, r.y0);
    y1 = std::max(y1, r.y1);
  }
  std::vector<float> coverage;
  if (basemap != nullptr && !basemap->rings().empty()) {
    coverage.assign(static_cast<std::size_t>(w) * canvas.height(), 0.0F);
    rasterize_land(*basemap, zoom, left, top, w, y0, y1, coverage);
  }
  for (const auto& r : rects) {
    for (int y = r.y0; y < r.y1; ++y) {
      std::uint8_t* p = canvas.row(y) + static_cast<std::size_t>(r.x0) * 3;
      for (int x = r.x0; x < r.x1; ++x, p += 3) {
        const float c =
            coverage.empty() ? 0.0F : std::clamp(coverage[static_cast<std::size_t>(y) * w + x], 0.0F, 1.0F);
        const Rgb col = c <= 0 ? kSea : (c >= 1 ? kLand : lerp(kSea, kLand, c));
        p[0] = col.r;
        p[1] = col.g;
        p[2] = col.b;
      }
    }
  }
  // Graticule: meridians and parallels every `step` degrees.
  const double step = graticule_step_deg(zoom);
  const LatLon tl = geo::from_world_px(geo::WorldPx{left, std::max(top, 0.0)}, zoom);
  const LatLon br = geo::from_world_px(
      geo::WorldPx{left + w, std::min(top + canvas.height(), geo::world_size_px(zoom))}, zoom);
  constexpr double kAlpha = 0.35;
  for (double lon = std::ceil(tl.lon_deg / step) * step; lon <= br.lon_deg; lon += step) {
    const int x = static_cast<int>(std::floor(geo::to_world_px(LatLon{0, lon}, zoom).x - left));
    for (const auto& r : rects)
      if (x >= r.x0 && x < r.x1)
        for (int y = r.y0; y < r.y1; ++y) canvas.blend(x, y, kGraticule, kAlpha);
  }
  for (double lat = std::ceil(br.lat_deg / step) * step; lat <= tl.lat_deg; lat += step) {
    const int y = static_cast<int>(std::floor(geo::to_world_px(LatLon{lat, 0}, zoom).y - top));
    for (const auto& r : rects)
      if (y >= r.y0 && y < r.y1)
        for (int x = r.x0; x < r.x1; ++x) canvas.blend(x, y, kGraticule, kAlpha);
  }
}

// ---- text ----

int text_scale(int w, int h) { return w >= 1200 && h >= 600 ? 2 : 1; }

void draw_text(Canvas& canvas, std::string_view text, int x, int y_top, int scale, Rgb ink,
               std::optional<Rgb> halo) {
  const auto plot = [&](int px, int py, Rgb c) {
    for (int dy = 0; dy < scale; ++dy)
      for (int dx = 0; dx < scale; ++dx) canvas.blend(px + dx, py + dy, c, 1.0);
  };
  for (int pass = halo ? 0 : 1; pass < 2; ++pass) {
    int cx = x;
    std::size_t pos = 0;
    while (pos < text.size()) {
      const auto& g = detail::glyph_of(detail::next_code_point(text, pos));
      for (int r = 0; r < g.rows; ++r) {
        for (int c = 0; c < g.width; ++c) {
          if (((g.bits[r] >> (g.width - 1 - c)) & 1U) == 0) continue;
          const int px = cx + c * scale;
          const int py = y_top + r * scale;
          if (pass == 0) {
            for (int dy = -1; dy <= 1; ++dy)
              for (int dx = -1; dx <= 1; ++dx) plot(px + dx * scale, py + dy * scale, *halo);
          } else {
            plot(px, py, ink);
          }
        }
      }
      cx += (g.width + 1) * scale;
    }
  }
}

// Greedy word wrap of `text` into lines at most `max_px` wide.
std::vector<std::string> wrap(std::string_view text, int max_px, int scale) {
  std::vector<std::string> lines;
  std::string line;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string word(text.substr(pos, end - pos));
    const std::string candidate = line.empty() ? word : line + " " + word;
    if (!line.empty() && text_width_px(candidate, scale) > max_px) {
      lines.push_back(line);
      line = word;
    } else {
      line = candidate;
    }
    pos = end + 1;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// ---- track and marker ----

struct TrackPoint {
  double x;
  double y;
  std::optional<double> sog_kn;
};

void draw_track(Canvas& canvas, const std::vector<TrackPoint>& pts, ColorScheme scheme, double width_px) {
  if (pts.size() < 2) return;
  const int w = canvas.width();
  const int h = canvas.height();
  const double hw = width_px / 2;
  const double casing_hw = hw + 1.5;
  const double pad = casing_hw + 1;
  // Buffers cover only the track's bounding box (clipped to the image).
  double fx0 = 1e300;
  double fy0 = 1e300;
  double fx1 = -1e300;
  double fy1 = -1e300;
  for (const auto& p : pts) {
    fx0 = std::min(fx0, p.x);
    fy0 = std::min(fy0, p.y);
    fx1 = std::max(fx1, p.x);
    fy1 = std::max(fy1, p.y);
  }
  const int bx0 = static_cast<int>(std::clamp(std::floor(fx0 - pad), 0.0, static_cast<double>(w)));
  const int by0 = static_cast<int>(std::clamp(std::floor(fy0 - pad), 0.0, static_cast<double>(h)));
  const int bx1 = static_cast<int>(std::clamp(std::ceil(fx1 + pad), 0.0, static_cast<double>(w)));
  const int by1 = static_cast<int>(std::clamp(std::ceil(fy1 + pad), 0.0, static_cast<double>(h)));
  if (bx0 >= bx1 || by0 >= by1) return;
  const int bw = bx1 - bx0;
  const std::size_t area = static_cast<std::size_t>(bw) * (by1 - by0);
  // Per pixel: the strongest coverage of any segment, so joints are not blended twice.
  std::vector<std::uint8_t> line_cov(area, 0);
  std::vector<std::uint8_t> casing_cov(area, 0);
  std::vector<Rgb> color(area);
  for (std::size_t i = 1; i < pts.size(); ++i) {
    const auto& a = pts[i - 1];
    const auto& b = pts[i];
    const double sx0 = std::max(std::min(a.x, b.x) - pad, static_cast<double>(bx0));
    const double sy0 = std::max(std::min(a.y, b.y) - pad, static_cast<double>(by0));
    const double sx1 = std::min(std::max(a.x, b.x) + pad, static_cast<double>(bx1));
    const double sy1 = std::min(std::max(a.y, b.y) + pad, static_cast<double>(by1));
    if (sx0 >= sx1 || sy0 >= sy1) continue;
    const Rgb ca = speed_color(a.sog_kn, scheme);
    const Rgb cb = speed_color(b.sog_kn, scheme);
    const int x0 = static_cast<int>(sx0);
    const int y0 = static_cast<int>(sy0);
    const int x1 = static_cast<int>(std::ceil(sx1));
    const int y1 = static_cast<int>(std::ceil(sy1));
    const double dx = b.x - a.x;
    const double dy = b.y - a.y;
    const double len2 = dx * dx + dy * dy;
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) {
        const double px = x + 0.5 - a.x;
        const double py = y + 0.5 - a.y;
        const double t = len2 > 0 ? std::clamp((px * dx + py * dy) / len2, 0.0, 1.0) : 0.0;
        const double ex = px - t * dx;
        const double ey = py - t * dy;
        const double d2 = ex * ex + ey * ey;
        if (d2 >= (casing_hw + 0.5) * (casing_hw + 0.5)) continue;
        const double d = std::sqrt(d2);
        const double cas = std::clamp(casing_hw + 0.5 - d, 0.0, 1.0);
        const std::size_t k = static_cast<std::size_t>(y - by0) * bw + (x - bx0);
        casing_cov[k] = std::max(casing_cov[k], static_cast<std::uint8_t>(cas * 255 + 0.5));
        const auto lc = static_cast<std::uint8_t>(std::clamp(hw + 0.5 - d, 0.0, 1.0) * 255 + 0.5);
        if (lc > line_cov[k]) {
          line_cov[k] = lc;
          color[k] = lerp(ca, cb, t);
        }
      }
    }
  }
  for (int y = by0; y < by1; ++y) {
    for (int x = bx0; x < bx1; ++x) {
      const std::size_t k = static_cast<std::size_t>(y - by0) * bw + (x - bx0);
      if (casing_cov[k] != 0) canvas.blend(x, y, kWhite, 0.7 * casing_cov[k] / 255.0);
      if (line_cov[k] != 0) canvas.blend(x, y, color[k], line_cov[k] / 255.0);
    }
  }
}

struct Vec {
  double x;
  double y;
};

// Anti-aliased filled triangle (4×4 samples per pixel).
void fill_triangle(Canvas& canvas, Vec a, Vec b, Vec c, Rgb color) {
  const auto edge = [](Vec p, Vec q, double x, double y) {
    return (q.x - p.x) * (y - p.y) - (q.y - p.y) * (x - p.x);
  };
  const double area = edge(a, b, c.x, c.y);
  if (area == 0) return;
  const int x0 = std::max(0, static_cast<int>(std::floor(std::min({a.x, b.x, c.x}))));
  const int y0 = std::max(0, static_cast<int>(std::floor(std::min({a.y, b.y, c.y}))));
  const int x1 = std::min(canvas.width(), static_cast<int>(std::ceil(std::max({a.x, b.x, c.x}))) + 1);
  const int y1 = std::min(canvas.height(), static_cast<int>(std::ceil(std::max({a.y, b.y, c.y}))) + 1);
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      int inside = 0;
      for (int sy = 0; sy < 4; ++sy) {
        for (int sx = 0; sx < 4; ++sx) {
          const double px = x + (sx + 0.5) / 4;
          const double py = y + (sy + 0.5) / 4;
          const double e0 = edge(a, b, px, py) * area;
          const double e1 = edge(b, c, px, py) * area;
          const double e2 = edge(c, a, px, py) * area;
          if (e0 >= 0 && e1 >= 0 && e2 >= 0) ++inside;
        }
      }
      if (inside != 0) canvas.blend(x, y, color, inside / 16.0);
    }
  }
}

void fill_circle(Canvas& canvas, Vec c, double r, Rgb color) {
  const int x0 = static_cast<int>(std::floor(c.x - r - 1));
  const int y0 = static_cast<int>(std::floor(c.y - r - 1));
  const int x1 = static_cast<int>(std::ceil(c.x + r + 1));
  const int y1 = static_cast<int>(std::ceil(c.y + r + 1));
  for (int y = y0; y <= y1; ++y) {
    for (int x = x0; x <= x1; ++x) {
      const double d = std::hypot(x + 0.5 - c.x, y + 0.5 - c.y);
      canvas.blend(x, y, color, std::clamp(r + 0.5 - d, 0.0, 1.0));
    }
  }
}

// The vessel: an isosceles triangle whose centroid is the position (so the arrow's centre of
// mass is exactly where the ship is), pointing along `direction_deg`; or a circle.
void draw_marker(Canvas& canvas, Vec at, std::optional<double> direction_deg, double size_px,
                 ColorScheme scheme) {
  const Rgb fill = scheme == ColorScheme::grayscale ? kMarkerGray : kMarkerColor;
  if (!direction_deg) {
    const double r = size_px / 3 + 1;
    fill_circle(canvas, at, r + 1.5, kWhite);
    fill_circle(canvas, at, r, fill);
    return;
  }
  const double th = *direction_deg * std::numbers::pi / 180.0;
  const Vec f{std::sin(th), -std::cos(th)};  // forward, image y grows southwards
  const Vec rt{std::cos(th), std::sin(th)};  // to starboard
  const auto tri = [&](double scale) {
    const double len = size_px * scale;
    const double half_beam = size_px * 0.32 * scale;
    const Vec tip{at.x + f.x * len * 2 / 3, at.y + f.y * len * 2 / 3};
    const Vec back{at.x - f.x * len / 3, at.y - f.y * len / 3};
    return std::array<Vec, 3>{tip, Vec{back.x - rt.x * half_beam, back.y - rt.y * half_beam},
                              Vec{back.x + rt.x * half_beam, back.y + rt.y * half_beam}};
  };
  const auto outer = tri(1 + 4.0 / size_px);
  fill_triangle(canvas, outer[0], outer[1], outer[2], kWhite);
  const auto inner = tri(1);
  fill_triangle(canvas, inner[0], inner[1], inner[2], fill);
}

std::string format_nm(double nm) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g nm", nm);
  return buf;
}

void validate(const MapOptions& o) {
  const auto bad = [](const std::string& what) { throw MapError("MapOptions: " + what); };
  if (o.width_px < 1 || o.width_px > kMaxSidePx || o.height_px < 1 || o.height_px > kMaxSidePx)
    bad("width_px and height_px must be 1.." + std::to_string(kMaxSidePx));
  if (o.zoom && (*o.zoom < 0 || *o.zoom > kMaxZoom)) bad("zoom must be 0.." + std::to_string(kMaxZoom));
  if (o.max_fit_zoom < 0 || o.max_fit_zoom > kMaxZoom)
    bad("max_fit_zoom must be 0.." + std::to_string(kMaxZoom));
  if (o.padding_px < 0) bad("padding_px must not be negative");
  if (o.jpeg_quality < 1 || o.jpeg_quality > 100) bad("jpeg_quality must be 1..100");
  if (!(o.track_width_px > 0 && o.track_width_px <= 50)) bad("track_width_px must be in (0, 50]");
}

bool usable(LatLon p) {
  return std::isfinite(p.lat_deg) && std::isfinite(p.lon_deg) && std::abs(p.lat_deg) <= 90 &&
         std::abs(p.lon_deg) <= 180;
}

}  // namespace

std::string_view to_string(ColorScheme scheme) noexcept {
  return scheme == ColorScheme::grayscale ? "grayscale" : "color";
}
std::string_view to_string(ImageFormat format) noexcept {
  return format == ImageFormat::jpeg ? "jpeg" : "png";
}
std::string_view content_type(ImageFormat format) noexcept {
  return format == ImageFormat::jpeg ? "image/jpeg" : "image/png";
}

std::optional<MapVessel> map_vessel_of(const VesselState& state) {
  if (!state.position) return std::nullopt;
  MapVessel v;
  v.latlon = state.position->latlon;
  v.sog_kn = state.position->sog_kn;
  v.cog_deg = state.position->cog_deg;
  if (state.position->heading_deg) v.heading_deg = *state.position->heading_deg;
  v.name = state.static_data.name.value_or("");
  return v;
}

double scale_bar_nm(double metres_per_px, double max_px) noexcept {
  const double max_nm = metres_per_px * max_px / geo::kMetresPerNm;
  if (!(max_nm > 0) || !std::isfinite(max_nm)) return 0;
  const double base = std::pow(10.0, std::floor(std::log10(max_nm)));
  for (const double m : {5.0, 2.0, 1.0})
    if (m * base <= max_nm * (1 + 1e-9)) return m * base;
  return base;
}

std::string encode_image(const Image& image, ImageFormat format, int jpeg_quality) {
  if (image.width_px < 1 || image.height_px < 1 ||
      (image.channels != 1 && image.channels != 3 && image.channels != 4) ||
      image.pixels.size() != static_cast<std::size_t>(image.width_px) * image.height_px * image.channels)
    throw MapError("encode_image: the image's size, channels and pixel count do not match");
  if (jpeg_quality < 1 || jpeg_quality > 100) throw MapError("encode_image: jpeg_quality must be 1..100");
  std::string out =
      format == ImageFormat::jpeg
          ? detail::encode_jpeg(image.pixels.data(), image.width_px, image.height_px, image.channels,
                                jpeg_quality)
          : detail::encode_png(image.pixels.data(), image.width_px, image.height_px, image.channels);
  if (out.empty()) throw MapError("encode_image: stb_image_write failed");
  return out;
}

Image draw_basemap_tile(const Basemap* basemap, TileId id) {
  constexpr int kMaxTileZoom = 22;
  if (id.z < 0 || id.z > kMaxTileZoom || id.x < 0 || id.y < 0 || id.x >= (1 << id.z) || id.y >= (1 << id.z))
    throw MapError("draw_basemap_tile: no tile " + std::to_string(id.z) + "/" + std::to_string(id.x) + "/" +
                   std::to_string(id.y) + " (z 0..22, x and y 0..2^z-1)");
  Canvas canvas(kTile, kTile, kSea);
  draw_basemap(canvas, basemap, {Rect{0, 0, kTile, kTile}}, id.z, static_cast<double>(id.x) * kTile,
               static_cast<double>(id.y) * kTile);
  Image out;
  out.width_px = kTile;
  out.height_px = kTile;
  out.channels = 3;
  out.pixels = std::move(canvas.pixels());
  return out;
}

MapRenderer::MapRenderer(std::shared_ptr<TileSource> base, std::shared_ptr<TileSource> seamark,
                         std::shared_ptr<const Basemap> basemap)
    : base_(std::move(base)), seamark_(std::move(seamark)), basemap_(std::move(basemap)) {}

MapRaster MapRenderer::draw(const MapVessel& vessel, std::span<const PositionFix> track,
                            const MapOptions& options, TimeMs now_ms) const {
  validate(options);
  if (!usable(vessel.latlon))
    throw MapError("MapRenderer::draw: the vessel's position is not a valid lat/lon");
  const int w = options.width_px;
  const int h = options.height_px;

  // Track points with longitudes unwrapped around the vessel, so a track across 180° stays continuous.
  struct Geo {
    LatLon p;
    std::optional<double> sog_kn;
  };
  std::vector<Geo> geo_pts;
  geo_pts.reserve(track.size() + 1);
  {
    double ref = vessel.latlon.lon_deg;
    for (auto it = track.rbegin(); it != track.rend(); ++it) {
      if (!usable(it->latlon)) continue;
      double lon = it->latlon.lon_deg;
      while (lon - ref > 180) lon -= 360;
      while (lon - ref < -180) lon += 360;
      ref = lon;
      geo_pts.push_back(Geo{LatLon{it->latlon.lat_deg, lon}, it->sog_kn});
    }
    std::reverse(geo_pts.begin(), geo_pts.end());
    if (geo_pts.empty() || geo_pts.back().p != vessel.latlon)
      geo_pts.push_back(Geo{vessel.latlon, vessel.sog_kn});
  }

  // Zoom and centre.
  int zoom = 0;
  geo::WorldPx centre;
  if (options.zoom) {
    zoom = *options.zoom;
    centre = geo::to_world_px(vessel.latlon, zoom);
  } else {
    double min_x = 1e300;
    double min_y = 1e300;
    double max_x = -1e300;
    double max_y = -1e300;
    for (const auto& g : geo_pts) {
      const auto p = geo::to_world_px(g.p, 0);
      min_x = std::min(min_x, p.x);
      min_y = std::min(min_y, p.y);
      max_x = std::max(max_x, p.x);
      max_y = std::max(max_y, p.y);
    }
    const double avail_w = std::max(1, w - 2 * options.padding_px);
    const double avail_h = std::max(1, h - 2 * options.padding_px);
    for (zoom = options.max_fit_zoom; zoom > 0; --zoom) {
      const double s = std::ldexp(1.0, zoom);
      if ((max_x - min_x) * s <= avail_w && (max_y - min_y) * s <= avail_h) break;
    }
    const double s = std::ldexp(1.0, zoom);
    centre = geo::WorldPx{(min_x + max_x) / 2 * s, (min_y + max_y) / 2 * s};
  }
  const double left = std::floor(centre.x - w / 2.0);
  const double top = std::floor(centre.y - h / 2.0);
  const std::int64_t n = std::int64_t{1} << zoom;

  MapRaster out;
  out.zoom = zoom;
  out.left_world_px = left;
  out.top_world_px = top;

  // Tiles covering the image; x wraps around the world, y outside it has no tile.
  struct Placement {
    std::size_t index;
    int ox;
    int oy;
  };
  std::vector<TileId> ids;
  std::vector<Placement> placements;
  {
    std::map<TileId, std::size_t> index_of;
    const auto tx0 = static_cast<std::int64_t>(std::floor(left / kTile));
    const auto tx1 = static_cast<std::int64_t>(std::floor((left + w - 1) / kTile));
    const auto ty0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(top / kTile)));
    const auto ty1 =
        std::min<std::int64_t>(n - 1, static_cast<std::int64_t>(std::floor((top + h - 1) / kTile)));
    for (std::int64_t ty = ty0; ty <= ty1; ++ty) {
      for (std::int64_t tx = tx0; tx <= tx1; ++tx) {
        const TileId id{zoom, static_cast<int>(((tx % n) + n) % n), static_cast<int>(ty)};
        const auto [it, added] = index_of.emplace(id, ids.size());
        if (added) ids.push_back(id);
        placements.push_back(Placement{it->second,
                                       static_cast<int>(tx * kTile - static_cast<std::int64_t>(left)),
                                       static_cast<int>(ty * kTile - static_cast<std::int64_t>(top))});
      }
    }
  }

  const auto images_of = [&](const std::shared_ptr<TileSource>& source, bool empty_is_missing) {
    std::vector<std::shared_ptr<const Image>> images(ids.size());
    if (!source || ids.empty()) return images;
    auto tiles = source->fetch(ids, now_ms);
    out.tiles += static_cast<int>(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i >= tiles.size() || tiles[i].status == TileStatus::missing) {
        ++out.tiles_missing;
        continue;
      }
      const Tile& t = tiles[i];
      if (t.status == TileStatus::empty) {
        if (empty_is_missing) ++out.tiles_missing;
        continue;
      }
      if (t.image && t.image->width_px == kTile && t.image->height_px == kTile && t.image->channels == 4) {
        images[i] = t.image;
      } else if (auto decoded = decode_tile(t.encoded)) {
        images[i] = std::make_shared<const Image>(std::move(*decoded));
      } else {
        ++out.tiles_missing;
      }
    }
    return images;
  };

  Canvas canvas(w, h, kSea);
  // Base layer; missing tiles (and the whole map without a base source) come from the basemap.
  {
    const auto images = images_of(base_, true);
    std::vector<Rect> fallback;
    for (const auto& pl : placements) {
      if (images[pl.index]) {
        composite_tile(canvas, *images[pl.index], pl.ox, pl.oy);
      } else {
        const Rect r = clip(Rect{pl.ox, pl.oy, pl.ox + kTile, pl.oy + kTile}, w, h);
        if (r.x0 < r.x1 && r.y0 < r.y1) fallback.push_back(r);
      }
    }
    if (!fallback.empty()) draw_basemap(canvas, basemap_.get(), fallback, zoom, left, top);
  }
  // Seamarks over it, with their alpha.
  if (seamark_) {
    const auto images = images_of(seamark_, false);
    for (const auto& pl : placements)
      if (images[pl.index]) composite_tile(canvas, *images[pl.index], pl.ox, pl.oy);
  }

  // Track: image coordinates, sub-pixel steps dropped (the newest point is always kept).
  std::vector<TrackPoint> pts;
  pts.reserve(geo_pts.size());
  for (std::size_t i = 0; i < geo_pts.size(); ++i) {
    const auto p = geo::to_world_px(geo_pts[i].p, zoom);
    const TrackPoint tp{p.x - left, p.y - top, geo_pts[i].sog_kn};
    if (!pts.empty() && i + 1 < geo_pts.size() && std::hypot(tp.x - pts.back().x, tp.y - pts.back().y) < 1.0)
      continue;
    pts.push_back(tp);
  }
  out.track_points = pts.size();
  draw_track(canvas, pts, options.scheme, options.track_width_px);

  // Vessel.
  const auto vp = geo::to_world_px(vessel.latlon, zoom);
  const Vec at{vp.x - left, vp.y - top};
  std::optional<double> direction = vessel.heading_deg ? vessel.heading_deg : vessel.cog_deg;
  if (vessel.sog_kn && *vessel.sog_kn < kStationaryKn) direction.reset();
  const double marker_px = std::clamp(std::min(w, h) / 14.0, 10.0, 26.0);
  draw_marker(canvas, at, direction, marker_px, options.scheme);

  const int scale = text_scale(w, h);
  if (options.draw_name && !vessel.name.empty()) {
    const int tw = text_width_px(vessel.name, scale);
    int tx = static_cast<int>(std::lround(at.x + marker_px / 2 + 4));
    if (tx + tw > w - 2) tx = static_cast<int>(std::lround(at.x - marker_px / 2 - 4)) - tw;
    const int ty = static_cast<int>(std::lround(at.y - marker_px / 2 - 7 * scale));
    draw_text(canvas, vessel.name, tx, ty, scale, kInk, kWhite);
  }

  // Attribution, bottom right, wrapped to the width: on every map, however small.
  const int line_h = detail::kFontLineHeightPx * scale;
  const auto lines = wrap(MapRenderer::kAttribution, w - 6, scale);
  int attr_w = 0;
  for (const auto& l : lines) attr_w = std::max(attr_w, text_width_px(l, scale));
  const int attr_h = static_cast<int>(lines.size()) * line_h + 2;
  const int ax0 = w - attr_w - 5;
  const int ay0 = h - attr_h - 1;
  canvas.fill_rect(ax0 - 1, ay0, w, h, kWhite, 0.75);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const int lw = text_width_px(lines[i], scale);
    draw_text(canvas, lines[i], w - lw - 3, ay0 + 2 + static_cast<int>(i) * line_h, scale, kInk,
              std::nullopt);
  }

  // Scale bar in nautical miles, bottom left (above the attribution when they would overlap).
  {
    const double mpp = geo::metres_per_px(
        geo::from_world_px(geo::WorldPx{left + w / 2.0, top + h / 2.0}, zoom).lat_deg, zoom);
    const double max_px = std::min(w * 0.3, 160.0 * scale);
    const double nm = scale_bar_nm(mpp, max_px);
    if (nm > 0 && std::isfinite(mpp)) {
      const int bar_px = std::max(1, static_cast<int>(std::lround(nm * geo::kMetresPerNm / mpp)));
      const std::string label = format_nm(nm);
      const int box_w = std::max(bar_px, text_width_px(label, scale)) + 8;
      const int box_h = line_h + 6 * scale + 2;
      int by1 = h - 1;
      if (box_w + 2 > ax0 - 2) by1 = ay0 - 1;  // no room beside the attribution
      const int bx0 = 2;
      const int by0 = by1 - box_h;
      canvas.fill_rect(bx0, by0, bx0 + box_w, by1, kWhite, 0.75);
      draw_text(canvas, label, bx0 + 4, by0 + 2, scale, kInk, std::nullopt);
      const int bar_y = by1 - 3 * scale;
      canvas.fill_rect(bx0 + 4, bar_y, bx0 + 4 + bar_px, bar_y + scale + 1, kInk, 1.0);
      canvas.fill_rect(bx0 + 4, bar_y - 3 * scale, bx0 + 5 + scale / 2, bar_y, kInk, 1.0);
      canvas.fill_rect(bx0 + 3 + bar_px, bar_y - 3 * scale, bx0 + 4 + bar_px + scale / 2, bar_y, kInk, 1.0);
    }
  }

  out.image.width_px = w;
  out.image.height_px = h;
  if (options.scheme == ColorScheme::grayscale) {
    out.image.channels = 1;
    out.image.pixels.resize(static_cast<std::size_t>(w) * h);
    const auto& px = canvas.pixels();
    for (std::size_t i = 0, j = 0; i < out.image.pixels.size(); ++i, j += 3)
      out.image.pixels[i] =
          static_cast<std::uint8_t>((77U * px[j] + 150U * px[j + 1] + 29U * px[j + 2] + 128U) >> 8);
  } else {
    out.image.channels = 3;
    out.image.pixels = std::move(canvas.pixels());
  }
  return out;
}

MapImage MapRenderer::render(const MapVessel& vessel, std::span<const PositionFix> track,
                             const MapOptions& options, TimeMs now_ms) const {
  MapRaster raster = draw(vessel, track, options, now_ms);
  MapImage out;
  out.bytes = encode_image(raster.image, options.format, options.jpeg_quality);
  out.content_type = content_type(options.format);
  out.width_px = raster.image.width_px;
  out.height_px = raster.image.height_px;
  out.zoom = raster.zoom;
  out.tiles = raster.tiles;
  out.tiles_missing = raster.tiles_missing;
  return out;
}

}  // namespace aistrack
