#!/usr/bin/env bash
# Bounded chaos soak on the loopback lab: random faults (crash+start, freeze+thaw,
# stop-repl+start-repl, lag+lag 0) on random servers at random intervals, plus SIGKILL/restart of
# the agent, while two write loads (lab_load as `app`, one new connection per write) go through
# HAProxy's write frontend. Then heals everything, waits for replication and prints a table
# (chaos_report.py): writes on a server > 1 s after it stopped being the agent's writer, moments
# with two masters taking writes, acknowledged writes missing on db01/db02, connections that hung
# (> 2 s), failover times. Exit 1 when a must-be-zero count is not 0, 2 on a setup failure.
#
# usage: soak.sh [--minutes N | --seconds N] [--seed N] [--rate PER_CLIENT] [--lbs 2]
#                [--labctl PATH] [--agent PATH] [--load PATH] [--keep-lab] [--no-fence]
# --lbs 2: the two-balancer lab (`labctl up --lbs 2`, both agents in cooperation majority): one
# write client through each balancer (13306, 14306), and the faults also include partitions of a
# balancer from a server (labctl partition/heal) and SIGKILL or SIGSTOP of either agent. Both
# agents' /status are sampled every 100 ms; the table adds the moments where the two agents named
# different writers and the moments with two primaries (both must be 0).
# By default the agent runs the lab config plus its protections (cluster.fence: read_only,
# manage_read_only, haproxy.runtime_api: the lab's stats socket for cutting the old writer's
# sessions); --no-fence runs the plain lab config (routing only).
# Environment: MYSPOA_LAB_DIR (default /tmp/myspoa-lab), MYSPOA_LAB_PORT_BASE (MySQL ports, a
# multiple of 10; HAProxy's and the agent's ports are fixed). The lab ports are shared by every
# developer: the script holds /tmp/myspoa-lab-dev.lock unless MYSPOA_LAB_LOCK_HELD=1.
# The fault sequence is a pure function of the seed ($RANDOM seeded), the timing is not.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LOCK=/tmp/myspoa-lab-dev.lock

SECONDS_TOTAL=600
SEED=$(((RANDOM << 15 | RANDOM) % 1000000))
RATE=15
LABCTL=$REPO/tests/lab/labctl
AGENT=${MYSPOA_BIN:-$REPO/build/bin/myspoa}
LOAD=${LAB_LOAD_BIN:-$REPO/build/bin/lab_load}
KEEP_LAB=0
FENCE=1
LBS=1
ARGS=("$@")
while (($#)); do
  case "$1" in
    --minutes) SECONDS_TOTAL=$((${2:?} * 60)); shift 2 ;;
    --seconds) SECONDS_TOTAL=${2:?}; shift 2 ;;
    --seed) SEED=${2:?}; shift 2 ;;
    --rate) RATE=${2:?}; shift 2 ;;
    --labctl) LABCTL=${2:?}; shift 2 ;;
    --agent) AGENT=${2:?}; shift 2 ;;
    --load) LOAD=${2:?}; shift 2 ;;
    --keep-lab) KEEP_LAB=1; shift ;;
    --no-fence) FENCE=0; shift ;;
    --lbs) LBS=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "soak: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $SECONDS_TOTAL =~ ^[0-9]+$ ]] && ((SECONDS_TOTAL >= 60 && SECONDS_TOTAL <= 7200)) ||
  { echo "soak: duration must be 60..7200 s" >&2; exit 2; }
[[ $SEED =~ ^[0-9]+$ ]] || { echo "soak: --seed must be a number" >&2; exit 2; }
[[ $LBS == 1 || $LBS == 2 ]] || { echo "soak: --lbs takes 1 or 2" >&2; exit 2; }
((LBS == 1 || FENCE)) || { echo "soak: --lbs 2 needs the read_only protections (no --no-fence)" >&2; exit 2; }

if [[ ${MYSPOA_LAB_LOCK_HELD:-0} != 1 ]]; then
  echo "soak: waiting for $LOCK"
  MYSPOA_LAB_LOCK_HELD=1 exec flock -o -w 1800 "$LOCK" "$0" "${ARGS[@]}"
fi

