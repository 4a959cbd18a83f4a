#!/usr/bin/env bash
# Prints the project's performance figures: protocol decoding and dispatching (Google Benchmark) and
# end-to-end throughput (5 simulated nodes × 45 000 trace objects through the daemon to disk).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --bench >/dev/null
cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCT_BUILD_TESTS=OFF -DCT_BUILD_BENCH=ON >/dev/null
cmake --build build/bench -j"${CT_JOBS:-2}" --target protocol_bench batch_bench metrics_bench dispatcher_bench scrape_bench timeseries_bench floor_relay wakeup_probe cardano-tracer trace-forwarder >/dev/null
echo "== protocol decoding"
./build/bench/protocol_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
echo "== a decoded reply of 100 objects copied into a trace batch"
./build/bench/batch_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
echo "== dispatcher: 30 rules, 3 sections, per-node rules (cost per trace object, allocations)"
./build/bench/dispatcher_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
echo "== metrics rendering"
./build/bench/metrics_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
echo "== timeseries store: insert per point, instant lookup and query latency over 10 nodes x 500 series x 1 h"
./build/bench/timeseries_bench
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

echo "== scrape latency: 10 nodes x 500 EKG metrics streaming 50,000 objects/s each (keep-alive client)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -rf "$work/logs" "$work/tracer.sock"
cat > "$work/s.yaml" <<YAML
networkMagic: 42
network: { tag: AcceptAt, contents: "$work/tracer.sock" }
logging:
- { logRoot: "$work/logs", logMode: FileMode, logFormat: ForMachine }
hasPrometheus: { epHost: 127.0.0.1, epPort: $port }
ekgRequestFreq: 0.5
YAML
./build/bench/cardano-tracer -c "$work/s.yaml" > "$work/tracer2.out" 2>&1 &
tracer_pid=$!
for _ in $(seq 100); do [ -S "$work/tracer.sock" ] && break; sleep 0.05; done
${CT_FWD_NICE:+nice -n $CT_FWD_NICE} ./build/bench/trace-forwarder --connect "$work/tracer.sock" --network-magic 42 --nodes 10 \
  --metrics 500 --replay --rate 50000 --duration 12 > "$work/summary2.json" &
fwd_pid=$!
sleep 1
# Beside the scrapes: how often the machine itself left a sleeping thread waiting (a scrape
# caught in such a stall is late whatever the daemon does).
./build/bench/wakeup_probe 10 480 2000 > "$work/probe.json" &
probe_pid=$!
./build/bench/scrape_bench "$port" 10 /metrics /node-1
wait $probe_pid || true
python3 - "$work/probe.json" <<'PY'
import json, sys
sys.path.insert(0, "bench")
from benchlib import probe_text
print("meanwhile " + probe_text(json.load(open(sys.argv[1]))))
PY
python3 bench/http_histogram.py "$port"
wait $fwd_pid || true
python3 - "$work/summary2.json" <<'PY'
import json, sys
nodes = json.load(open(sys.argv[1]))["nodes"]
sent = sum(n["sent"] for n in nodes)
print(f"meanwhile the 10 nodes handed over {sent:,} objects ({sent / 12:,.0f}/s), overflow drops: "
      f"{sum(n['overflow_drops'] for n in nodes)}")
PY
kill -TERM $tracer_pid; wait $tracer_pid || true

echo "== reload latency with 1000 connected nodes (SIGHUP -> READY=1, request turnaround meanwhile)"
python3 bench/reload_bench.py build/bench "${CT_RELOAD_NODES:-1000}" 10

echo "== ingest with the replay generator, beside the floor relay and rsyslog (bench/ingest.py)"
python3 bench/ingest.py build/bench "${CT_INGEST_OBJECTS:-total=2000000}"

echo "== RSS when the disk is slower than the nodes: the writer starved, 10 nodes (bench/slow_disk.py)"
python3 bench/slow_disk.py build/bench

echo "== CPU per thread role: connection threads and file writer, user and system (bench/thread_cpu.py)"
python3 bench/thread_cpu.py --rounds 3 build/bench

echo "== scaling: the same load over 1, 10, 100, 1000 connections; 1000 idle nodes (bench/scaling.py)"
python3 bench/scaling.py build/bench "${CT_SCALING_SECONDS:-15}" 200000

echo "== rotation under load: 10 MB files checked every second (bench/rotation_load.py)"
python3 bench/rotation_load.py build/bench "${CT_ROTATION_SECONDS:-20}"

echo "== turnaround and node-side drops at 100,000 objects/s per node (bench/turnaround.py)"
python3 bench/turnaround.py build/bench "${CT_TURNAROUND_SECONDS:-10}" 100000
