#!/usr/bin/env bash
# Agent down under load, on the loopback lab through the real HAProxy 2.6. With a write load
# (13306) and a read load (13307), one new connection per attempt, SIGKILL the agent, then
# restart it. Checks:
#   1. no connection hangs: every attempt (connect + query) ends within HUNG_MS (2 s), before,
#      during and after the outage; none of them fails (the cluster is healthy: HAProxy's static
#      fallback backends must take the connections while the agent is away);
#   2. while the agent is down, HAProxy routes by its default_backend (runtime API: sessions on
#      be_write_fallback / be_read_fallback) and writes still land on db01;
#   3. HAProxy's spop-check marks be_myspoa_agent/agent DOWN (runtime API), and after the restart
#      UP again, without a reload;
#   4. after that the agent answers HAProxy again (its admin /metrics count new SPOP connections
#      and NOTIFY frames, the fallback backends take no more sessions) and it logged a decision.
# usage: agent_down_test.sh LABCTL LAB_LOAD MYSPOA_BIN
# Environment: MYSPOA_LAB_DIR (default /tmp/myspoa-lab); holds /tmp/myspoa-lab-dev.lock unless
# MYSPOA_LAB_LOCK_HELD=1.
set -uo pipefail

LABCTL=${1:?usage: agent_down_test.sh LABCTL LAB_LOAD MYSPOA_BIN}
LOAD=${2:?usage: agent_down_test.sh LABCTL LAB_LOAD MYSPOA_BIN}
AGENT=${3:?usage: agent_down_test.sh LABCTL LAB_LOAD MYSPOA_BIN}
LOCK=/tmp/myspoa-lab-dev.lock
if [[ ${MYSPOA_LAB_LOCK_HELD:-0} != 1 ]]; then
  echo "agent_down: waiting for $LOCK"
  MYSPOA_LAB_LOCK_HELD=1 exec flock -o -w 900 "$LOCK" "$0" "$@"
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
export MYSPOA_BIN=$AGENT
export MYSPOA_LAB_DIR=${MYSPOA_LAB_DIR:-/tmp/myspoa-lab}
LAB=$MYSPOA_LAB_DIR
WORK=$LAB/agent_down
HUNG_MS=2000
T0=$(date +%s)
now_ms() { date +%s%3N; }
say() { printf '[%3ds] %s\n' $(($(date +%s) - T0)) "$*"; }
FAILS=0
check() {  # check "what" CONDITION-RESULT(0/1)
  if [[ $2 == 0 ]]; then say "ok    $1"; else say "FAIL  $1"; FAILS=$((FAILS + 1)); fi
}
for f in "$LABCTL" "$LOAD" "$AGENT"; do [[ -x $f ]] || { echo "FATAL: $f missing"; exit 2; }; done

source "$REPO/tests/lab/agent_helpers.sh"
start_agent() { spawn_agent; }
# srv_op_state of be_myspoa_agent/agent from the runtime API (2 = UP, 0 = DOWN).
agent_state() {
  echo "show servers state be_myspoa_agent" | timeout 2 socat - "UNIX-CONNECT:$LAB/haproxy.sock" 2>/dev/null |
    awk '$2 == "be_myspoa_agent" && $4 == "agent" {print $6}'
}
# Sessions a backend has taken so far (runtime API "show stat", field stot).
backend_stot() {
  echo "show stat" | timeout 2 socat - "UNIX-CONNECT:$LAB/haproxy.sock" 2>/dev/null |
    awk -F, -v b="$1" '$1 == b && $2 == "BACKEND" {print $8}'
}
# A counter from the agent's admin endpoint (Prometheus text).
metric() {
  curl -s --max-time 2 http://127.0.0.1:9400/metrics | awk -v m="$1" '$1 == m {print int($2)}'
}
# wait_state WANT TIMEOUT_MS -> prints the elapsed ms, fails on timeout
wait_state() {
  local t=$(now_ms) deadline=$(($(now_ms) + $2))
  while (($(now_ms) < deadline)); do
    [[ $(agent_state) == "$1" ]] && { echo $(($(now_ms) - t)); return 0; }
    sleep 0.05
  done
  echo "timeout"
  return 1
}

LOAD_PIDS=()
cleanup() {
  local p
  for p in "${LOAD_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  agent_pid >/dev/null || start_agent
  [[ ${AGENT_DOWN_KEEP_LAB:-0} == 1 ]] || "$LABCTL" down >/dev/null 2>&1
}

