#include "mock_aisstream.hpp"

#include <boost/json.hpp>

#include <websocketpp/config/asio.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include <asio/steady_timer.hpp>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace aistrack::test {
namespace json = boost::json;

void make_self_signed_cert(const std::string& cert_file, const std::string& key_file) {
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost -keyout '" +
      key_file + "' -out '" + cert_file + "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl could not make a test certificate");
}

namespace {

struct FrameInfo {
  std::string text;
  std::uint64_t mmsi = 0;
  double lat = 0;
  double lon = 0;
};

struct Filter {
  std::vector<std::uint64_t> mmsi;
  std::vector<std::array<double, 4>> boxes;  // lat1, lon1, lat2, lon2
  bool accepts(const FrameInfo& f) const {
    if (!mmsi.empty() && std::find(mmsi.begin(), mmsi.end(), f.mmsi) == mmsi.end()) return false;
    if (boxes.empty()) return true;
    for (const auto& b : boxes) {
      const double lat_lo = std::min(b[0], b[2]), lat_hi = std::max(b[0], b[2]);
      const double lon_lo = std::min(b[1], b[3]), lon_hi = std::max(b[1], b[3]);
      if (f.lat >= lat_lo && f.lat <= lat_hi && f.lon >= lon_lo && f.lon <= lon_hi) return true;
    }
    return false;
  }
};

double number(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_string()) return std::atof(std::string(v.get_string()).c_str());
  throw std::runtime_error("not a number");
}

Filter parse_filter(const json::object& sub) {
  Filter f;
  if (const auto* ids = sub.if_contains("FiltersShipMMSI")) {
    for (const auto& id : ids->as_array()) f.mmsi.push_back(std::stoull(std::string(id.as_string())));
  }
  for (const auto& box : sub.at("BoundingBoxes").as_array()) {
    const auto& b = box.as_array();
    f.boxes.push_back({number(b.at(0).as_array().at(0)), number(b.at(0).as_array().at(1)),
                       number(b.at(1).as_array().at(0)), number(b.at(1).as_array().at(1))});
  }
  return f;
}

using TlsServer = websocketpp::server<websocketpp::config::asio_tls>;
using PlainServer = websocketpp::server<websocketpp::config::asio>;

}  // namespace

struct MockAisstream::Impl {
  MockOptions opt;
  std::vector<FrameInfo> frames;
  asio::io_context io;
  std::optional<TlsServer> tls_server;
  std::optional<PlainServer> plain_server;
  std::thread thread;
  int port = 0;

  mutable std::mutex m;
  MockFault fault = MockFault::none;
  std::size_t fault_after = 0;
  std::string error_text;
  std::vector<std::chrono::steady_clock::time_point> attempts;
  std::vector<MockConnection> connections;
  std::size_t pings = 0;
  std::size_t frames_sent = 0;
  std::size_t subscribe_timeouts = 0;

  [[nodiscard]] websocketpp::frame::opcode::value data_opcode() const {
    return opt.binary ? websocketpp::frame::opcode::binary : websocketpp::frame::opcode::text;
  }

  struct Conn {
    std::size_t index = 0;  // into connections
    bool subscribed = false;
    bool silent = false;
    std::size_t next = 0;  // next frame
    Filter filter;
    std::unique_ptr<asio::steady_timer> timer;
  };
  std::map<websocketpp::connection_hdl, std::shared_ptr<Conn>, std::owner_less<websocketpp::connection_hdl>>
      conns;