export MYSPOA_BIN=$AGENT LAB_LOAD_BIN=$LOAD
export MYSPOA_LAB_DIR=${MYSPOA_LAB_DIR:-/tmp/myspoa-lab}
LAB=$MYSPOA_LAB_DIR
OUT=$LAB/chaos
CONFIG=${MYSPOA_CONFIG:-$REPO/tests/lab/myspoa.yaml}
PORT_BASE=${MYSPOA_LAB_PORT_BASE:-33060}
if ((FENCE || PORT_BASE != 33060)); then
  # The lab config, with the MySQL ports of a shifted lab (MYSPOA_LAB_PORT_BASE) and the fencing.
  src=$CONFIG
  CONFIG=$LAB.chaos-myspoa.yaml
  sed -e "s/127\.0\.0\.1:3306\([1-5]\)/127.0.0.1:$((PORT_BASE / 10))\1/" "$src" >"$CONFIG"
  ((PORT_BASE % 10 == 0)) || { echo "soak: MYSPOA_LAB_PORT_BASE must be a multiple of 10" >&2; exit 2; }
fi
if ((FENCE)); then
  sed -i -e 's/^  failback: auto.*/  failback: auto\n  fence: read_only\n  manage_read_only: true/' "$CONFIG"
  printf 'haproxy:\n  runtime_api: ["%s"]\n' "$LAB/haproxy.sock" >>"$CONFIG"
  grep "fence: read_only" "$CONFIG" >/dev/null || { echo "soak: could not derive $CONFIG" >&2; exit 2; }
fi
export MYSPOA_CONFIG=$CONFIG
SERVERS=(db01 db02 db03 db04 db05)
T0=$(date +%s)

now_ms() { date +%s%3N; }
say() { printf '[%4ds] %s\n' $(($(date +%s) - T0)) "$*"; }
die() { say "FATAL: $*"; exit 2; }

for f in "$AGENT" "$LOAD" "$LABCTL"; do [[ -x $f ]] || die "$f missing"; done

# Own generator (an LCG) in this shell: bash reseeds $RANDOM in every $(...) subshell, which would
# make the fault sequence depend on more than the seed. rnd LO HI sets R, uniform in [LO, HI].
RNG=$SEED
rnd() {
  RNG=$(((RNG * 1103515245 + 12345) % 2147483648))
  R=$(($1 + (RNG >> 8) % ($2 - $1 + 1)))
}

# Fault log: unix_ms  phase(inject|revert)  kind  target  detail
fault_log() { printf '%s\t%s\t%s\t%s\t%s\n' "$(now_ms)" "$1" "$2" "$3" "${4:-}" >>"$OUT/faults.tsv"; }

lab() {
  local out rc
  out=$("$LABCTL" "$@" 2>&1)
  rc=$?
  ((rc == 0)) || say "labctl $* failed ($rc): $(tail -n 2 <<<"$out" | tr '\n' ' ')"
  return "$rc"
}

# ---- the agent, started the way labctl starts it (same pid file and log) -------------------------
source "$REPO/tests/lab/agent_helpers.sh"
kill_agent() {
  local pid i
  if ((LBS == 2)); then
    "$LABCTL" crash "${1:-agent1}" >/dev/null 2>&1
    return 0
  fi
  pid=$(agent_pid) || return 0
  kill -KILL "$pid"
  for ((i = 0; i < 50; i++)); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
}
start_agent() {
  if ((LBS == 2)); then
    "$LABCTL" thaw "${1:-agent1}" >/dev/null 2>&1
    "$LABCTL" start "${1:-agent1}" >/dev/null 2>&1 || say "${1:-agent1} did not start"
    return 0
  fi
  agent_pid >/dev/null && return 0
  spawn_agent
  local i
  for ((i = 0; i < 50; i++)); do
    timeout 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/12345' 2>/dev/null && return 0
    sleep 0.1
  done
  say "agent did not listen on 12345 within 5 s"
}

LOAD_PIDS=()
SAMPLER_PID=""
cleanup() {
  local p
  for p in "${LOAD_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [[ -z $SAMPLER_PID ]] || kill "$SAMPLER_PID" 2>/dev/null
  heal quiet
  if ((KEEP_LAB == 0)); then "$LABCTL" down >/dev/null 2>&1; fi
}

