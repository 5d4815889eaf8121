#!/usr/bin/env bash
# Reliability on the real lab (issue 8), through the real HAProxy and the agent configured with
# cluster.fence: read_only, cluster.manage_read_only: true, haproxy.runtime_api (the lab's stats
# socket) and an alert command:
#  A. fencing at start: db02 (passive) becomes read_only, db01 stays writable.
#  B. the writer moves while the old one is up (stop-repl db01): a write connection held open on
#     db01 through 127.0.0.1:13306 is closed within 2 s of the writer change, db01 becomes
#     read_only, new writes land on db02; after start-repl db01 writes come back to db01 (made
#     writable again by the agent) and db02 is fenced again.
#  C. db01 crashes while db02 applies its relay log 2 s late (labctl lag db02 2) and a write load
#     runs through the write frontend: every write acknowledged by db01 is on db02 afterwards,
#     and db02 accepted no write before the agent logged that it applied its relay log.
#  D. the alert command ran for the writer changes with the MYSPOA_* variables.
# Usage: reliability_lab_test.sh LABCTL WRITER_CLIENT MYSPOA_BIN LAB_LOAD
# The lab ports are shared: the script holds /tmp/myspoa-lab-dev.lock (flock) unless
# MYSPOA_LAB_LOCK_HELD=1. It leaves the lab down (its agent config is not the default one).
set -uo pipefail

LABCTL=${1:?usage: reliability_lab_test.sh LABCTL WRITER_CLIENT MYSPOA_BIN LAB_LOAD}
CLIENT=${2:?}
AGENT=${3:?}
LOAD=${4:?}
LOCK=/tmp/myspoa-lab-dev.lock
if [[ ${MYSPOA_LAB_LOCK_HELD:-0} != 1 ]]; then
  echo "reliability: waiting for $LOCK"
  MYSPOA_LAB_LOCK_HELD=1 exec flock -o -w 900 "$LOCK" "$0" "$@"
fi

SRC=$(cd "$(dirname "$0")/../../.." && pwd)
export MYSPOA_BIN=$AGENT
export LAB_LOAD_BIN=$LOAD
export MYSPOA_LAB_DIR=${MYSPOA_LAB_DIR:-/tmp/myspoa-lab}
LAB=$MYSPOA_LAB_DIR
LOG=$LAB/myspoa.log
CONF=$LAB/reliability-myspoa.yaml
ALERTS=$LAB/reliability-alerts.log
export MYSPOA_CONFIG=$CONF
T0=$(date +%s)
FAILS=0
now_ms() { date +%s%3N; }
say() { printf '[%4ds] %s\n' $(($(date +%s) - T0)) "$*"; }
check() { # check NAME CONDITION-RESULT(0/1) DETAIL
  if [[ $2 == 0 ]]; then say "PASS $1${3:+: $3}"; else say "FAIL $1${3:+: $3}"; FAILS=$((FAILS + 1)); fi
}
lab() {
  local out rc
  out=$("$LABCTL" "$@" 2>&1)
  rc=$?
  ((rc == 0)) || printf 'labctl %s failed (%d):\n%s\n' "$*" "$rc" "$out" | sed 's/^/    /'
  return "$rc"
}
sqlr() { timeout 10 mariadb --no-defaults -uroot -S "$LAB/$1/mysqld.sock" --connect-timeout=3 -N -B -e "$2" 2>/dev/null; }
read_only_of() { sqlr "$1" "SELECT @@read_only"; }
log_size() { stat -c %s "$LOG" 2>/dev/null || echo 0; }
# wait_log OFFSET REGEX TIMEOUT_S: until the agent's log has a line matching REGEX after OFFSET.
wait_log() {
  local off=$1 re=$2 deadline=$(($(now_ms) + $3 * 1000))
  while (($(now_ms) < deadline)); do
    tail -c +$((off + 1)) "$LOG" 2>/dev/null | grep -qE -- "$re" && return 0
    sleep 0.1
  done
  return 1
}
# Unix ms of the first log line matching REGEX after OFFSET (log times are local).
log_time_ms() {
  local line ts
  line=$(tail -c +$(($1 + 1)) "$LOG" | grep -m1 -E -- "$2") || return 1
  ts=${line%% *}
  date -d "${ts/T/ }" +%s%3N
}
wait_value() { # wait_value TIMEOUT_S WANT CMD...: until CMD prints WANT
  local deadline=$(($(now_ms) + $1 * 1000)) want=$2
  shift 2
  while (($(now_ms) < deadline)); do
    [[ $("$@") == "$want" ]] && return 0
    sleep 0.2
  done
  return 1
}
write_once() { timeout 10 "$CLIENT" --once; }