  template <class Server>
  void setup(Server& s) {
    s.clear_access_channels(websocketpp::log::alevel::all);
    s.clear_error_channels(websocketpp::log::elevel::all);
    s.init_asio(&io);
    s.set_reuse_addr(true);
    s.set_validate_handler([this, &s](websocketpp::connection_hdl h) {
      std::lock_guard lock(m);
      attempts.push_back(std::chrono::steady_clock::now());
      if (fault == MockFault::http_429) {
        auto con = s.get_con_from_hdl(h);
        con->set_status(static_cast<websocketpp::http::status_code::value>(429));
        con->set_body("local_rate_limited");
        return false;
      }
      return true;
    });
    s.set_ping_handler([this](websocketpp::connection_hdl, std::string) {
      std::lock_guard lock(m);
      ++pings;
      return true;  // answer with a pong
    });
    s.set_open_handler([this, &s](websocketpp::connection_hdl h) {
      auto c = std::make_shared<Conn>();
      {
        std::lock_guard lock(m);
        c->index = connections.size();
        connections.push_back(MockConnection{std::chrono::steady_clock::now(), {}, {}, 0});
      }
      c->timer = std::make_unique<asio::steady_timer>(io);
      conns[h] = c;
      // The real service closes a connection that has not subscribed within 3 s.
      c->timer->expires_after(std::chrono::milliseconds(opt.subscribe_timeout_ms));
      c->timer->async_wait([this, &s, h, c](const std::error_code& ec) {
        if (ec || c->subscribed) return;
        {
          std::lock_guard lock(m);
          ++subscribe_timeouts;
        }
        std::error_code e;
        s.close(h, websocketpp::close::status::policy_violation, "no subscription", e);
      });
    });
    s.set_close_handler([this](websocketpp::connection_hdl h) { forget(h); });
    s.set_fail_handler([this](websocketpp::connection_hdl h) { forget(h); });
    s.set_message_handler([this, &s](websocketpp::connection_hdl h, typename Server::message_ptr msg) {
      const auto it = conns.find(h);
      if (it == conns.end()) return;
      auto c = it->second;
      const std::string text = msg->get_payload();
      {
        std::lock_guard lock(m);
        if (!c->subscribed) connections[c->index].subscription = text;
        connections[c->index].subscriptions.push_back(text);
      }
      if (c->subscribed) {
        // Like the service: a later subscription on the same connection replaces the filter.
        try {
          c->filter = parse_filter(json::parse(text).as_object());
        } catch (const std::exception& ex) {
          std::error_code e;
          s.send(h, json::serialize(json::object{{"error", ex.what()}}), data_opcode(), e);
        }
        return;
      }
      std::error_code e;
      std::string error;
      MockFault f;
      {
        std::lock_guard lock(m);
        f = fault;
        error = error_text;
      }
      try {
        const json::object sub = json::parse(text).as_object();
        if (f == MockFault::error_frame) throw std::runtime_error(error);
        if (!sub.contains("APIKey") || sub.at("APIKey").as_string() != opt.api_key) {
          throw std::runtime_error("Api Key Is Not Valid");
        }
        c->filter = parse_filter(sub);
      } catch (const std::exception& ex) {
        s.send(h, json::serialize(json::object{{"error", ex.what()}}), data_opcode(), e);
        s.close(h, websocketpp::close::status::policy_violation, "error", e);
        return;
      }
      c->subscribed = true;
      c->timer->cancel();
      s.send(h, R"({"MessageType":"SubscriptionConfirmation","Message":{}})", data_opcode(), e);
      schedule(s, h, c);
    });
  }

  void forget(websocketpp::connection_hdl h) {
    const auto it = conns.find(h);
    if (it == conns.end()) return;
    it->second->timer->cancel();
    conns.erase(it);
  }

  template <class Server>
  void schedule(Server& s, websocketpp::connection_hdl h, std::shared_ptr<Conn> c) {
    c->timer->expires_after(std::chrono::milliseconds(opt.frame_interval_ms));
    c->timer->async_wait([this, &s, h, c](const std::error_code& ec) {
      if (ec) return;
      send_some(s, h, c);
    });
  }

