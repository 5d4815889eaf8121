#!/usr/bin/env bash
# Integration test of tests/lab/labctl against real mariadbd processes: brings a private lab up from
# nothing, checks that every server replicates the right master and that the accounts have the
# privileges the agent needs, exercises every fault command and checks its effect on SHOW SLAVE
# STATUS and on the data, then tears the lab down (trap). Every wait is bounded.
# Usage: lab_test.sh LABCTL [LAB_LOAD_BIN]
set -euo pipefail

LABCTL=${1:?usage: lab_test.sh LABCTL [LAB_LOAD_BIN]}
# Its ports are private, but five more mariadbd on a 2-core machine skew every other lab test's
# timings: it holds the lab lock like all of them (unless MYSPOA_LAB_LOCK_HELD=1).
LOCK=/tmp/myspoa-lab-dev.lock
if [[ ${MYSPOA_LAB_LOCK_HELD:-0} != 1 ]]; then
  echo "lab_test: waiting for $LOCK"
  MYSPOA_LAB_LOCK_HELD=1 exec flock -o -w 1800 "$LOCK" "$0" "$@"
fi
export LAB_LOAD_BIN=${2:-${LAB_LOAD_BIN:-}}
# A private lab (own directory and ports), so the test never touches a developer's running lab.
export MYSPOA_LAB_DIR=${LAB_TEST_DIR:-/tmp/myspoa-lab-ctest}
# Below 32768: outside the kernel's ephemeral range, so no client source port can hold them.
export MYSPOA_LAB_PORT_BASE=${LAB_TEST_PORT_BASE:-26060}
LAB=$MYSPOA_LAB_DIR
BASE=$MYSPOA_LAB_PORT_BASE

failures=0
step() { printf '\n=== %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*"
  failures=$((failures + 1))
}
fatal() {
  printf 'FATAL: %s\n' "$*"
  "$LABCTL" status || true
  exit 1
}

cleanup() {
  "$LABCTL" destroy >/dev/null 2>&1 || "$LABCTL" down || true
}
trap cleanup EXIT

