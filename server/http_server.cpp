#include "http_server.hpp"

#include "app.hpp"
#include "http_stream.hpp"
#include "log.hpp"
#include "routes.hpp"

#include <sys/resource.h>

#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include <chrono>
#include <csignal>
#include <thread>
#include <vector>

namespace aistrack::server {
namespace {

using WsServer = websocketpp::server<websocketpp::config::asio>;
constexpr auto kTickInterval = std::chrono::milliseconds(100);
constexpr std::size_t kMaxHttpBodyBytes = 64 * 1024;

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
  // Live WebSocket push is a later feature; until then upgrades are refused rather than left open.
  http.set_validate_handler([](websocketpp::connection_hdl) { return false; });

  auto answer = [&api](const Request& req) {
    try {
      return api.handle(req, now_ms());
    } catch (const std::exception& e) {
      log(LogLevel::error, "{} {}: {}", req.method, req.target, e.what());
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
    log(LogLevel::debug, "{} {} → {}", req.method, req.target, res.status);
  };
  // A response with a body stream (the CSV export, issue #10) is written on the raw socket by
  // http_stream.cpp, part by part; websocketpp's response stays deferred and is never sent.
  auto stream = [&](const WsServer::connection_ptr& con, const Request& req, Response res) {
    StreamOptions options;
    options.max_chunk_bytes = config.export_buffer_kb * 1024;
    options.on_error = [target = req.target](std::string_view what) {
      log(LogLevel::error, "GET {}: stream aborted: {}", target, what);
    };
    log(LogLevel::debug, "{} {} → {} (streamed)", req.method, req.target, res.status);
    stream_response(con->get_raw_socket(), con, std::move(res), req.method == "HEAD", slow_pool,
                    std::move(options));
  };
  http.set_http_handler([&](websocketpp::connection_hdl hdl) {
    const auto con = http.get_con_from_hdl(hdl);
    Request req{con->get_request().get_method(), con->get_resource(), con->get_request_body()};
    if (api.is_slow(req) && !con->defer_http_response()) {
      asio::post(slow_pool, [&, con, req = std::move(req)] {
        Response res = answer(req);
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
  app.start_sources();

  // All ingest work runs in this one timer chain, so App::tick never runs concurrently with itself.
  asio::steady_timer timer(io);
  std::function<void()> arm = [&] {
    timer.expires_after(kTickInterval);
    timer.async_wait([&](const std::error_code& wait_ec) {
      if (wait_ec) return;
      try {
        app.tick(now_ms());
      } catch (const std::exception& e) {
        log(LogLevel::error, "ingest: {}", e.what());
      }
      arm();
    });
  };
  arm();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& sig_ec, int sig) {
    if (sig_ec) return;
    log(LogLevel::info, "{} received: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    std::error_code e1;
    http.stop_listening(e1);
    timer.cancel();
    io.stop();
  });

  std::vector<std::thread> threads;
  for (int i = 1; i < config.http_threads; ++i) threads.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  slow_pool.join();
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
