// Streaming a response body on a raw TCP socket. websocketpp sends an HTTP response as one body
// string, so a large export would sit in memory whole; instead the HTTP layer defers its response and
// hands the socket here. We write the head, then the body in chunks (Transfer-Encoding: chunked),
// producing each chunk off the network threads only once the previous write completed: at most one
// chunk of at most `max_chunk_bytes` is in memory per response (backpressure from the client's TCP
// window). Then the connection is closed (Connection: close, like every other response).
#pragma once

#include "http_util.hpp"

#include <asio/ip/tcp.hpp>
#include <asio/thread_pool.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace aistrack::server {

/// Settings of one streamed response.
struct StreamOptions {
  std::size_t max_chunk_bytes = 256 * 1024;         ///< memory bound of one response body
  std::chrono::milliseconds write_timeout{60'000};  ///< a client that reads nothing this long is dropped
  std::function<void(std::string_view message)> on_error;  ///< told when a body part fails (for the log)
};

/// Sends `response` (status, headers and the parts of response.stream; only the head when
/// `head_only`) on `socket`, then shuts it down and closes it. `keep_alive` (the owner of the
/// socket, e.g. websocketpp's connection) is held until then. Parts are produced on `pool`; socket
/// work runs on the socket's executor. Returns at once.
void stream_response(asio::ip::tcp::socket& socket, std::shared_ptr<void> keep_alive, Response response,
                     bool head_only, asio::thread_pool& pool, StreamOptions options);

/// The status line and headers of a chunked response (exposed for tests).
std::string stream_head(const Response& response);

}  // namespace aistrack::server
