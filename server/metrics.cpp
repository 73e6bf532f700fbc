#include "metrics.hpp"

#include <fmt/format.h>

#include <cmath>

namespace aistrack::server {
namespace {

// The text format spells the special values its own way (Go's ParseFloat reads them).
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// HELP text escapes backslash and newline; a label value also the double quote.
std::string escape_text(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

void append_sample(std::string& out, std::string_view name, const MetricsText::Labels& labels,
                   std::string_view value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out += ',';
      out += labels[i].first;
      out += "=\"";
      out += escape_label_value(labels[i].second);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

// Route templates of the API; a "{…}" segment matches any one non-empty segment, "{…}.png" one that
// ends in ".png", and a trailing "{file}" the rest of the path. The labels are the OpenAPI templates;
// a test checks that every route the modules answer has its own.
constexpr std::string_view kRoutes[] = {
    "/",
    "/index.html",
    "/health",
    "/metrics",
    "/openapi.json",
    "/static/{file}",
    "/v1/vessels",
    "/v1/ais/{mmsi}",
    "/v1/ais/{mmsi}/track",
    "/v1/stats/{mmsi}",
    "/v1/map/{mmsi}",
    "/v1/tiles/{z}/{x}/{y}.png",
    "/v1/watchlist",
    "/v1/watchlist/{mmsi}",
    "/v1/areas",
    "/v1/sim",
    "/v1/sim/start",
    "/v1/sim/stop",
    "/v1/positions/export.csv",
    "/v1/positions",
    "/v1/live",
};

bool segment_matches(std::string_view pattern, std::string_view segment) {
  if (!pattern.starts_with('{')) return pattern == segment;
  const auto close = pattern.find('}');
  const std::string_view suffix = pattern.substr(close + 1);
  return segment.size() > suffix.size() && segment.ends_with(suffix);
}

bool route_matches(std::string_view pattern, std::string_view path) {
  constexpr std::string_view kRest = "{file}";  // /static/leaflet/leaflet.js is one file
  if (pattern == "/" || path == "/") return pattern == path;
  while (!pattern.empty()) {
    if (!pattern.starts_with('/') || !path.starts_with('/')) return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    if (pattern == kRest) return !path.empty();
    const auto p_end = std::min(pattern.find('/'), pattern.size());
    const auto s_end = std::min(path.find('/'), path.size());
    if (!segment_matches(pattern.substr(0, p_end), path.substr(0, s_end))) return false;
    pattern.remove_prefix(p_end);
    path.remove_prefix(s_end);
  }
  return path.empty();
}

// Methods outside the ones the API answers collapse into one label value.
std::string_view method_label(std::string_view method) noexcept {
  for (const std::string_view m : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    if (method == m) return m;
  }
  return "other";
}

}  // namespace

std::string escape_label_value(std::string_view value) { return escape_text(value, true); }

MetricsText::Family& MetricsText::family(std::string_view name, std::string_view type,
                                         std::string_view help) {
  auto it = families_.find(name);
  if (it == families_.end())
    it = families_.emplace(std::string(name), Family{type, std::string(help), {}}).first;
  return it->second;
}

void MetricsText::counter(std::string_view name, std::string_view help, std::uint64_t value,
                          const Labels& labels) {
  append_sample(family(name, "counter", help).samples, name, labels, fmt::format("{}", value));
}

void MetricsText::gauge(std::string_view name, std::string_view help, double value, const Labels& labels) {
  append_sample(family(name, "gauge", help).samples, name, labels, format_value(value));
}

void MetricsText::histogram(std::string_view name, std::string_view help,
                            std::span<const double> upper_bounds, std::span<const std::uint64_t> counts,
                            double sum, const Labels& labels) {
  std::string& out = family(name, "histogram", help).samples;
  const std::string bucket = std::string(name) + "_bucket";
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= upper_bounds.size() && i < counts.size(); ++i) {
    cumulative += counts[i];
    with_le.back().second = i < upper_bounds.size() ? format_value(upper_bounds[i]) : "+Inf";
    append_sample(out, bucket, with_le, fmt::format("{}", cumulative));
  }
  append_sample(out, std::string(name) + "_sum", labels, format_value(sum));
  append_sample(out, std::string(name) + "_count", labels, fmt::format("{}", cumulative));
}

std::string MetricsText::str() const {
  std::string out;
  for (const auto& [name, f] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_text(f.help, false), name, f.type);
    out += f.samples;
  }
  return out;
}

Histogram::Histogram(std::span<const double> upper_bounds)
    : upper_bounds_(upper_bounds), counts_(upper_bounds.size() + 1, 0) {}

void Histogram::observe(double value) noexcept {
  std::size_t bucket = 0;
  while (bucket < upper_bounds_.size() && value > upper_bounds_[bucket]) ++bucket;
  ++counts_[bucket];
  sum_ += value;
}

void Histogram::write(MetricsText& out, std::string_view name, std::string_view help,
                      const MetricsText::Labels& labels) const {
  out.histogram(name, help, upper_bounds_, counts_, sum_, labels);
}

std::uint64_t Histogram::count() const noexcept {
  std::uint64_t n = 0;
  for (const auto c : counts_) n += c;
  return n;
}

std::string_view route_label(std::string_view path) noexcept {
  for (const std::string_view route : kRoutes) {
    if (route_matches(route, path)) return route;
  }
  return "other";
}

void HttpMetrics::record(std::string_view path, std::string_view method, int status, double seconds) {
  const std::string_view route = route_label(path);
  std::lock_guard lock(mutex_);
  ++requests_[{route, method_label(method), status}];
  latency_.try_emplace(route, kBucketsS).first->second.observe(seconds);
}

void HttpMetrics::write(MetricsText& out) const {
  std::lock_guard lock(mutex_);
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out.counter(
        "aistrack_http_requests_total", "HTTP requests answered by the API (WebSocket upgrades aside)", n,
        {{"route", std::string(route)}, {"method", std::string(method)}, {"code", std::to_string(status)}});
  }
  for (const auto& [route, latency] : latency_) {
    latency.write(out, "aistrack_http_request_duration_seconds",
                  "time to build an API response (for streamed exports: until the stream is set up)",
                  {{"route", std::string(route)}});
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) noexcept {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace aistrack::server