HOLD_PID=""
LOAD_PID=""
cleanup() {
  [[ -n $HOLD_PID ]] && kill "$HOLD_PID" 2>/dev/null
  [[ -n $LOAD_PID ]] && kill "$LOAD_PID" 2>/dev/null
  local db
  for db in db01 db02 db03 db04 db05; do "$LABCTL" start "$db" >/dev/null 2>&1; done
  for db in db01 db02 db03 db04 db05; do "$LABCTL" lag "$db" 0 >/dev/null 2>&1; done
  "$LABCTL" start-repl db01 >/dev/null 2>&1
  "$LABCTL" start-repl db02 >/dev/null 2>&1
  # The masters start writable, as labctl creates them.
  sqlr db01 "SET GLOBAL read_only=0" >/dev/null
  sqlr db02 "SET GLOBAL read_only=0" >/dev/null
  [[ ${RELIABILITY_KEEP_LAB:-0} == 1 ]] || "$LABCTL" down >/dev/null 2>&1
}
trap cleanup EXIT

for f in "$CLIENT" "$AGENT" "$LOAD"; do [[ -x $f ]] || { echo "FATAL: $f missing"; exit 1; }; done

# ---- lab with our agent configuration -----------------------------------------------------------
"$LABCTL" down >/dev/null 2>&1 || true
"$LABCTL" up --mysql-only >"$LAB.reliability-up.log" 2>&1 || { cat "$LAB.reliability-up.log"; echo "FATAL: labctl up"; exit 1; }
for db in db01 db02 db03 db04 db05; do lab lag "$db" 0 || exit 1; done
lab start-repl db01
lab start-repl db02
sqlr db01 "SET GLOBAL read_only=0"
sqlr db02 "SET GLOBAL read_only=0"
"$LABCTL" wait-repl 60 >/dev/null 2>&1 || say "warning: replicas not caught up"

# The lab's config with fencing on; its haproxy section (if any) is replaced by ours (this lab dir).
awk '/^haproxy:/ {skip = 1; next} skip && /^[^ #]/ {skip = 0} !skip' "$SRC/tests/lab/myspoa.yaml" |
  sed -e 's/^  failback: auto.*/  failback: auto\n  fence: read_only\n  manage_read_only: true/' >"$CONF"
cat >>"$CONF" <<YAML
haproxy:
  runtime_api: ["$LAB/haproxy.sock"]
alerts: { command: "$LAB/reliability-alert.sh", timeout_ms: 2000 }
YAML
grep -q "fence: read_only" "$CONF" || { echo "FATAL: could not derive $CONF"; exit 1; }
: >"$ALERTS"
cat >"$LAB/reliability-alert.sh" <<SH
#!/bin/sh
printf '%s|%s|%s|%s|%s|%s\n' "\$MYSPOA_EVENT_KIND" "\$MYSPOA_EVENT_SERVER" "\$MYSPOA_WRITER" \
  "\$MYSPOA_SCENARIO" "\$MYSPOA_EVENT_TIME" "\$MYSPOA_EVENT_MESSAGE" >>"$ALERTS"
