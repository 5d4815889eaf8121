#!/usr/bin/env bash
# What the agent's `filter spoe` costs HAProxy, per HAProxy version. For each HAPROXY given, two
# HAProxy instances started the same way by this script from haproxy/haproxy.cfg as users copy it:
#   "with":    the file unchanged (the real agent of the lab on 12345), writes on 127.0.0.1:13346
#   "without": the same file without its two `filter spoe` lines, writes on 127.0.0.1:13316
# Both end on db01 (be_db01 chosen by the agent vs. the be_write_fallback default backend).
# rate_load then measures, alternating the two frontends:
#   1. saturation: CLIENTS clients doing connect -> MySQL greeting -> close as fast as they can,
#      DURATION_S each, ROUNDS times: conn/s, and HAProxy's CPU (utime+stime from /proc) per 1000
#      connections, plus the agent's and db01's;
#   2. latency at a fixed rate below saturation: RATE connections/s on a fixed schedule for
#      RATE_S seconds each, RATE_ROUNDS times: p50/p99 of connect() -> greeting, and the added
#      latency (with - without).
# A summary table (one line per version) ends the run, with the machine's load average.
#
# Usage: tests/bench/haproxy_rate/run.sh [HAPROXY...]
#   HAPROXY: a path to an haproxy binary, or a version (2.6, 3.0, 3.2) resolved by
#   tests/interop/haproxy-versions.sh. Default: /usr/sbin/haproxy.
# Environment: BUILD (default build), CLIENTS (8), DURATION_S (5), ROUNDS (3), RATE (300),
#   RATE_S (5), RATE_ROUNDS (2), MYSPOA_LAB_DIR.
# Holds /tmp/myspoa-lab-dev.lock (shared lab ports) for the whole run.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
BUILD=${BUILD:-$REPO/build}
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
RATE=${RATE:-300}
RATE_S=${RATE_S:-5}
RATE_ROUNDS=${RATE_ROUNDS:-2}
(($# > 0)) || set -- /usr/sbin/haproxy
HAPROXIES=()
for h in "$@"; do
  if [[ $h =~ ^[0-9]+\.[0-9]+$ ]]; then
    h=$("$REPO/tests/interop/haproxy-versions.sh" "$h") || { echo "cannot get HAProxy $h"; exit 1; }
  fi
  [[ -x $h ]] || { echo "missing $h"; exit 1; }
  HAPROXIES+=("$h")
done
for b in "$LOAD" "$MYSPOA_BIN"; do
  [[ -x $b ]] || { echo "missing $b (cmake --build $BUILD --target myspoa rate_load)"; exit 1; }
done

WORK=$(mktemp -d /tmp/myspoa-rate.XXXXXX)
BASE_PID=""
WITH_PID=""
stop_pair() {
  [[ -n $BASE_PID ]] && kill "$BASE_PID" 2>/dev/null && wait "$BASE_PID" 2>/dev/null
  [[ -n $WITH_PID ]] && kill "$WITH_PID" 2>/dev/null && wait "$WITH_PID" 2>/dev/null
  BASE_PID="" WITH_PID=""
}
cleanup() {
  stop_pair
  # The load closes before authenticating: clear the servers' host cache error counts.
  "$LABCTL" sql db01 "FLUSH HOSTS" >/dev/null 2>&1
  "$LABCTL" down >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

# The lab (MySQL + the agent; its own HAProxy on 13306 stays idle and is not measured).
"$LABCTL" down >/dev/null 2>&1
"$LABCTL" up >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; exit 1; }
grep -q '^agent up' <("$LABCTL" status) || { cat "$WORK/up.log"; echo "agent not running"; exit 1; }
PID_AGENT=$(<"$LAB/myspoa.pid")
PID_DB01=$(<"$LAB/db01/mariadbd.pid")

grep -v '^[[:space:]]*filter spoe' "$REPO/haproxy/haproxy.cfg" >"$WORK/haproxy-nospoe.cfg"
n_removed=$(($(wc -l <"$REPO/haproxy/haproxy.cfg") - $(wc -l <"$WORK/haproxy-nospoe.cfg")))
((n_removed == 2)) || { echo "expected to remove 2 'filter spoe' lines, removed $n_removed"; exit 1; }

start_haproxy() { # BINARY NAME CFG WRITE_PORT
  (
    export MYSPOA_WRITE_BIND=127.0.0.1:$4 MYSPOA_READ_BIND=127.0.0.1:$(($4 + 1))
    export MYSPOA_HAPROXY_STATS=$WORK/$2.sock MYSPOA_SPOE_CONF=$REPO/haproxy/myspoa.spoe.conf
    for n in 1 2 3 4 5; do export "MYSPOA_DB0${n}_ADDR=127.0.0.1:3306$n"; done
    "$1" -c -q -f "$3" || exit 1
    exec "$1" -db -f "$3" >"$WORK/$2.log" 2>&1
  ) &
}
# CPU time (ms) a process has used so far, from /proc/<pid>/stat (utime + stime).
cpu_ms() {
  local st
  st=$(<"/proc/$1/stat") 2>/dev/null || { echo 0; return; }
  st=${st##*) }
  awk -v hz="$(getconf CLK_TCK)" '{print int(($12 + $13) * 1000 / hz)}' <<<"$st"
}
field() { sed -nE "s/.* $1=([0-9.]+).*/\\1/p" <<<"$2"; } # NAME LINE
add() { awk -v a="$1" -v b="$2" 'BEGIN { print a + b }'; }
ready() { # both frontends answer with db01
  local p
  for p in 13316 13346; do
    [[ $(timeout 3 mariadb --no-defaults -h127.0.0.1 -P"$p" -umyspoa -pmyspoa --connect-timeout=2 -N -B \
      -e 'select @@server_id' 2>/dev/null) == 1 ]] || return 1
  done
}
SUMMARY=()

bench_one() { # HAPROXY
  local hp=$1 version load0 r p line ok secs label pid c0 c1
  version=$("$hp" -v | head -n 1 | awk '{print $3}')
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  start_haproxy "$hp" nospoe "$WORK/haproxy-nospoe.cfg" 13316
  BASE_PID=$!
  start_haproxy "$hp" with "$REPO/haproxy/haproxy.cfg" 13346
  WITH_PID=$!
  for _ in $(seq 100); do ready && break; sleep 0.3; done
  ready || { echo "frontends not routing to db01"; cat "$WORK/nospoe.log" "$WORK/with.log"; return 1; }
  echo
  echo "== HAProxy $version ($hp); load average before: $load0"
  local alog_off
  alog_off=$(stat -c %s "$LAB/myspoa.log")
  for p in 13316 13346; do "$LOAD" --port "$p" --clients "$CLIENTS" --seconds 1 >/dev/null; done # warm-up
  declare -A okn=() sec=() hcpu=() acpu=() p50=() p99=()
  for r in $(seq "$ROUNDS"); do
    for p in 13346 13316; do
      pid=$WITH_PID label="with spoe   "
      [[ $p == 13316 ]] && pid=$BASE_PID label="without spoe"
      c0=("$(cpu_ms "$pid")" "$(cpu_ms "$PID_AGENT")" "$(cpu_ms "$PID_DB01")")
      line=$("$LOAD" --port "$p" --clients "$CLIENTS" --seconds "$SECONDS_PER") || {
        echo "rate_load failed on $p: $line"
        return 1
      }
      c1=("$(cpu_ms "$pid")" "$(cpu_ms "$PID_AGENT")" "$(cpu_ms "$PID_DB01")")
      ok=$(field ok "$line") secs=$(field seconds "$line")
      okn[$p]=$((${okn[$p]:-0} + ok)) sec[$p]=$(add "${sec[$p]:-0}" "$secs")
      hcpu[$p]=$((${hcpu[$p]:-0} + c1[0] - c0[0])) acpu[$p]=$((${acpu[$p]:-0} + c1[1] - c0[1]))
      echo "  saturation round $r $label $line" \
        "cpu_ms: haproxy=$((c1[0] - c0[0])) agent=$((c1[1] - c0[1])) db01=$((c1[2] - c0[2]))"
    done
  done
  for r in $(seq "$RATE_ROUNDS"); do
    for p in 13346 13316; do
      label="with spoe   "
      [[ $p == 13316 ]] && label="without spoe"
      line=$("$LOAD" --port "$p" --clients "$CLIENTS" --seconds "$RATE_S" --rate "$RATE") || {
        echo "rate_load --rate failed on $p: $line"
        return 1
      }
      echo "  fixed rate $RATE/s round $r $label $line"
      p50[$p]+=" $(field p50_ms "$line")" p99[$p]+=" $(field p99_ms "$line")"
      [[ $(field errors "$line") == 0 ]] || echo "  WARNING: errors at the fixed rate"
      (($(field late "$line") * 20 <= $(field ok "$line"))) ||
        echo "  WARNING: more than 5% of the connections started > 5 ms late (busy machine, or $RATE/s too close to saturation)"
    done
  done
  local load1 errs
  load1=$(cut -d' ' -f1-3 /proc/loadavg)
  errs=$(tail -c +$((alog_off + 1)) "$LAB/myspoa.log" | grep -ciE ' (error|critical) ')
  stop_pair
  # Medians of the rounds' percentiles (2 rounds: their mean).
  med() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{v[NR] = $1} END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  local w50 w99 b50 b99
  w50=$(med "${p50[13346]}") w99=$(med "${p99[13346]}") b50=$(med "${p50[13316]}") b99=$(med "${p99[13316]}")
  local row
  row=$(awk -v v="$version" -v ow="${okn[13346]}" -v tw="${sec[13346]}" -v ob="${okn[13316]}" \
    -v tb="${sec[13316]}" -v hw="${hcpu[13346]}" -v hb="${hcpu[13316]}" -v aw="${acpu[13346]}" \
    -v w50="$w50" -v w99="$w99" -v b50="$b50" -v b99="$b99" -v ld="$load0 / $load1" 'BEGIN {
    rw = ow / tw; rb = ob / tb
    printf "%-17s | %7.0f | %7.0f | %5.3f | %6.0f | %6.0f | %5.0f | %5.3f / %5.3f (%+.3f) | %5.3f / %5.3f (%+.3f) | %s",
      v, rw, rb, rw / rb, hw / (ow / 1000), hb / (ob / 1000), aw / (ow / 1000),
      w50, b50, w50 - b50, w99, b99, w99 - b99, ld }')
  echo "  agent log errors during this version's run: $errs"
  SUMMARY+=("$row")
}

echo "agent $MYSPOA_BIN; rate_load: $CLIENTS clients; saturation $ROUNDS x $SECONDS_PER s per frontend;" \
  "latency at $RATE conn/s, $RATE_ROUNDS x $RATE_S s per frontend; $(nproc) cores"
for h in "${HAPROXIES[@]}"; do
  bench_one "$h" || exit 1
done
echo
echo "conn/s: saturation, CLIENTS=$CLIENTS. cpu/1k: ms of HAProxy (and agent) CPU per 1000 connections at saturation."
echo "connect->greeting latency in ms at $RATE conn/s, with / without (+added by the SPOE). load: 1/5/15-min load average before / after."
printf '%-17s | %7s | %7s | %5s | %6s | %6s | %5s | %-27s | %-27s | %s\n' HAProxy "with" without ratio \
  "cpu/1k" "cpu/1k" "agent" "p50 with / without (+add)" "p99 with / without (+add)" load
printf '%-17s | %7s | %7s | %5s | %6s | %6s | %5s | %-27s | %-27s | %s\n' "" spoe spoe "" "with" without \
  "cpu/1k" "" "" ""
printf '%s\n' "${SUMMARY[@]}"
