#include "http_server.hpp"

#include "app.hpp"
#include "auth.hpp"
#include "http_stream.hpp"
#include "json_view.hpp"
#include "leader.hpp"
#include "live_hub.hpp"
#include "log.hpp"
#include "redis_bus.hpp"
#include "routes.hpp"

#include <sys/resource.h>

#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include <fmt/core.h>
#include <asio/executor_work_guard.hpp>

#include <asio/bind_executor.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>
#include <asio/write.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace aistrack::server {
namespace {

using WsServer = websocketpp::server<websocketpp::config::asio>;
constexpr auto kTickInterval = std::chrono::milliseconds(100);
constexpr std::size_t kMaxHttpBodyBytes = 64 * 1024;
constexpr auto kLiveFlushInterval = std::chrono::milliseconds(10);

TimeMs now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// websocketpp's accept loop spins when file descriptors run out (see DEPENDENCIES.md):
// raise the soft limit to the hard one so that takes far more clients.
void raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// A /v1/live WebSocket connection as the hub sees it. websocketpp's send() and close() are
// thread-safe: they queue on the connection and the write happens on a network thread.
class WsSink final : public LiveSink {
 public:
  explicit WsSink(WsServer::connection_ptr con) : con_(std::move(con)) {}
  void send_text(const std::string& text) override {
    // A closing connection refuses sends; its close handler cleans up.
    [[maybe_unused]] const auto ec = con_->send(text, websocketpp::frame::opcode::text);
  }
  [[nodiscard]] std::size_t buffered_bytes() const override { return con_->get_buffered_amount(); }
  void close(std::uint16_t code, const std::string& reason) override {
    std::error_code ignored;
    con_->close(code, reason, ignored);
  }

 private:
  WsServer::connection_ptr con_;
};

std::string_view path_of(std::string_view resource) { return resource.substr(0, resource.find('?')); }

// The request as the router and the access gate see it; the headers the gate needs are copied out.
Request request_of(const WsServer::connection_ptr& con) {
  const auto& r = con->get_request();
  Request req{r.get_method(), con->get_resource(), r.get_body()};
  req.authorization = r.get_header("Authorization");
  req.origin = r.get_header("Origin");
  req.cors_method = r.get_header("Access-Control-Request-Method");
  std::error_code ec;
  const auto peer = con->get_raw_socket().remote_endpoint(ec);
  if (!ec) req.client_address = peer.address().to_string();
  return req;
}

// Limits on the request line and headers (issue #8) that websocketpp does not enforce itself: it
// answers 431 only past 16000 header bytes and 413 past the body limit.
std::optional<Response> over_limit(const WsServer::connection_ptr& con, const ServerConfig& config) {
  const std::string& target = con->get_resource();
  if (target.size() > config.http_max_target_bytes) {
    return error_response(414, "uri_too_long",
                          fmt::format("the request target is {} bytes, at most {} are accepted "
                                      "(HTTP_MAX_TARGET_BYTES)",
                                      target.size(), config.http_max_target_bytes));
  }
  if (const auto qm = target.find('?');
      qm != std::string::npos && target.size() - qm - 1 > config.http_max_query_bytes) {
    return error_response(
        414, "uri_too_long",
        fmt::format("the query string is {} bytes, at most {} are accepted (HTTP_MAX_QUERY_BYTES)",
                    target.size() - qm - 1, config.http_max_query_bytes));
  }
  std::size_t header_bytes = 0;
  for (const auto& [name, value] : con->get_request().get_headers())
    header_bytes += name.size() + value.size() + 4;
  if (header_bytes > config.http_max_header_bytes) {
    return error_response(431, "headers_too_large",
                          fmt::format("the request headers are {} bytes, at most {} are accepted "
                                      "(HTTP_MAX_HEADER_BYTES)",
                                      header_bytes, config.http_max_header_bytes));
  }
  return std::nullopt;
}

}  // namespace

