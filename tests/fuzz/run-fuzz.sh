#!/usr/bin/env bash
# Builds the SPOP codec fuzzer with clang (build-fuzz/) and runs it for SECONDS (default 60) on ONE
# core. New inputs go to build-fuzz/fuzz-corpus/spop (the committed corpus is only read); a crash,
# leak, timeout or sanitizer report is saved under build-fuzz/fuzz-artifacts/ and the script fails.
#   usage: tests/fuzz/run-fuzz.sh [SECONDS]
set -euo pipefail
secs=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${MYSPOA_FUZZ_BUILD:-$root/build-fuzz}

cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DMYSPOA_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j1 --target spop_frame_fuzz

work=$build/fuzz-corpus/spop
artifacts=$build/fuzz-artifacts/
mkdir -p "$work" "$artifacts"
# -max_total_time bounds the run; libFuzzer exits non-zero on any finding.
"$build/bin/spop_frame_fuzz" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
  -rss_limit_mb=2048 -dict="$root/tests/fuzz/spop.dict" -artifact_prefix="$artifacts" \
  "$work" "$root/tests/fuzz/corpus/spop"
