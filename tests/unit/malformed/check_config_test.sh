#!/usr/bin/env bash
# `myspoa --check-config FILE` on the real binary, as the README documents it: exit 0 and "OK" on
# a valid file; exit 2 and a message naming the offending key on an invalid one (bad numbers,
# unknown keys, a replica of an unknown server, an unreadable file). Never another exit status.
# usage: check_config_test.sh MYSPOA_BIN LAB_CONFIG
set -uo pipefail
AGENT=${1:?usage: check_config_test.sh MYSPOA_BIN LAB_CONFIG}
GOOD=${2:?usage: check_config_test.sh MYSPOA_BIN LAB_CONFIG}
WORK=$(mktemp -d /tmp/myspoa-check-config.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
ok() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; FAILS=$((FAILS + 1)); }

# expect NAME WANT_EXIT WANT_TEXT FILE: runs --check-config FILE, checks exit status and output.
expect() {
  local name=$1 want=$2 text=$3 file=$4 out rc
  out=$("$AGENT" --check-config "$file" 2>&1)
  rc=$?
  if [[ $rc != "$want" ]]; then
    fail "$name: exit $rc, want $want: $out"
  elif ! grep -qF -- "$text" <<<"$out"; then
    fail "$name: exit $rc but the output lacks '$text': $out"
  else
    ok "$name: exit $rc: $out"
  fi
}

# mutate NAME SED-EXPRESSION: the lab config with one edit, written to $WORK/NAME.yaml.
mutate() {
  sed -e "$2" "$GOOD" >"$WORK/$1.yaml"
  cmp -s "$GOOD" "$WORK/$1.yaml" && { fail "$1: the edit '$2' changed nothing"; return 1; }
  echo "$WORK/$1.yaml"
}

expect "lab config" 0 "OK (5 servers, masters db01 db02)" "$GOOD"
f=$(mutate interval-100 's/interval_ms: 250/interval_ms: 100/') && expect "interval_ms: 100" 0 "OK" "$f"

for v in -1 0 .inf NaN .nan 1e400 0x10 abc 99999999999999999999; do
  f=$(mutate "interval-$v" "s/interval_ms: 250/interval_ms: $v/") &&
    expect "interval_ms: $v" 2 "myspoa: invalid configuration: mysql.interval_ms: " "$f"
  f=$(mutate "threads-$v" "s/threads: 2/threads: $v/") &&
    expect "threads: $v" 2 "myspoa: invalid configuration: agent.threads: " "$f"
  f=$(mutate "lag-$v" "s/max_lag_s: 5/max_lag_s: $v/") &&
    expect "max_lag_s: $v" 2 "myspoa: invalid configuration: mysql.max_lag_s: " "$f"
done
f=$(mutate unknown-key 's/^  rise: 2/  rise: 2\n  raise: 3/') &&
  expect "unknown key" 2 "mysql.raise: unknown key" "$f"
f=$(mutate replica-of-unknown 's/replica_of: db02 }/replica_of: db09 }/') &&
  expect "replica_of an unknown server" 2 "cluster.servers[db05].replica_of: unknown server 'db09'" "$f"
f=$(mutate yaml-syntax 's/^cluster:/cluster: [/') && expect "YAML syntax error" 2 "YAML syntax error" "$f"
expect "missing file" 2 "$WORK/none.yaml: cannot open" "$WORK/none.yaml"

((FAILS == 0)) && echo "PASS" || echo "FAILED: $FAILS check(s)"
((FAILS == 0))
