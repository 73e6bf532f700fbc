// HttpTileSource: parallel tile downloads with libcurl's multi interface.
#include <aistrack/net/http_tile_source.hpp>
#include <aistrack/version.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace aistrack::net {
namespace {

std::once_flag g_curl_init;

void init_curl_once() {
  // curl_global_init is not thread-safe in every libcurl build: run it once, before any handle.
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x) == (y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y);
         });
}

struct Transfer {
  std::size_t index = 0;
  CURL* easy = nullptr;
  std::string body;
  std::size_t max_bytes = 0;
  std::optional<std::int64_t> max_age_s;  // Cache-Control max-age (no-cache/no-store: 0)
  std::optional<std::int64_t> expires_s;  // Expires, seconds since the epoch
  bool done = false;
  CURLcode result = CURLE_OK;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * count;
  if (t->body.size() + len > t->max_bytes) return 0;  // abort: CURLE_WRITE_ERROR
  t->body.append(data, len);
  return len;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * count;
  const std::string_view line(data, len);
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect): forget the previous headers
    t->max_age_s.reset();
    t->expires_s.reset();
    return len;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  const auto name = trim(line.substr(0, colon));
  const auto value = trim(line.substr(colon + 1));
  if (iequals(name, "cache-control")) {
    std::size_t pos = 0;
    while (pos <= value.size()) {
      auto end = value.find(',', pos);
      if (end == std::string_view::npos) end = value.size();
      const auto token = trim(value.substr(pos, end - pos));
      if (token.size() > 8 && iequals(token.substr(0, 8), "max-age=")) {
        std::int64_t s = 0;
        const auto digits = token.substr(8);
        const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), s);
        if (ec == std::errc{} && s >= 0) t->max_age_s = s;
      } else if (iequals(token, "no-cache") || iequals(token, "no-store")) {
        t->max_age_s = 0;
      }
      pos = end + 1;
    }
  } else if (iequals(name, "expires")) {
    const std::string text(value);
    const time_t when = curl_getdate(text.c_str(), nullptr);
    if (when != -1) t->expires_s = static_cast<std::int64_t>(when);
  }
  return len;
}

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
    s.replace(pos, what.size(), with);
}

}  // namespace

std::string default_tile_user_agent() {
  return std::string("aistrack/") + kVersion + " (AIS ship tracker map renderer; libcurl)";
}

bool is_valid_tile_url_template(std::string_view url_template) noexcept {
  if (!url_template.starts_with("http://") && !url_template.starts_with("https://")) return false;
  for (const char c : url_template)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return false;
  return url_template.find("{z}") != std::string_view::npos &&
         url_template.find("{x}") != std::string_view::npos &&
         url_template.find("{y}") != std::string_view::npos;
}

struct HttpTileSource::Impl {
  HttpTileSourceConfig config;
  mutable std::mutex mutex;  // guards pool and stats
  std::vector<CURLM*> pool;  // idle multi handles, each with its own connection cache
  HttpTileStats stats;

  ~Impl() {
    for (CURLM* m : pool) curl_multi_cleanup(m);
  }

  CURLM* take() {
    {
      const std::lock_guard lock(mutex);
      if (!pool.empty()) {
        CURLM* m = pool.back();
        pool.pop_back();
        return m;
      }
    }
    CURLM* m = curl_multi_init();
    if (m != nullptr) {
      curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(config.max_connections));
      curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, static_cast<long>(config.max_connections));
    }
    return m;
  }

  void give(CURLM* m) {
    const std::lock_guard lock(mutex);
    pool.push_back(m);
  }
};

HttpTileSource::HttpTileSource(HttpTileSourceConfig config) : impl_(std::make_unique<Impl>()) {
  if (!is_valid_tile_url_template(config.url_template)) {
    throw MapError("tile URL template '" + config.url_template +
                   "' must be an http:// or https:// URL containing {z}, {x} and {y}");
  }
  if (config.user_agent.empty())
    throw MapError("the tile User-Agent must not be empty (OpenStreetMap requires one)");
  config.max_connections = std::max(config.max_connections, 1);
  config.timeout_ms = std::max<std::int64_t>(config.timeout_ms, 1);
  config.connect_timeout_ms = std::max<std::int64_t>(config.connect_timeout_ms, 1);
  impl_->config = std::move(config);
  init_curl_once();
}

HttpTileSource::~HttpTileSource() = default;

std::string HttpTileSource::url_of(const TileId& id) const {
  std::string url = impl_->config.url_template;
  replace_all(url, "{z}", std::to_string(id.z));
  replace_all(url, "{x}", std::to_string(id.x));
  replace_all(url, "{y}", std::to_string(id.y));
  return url;
}

std::vector<Tile> HttpTileSource::fetch(std::span<const TileId> ids, TimeMs now_ms) {
  std::vector<Tile> out(ids.size());
  if (ids.empty()) return out;
  const auto& cfg = impl_->config;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg.timeout_ms);
  CURLM* multi = impl_->take();
  if (multi == nullptr) return out;

  std::vector<Transfer> transfers(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    Transfer& t = transfers[i];
    t.index = i;
    t.max_bytes = cfg.max_tile_bytes;
    t.easy = curl_easy_init();
    if (t.easy == nullptr) {
      t.done = true;
      t.result = CURLE_FAILED_INIT;
      continue;
    }
    const std::string url = url_of(ids[i]);
    curl_easy_setopt(t.easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(t.easy, CURLOPT_USERAGENT, cfg.user_agent.c_str());
    curl_easy_setopt(t.easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(t.easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(t.easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(t.easy, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(t.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t.easy, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg.timeout_ms));
    curl_easy_setopt(t.easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg.connect_timeout_ms));
    curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(t.easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(t.easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(t.easy, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
    curl_multi_add_handle(multi, t.easy);
  }

  const auto drain = [&] {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      if (t != nullptr) {
        t->done = true;
        t->result = msg->data.result;
      }
    }
  };
  for (;;) {
    int running = 0;
    curl_multi_perform(multi, &running);
    drain();
    if (running == 0) break;
    const auto left_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
            .count();
    if (left_ms <= 0) break;  // the rest are missing: one slow tile must not hold up the map
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(std::min<std::int64_t>(left_ms, 100)), nullptr);
  }

  HttpTileStats delta;
  delta.requests = ids.size();
  for (auto& t : transfers) {
    Tile& tile = out[t.index];
    long code = 0;
    if (t.easy != nullptr) curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &code);
    if (t.done && t.result == CURLE_OK &&
        ((code == 200 && !t.body.empty()) || code == 204 || code == 404 || code == 410)) {
      tile.status = code == 200 ? TileStatus::ok : TileStatus::empty;
      if (code == 200) {
        tile.encoded = std::move(t.body);
        ++delta.ok;
      } else {
        ++delta.empty;
      }
      if (t.max_age_s) {
        tile.expires_ms = now_ms + *t.max_age_s * 1000;
      } else if (t.expires_s) {
        tile.expires_ms = *t.expires_s * 1000;
      }
    } else {
      ++delta.failed;
    }
    if (t.easy != nullptr) {
      curl_multi_remove_handle(multi, t.easy);
      curl_easy_cleanup(t.easy);
    }
  }
  impl_->give(multi);
  const std::lock_guard lock(impl_->mutex);
  impl_->stats.requests += delta.requests;
  impl_->stats.ok += delta.ok;
  impl_->stats.empty += delta.empty;
  impl_->stats.failed += delta.failed;
  return out;
}

HttpTileStats HttpTileSource::stats() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

}  // namespace aistrack::net
