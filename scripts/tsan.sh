#!/usr/bin/env bash
# ThreadSanitizer pass over the tests that exercise threads: the outputs and their router (file,
# journal and test outputs; writer and
# maintenance threads), the HTTP server (stop from another thread, keep-alive clients), node
# sessions, own metrics, the re-forwarder queue, and the integration suites incl. the
# dispatcher, hot reload, re-forwarding, timeseries queries, remote write and OTLP export (the daemon itself
# built with TSan).
# Usage: scripts/tsan.sh   (prints a summary; exit 1 on any report)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCT_SANITIZE=thread \
      -DCT_BUILD_BENCH=OFF -DCT_BUILD_TESTS=ON >/dev/null
cmake --build build/tsan -j2
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 report_signal_unsafe=0"
ctest --test-dir build/tsan --output-on-failure --no-tests=error -j2 \
      -R '^(LogWriter|OutputRouter|HttpServer|Session|OwnMetrics|TrafficRegistry|ForwardQueue|ReforwardOutput|DaemonTest|DispatcherTest|ReliabilityTest|MetricsEndpointTest|HotReloadTest|ReforwardTest|RoutesFixture|QueryService|TimeseriesService|TimeseriesTest|RemoteWriteTest|OtlpTest|MemoryTrimmer)\.'
echo "tsan: no reports"
