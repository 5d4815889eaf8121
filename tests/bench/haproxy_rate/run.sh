#!/usr/bin/env bash
# HAProxy connections/s through the write frontend WITH the agent (the lab's HAProxy on
# 127.0.0.1:13306, haproxy/haproxy.cfg as users copy it) versus the SAME configuration without the
# `filter spoe` lines (a generated copy, its own HAProxy on 127.0.0.1:13316/13317), in the same run.
# rate_load: CLIENTS parallel clients doing connect -> read the MySQL greeting -> close for SECONDS;
# the frontends are measured alternately ROUNDS times and the sums compared. Goal: ratio >= 0.95.
# Both end on db01 (be_db01 chosen by the agent vs. the be_write_fallback default backend).
#
# Usage: tests/bench/haproxy_rate/run.sh
# Environment: BUILD (default build-e2e), CLIENTS (8), DURATION_S (5), ROUNDS (3), MYSPOA_LAB_DIR.
# Holds /tmp/myspoa-lab-dev.lock (shared lab ports) for the whole run.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
BUILD=${BUILD:-$REPO/build-e2e}
LOCK=/tmp/myspoa-lab-dev.lock
if [[ ${MYSPOA_LAB_LOCK_HELD:-0} != 1 ]]; then
  echo "haproxy_rate bench: waiting for $LOCK"
  MYSPOA_LAB_LOCK_HELD=1 exec flock -o -w 900 "$LOCK" "$0" "$@"
fi

LABCTL=$REPO/tests/lab/labctl
LOAD=$BUILD/bin/rate_load
export MYSPOA_BIN=${MYSPOA_BIN:-$BUILD/bin/myspoa}
export MYSPOA_LAB_DIR=${MYSPOA_LAB_DIR:-/tmp/myspoa-lab}
LAB=$MYSPOA_LAB_DIR
CLIENTS=${CLIENTS:-8}
SECONDS_PER=${DURATION_S:-5}
ROUNDS=${ROUNDS:-3}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
for b in "$LOAD" "$MYSPOA_BIN" "$HAPROXY"; do
  [[ -x $b ]] || { echo "missing $b (cmake --build $BUILD --target myspoa rate_load)"; exit 1; }
done

WORK=$(mktemp -d /tmp/myspoa-rate.XXXXXX)
BASE_PID=""
WITH_PID=""
cleanup() {
  [[ -n $BASE_PID ]] && kill "$BASE_PID" 2>/dev/null && wait "$BASE_PID" 2>/dev/null
  [[ -n $WITH_PID ]] && kill "$WITH_PID" 2>/dev/null && wait "$WITH_PID" 2>/dev/null
  # The load closes before authenticating: clear the servers' host cache error counts.
  "$LABCTL" sql db01 "FLUSH HOSTS" >/dev/null 2>&1
  "$LABCTL" down >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

"$LABCTL" down >/dev/null 2>&1
"$LABCTL" up >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; exit 1; }
grep -q '^agent up' <("$LABCTL" status) && grep -q '^haproxy up' <("$LABCTL" status) ||
  { cat "$WORK/up.log"; echo "agent or HAProxy not running"; exit 1; }

# Two more HAProxy instances started the same way, so that only the filter differs:
#   "with":    haproxy/haproxy.cfg unchanged (the real agent on 12345), writes on 127.0.0.1:13346
#   "without": the same file without its `filter spoe` lines, writes on 127.0.0.1:13316
# The lab's own HAProxy (started by labctl, 13306) is measured too, as a third figure.
grep -v '^[[:space:]]*filter spoe' "$REPO/haproxy/haproxy.cfg" >"$WORK/haproxy-nospoe.cfg"
n_removed=$(($(wc -l <"$REPO/haproxy/haproxy.cfg") - $(wc -l <"$WORK/haproxy-nospoe.cfg")))
((n_removed == 2)) || { echo "expected to remove 2 'filter spoe' lines, removed $n_removed"; exit 1; }
start_haproxy() { # NAME CFG WRITE_PORT
  (
    export MYSPOA_WRITE_BIND=127.0.0.1:$3 MYSPOA_READ_BIND=127.0.0.1:$(($3 + 1))
    export MYSPOA_HAPROXY_STATS=$WORK/$1.sock MYSPOA_SPOE_CONF=$REPO/haproxy/myspoa.spoe.conf
    for n in 1 2 3 4 5; do export "MYSPOA_DB0${n}_ADDR=127.0.0.1:3306$n"; done
    "$HAPROXY" -c -q -f "$2" || exit 1
    exec "$HAPROXY" -db -f "$2" >"$WORK/$1.log" 2>&1
  ) &
}
start_haproxy nospoe "$WORK/haproxy-nospoe.cfg" 13316
BASE_PID=$!
start_haproxy with "$REPO/haproxy/haproxy.cfg" 13346
WITH_PID=$!

