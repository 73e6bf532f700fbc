#include "http_util.hpp"

#include "json_view.hpp"

#include <cctype>
#include <charconv>

namespace aistrack::server {

namespace {
/// Decodes %XX and '+' in a query component; nullopt on a broken escape.
std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      // from_chars alone would take a sign: "%-1" is a broken escape, not byte 0xFF.
      if (std::isxdigit(static_cast<unsigned char>(s[i + 1])) == 0 ||
          std::isxdigit(static_cast<unsigned char>(s[i + 2])) == 0)
        return std::nullopt;
      int v = 0;
      const auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec != std::errc{} || p != s.data() + i + 3) return std::nullopt;
      out += static_cast<char>(v);
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}
}  // namespace

std::optional<Query> parse_query(std::string_view q) {
  Query out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto k = url_decode(part.substr(0, eq));
    auto v = url_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (!k || !v) return std::nullopt;
    out[*k] = *v;
  }
  return out;
}

Response error_response(int status, std::string_view code, std::string_view message) {
  return Response{status, "application/json", error_body(code, message), {}};
}

Response json_response(const boost::json::value& value) {
  return Response{200, "application/json", boost::json::serialize(value), {}};
}

Response method_not_allowed(std::string_view allow) {
  Response r = error_response(405, "method_not_allowed", "this resource only supports " + std::string(allow));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

bool is_read(const Request& request) noexcept { return request.method == "GET" || request.method == "HEAD"; }

std::optional<std::size_t> size_param(const Query& q, const std::string& name, std::size_t fallback,
                                      std::size_t max) {
  const auto it = q.find(name);
  if (it == q.end()) return fallback;
  std::size_t v = 0;
  const auto& s = it->second;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

}  // namespace aistrack::server
