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
)

if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    echo "install-deps.sh: run as root or install sudo" >&2; exit 1
  fi
else
  SUDO=()
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
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
echo "install-deps.sh: done"
