#!/usr/bin/env bash
# Captures real SPOP frames from the local HAProxy (Debian 2.6) as golden test data / fuzz seeds.
# Loopback only; everything runs from a throwaway directory and is stopped by pid at the end.
#   usage: tests/data/spop/capture-haproxy26.sh [OUTDIR]   (default: this directory)
# Produces: haproxy26-hello.bin (HAPROXY-HELLO of the SPOE engine), haproxy26-notify.bin (NOTIFY of
# the contract message "myspoa-route" with intent=write), haproxy26-notify-types.bin (NOTIFY with
# one argument of each kind HAProxy can send), haproxy26-healthcheck-hello.bin (HELLO sent by
# `option spop-check`), haproxy26-disconnect.bin (HAPROXY-DISCONNECT on soft stop, if sent).
# Each file is one whole frame, 4-byte length prefix included.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
haproxy=${HAPROXY:-/usr/sbin/haproxy}
work=$(mktemp -d /tmp/spop-capture.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
agent=$(free_port); fe1=$(free_port); fe2=$(free_port); dead=$(free_port)

cat >"$work/spoe.conf" <<CONF
[myspoa]
spoe-agent myspoa-agent
  messages myspoa-route
  option var-prefix myspoa
  timeout hello 2s
  timeout idle 30s
  timeout processing 500ms
  use-backend be_agent

spoe-message myspoa-route
  args intent=str(write)
  event on-client-session

[types]
spoe-agent types-agent
  messages all-types
  option var-prefix types
  timeout hello 2s
  timeout idle 30s
  timeout processing 500ms
  use-backend be_agent

spoe-message all-types
  args src=src port=src_port neg=int(-5) yes=bool(1) no=bool(0) s=str(hello) empty=str() bin=bin(00ff10) v4=ipv4(10.1.2.3) v6=ipv6(2001:db8::1) big=int(9000000000)
  event on-client-session
CONF

cat >"$work/haproxy.cfg" <<CONF
global
  nbthread 1
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe_write
  bind 127.0.0.1:$fe1
  filter spoe engine myspoa config $work/spoe.conf
  default_backend be_dead
frontend fe_types
  bind 127.0.0.1:$fe2
  filter spoe engine types config $work/spoe.conf
  default_backend be_dead
backend be_dead
  server dead 127.0.0.1:$dead
backend be_agent
  option spop-check
  server agent 127.0.0.1:$agent check inter 1s
CONF

python3 "$here/spop_recorder.py" --port "$agent" --outdir "$work/frames" --seconds 20 &
pids+=($!)
sleep 0.5
"$haproxy" -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
hap=$!
pids+=($hap)
sleep 2  # at least one spop-check round
for port in "$fe1" "$fe2"; do
  python3 - "$port" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
time.sleep(0.8)  # the NOTIFY goes out on session start; the ACK comes back meanwhile
s.close()
PY
done
sleep 0.5
kill -USR1 "$hap" 2>/dev/null || true  # soft stop: HAProxy says goodbye to the agent
sleep 1.5

pick() {  # pick <output name> <python predicate on (payload bytes, frame type)>
  python3 - "$work/frames" "$out/$1" "$2" <<'PY'
import glob, os, shutil, sys
d, dst, pred = sys.argv[1], sys.argv[2], sys.argv[3]
def key(p):
    b = os.path.basename(p)[1:-4].split("-")
    return (int(b[0]), int(b[1][1:]))
for p in sorted(glob.glob(os.path.join(d, "*.bin")), key=key):
    raw = open(p, "rb").read()
    t, payload = raw[4], raw
    if eval(pred):
        shutil.copyfile(p, dst)
        print("%s <- %s (%d bytes)" % (os.path.basename(dst), os.path.basename(p), len(raw)))
        sys.exit(0)
print("no frame for %s" % os.path.basename(dst), file=sys.stderr)
sys.exit(1)
PY
}
pick haproxy26-healthcheck-hello.bin 't == 1 and b"healthcheck" in payload'
pick haproxy26-hello.bin 't == 1 and b"healthcheck" not in payload'
pick haproxy26-notify.bin 't == 3 and b"myspoa-route" in payload'
pick haproxy26-notify-types.bin 't == 3 and b"all-types" in payload'
pick haproxy26-disconnect.bin 't == 2' || echo "(no HAPROXY-DISCONNECT captured)"
ls "$work/frames"
