#!/usr/bin/env bash
# Builds (Release) and runs aistrack-server; extra arguments go to the server (see --help).
# With no settings it runs the built-in simulator, stores into ./aistrack.db and serves
# http://127.0.0.1:8000 (try /v1/vessels, /health).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${AISTRACK_BUILD_DIR:-$root/build-release}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAISTRACK_BUILD_TESTS=OFF \
  -DAISTRACK_BUILD_BENCH=OFF -DAISTRACK_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target aistrack-server -j "$(nproc 2>/dev/null || echo 2)"
exec "$build/server/aistrack-server" "$@"
