#!/usr/bin/env bash
# Benchmark: Debian's pt-table-checksum against myspoa's consistency checker on the same lab data
# with the same corruption (one changed row on db03, one on db05 under the passive master).
#   tests/bench/consistency/run_bench.sh [--rows N] [--timeout S] [--keep] [BUILD_DIR]
# Without --rows: the lab's own tables (app.*: app.t has 100,000 rows). With --rows N: a table
# app.bench_t of N rows is created on each of the five servers (sql_log_bin=0, the same
# deterministic rows everywhere, so loading it costs no replication) and only that table is
# checked; it is kept for the next run with the same N and dropped with --drop.
# Prints, per tool: wall time, rows/s, the writer's CPU time (mariadbd of db01, from /proc), the
# maximum replica lag seen while it ran (SHOW SLAVE STATUS every 0.5 s on db02..db05), and its
# finding per replica. Each tool is bounded by --timeout (default 1800 s).
# Needs: the lab (labctl up --mysql-only is run if needed), percona-toolkit
# (apt-get install -y percona-toolkit), build target consistency_check. Hold the lab lock.
# Honours MYSPOA_LAB_DIR / MYSPOA_LAB_PORT_BASE like labctl. Repairs what it corrupted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
ROWS=0
LIMIT=1800
DROP=0
BUILD=$REPO/build
while (($#)); do
  case $1 in
    --rows) ROWS=${2:?--rows N}; shift 2 ;;
    --timeout) LIMIT=${2:?--timeout S}; shift 2 ;;
    --drop) DROP=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) BUILD=$1; shift ;;
  esac
done
[[ $ROWS =~ ^[0-9]+$ ]] || { echo "--rows: a number" >&2; exit 2; }
LABCTL=$REPO/tests/lab/labctl
LAB=${MYSPOA_LAB_DIR:-/tmp/myspoa-lab}
BASE=${MYSPOA_LAB_PORT_BASE:-33060}
CHECK=$BUILD/bin/consistency_check
CLIENT=$(command -v mariadb || echo /usr/bin/mariadb)
command -v pt-table-checksum >/dev/null || { echo "pt-table-checksum missing: apt-get install -y percona-toolkit" >&2; exit 2; }
[[ -x $CHECK ]] || { echo "$CHECK missing: cmake --build $BUILD --target consistency_check" >&2; exit 2; }

# sql DB QUERY: as root over the socket, without labctl's short timeout (loading takes minutes).
sql() { timeout "$LIMIT" "$CLIENT" --no-defaults -uroot -S "$LAB/$1/mysqld.sock" -D app -N -B -e "$2"; }

"$LABCTL" up --mysql-only >/dev/null
"$LABCTL" wait-repl 60 >/dev/null

