#!/usr/bin/env bash
# Soak test (see scripts/soak.py): scripts/soak.sh MINUTES [build-dir]. Builds the release tree
# first when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${2:-build/release}
if [ ! -x "$build/cardano-tracer" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j2 --target cardano-tracer trace-forwarder
fi
ulimit -n 65536 2>/dev/null || true  # 1000+ node connections
exec python3 scripts/soak.py "${1:-1}" "$build"
