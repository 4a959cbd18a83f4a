#!/usr/bin/env bash
# Prints the project's performance figures: protocol decoding (Google Benchmark) and
# end-to-end throughput (5 simulated nodes × 45 000 trace objects through the daemon to disk).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCT_BUILD_TESTS=OFF -DCT_BUILD_BENCH=ON >/dev/null
cmake --build build/bench -j"${CT_JOBS:-2}" --target protocol_bench metrics_bench cardano-tracer trace-forwarder >/dev/null
echo "== protocol decoding"
./build/bench/protocol_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
echo "== metrics rendering"
./build/bench/metrics_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
echo "== end to end: 5 nodes x 45000 objects (~400 B) through cardano-tracer to ForMachine+ForHuman files"
work=$(mktemp -d)
trap 'kill $tracer_pid 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/t.yaml" <<YAML
networkMagic: 42
network: { tag: AcceptAt, contents: "$work/tracer.sock" }
logging:
- { logRoot: "$work/logs", logMode: FileMode, logFormat: ForMachine }
- { logRoot: "$work/logs", logMode: FileMode, logFormat: ForHuman }
YAML
./build/bench/cardano-tracer -c "$work/t.yaml" > "$work/tracer.out" 2>&1 &
tracer_pid=$!
for _ in $(seq 100); do [ -S "$work/tracer.sock" ] && break; sleep 0.05; done
start=$(date +%s.%N)
./build/bench/trace-forwarder --connect "$work/tracer.sock" --network-magic 42 --nodes 5 --count 45000 > "$work/summary.json"
end=$(date +%s.%N)
kill -TERM $tracer_pid; wait $tracer_pid || true
lines=$(cat "$work"/logs/*/node-*.json | wc -l)
python3 - "$start" "$end" "$lines" <<'PY'
import sys
start, end, lines = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"objects on disk: {lines} (expected 225000); wall time {end-start:.2f} s; {lines/(end-start):,.0f} objects/s")
PY
