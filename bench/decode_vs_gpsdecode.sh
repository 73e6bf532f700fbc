#!/usr/bin/env bash
# Whole-process comparison of aistrack-decode with gpsd's gpsdecode -j on the same large file, in the
# same run (issue 4: target at least 10x gpsdecode's rate). The file is every NMEA file of the shared
# data concatenated TIMES times (default 20); a second file keeps only its AIS sentence lines.
# Each program reads the file on stdin and writes its JSON to /dev/null; the best of ROUNDS runs
# (default 3, alternating the two programs) is reported, wall time and CPU time (user + system).
#
#   bench/decode_vs_gpsdecode.sh [TIMES] [ROUNDS]
#   AISTRACK_DECODE   aistrack-decode binary (default: build/examples/aistrack-decode; use a
#                     RelWithDebInfo or Release build)
#   GPSDECODE         gpsdecode binary (default: gpsdecode on PATH). Debian: apt-get install gpsd-clients,
#                     or, when apt refuses: apt-get download gpsd-clients libgps28 libusb-1.0-0 libbluetooth3
#                     && for d in *.deb; do dpkg -x "$d" /tmp/gpsd; done, then
#                     GPSDECODE=/tmp/gpsd/usr/bin/gpsdecode LD_LIBRARY_PATH=/tmp/gpsd/usr/lib/x86_64-linux-gnu
#   AISTRACK_SHARED_DATA  shared data directory (default: ../shared/data beside the clone)
set -euo pipefail
cd "$(dirname "$0")/.."
times=${1:-20}
rounds=${2:-3}
decode=${AISTRACK_DECODE:-build/examples/aistrack-decode}
gpsdecode=${GPSDECODE:-$(command -v gpsdecode || true)}
shared=${AISTRACK_SHARED_DATA:-../shared/data}

[[ -x $decode ]] || { echo "decode_vs_gpsdecode.sh: $decode not found (build it, or set AISTRACK_DECODE)" >&2; exit 1; }
[[ -n $gpsdecode && -x $gpsdecode ]] || { echo "decode_vs_gpsdecode.sh: gpsdecode not found (see the comment at the top)" >&2; exit 1; }
[[ -d $shared/nmea ]] || { echo "decode_vs_gpsdecode.sh: $shared/nmea not found (set AISTRACK_SHARED_DATA)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/aistrack-decode-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mapfile -d '' files < <(find "$shared/nmea" -type f ! -path '*/expected/*' ! -name '*.md' ! -name '*.json' \
                          ! -name 'LICENSE*' ! -name 'LICENSING' -print0 | sort -z)
for ((i = 0; i < times; i++)); do cat "${files[@]}"; done > "$work/all.nmea"
grep -a 'VD[MO]' "$work/all.nmea" > "$work/ais.nmea" || true

measure() {  # "wall cpu" seconds of one run of: $@ < input > /dev/null (cpu = user + system)
  local input=$1
  shift
  local TIMEFORMAT='%R %U %S'
  { time "$@" < "$input" > /dev/null 2> /dev/null; } 2>&1 | awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }'
}
min() { echo "$1 $2" | awk '{ print ($1 < $2) ? $1 : $2 }'; }
div() { echo "$1 $2" | awk '{ printf "%.1f", ($2 > 0) ? $1 / $2 : 0 }'; }

echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $("$gpsdecode" -V 2>&1 | head -1)"
echo "best of $rounds alternating runs; wall = elapsed, cpu = user + system of the whole process"
printf '%-20s %7s %9s %9s | %8s %8s %6s | %8s %8s %6s\n' file MB lines messages \
  "wall us" "wall gps" ratio "cpu us" "cpu gps" ratio
for name in all ais; do
  f="$work/$name.nmea"
  mb=$(stat -c %s "$f" | awk '{ printf "%.1f", $1 / 1e6 }')
  lines=$(wc -l < "$f")
  objects=$("$decode" < "$f" | wc -l)
  gobjects=$("$gpsdecode" -j < "$f" 2> /dev/null | grep -c '"class":"AIS"' || true)
  cat "$f" > /dev/null  # warm the page cache
  wa=999999; ca=999999; wg=999999; cg=999999
  for ((k = 0; k < rounds; k++)); do
    read -r w c < <(measure "$f" "$decode")
    wa=$(min "$wa" "$w"); ca=$(min "$ca" "$c")
    read -r w c < <(measure "$f" "$gpsdecode" -j)
    wg=$(min "$wg" "$w"); cg=$(min "$cg" "$c")
  done
  printf '%-20s %7s %9d %9d | %8.3f %8.3f %5sx | %8.3f %8.3f %5sx\n' "$name x$times" "$mb" "$lines" "$objects" \
    "$wa" "$wg" "$(div "$wg" "$wa")" "$ca" "$cg" "$(div "$cg" "$ca")"
  echo "  ($name: aistrack-decode $(div "$lines" "$wa" | cut -d. -f1) lines/s wall; gpsdecode wrote $gobjects AIS objects)"
done
