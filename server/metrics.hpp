// Prometheus metrics (issue #8): the text exposition format 0.0.4 written by hand (it is a few lines
// of escaping; a client library would be one more dependency for that), and the HTTP request counters.
// Every label value that can come from outside (feed message types, reject reasons) is escaped, and
// every label set is bounded, so no feed or client can grow /metrics without limit.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace aistrack::server {

/// Content-Type of GET /metrics (Prometheus text format 0.0.4).
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/// Collects samples and renders them as one exposition. Samples of one family may be added in any
/// order; str() groups them under one HELP/TYPE pair. Not thread-safe (build one per scrape).
class MetricsText {
 public:
  /// Label name and value; the value is escaped on output.
  using Labels = std::vector<std::pair<std::string_view, std::string>>;

  /// Adds one sample of counter family `name` (by convention ending in `_total`).
  void counter(std::string_view name, std::string_view help, std::uint64_t value, const Labels& labels = {});
  /// Adds one sample of gauge family `name`.
  void gauge(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  /// Adds one histogram: `counts[i]` observations fell in (upper_bounds[i-1], upper_bounds[i]], the last
  /// entry of `counts` (one more than the bounds) above every bound; `sum` is the sum of observations.
  void histogram(std::string_view name, std::string_view help, std::span<const double> upper_bounds,
                 std::span<const std::uint64_t> counts, double sum, const Labels& labels = {});
  /// The exposition: families in name order, each with its HELP and TYPE lines, ending in a newline.
  [[nodiscard]] std::string str() const;

 private:
  struct Family {
    std::string_view type;
    std::string help;
    std::string samples;
  };
  Family& family(std::string_view name, std::string_view type, std::string_view help);
  std::map<std::string, Family, std::less<>> families_;
};

/// Observations counted in fixed buckets, for MetricsText::histogram. Not thread-safe (guard it).
class Histogram {
 public:
  /// Buckets with these upper bounds (ascending, seconds) plus one above them; `upper_bounds` must outlive
  /// it.
  explicit Histogram(std::span<const double> upper_bounds);
  /// Counts one observation of `value`.
  void observe(double value) noexcept;
  /// Adds the histogram to `out` as family `name`.
  void write(MetricsText& out, std::string_view name, std::string_view help,
             const MetricsText::Labels& labels = {}) const;
  /// Observations so far.
  [[nodiscard]] std::uint64_t count() const noexcept;

 private:
  std::span<const double> upper_bounds_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
};

/// A label value as the text format wants it: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value);

/// The route template of a request path (e.g. "/v1/ais/{mmsi}" for "/v1/ais/244700923"), or "other"
/// for paths no route owns, so the `route` label takes a fixed set of values whatever clients ask.
std::string_view route_label(std::string_view path) noexcept;

/// Requests answered by the API, by route, method and status, with a latency histogram per route.
/// Thread-safe: the HTTP threads record, a scrape reads.
class HttpMetrics {
 public:
  /// Upper bounds of the latency histogram, seconds.
  static constexpr std::array<double, 12> kBucketsS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                       0.1,   0.25,   0.5,   1.0,  2.5,   10.0};
  /// Counts one request to `path` (without query) with `method`, answered with `status` after `seconds`.
  void record(std::string_view path, std::string_view method, int status, double seconds);
  /// Adds aistrack_http_requests_total and aistrack_http_request_duration_seconds to `out`.
  void write(MetricsText& out) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string_view, std::string_view, int>, std::uint64_t> requests_;
  std::map<std::string_view, Histogram> latency_;
};

/// Seconds elapsed since `start` on the steady clock.
double seconds_since(std::chrono::steady_clock::time_point start) noexcept;

}  // namespace aistrack::server