SH
chmod +x "$LAB/reliability-alert.sh"
: >"$LOG" 2>/dev/null || true
"$LABCTL" up >>"$LAB.reliability-up.log" 2>&1 || { cat "$LAB.reliability-up.log"; echo "FATAL: labctl up"; exit 1; }
grep -qE '^agent up' <("$LABCTL" status) || {
  grep -i warning "$LAB.reliability-up.log"; tail -n 30 "$LOG"; echo "FATAL: agent not running"; exit 1; }
grep -qE '^haproxy up' <("$LABCTL" status) || { echo "FATAL: HAProxy not running"; exit 1; }
wait_log 0 "scenario healthy," 30 || { tail -n 30 "$LOG"; echo "FATAL: never healthy"; exit 1; }

# ---- A. fencing at start --------------------------------------------------------------------------
wait_value 10 1 read_only_of db02
check "A: passive db02 fenced (read_only=1)" $? "db02 read_only=$(read_only_of db02)"
check "A: writer db01 writable" $([[ $(read_only_of db01) == 0 ]]; echo $?) "db01 read_only=$(read_only_of db01)"
out=$(write_once)
check "A: a write through 13306 lands on db01" $([[ $out == "ok 1" ]]; echo $?) "$out"

# ---- B. the writer moves while the old one is up: its write sessions are cut ----------------------
exec 3< <(timeout 60 "$CLIENT" --hold 40 --every-ms 100)
HOLD_PID=$!
read -r -t 10 line <&3
say "held connection: $line"
check "B: held write connection on db01" $([[ $line == "connected 1 "* ]]; echo $?) "$line"
sleep 0.5
off=$(log_size)
t_fault=$(now_ms)
lab stop-repl db01
wait_log "$off" "writer change: .*db02 takes writes" 15
check "B: writer moves to db02 after stop-repl db01" $? "$(tail -c +$((off + 1)) "$LOG" | grep -m1 'writer change' | cut -c1-160)"
t_change=$(log_time_ms "$off" "writer change: .*db02 takes writes" || now_ms)
closed=""
read -r -t 10 closed <&3
say "held connection: $closed"
if [[ $closed == closed\ * ]]; then
  t_closed=$(awk '{print $2}' <<<"$closed")
  d=$((t_closed - t_change))
  check "B: old write session closed within 2 s of the writer change" $((d <= 2000 ? 0 : 1)) \
    "closed $d ms after the writer change ($((t_closed - t_fault)) ms after the fault)"
else
  check "B: old write session closed" 1 "still open: $closed"
fi
HOLD_PID=""
grep -q "cut [0-9]* write session(s) of db01" "$LOG"
check "B: agent logged the session cut" $? "$(grep -m1 'write session(s) of db01' "$LOG" | cut -c1-160)"
wait_value 10 1 read_only_of db01
check "B: db01 fenced (read_only=1)" $? "db01 read_only=$(read_only_of db01)"
out=$(write_once)
check "B: the first new write through 13306 lands on db02 (made writable)" $([[ $out == "ok 2" ]]; echo $?) "$out"
out=$(timeout 10 mariadb --no-defaults -h127.0.0.1 -P33061 -uapp -papp -N -B -e "INSERT INTO app.writes (server_id, client_seq) VALUES (1, -1)" 2>&1)
check "B: a direct write to fenced db01 as app is refused (1290)" $([[ $out == *1290* ]]; echo $?) \
  "$(grep -m1 ERROR <<<"$out")"

off=$(log_size)
lab start-repl db01
wait_log "$off" "writer change: .*db01" 30
check "B: failback to db01 after start-repl" $?
wait_value 10 0 read_only_of db01
check "B: db01 writable again (manage_read_only)" $? "db01 read_only=$(read_only_of db01)"
wait_value 10 1 read_only_of db02
check "B: db02 fenced again" $? "db02 read_only=$(read_only_of db02)"
ok=1
for _ in $(seq 1 20); do
  out=$(write_once)
  [[ $out == "ok 1" ]] && { ok=0; break; }
  sleep 0.3