# Both frontends must answer with db01 before measuring (bounded).
ready() {
  local p
  for p in 13306 13316 13346; do
    [[ $(timeout 3 mariadb --no-defaults -h127.0.0.1 -P"$p" -umyspoa -pmyspoa --connect-timeout=2 -N -B \
      -e 'select @@server_id' 2>/dev/null) == 1 ]] || return 1
  done
}
for i in $(seq 100); do ready && break; sleep 0.3; done
ready || { echo "frontends not routing to db01"; "$LABCTL" status; cat "$WORK/haproxy-nospoe.log"; exit 1; }

echo "HAProxy $("$HAPROXY" -v | head -n1 | awk '{print $3}'), agent $MYSPOA_BIN"
echo "rate_load: $CLIENTS clients, $SECONDS_PER s per measurement, $ROUNDS rounds alternating"
HLOG_OFF=$(stat -c %s "$LAB/haproxy.log")
ALOG_OFF=$(stat -c %s "$LAB/myspoa.log")
for p in 13306 13316 13346; do  # warm-up (SPOE connections, caches)
  "$LOAD" --port "$p" --clients "$CLIENTS" --seconds 1 >/dev/null
done
# CPU time (ms) a process has used so far, from /proc/<pid>/stat (utime + stime).
cpu_ms() {
  local st
  st=$(<"/proc/$1/stat") 2>/dev/null || { echo 0; return; }
  st=${st##*) }
  awk -v hz="$(getconf CLK_TCK)" '{print int(($12 + $13) * 1000 / hz)}' <<<"$st"
}
PIDS_LAB_HAPROXY=$(<"$LAB/haproxy.pid")
PIDS_AGENT=$(<"$LAB/myspoa.pid")
PIDS_DB01=$(<"$LAB/db01/mariadbd.pid")
echo "CPU columns: ms of CPU per 1000 connections used by HAProxy (the one measured), the agent, db01"
ok_with=0 ok_without=0 ok_lab=0 t_with=0 t_without=0 t_lab=0
for r in $(seq "$ROUNDS"); do
  for p in 13346 13316 13306; do
    hp=$PIDS_LAB_HAPROXY
    [[ $p == 13316 ]] && hp=$BASE_PID
    [[ $p == 13346 ]] && hp=$WITH_PID
    c0=("$(cpu_ms "$hp")" "$(cpu_ms "$PIDS_AGENT")" "$(cpu_ms "$PIDS_DB01")")
    line=$("$LOAD" --port "$p" --clients "$CLIENTS" --seconds "$SECONDS_PER") || {
      echo "rate_load failed on $p: $line"
      exit 1
    }
    label="with agent    "
    [[ $p == 13316 ]] && label="without spoe  "
    [[ $p == 13306 ]] && label="lab's haproxy "
    c1=("$(cpu_ms "$hp")" "$(cpu_ms "$PIDS_AGENT")" "$(cpu_ms "$PIDS_DB01")")
    ok=$(sed -E 's/.* ok=([0-9]+).*/\1/' <<<"$line")
    cpu=$(awk -v ok="$ok" -v h=$((c1[0] - c0[0])) -v a=$((c1[1] - c0[1])) -v d=$((c1[2] - c0[2])) \
      'BEGIN {k = ok / 1000; if (k <= 0) k = 1; printf "cpu/1k: haproxy=%.0f agent=%.0f db01=%.0f ms", h / k, a / k, d / k}')
    echo "  round $r $label $line $cpu"
    secs=$(sed -E 's/.* seconds=([0-9.]+).*/\1/' <<<"$line")
    if [[ $p == 13306 ]]; then
      ok_lab=$((ok_lab + ok)) t_lab=$(awk -v a="$t_lab" -v b="$secs" 'BEGIN{print a+b}')
    elif [[ $p == 13346 ]]; then
      ok_with=$((ok_with + ok)) t_with=$(awk -v a="$t_with" -v b="$secs" 'BEGIN{print a+b}')
    else
      ok_without=$((ok_without + ok)) t_without=$(awk -v a="$t_without" -v b="$secs" 'BEGIN{print a+b}')
    fi
  done
done
awk -v a="$ok_with" -v ta="$t_with" -v b="$ok_without" -v tb="$t_without" -v c="$ok_lab" -v tc="$t_lab" 'BEGIN {
  ra = a / ta; rb = b / tb; rc = c / tc
  printf "with agent (13346): %.0f conn/s   without spoe (13316): %.0f conn/s   ratio: %.3f (goal >= 0.95)\n", ra, rb, ra / rb
  printf "lab haproxy started by labctl (13306, same config, same agent): %.0f conn/s   ratio: %.3f\n", rc, rc / rb
}'
echo "agent log errors during the run: $(tail -c +$((ALOG_OFF + 1)) "$LAB/myspoa.log" | grep -ciE ' (error|critical) ')"
echo "connections HAProxy logged with an SPOE error (spoe_err != 0) during the run: $(tail -c +$((HLOG_OFF + 1)) "$LAB/haproxy.log" | grep -cE 'spoe_err=-?[1-9]')"
echo "connections HAProxy logged without an agent answer (agent=/): $(tail -c +$((HLOG_OFF + 1)) "$LAB/haproxy.log" | grep -c 'fe_mysql_write .* agent=/ ')"