# Undo every fault (idempotent): thaw, start, replication on, no delay, agent running.
heal() {
  local db
  for db in "${SERVERS[@]}"; do "$LABCTL" thaw "$db" >/dev/null 2>&1; done
  for db in "${SERVERS[@]}"; do "$LABCTL" start "$db" >/dev/null 2>&1; done
  for db in "${SERVERS[@]}"; do
    "$LABCTL" start-repl "$db" >/dev/null 2>&1
    if [[ -n ${LAGGED[$db]:-} ]]; then "$LABCTL" lag "$db" 0 >/dev/null 2>&1; fi
  done
  if ((LBS == 2)); then
    for db in "${SERVERS[@]}"; do
      "$LABCTL" heal lb1 "$db" >/dev/null 2>&1
      "$LABCTL" heal lb2 "$db" >/dev/null 2>&1
    done
    start_agent agent1
    start_agent agent2
  else
    start_agent
  fi
  [[ ${1:-} == quiet ]] || say "healed: every server running, replication started, delays removed, agent(s) up"
}
declare -A LAGGED=() PARTITIONED=()

# ---- faults ----------------------------------------------------------------------------------
# inject KIND TARGET; revert KIND TARGET
inject() {
  local kind=$1 db=$2 detail="" t
  t=$(now_ms)  # the fault starts with the command (the kill is logged after the process is gone)
  case "$kind" in
    crash) lab crash "$db" ;;
    freeze) lab freeze "$db" ;;
    stop-repl) lab stop-repl "$db" ;;
    lag)
      rnd 3 12
      detail=$R
      LAGGED[$db]=1
      lab lag "$db" "$detail"
      ;;
    agent-kill) kill_agent "$db" ;;
    agent-freeze) lab freeze "$db" ;;
    partition)
      rnd 1 2
      detail=lb$R
      lab partition "$detail" "$db"
      PARTITIONED[$db]=$detail
      ;;
  esac
  printf '%s\tinject\t%s\t%s\t%s\n' "$t" "$kind" "$db" "$detail" >>"$OUT/faults.tsv"
  say "inject $kind $db $detail"
}
revert() {
  local kind=$1 db=$2
  case "$kind" in
    crash) lab start "$db" ;;
    freeze) lab thaw "$db" ;;
    stop-repl) lab start-repl "$db" ;;
    lag) lab lag "$db" 0 ;;
    agent-kill) start_agent "$db" ;;
    agent-freeze) lab thaw "$db" ;;
    partition) lab heal "${PARTITIONED[$db]}" "$db" ;;
  esac
  fault_log revert "$kind" "$db"
  say "revert $kind $db"
}

