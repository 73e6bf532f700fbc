#!/usr/bin/env bash
# Builds (Release) and runs aistrack-server; extra arguments go to the server (see --help).
# With no settings it runs the built-in simulator, stores into ./aistrack.db and serves
# http://127.0.0.1:8000 (try /v1/vessels, /health).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# The same build directory and type as scripts/test.sh, so running both builds the library once
# (CI runs both); only the server target is built here.
build=${AISTRACK_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target aistrack-server -j "$(nproc 2>/dev/null || echo 2)"
exec "$build/server/aistrack-server" "$@"
