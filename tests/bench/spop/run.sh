#!/usr/bin/env bash
# Measures the SPOP engine alone: spop_bench_agent (1 worker thread, trivial 3-variable handler) on
# an ephemeral loopback port, driven by spop_bench. Extra arguments go to spop_bench, e.g.
#   tests/bench/spop/run.sh                  # closed loop: 4 connections x 20 in flight, 5 s
#   tests/bench/spop/run.sh --rate 150000    # paced: latency at 150k NOTIFY/s
# BIN_DIR defaults to build/bin. Note the load average printed: other jobs skew the latency tail.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BIN_DIR=${BIN_DIR:-$here/../../../build/bin}
THREADS=${THREADS:-1}

out=$(mktemp)
"$BIN_DIR/spop_bench_agent" --threads "$THREADS" >"$out" 2>&1 &
agent=$!
cleanup() { kill -TERM "$agent" 2>/dev/null || true; wait "$agent" 2>/dev/null || true; rm -f "$out"; }
trap cleanup EXIT

port=""
for _ in $(seq 1 50); do  # up to 5 s for the agent to listen
  port=$(sed -n 's/^port=//p' "$out")
  [ -n "$port" ] && break
  kill -0 "$agent" 2>/dev/null || { cat "$out"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "agent did not start"; cat "$out"; exit 1; }

echo "load: $(uptime | sed 's/.*load average/load average/') on $(nproc) cores; agent threads $THREADS"
rc=0
"$BIN_DIR/spop_bench" --port "$port" "$@" || rc=$?
kill -TERM "$agent"
wait "$agent" || true
grep '^agent:' "$out" || true
exit $rc
