#!/usr/bin/env bash
# Runs every benchmark of the project (issue 12: micro-benchmarks, ingest beside the floor relay
# and rsyslog, scrape, rotation, scaling, turnaround, reload), prints their figures as they come,
# then prints the report (issue 12's targets against this run, then one table per benchmark)
# and writes it into docs/benchmarks.md between its markers (the history below them stays).
# CT_BENCH_WRITE_DOCS=0 leaves docs/benchmarks.md alone; the report stays in
# build/bench/results/report.md either way.
set -euo pipefail
cd "$(dirname "$0")/.."
results="$PWD/build/bench/results"
rm -rf "$results"
mkdir -p "$results"
export CT_BENCH_RESULTS="$results/record.jsonl"
gbench() {  # a Google Benchmark program, median of 3, its JSON kept for the report
  "./build/bench/$1" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$results/$1.json" --benchmark_out_format=json
}
bash scripts/setup.sh --bench >/dev/null
cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCT_BUILD_TESTS=OFF -DCT_BUILD_BENCH=ON >/dev/null
cmake --build build/bench -j"${CT_JOBS:-2}" --target protocol_bench batch_bench metrics_bench dispatcher_bench scrape_bench timeseries_bench floor_relay wakeup_probe cardano-tracer trace-forwarder >/dev/null
echo "== protocol decoding"
gbench protocol_bench
echo "== a decoded reply of 100 objects copied into a trace batch"
gbench batch_bench
echo "== dispatcher: 30 rules, 3 sections, per-node rules (cost per trace object, allocations)"
gbench dispatcher_bench
echo "== metrics rendering"
gbench metrics_bench
echo "== timeseries store: insert per point, instant lookup and query latency over 10 nodes x 500 series x 1 h"
./build/bench/timeseries_bench --benchmark_out="$results/timeseries_bench.json" --benchmark_out_format=json
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
sys.path.insert(0, "bench")
from benchlib import record
start, end, lines = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"objects on disk: {lines} (expected 225000); wall time {end-start:.2f} s; {lines/(end-start):,.0f} objects/s")
record("end_to_end", objects=lines, expected=225000, seconds=end - start, rate=lines / (end - start))
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
from benchlib import probe_text, record
probe = json.load(open(sys.argv[1]))
print("meanwhile " + probe_text(probe))
record("scrape_probe", **probe)
PY
python3 bench/http_histogram.py "$port"
wait $fwd_pid || true
python3 - "$work/summary2.json" <<'PY'
import json, sys
sys.path.insert(0, "bench")
from benchlib import record
nodes = json.load(open(sys.argv[1]))["nodes"]
sent = sum(n["sent"] for n in nodes)
drops = sum(n["overflow_drops"] for n in nodes)
print(f"meanwhile the 10 nodes handed over {sent:,} objects ({sent / 12:,.0f}/s), overflow drops: "
      f"{drops}")
record("scrape_nodes", sent=sent, seconds=12, drops=drops)
PY
kill -TERM $tracer_pid; wait $tracer_pid || true

echo "== reload latency with 1000 connected nodes (SIGHUP -> READY=1, request turnaround meanwhile)"
python3 bench/reload_bench.py build/bench "${CT_RELOAD_NODES:-1000}" 10

echo "== ingest with the replay generator, beside the floor relay and rsyslog (bench/ingest.py)"
python3 bench/ingest.py build/bench "${CT_INGEST_OBJECTS:-total=2000000}"
echo "== the daemon and the 64 KiB floor relay alternately, 3 pairs (bench/ingest.py pairs:3)"
python3 bench/ingest.py build/bench "${CT_INGEST_OBJECTS:-total=2000000}" pairs:3

echo "== RSS when the disk is slower than the nodes: the writer starved, 10 nodes (bench/slow_disk.py)"
python3 bench/slow_disk.py build/bench

echo "== CPU per thread role: connection threads and file writer, user and system (bench/thread_cpu.py)"
python3 bench/thread_cpu.py --rounds 3 build/bench

echo "== scaling: the same load over 1, 10, 100, 1000 connections; 1000 idle nodes (bench/scaling.py)"
python3 bench/scaling.py build/bench "${CT_SCALING_SECONDS:-15}" 200000

echo "== rotation under load: 10 MB files checked every second (bench/rotation_load.py)"
# It fails when an object was lost; the report still follows, and says so.
python3 bench/rotation_load.py build/bench "${CT_ROTATION_SECONDS:-20}" || echo "rotation under load: FAILED (above)"

echo "== turnaround and node-side drops at 100,000 objects/s per node (bench/turnaround.py)"
python3 bench/turnaround.py build/bench "${CT_TURNAROUND_SECONDS:-10}" 100000

echo "== report"
write=(--write docs/benchmarks.md)
[ "${CT_BENCH_WRITE_DOCS:-1}" = 0 ] && write=()
python3 bench/report.py "$CT_BENCH_RESULTS" --gbench "$results"/*.json "${write[@]}" | tee "$results/report.md"
