#!/usr/bin/env bash
# Operations surface on the real loopback lab: the agent's admin endpoint, myspoactl and a real
# Prometheus. Starts its own agent on free loopback ports (lab config, same MySQL servers).
# Checks:
#   1. crash db03: /status and `myspoactl status` show it down within (fall + 2) probe intervals
#      (+ connect timeout); the legacy check /check/db03/status flips 200 -> 503 -> 200 (start);
#   2. stop-repl db04: /check/db04/replication flips 200 -> 503 (one line, the reason) -> 200;
#   3. myspoactl actions and exit codes: drain/undrain, refused promote (1), unreachable agent (3);
#   4. `myspoactl checksum run` through the agent: exit 0, the run finishes, and its report says
#      complete, writer db01, db02..db05 consistent, the app tables walked;
#   5. Prometheus (scrape interval 1 s) scrapes /metrics; PromQL myspoa_server_up returns 5 series.
# usage: ops_lab_test.sh LABCTL MYSPOA_BIN MYSPOACTL_BIN
# Environment: MYSPOA_LAB_DIR, MYSPOA_LAB_PORT_BASE (labctl's); PROMETHEUS (default
# /usr/bin/prometheus). Holds /tmp/myspoa-lab-dev.lock unless MYSPOA_LAB_LOCK_HELD=1. ctest runs it
# on a lab of its own (tests/integration/lab/with_lab.sh).
set -uo pipefail

LABCTL=${1:?usage: ops_lab_test.sh LABCTL MYSPOA_BIN MYSPOACTL_BIN}
AGENT=${2:?usage}
CTL=${3:?usage}
LAB=${MYSPOA_LAB_DIR:-/tmp/myspoa-lab}
LOCK=/tmp/myspoa-lab-dev.lock
if [[ ${MYSPOA_LAB_LOCK_HELD:-0} != 1 ]]; then
  echo "ops: waiting for $LOCK"
  MYSPOA_LAB_LOCK_HELD=1 exec flock -o -w 900 "$LOCK" "$0" "$@"
fi
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
PORT_BASE=${MYSPOA_LAB_PORT_BASE:-33060}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
T0=$(date +%s)
now_ms() { date +%s%3N; }
say() { printf '[%3ds] %s\n' $(($(date +%s) - T0)) "$*"; }
FAILS=0
check() {  # check "what" EXIT-STATUS
  if [[ $2 == 0 ]]; then say "ok    $1"; else say "FAIL  $1"; FAILS=$((FAILS + 1)); fi
}
for f in "$LABCTL" "$AGENT" "$CTL"; do [[ -x $f ]] || { echo "FATAL: $f missing"; exit 2; }; done

