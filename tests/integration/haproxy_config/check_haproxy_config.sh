#!/usr/bin/env bash
# Checks haproxy/haproxy.cfg + haproxy/myspoa.spoe.conf with the real HAProxy binary.
#   check_haproxy_config.sh defaults <haproxy> <repo>   haproxy -c with the presetenv defaults,
#       with -dW: any warning (a deprecated keyword...) fails the check
#   check_haproxy_config.sh override <haproxy> <repo>   every address from the environment, then
#       HAProxy really started (loopback only) and its runtime API asked which addresses it uses
#   check_haproxy_config.sh spop <haproxy> <repo>   the same files with `mode spop` written in
#       be_myspoa_agent (haproxy/README.md): accepted without warning from 3.1 on, refused before
# <haproxy> is /usr/sbin/haproxy (2.6) or a wrapper of tests/interop/haproxy-versions.sh (3.x).
set -euo pipefail

mode=$1
haproxy=$2
repo=$3
cfg=$repo/haproxy/haproxy.cfg
spoe=$repo/haproxy/myspoa.spoe.conf

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Start from a clean environment: only the variables each check sets.
for v in $(env | sed -n 's/^\(MYSPOA_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done

case $mode in
defaults)
  MYSPOA_SPOE_CONF=$spoe "$haproxy" -c -dW -f "$cfg" || fail "haproxy -c -dW rejected the defaults"
  # The SPOE path really comes from the environment: a wrong one must be rejected.
  if MYSPOA_SPOE_CONF=/nonexistent/myspoa.spoe.conf "$haproxy" -c -f "$cfg" 2>/dev/null; then
    fail "a missing MYSPOA_SPOE_CONF was accepted"
  fi
  echo "ok: defaults"
  ;;
override)
  command -v socat >/dev/null || { echo "socat missing: skipped"; exit 77; }
  tmp=$(mktemp -d)
  pid=""
  cleanup() {
    if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
  }
  trap cleanup EXIT
  # Two free loopback ports for the frontends (asked from the kernel, then released).
  read -r wport rport < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
  export MYSPOA_DB01_ADDR=127.0.0.1:43061 MYSPOA_DB02_ADDR=127.0.0.1:43062
  export MYSPOA_DB03_ADDR=127.0.0.1:43063 MYSPOA_DB04_ADDR=127.0.0.1:43064
  export MYSPOA_DB05_ADDR=127.0.0.1:43065
  export MYSPOA_AGENT_ADDR=127.0.0.1:42345 MYSPOA_REFUSAL_ADDR=127.0.0.1:42346
  export MYSPOA_WRITE_BIND=127.0.0.1:$wport MYSPOA_READ_BIND=127.0.0.1:$rport
  export MYSPOA_SPOE_CONF=$spoe MYSPOA_HAPROXY_STATS=$tmp/stats.sock
  "$haproxy" -c -f "$cfg" || fail "haproxy -c rejected the overridden addresses"

  "$haproxy" -db -f "$cfg" >"$tmp/haproxy.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do
    [[ -S $tmp/stats.sock ]] && break
    sleep 0.1
  done
  [[ -S $tmp/stats.sock ]] || fail "no runtime API socket at $MYSPOA_HAPROXY_STATS: $(cat "$tmp/haproxy.log")"
  state=$(echo "show servers state" | socat -t 2 - "UNIX-CONNECT:$tmp/stats.sock")
  # Columns: be_id be_name srv_id srv_name srv_addr ... srv_port (19th).
  expect() {  # backend server host port
    local got
    got=$(awk -v b="$1" -v s="$2" '$2 == b && $4 == s { print $5 ":" $19 }' <<<"$state")
    [[ $got == "$3:$4" ]] || fail "$1/$2 uses '$got', expected $3:$4"
  }
  for i in 1 2 3 4 5; do
    expect "be_db0$i" "db0$i" 127.0.0.1 "4306$i"
    expect be_read_fallback "db0$i" 127.0.0.1 "4306$i"
  done
  expect be_write_fallback db01 127.0.0.1 43061
  expect be_write_fallback db02 127.0.0.1 43062
  expect be_myspoa_refuse refuse 127.0.0.1 42346
  expect be_myspoa_agent agent 127.0.0.1 42345
  # Both frontends listen where the environment said.
  listening=$(ss -ltnH)
  for p in "$wport" "$rport"; do
    grep -q "127.0.0.1:$p " <<<"$listening" || fail "nothing listens on 127.0.0.1:$p"
  done
  echo "ok: overridden addresses in use"
  ;;
spop)
  # "HAProxy version 3.2.26-1 ..." -> 3002
  v=$("$haproxy" -v | sed -nE '1s/^HAProxy version ([0-9]+)\.([0-9]+).*/\1 \2/p')
  [[ -n $v ]] || fail "cannot read the version of $haproxy"
  read -r major minor <<<"$v"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # Only the agent backend's `mode tcp` line changes (the defaults keep mode tcp).
  awk '/^backend be_myspoa_agent/ { in_agent = 1 } /^(backend|frontend|defaults|global)/ && !/be_myspoa_agent/ { in_agent = 0 }
       in_agent && $1 == "mode" && $2 == "tcp" { sub(/mode tcp/, "mode spop"); n++ } { print }
       END { if (n != 1) exit 1 }' "$cfg" >"$tmp/haproxy.cfg" || fail "no 'mode tcp' line in be_myspoa_agent"
  if ((major * 1000 + minor >= 3001)); then
    MYSPOA_SPOE_CONF=$spoe "$haproxy" -c -dW -f "$tmp/haproxy.cfg" ||
      fail "HAProxy $major.$minor rejected 'mode spop' in be_myspoa_agent"
    echo "ok: HAProxy $major.$minor accepts 'mode spop' in be_myspoa_agent without warning"
  else
    out=$(MYSPOA_SPOE_CONF=$spoe "$haproxy" -c -f "$tmp/haproxy.cfg" 2>&1) &&
      fail "HAProxy $major.$minor accepted 'mode spop' (expected only from 3.1)"
    grep -q "unknown proxy mode 'spop'" <<<"$out" || fail "unexpected error: $out"
    echo "ok: HAProxy $major.$minor refuses 'mode spop' (unknown proxy mode), so the shipped file keeps mode tcp"
  fi
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
