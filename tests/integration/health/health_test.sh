#!/usr/bin/env bash
# /health/live, /health/ready and GET / on a real agent, no lab needed: the agent's five servers
# are loopback listeners that accept TCP connections and never answer (hung servers), so its
# first probe round cannot complete before the connect timeout (1.5 s) has expired `fall` times.
# Checks: live is 200 at once; ready is 503 with the reason until every server's state is known
# (here: down), then 200; GET / is HTML naming db01..db05. (The SPOP-listener half of readiness
# is covered by tests/unit/admin/health_test.cc.)
# Also myspoactl's health, events --follow and checksum status, and docker/healthcheck.sh, against
# the same agent.
# usage: health_test.sh MYSPOA_BIN MYSPOACTL_BIN
set -uo pipefail
AGENT=${1:?usage: health_test.sh MYSPOA_BIN MYSPOACTL_BIN}
CTL=${2:?usage: health_test.sh MYSPOA_BIN MYSPOACTL_BIN}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
for f in "$AGENT" "$CTL"; do [[ -x $f ]] || { echo "FATAL: $f missing"; exit 2; }; done
T0=$(date +%s%3N)
say() { printf '[%5d ms] %s\n' $(($(date +%s%3N) - T0)) "$*"; }
FAILS=0
check() { if [[ $2 == 0 ]]; then say "ok    $1"; else say "FAIL  $1"; FAILS=$((FAILS + 1)); fi; }

WORK=$(mktemp -d /tmp/myspoa-health.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  ((FAILS)) && { echo "--- agent log (tail)"; tail -20 "$WORK/agent.log"; }
  rm -rf "$WORK"
}
trap cleanup EXIT

# Five hung "MySQL servers" on free loopback ports: accept, never send the handshake. Bounded:
# they exit after 120 s whatever happens.
python3 - "$WORK/ports" <<'PY' &
import socket, sys, threading, time
socks = []
for _ in range(5):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0)); s.listen(64); socks.append(s)
open(sys.argv[1] + ".tmp", "w").write(" ".join(str(s.getsockname()[1]) for s in socks))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
def accept(s):
    while True:
        c, _ = s.accept(); held.append(c)
