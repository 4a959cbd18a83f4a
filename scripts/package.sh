#!/usr/bin/env bash
# Builds the Debian package (cardano-tracer_<version>_amd64.deb) from the release build, then,
# with --install-test, installs it with dpkg on this machine and checks the installed daemon:
# --version, --check-config on the installed default configuration, systemd-analyze verify of
# the installed units, the service account; and removes it again (purge).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build build/release -j"${CT_JOBS:-2}" --target cardano-tracer trace-forwarder
(cd build/release && cpack >/dev/null)
deb=$(ls build/release/cardano-tracer_*_amd64.deb)
echo "package: $deb"
dpkg-deb -f "$deb" Package Version Architecture Depends

[ "${1:-}" = --install-test ] || exit 0
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
cleanup() { "${sudo_cmd[@]}" dpkg --purge cardano-tracer >/dev/null 2>&1 || true; }
trap cleanup EXIT
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "./$deb" >/dev/null \
  || "${sudo_cmd[@]}" dpkg -i "$deb"
echo "== installed files"
dpkg -L cardano-tracer | grep -E 'bin/|/etc/|systemd|legacy' 
echo "== cardano-tracer --version"
/usr/bin/cardano-tracer --version
echo "== --check-config on the installed default configuration"
/usr/bin/cardano-tracer --config /etc/cardano-tracer/config.yaml --check-config
echo "== systemd-analyze verify"
out=$(systemd-analyze verify /usr/lib/systemd/system/cardano-tracer.service /usr/lib/systemd/system/cardano-tracer.socket 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || { echo "$out"; exit 1; }
echo "units verify cleanly"
echo "== systemd-analyze security"
systemd-analyze security --offline=yes /usr/lib/systemd/system/cardano-tracer.service 2>&1 | tail -1
echo "== service account"
getent passwd cardano-node
echo "package install test: OK"