int run_server(const ServerConfig& config) {
  raise_fd_limit();
  // The aisstream.io client gets its own io_context and thread, so reading the socket never
  // waits behind HTTP requests or ingest work (frames are queued and parsed in the tick).
  asio::io_context feed_io;
  auto feed_guard = asio::make_work_guard(feed_io);
  App app(config, now_ms(), &feed_io);
  std::thread feed_thread([&] { feed_io.run(); });
  struct JoinFeed {
    asio::io_context& io;
    std::thread& thread;
    ~JoinFeed() {
      io.stop();
      if (thread.joinable()) thread.join();
    }
  } join_feed{feed_io, feed_thread};
  Api api(app, config);

  asio::io_context io;
  // Slow routes (map rendering) run here so one big request cannot stall the network threads.
  asio::thread_pool slow_pool(2);
  WsServer http;
  http.clear_access_channels(websocketpp::log::alevel::all);
  http.clear_error_channels(websocketpp::log::elevel::all);
  http.set_error_channels(websocketpp::log::elevel::fatal);
  http.init_asio(&io);
  http.set_reuse_addr(true);
  http.set_max_http_body_size(kMaxHttpBodyBytes);
  // Slow or half-sent requests (slowloris): the whole request must arrive within this, else websocketpp
  // closes the connection.
  http.set_open_handshake_timeout(static_cast<long>(config.http_request_timeout_ms));

  // --- access control and network limits (issue #8) ---
  AccessGate gate(access_settings(config));
  std::atomic<std::uint64_t> over_limits{0};  // requests refused with 414/431
  auto connections = std::make_shared<ConnectionLimiter>(config.max_connections_per_address);
  // Written on a connection refused by MAX_CONNECTIONS_PER_ADDRESS before anything is read from it.
  const std::string busy_body = error_body(
      "too_many_connections", "too many open connections from this address (MAX_CONNECTIONS_PER_ADDRESS)");
  http.set_tcp_pre_init_handler([&http, &busy_body, connections](websocketpp::connection_hdl hdl) {
    const auto con = http.get_con_from_hdl(hdl);
    auto& socket = con->get_raw_socket();
    std::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) return;
    const std::string address = peer.address().to_string();
    auto slot = connections->acquire(address);
    if (!slot) {
      // Refused before reading: a short synchronous write to a fresh socket does not block.
      const std::string busy = fmt::format(
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\n"
          "Connection: close\r\nContent-Length: {}\r\n\r\n{}",
          busy_body.size(), busy_body);
      asio::write(socket, asio::buffer(busy), ec);
      socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
      log(LogLevel::debug, "refused a connection from {}: MAX_CONNECTIONS_PER_ADDRESS reached", address);
      return;
    }
    // The slot lives as long as the connection object (a streamed response outlives websocketpp's
    // termination) and is given back at termination at the latest.
    con->set_termination_handler(
        [slot = std::move(slot)](const WsServer::connection_ptr&) mutable { slot.reset(); });
  });
  // Limits first (cheap, no secrets involved), then the gate; nullopt when the request may proceed.
  auto admit = [&](const WsServer::connection_ptr& con, Request& req,
                   std::vector<std::pair<std::string, std::string>>& extra) -> std::optional<Response> {
    if (auto r = over_limit(con, config)) {
      ++over_limits;
      return r;
    }
    AccessDecision d = gate.check(req, now_ms());
    extra = std::move(d.headers);
    req.role = d.role;
    if (d.denied) {
      if (d.denied->status == 429 || d.denied->status == 401)
        log(LogLevel::debug, "{} {} refused for {}: {}", req.method, redact_target(req.target), d.caller,
            d.denied->status);
      return std::move(d.denied);
    }
    return std::nullopt;
  };

  // --- live push (issue #7): /v1/live on the same port ---
  LiveHub hub(LiveLimits{config.live_max_clients, config.live_max_mmsi, config.live_send_buffer_kb * 1024,
                         config.live_queue_max, static_cast<std::int64_t>(config.live_slow_close_s) * 1000},
              [](const VesselState& v) { return boost::json::serialize(vessel_json(v)); });
  std::mutex live_mutex;  // guards live_ids
  std::map<websocketpp::connection_hdl, LiveHub::ClientId, std::owner_less<websocketpp::connection_hdl>>
      live_ids;
  http.set_max_message_size(config.live_max_message_bytes);  // larger client messages: close 1009
  http.set_pong_timeout(static_cast<long>(config.live_pong_timeout_s) * 1000);
  http.set_validate_handler([&](websocketpp::connection_hdl hdl) {
    const auto con = http.get_con_from_hdl(hdl);
    Request req = request_of(con);
    std::vector<std::pair<std::string, std::string>> extra;
    if (auto denied = admit(con, req, extra)) {
      con->set_status(static_cast<websocketpp::http::status_code::value>(denied->status));
      con->replace_header("Content-Type", "application/json");
      for (const auto& [k, v] : denied->headers) con->replace_header(k, v);
      con->set_body(std::move(denied->body));
      return false;
    }
    if (path_of(con->get_resource()) != kLivePath) {
      con->set_status(websocketpp::http::status_code::not_found);
      con->replace_header("Content-Type", "application/json");
      con->set_body(error_body("not_found", "WebSocket upgrades are only accepted on /v1/live"));
      return false;
    }
    if (!hub.has_room()) {
      con->set_status(websocketpp::http::status_code::service_unavailable);
      con->replace_header("Content-Type", "application/json");
      con->replace_header("Retry-After", "30");
      con->set_body(error_body("too_many_clients", fmt::format("the server holds at most {} live clients "
                                                               "(LIVE_MAX_CLIENTS)",
                                                               config.live_max_clients)));
      log(LogLevel::warn, "live: refused a client: LIVE_MAX_CLIENTS={} reached", config.live_max_clients);
      return false;
    }
    return true;
  });
  http.set_open_handler([&](websocketpp::connection_hdl hdl) {
    const auto con = http.get_con_from_hdl(hdl);
    const auto id = hub.add(std::make_shared<WsSink>(con));
    if (!id) {  // lost a race for the last place since validation
      std::error_code ignored;
      con->close(websocketpp::close::status::try_again_later, "too many live clients", ignored);
      return;
    }
    std::lock_guard lock(live_mutex);
    live_ids.emplace(hdl, *id);
  });
  auto forget = [&](websocketpp::connection_hdl hdl) {
    std::optional<LiveHub::ClientId> id;
    {
      std::lock_guard lock(live_mutex);
      if (const auto it = live_ids.find(hdl); it != live_ids.end()) {
        id = it->second;
        live_ids.erase(it);
      }
    }
    if (id) hub.remove(*id);
  };
  http.set_close_handler(forget);
  http.set_fail_handler(forget);
  http.set_message_handler([&](websocketpp::connection_hdl hdl, WsServer::message_ptr msg) {
    std::optional<LiveHub::ClientId> id;
    {
      std::lock_guard lock(live_mutex);
      if (const auto it = live_ids.find(hdl); it != live_ids.end()) id = it->second;
    }
    if (!id) return;
    hub.on_message(
        *id, msg->get_payload(), [&](const auto& visit) { app.for_each_vessel(visit); }, now_ms());
  });
  http.set_pong_timeout_handler([&](websocketpp::connection_hdl hdl, std::string) {
    std::error_code ignored;
    http.close(hdl, websocketpp::close::status::going_away,
               fmt::format("no pong within {} s", config.live_pong_timeout_s), ignored);
  });
  // Several instances on one PostgreSQL database (issue #9): only the elected leader ingests.
  std::unique_ptr<LeaderElection> election;
  const auto leader_json = [&] {
    boost::json::object o{{"role", "standalone"}, {"ingesting", app.ingesting()}};
    if (!election) return o;
    const LeaderStatus st = election->status();
    o["role"] = st.role;
    o["since"] = st.since_ms ? boost::json::value(format_iso8601(*st.since_ms)) : boost::json::value(nullptr);
    o["elected"] = st.elected;
    o["lost"] = st.lost;
    o["takeover_s"] = config.leader_takeover_ms / 1000;
    o["last_error"] = st.last_error.empty() ? boost::json::value(nullptr) : boost::json::value(st.last_error);
    const App::RefreshCounters rc = app.refresh_counters();
    o["refresh"] = boost::json::object{{"full", rc.full},
                                       {"incremental", rc.incremental},
                                       {"vessels_read", rc.vessels_read},
                                       {"merged", rc.merged}};
    return o;
  };
  // --- scale-out (issue #9): live updates across instances through Redis ---
  const RedisBusConfig redis_config = config.redis_url.empty() ? RedisBusConfig{} : redis_bus_config(config);
  std::unique_ptr<RedisBus> redis;
  if (!config.redis_url.empty()) {
    redis = std::make_unique<RedisBus>(
        redis_config,
        [&app](std::vector<VesselState>&& states) { return app.enqueue_remote(std::move(states)); },
        [&app] { app.request_catch_up(); });
    app.set_publish_listener([&redis](const std::vector<VesselState>& changed) { redis->publish(changed); });
  }
  app.set_health_extra([&](boost::json::object& body) {
    write_redis_health(redis.get(), redis_config, body);
    if (redis) {
      const App::RemoteCounters rc = app.remote_counters();
      auto& r = body["redis"].as_object();
      r["merged"] = rc.merged;
      r["catch_ups"] = rc.catch_ups;
      r["caught_up"] = rc.caught_up;
      r["inbox"] = rc.inbox_depth;
    }
    body["leader"] = leader_json();
    const LiveCounters c = hub.counters();
    body["live"] = boost::json::object{{"clients", c.clients},
                                       {"max_clients", config.live_max_clients},
                                       {"updates_in", c.updates_in},
                                       {"messages_sent", c.messages_sent},
                                       {"queued", c.queued},
                                       {"coalesced", c.coalesced},
                                       {"coalesced_before_fan_out", c.updates_coalesced_in},
                                       {"closed_slow", c.closed_slow},
                                       {"refused", c.refused},
                                       {"client_errors", c.client_errors},
                                       {"clients_behind", hub.behind()}};
    const AccessCounters a = gate.counters();
    body["access"] = boost::json::object{
        {"authentication", gate.authenticates()}, {"unauthorized", a.unauthorized},
        {"rate_limited", a.rate_limited},         {"preflights", a.preflights},
        {"over_limits", over_limits.load()},      {"refused_connections", connections->refused()}};
  });
  app.set_metrics_extra([&](MetricsText& out) {
    const LeaderStatus leader = election ? election->status() : LeaderStatus{};
    out.gauge("aistrack_leader", "1 while this instance ingests (the leader, or the only instance)",
              app.ingesting() ? 1.0 : 0.0);
    out.counter("aistrack_leader_elected_total", "times this instance became the leader (DB_URL)",
                leader.elected);
    out.counter("aistrack_leader_lost_total", "times this instance stopped being the leader (DB_URL)",
                leader.lost);
    write_redis_metrics(redis.get(), out);
    const LiveCounters c = hub.counters();
    out.gauge("aistrack_live_clients", "connected /v1/live clients", static_cast<double>(c.clients));
    out.gauge("aistrack_live_clients_max", "LIVE_MAX_CLIENTS", static_cast<double>(config.live_max_clients));
    out.gauge("aistrack_live_clients_behind", "live clients with updates queued",
              static_cast<double>(hub.behind()));
    out.counter("aistrack_live_updates_total", "vessel changes published to the live hub", c.updates_in);
    out.counter("aistrack_live_messages_sent_total", "live update and snapshot messages handed to sockets",
                c.messages_sent);
    out.counter("aistrack_live_queued_total", "live updates queued because a client was behind", c.queued);
    constexpr std::string_view kCoalesced =
        "live updates replaced by a newer one for the same vessel, in a client's "
        "queue or in the hub's inbox before fan-out";
    out.counter("aistrack_live_coalesced_total", kCoalesced, c.coalesced, {{"stage", "queue"}});
    out.counter("aistrack_live_coalesced_total", kCoalesced, c.updates_coalesced_in, {{"stage", "inbox"}});
    out.counter("aistrack_live_closed_slow_total", "live clients closed (1008) for falling behind",
                c.closed_slow);
    out.counter("aistrack_live_refused_total", "live connections refused at LIVE_MAX_CLIENTS", c.refused);
    out.counter("aistrack_live_client_errors_total", "malformed live client messages answered with an error",
                c.client_errors);
  });
  // Fan-out runs on a network thread, never in the ingest tick (see live_hub.hpp).
  app.set_change_listener([&](const std::vector<VesselState>& changed) {
    if (hub.publish(changed)) asio::post(io, [&] { hub.fan_out(now_ms()); });
  });

  auto answer = [&api](const Request& req) {
    try {
      return api.handle(req, now_ms());
    } catch (const std::exception& e) {
      log(LogLevel::error, "{} {}: {}", req.method, redact_target(req.target), e.what());
      return Response{
          500, "application/json", R"({"error":{"code":"internal","message":"internal error"}})", {}};
    }
  };
  auto fill = [](const WsServer::connection_ptr& con, const Request& req, Response res) {
    con->set_status(static_cast<websocketpp::http::status_code::value>(res.status));
    con->replace_header("Content-Type", res.content_type);
    // websocketpp closes the connection after each response but does not say so.
    con->replace_header("Connection", "close");
    con->replace_header("Cache-Control", "no-store");
    for (const auto& [k, v] : res.headers) con->replace_header(k, v);
    con->set_body(req.method == "HEAD" ? std::string() : std::move(res.body));
    log(LogLevel::debug, "{} {} → {}", req.method, redact_target(req.target), res.status);
  };
  // A response with a body stream (the CSV export, issue #10) is written on the raw socket by
  // http_stream.cpp, part by part; websocketpp's response stays deferred and is never sent.
  auto stream = [&](const WsServer::connection_ptr& con, const Request& req, Response res) {
    StreamOptions options;
    options.max_chunk_bytes = config.export_buffer_kb * 1024;
    options.on_error = [target = redact_target(req.target)](std::string_view what) {
      log(LogLevel::error, "GET {}: stream aborted: {}", target, what);
    };
    log(LogLevel::debug, "{} {} → {} (streamed)", req.method, redact_target(req.target), res.status);
    stream_response(con->get_raw_socket(), con, std::move(res), req.method == "HEAD", slow_pool,
                    std::move(options));
  };
  http.set_http_handler([&](websocketpp::connection_hdl hdl) {
    const auto con = http.get_con_from_hdl(hdl);
    Request req = request_of(con);
    std::vector<std::pair<std::string, std::string>> extra;  // CORS headers for whatever is answered
    if (auto denied = admit(con, req, extra)) {
      api.count_refused(req, denied->status);
      fill(con, req, std::move(*denied));
      return;
    }
    if (path_of(req.target) == kLivePath) {
      if (!is_read(req)) {
        fill(con, req, method_not_allowed("GET, HEAD"));
        return;
      }
      fill(con, req,
           error_response(426, "upgrade_required", "/v1/live is a WebSocket endpoint: connect with ws://"));
      con->replace_header("Upgrade", "websocket");
      return;
    }
    if (api.is_slow(req) && !con->defer_http_response()) {
      asio::post(slow_pool, [&, con, req = std::move(req), extra = std::move(extra)] {
        Response res = answer(req);
        res.headers.insert(res.headers.end(), extra.begin(), extra.end());
        // Complete on a network thread: the connection's socket belongs to `io`.
        asio::post(io, [&, con, req, res = std::move(res)]() mutable {
          if (res.stream) {
            stream(con, req, std::move(res));
            return;
          }
          fill(con, req, std::move(res));
          std::error_code ignored;
          con->send_http_response(ignored);
        });
      });
      return;
    }
    Response res = answer(req);
    res.headers.insert(res.headers.end(), extra.begin(), extra.end());
    if (res.stream && !con->defer_http_response()) {
      stream(con, req, std::move(res));
      return;
    }
    fill(con, req, std::move(res));
  });

  std::error_code ec;
  const auto address = asio::ip::make_address(config.http_bind, ec);
  if (ec) {
    log(LogLevel::error, "HTTP_BIND='{}' is not an IP address", config.http_bind);
    return 2;
  }
  http.listen(asio::ip::tcp::endpoint(address, static_cast<unsigned short>(config.http_port)), ec);
  if (ec) {
    log(LogLevel::error, "cannot listen on {}:{}: {} (is another server using the port? set HTTP_PORT)",
        config.http_bind, config.http_port, ec.message());
    return 1;
  }
  http.start_accept(ec);
  if (ec) {
    log(LogLevel::error, "cannot accept on {}:{}: {}", config.http_bind, config.http_port, ec.message());
    return 1;
  }
  log(LogLevel::info, "listening on http://{}:{} (source: {})", config.http_bind, config.http_port,
      app.source_kind());

  // All ingest work runs on this strand (the timer chain plus wake-ups when data arrives), so
  // App::tick never runs concurrently with itself.
  auto ingest = asio::make_strand(io);
  auto run_tick = [&] {
    try {
      app.tick(now_ms());
    } catch (const std::exception& e) {
      log(LogLevel::error, "ingest: {}", e.what());
    }
  };
  std::atomic<bool> wake_pending{false};
  app.set_wake([&] {
    if (!wake_pending.exchange(true)) {
      asio::post(ingest, [&] {
        wake_pending = false;
        run_tick();
      });
    }
  });
  if (config.db_url.empty()) {
    app.start_sources();
  } else {
    app.set_ingesting(false, now_ms());  // until elected
    election = std::make_unique<LeaderElection>(
        config.db_url, app.store().path(), config.leader_takeover_ms,
        [&](bool leader) {
          asio::post(ingest, [&, leader] {
            try {
              app.set_ingesting(leader, now_ms());
              if (leader) {
                app.start_sources();
              } else {
                app.stop_sources();  // aisstream.io allows few connections per key: hand ours back
              }
            } catch (const std::exception& e) {
              log(LogLevel::error, "cannot {} the sources: {}", leader ? "start" : "stop", e.what());
            }
          });
        },
        now_ms);
    election->start();
  }
  if (redis) redis->start();  // after set_wake: received states wake the tick
  asio::steady_timer timer(ingest);
  std::function<void()> arm = [&] {
    timer.expires_after(kTickInterval);
    timer.async_wait(asio::bind_executor(ingest, [&](const std::error_code& wait_ec) {
      if (wait_ec) return;
      run_tick();
      arm();
    }));
  };
  arm();

  // Live clients: queued updates move on as their sockets drain; pings find dead peers.
  asio::steady_timer live_flush(io);
  std::function<void()> arm_flush = [&] {
    live_flush.expires_after(kLiveFlushInterval);
    live_flush.async_wait([&](const std::error_code& wait_ec) {
      if (wait_ec) return;
      if (hub.behind() > 0) hub.flush(now_ms());
      arm_flush();
    });
  };
  arm_flush();
  asio::steady_timer live_ping(io);
  std::function<void()> arm_ping = [&] {
    live_ping.expires_after(std::chrono::seconds(config.live_ping_s));
    live_ping.async_wait([&](const std::error_code& wait_ec) {
      if (wait_ec) return;
      std::vector<websocketpp::connection_hdl> hdls;
      {
        std::lock_guard lock(live_mutex);
        for (const auto& [hdl, id] : live_ids) hdls.push_back(hdl);
      }
      for (const auto& hdl : hdls) {
        std::error_code ignored;
        http.ping(hdl, "", ignored);
      }
      arm_ping();
    });
  };
  arm_ping();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& sig_ec, int sig) {
    if (sig_ec) return;
    log(LogLevel::info, "{} received: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    std::error_code e1;
    http.stop_listening(e1);
    timer.cancel();
    live_flush.cancel();
    live_ping.cancel();
    // Tell live clients we are going (1001) and give the close frames a moment to leave.
    {
      std::lock_guard lock(live_mutex);
      for (const auto& [hdl, id] : live_ids) {
        std::error_code ignored;
        http.close(hdl, websocketpp::close::status::going_away, "server shutting down", ignored);
      }
    }
    auto grace = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(200));
    grace->async_wait([&io, grace](const std::error_code&) { io.stop(); });
  });

  std::vector<std::thread> threads;
  for (int i = 1; i < config.http_threads; ++i) threads.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  slow_pool.join();
  if (redis) redis->stop();
  // Say goodbye to aisstream.io (close frame, going away) before the feed thread ends.
  app.stop_sources();
  asio::steady_timer grace(feed_io, std::chrono::milliseconds(300));
  grace.async_wait([&](const std::error_code&) { feed_guard.reset(); });
  feed_thread.join();

  try {
    app.shutdown();
  } catch (const StoreError& e) {
    log(LogLevel::error, "final flush failed: {}", e.what());
    return 1;
  }
  log(LogLevel::info, "store flushed; bye");
  return 0;
}

}  // namespace aistrack::server