# Masters count twice: they decide where writes go.
TARGETS=(db01 db01 db02 db02 db03 db04 db05)
KINDS=(crash freeze stop-repl lag crash freeze stop-repl lag agent-kill)
# Two balancers: also cut one balancer off from a server, and SIGKILL or SIGSTOP either agent.
((LBS == 1)) || KINDS+=(partition partition agent-freeze)
is_agent_fault() { [[ $1 == agent-kill || $1 == agent-freeze ]]; }
pick_target() { rnd 0 $((${#TARGETS[@]} - 1)) && R=${TARGETS[$R]}; }
pick_kind() { rnd 0 $((${#KINDS[@]} - 1)) && R=${KINDS[$R]}; }

# ---- run -------------------------------------------------------------------------------------
say "seed $SEED, duration ${SECONDS_TOTAL} s, $LBS balancer(s), 2 write clients at $RATE/s each, agent $AGENT, config $CONFIG"
"$LABCTL" down >/dev/null 2>&1 || true
# The agent's log from its start on: its first decision is the initial writer.
LOG_OFFSET=$(stat -c %s "$LAB/myspoa.log" 2>/dev/null || echo 0)
LOG2_OFFSET=$(stat -c %s "$LAB/lb2/myspoa.log" 2>/dev/null || echo 0)
UP_ARGS=()
((LBS == 1)) || UP_ARGS=(--lbs 2)
"$LABCTL" up "${UP_ARGS[@]}" >"$LAB.chaos-up.log" 2>&1 || { cat "$LAB.chaos-up.log"; die "labctl up"; }
mkdir -p "$OUT"
rm -f "$OUT"/*
trap cleanup EXIT
agent_pid >/dev/null || die "agent not running after labctl up: $(tail -n 5 "$LAB/myspoa.log")"
# Both masters writable, healthy, db01 writing: wait for the agent to say so (bounded).
for ((i = 0; i < 100; i++)); do
  grep "scenario " "$LAB/myspoa.log" | tail -n 1 | grep "scenario healthy," >/dev/null && break
  sleep 0.2
done
printf '# unix_ms\tphase\tkind\ttarget\tdetail\n' >"$OUT/faults.tsv"
RUN_START=$(now_ms)

if ((LBS == 2)); then
  python3 "$REPO/tests/lab/status_sampler.py" --out "$OUT/samples.tsv" --seconds $((SECONDS_TOTAL + 30)) \
    --interval 0.1 9400 9410 &
  SAMPLER_PID=$!
fi
WRITE_PORTS=(13306 13306)
((LBS == 1)) || WRITE_PORTS=(13306 14306)
for c in 1 2; do
  "$LOAD" --host 127.0.0.1 --port "${WRITE_PORTS[$((c - 1))]}" --seconds "$SECONDS_TOTAL" --rate "$RATE" --timeout 5 \
    --out "$OUT/load$c.tsv" --attempts "$OUT/attempts$c.tsv" >"$OUT/load$c.out" 2>&1 &
  LOAD_PIDS+=($!)
done

# Faults until 20 s before the end (the last seconds show the healed cluster taking writes).
end=$(($(date +%s) + SECONDS_TOTAL - 20))
n=0
while (($(date +%s) < end && n < 1000)); do
  n=$((n + 1))
  pick_kind && kind=$R
  pick_target && db=$R
  if is_agent_fault "$kind"; then
    db=agent
    if ((LBS == 2)); then rnd 1 2 && db=agent$R; fi
  fi
  rnd 3 12 && hold=$R
  is_agent_fault "$kind" && rnd 2 5 && hold=$R
  inject "$kind" "$db"
  # One time in four a second, overlapping fault on another server (both masters broken, ...).
  kind2="" db2=""
  rnd 1 4
  if ((R == 1)); then
    pick_kind && kind2=$R
    pick_target && db2=$R
    if ! is_agent_fault "$kind2" && [[ $db2 != "$db" ]]; then
      rnd 1 3
      sleep "$R"
      inject "$kind2" "$db2"
    else
      kind2=""
    fi
  fi
  sleep "$hold"
  [[ -n $kind2 ]] && revert "$kind2" "$db2"
  revert "$kind" "$db"
  rnd 2 8
  sleep "$R"
done
say "$n fault rounds done; waiting for the load to finish"
for p in "${LOAD_PIDS[@]}"; do wait "$p"; done
LOAD_PIDS=()
RUN_END=$(now_ms)
cat "$OUT"/load?.out

heal
lab wait-repl 120 || say "replication did not catch up within 120 s (missing writes will show it)"
"$LABCTL" status | sed 's/^/    /'

# Every row written during the run, as each master has it after the heal.
dump_rows() {
  timeout 60 mariadb --no-defaults -h127.0.0.1 -P"$1" -umyspoa -pmyspoa --connect-timeout=3 -N -B \
    -e "SELECT id, server_id, client_seq, ROUND(UNIX_TIMESTAMP(created) * 1000) FROM app.writes
        WHERE created >= FROM_UNIXTIME($((RUN_START / 1000 - 5))) ORDER BY id"
}
dump_rows $((PORT_BASE + 1)) >"$OUT/rows-db01.tsv" || say "could not read app.writes on db01"
dump_rows $((PORT_BASE + 2)) >"$OUT/rows-db02.tsv" || say "could not read app.writes on db02"
tail -c +$((LOG_OFFSET + 1)) "$LAB/myspoa.log" >"$OUT/myspoa.log"
LBS_ARGS=()
if ((LBS == 2)); then
  [[ -z $SAMPLER_PID ]] || kill "$SAMPLER_PID" 2>/dev/null
  SAMPLER_PID=""
  tail -c +$((LOG2_OFFSET + 1)) "$LAB/lb2/myspoa.log" >"$OUT/myspoa-lb2.log"
  LBS_ARGS=(--agent-log2 "$OUT/myspoa-lb2.log" --load-lb 1 2 --samples "$OUT/samples.tsv")
fi

python3 "$HERE/chaos_report.py" --seed "$SEED" --start-ms "$RUN_START" --end-ms "$RUN_END" \
  --agent-log "$OUT/myspoa.log" --faults "$OUT/faults.tsv" "${LBS_ARGS[@]}" \
  --load "$OUT/load1.tsv" "$OUT/load2.tsv" --attempts "$OUT/attempts1.tsv" "$OUT/attempts2.tsv" \
  --rows db01="$OUT/rows-db01.tsv" db02="$OUT/rows-db02.tsv"
rc=$?
say "files: $OUT"
exit "$rc"
