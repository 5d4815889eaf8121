#!/usr/bin/env bash
# End-to-end test of myspoa on the loopback lab through the real HAProxy 2.6: for every row of the
# failure table (plus a lagging replica and the recovery) inject the fault with labctl, wait
# (bounded) for the agent's decision, open connections through the write (13306) and read (13307)
# frontends and compare the SET of @@server_id seen with the table, exactly. Refused connections
# must carry the agent's MySQL error (code 1105, "myspoa: ..." and the reason). Also the
# `starting` row (an agent whose first probe round is not complete refuses both sides) and the
# consistency drain through the agent (corrupt db05, POST /checksum/run: db05 leaves the read
# pool; repair, run again: it returns). Prints a table row -> expected/seen and fails when any
# row differs.
#
# Usage: e2e_test.sh LABCTL E2E_CLIENT MYSPOA_BIN
# Environment: MYSPOA_LAB_DIR (default /tmp/myspoa-lab; ctest gives it a lab of its own through
# tests/integration/lab/with_lab.sh), E2E_CONNS (connections per frontend and row, default 60, at
# least 20), E2E_KEEP_LAB=1 (leave the lab up at the end).
# The lab ports are shared by every developer: the script holds /tmp/myspoa-lab-dev.lock (flock)
# for its whole run unless MYSPOA_LAB_LOCK_HELD=1 says the caller already holds it.
set -uo pipefail

LABCTL=${1:?usage: e2e_test.sh LABCTL E2E_CLIENT MYSPOA_BIN}
CLIENT=${2:?usage: e2e_test.sh LABCTL E2E_CLIENT MYSPOA_BIN}
AGENT=${3:?usage: e2e_test.sh LABCTL E2E_CLIENT MYSPOA_BIN}
LOCK=/tmp/myspoa-lab-dev.lock

if [[ ${MYSPOA_LAB_LOCK_HELD:-0} != 1 ]]; then
  echo "e2e: waiting for $LOCK"
  MYSPOA_LAB_LOCK_HELD=1 exec flock -o -w 900 "$LOCK" "$0" "$@"
fi

export MYSPOA_BIN=$AGENT
export MYSPOA_LAB_DIR=${MYSPOA_LAB_DIR:-/tmp/myspoa-lab}
LAB=$MYSPOA_LAB_DIR
LOG=$LAB/myspoa.log
CONNS=${E2E_CONNS:-60}
((CONNS >= 20)) || CONNS=20
WRITE_PORT=13306
READ_PORT=13307
T0=$(date +%s)

now_ms() { date +%s%3N; }
say() { printf '[%4ds] %s\n' $(($(date +%s) - T0)) "$*"; }

[[ -x $CLIENT ]] || { echo "FATAL: $CLIENT missing"; exit 1; }
[[ -x $AGENT ]] || { echo "FATAL: $AGENT missing"; exit 1; }

# labctl, its output shown only when it fails.
lab() {
  local out rc
  out=$("$LABCTL" "$@" 2>&1)
  rc=$?
  ((rc == 0)) || printf 'labctl %s failed (%d):\n%s\n' "$*" "$rc" "$out" | sed 's/^/    /'
  return "$rc"
}

