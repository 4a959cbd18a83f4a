#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the demo need.
# Idempotent: installs only what is missing. Works as root, uses sudo otherwise.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-system1.81-dev
  nlohmann-json3-dev libyaml-cpp-dev prometheus-cpp-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsystemd-dev zlib1g-dev libssl-dev libsimdjson-dev libsnappy-dev libdeflate-dev systemd
  protobuf-compiler libprotobuf-dev
  python3 python3-cbor2 curl clang-format openssl
  clang-14 libclang-rt-14-dev
  prometheus
)

# --bench: what scripts/bench.sh needs besides (the rsyslog baseline, perf for syscall counts).
if [ "${1:-}" = "--bench" ]; then packages+=(rsyslog linux-perf); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node.js runs the OTLP test peer (the OpenTelemetry project's own decoders, from npm); the
# machine's own Node.js is used when there is one, Debian's otherwise.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
else
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The OTLP test peer's packages, exactly as package-lock.json pins them.
peer="$(cd "$(dirname "$0")/.." && pwd)/tests/peers/otlp"
if [ ! -d "$peer/node_modules/@opentelemetry/otlp-transformer" ]; then
  echo "setup: installing the OTLP test peer (npm ci in tests/peers/otlp)"
  # Only the tests need it: without the npm registry the daemon still builds and runs, and
  # the OTLP tests say what is missing.
  (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error) ||
    echo "setup: warning: npm ci failed; the OTLP tests need tests/peers/otlp/node_modules"
fi
