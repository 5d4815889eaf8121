#!/usr/bin/env bash
# HAProxy connections/s through the write frontend WITH the agent (the lab's HAProxy on
# 127.0.0.1:13306, haproxy/haproxy.cfg as users copy it) versus the SAME configuration without the
# `filter spoe` lines (a generated copy, its own HAProxy on 127.0.0.1:13316/13317), in the same run.
# rate_load: CLIENTS parallel clients doing connect -> read the MySQL greeting -> close for SECONDS;
# the two frontends are measured alternately ROUNDS times and the sums compared. Goal: ratio >= 0.95.
# Both end on db01 (be_db01 chosen by the agent vs. the be_write_fallback default backend).
#
# Usage: tests/bench/haproxy_rate/run.sh
# Environment: BUILD (default build-e2e), CLIENTS (8), SECONDS (5), ROUNDS (3), MYSPOA_LAB_DIR.
# Holds /tmp/myspoa-lab-dev.lock (shared lab ports) for the whole run.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
BUILD=${BUILD:-$REPO/build-e2e}
LOCK=/tmp/myspoa-lab-dev.lock
if [[ ${MYSPOA_LAB_LOCK_HELD:-0} != 1 ]]; then
  echo "haproxy_rate bench: waiting for $LOCK"
  MYSPOA_LAB_LOCK_HELD=1 exec flock -w 900 "$LOCK" "$0" "$@"
fi

LABCTL=$REPO/tests/lab/labctl
LOAD=$BUILD/bin/rate_load
export MYSPOA_BIN=${MYSPOA_BIN:-$BUILD/bin/myspoa}
export MYSPOA_LAB_DIR=${MYSPOA_LAB_DIR:-/tmp/myspoa-lab}
LAB=$MYSPOA_LAB_DIR
CLIENTS=${CLIENTS:-8}
SECONDS_PER=${SECONDS:-5}
ROUNDS=${ROUNDS:-3}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
for b in "$LOAD" "$MYSPOA_BIN" "$HAPROXY"; do
  [[ -x $b ]] || { echo "missing $b (cmake --build $BUILD --target myspoa rate_load)"; exit 1; }
done

WORK=$(mktemp -d /tmp/myspoa-rate.XXXXXX)
BASE_PID=""
cleanup() {
  [[ -n $BASE_PID ]] && kill "$BASE_PID" 2>/dev/null && wait "$BASE_PID" 2>/dev/null
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

# The baseline: haproxy.cfg without its `filter spoe` lines, on other ports, same environment.
grep -v '^[[:space:]]*filter spoe' "$REPO/haproxy/haproxy.cfg" >"$WORK/haproxy-nospoe.cfg"
n_removed=$(($(wc -l <"$REPO/haproxy/haproxy.cfg") - $(wc -l <"$WORK/haproxy-nospoe.cfg")))
((n_removed == 2)) || { echo "expected to remove 2 'filter spoe' lines, removed $n_removed"; exit 1; }
(
  export MYSPOA_WRITE_BIND=127.0.0.1:13316 MYSPOA_READ_BIND=127.0.0.1:13317
  export MYSPOA_HAPROXY_STATS=$WORK/haproxy-nospoe.sock MYSPOA_SPOE_CONF=$REPO/haproxy/myspoa.spoe.conf
  for n in 1 2 3 4 5; do export "MYSPOA_DB0${n}_ADDR=127.0.0.1:3306$n"; done
  "$HAPROXY" -c -q -f "$WORK/haproxy-nospoe.cfg" || exit 1
  exec "$HAPROXY" -db -f "$WORK/haproxy-nospoe.cfg" >"$WORK/haproxy-nospoe.log" 2>&1
) &
BASE_PID=$!

# Both frontends must answer with db01 before measuring (bounded).
ready() {
  local p
  for p in 13306 13316; do
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
"$LOAD" --port 13306 --clients "$CLIENTS" --seconds 1 >/dev/null  # warm-up (SPOE connections, caches)
"$LOAD" --port 13316 --clients "$CLIENTS" --seconds 1 >/dev/null
ok_with=0 ok_without=0 t_with=0 t_without=0
for r in $(seq "$ROUNDS"); do
  for p in 13306 13316; do
    line=$("$LOAD" --port "$p" --clients "$CLIENTS" --seconds "$SECONDS_PER")
    label="with agent   "
    [[ $p == 13316 ]] && label="without spoe "
    echo "  round $r $label $line"
    ok=$(sed -E 's/.* ok=([0-9]+).*/\1/' <<<"$line")
    secs=$(sed -E 's/.* seconds=([0-9.]+).*/\1/' <<<"$line")
    if [[ $p == 13306 ]]; then
      ok_with=$((ok_with + ok)) t_with=$(awk -v a="$t_with" -v b="$secs" 'BEGIN{print a+b}')
    else
      ok_without=$((ok_without + ok)) t_without=$(awk -v a="$t_without" -v b="$secs" 'BEGIN{print a+b}')
    fi
  done
done
awk -v a="$ok_with" -v ta="$t_with" -v b="$ok_without" -v tb="$t_without" 'BEGIN {
  ra = a / ta; rb = b / tb
  printf "with agent: %.0f conn/s   without spoe: %.0f conn/s   ratio: %.3f (goal >= 0.95)\n", ra, rb, ra / rb
}'
echo "agent log errors during the run: $(tail -c +$((ALOG_OFF + 1)) "$LAB/myspoa.log" | grep -ciE ' (error|critical) ')"
echo "connections HAProxy logged with an SPOE error (spoe_err != 0) during the run: $(tail -c +$((HLOG_OFF + 1)) "$LAB/haproxy.log" | grep -cE 'spoe_err=-?[1-9]')"
echo "connections HAProxy logged without an agent answer (agent=/): $(tail -c +$((HLOG_OFF + 1)) "$LAB/haproxy.log" | grep -c 'fe_mysql_write .* agent=/ ')"