WRITER_PID=""
cleanup() {
  [[ -n $WRITER_PID ]] && kill "$WRITER_PID" 2>/dev/null
  # Leave the lab healthy for the next user: thaw/start everything, no delay, replication on.
  local db
  for db in db01 db02 db03 db04 db05; do "$LABCTL" start "$db" >/dev/null 2>&1; done
  for db in db01 db02 db03 db04 db05; do "$LABCTL" lag "$db" 0 >/dev/null 2>&1; done
  if [[ ${E2E_KEEP_LAB:-0} != 1 ]]; then "$LABCTL" down >/dev/null 2>&1; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# Observing the agent and HAProxy

log_size() { stat -c %s "$LOG" 2>/dev/null || echo 0; }

# wait_scenario OFFSET NAME TIMEOUT_S: until the agent logs "scenario NAME," after byte OFFSET.
wait_scenario() {
  local off=$1 name=$2 deadline=$(($(now_ms) + $3 * 1000))
  while (($(now_ms) < deadline)); do
    if tail -c +$((off + 1)) "$LOG" 2>/dev/null | grep -q "scenario $name,"; then return 0; fi
    sleep 0.1
  done
  return 1
}

# probe PORT COUNT -> lines "ok <id>" / "err <errno> <message>"
probe() { timeout 120 "$CLIENT" --port "$1" --count "$2" --timeout-ms 2000; }

# Sorted, comma-separated set of server_ids in probe output; "-" when none.
id_set() {
  local s
  s=$(awk '$1 == "ok" {print $2}' <<<"$1" | sort -un | paste -sd, -)
  echo "${s:--}"
}
errors_of() { grep -c '^err' <<<"$1" || true; }

# Seconds_Behind_Master of a replica as the server itself reports it ("" when NULL/unknown).
server_lag() {
  timeout 5 mariadb --no-defaults -h127.0.0.1 -P"$1" -umyspoa -pmyspoa --connect-timeout=2 -B \
    -e 'SHOW SLAVE STATUS\G' 2>/dev/null | awk -F': ' '$1 ~ /Seconds_Behind_Master$/ {print $2}'
}

# wait_server_lag PORT MIN_S TIMEOUT_S: until the replica itself reports a lag >= MIN_S.
wait_server_lag() {
  local deadline=$(($(now_ms) + $3 * 1000)) l
  while (($(now_ms) < deadline)); do
    l=$(server_lag "$1")
    [[ $l =~ ^[0-9]+$ ]] && ((l >= $2)) && return 0
    sleep 0.2
  done
  return 1
}

# wait_healthy TIMEOUT_S: the agent says healthy and HAProxy sends writes to db01 and reads to all
# five (a replica that just reconnected passes its rise count after the masters do).
wait_healthy() {
  local deadline=$(($(now_ms) + $1 * 1000)) w r
  while (($(now_ms) < deadline)); do
    if grep -q "scenario healthy," <(tail -n 200 "$LOG" | grep "scenario " | tail -n 1); then
      w=$(probe "$WRITE_PORT" 10)
      r=$(probe "$READ_PORT" 40)
      if [[ $(id_set "$w") == 1 && $(errors_of "$w") == 0 && $(id_set "$r") == 1,2,3,4,5 &&
        $(errors_of "$r") == 0 ]]; then
        return 0
      fi
    fi
    sleep 0.3
  done
  say "not healthy after $1 s: last scenario line: $(grep 'scenario ' "$LOG" | tail -n 1)"
  "$LABCTL" status | sed 's/^/    /'
  return 1
}

# ---------------------------------------------------------------------------------------------
# Rows

ROWS=()
FAILS=0
add_row() { ROWS+=("$(printf '%-26s | %-8s | %-10s | %-9s | %-12s | %-10s | %s' "$@")"); }

# check_row NAME WRITES READS REASON: WRITES/READS are an id set ("1,3,4") or "refused"; REASON is
# the text refused connections must carry besides "myspoa".
check_row() {
  local name=$1 want_w=$2 want_r=$3 reason=$4 w r seen_w seen_r ok=PASS why=""
  w=$(probe "$WRITE_PORT" "$CONNS")
  r=$(probe "$READ_PORT" "$CONNS")
  seen_w=$(id_set "$w")
  seen_r=$(id_set "$r")
  local side out want seen errs
  for side in writes reads; do
    if [[ $side == writes ]]; then out=$w want=$want_w seen=$seen_w; else out=$r want=$want_r seen=$seen_r; fi
    errs=$(errors_of "$out")
    if [[ $want == refused ]]; then
      if [[ $seen != - ]]; then
        ok=FAIL why+=" $side reached $seen;"
      elif [[ $(grep -c '^err' <<<"$out") != "$CONNS" ]]; then
        ok=FAIL why+=" $side: missing answers;"
      elif grep '^err' <<<"$out" | grep -v '^err 1105 ' | grep -q .; then
        ok=FAIL why+=" $side error code not 1105: $(grep '^err' <<<"$out" | grep -v '^err 1105 ' | head -n 1);"
      elif grep '^err' <<<"$out" | grep -v 'myspoa' | grep -q .; then
        ok=FAIL why+=" $side error without 'myspoa': $(grep '^err' <<<"$out" | grep -v myspoa | head -n 1);"
      elif grep '^err' <<<"$out" | grep -vF -- "$reason" | grep -q .; then
        ok=FAIL why+=" $side error without '$reason': $(grep '^err' <<<"$out" | grep -vF -- "$reason" | head -n 1);"
      else
        seen="refused"
      fi
    else
      [[ $seen == "$want" ]] || { ok=FAIL why+=" $side seen {$seen} want {$want};"; }
      ((errs == 0)) || { ok=FAIL why+=" $side $errs errors: $(grep '^err' <<<"$out" | head -n 1);"; }
    fi
    if [[ $side == writes ]]; then seen_w=$seen; else seen_r=$seen; fi
  done
  [[ $ok == PASS ]] || FAILS=$((FAILS + 1))
  add_row "$name" "$ok" "$want_w" "$seen_w" "$want_r" "$seen_r" "${why:-}"
  say "row '$name': $ok writes want {$want_w} seen {$seen_w}, reads want {$want_r} seen {$seen_r}${why:+ --$why}"
  if [[ $want_w == refused || $want_r == refused ]]; then
    say "  refusal text: $(grep -m1 '^err' <<<"$w$r" || true)"
  fi
}

# fault_row NAME SCENARIO WRITES READS REASON FAULT-COMMANDS... -- RESTORE-COMMANDS...
# Each command is one labctl invocation written as a single word "cmd:arg" ("crash:db02").
fault_row() {
  local name=$1 scenario=$2 want_w=$3 want_r=$4 reason=$5 off t_inj c
  shift 5
  local fault=() restore=() into=fault
  for c in "$@"; do
    if [[ $c == -- ]]; then into=restore; continue; fi
    if [[ $into == fault ]]; then fault+=("$c"); else restore+=("$c"); fi
  done
  say "== $name: ${fault[*]}"
  off=$(log_size)
  t_inj=$(now_ms)
  for c in "${fault[@]}"; do lab ${c//:/ }; done
  if wait_scenario "$off" "$scenario" 30; then
    say "agent decided '$scenario' $(($(now_ms) - t_inj)) ms after the fault"
    check_row "$name" "$want_w" "$want_r" "$reason"
  else
    FAILS=$((FAILS + 1))
    add_row "$name" FAIL "$want_w" "?" "$want_r" "?" "no 'scenario $scenario' in 30 s (last: $(grep 'scenario ' "$LOG" | tail -n 1 | cut -c1-90))"
    say "row '$name': FAIL: the agent never logged scenario $scenario"
  fi
  for c in "${restore[@]}"; do lab ${c//:/ }; done
  local t_rest
  t_rest=$(now_ms)
  if wait_healthy 90; then
    say "healthy again $(($(now_ms) - t_rest)) ms after restoring"
  else
    FAILS=$((FAILS + 1))
    add_row "restore after $name" FAIL 1 "?" 1,2,3,4,5 "?" "not healthy within 90 s"
  fi
}

# ---------------------------------------------------------------------------------------------
# Lab start: our agent binary, the repository's haproxy.cfg, a clean replication state.

say "lab $LAB, agent $AGENT, $CONNS connections per frontend and row"
"$LABCTL" down >/dev/null 2>&1 || true
: >"$LOG" 2>/dev/null || true
"$LABCTL" up --mysql-only >"$LAB.e2e-up.log" 2>&1 || { cat "$LAB.e2e-up.log"; echo "FATAL: labctl up"; exit 1; }
for db in db01 db02 db03 db04 db05; do "$LABCTL" lag "$db" 0 >/dev/null || { echo "FATAL: lag $db 0"; exit 1; }; done
"$LABCTL" wait-repl 60 >/dev/null 2>&1 || say "warning: replicas not caught up"

# The agent's configurations: the lab's (tests/lab/myspoa.yaml) with this lab's runtime API socket
# and on-demand consistency runs over the app schema; and a slow-start copy (rise 80: ~20 s until
# the first probe round completes) for the `starting` row.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
CONFIG=$LAB/e2e-myspoa.yaml
SLOW_CONFIG=$LAB/e2e-myspoa-slow-start.yaml
{
  sed -e "s#\"/tmp/myspoa-lab/haproxy.sock\"#\"$LAB/haproxy.sock\"#" "$REPO/tests/lab/myspoa.yaml"
  printf 'consistency: {databases: {include: [app]}, on_inconsistent: drain}\n'
} >"$CONFIG"
sed -e 's/^  rise: 2$/  rise: 80/' "$CONFIG" >"$SLOW_CONFIG"
grep -q '^  rise: 80$' "$SLOW_CONFIG" || { echo "FATAL: no 'rise: 2' line in the lab config"; exit 1; }
"$AGENT" --check-config "$CONFIG" >/dev/null || { echo "FATAL: $CONFIG invalid"; exit 1; }
ADMIN_URL=http://127.0.0.1:9400

: >"$LOG"
MYSPOA_CONFIG=$SLOW_CONFIG "$LABCTL" up >>"$LAB.e2e-up.log" 2>&1 || { cat "$LAB.e2e-up.log"; echo "FATAL: labctl up"; exit 1; }
grep -qE '^agent up' <("$LABCTL" status) || { cat "$LAB.e2e-up.log"; echo "FATAL: agent not running"; exit 1; }
grep -qE '^haproxy up' <("$LABCTL" status) || { cat "$LAB.e2e-up.log"; echo "FATAL: HAProxy not running"; exit 1; }

# 0. Starting: the agent answers before its first probe round is complete; both sides are refused
# with the reason (HAProxy takes a second or two to see the new agent: until then its static
# fallback routes, so wait for the first refusal).
say "== starting (first probe round not complete)"
STARTING_REASON="state not yet known"
# (No pipe into grep: e2e_client exits 1 when a connection is refused, and pipefail is on.)
starting_seen() { [[ $(probe "$WRITE_PORT" 1) == "err 1105 "*"$STARTING_REASON"* ]]; }
deadline=$(($(now_ms) + 15000))
until starting_seen || (($(now_ms) > deadline)); do sleep 0.1; done
if starting_seen; then
  check_row "starting" refused refused "$STARTING_REASON"
else
  FAILS=$((FAILS + 1))
  add_row "starting" FAIL refused "?" refused "?" "no refusal with '$STARTING_REASON' in 15 s"
fi
# The lab agent again, on the normal configuration.
slow_pid=$(cat "$LAB/myspoa.pid" 2>/dev/null)
[[ $slow_pid =~ ^[0-9]+$ ]] && kill "$slow_pid" 2>/dev/null
for _ in $(seq 100); do kill -0 "$slow_pid" 2>/dev/null || break; sleep 0.1; done
log_off=$(log_size)
MYSPOA_CONFIG=$CONFIG "$LABCTL" up >>"$LAB.e2e-up.log" 2>&1 || { cat "$LAB.e2e-up.log"; echo "FATAL: labctl up"; exit 1; }
grep -qE '^agent up' <("$LABCTL" status) || { cat "$LAB.e2e-up.log"; echo "FATAL: agent not running"; exit 1; }

# 1. All healthy (from a fresh agent: the first complete probe round).
say "== all healthy"
if wait_scenario "$log_off" healthy 30 && wait_healthy 60; then
  check_row "all healthy" 1 1,2,3,4,5 ""
else
  FAILS=$((FAILS + 1))
  add_row "all healthy" FAIL 1 "?" 1,2,3,4,5 "?" "lab never healthy"
  echo "FATAL: the lab never became healthy; no point in injecting faults"
  tail -n 20 "$LOG"
  exit 1
fi

# 2-7. The failure table.
fault_row "db02 replication broken" db02-replication-broken 1 1,3,4 "" stop-repl:db02 -- start-repl:db02
fault_row "db01 replication broken" db01-replication-broken 2 2,5 "" stop-repl:db01 -- start-repl:db01
fault_row "split brain" split-brain refused 1,2 "split brain" \
  stop-repl:db01 stop-repl:db02 -- start-repl:db01 start-repl:db02
fault_row "db02 down" db02-down 1 1,3,4 "" crash:db02 -- start:db02
fault_row "db01 down" db01-down 2 2,5 "" crash:db01 -- start:db01
fault_row "both masters down" all-masters-down refused refused "all masters down" \
  crash:db01 crash:db02 -- start:db01 start:db02

# 8. A lagging replica: db03 applies db01's events 30 s late while db01 takes a write every 0.25 s,
# so its Seconds_Behind_Master passes max_lag_s (5 s in tests/lab/myspoa.yaml).
say "== db03 lagging"
lab lag db03 30 >/dev/null
(for i in $(seq 240); do
  timeout 5 mariadb --no-defaults -h127.0.0.1 -P33061 -umyspoa -pmyspoa --connect-timeout=2 -N -B \
    -e "INSERT INTO app.writes (server_id, client_seq) VALUES (@@server_id, $i)" >/dev/null 2>&1
  sleep 0.25
done) &
WRITER_PID=$!
t_inj=$(now_ms)
# The replica's own Seconds_Behind_Master must pass max_lag_s + 2 s; then the agent gets its
# hysteresis (fall 2 x interval_ms 250 ms, plus a probe timeout) before we look.
if wait_server_lag 33063 7 45; then
  say "db03 reports Seconds_Behind_Master >= 7 s $(($(now_ms) - t_inj)) ms after the delay was set"
  sleep 1.5
  check_row "db03 lagging (> max_lag_s)" 1 1,2,4,5 ""
else
  FAILS=$((FAILS + 1))
  add_row "db03 lagging (> max_lag_s)" FAIL 1 "?" 1,2,4,5 "?" "db03 lag never >= 7 s in 45 s: $("$LABCTL" status | grep ^db03)"
fi
kill "$WRITER_PID" 2>/dev/null
wait "$WRITER_PID" 2>/dev/null
WRITER_PID=""
lab lag db03 0 >/dev/null

# 9. Recovery: back to the healthy row.
say "== recovery"
t_rest=$(now_ms)
if wait_healthy 90; then
  say "healthy again $(($(now_ms) - t_rest)) ms after removing the delay"
  check_row "recovered (healthy)" 1 1,2,3,4,5 ""
else
  FAILS=$((FAILS + 1))
  add_row "recovered (healthy)" FAIL 1 "?" 1,2,3,4,5 "?" "not healthy within 90 s"
fi

# 10. Consistency through the agent: a silent change on db05 found by an on-demand run drains db05
# from the read pool; after the repair, a clean run brings it back.
checksum_runs() {
  curl -s --max-time 2 "$ADMIN_URL/checksum" | python3 -c "import json,sys
d=json.load(sys.stdin); print(-1 if d['running'] else d['runs_finished'])" 2>/dev/null
}
# checksum_run: starts a run, waits (bounded) until it finished; prints the replicas' states.
checksum_run() {
  local before n deadline
  before=$(checksum_runs)
  [[ $before =~ ^[0-9]+$ ]] || { say "checksum: no status from $ADMIN_URL/checksum"; return 1; }
  local answer
  answer=$(curl -s --max-time 5 -X POST -d '{}' "$ADMIN_URL/checksum/run")
  python3 -c "import json,sys; sys.exit(0 if json.loads(sys.argv[1]).get('started') is True else 1)" \
    "$answer" 2>/dev/null || { say "checksum: run not started: $answer"; return 1; }
  deadline=$(($(now_ms) + 180000))
  while (($(now_ms) < deadline)); do
    n=$(checksum_runs)
    [[ $n =~ ^[0-9]+$ ]] && ((n > before)) && break
    sleep 0.5
  done
  curl -s --max-time 2 "$ADMIN_URL/checksum/report" | python3 -c "import json,sys
d=json.load(sys.stdin)
print(' '.join(r['name'] + '=' + r['state'] for r in d['replicas']) + (' error=' + d['error'] if d['error'] else ''))"
}
# wait_reads SET TIMEOUT_S: until reads through HAProxy reach exactly SET.
wait_reads() {
  local deadline=$(($(now_ms) + $2 * 1000)) r
  while (($(now_ms) < deadline)); do
    r=$(probe "$READ_PORT" 30)
    [[ $(id_set "$r") == "$1" && $(errors_of "$r") == 0 ]] && return 0
    sleep 0.3
  done
  return 1
}
say "== db05 inconsistent"
lab corrupt db05 >/dev/null
t_inj=$(now_ms)
states=$(checksum_run)
say "checksum run: $states ($(($(now_ms) - t_inj)) ms)"
if [[ $states == *"db05=inconsistent"* ]] && wait_reads 1,2,3,4 15; then
  check_row "db05 inconsistent (drained)" 1 1,2,3,4 ""
else
  FAILS=$((FAILS + 1))
  add_row "db05 inconsistent (drained)" FAIL 1 "?" 1,2,3,4 "?" "run: '$states'; reads never {1,2,3,4}"
fi
lab repair db05 >/dev/null
t_rest=$(now_ms)
states=$(checksum_run)
say "checksum run after the repair: $states ($(($(now_ms) - t_rest)) ms)"
if [[ $states == *"db05=consistent"* && $states != *inconsistent* ]] && wait_reads 1,2,3,4,5 15; then
  check_row "db05 repaired (clean run)" 1 1,2,3,4,5 ""
else
  FAILS=$((FAILS + 1))
  add_row "db05 repaired (clean run)" FAIL 1 "?" 1,2,3,4,5 "?" "run: '$states'; reads never {1,2,3,4,5}"
fi

echo
printf '%-26s | %-8s | %-10s | %-9s | %-12s | %-10s | %s\n' row result "writes:want" seen "reads:want" seen notes
printf '%s\n' "$(printf '%.0s-' {1..110})"
printf '%s\n' "${ROWS[@]}"
echo
say "$((${#ROWS[@]} - FAILS)) of ${#ROWS[@]} rows pass ($CONNS connections per frontend and row)"
((FAILS == 0))
