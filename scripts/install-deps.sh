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
  # metrics (issue #8): the Prometheus project's parser reads /metrics back in the tests
  python3-prometheus-client
  # NMEA decoding (issue #4): zlib reads the gzipped reference decodes; clang + compiler-rt for the
  # libFuzzer target (scripts/fuzz.sh)
  zlib1g-dev clang libclang-rt-14-dev
  # maps (issue #6): libcurl for the HTTP tile source (aistrack::net)
  libcurl4-openssl-dev
  # dashboard (issue #7): the end-to-end test drives Debian's headless Chromium (with playwright-core,
  # below) and runs under node (npm: see install_npm_packages)
  chromium nodejs
  # scale-out (issue #9): the tests start a real PostgreSQL 15 with PostGIS and a real redis-server on
  # 127.0.0.1, reached through libpq and hiredis; the server links hiredis for REDIS_URL
  postgresql-15 postgresql-15-postgis-3 libpq-dev redis-server libhiredis-dev
)

if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    echo "install-deps.sh: run as root or install sudo" >&2; exit 1
  fi
else
  SUDO=()
fi

# npm packages, pinned, installed into a git-ignored folder of the repo; nothing is downloaded at
# build or test time.
#   maps (issue #6): world-atlas, Natural Earth land polygons for the offline basemap; the server reads
#     third_party/npm/node_modules/world-atlas/land-50m.json (MAP_BASEMAP).
#   dashboard (issue #7): leaflet, served at /static/leaflet/ (WEB_LEAFLET_DIR); playwright-core, which
#     drives /usr/bin/chromium in the end-to-end test (it downloads no browser of its own).
npm_prefix="$(cd "$(dirname "$0")/.." && pwd)/third_party/npm"
npm_packages=(world-atlas@2.0.2 leaflet@1.9.4 playwright-core@1.65.1)
install_npm_packages() {
  local wanted=() spec name version
  for spec in "${npm_packages[@]}"; do
    name=${spec%@*}
    version=${spec##*@}
    if grep -q "\"version\": \"$version\"" "$npm_prefix/node_modules/$name/package.json" 2>/dev/null; then
      echo "install-deps.sh: $name $version already in third_party/npm"
    else
      wanted+=("$spec")
    fi
  done
  ((${#wanted[@]} == 0)) && return
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-deps.sh: installing nodejs and npm (for ${wanted[*]})"
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends nodejs npm \
      || { echo "install-deps.sh: cannot install npm, needed for ${wanted[*]}" >&2; exit 1; }
  fi
  mkdir -p "$npm_prefix"
  npm install --prefix "$npm_prefix" --save-exact --no-audit --no-fund --loglevel=error "${wanted[@]}" \
    || { echo "install-deps.sh: npm install ${wanted[*]} failed (is the npm registry reachable?)" >&2; exit 1; }
  [[ -f "$npm_prefix/node_modules/world-atlas/land-50m.json" ]] \
    || { echo "install-deps.sh: world-atlas has no land-50m.json" >&2; exit 1; }
  [[ -f "$npm_prefix/node_modules/leaflet/dist/leaflet.js" ]] \
    || { echo "install-deps.sh: leaflet has no dist/leaflet.js" >&2; exit 1; }
  echo "install-deps.sh: ${wanted[*]} installed in third_party/npm"
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  install_npm_packages
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
install_npm_packages
echo "install-deps.sh: done"
