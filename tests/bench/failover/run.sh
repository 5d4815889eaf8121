#!/usr/bin/env bash
# Failover benchmark on the loopback lab (figures, not pass/fail).
#   crash:  SIGKILL the active master db01 (what `labctl crash db01` sends) -> first new write
#           connection through 127.0.0.1:13306 that lands on db02. Goal p99 <= 1 s.
#   freeze: SIGSTOP db01 (`labctl freeze db01`) -> same. Goal p99 <= 1.5 s.
# failover_probe sends the signal itself (t0 = the signal) and opens a connection every 20 ms.
# Between trials db01 is restarted/thawed and we wait until writes fail back to db01 and the lab
# is healthy again.
#
# Usage: tests/bench/failover/run.sh [TRIALS]   (default 10 per fault)
# Environment: BUILD (build dir with bin/myspoa and bin/failover_probe, default build-e2e),
# MYSPOA_LAB_DIR (default /tmp/myspoa-lab), FAULTS ("crash freeze"), INTERVAL_MS (20),
# SETTLE_S (seconds of healthy lab before each trial, default 2).
# Holds /tmp/myspoa-lab-dev.lock (shared lab ports) for the whole run.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
BUILD=${BUILD:-$REPO/build-e2e}
TRIALS=${1:-10}
LOCK=/tmp/myspoa-lab-dev.lock
if [[ ${MYSPOA_LAB_LOCK_HELD:-0} != 1 ]]; then
  echo "failover bench: waiting for $LOCK"
  MYSPOA_LAB_LOCK_HELD=1 exec flock -o -w 900 "$LOCK" "$0" "$@"
fi

LABCTL=$REPO/tests/lab/labctl
PROBE=$BUILD/bin/failover_probe
export MYSPOA_BIN=${MYSPOA_BIN:-$BUILD/bin/myspoa}
export MYSPOA_LAB_DIR=${MYSPOA_LAB_DIR:-/tmp/myspoa-lab}
LAB=$MYSPOA_LAB_DIR
FAULTS=${FAULTS:-crash freeze}
INTERVAL_MS=${INTERVAL_MS:-20}
SETTLE_S=${SETTLE_S:-2}
for b in "$PROBE" "$MYSPOA_BIN"; do
  [[ -x $b ]] || { echo "missing $b (cmake --build $BUILD --target myspoa failover_probe)"; exit 1; }
done

cleanup() {
  "$LABCTL" thaw db01 >/dev/null 2>&1
  "$LABCTL" start db01 >/dev/null 2>&1
  "$LABCTL" down >/dev/null 2>&1
}
trap cleanup EXIT

# Writes on db01 and reads on all five, seen through HAProxy (bounded).
wait_healthy() {
  local deadline=$(($(date +%s) + $1)) r
  "$PROBE" --want 1 --interval-ms 50 --timeout-ms $(($1 * 1000)) >/dev/null || return 1
  while (($(date +%s) < deadline)); do
    r=$(for i in $(seq 30); do
      timeout 3 mariadb --no-defaults -h127.0.0.1 -P13307 -umyspoa -pmyspoa --connect-timeout=2 -N -B \
        -e 'select @@server_id' 2>/dev/null
    done | sort -un | paste -sd, -)
    [[ $r == 1,2,3,4,5 ]] && return 0
    sleep 0.3
  done
  return 1
}

"$LABCTL" down >/dev/null 2>&1
"$LABCTL" up >/tmp/failover-bench-up.log 2>&1 || { cat /tmp/failover-bench-up.log; exit 1; }
for db in db01 db02 db03 db04 db05; do "$LABCTL" lag "$db" 0 >/dev/null; done
wait_healthy 90 || { echo "lab not healthy"; "$LABCTL" status; exit 1; }
echo "agent $MYSPOA_BIN, $TRIALS trials per fault, a connection every $INTERVAL_MS ms"
echo "agent config: $(grep -E 'interval_ms|rise|fall|connect_timeout_ms|query_timeout_ms' \
  "$REPO/tests/lab/myspoa.yaml" | tr -s ' ' | paste -sd' ' -)"

# pct SORTED_FILE P: nearest-rank percentile.
pct() {
  local n k
  n=$(wc -l <"$1")
  k=$(((n * $2 + 99) / 100))
  ((k < 1)) && k=1
  sed -n "${k}p" "$1"
}

for fault in $FAULTS; do
  sig=KILL goal=1000
  [[ $fault == freeze ]] && sig=STOP goal=1500
  res=$(mktemp)
  echo
  echo "== $fault db01 (SIG$sig) -> first write on db02, goal <= $goal ms"
  for t in $(seq "$TRIALS"); do
    sleep "$SETTLE_S"
    line=$("$PROBE" --signal "$sig" --pidfile "$LAB/db01/mariadbd.pid" --match "$LAB/db01/my.cnf" \
      --want 2 --interval-ms "$INTERVAL_MS" --timeout-ms 15000)
    rc=$?
    printf '  trial %2d: %s\n' "$t" "$line"
    if ((rc == 0)); then
      v=${line#landed_ms=}
      echo "${v%% *}" >>"$res"
    fi
    if [[ $fault == crash ]]; then "$LABCTL" start db01 >/dev/null; else "$LABCTL" thaw db01 >/dev/null; fi
    if ! wait_healthy 90; then
      echo "  lab did not fail back to db01 / heal within 90 s: stopping this fault"
      "$LABCTL" status
      break
    fi
  done
  sort -n "$res" -o "$res"
  n=$(wc -l <"$res")
  if ((n > 0)); then
    printf '  %s: n=%d  min=%s  p50=%s  p99=%s  max=%s ms  (goal <= %d ms; %d of %d trials rerouted)\n' \
      "$fault" "$n" "$(head -n1 "$res")" "$(pct "$res" 50)" "$(pct "$res" 99)" "$(tail -n1 "$res")" \
      "$goal" "$n" "$TRIALS"
  else
    echo "  $fault: no trial rerouted"
  fi
  rm -f "$res"
done
