# aistrack-server in a container. Untested here (no Docker on the development machine); checked by
# reading. Build:  docker build -t aistrack .     Run:  docker compose up  (see docker-compose.yaml)
#
# Stage 1 builds on Debian 12 with the same packages scripts/install-deps.sh installs (minus the test
# and browser tools); stage 2 is debian:12-slim with the runtime libraries only.
FROM debian:12 AS build
ARG DEBIAN_FRONTEND=noninteractive
# --no-install-recommends matters: libasio-dev recommends Boost 1.74, which conflicts with Boost.JSON 1.81.
# Versions are not pinned (hadolint DL3008): Debian 12's stable archive only moves for security fixes.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkgconf ca-certificates \
      libboost-json1.81-dev libboost1.81-dev libasio-dev libwebsocketpp-dev libssl-dev \
      libsqlite3-dev libstb-dev libfmt-dev doctest-dev libgeographiclib-dev zlib1g-dev \
      libcurl4-openssl-dev libhiredis-dev nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Leaflet (dashboard) and Natural Earth land (offline basemap), pinned as in scripts/install-deps.sh.
RUN npm install --prefix /opt/npm --save-exact --no-audit --no-fund --loglevel=error \
      world-atlas@2.0.2 leaflet@1.9.4
COPY CMakeLists.txt ./
COPY cmake cmake
COPY include include
COPY src src
COPY server server
COPY docs/openapi.json docs/openapi.json
COPY examples examples
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DAISTRACK_BUILD_TESTS=OFF \
      -DAISTRACK_BUILD_BENCH=OFF -DAISTRACK_BUILD_EXAMPLES=OFF -DAISTRACK_INSTALL=OFF \
 && cmake --build build --target aistrack-server \
 && install -D -m 0755 build/server/aistrack-server /out/usr/local/bin/aistrack-server \
 && mkdir -p /out/usr/share/aistrack/leaflet /out/usr/share/aistrack/world-atlas \
 && cp -r server/web /out/usr/share/aistrack/web \
 && cp -r /opt/npm/node_modules/leaflet/dist/. /out/usr/share/aistrack/leaflet/ \
 && cp /opt/npm/node_modules/world-atlas/land-50m.json /out/usr/share/aistrack/world-atlas/

FROM debian:12-slim
ARG DEBIAN_FRONTEND=noninteractive
# Runtime libraries of the binary (ldd), CA certificates for wss:// and tile downloads, curl for
# the health check.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libboost-json1.81.0 libcurl4 libfmt9 libgeographiclib23 libhiredis0.14 libsqlite3-0 libssl3 zlib1g \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin aistrack \
 && mkdir -p /data && chown aistrack:aistrack /data
COPY --from=build /out/ /
# Every setting can be overridden with -e or an env file (.env.example lists them all).
ENV HTTP_BIND=0.0.0.0 \
    HTTP_PORT=8000 \
    DB_PATH=/data/aistrack.db \
    MAP_TILE_CACHE_DIR=/data/tile-cache \
    MAP_BASEMAP=/usr/share/aistrack/world-atlas/land-50m.json \
    WEB_DIR=/usr/share/aistrack/web \
    WEB_LEAFLET_DIR=/usr/share/aistrack/leaflet \
    ENV_FILE=
USER aistrack
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${HTTP_PORT}/health" >/dev/null || exit 1
# SIGTERM flushes the Store and closes live clients with 1001 before exiting.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/aistrack-server"]
