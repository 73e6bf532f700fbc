#include "tile_server.hpp"

#include "support.hpp"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <stdexcept>

namespace aistrack::test {
namespace {

void append(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

void send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::array<std::uint8_t, 3> base_tile_color(int z, int x, int y) {
  return {static_cast<std::uint8_t>(40 + (x * 53 + z * 7) % 180),
          static_cast<std::uint8_t>(40 + (y * 97 + z * 11) % 180),
          static_cast<std::uint8_t>(60 + (x + y) % 2 * 40)};
}

std::string encode_png(const std::vector<std::uint8_t>& pixels, int width_px, int height_px, int channels) {
  std::string out;
  stbi_write_png_to_func(append, &out, width_px, height_px, channels, pixels.data(), width_px * channels);
  return out;
}

std::string solid_png(std::array<std::uint8_t, 3> rgb) {
  std::vector<std::uint8_t> px(256 * 256 * 4);
  for (std::size_t i = 0; i < px.size(); i += 4) {
    px[i] = rgb[0];
    px[i + 1] = rgb[1];
    px[i + 2] = rgb[2];
    px[i + 3] = 255;
  }
  return encode_png(px, 256, 256, 4);
}

std::string base_tile_png(int z, int x, int y) { return solid_png(base_tile_color(z, x, y)); }

std::string seamark_tile_png() {
  std::vector<std::uint8_t> px(256 * 256 * 4, 0);
  for (int y = kSeamarkFrom; y < kSeamarkTo; ++y) {
    for (int x = kSeamarkFrom; x < kSeamarkTo; ++x) {
      std::uint8_t* p = px.data() + (static_cast<std::size_t>(y) * 256 + x) * 4;
      p[0] = kSeamarkColor[0];
      p[1] = kSeamarkColor[1];
      p[2] = kSeamarkColor[2];
      p[3] = kSeamarkAlpha;
    }
  }
  return encode_png(px, 256, 256, 4);
}

std::optional<Decoded> decode_image(std::string_view bytes, int want_channels) {
  if (bytes.empty() || bytes.size() > static_cast<std::size_t>(INT_MAX)) return std::nullopt;
  Decoded d;
  stbi_uc* px =
      stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()),
                            &d.width_px, &d.height_px, &d.channels_in_file, want_channels);
  if (px == nullptr) return std::nullopt;
  d.channels = want_channels == 0 ? d.channels_in_file : want_channels;
  d.pixels.assign(px, px + static_cast<std::size_t>(d.width_px) * d.height_px * d.channels);
  stbi_image_free(px);
  return d;
}

TileServer::TileServer() : TileServer(Options{}) {}

TileServer::TileServer(Options options) : options_(std::move(options)), mode_(options_.mode) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("TileServer: socket() failed");
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("TileServer: cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TileServer::~TileServer() {
  stop_ = true;
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    const std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
}

std::string TileServer::url(std::string_view layer) const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/" + std::string(layer) + "/{z}/{x}/{y}.png";
}

std::size_t TileServer::requests() const {
  const std::lock_guard lock(mutex_);
  return log_.size();
}

std::vector<TileRequest> TileServer::log() const {
  const std::lock_guard lock(mutex_);
  return log_;
}

void TileServer::accept_loop() {
  while (!stop_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 20) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const std::lock_guard lock(mutex_);
    workers_.emplace_back([this, fd] {
      serve(fd);
      ::close(fd);
    });
  }
}

void TileServer::serve(int fd) {
  std::string request;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16384) {
    if (stop_ || std::chrono::steady_clock::now() > deadline) return;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 20) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    request.append(buf, static_cast<std::size_t>(n));
  }
  // "GET /base/3/1/2.png HTTP/1.1"
  const auto sp1 = request.find(' ');
  const auto sp2 = request.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return;
  TileRequest seen;
  seen.path = request.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string low = lower(request);
  if (const auto ua = low.find("\r\nuser-agent:"); ua != std::string::npos) {
    auto b = ua + 13;
    while (b < request.size() && request[b] == ' ') ++b;
    seen.user_agent = request.substr(b, request.find("\r\n", b) - b);
  }
  {
    const std::lock_guard lock(mutex_);
    log_.push_back(seen);
  }
  for (int waited = 0; waited < options_.delay_ms && !stop_; waited += 10)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (stop_) return;

  int status = 200;
  std::string body;
  int z = 0;
  int x = 0;
  int y = 0;
  char layer[16] = {};
  const bool parsed = std::sscanf(seen.path.c_str(), "/%15[a-z]/%d/%d/%d.png", layer, &z, &x, &y) == 4;
  const Mode mode = mode_.load();
  if (options_.failing_paths.contains(seen.path) || mode == Mode::error) {
    status = 500;
  } else if (mode == Mode::not_found || !parsed) {
    status = 404;
  } else if (std::string_view(layer) == "base") {
    body = base_tile_png(z, x, y);
  } else if (std::string_view(layer) == "seamark") {
    body = seamark_tile_png();
  } else {
    status = 404;
  }
  std::string head = "HTTP/1.1 " + std::to_string(status) +
                     (status == 200   ? " OK"
                      : status == 404 ? " Not Found"
                                      : " Error") +
                     "\r\nContent-Type: " + (status == 200 ? "image/png" : "text/plain") +
                     "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n";
  if (options_.max_age_s) head += "Cache-Control: max-age=" + std::to_string(*options_.max_age_s) + "\r\n";
  if (!options_.expires.empty()) head += "Expires: " + options_.expires + "\r\n";
  send_all(fd, head + "\r\n" + body);
  ::shutdown(fd, SHUT_WR);
}

std::string dead_tile_url() {
  return "http://127.0.0.1:" + std::to_string(free_port()) + "/base/{z}/{x}/{y}.png";
}

}  // namespace aistrack::test
