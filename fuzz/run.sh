#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 and runs each for the given time (default 60 s).
# Usage: fuzz/run.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
CXX=clang++-14 CC=clang-14 cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCT_BUILD_FUZZ=ON -DCT_BUILD_TESTS=OFF -DCT_BUILD_BENCH=OFF >/dev/null
targets="fuzz_demuxer fuzz_trace_objects fuzz_ekg fuzz_data_points fuzz_handshake fuzz_config fuzz_exposition fuzz_http_routes fuzz_query"
# shellcheck disable=SC2086
cmake --build build/fuzz -j2 --target $targets
python3 fuzz/make_seeds.py build/fuzz/corpus
# Committed seeds (config files, HTTP requests, expositions) join the generated ones.
for d in fuzz/seeds/*/; do
  t=$(basename "$d"); mkdir -p "build/fuzz/corpus/$t"; cp -n "$d"* "build/fuzz/corpus/$t/" 2>/dev/null || true
done
failed=0
for t in $targets; do
  echo "== $t for ${secs}s"
  mkdir -p "build/fuzz/corpus/$t"
  log="build/fuzz/$t.log"
  # A crash or sanitizer report makes the fuzzer exit non-zero; keep going, report at the end.
  if ! "build/fuzz/$t" -max_total_time="$secs" -max_len=70000 -print_final_stats=1 \
       -artifact_prefix="build/fuzz/$t-" "build/fuzz/corpus/$t" >"$log" 2>&1; then
    failed=1
    echo "!! $t failed; see $log"
  fi
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|Done)" "$log" || true
done
exit "$failed"