WORK=$(mktemp -d /tmp/myspoa-ops.XXXXXX)
AGENT_PID=
PROM_PID=
cleanup() {
  [[ -n $PROM_PID ]] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
  [[ -n $AGENT_PID ]] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
  # Leave the lab as we found it: healthy.
  "$LABCTL" start db03 >/dev/null 2>&1
  "$LABCTL" start-repl db04 >/dev/null 2>&1
  if ((FAILS)); then
    echo "--- agent log (tail)"
    tail -40 "$WORK/agent.log" 2>/dev/null
    [[ -f $WORK/prometheus.log ]] && { echo "--- prometheus log (tail)"; tail -15 "$WORK/prometheus.log"; }
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
SPOP=$(free_port)
REFUSAL=$(free_port)
ADMIN=$(free_port)
PROM=$(free_port)
URL=http://127.0.0.1:$ADMIN
export MYSPOA_ADMIN=$URL

# The lab config with this lab's MySQL ports and our own agent ports.
sed -e "s/127.0.0.1:12345/127.0.0.1:$SPOP/; s/127.0.0.1:12346/127.0.0.1:$REFUSAL/" \
  -e "s/127.0.0.1:9400/127.0.0.1:$ADMIN/" \
  -e "s/127.0.0.1:3306\([1-5]\)/127.0.0.1:\$((PORT_BASE + \1))/" \
  "$REPO/tests/lab/myspoa.yaml" >"$WORK/myspoa.yaml.tpl"
while IFS= read -r line; do
  if [[ $line =~ (.*)\$\(\(PORT_BASE\ \+\ ([1-5])\)\)(.*) ]]; then
    line="${BASH_REMATCH[1]}$((PORT_BASE + BASH_REMATCH[2]))${BASH_REMATCH[3]}"
  fi
  printf '%s\n' "$line"
done <"$WORK/myspoa.yaml.tpl" >"$WORK/myspoa.yaml"
INTERVAL_MS=$(awk '/interval_ms:/ {print $2}' "$WORK/myspoa.yaml")
FALL=$(awk '/^ *fall:/ {print $2}' "$WORK/myspoa.yaml")
CONNECT_MS=$(awk '/connect_timeout_ms:/ {print $2}' "$WORK/myspoa.yaml")
# + 500 ms: this script's own polling (curl + python3 every 50 ms) on a shared 2-core machine; a
# loaded run measured 1505 ms against the bare 1300 ms.
DETECT_MS=$(((FALL + 2) * INTERVAL_MS + CONNECT_MS + 500))

say "lab up (mysql only) in $LAB"
timeout 300 "$LABCTL" up --mysql-only >"$WORK/labup.log" 2>&1 || { cat "$WORK/labup.log"; exit 1; }
"$LABCTL" start db03 >/dev/null 2>&1
"$LABCTL" start-repl db04 >/dev/null 2>&1
timeout 60 "$LABCTL" wait-repl 30 >/dev/null 2>&1

"$AGENT" --config "$WORK/myspoa.yaml" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!

status_json() { curl -s --max-time 2 "$URL/status"; }
# field of server NAME in /status: jq-free, python3 reads the JSON
server_field() {  # server_field NAME FIELD
  status_json | python3 -c "import json,sys
d=json.load(sys.stdin)
print([s for s in d['servers'] if s['name']=='$1'][0]['$2'])" 2>/dev/null
}
http_code() { curl -s -o "$WORK/body" -w '%{http_code}' --max-time 2 "$URL$1"; }
# wait_for TIMEOUT_MS COMMAND... : polls every 50 ms; prints elapsed ms; fails on timeout
wait_for() {
  local limit=$1 start
  shift
  start=$(now_ms)
  while (($(now_ms) - start < limit)); do
    if "$@"; then
      echo $(($(now_ms) - start))
      return 0
    fi
    sleep 0.05
  done
  echo $(($(now_ms) - start))
  return 1
}
all_up() {
  status_json | python3 -c "import json,sys
d=json.load(sys.stdin)
sys.exit(0 if d['known'] and all(s['state']=='up' for s in d['servers']) else 1)" 2>/dev/null
}
is_state() { [[ $(server_field "$1" state) == "$2" ]]; }
code_is() { [[ $(http_code "$1") == "$2" ]]; }

ms=$(wait_for 20000 all_up)
check "agent up, all five servers up in /status (${ms} ms)" $?

# 1. crash db03 ------------------------------------------------------------------------------
code_is /check/db03/status 200
st=$?  # before the message: its $(...) would reset $?
check "/check/db03/status is 200 before the crash: $(cat "$WORK/body")" $st
"$LABCTL" crash db03 >/dev/null
ms=$(wait_for "$DETECT_MS" is_state db03 down)
check "crash db03: /status shows db03 down in ${ms} ms (limit ${DETECT_MS} ms = (fall+2) x interval + connect timeout + 500)" $?
"$CTL" status >"$WORK/ctl.txt"
rc=$?
grep -Eq '^db03 .* down ' "$WORK/ctl.txt"
check "myspoactl status (rc $rc) shows db03 down" $?
sed 's/^/        /' "$WORK/ctl.txt"
head -1 "$WORK/ctl.txt" | grep -Eq '^role: standalone .*writer: db01 '
check "myspoactl status first line names the role (standalone) and writer db01" $?
code_is /check/db03/status 503 && grep -q '^db03 is down: ' "$WORK/body"
st=$?  # before the message: its $(...) would reset $?
check "/check/db03/status is 503: $(head -c 120 "$WORK/body")" $st
"$LABCTL" start db03 >/dev/null
ms=$(wait_for 30000 code_is /check/db03/status 200)
check "start db03: /check/db03/status back to 200 in ${ms} ms" $?
ms=$(wait_for 10000 is_state db03 up)
check "start db03: /status shows db03 up" $?

# 2. stop-repl db04 ---------------------------------------------------------------------------
ms=$(wait_for 10000 code_is /check/db04/replication 200)
st=$?  # before the message: its $(...) would reset $?
check "/check/db04/replication is 200: $(cat "$WORK/body")" $st
"$LABCTL" stop-repl db04 >/dev/null
ms=$(wait_for "$DETECT_MS" code_is /check/db04/replication 503)
st=$?  # before the message: its $(...) would reset $?
check "stop-repl db04: replication check 503 in ${ms} ms: $(head -c 140 "$WORK/body")" $st
# STOP SLAVE stops the SQL thread first: a probe may catch IO=Yes, SQL=No on its way down.
[[ $(wc -l <"$WORK/body") == 1 ]] && grep -q -E 'Slave_(IO|SQL)_Running=No' "$WORK/body"
check "the 503 body is one line with the reason" $?
# The check answers from the last probe; /status follows rise/fall, so give it `fall` probes.
repl_is() { is_state "$1" up && [[ $(server_field "$1" replication) == "$2" ]]; }
ms=$(wait_for "$DETECT_MS" repl_is db04 broken)
check "/status: db04 up, replication broken (${ms} ms)" $?
"$LABCTL" start-repl db04 >/dev/null
ms=$(wait_for 10000 code_is /check/db04/replication 200)
check "start-repl db04: replication check back to 200 in ${ms} ms" $?

# 3. myspoactl actions and exit codes ---------------------------------------------------------
"$CTL" drain db05 >/dev/null
check "myspoactl drain db05 exits 0" $?
[[ $(server_field db05 drained) == True ]]
check "/status shows db05 drained" $?
"$CTL" servers --json | python3 -c "import json,sys; sys.exit(0 if any(s['name']=='db05' and s['drained'] for s in json.load(sys.stdin)) else 1)"
check "myspoactl servers --json shows db05 drained" $?
"$CTL" undrain db05 >/dev/null
check "myspoactl undrain db05 exits 0" $?
"$CTL" promote db03 >/dev/null 2>"$WORK/err"
rc=$?
[[ $rc == 1 ]]
st=$?  # before the message: its $(...) would reset $?
check "myspoactl promote db03 (a replica) refused with exit 1: $(cat "$WORK/err")" $st
"$CTL" drain db99 >/dev/null 2>&1
[[ $? == 1 ]]
check "myspoactl drain db99 (unknown) exits 1" $?
"$CTL" events | grep -q 'db05 drained by operator'
check "myspoactl events lists the drain" $?

"$CTL" --admin "http://127.0.0.1:$(free_port)" status >/dev/null 2>&1
[[ $? == 3 ]]
check "myspoactl against a closed port exits 3" $?
"$CTL" frobnicate >/dev/null 2>&1
[[ $? == 2 ]]
check "myspoactl with an unknown command exits 2" $?

# 4. A consistency run through the running agent: started, finished, and its report says what
#    the clean lab is (every replica consistent, the app tables walked).
"$CTL" checksum run >"$WORK/run.json" 2>"$WORK/err"
rc=$?
json_is() {  # json_is FILE PYTHON-EXPRESSION-OVER-d
  python3 -c "import json,sys
d=json.load(open(sys.argv[1]))
sys.exit(0 if ($2) else 1)" "$1" 2>/dev/null
}
[[ $rc == 0 ]] && json_is "$WORK/run.json" "d['started'] is True"
st=$?  # before the message: its $(...) would reset $?
check "myspoactl checksum run exits $rc, started: $(tr -d '\n ' <"$WORK/run.json" | head -c 80)$(cat "$WORK/err")" $st
# Progress and report read from the admin API itself (myspoactl's rendering of them may change).
run_finished() {
  curl -s --max-time 2 -o "$WORK/cstatus.json" "$URL/checksum" &&
    json_is "$WORK/cstatus.json" "not d['running'] and d['runs_finished'] >= 1"
}
ms=$(wait_for 180000 run_finished)
check "GET /checksum: the run finished (${ms} ms)" $?
"$CTL" checksum status >/dev/null 2>"$WORK/err"
rc=$?
[[ $rc == 0 ]]
check "myspoactl checksum status exits $rc" $?
"$CTL" checksum report >/dev/null 2>"$WORK/err"
rc=$?
[[ $rc == 0 ]]
check "myspoactl checksum report exits $rc" $?
code_is /checksum/report 200 && cp "$WORK/body" "$WORK/report.json"
check "GET /checksum/report is 200" $?
json_is "$WORK/report.json" "d['complete'] and not d['cancelled'] and d['error'] == '' and d['writer'] == 'db01'"
check "report: complete, not cancelled, no error, writer db01" $?
json_is "$WORK/report.json" \
  "sorted((r['name'], r['state']) for r in d['replicas']) == [(n, 'consistent') for n in ('db02', 'db03', 'db04', 'db05')]"
st=$?  # before the message: its $(...) would reset $?
check "report: db02..db05 consistent: $(python3 -c "import json,sys
d=json.load(open(sys.argv[1])); print(', '.join(r['name'] + ' ' + r['state'] for r in d['replicas']))" "$WORK/report.json" 2>/dev/null)" $st
json_is "$WORK/report.json" "d['tables_checked'] >= 3 and d['rows_checked'] >= 102000"
st=$?  # before the message: its $(...) would reset $?
check "report: the app tables were walked ($(python3 -c "import json,sys
d=json.load(open(sys.argv[1])); print(d['tables_checked'], 'tables,', d['rows_checked'], 'rows')" "$WORK/report.json" 2>/dev/null))" $st

# 5. Prometheus ------------------------------------------------------------------------------
if [[ -x $PROMETHEUS ]]; then
  mkdir -p "$WORK/prom-data"
  cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: myspoa
    static_configs:
      - targets: ["127.0.0.1:$ADMIN"]
EOF
  "$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
    --web.listen-address="127.0.0.1:$PROM" >"$WORK/prometheus.log" 2>&1 &
  PROM_PID=$!
  prom_five() {
    curl -s --max-time 2 "http://127.0.0.1:$PROM/api/v1/query?query=myspoa_server_up" |
      python3 -c "import json,sys
d=json.load(sys.stdin)
names=sorted(r['metric']['server'] for r in d['data']['result'])
sys.exit(0 if d['status']=='success' and names==['db01','db02','db03','db04','db05'] else 1)" 2>/dev/null
  }
  ms=$(wait_for 40000 prom_five)
  check "Prometheus scraped the agent: myspoa_server_up has db01..db05 (${ms} ms)" $?
  up=$(curl -s --max-time 2 "http://127.0.0.1:$PROM/api/v1/query?query=up%7Bjob%3D%22myspoa%22%7D" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['data']['result'][0]['value'][1])" 2>/dev/null)
  [[ $up == 1 ]]
  check "Prometheus target health up{job=\"myspoa\"} = $up" $?
  sum=$(curl -s --max-time 2 "http://127.0.0.1:$PROM/api/v1/query?query=sum(myspoa_writer)" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['data']['result'][0]['value'][1])" 2>/dev/null)
  [[ $sum == 1 ]]
  check "PromQL sum(myspoa_writer) = $sum" $?
else
  say "FAIL  $PROMETHEUS missing (apt-get install prometheus)"
  FAILS=$((FAILS + 1))
fi

# A clean stop: exit 0 on SIGTERM, and (in a sanitizer build, scripts/test.sh) no report.
kill "$AGENT_PID" 2>/dev/null
wait "$AGENT_PID" 2>/dev/null
rc=$?
AGENT_PID=
[[ $rc == 0 ]]
check "the agent exits 0 on SIGTERM (exit $rc)" $?
! grep -qE 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' "$WORK/agent.log"
check "no sanitizer report in the agent log" $?
((FAILS == 0)) && say "PASS" || say "FAILED: $FAILS check(s)"
((FAILS == 0))