for s in socks: threading.Thread(target=accept, args=(s,), daemon=True).start()
time.sleep(120)
PY
PIDS+=($!)
for _ in $(seq 50); do [[ -s $WORK/ports ]] && break; sleep 0.1; done
read -r -a DB <"$WORK/ports"
((${#DB[@]} == 5)) || { echo "FATAL: hung servers did not start"; exit 2; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
SPOP=$(free_port)
ADMIN=$(free_port)
URL=http://127.0.0.1:$ADMIN
cat >"$WORK/myspoa.yaml" <<YAML
agent: { listen: "127.0.0.1:$SPOP", refusal_listen: "127.0.0.1:$(free_port)", threads: 1 }
admin: { listen: "127.0.0.1:$ADMIN" }
mysql: { user: myspoa, password: myspoa, connect_timeout_ms: 1500, query_timeout_ms: 1500,
         interval_ms: 250, rise: 2, fall: 2 }
cluster:
  masters: [db01, db02]
  servers:
    - { name: db01, address: "127.0.0.1:${DB[0]}" }
    - { name: db02, address: "127.0.0.1:${DB[1]}" }
    - { name: db03, address: "127.0.0.1:${DB[2]}", replica_of: db01 }
    - { name: db04, address: "127.0.0.1:${DB[3]}", replica_of: db01 }
    - { name: db05, address: "127.0.0.1:${DB[4]}", replica_of: db02 }
YAML

START=$(date +%s%3N)
"$AGENT" --config "$WORK/myspoa.yaml" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=($AGENT_PID)
code() { curl -s -o "$WORK/body" -w '%{http_code}' --max-time 2 "$URL$1"; }
# The first answer of the admin endpoint.
first=
for _ in $(seq 100); do
  first=$(code /health/ready)
  [[ $first != 000 ]] && break
  sleep 0.02
done
say "first /health/ready: $first $(cat "$WORK/body")"
[[ $first == 503 ]] && grep -q '^not ready: ' "$WORK/body"
st=$?  # before the message: its $(...) would reset $?
check "ready is 503 with a reason before the first round: $(cat "$WORK/body")" $st
[[ $(code /health/live) == 200 && $(cat "$WORK/body") == live ]]
check "live is 200 at once" $?
[[ $(code /health/ready) == 503 ]]
check "still 503 while the hung servers' probes wait for their timeout" $?
out=$("$CTL" --admin "$URL" health 2>&1)
rc=$?
[[ $rc == 1 && $out == "not ready: "* ]]
check "myspoactl health before the round: exit $rc, '$out'" $?
out=$(MYSPOA_ADMIN_ADDR=127.0.0.1:$ADMIN "$REPO/docker/healthcheck.sh" 2>&1)
rc=$?
[[ $rc == 1 && $out == *"503"*"not ready: "* ]]
check "docker/healthcheck.sh before the round: exit $rc, '$out'" $?
MYSPOA_HEALTH=live MYSPOA_ADMIN_ADDR=127.0.0.1:$ADMIN "$REPO/docker/healthcheck.sh" >/dev/null 2>&1
check "docker/healthcheck.sh with MYSPOA_HEALTH=live: healthy at once" $?
# 200 once every server is known (two failed probes each: fall 2 x 1.5 s timeout, plus margin).
ready_ms=
for _ in $(seq 200); do
  if [[ $(code /health/ready) == 200 ]]; then ready_ms=$(($(date +%s%3N) - START)); break; fi
  sleep 0.05
done
[[ -n $ready_ms && $(cat "$WORK/body") == ready ]]
check "ready is 200 after the first complete round (${ready_ms:-never} ms after the agent started)" $?
((${ready_ms:-0} >= 2500))
check "not ready before two probe timeouts of 1.5 s had passed (${ready_ms:-?} ms >= 2500)" $?
out=$("$CTL" --admin "$URL" health --wait 5 2>&1)
rc=$?
[[ $rc == 0 && $out == ready ]]
check "myspoactl health --wait 5 after the round: exit $rc, '$out'" $?
MYSPOA_ADMIN_ADDR=127.0.0.1:$ADMIN "$REPO/docker/healthcheck.sh" >/dev/null 2>&1
check "docker/healthcheck.sh after the round: healthy" $?
curl -s --max-time 2 "$URL/status" | python3 -c "import json,sys
d=json.load(sys.stdin); sys.exit(0 if d['known'] and all(s['state']=='down' for s in d['servers']) else 1)"
check "/status agrees: decision known, every hung server down" $?

hdrs=$(curl -s -D - -o "$WORK/page.html" --max-time 2 "$URL/")
grep -qi '^content-type: text/html' <<<"$hdrs" && grep -qi '^content-security-policy: ' <<<"$hdrs"
check "GET / is text/html with a Content-Security-Policy" $?
missing=
for n in db01 db02 db03 db04 db05; do grep -q "<td>$n</td>" "$WORK/page.html" || missing+=" $n"; done
[[ -z $missing ]] && grep -q '<!doctype html>' "$WORK/page.html"
check "GET / is HTML naming db01..db05${missing:+ (missing:$missing)}" $?

[[ $(code /health/nope) == 404 ]]
check "unknown /health path is 404" $?

timeout -s INT 2 "$CTL" --admin "$URL" events --follow --interval 0.2 >"$WORK/follow" 2>&1
grep -q 'writer-change\|scenario' "$WORK/follow"
st=$?  # before the message: its $(...) would reset $?
check "myspoactl events --follow prints the agent's events ($(wc -l <"$WORK/follow") lines) until SIGINT" $st
out=$("$CTL" --admin "$URL" checksum status 2>&1)
[[ $out == "checksum idle"* && $out == *"no run has finished yet"* ]]
st=$?  # before the message: its $(...) would reset $?
check "myspoactl checksum status is readable text: $(head -1 <<<"$out")" $st
"$CTL" --admin "$URL" checksum status --json | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if 'progress' in d else 1)"
check "myspoactl checksum status --json keeps the JSON" $?

kill "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
"$CTL" --admin "$URL" health --live >/dev/null 2>&1
[[ $? == 3 ]]
check "myspoactl health --live against a stopped agent exits 3" $?
((FAILS == 0)) && say "PASS" || say "FAILED: $FAILS check(s)"
((FAILS == 0))
