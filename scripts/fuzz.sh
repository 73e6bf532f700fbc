#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang, ASan and UBSan, then runs each named target for
# SECONDS (default 60), one after the other (docs/FUZZING.md):
#   nmea       NMEA sentences, tag blocks, multipart assembly and the AIS decoder (fuzz_nmea.cpp)
#   aisstream  aisstream.io JSON frames → Message → Tracker (fuzz_aisstream.cpp)
#   http       every REST route and the query parser over a real App, and the /v1/live subscribe
#              parser (fuzz_http.cpp, dictionary fuzz/http.dict)
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (no TARGET: all three)
#   AISTRACK_FUZZ_DIR     CMake build directory, corpora and crash inputs (default: build-fuzz)
#   AISTRACK_SHARED_DATA  shared data directory (default: ../shared/data beside the clone)
#   AISTRACK_FUZZ_ARGS    extra libFuzzer flags, e.g. "-jobs=1 -workers=1"
# The build is CMake with -DAISTRACK_FUZZ=ON, which instruments the library and the server core too;
# ninja rebuilds only what changed. Seed corpora are cut at run time from the shared data (nothing
# from it is copied into the repository); without it a few built-in inputs seed the run. The corpus
# each target grows is kept in $AISTRACK_FUZZ_DIR/corpus/TARGET between runs. Every target runs even
# after a finding; the exit status is then non-zero and the input is in $AISTRACK_FUZZ_DIR/crash-TARGET-*.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: scripts/fuzz.sh [SECONDS] [nmea|aisstream|http ...]" >&2; exit 2; }
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || usage
shift || true
targets=("$@")
((${#targets[@]})) || targets=(nmea aisstream http)
for t in "${targets[@]}"; do [[ $t =~ ^(nmea|aisstream|http)$ ]] || usage; done
out=${AISTRACK_FUZZ_DIR:-build-fuzz}
shared=${AISTRACK_SHARED_DATA:-../shared/data}
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/install-deps.sh installs clang)" >&2; exit 1; }

# Debug with -O1: assertions stay on, and -O1 is libFuzzer's usual trade of speed for clear reports.
# Line tables are all a stack trace needs, and full debug info would slow the CI build down.
if [[ ! -f $out/build.ninja ]]; then
  cmake -S . -B "$out" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" -DAISTRACK_FUZZ=ON -DAISTRACK_BUILD_TESTS=OFF \
    -DAISTRACK_BUILD_EXAMPLES=OFF -DAISTRACK_BUILD_BENCH=OFF -DAISTRACK_INSTALL=OFF >/dev/null
fi
build_start=$(date +%s)
cmake --build "$out" -j "${AISTRACK_JOBS:-2}" --target "${targets[@]/#/fuzz_}"
echo "fuzz.sh: build took $(($(date +%s) - build_start)) s"

# Seeds for one target, made fresh in $out/seeds/TARGET.
make_seeds() {
  local t=$1 seeds=$out/seeds/$1 n=0
  rm -rf "$seeds"
  mkdir -p "$seeds"
  case $t in
    nmea)
      # The first 400 lines of every shared NMEA file, in pieces of 20 lines.
      if [[ -d $shared/nmea ]]; then
        while IFS= read -r -d '' f; do
          n=$((n + 1))
          head -n 400 "$f" | split -l 20 -a 3 - "$seeds/f${n}_"
        done < <(find "$shared/nmea" -type f ! -path '*/expected/*' ! -name '*.md' ! -name '*.json' \
                   ! -name 'LICENSE*' ! -name 'LICENSING' -print0)
      else
        echo "fuzz.sh: $shared/nmea not found; using built-in seeds"
      fi
      printf '!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C\n' > "$seeds/type1"
      printf '\\s:rMT1200,t:ais-listener,c:1697012048*78\\!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C\n!AIVDM,2,2,1,A,88888888880,2*25\n' > "$seeds/type5"
      ;;
    aisstream)
      # Every shared frame on its own, and all of them as one input (the Tracker then merges them).
      local jsonl
      jsonl=$(find "$shared/aisstream" -type f -name '*.jsonl' 2>/dev/null | sort || true)
      if [[ -n $jsonl ]]; then
        while IFS= read -r f; do
          n=$((n + 1))
          split -l 1 -a 3 "$f" "$seeds/f${n}_"
          cp "$f" "$seeds/all${n}"
        done <<< "$jsonl"
      else
        echo "fuzz.sh: no $shared/aisstream/*.jsonl; using built-in seeds"
      fi
      printf '%s\n' '{"MetaData":{"MMSI":244700923,"time_utc":"2023-11-14 22:13:10.5 +0000 UTC"},"MessageType":"PositionReport","Message":{"PositionReport":{"MessageID":1,"UserID":244700923,"Valid":true,"Sog":2.2,"Longitude":5.2,"Latitude":52.8,"Cog":140.5,"TrueHeading":511}}}' > "$seeds/position"
      printf '%s\n' '{"MetaData":{"MMSI":244700923},"MessageType":"ShipStaticData","Message":{"ShipStaticData":{"CallSign":"PD1234","Destination":"ROTTERDAM","Dimension":{"A":80,"B":20,"C":5,"D":6},"Eta":{"Day":15,"Hour":8,"Minute":30,"Month":11},"ImoNumber":9890214,"MessageID":5,"Name":"ALIDA","Type":70,"UserID":244700923,"Valid":true}}}' > "$seeds/static"
      printf '%s\n' '{"error":"Api Key Is Not Valid"}' > "$seeds/error"
      printf '%s' '52.0,3.0,53.0,5.0;-10,-20,10,20' > "$seeds/boxes"
      ;;
    http)
      # Byte 0 picks the method: \000 GET, \001 HEAD, \002 POST, \003 PUT, \004 DELETE, \011 live.
      local i=0 s
      for s in '\000/health' '\000/v1/vessels?limit=2&offset=1&bbox=50,0,55,10' '\000/v1/ais/244700923' \
               '\000/v1/ais/244700923/track?hours=3&limit=50' '\000/v1/stats/244700923?hours=3' \
               '\000/v1/stats/244700923?from=2023-11-14T20:00:00Z&to=2023-11-14T22:13:20Z' \
               '\000/v1/map/244700923?width=100&height=80&hours=2&format=png' '\000/v1/tiles/3/4/2.png' \
               '\000/v1/positions/export.csv?since=2023-11-14T20:00:00Z&limit=100&mmsi=244700923' \
               '\000/v1/watchlist' '\003/v1/watchlist\n{"mmsi":[244700923,211000111]}' \
               '\003/v1/watchlist/211000111' '\004/v1/watchlist/211000111' '\000/v1/areas' \
               '\003/v1/areas\n{"areas":[[50,0,55,10]]}' '\000/v1/sim' '\002/v1/sim\n{"running":false}' \
               '\000/' '\000/static/app.js' '\001/v1/vessels' '\000/v1/vessels?limit=%zz' \
               '\011{"type":"subscribe","mmsi":[244700923,"211000111"],"bbox":[[50,0],[55,10]]}'; do
        i=$((i + 1))
        printf '%b' "$s" > "$seeds/s$i"
      done
      ;;
  esac
  echo "fuzz.sh: $t: $(find "$seeds" -type f | wc -l) seed files"
}

status=0
for t in "${targets[@]}"; do
  make_seeds "$t"
  mkdir -p "$out/corpus/$t"
  dict=()
  [[ -f fuzz/$t.dict ]] && dict=(-dict="fuzz/$t.dict")
  echo "fuzz.sh: running fuzz_$t for ${seconds} s"
  # shellcheck disable=SC2086  # AISTRACK_FUZZ_ARGS is a list of flags
  if ! "$out/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/crash-$t-" "${dict[@]}" ${AISTRACK_FUZZ_ARGS:-} \
    "$out/corpus/$t" "$out/seeds/$t"; then
    echo "fuzz.sh: fuzz_$t found a problem; the input is in $out/crash-$t-*" >&2
    status=1
  fi
done
exit $status
