#!/usr/bin/env bash
# Installs every Debian 12 package aistrack needs to build, test and lint.
# Non-interactive and idempotent; any failure stops the script with a message.
#
# --no-install-recommends matters: libasio-dev recommends the unversioned
# libboost-dev (Boost 1.74), which conflicts with libboost-json1.81-dev.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkgconf clang-format git ca-certificates
  # libraries on the design card
  libboost-json1.81-dev libboost1.81-dev libasio-dev libwebsocketpp-dev libssl-dev openssl
  libsqlite3-dev libstb-dev libfmt-dev doctest-dev
  # geodesy (Stats, simulator checks) and command-line tools used by tests
  libgeographiclib-dev sqlite3 curl
  # Stats tests (issue #5): GeodSolve is the independent distance oracle; xmllint and python3
  # (json, csv, xml.etree) parse the exports
  geographiclib-tools libxml2-utils python3
  # NMEA decoding (issue #4): zlib reads the gzipped reference decodes; clang + compiler-rt for the
  # libFuzzer target (scripts/fuzz.sh)
  zlib1g-dev clang libclang-rt-14-dev
  # maps (issue #6): libcurl for the HTTP tile source (aistrack::net)
  libcurl4-openssl-dev
)

if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    echo "install-deps.sh: run as root or install sudo" >&2; exit 1
  fi
else
  SUDO=()
fi

# maps (issue #6): Natural Earth land polygons for the offline basemap come from the npm package
# world-atlas, installed here into a git-ignored folder of the repo; nothing is downloaded at build
# or test time. The server reads third_party/npm/node_modules/world-atlas/land-50m.json (MAP_BASEMAP).
world_atlas_prefix="$(cd "$(dirname "$0")/.." && pwd)/third_party/npm"
install_world_atlas() {
  local pkg="$world_atlas_prefix/node_modules/world-atlas"
  if [[ -f "$pkg/land-50m.json" ]] && grep -q '"version": "2.0.2"' "$pkg/package.json" 2>/dev/null; then
    echo "install-deps.sh: world-atlas 2.0.2 already in third_party/npm"
    return
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-deps.sh: installing nodejs and npm (for world-atlas)"
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends nodejs npm \
      || { echo "install-deps.sh: cannot install npm, needed for world-atlas" >&2; exit 1; }
  fi
  mkdir -p "$world_atlas_prefix"
  npm install --prefix "$world_atlas_prefix" --no-audit --no-fund --loglevel=error world-atlas@2.0.2 \
    || { echo "install-deps.sh: npm install world-atlas@2.0.2 failed (is the npm registry reachable?)" >&2; exit 1; }
  [[ -f "$pkg/land-50m.json" ]] || { echo "install-deps.sh: world-atlas has no land-50m.json" >&2; exit 1; }
  echo "install-deps.sh: world-atlas 2.0.2 installed in third_party/npm"
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  install_world_atlas
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq || { echo "install-deps.sh: apt-get update failed (network or sources.list?)" >&2; exit 1; }
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" \
  || { echo "install-deps.sh: apt-get install failed for: ${missing[*]}" >&2; exit 1; }

if dpkg-query -W -f='${Status}' libboost1.74-dev 2>/dev/null | grep -q 'install ok installed'; then
  echo "install-deps.sh: libboost1.74-dev is installed and hides Boost 1.81; remove it (apt-get remove libboost1.74-dev)" >&2
  exit 1
fi
install_world_atlas
echo "install-deps.sh: done"