port() { echo $((BASE + 10#${1#db})); }

# Query as root through the socket, no headers.
q() {
  timeout 10 mariadb --no-defaults -uroot -S "$LAB/$1/mysqld.sock" --connect-timeout=2 -N -B -e "$2"
}
# Query over TCP as a given user (checks the lab's accounts).
qu() {
  local db=$1 user=$2
  timeout 10 mariadb --no-defaults -h127.0.0.1 -P"$(port "$db")" -u"$user" -p"$user" \
    --connect-timeout=2 -N -B -e "$3"
}
# One field of SHOW SLAVE STATUS, read as the myspoa user (its SLAVE MONITOR grant).
slave() {
  timeout 10 mariadb --no-defaults -h127.0.0.1 -P"$(port "$1")" -umyspoa -pmyspoa --connect-timeout=2 \
    -B -e 'SHOW SLAVE STATUS\G' 2>/dev/null |
    awk -v f="$2" -F': ' '{k=$1; gsub(/^ +/, "", k)} k==f {print $2; exit}'
}

# wait_for TIMEOUT_S DESCRIPTION COMMAND...: poll COMMAND every 0.2 s until it succeeds.
wait_for() {
  local t=$1 what=$2 deadline
  shift 2
  deadline=$(($(date +%s%N) / 1000000 + t * 1000))
  while ! "$@" >/dev/null 2>&1; do
    if (($(date +%s%N) / 1000000 >= deadline)); then
      fail "$what (not within $t s)"
      return 0
    fi
    sleep 0.2
  done
  ok "$what"
}

has_seq() { [[ $(q "$1" "SELECT COUNT(*) FROM app.writes WHERE client_seq=$2") == 1 ]]; }
lacks_seq() { [[ $(q "$1" "SELECT COUNT(*) FROM app.writes WHERE client_seq=$2") == 0 ]]; }
threads_are() { [[ "$(slave "$1" Slave_IO_Running)/$(slave "$1" Slave_SQL_Running)" == "$2" ]]; }
io_is_not_yes() { [[ $(slave "$1" Slave_IO_Running) != Yes ]]; }
master_port_is() { [[ $(slave "$1" Master_Port) == "$(port "$2")" ]]; }

# write_on dbNN: one row with a fresh client_seq, left in $s (root may write on read_only servers).
s=1000000
write_on() {
  s=$((s + 1))
  q "$1" "INSERT INTO app.writes (server_id, client_seq) VALUES (@@server_id, $s)"
}

# ---------------------------------------------------------------------------------------------
step "up from nothing ($LAB, ports $((BASE + 1))..$((BASE + 5)))"
"$LABCTL" destroy >/dev/null
t0=$(date +%s%N)
# labctl runs with an extra descriptor open (as under flock or a CI runner's pipe): the servers it
# starts must not inherit it, or a lock would be held for as long as the lab runs.
marker=$(mktemp /tmp/lab-test-fd.XXXXXX)
"$LABCTL" up --mysql-only 9>>"$marker" || fatal "labctl up failed"
echo "up from nothing took $((($(date +%s%N) - t0) / 1000000)) ms"
holders=$( (find /proc/[0-9]*/fd -lname "$marker" 2>/dev/null || true) | cut -d/ -f3 | sort -u | tr '\n' ' ')
if [[ -z $holders ]]; then ok "no server inherited labctl's descriptors"; else
  fail "processes $holders hold a descriptor inherited from labctl"
fi
rm -f "$marker"
t0=$(date +%s%N)
"$LABCTL" up --mysql-only >/dev/null || fail "second up (idempotent) failed"
echo "up when already up took $((($(date +%s%N) - t0) / 1000000)) ms"

step "topology"
for pair in db01:db02 db02:db01 db03:db01 db04:db01 db05:db02; do
  db=${pair%:*}
  m=${pair#*:}
  if master_port_is "$db" "$m" && threads_are "$db" Yes/Yes; then
    ok "$db replicates $m (IO and SQL running)"
  else
    fail "$db: master port $(slave "$db" Master_Port), threads $(slave "$db" Slave_IO_Running)/$(slave "$db" Slave_SQL_Running), expected $m Yes/Yes"
  fi
  [[ $(q "$db" "SELECT @@server_id") == "${db#db0}" ]] || fail "$db server_id"
done
for db in db01 db02; do
  [[ $(q "$db" "SELECT @@read_only") == 0 ]] && ok "$db (master) writable" || fail "$db should be writable"
done
for db in db03 db04 db05; do
  [[ $(q "$db" "SELECT @@read_only") == 1 ]] || fail "$db should be read_only"
done
for db in db01 db02 db03 db04 db05; do
  [[ $(q "$db" "SELECT COUNT(*) FROM app.t") == 100000 ]] || fail "$db: app.t should have 100000 rows"
  [[ $(q "$db" "SELECT COUNT(*) FROM app.nulls WHERE a IS NULL") -gt 0 ]] || fail "$db: app.nulls has no NULL"
  [[ $(q "$db" "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema='app'
        AND table_name='nopk' AND index_name='PRIMARY'") == 0 ]] || fail "$db: app.nopk has a primary key"
done
ok "app tables present on all five"

step "replication paths"
write_on db01
for db in db02 db03 db04 db05; do wait_for 15 "write on db01 visible on $db" has_seq "$db" "$s"; done
write_on db02
for db in db01 db05; do wait_for 15 "write on db02 visible on $db" has_seq "$db" "$s"; done

step "accounts"
qu db03 myspoa "SHOW SLAVE STATUS; SHOW MASTER STATUS; SHOW PROCESSLIST; SELECT @@gtid_binlog_pos" >/dev/null &&
  ok "myspoa: monitoring statements" || fail "myspoa cannot run the monitoring statements"
qu db03 myspoa "SET GLOBAL read_only=1" && ok "myspoa: SET GLOBAL read_only" || fail "myspoa cannot set read_only"
qu db01 myspoa "CREATE TABLE IF NOT EXISTS myspoa.probe (id INT PRIMARY KEY, v INT);
  REPLACE INTO myspoa.probe SELECT 1, COUNT(*) FROM app.t" && ok "myspoa: REPLACE into myspoa.* from app.*" ||
  fail "myspoa cannot write myspoa.*"
qu db05 myspoa "SET SESSION binlog_format=STATEMENT; SET SESSION sql_log_bin=0" && ok "myspoa: session binlog settings" ||
  fail "myspoa cannot set binlog_format / sql_log_bin"
if qu db03 app "INSERT INTO app.writes (server_id, client_seq) VALUES (3, 1)" 2>/dev/null; then
  fail "user app could write on read_only db03"
else
  ok "user app is refused on read_only db03"
fi
qu db01 app "SELECT COUNT(*) FROM app.writes" >/dev/null && ok "user app reads app.*" || fail "user app cannot read"

step "stop-repl / start-repl db05"
"$LABCTL" stop-repl db05
threads_are db05 No/No && ok "db05 threads No/No after stop-repl" || fail "db05 threads after stop-repl"
write_on db02
sleep 1
lacks_seq db05 "$s" && ok "db05 does not receive writes while stopped" || fail "db05 received a write while stopped"
"$LABCTL" start-repl db05
wait_for 10 "db05 threads Yes/Yes after start-repl" threads_are db05 Yes/Yes
wait_for 10 "db05 catches up after start-repl" has_seq db05 "$s"

step "lag db03 5"
"$LABCTL" lag db03 5
[[ $(slave db03 SQL_Delay) == 5 ]] && ok "db03 SQL_Delay=5" || fail "db03 SQL_Delay is $(slave db03 SQL_Delay)"
write_on db01
wait_for 10 "db04 (not delayed) gets the write" has_seq db04 "$s"
lacks_seq db03 "$s" && ok "db03 has not applied it yet" || fail "db03 applied a write before its delay"
wait_for 15 "db03 applies it after the delay" has_seq db03 "$s"
"$LABCTL" lag db03 0
[[ $(slave db03 SQL_Delay) == 0 ]] && ok "db03 SQL_Delay=0" || fail "db03 SQL_Delay after lag 0"

step "freeze / thaw db04"
"$LABCTL" freeze db04
grep -q '^db04 .*frozen' <<<"$("$LABCTL" status)" && ok "status says db04 frozen" || fail "status does not show db04 frozen"
if timeout 3 mariadb --no-defaults -h127.0.0.1 -P"$(port db04)" -umyspoa -pmyspoa --connect-timeout=1 \
  -e 'SELECT 1' >/dev/null 2>&1; then fail "frozen db04 answered"; else ok "frozen db04 does not answer"; fi
write_on db01
"$LABCTL" thaw db04
wait_for 15 "db04 answers and catches up after thaw" has_seq db04 "$s"

step "crash / start db01 (a master)"
"$LABCTL" crash db01
grep -q '^db01 .* down' <<<"$("$LABCTL" status)" && ok "status says db01 down" || fail "status does not show db01 down"
for db in db02 db03 db04; do wait_for 15 "$db IO thread notices its master is gone" io_is_not_yes "$db"; done
write_on db02
t0=$(date +%s%N)
"$LABCTL" start db01
echo "start db01 took $((($(date +%s%N) - t0) / 1000000)) ms"
for db in db02 db03 db04; do wait_for 15 "$db reconnects to db01" threads_are "$db" Yes/Yes; done
wait_for 15 "db01 replication from db02 resumes" threads_are db01 Yes/Yes
wait_for 15 "db01 gets the write db02 took while it was down" has_seq db01 "$s"
write_on db01
wait_for 15 "db03 gets a new write on db01" has_seq db03 "$s"

step "crash / start db05 (a replica)"
"$LABCTL" crash db05
write_on db02
"$LABCTL" start db05
wait_for 15 "db05 replication resumes after restart" threads_are db05 Yes/Yes
wait_for 15 "db05 gets the write it missed" has_seq db05 "$s"

step "corrupt / repair db04"
out=$("$LABCTL" corrupt db04 4242)
echo "$out"
[[ $out == *"id=4242"* ]] && ok "corrupt names the row" || fail "corrupt does not say which row"
row() { q "$1" "SELECT MD5(CONCAT_WS('|', id, k, c, pad)) FROM app.t WHERE id=4242"; }
[[ $(row db04) != "$(row db01)" ]] && ok "db04 row 4242 differs from db01" || fail "corrupt changed nothing"
sleep 1
[[ $(row db03) == "$(row db01)" ]] && ok "the change did not replicate (db03 intact)" || fail "corruption replicated"
"$LABCTL" repair db04
[[ $(row db04) == "$(row db01)" ]] && ok "repair re-synced db04 row 4242" || fail "repair did not fix db04"

step "load --direct db01"
if [[ -x ${LAB_LOAD_BIN:-} ]]; then
  "$LABCTL" load 2 25 --direct db01
  acked=$(grep -vc '^#' "$LAB/load.tsv" || true)
  ((acked >= 40)) && ok "$acked acknowledged writes recorded" || fail "only $acked acknowledged writes"
  "$LABCTL" wait-repl 20 || fail "wait-repl after load"
  ids=$(grep -v '^#' "$LAB/load.tsv" | awk '{printf "%s(%s,%s)", (NR>1?",":""), $1, $2}')
  found=$(q db05 "SELECT COUNT(*) FROM app.writes WHERE (id, client_seq) IN ($ids)")
  [[ $found == "$acked" ]] && ok "every acknowledged write is on db05" || fail "db05 has $found of $acked acknowledged writes"
else
  echo "skip: lab_load not built (LAB_LOAD_BIN=${LAB_LOAD_BIN:-})"
fi

step "two balancers: relays, partition lb2 db01, heal"
"$LABCTL" up --mysql-only --lbs 2 >/dev/null || fail "up --mysql-only --lbs 2 failed"
# lbN reaches db0M through 127.0.0.1N on db0M's own port. via LB DB [QUERY]
via() {
  timeout "${VIA_TIMEOUT:-5}" mariadb --no-defaults --skip-ssl -h"127.0.0.1$1" -P"$(port "$2")" -uapp -papp \
    --connect-timeout=2 -N -B -e "${3:-SELECT @@server_id}"
}
relays_ok=1
for n in 1 2 3 4 5; do
  [[ $(via 1 db0$n 2>/dev/null) == "$n" && $(via 2 db0$n 2>/dev/null) == "$n" ]] || relays_ok=0
done
((relays_ok)) && ok "every relay of lb1 and lb2 reaches its server" || fail "a relay does not reach its server"
# A session established through lb2's relay to db01 must be cut by the partition.
VIA_TIMEOUT=40 via 2 db01 "SELECT SLEEP(30)" >/dev/null 2>&1 &
held=$!
sleep 1
t0=$(date +%s%N)
"$LABCTL" partition lb2 db01
for ((i = 0; i < 50; i++)); do [[ -d /proc/$held ]] || break; sleep 0.1; done
if [[ -d /proc/$held ]]; then fail "the session through lb2's relay to db01 survived the partition"; kill "$held"; else
  ok "the established session through lb2's relay to db01 was cut ($((($(date +%s%N) - t0) / 1000000)) ms)"
fi
wait "$held" 2>/dev/null || true
! via 2 db01 >/dev/null 2>&1 && ok "lb2 cannot reach db01" || fail "lb2 still reaches db01 after partition"
[[ $(via 1 db01) == 1 ]] && ok "lb1 still reaches db01" || fail "lb1 lost db01"
[[ $(via 2 db02) == 2 ]] && ok "lb2 still reaches db02" || fail "lb2 lost db02"
grep -q '^relays lb2: db01=partitioned db02=up' <<<"$("$LABCTL" status)" && ok "status shows the partition" ||
  fail "status does not show lb2's db01 relay partitioned"
write_on db01
wait_for 10 "db03 still replicates db01 directly during the partition" has_seq db03 "$s"
"$LABCTL" up --mysql-only >/dev/null || fail "up (idempotent) with two balancers failed"
! via 2 db01 >/dev/null 2>&1 && ok "an idempotent up keeps the partition" || fail "up healed the partition"
"$LABCTL" heal lb2 db01
[[ $(via 2 db01) == 1 ]] && ok "after heal lb2 reaches db01 again" || fail "heal did not restore lb2 -> db01"
"$LABCTL" partition lb3 db01 >/dev/null 2>&1 && fail "partition lb3 accepted" || ok "partition lb3 refused"

step "final state"
"$LABCTL" wait-repl 20 && ok "wait-repl" || fail "wait-repl"
"$LABCTL" status
for pair in db01:db02 db02:db01 db03:db01 db04:db01 db05:db02; do
  threads_are "${pair%:*}" Yes/Yes || fail "${pair%:*} not replicating at the end"
done
t0=$(date +%s%N)
"$LABCTL" down
echo "down took $((($(date +%s%N) - t0) / 1000000)) ms"
for db in db01 db02 db03 db04 db05; do
  [[ ! -S $LAB/$db/mysqld.sock ]] || fail "$db socket still there after down"
done
"$LABCTL" down >/dev/null || fail "second down (idempotent) failed"
left=""
for n in 1 2 3 4 5; do left+=$(pgrep -f "TCP-LISTEN:$((BASE + n)),bind=127.0.0.1[12]," | tr '\n' ' ' || true); done
[[ -z $left ]] && ok "down stopped every relay" || fail "relays still running after down: $left"

if ((failures)); then
  printf '\n%d check(s) failed\n' "$failures"
  exit 1
fi
printf '\nall lab checks passed\n'