  template <class Server>
  void send_some(Server& s, websocketpp::connection_hdl h, std::shared_ptr<Conn> c) {
    if (c->silent || frames.empty()) return;
    const int burst = opt.frame_interval_ms == 0 ? 500 : 1;
    for (int n = 0; n < burst; ++n) {
      MockFault f;
      std::size_t after;
      {
        std::lock_guard lock(m);
        f = fault;
        after = fault_after;
      }
      const std::size_t sent_here = [&] {
        std::lock_guard lock(m);
        return connections[c->index].frames_sent;
      }();
      if ((f == MockFault::abrupt_close || f == MockFault::silence) && sent_here >= after) {
        if (f == MockFault::silence) {
          c->silent = true;
          return;
        }
        // Drop the TCP connection under websocketpp: the client sees 1006, as with the real service.
        // First let websocketpp hand every frame counted as sent to the kernel.
        auto con = s.get_con_from_hdl(h);
        if (con->get_buffered_amount() > 0) {
          schedule(s, h, c);
          return;
        }
        std::error_code ignored;
        con->get_raw_socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        con->get_raw_socket().close(ignored);
        return;
      }
      if (c->next >= frames.size()) {
        if (!opt.loop) return;
        c->next = 0;
      }
      const FrameInfo& fr = frames[c->next++];
      if (!c->filter.accepts(fr)) continue;
      std::error_code e;
      s.send(h, fr.text, data_opcode(), e);
      if (e) return;
      std::lock_guard lock(m);
      ++connections[c->index].frames_sent;
      ++frames_sent;
    }
    if (opt.frame_interval_ms == 0) {
      asio::post(io, [this, &s, h, c] { send_some(s, h, c); });
    } else {
      schedule(s, h, c);
    }
  }
};

MockAisstream::MockAisstream(MockOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& im = *impl_;
  im.opt = std::move(options);
  for (auto& text : im.opt.frames) {
    FrameInfo f;
    try {
      const auto meta = json::parse(text).at("MetaData").as_object();
      f.mmsi = static_cast<std::uint64_t>(number(meta.at("MMSI")));
      f.lat = number(meta.at("latitude"));
      f.lon = number(meta.at("longitude"));
    } catch (const std::exception&) {
      // frames without MetaData pass the MMSI/box filters only when there are none
    }
    f.text = std::move(text);
    im.frames.push_back(std::move(f));
  }
  im.opt.frames.clear();
  std::error_code ec;
  const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  if (im.opt.tls) {
    auto& s = im.tls_server.emplace();
    im.setup(s);
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->use_certificate_chain_file(im.opt.cert_file);
    ctx->use_private_key_file(im.opt.key_file, asio::ssl::context::pem);
    s.set_tls_init_handler([ctx](websocketpp::connection_hdl) { return ctx; });
    s.listen(ep, ec);
    if (!ec) s.start_accept(ec);
    im.port = s.get_local_endpoint(ec).port();
  } else {
    auto& s = im.plain_server.emplace();
    im.setup(s);
    s.listen(ep, ec);
    if (!ec) s.start_accept(ec);
    im.port = s.get_local_endpoint(ec).port();
  }
  if (ec) throw std::runtime_error("mock aisstream.io cannot listen: " + ec.message());
  im.thread = std::thread([&im] { im.io.run(); });
}

MockAisstream::~MockAisstream() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int MockAisstream::port() const { return impl_->port; }

std::string MockAisstream::url() const {
  return std::string(impl_->opt.tls ? "wss" : "ws") + "://localhost:" + std::to_string(impl_->port) +
         "/v0/stream";
}

void MockAisstream::set_fault(MockFault fault, std::size_t after_frames, std::string error_text) {
  std::lock_guard lock(impl_->m);
  impl_->fault = fault;
  impl_->fault_after = after_frames;
  impl_->error_text = std::move(error_text);
}

std::vector<std::chrono::steady_clock::time_point> MockAisstream::attempts() const {
  std::lock_guard lock(impl_->m);
  return impl_->attempts;
}

std::vector<MockConnection> MockAisstream::connections() const {
  std::lock_guard lock(impl_->m);
  return impl_->connections;
}

std::size_t MockAisstream::pings() const {
  std::lock_guard lock(impl_->m);
  return impl_->pings;
}

std::size_t MockAisstream::frames_sent() const {
  std::lock_guard lock(impl_->m);
  return impl_->frames_sent;
}

std::size_t MockAisstream::subscribe_timeouts() const {
  std::lock_guard lock(impl_->m);
  return impl_->subscribe_timeouts;
}

}  // namespace aistrack::test
