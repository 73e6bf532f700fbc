#!/usr/bin/env bash
# Builds aistrack and runs the whole test suite (unit, real-data, integration, consumer).
#   AISTRACK_BUILD_DIR   build directory (default: build)
#   AISTRACK_BUILD_TYPE  CMake build type (default: Release, as scripts/run-server.sh builds)
#   AISTRACK_SANITIZE    e.g. address,undefined for a sanitizer build
#   AISTRACK_CTEST_ARGS  extra ctest arguments (e.g. "-R tracker")
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AISTRACK_BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE="${AISTRACK_BUILD_TYPE:-Release}" \
  -DAISTRACK_SANITIZE="${AISTRACK_SANITIZE:-}"
cmake --build "$build" -j "$jobs"
# shellcheck disable=SC2086
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 600 ${AISTRACK_CTEST_ARGS:-}