if ((ROWS > 0)); then
  TABLE=app.bench_t
  CORRUPT3=$((ROWS / 3 + 7))
  CORRUPT5=$((ROWS * 2 / 3 + 11))
  for n in 1 2 3 4 5; do
    have=$(sql db0$n "SELECT IFNULL(MAX(id), 0) FROM $TABLE" 2>/dev/null || echo 0)
    if [[ $have == "$ROWS" ]]; then continue; fi
    echo "loading $ROWS rows into $TABLE on db0$n (not replicated) ..."
    t0=$(date +%s)
    sql db0$n "SET SESSION sql_log_bin=0; DROP TABLE IF EXISTS $TABLE;
      CREATE TABLE $TABLE (id INT UNSIGNED NOT NULL PRIMARY KEY, k INT UNSIGNED NOT NULL,
        c CHAR(64) NOT NULL, pad CHAR(32) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=latin1"
    # Batches of 250,000 rows: one huge transaction would churn the lab's 8 MB redo log.
    for ((lo = 1; lo <= ROWS; lo += 250000)); do
      hi=$((lo + 249999 > ROWS ? ROWS : lo + 249999))
      sql db0$n "SET SESSION sql_log_bin=0; INSERT INTO $TABLE (id, k, c, pad)
        SELECT seq, (seq * 7919) % $ROWS, SHA2(seq, 256), MD5(seq) FROM seq_${lo}_to_${hi}"
    done
    echo "  db0$n: $(($(date +%s) - t0)) s"
  done
  TOOLS_TABLES=(--tables=$TABLE)
  MY_TABLES=(--tables $TABLE)
  corrupt() { sql "$1" "SET SESSION sql_log_bin=0; UPDATE $TABLE SET c=REVERSE(c) WHERE id=$2"; }
  repair() { sql "$1" "SET SESSION sql_log_bin=0; UPDATE $TABLE SET c=SHA2($2, 256) WHERE id=$2"; }
else
  TABLE=app.t
  CORRUPT3=31337
  CORRUPT5=72002
  TOOLS_TABLES=()
  MY_TABLES=()
  corrupt() { "$LABCTL" corrupt "$1" "$2" >/dev/null; }
  repair() { "$LABCTL" repair "$1" "$2" >/dev/null 2>&1 || true; }
fi
ROWS_TOTAL=$(sql db01 "SELECT SUM(TABLE_ROWS) FROM information_schema.TABLES WHERE TABLE_SCHEMA='app'${TOOLS_TABLES:+ AND TABLE_NAME='${TABLE#app.}'}")

cleanup() {
  repair db03 "$CORRUPT3"
  repair db05 "$CORRUPT5"
  if ((DROP && ROWS > 0)); then
    for n in 1 2 3 4 5; do sql db0$n "SET SESSION sql_log_bin=0; DROP TABLE IF EXISTS $TABLE" || true; done
  fi
  [[ -n ${LAGPID:-} ]] && kill "$LAGPID" 2>/dev/null
  rm -f "${LAGFILE:-}"
}
trap cleanup EXIT
corrupt db03 "$CORRUPT3"
corrupt db05 "$CORRUPT5"

# pt-table-checksum names replicas by host name (the same for all five here): a DSN table per
# replica lets its own --replicate-check-only say which replica differs.
sqls="CREATE TABLE IF NOT EXISTS myspoa.pt_dsns (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT NULL, dsn VARCHAR(255) NOT NULL); DELETE FROM myspoa.pt_dsns;"
for n in 2 3 4 5; do
  sqls+="CREATE TABLE IF NOT EXISTS myspoa.pt_dsn_db0$n LIKE myspoa.pt_dsns; DELETE FROM myspoa.pt_dsn_db0$n;"
  sqls+="INSERT INTO myspoa.pt_dsn_db0$n (dsn) VALUES ('h=127.0.0.1,P=$((BASE + n))');"
  sqls+="INSERT INTO myspoa.pt_dsns (dsn) VALUES ('h=127.0.0.1,P=$((BASE + n))');"
done
"$LABCTL" sql db01 "$sqls"
"$LABCTL" wait-repl 60 >/dev/null

# CPU seconds (user + system) of db01's mariadbd so far.
WRITER_PID=$(cat "$LAB/db01/mariadbd.pid")
TICK=$(getconf CLK_TCK)
writer_cpu() { awk -v t="$TICK" '{printf "%.2f", ($14 + $15) / t}' "/proc/$WRITER_PID/stat"; }
# Maximum Seconds_Behind_Master of db02..db05 while a tool runs, sampled every 0.5 s.
LAGFILE=$(mktemp /tmp/myspoa-bench-lag.XXXXXX)
lag_start() {
  : >"$LAGFILE"
  (
    end=$(($(date +%s) + LIMIT + 60))
    while (($(date +%s) < end)); do
      for n in 2 3 4 5; do
        sql db0$n "SHOW SLAVE STATUS\G" 2>/dev/null | awk '/Seconds_Behind_Master:/ {print $2}'
      done >>"$LAGFILE"
      sleep 0.5
    done
  ) &
  LAGPID=$!
}
lag_stop() {
  kill "$LAGPID" 2>/dev/null
  wait "$LAGPID" 2>/dev/null || true
  LAGPID=
  awk '$1 ~ /^[0-9]+$/ && $1 > m {m = $1} END {print m + 0}' "$LAGFILE"
}

PT_ARGS=(h=127.0.0.1,P=$((BASE + 1)),u=myspoa,p=myspoa --replicate=myspoa.pt_checksums
  --no-check-binlog-format --databases=app "${TOOLS_TABLES[@]}" --chunk-time=0.5 --max-lag=1)
echo "== pt-table-checksum $(pt-table-checksum --version | awk '{print $2}'): pt-table-checksum ${PT_ARGS[*]} --recursion-method=dsn=...,t=pt_dsns"
cpu0=$(writer_cpu)
lag_start
t0=$(date +%s.%N)
timeout "$LIMIT" pt-table-checksum "${PT_ARGS[@]}" --recursion-method=dsn=h=127.0.0.1,P=$((BASE + 1)),D=myspoa,t=pt_dsns || true
t1=$(date +%s.%N)
pt_lag=$(lag_stop)
pt_cpu=$(echo "$(writer_cpu) - $cpu0" | bc)
pt_wall=$(echo "$t1 - $t0" | bc)
pt_rows=$(sql db01 "SELECT IFNULL(SUM(this_cnt), 0) FROM myspoa.pt_checksums WHERE db='app'${TOOLS_TABLES:+ AND tbl='${TABLE#app.}'}")
declare -A pt_found
for n in 2 3 4 5; do
  out=$(pt-table-checksum "${PT_ARGS[@]}" --replicate-check-only \
    --recursion-method=dsn=h=127.0.0.1,P=$((BASE + 1)),D=myspoa,t=pt_dsn_db0$n 2>&1 || true)
  tables=$(awk '/^Differences on/ {on=1; next} on && NF && $1 != "TABLE" {print $1}' <<<"$out" | sort | uniq -c |
    awk '{printf "%s%s (%d chunk%s)", sep, $2, $1, ($1 > 1 ? "s" : ""); sep=", "}')
  pt_found[db0$n]=${tables:-consistent}
done

echo
echo "== myspoa: $CHECK ${MY_TABLES[*]}"
cpu0=$(writer_cpu)
lag_start
t0=$(date +%s.%N)
my_out=$(timeout "$LIMIT" "$CHECK" "${MY_TABLES[@]}" || true)
t1=$(date +%s.%N)
my_lag=$(lag_stop)
my_cpu=$(echo "$(writer_cpu) - $cpu0" | bc)
echo "$my_out"
my_wall=$(echo "$t1 - $t0" | bc)
my_rows=$(awk '/^myspoa: / {gsub(",", "", $4); print $4}' <<<"$my_out")
declare -A my_found
for n in 2 3 4 5; do
  line=$(grep "replica db0$n " <<<"$my_out" || true)
  if [[ $line == *"is inconsistent. Requires rebuild: "* ]]; then
    t=${line#*Requires rebuild: }
    my_found[db0$n]=${t%%  \[*}
  elif [[ $line == *" is consistent"* ]]; then
    my_found[db0$n]=consistent
  else
    my_found[db0$n]="error: ${line:-no verdict}"
  fi
done

rate() { echo "scale=0; ${1:-0} / $2" | bc; }
echo
echo "== Comparison: $TABLE${ROWS_TOTAL:+ (~$ROWS_TOTAL rows)}, corrupted: db03 id=$CORRUPT3, db05 id=$CORRUPT5; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-18s %24s %24s\n' "" pt-table-checksum myspoa
printf '%-18s %24.1f %24.1f\n' "wall time (s)" "$pt_wall" "$my_wall"
printf '%-18s %24s %24s\n' "rows checked" "$pt_rows" "${my_rows:-?}"
printf '%-18s %24s %24s\n' "rows/s" "$(rate "$pt_rows" "$pt_wall")" "$(rate "${my_rows:-0}" "$my_wall")"
printf '%-18s %24s %24s\n' "writer CPU (s)" "$pt_cpu" "$my_cpu"
printf '%-18s %24s %24s\n' "max replica lag" "${pt_lag} s" "${my_lag} s"
for n in 2 3 4 5; do
  printf '%-18s %24s %24s\n' "db0$n" "${pt_found[db0$n]}" "${my_found[db0$n]}"
done
same_direct=1
for n in 2 3 4; do [[ ${pt_found[db0$n]} == "${my_found[db0$n]}" ]] || same_direct=0; done
echo
echo "db05 (replica of the passive master db02): pt-table-checksum says '${pt_found[db05]}', myspoa says '${my_found[db05]}'."
if [[ ${pt_found[db05]} == consistent && ${my_found[db05]} != consistent ]]; then
  echo "  -> pt-table-checksum MISSES db05's drift: db02 re-logs the checksum statements as rows, so db05 holds db02's results; myspoa computes db05's chunks on db05 itself."
fi
echo "goal: identical findings on db02/db03/db04: $([[ $same_direct == 1 ]] && echo met || echo NOT met)"
echo "goal: myspoa finds db05's drift: $([[ ${my_found[db05]} == "$TABLE"* ]] && echo met || echo NOT met)"
echo "goal: myspoa's rate >= pt's: $([[ $(echo "${my_rows:-0} / $my_wall >= $pt_rows / $pt_wall" | bc) == 1 ]] && echo met || echo NOT met)"
echo "goal: myspoa's max replica lag <= consistency.max_lag_s (1 s): $([[ $my_lag -le 1 ]] && echo met || echo "NOT met ($my_lag s)")"
