#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test (unit, real-lab
# integration, HAProxy interop, end-to-end), then the unit and server tests again under
# ASan+UBSan, and a bounded fuzz run of the SPOP decoder. Exit status: non-zero on any failure.
#   MYSPOA_FUZZ_SECONDS (default 60)   MYSPOA_SKIP_SANITIZERS=1 to skip the sanitizer pass
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/install-deps.sh

echo "== build (RelWithDebInfo) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

echo "== tests =="
ctest --test-dir build --output-on-failure --timeout 600

if [[ "${MYSPOA_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "== unit and server tests under ASan+UBSan =="
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMYSPOA_ASAN=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --timeout 600 -L unit

  if [[ -x tests/fuzz/run-fuzz.sh ]]; then
    echo "== fuzzing the SPOP decoder for ${MYSPOA_FUZZ_SECONDS:-60} s =="
    tests/fuzz/run-fuzz.sh "${MYSPOA_FUZZ_SECONDS:-60}"
  fi
fi
echo "== all tests passed =="
