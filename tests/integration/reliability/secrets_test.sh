#!/usr/bin/env bash
# The MySQL password never appears in the agent's log (debug level, failing probes, the config
# warning about a world-readable password_file) nor in /status, /metrics, /events of the admin
# endpoint. No lab needed: the servers point at closed loopback ports, the agent listens on
# ports derived from this shell's pid (not the lab's).
# Usage: secrets_test.sh MYSPOA_BIN
set -uo pipefail
AGENT=${1:?usage: secrets_test.sh MYSPOA_BIN}
SECRET="Zq9-s3cr3t-$RANDOM-pw"
DIR=$(mktemp -d /tmp/myspoa-secrets-XXXXXX)
BASE=$((20000 + ($$ % 2000) * 10))
PID=""
cleanup() {
  [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

printf '%s\n' "$SECRET" >"$DIR/password"
chmod 0644 "$DIR/password"  # world-readable: the loader must warn (naming the file, not the secret)
cat >"$DIR/myspoa.yaml" <<YAML
agent:
  listen: "127.0.0.1:$BASE"
  refusal_listen: "127.0.0.1:$((BASE + 1))"
  log_level: debug
admin:
  listen: "127.0.0.1:$((BASE + 2))"
mysql:
  user: myspoa
  password_file: $DIR/password
  interval_ms: 100
cluster:
  masters: [db01, db02]
  fence: read_only
  manage_read_only: true
  servers:
    - { name: db01, address: "127.0.0.1:$((BASE + 3))" }
    - { name: db02, address: "127.0.0.1:$((BASE + 4))" }
    - { name: db03, address: "127.0.0.1:$((BASE + 5))", replica_of: db01 }
alerts: { command: "env > $DIR/alert-env.txt", timeout_ms: 1000 }
YAML

"$AGENT" --config "$DIR/myspoa.yaml" >"$DIR/agent.log" 2>&1 &
PID=$!
ADMIN="http://127.0.0.1:$((BASE + 2))"
for _ in $(seq 1 50); do
  curl -sf "$ADMIN/status" >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 1.5  # several failing probe rounds at debug level
for path in status metrics events; do
  curl -s --max-time 5 "$ADMIN/$path" >"$DIR/$path.out" || fail "GET /$path"
  [[ -s $DIR/$path.out ]] || fail "GET /$path: empty answer"
done
kill "$PID" && wait "$PID" 2>/dev/null
PID=""

grep -q "world-readable" "$DIR/agent.log" || fail "no warning about the world-readable password_file"
grep -q "probe failed\|connect" "$DIR/agent.log" || fail "the log shows no probe activity (test is blind)"
for f in agent.log status.out metrics.out events.out; do
  if grep -qF -- "$SECRET" "$DIR/$f"; then
    fail "the password appears in $f: $(grep -nF -- "$SECRET" "$DIR/$f" | head -n 2)"
  fi
done
echo "log $(wc -l <"$DIR/agent.log") lines, /status $(wc -c <"$DIR/status.out") B, /metrics $(wc -c <"$DIR/metrics.out") B, /events $(wc -c <"$DIR/events.out") B: no password"
echo PASS