"$LABCTL" down >/dev/null 2>&1 || true
"$LABCTL" up >"$LAB.agent_down-up.log" 2>&1 || { cat "$LAB.agent_down-up.log"; echo "FATAL: labctl up"; exit 2; }
trap cleanup EXIT
mkdir -p "$WORK" && rm -f "$WORK"/*
agent_pid >/dev/null || { echo "FATAL: agent not running: $(tail -n 5 "$LAB/myspoa.log")"; exit 2; }
for ((i = 0; i < 100; i++)); do
  grep "scenario " "$LAB/myspoa.log" | tail -n 1 | grep "scenario healthy," >/dev/null && [[ $(agent_state) == 2 ]] && break
  sleep 0.2
done
[[ $(agent_state) == 2 ]] || { echo "FATAL: HAProxy does not see the agent UP"; exit 2; }
say "lab up, agent healthy and UP in HAProxy"

# 26 s of load: 6 s with the agent, ~8 s without, the rest after the restart.
"$LOAD" --port 13306 --seconds 26 --rate 20 --timeout 10 --out "$WORK/write.tsv" \
  --attempts "$WORK/write-attempts.tsv" >"$WORK/write.out" 2>&1 &
LOAD_PIDS+=($!)
"$LOAD" --port 13307 --read --seconds 26 --rate 20 --timeout 10 --out "$WORK/read.tsv" \
  --attempts "$WORK/read-attempts.tsv" >"$WORK/read.out" 2>&1 &
LOAD_PIDS+=($!)
sleep 6

FB_W0=$(backend_stot be_write_fallback) FB_R0=$(backend_stot be_read_fallback)
KILL_MS=$(now_ms)
kill -KILL "$(agent_pid)"
say "agent SIGKILLed"
down_ms=$(wait_state 0 6000)
check "HAProxy marks the agent DOWN (after $down_ms ms; spop-check inter 1s fall 3)" $?
sleep 5
FB_W1=$(backend_stot be_write_fallback) FB_R1=$(backend_stot be_read_fallback)
ALOG_RESTART=$(stat -c %s "$LAB/myspoa.log")
RESTART_MS=$(now_ms)
start_agent
say "agent restarted"
up_ms=$(wait_state 2 8000)
check "HAProxy marks the agent UP again without a reload (after $up_ms ms)" $?
UP_MS=$(now_ms)
sleep 0.5  # connections already past the SPOE filter when the state flipped
FB_W2=$(backend_stot be_write_fallback) FB_R2=$(backend_stot be_read_fallback)
N0=$(metric myspoa_spop_notifies_total) C0=$(metric myspoa_spop_connections_total)
sleep 3
FB_W3=$(backend_stot be_write_fallback) FB_R3=$(backend_stot be_read_fallback)
N1=$(metric myspoa_spop_notifies_total) C1=$(metric myspoa_spop_connections_total)
for p in "${LOAD_PIDS[@]}"; do wait "$p"; done
LOAD_PIDS=()
cat "$WORK/write.out" "$WORK/read.out" | grep attempts

# 1. no hang, no failure.
for f in write read; do
  n=$(awk -v h=$HUNG_MS '!/^#/ && $3 > h' "$WORK/$f-attempts.tsv" | wc -l)
  max=$(awk '!/^#/ && $3 > m {m = $3} END {print m + 0}' "$WORK/$f-attempts.tsv")
  total=$(grep -vc '^#' "$WORK/$f-attempts.tsv")
  check "$f: $total attempts, none longer than $HUNG_MS ms (hung: $n, longest $max ms)" $((n != 0 || total < 400))
  errs=$(awk '!/^#/ && $4 != "ok"' "$WORK/$f-attempts.tsv" | wc -l)
  check "$f: every attempt succeeded (errors: $errs)" $((errs != 0))
  during=$(awk -v a="$KILL_MS" -v b="$RESTART_MS" '!/^#/ && $2 > a + 200 && $2 < b' "$WORK/$f-attempts.tsv")
  check "$f: attempts while the agent was down all succeeded ($(grep -c ok <<<"$during") of $(grep -c . <<<"$during"))" \
    $(( $(grep -c . <<<"$during") < 50 || $(grep -vc ok <<<"$during") != 0 ))
done
# Writes acknowledged while the agent was down went to db01 (the fallback's active server).
wdown=$(awk -v a="$KILL_MS" -v b="$RESTART_MS" '!/^#/ && $4 > a + 200 && $4 < b {print $3}' "$WORK/write.tsv" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
check "writes while the agent was down landed on db01 only (server_id counts:$wdown)" \
  $([[ $wdown =~ ^\ [0-9]+\ 1,$ ]]; echo $?)

# 2. the fallback was used while the agent was down.
check "HAProxy used its fallback backends while the agent was down ($((FB_W1 - FB_W0)) write, $((FB_R1 - FB_R0)) read sessions)" \
  $(((FB_W1 - FB_W0) < 50 || (FB_R1 - FB_R0) < 50))

# 3./4. the agent is used again: it counts NOTIFY frames, the fallbacks take nothing more.
check "after the restart the agent answers HAProxy (SPOP connections ${C1:-?}, NOTIFY frames +$((${N1:-0} - ${N0:-0})) in 3 s; fallback sessions +$(((FB_W3 - FB_W2) + (FB_R3 - FB_R2))))" \
  $(( ${C1:-0} < 1 || (${N1:-0} - ${N0:-0}) < 60 || (FB_W3 - FB_W2) + (FB_R3 - FB_R2) != 0 ))
tail -c +$((ALOG_RESTART + 1)) "$LAB/myspoa.log" | grep "writer change: db01 takes writes" >/dev/null
check "the restarted agent logged a new decision (writer change: db01 takes writes)" $?

say "agent down $((RESTART_MS - KILL_MS)) ms; HAProxy DOWN after $down_ms ms, UP again $up_ms ms after the restart"
if ((FAILS)); then say "$FAILS check(s) failed (files in $WORK)"; exit 1; fi
say "all checks passed"
