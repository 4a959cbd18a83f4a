#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test: unit and integration suites in a
# release build, then again under AddressSanitizer + UndefinedBehaviorSanitizer.
# CT_SKIP_SANITIZERS=1 skips the sanitizer pass (faster local runs); CT_FUZZ_SECS sets how long
# each libFuzzer target runs at the end (default 30; 0 skips them).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

jobs=${CT_JOBS:-2}

bash scripts/check-format.sh

echo "== release build"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCT_WARNINGS_AS_ERRORS=ON \
      -DCT_BUILD_TESTS=ON -DCT_BUILD_BENCH=ON -DCMAKE_INSTALL_PREFIX=/usr
cmake --build build/release -j"$jobs"
echo "== release: unit and integration tests"
ctest --test-dir build/release --output-on-failure --no-tests=error -j"$jobs"
echo "== Debian package: build, install with dpkg, check the installed daemon and units"
bash scripts/package.sh --install-test

if [ "${CT_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== asan+ubsan build"
  cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCT_BUILD_BENCH=OFF \
        -DCT_SANITIZE=address,undefined -DCT_WARNINGS_AS_ERRORS=ON -DCT_BUILD_TESTS=ON
  cmake --build build/asan -j"$jobs"
  echo "== asan+ubsan: unit and integration tests"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/asan --output-on-failure --no-tests=error -j"$jobs"
fi

fuzz_secs=${CT_FUZZ_SECS:-30}
if [ "$fuzz_secs" != 0 ]; then
  echo "== libFuzzer targets, ${fuzz_secs}s each"
  bash fuzz/run.sh "$fuzz_secs"
fi