done
check "B: writes land on db01 again" $ok "$out"

# ---- C. crash of db01 with an unapplied relay log on db02 ----------------------------------------
lab lag db02 2 || exit 1
wait_log "$(log_size)" "scenario healthy," 1 >/dev/null 2>&1  # (just let a round pass)
sleep 1
rm -f "$LAB/load.tsv" "$LAB/load.tsv.err"
off=$(log_size)
"$LABCTL" load 14 25 >"$LAB/reliability-load.out" 2>&1 &
LOAD_PID=$!
sleep 4
t_crash=$(now_ms)
lab crash db01
say "db01 crashed"
wait "$LOAD_PID"
LOAD_PID=""
sed 's/^/    load: /' "$LAB/reliability-load.out" | tail -n 6
wait_log "$off" "db02 takes writes after applying its relay log" 20
check "C: db02 took writes only after applying its relay log (agent log)" $? \
  "$(tail -c +$((off + 1)) "$LOG" | grep -m1 -E 'writer change' | cut -c1-200)"
t_applied=$(log_time_ms "$off" "db02 takes writes after applying its relay log" || echo 0)
grep -qE "promotion wait expired" <(tail -c +$((off + 1)) "$LOG")
check "C: promotion wait did not expire" $((1 - $?))
# db02 applies what it received (IO thread stopped with db01 gone): wait for it.
applied() {
  sqlr db02 "SHOW SLAVE STATUS\G" | awk '/ Master_Log_File:/{f=$2} / Read_Master_Log_Pos:/{r=$2}
    / Relay_Master_Log_File:/{g=$2} / Exec_Master_Log_Pos:/{e=$2} END{print (f==g && r==e) ? "yes" : "no"}'
}
wait_value 30 yes applied
check "C: db02 relay log applied" $?
acked1=$(awk -F'\t' '!/^#/ && $3 == 1 {print $1}' "$LAB/load.tsv" | sort -n)
acked2=$(awk -F'\t' '!/^#/ && $3 == 2' "$LAB/load.tsv" | wc -l)
n1=$(wc -w <<<"$acked1")
on02=$(sqlr db02 "SELECT id FROM app.writes WHERE server_id = 1" | sort -n)
missing=$(comm -23 <(tr ' ' '\n' <<<"$acked1" | grep . | sort) <(sort <<<"$on02") | wc -l)
check "C: every write acknowledged by db01 is on db02" $((n1 > 0 && missing == 0 ? 0 : 1)) \
  "$n1 acknowledged by db01, $missing missing on db02; $acked2 acknowledged by db02"
first2=$(awk -F'\t' '!/^#/ && $3 == 2 {print $4}' "$LAB/load.tsv" | sort -n | head -n 1)
if [[ -n $first2 && $t_applied -gt 0 ]]; then
  check "C: no write accepted by db02 before it applied its relay log" \
    $((first2 >= t_applied - 5 ? 0 : 1)) \
    "first db02 ack $((first2 - t_crash)) ms after the crash, relay log applied (agent) $((t_applied - t_crash)) ms after"
else
  check "C: db02 accepted writes after the crash" 1 "first db02 ack: '${first2:-none}'"
fi

# ---- D. alerts -------------------------------------------------------------------------------------
sleep 0.5
grep -q "^writer-change|db02|db02|" "$ALERTS"
check "D: alert command ran for the writer change to db02 with MYSPOA_* variables" $? \
  "$(grep -m1 '^writer-change|db02' "$ALERTS" | cut -c1-160)"
grep -q "^backup-mode|db02|" "$ALERTS"
check "D: alert for backup mode (db01 down)" $?

say "done: $FAILS failure(s)"
((FAILS == 0)) || { echo "--- agent log (last 40 lines)"; tail -n 40 "$LOG"; }
((FAILS == 0))
