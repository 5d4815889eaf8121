#!/usr/bin/env bash
# myspoa must refuse to start when admin.listen is not loopback and admin.token is unset, with a
# message naming admin.token; with a token it starts. Binds 0.0.0.0 but never sends traffic to a
# non-loopback address (the started agent is only asked for /status on 127.0.0.1).
# usage: admin_refuse_test.sh MYSPOA_BIN
set -uo pipefail
AGENT=${1:?usage: admin_refuse_test.sh MYSPOA_BIN}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
WORK=$(mktemp -d /tmp/myspoa-refuse.XXXXXX)
PID=
trap '[[ -n $PID ]] && kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
ADMIN=$(free_port)
# Servers on closed ports: this test needs no lab.
sed -e "s/127.0.0.1:12345/127.0.0.1:$(free_port)/; s/127.0.0.1:12346/127.0.0.1:$(free_port)/" \
  -e "s/127.0.0.1:9400/0.0.0.0:$ADMIN/" -e "s/127.0.0.1:3306[1-5]/127.0.0.1:1/" \
  "$REPO/tests/lab/myspoa.yaml" >"$WORK/open.yaml"
FAILS=0

timeout 10 "$AGENT" --config "$WORK/open.yaml" >"$WORK/out" 2>&1
rc=$?
if [[ $rc != 0 && $rc != 124 ]] && grep -q 'admin.token' "$WORK/out"; then
  echo "ok    refused to start (exit $rc): $(grep -m1 'admin' "$WORK/out")"
else
  echo "FAIL  expected a refusal naming admin.token, got exit $rc:"
  cat "$WORK/out"
  FAILS=1
fi

# Same listen address with a token: starts, serves /status on loopback.
sed -e "s/^  listen: \"0.0.0.0:$ADMIN\"/  listen: \"0.0.0.0:$ADMIN\"\n  token: \"t-$RANDOM$RANDOM\"/" \
  "$WORK/open.yaml" >"$WORK/token.yaml"
grep -q 'token:' "$WORK/token.yaml" || { echo "FAIL  could not write token.yaml"; exit 1; }
"$AGENT" --config "$WORK/token.yaml" >"$WORK/out2" 2>&1 &
PID=$!
ok=1
for _ in $(seq 1 100); do
  if curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$ADMIN/status"; then ok=0; break; fi
  kill -0 $PID 2>/dev/null || break
  sleep 0.05
done
if [[ $ok == 0 ]]; then
  echo "ok    with admin.token it starts and serves /status"
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST -d '' "http://127.0.0.1:$ADMIN/servers/db03/drain")
  if [[ $code == 401 ]]; then echo "ok    an action without the token is 401"; else
    echo "FAIL  an action without the token answered $code"; FAILS=1; fi
else
  echo "FAIL  did not start with a token:"
  cat "$WORK/out2"
  FAILS=1
fi
exit $FAILS
