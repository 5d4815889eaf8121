#!/usr/bin/env bash
# The topology page (GET /) in headless Chromium on the real loopback lab: starts its own agent
# (lab config, free loopback ports, admin.token set) on the lab's MySQL servers, then
# topology_page.py loads the page, checks the token form, crashes db01 and reads the writer move
# to db02 and db01 down from the page's DOM. Saves a screenshot and prints its path.
# usage: browser_lab_test.sh LABCTL MYSPOA_BIN SCREENSHOT.png
# Needs chromium and chromium-driver (scripts/install-deps.sh installs them). On the default lab
# it holds /tmp/myspoa-lab-dev.lock (MYSPOA_LAB_LOCK_HELD=1 when the caller holds it).
set -uo pipefail

LABCTL=${1:?usage: browser_lab_test.sh LABCTL MYSPOA_BIN SCREENSHOT.png}
AGENT=${2:?usage}
SHOT=${3:?usage}
LAB=${MYSPOA_LAB_DIR:-/tmp/myspoa-lab}
LOCK=/tmp/myspoa-lab-dev.lock
if [[ $LAB == /tmp/myspoa-lab && ${MYSPOA_LAB_LOCK_HELD:-0} != 1 ]]; then
  echo "browser: waiting for $LOCK"
  MYSPOA_LAB_LOCK_HELD=1 exec flock -o -w 900 "$LOCK" "$0" "$@"
fi
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
PORT_BASE=${MYSPOA_LAB_PORT_BASE:-33060}
for f in "$LABCTL" "$AGENT"; do [[ -x $f ]] || { echo "FATAL: $f missing"; exit 2; }; done
for b in chromium chromedriver; do
  command -v "$b" >/dev/null || { echo "FATAL: $b missing (scripts/install-deps.sh installs chromium chromium-driver)"; exit 2; }
done

WORK=$(mktemp -d /tmp/myspoa-browser.XXXXXX)
AGENT_PID=
cleanup() {
  [[ -n $AGENT_PID ]] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
  "$LABCTL" start db01 >/dev/null 2>&1  # leave the lab healthy
  [[ ${RC:-1} != 0 ]] && { echo "--- agent log (tail)"; tail -30 "$WORK/agent.log" 2>/dev/null; }
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
SPOP=$(free_port)
REFUSAL=$(free_port)
ADMIN=$(free_port)
TOKEN="browser-$RANDOM$RANDOM"
# The lab config with our own agent ports, this lab's MySQL ports and an admin token.
python3 - "$REPO/tests/lab/myspoa.yaml" "$WORK/myspoa.yaml" <<PY
import re, sys
text = open(sys.argv[1]).read()
text = text.replace("127.0.0.1:12345", "127.0.0.1:$SPOP").replace("127.0.0.1:12346", "127.0.0.1:$REFUSAL")
text = text.replace('listen: "127.0.0.1:9400"', 'listen: "127.0.0.1:$ADMIN"\n  token: "$TOKEN"')
# No HAProxy here: no runtime API to cut sessions through (another lab's socket is not ours).
text = re.sub(r"runtime_api: \[.*\]", "runtime_api: []", text)
text = re.sub(r"127\.0\.0\.1:3306([1-5])", lambda m: "127.0.0.1:%d" % ($PORT_BASE + int(m.group(1))), text)
open(sys.argv[2], "w").write(text)
PY
grep -q "token: \"$TOKEN\"" "$WORK/myspoa.yaml" || { echo "FATAL: could not set admin.token"; exit 2; }

echo "browser: lab up (mysql only) in $LAB"
timeout 300 "$LABCTL" up --mysql-only >"$WORK/labup.log" 2>&1 || { cat "$WORK/labup.log"; exit 1; }
"$LABCTL" start db01 >/dev/null 2>&1
timeout 60 "$LABCTL" wait-repl 30 >/dev/null 2>&1

"$AGENT" --config "$WORK/myspoa.yaml" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 100); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$ADMIN/health/ready") == 200 ]] && break
  sleep 0.2
done

mkdir -p "$(dirname "$SHOT")"
timeout 240 python3 "$REPO/tests/integration/browser/topology_page.py" --admin "http://127.0.0.1:$ADMIN" \
  --token "$TOKEN" --labctl "$LABCTL" --screenshot "$SHOT"
RC=$?
[[ $RC == 0 ]] && echo "browser: screenshot of the page after the crash of db01: $SHOT"
exit $RC
