#!/usr/bin/env bash
# Benchmark: Debian's pt-table-checksum against myspoa's consistency checker on the same lab data
# with the same corruption (db03 changed row, db05 changed row under the passive master).
# Prints both wall times, both findings per replica, and the difference on db05 plainly.
#   tests/bench/consistency/run_bench.sh [BUILD_DIR]     (default build/)
# Needs: the lab (labctl up --mysql-only is run if needed), percona-toolkit
# (apt-get install -y percona-toolkit), build target consistency_check.
# Honours MYSPOA_LAB_DIR / MYSPOA_LAB_PORT_BASE like labctl. Repairs what it corrupted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BUILD=${1:-$REPO/build}
LABCTL=$REPO/tests/lab/labctl
BASE=${MYSPOA_LAB_PORT_BASE:-33060}
CHECK=$BUILD/bin/consistency_check
command -v pt-table-checksum >/dev/null || { echo "pt-table-checksum missing: apt-get install -y percona-toolkit" >&2; exit 2; }
[[ -x $CHECK ]] || { echo "$CHECK missing: cmake --build $BUILD --target consistency_check" >&2; exit 2; }

"$LABCTL" up --mysql-only >/dev/null
"$LABCTL" wait-repl 60 >/dev/null
for db in db03 db05; do "$LABCTL" repair "$db" >/dev/null 2>&1 || true; done

cleanup() { for db in db03 db05; do "$LABCTL" repair "$db" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT
"$LABCTL" corrupt db03 31337
"$LABCTL" corrupt db05 72002

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

PT_ARGS=(h=127.0.0.1,P=$((BASE + 1)),u=myspoa,p=myspoa --replicate=myspoa.pt_checksums
  --no-check-binlog-format --databases=app --chunk-time=0.5 --max-lag=1)
echo "== pt-table-checksum $(pt-table-checksum --version | awk '{print $2}'): pt-table-checksum ${PT_ARGS[*]} --recursion-method=dsn=...,t=pt_dsns"
t0=$(date +%s.%N)
pt-table-checksum "${PT_ARGS[@]}" --recursion-method=dsn=h=127.0.0.1,P=$((BASE + 1)),D=myspoa,t=pt_dsns || true
t1=$(date +%s.%N)
pt_wall=$(echo "$t1 - $t0" | bc)
pt_work=$("$LABCTL" sql db01 "SELECT ROUND(SUM(chunk_time), 3) FROM myspoa.pt_checksums" | tail -1)
declare -A pt_found
for n in 2 3 4 5; do
  out=$(pt-table-checksum "${PT_ARGS[@]}" --replicate-check-only \
    --recursion-method=dsn=h=127.0.0.1,P=$((BASE + 1)),D=myspoa,t=pt_dsn_db0$n 2>&1 || true)
  tables=$(awk '/^Differences on/ {on=1; next} on && NF && $1 != "TABLE" {print $1}' <<<"$out" | sort | uniq -c |
    awk '{printf "%s%s (%d chunk%s)", sep, $2, $1, ($1 > 1 ? "s" : ""); sep=", "}')
  pt_found[db0$n]=${tables:-consistent}
done

echo
echo "== myspoa: $CHECK"
t0=$(date +%s.%N)
my_out=$("$CHECK" || true)
t1=$(date +%s.%N)
echo "$my_out"
my_wall=$(echo "$t1 - $t0" | bc)
my_work=$("$LABCTL" sql db01 "SELECT ROUND(SUM(chunk_time), 3) FROM myspoa.checksums" | tail -1)
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

echo
echo "== Comparison (corrupted: db03 app.t id=31337, db05 app.t id=72002)"
printf '%-6s %-34s %-34s %s\n' replica pt-table-checksum myspoa same
same_direct=1
for n in 2 3 4 5; do
  db=db0$n
  s=yes
  [[ ${pt_found[$db]} == "${my_found[$db]}" ]] || s=no
  [[ $db != db05 && $s == no ]] && same_direct=0
  printf '%-6s %-34s %-34s %s\n' "$db" "${pt_found[$db]}" "${my_found[$db]}" "$s"
done
echo
printf 'wall time:     pt-table-checksum %.2f s, myspoa %.2f s\n' "$pt_wall" "$my_wall"
printf 'checksum work: pt-table-checksum %s s, myspoa %s s (sum of chunk_time on the writer)\n' "$pt_work" "$my_work"
echo "db05 (replica of the passive master db02): pt-table-checksum says '${pt_found[db05]}', myspoa says '${my_found[db05]}'."
if [[ ${pt_found[db05]} == consistent && ${my_found[db05]} != consistent ]]; then
  echo "  -> pt-table-checksum MISSES db05's drift: db02 re-logs the checksum statements as rows, so db05 holds db02's results; myspoa computes db05's chunks on db05 itself."
fi
echo "goal: identical findings on db02/db03/db04: $([[ $same_direct == 1 ]] && echo met || echo NOT met)"
echo "goal: myspoa finds db05's drift: $([[ ${my_found[db05]} == app.t* ]] && echo met || echo NOT met)"
echo "goal: myspoa's time <= pt's: $([[ $(echo "$my_wall <= $pt_wall" | bc) == 1 ]] && echo met || echo NOT met)"
