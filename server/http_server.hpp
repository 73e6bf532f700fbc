// The server's I/O: HTTP on websocketpp with standalone Asio, timers and signals.
#pragma once

#include "config.hpp"

namespace aistrack::server {

/// Runs the server until SIGINT/SIGTERM; returns the process exit status.
/// Throws StoreError when the database cannot be opened.
int run_server(const ServerConfig& config);

}  // namespace aistrack::server
