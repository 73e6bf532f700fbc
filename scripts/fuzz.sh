#!/usr/bin/env bash
# Builds the libFuzzer target fuzz/fuzz_nmea.cpp (NMEA sentences, tag blocks, multipart assembly and
# the AIS decoder) with clang and ASan + UBSan, then runs it for SECONDS (default 60).
#   scripts/fuzz.sh [SECONDS]
#   AISTRACK_FUZZ_DIR     build and corpus directory (default: build-fuzz)
#   AISTRACK_SHARED_DATA  shared data directory (default: ../shared/data beside the clone)
# The seed corpus is cut at run time from the NMEA files in the shared data (nothing from it is
# copied into the repository); without them a few built-in sentences seed the run. The corpus the
# fuzzer grows is kept in $AISTRACK_FUZZ_DIR/corpus between runs. Exit status is non-zero on a
# finding; the crashing input is written to $AISTRACK_FUZZ_DIR/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2; }
out=${AISTRACK_FUZZ_DIR:-build-fuzz}
shared=${AISTRACK_SHARED_DATA:-../shared/data}
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/install-deps.sh installs clang)" >&2; exit 1; }
mkdir -p "$out/corpus"

# Build (only when a source is newer than the binary).
sources=(fuzz/fuzz_nmea.cpp src/nmea.cpp src/decode.cpp src/message.cpp)
bin="$out/fuzz_nmea"
rebuild=0
[[ -x $bin ]] || rebuild=1
for f in "${sources[@]}" include/aistrack/*.hpp; do [[ $f -nt $bin ]] && rebuild=1; done
if ((rebuild)); then
  echo "fuzz.sh: building $bin"
  clang++ -std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=all -Iinclude "${sources[@]}" -o "$bin"
fi

# Seeds: the first 400 lines of every shared NMEA file, in pieces of 20 lines.
seeds="$out/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"
if [[ -d $shared/nmea ]]; then
  n=0
  while IFS= read -r -d '' f; do
    n=$((n + 1))
    head -n 400 "$f" | split -l 20 -a 3 - "$seeds/f${n}_"
  done < <(find "$shared/nmea" -type f ! -path '*/expected/*' ! -name '*.md' ! -name '*.json' \
             ! -name 'LICENSE*' ! -name 'LICENSING' -print0)
  echo "fuzz.sh: $(ls "$seeds" | wc -l) seed files from $shared/nmea"
else
  echo "fuzz.sh: $shared/nmea not found; using built-in seeds"
  printf '!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C\n' > "$seeds/type1"
  printf '\\s:rMT1200,t:ais-listener,c:1697012048*78\\!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C\n!AIVDM,2,2,1,A,88888888880,2*25\n' > "$seeds/type5"
fi

echo "fuzz.sh: running for ${seconds} s"
"$bin" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$out/" "$out/corpus" "$seeds"
