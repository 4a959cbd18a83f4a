#!/usr/bin/env bash
# One command for a new user: installs what is missing, builds, starts cardano-tracer on the
# embedded default configuration (configuration/default.yaml) with a simulated node feeding it,
# and shows the log files and metrics. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCT_BUILD_TESTS=OFF -DCT_BUILD_BENCH=OFF >/dev/null
cmake --build build/demo -j"${CT_JOBS:-2}" --target cardano-tracer trace-forwarder

mkdir -p demo
rm -f demo/tracer.sock
./build/demo/cardano-tracer --config configuration/default.yaml > demo/tracer-stdout.log 2>&1 &
tracer_pid=$!
cleanup() {
  kill "$node_pid" 2>/dev/null || true
  kill "$tracer_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  echo "stopped; logs are under demo/logs, the daemon's own messages in demo/tracer-stdout.log"
}
trap cleanup EXIT INT TERM

for _ in $(seq 100); do [ -S demo/tracer.sock ] && break; sleep 0.1; done
./build/demo/trace-forwarder --connect demo/tracer.sock --nodes 2 --name-prefix demo-node \
  --rate 20 > demo/forwarder-summary.json 2> demo/forwarder-stderr.log &
node_pid=$!

echo "cardano-tracer runs (pid $tracer_pid) with 2 simulated nodes."
echo "  log files:   demo/logs/<node>/node.json and node.log"
[ -n "$(command -v curl)" ] && curl -sf http://127.0.0.1:12808/ >/dev/null 2>&1 && echo "  prometheus:  http://127.0.0.1:12808/   EKG: http://127.0.0.1:12788/"
echo "  own messages: demo/tracer-stdout.log"
sleep 3
for f in demo/logs/*/node.log; do
  echo "== $f (last 3 lines)"
  tail -n 3 "$f"
done
echo "Ctrl-C to stop. Following demo/logs/demo-node-1/node.log:"
tail -f demo/logs/demo-node-1/node.log
