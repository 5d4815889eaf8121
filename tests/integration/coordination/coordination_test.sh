#!/usr/bin/env bash
# Two balancers, one writer (issue 12): the must-show tests on the real lab, through both HAProxies
# (`labctl up --lbs 2`: agents in cluster.cooperation majority, lb1 writes 13306, lb2 writes 14306).
#
#   start              both agents restarted together: exactly one primary within 2 s (and never
#                      two), both name the same writer, writes through both balancers land on it
#   partition-secondary  partition the secondary's balancer from db01: its writes are refused with
#                      the agent's MySQL error (1105, "... writes refused: ..."), the primary's balancer keeps writing to db01,
#                      no failover (db01 stays read_only=0, db02 read_only=1, no read_only change);
#                      after heal the secondary's balancer writes to db01 again
#   partition-primary  the same with the primary's balancer (shorter than master_failure_timeout)
#   crash-writer       crash db01: both balancers move writes to db02; read_only changes counted
#                      from both agents' /events: db02 made writable exactly once, by the primary
#   kill-primary       SIGKILL the primary agent: the other becomes primary within 3 s
#   freeze-primary     SIGSTOP the primary agent for 10 s under a write load through both
#                      balancers, first with db01 as the writer, then with db02 (moved by the
#                      primary through POST /writer): the frozen agent's balancer falls back to
#                      HAProxy's static rule (db01, db02 as backup); writes that reach a read_only
#                      master fail with 1290 (counted), none is acknowledged by one
# Throughout: both /status sampled every 100 ms; moments where the two agents named different
# writers, and moments with two primaries, must be 0.
#
# usage: coordination_test.sh LABCTL LAB_LOAD MYSPOA_BIN SCENARIO...   (SCENARIO or "all")
# Environment: MYSPOA_LAB_DIR (default /tmp/myspoa-lab); holds /tmp/myspoa-lab-dev.lock unless
# MYSPOA_LAB_LOCK_HELD=1. Exit 0 pass, 1 fail, 2 setup failure.
set -uo pipefail

LABCTL=${1:?usage: coordination_test.sh LABCTL LAB_LOAD MYSPOA_BIN SCENARIO...}
LOAD=${2:?usage}
AGENT=${3:?usage}
shift 3
SCENARIOS=("$@")
((${#SCENARIOS[@]})) || SCENARIOS=(all)
if [[ ${SCENARIOS[0]} == all ]]; then
  SCENARIOS=(start partition-secondary partition-primary crash-writer kill-primary freeze-primary)
fi
CTL=${MYSPOACTL_BIN:-$(dirname "$AGENT")/myspoactl}
for f in "$LABCTL" "$LOAD" "$AGENT" "$CTL"; do [[ -x $f ]] || { echo "FATAL: $f missing"; exit 2; }; done
# Skip (77) only while the agent has no cooperation mode at all (before issue 12's config key):
# checked before the lab lock, without touching the lab.
probe_cfg=$(mktemp "${TMPDIR:-/tmp}/coordination-check.XXXXXX")
printf 'cluster:\n  cooperation: majority\n  manage_read_only: true\n  masters: [db01]\n  servers:\n    - { name: db01, address: "127.0.0.1:1" }\n' >"$probe_cfg"
probe_out=$("$AGENT" --check-config "$probe_cfg" 2>&1)
rm -f "$probe_cfg"
if grep -q "cooperation.*unknown key" <<<"$probe_out"; then
  echo "SKIP: this myspoa has no cluster.cooperation ($probe_out)"
  exit 77
fi
LOCK=/tmp/myspoa-lab-dev.lock
if [[ ${MYSPOA_LAB_LOCK_HELD:-0} != 1 ]]; then
  echo "coordination: waiting for $LOCK"
  MYSPOA_LAB_LOCK_HELD=1 exec flock -o -w 1800 "$LOCK" "$0" "$LABCTL" "$LOAD" "$AGENT" "${SCENARIOS[@]}"
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
export MYSPOA_BIN=$AGENT LAB_LOAD_BIN=$LOAD
export MYSPOA_LAB_DIR=${MYSPOA_LAB_DIR:-/tmp/myspoa-lab}
LAB=$MYSPOA_LAB_DIR
WORK=$LAB/coordination
source "$REPO/tests/integration/coordination/coordination_lib.sh"

LOAD_PIDS=()
cleanup() {
  local p
  for p in "${LOAD_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  stop_sampler
  "$LABCTL" thaw agent1 >/dev/null 2>&1
  "$LABCTL" thaw agent2 >/dev/null 2>&1
  [[ ${COORDINATION_KEEP_LAB:-0} == 1 ]] || "$LABCTL" down >/dev/null 2>&1
}
trap cleanup EXIT

# A fresh two-balancer lab, both agents answering, one primary, one writer named by both.
fresh_lab() {
  stop_sampler
  "$LABCTL" down >/dev/null 2>&1 || true
  "$LABCTL" up --lbs 2 >"$LAB.coordination-up.log" 2>&1 ||
    { cat "$LAB.coordination-up.log"; echo "FATAL: labctl up --lbs 2"; exit 2; }
  local ms
  ms=$(wait_for 20000 agree_on_writer db01) ||
    { "$LABCTL" status; echo "FATAL: the agents do not agree on db01 as the writer within 20 s"; exit 2; }
  ms=$(wait_for 5000 one_primary) || { "$LABCTL" status; echo "FATAL: no single primary"; exit 2; }
  # Writes flow through both balancers (HAProxy's spop-check has seen the agents).
  wait_for 10000 writes_land_on 13306 1 >/dev/null && wait_for 10000 writes_land_on 14306 1 >/dev/null ||
    { "$LABCTL" status; echo "FATAL: writes do not reach db01 through both balancers"; exit 2; }
  start_sampler 900
  SCENARIO_START=$(now_ms)
}

# The sampler's verdict on the scenario so far: no moment with different writers or two primaries.
sampler_verdict() {
  stop_sampler
  local rep
  rep=$(sampler_report --from-ms "$SCENARIO_START")
  figure "$1 status samples: $rep"
  [[ $(report_value "$rep" different_writers) == 0 ]]
  check "$1: no moment where the two agents named different writers" $?
  [[ $(report_value "$rep" two_primaries) == 0 ]]
  check "$1: no moment with two primaries" $?
}

# ---- scenarios ---------------------------------------------------------------------------------

sc_start() {
  say "== start: both agents restarted together"
  "$LABCTL" crash agent1 >/dev/null && "$LABCTL" crash agent2 >/dev/null
  sleep 1
  local t ms p
  t=$(now_ms)
  local s1 s2
  "$LABCTL" start agent1 >/dev/null &
  s1=$!
  "$LABCTL" start agent2 >/dev/null &
  s2=$!
  wait "$s1" "$s2"  # not a bare wait: the status sampler runs in the background too
  wait_for 5000 one_primary >/dev/null
  p=$(primary_lb)
  local polled=$(($(now_ms) - t)) started became
  # Timed by the agents' own clocks: from the first agent's start (/status agent.started_unix_ms,
  # the earlier of the two) to the primary's "is now primary" event. The poll above also counts
  # labctl's own start-up (pid files, waiting for the admin port), which is not the agents'.
  started=$( (status_of 1; status_of 2) | jq -s '[.[].agent.started_unix_ms | select(. > 0)] | min // empty')
  became=$(events_of "${p:-1}" | awk -F'\t' '$3 == "coordination" && $5 ~ / is now primary/ {t = $2} END {print t}')
  ms=$((${became:-0} - ${started:-0}))
  [[ -n $started && -n $became ]] || ms=999999
  figure "start: one primary (lb${p:-?}) ${ms} ms after the first agent started (seen by polling ${polled} ms after labctl start was called)"
  ((ms >= 0 && ms <= 2000)) && [[ -n $p ]]
  rc=$?  # before the message: its $(...) would reset $?
  check "start: exactly one agent is primary within 2 s (${ms} ms, lb${p:-?}); the other: $(role_of "$(other "${p:-1}")")" $rc
  ms=$(wait_for 10000 agree_on_writer db01)
  check "start: both /status name db01 as the writer (${ms} ms after the primary)" $?
  writes_land_on 13306 1 && writes_land_on 14306 1
  check "start: writes through 13306 and 14306 land on db01" $?
  p=$(primary_lb)
  local o m1 m2 l1 l2 line res
  o=$(other "${p:-1}")
  m1=$(metric_of "${p:-1}" myspoa_coordination_primary) m2=$(metric_of "$o" myspoa_coordination_primary)
  l1=$(metric_of "${p:-1}" myspoa_coordination_locks_held) l2=$(metric_of "$o" myspoa_coordination_locks_held)
  figure "start: locks held: primary lb${p:-?} $l1, secondary lb$o $l2 (of 5)"
  [[ $m1 == 1 && $m2 == 0 ]] && ((l1 >= 3 && l1 + l2 <= 5))
  check "start: /metrics: myspoa_coordination_primary 1 on lb${p:-?}, 0 on lb$o; locks $l1 + $l2 <= 5" $?
  line=$("$CTL" --admin "http://127.0.0.1:$(admin_port "$o")" status | head -n 1)
  [[ $line == "role: secondary (lb$o, "* ]]
  check "start: myspoactl status on lb$o starts with its role: $line" $?
  [[ $(events_of "${p:-1}" | awk -F'\t' '$3 == "coordination"' | tail -n 1) == *"lb${p:-?} is now primary"* ]]
  check "start: the primary's /events has its role change" $?
  res=$(curl -s --max-time 3 -X POST -d '' -w ' %{http_code}' "http://127.0.0.1:$(admin_port "$o")/checksum/run")
  local named
  named=$(status_of "$o" | jq -r '.coordination.primary // empty')
  # The lab lists both agents (cluster.agents): the secondary knows the primary's name.
  [[ $named == "lb${p:-?}" && $line == *"primary lb${p:-?}"* ]]
  check "start: the secondary names the primary: /status coordination.primary '$named', myspoactl '$line'" $?
  [[ $res == *" 409" && $res == *"is secondary"* && $res == *"(lb${p:-?})"* ]]
  check "start: a checksum run on the secondary is refused (409) naming the primary: $res" $?
  sampler_verdict start
}

# Partition balancer $1 (1 or 2) from db01 for HOLD seconds.
partition_case() {
  local lb=$1 name=$2 hold=${3:-7} t ms since res bad=0 i
  local other_lb
  other_lb=$(other "$lb")
  say "== $name: partition lb$lb (role $(role_of "$lb")) from db01 for ${hold} s"
  since=$(now_ms)
  "$LABCTL" partition "lb$lb" db01 >/dev/null
  t=$(now_ms)
  ms=$(wait_for 5000 write_refused "$(write_port "$lb")")
  rc=$?  # before the message: its $(...) would reset $?
  check "$name: writes through lb$lb ($(write_port "$lb")) refused within 5 s (${ms} ms)" $rc
  res=$(write_via "$(write_port "$lb")")
  figure "$name: lb$lb write answer: $res"
  [[ $res == "err 1105 "* && $res == *refused* ]]
  check "$name: the refusal is the agent's MySQL error: ${res#err }" $?
  # For the rest of the partition: lb$lb refuses, the other balancer writes to db01, no failover.
  local refused=0 other_ok=0 tries=0
  while (($(now_ms) - t < hold * 1000)); do
    tries=$((tries + 1))
    write_refused "$(write_port "$lb")" && refused=$((refused + 1))
    writes_land_on "$(write_port "$other_lb")" 1 && other_ok=$((other_ok + 1))
    [[ $(ro_of db01) == 0 && $(ro_of db02) == 1 ]] || bad=$((bad + 1))
    sleep 0.3
  done
  figure "$name: during the partition: lb$lb refused $refused/$tries, lb$other_lb wrote on db01 $other_ok/$tries, read_only wrong $bad/$tries"
  ((refused == tries))
  check "$name: every write through lb$lb refused while partitioned ($refused/$tries)" $?
  ((other_ok == tries))
  check "$name: every write through lb$other_lb acknowledged by db01 ($other_ok/$tries)" $?
  ((bad == 0))
  check "$name: no failover: db01 read_only=0, db02 read_only=1 throughout" $?
  "$LABCTL" heal "lb$lb" db01 >/dev/null
  ms=$(wait_for 10000 writes_land_on "$(write_port "$lb")" 1)
  check "$name: after heal, writes through lb$lb land on db01 again (${ms} ms)" $?
  local changes
  changes=$( (ro_changes_of 1 "$since"; ro_changes_of 2 "$since") | wc -l)
  ((changes == 0))
  check "$name: no read_only change by either agent ($changes)" $?
  sampler_verdict "$name"
}

sc_partition_secondary() {
  local p
  p=$(primary_lb)
  partition_case "$(other "$p")" partition-secondary 7
}

sc_partition_primary() {
  local p
  p=$(primary_lb)
  # Shorter than cluster.master_failure_timeout_ms (10 s by default): replicas still confirm db01.
  partition_case "$p" partition-primary 7
}

sc_crash_writer() {
  say "== crash-writer: crash db01"
  local since ms p
  p=$(primary_lb)
  since=$(now_ms)
  "$LABCTL" crash db01 >/dev/null
  ms=$(wait_for 30000 writes_land_on 13306 2)
  check "crash-writer: writes through lb1 land on db02 (${ms} ms after the crash)" $?
  figure "crash-writer: lb1 writes on db02 after $ms ms"
  ms=$(wait_for 10000 writes_land_on 14306 2)
  check "crash-writer: writes through lb2 land on db02 (${ms} ms later)" $?
  ms=$(wait_for 5000 agree_on_writer db02)
  check "crash-writer: both /status name db02" $?
  sleep 5 # anything done twice would show by now
  local c1 c2
  c1=$(ro_changes_of 1 "$since" | sort | uniq -c | awk '{printf "%s=%s:%s ", $2, $3, $1}')
  c2=$(ro_changes_of 2 "$since" | sort | uniq -c | awk '{printf "%s=%s:%s ", $2, $3, $1}')
  figure "crash-writer: read_only changes (server=value:count) lb1: ${c1:-none} lb2: ${c2:-none} (primary lb$p)"
  local total_db02 total_other
  total_db02=$( (ro_changes_of 1 "$since"; ro_changes_of 2 "$since") | grep -c '^db02 0$')
  total_other=$( (ro_changes_of 1 "$since"; ro_changes_of 2 "$since") | grep -vc '^db02 0$')
  ((total_db02 == 1 && total_other == 0))
  check "crash-writer: one read_only change in all: db02 -> 0 once ($total_db02), nothing else ($total_other)" $?
  [[ -z $(ro_changes_of "$(other "$p")" "$since") ]]
  rc=$?  # before the message: its $(...) would reset $?
  check "crash-writer: the secondary (lb$(other "$p")) changed no read_only" $rc
  "$LABCTL" start db01 >/dev/null
  ms=$(wait_for 30000 agree_on_writer "")
  rc=$?  # before the message: its $(...) would reset $?
  check "crash-writer: db01 back: both agents name one writer ($(writer_of 1), ${ms} ms)" $rc
  sampler_verdict crash-writer
}

sc_kill_primary() {
  local p o t ms
  p=$(primary_lb)
  o=$(other "$p")
  say "== kill-primary: SIGKILL agent$p (primary)"
  t=$(now_ms)
  "$LABCTL" crash "agent$p" >/dev/null
  ms=$(wait_for 5000 eval '[[ $(role_of '"$o"') == primary ]]')
  ms=$(($(now_ms) - t))
  figure "kill-primary: agent$o primary ${ms} ms after the SIGKILL of agent$p"
  [[ $(role_of "$o") == primary ]] && ((ms <= 3000))
  check "kill-primary: agent$o becomes primary within 3 s (${ms} ms)" $?
  writes_land_on "$(write_port "$o")" 1
  check "kill-primary: writes through lb$o still land on db01" $?
  "$LABCTL" start "agent$p" >/dev/null
  ms=$(wait_for 10000 eval '[[ $(role_of '"$p"') == secondary && $(primary_lb) == '"$o"' ]]')
  check "kill-primary: restarted agent$p is secondary, agent$o stays primary (${ms} ms)" $?
  ms=$(wait_for 10000 agree_on_writer db01)
  check "kill-primary: both name db01 again" $?
  sampler_verdict kill-primary
}

# Freeze the primary for 10 s under a load through both balancers; $1: expected writer.
freeze_round() {
  local writer=$1 p lb tag=$2
  p=$(primary_lb)
  local wid=${writer#db0}
  say "== freeze-primary ($tag): writer $writer, SIGSTOP agent$p for 10 s"
  LOAD_PIDS=()
  for lb in 1 2; do
    "$LOAD" --port "$(write_port "$lb")" --seconds 18 --rate 20 --timeout 3 \
      --out "$WORK/freeze-$tag-lb$lb.tsv" --attempts "$WORK/freeze-$tag-lb$lb.attempts" \
      >"$WORK/freeze-$tag-lb$lb.out" 2>&1 &
    LOAD_PIDS+=($!)
  done
  sleep 3
  local f0 f1
  f0=$(now_ms)
  "$LABCTL" freeze "agent$p" >/dev/null
  sleep 10
  "$LABCTL" thaw "agent$p" >/dev/null
  f1=$(now_ms)
  for lb in "${LOAD_PIDS[@]}"; do wait "$lb"; done
  LOAD_PIDS=()
  # Acknowledged writes through each balancer during the freeze, by server; 1290 failures.
  for lb in 1 2; do
    local acked on_writer e1290 other_err
    acked=$(awk -F'\t' -v a="$f0" -v b="$f1" '!/^#/ && $4 >= a && $4 <= b' "$WORK/freeze-$tag-lb$lb.tsv" | wc -l)
    on_writer=$(awk -F'\t' -v a="$f0" -v b="$f1" -v s="$wid" '!/^#/ && $4 >= a && $4 <= b && $3 == s' "$WORK/freeze-$tag-lb$lb.tsv" | wc -l)
    e1290=$(awk -F'\t' -v a="$f0" -v b="$f1" '!/^#/ && $2 >= a && $2 <= b && $4 == 1290' "$WORK/freeze-$tag-lb$lb.tsv.err" | wc -l)
    other_err=$(awk -F'\t' -v a="$f0" -v b="$f1" '!/^#/ && $2 >= a && $2 <= b && $4 != 1290' "$WORK/freeze-$tag-lb$lb.tsv.err" | wc -l)
    figure "freeze-primary ($tag): lb$lb$([[ $lb == "$p" ]] && echo ' (frozen agent)') during the freeze: acked $acked (on $writer: $on_writer), failed with 1290: $e1290, other errors: $other_err"
    ((acked == on_writer))
    check "freeze-primary ($tag): every write acknowledged through lb$lb during the freeze is on the writer $writer ($on_writer/$acked)" $?
  done
  # The whole run: no acknowledged write on a master other than the writer.
  local stray
  stray=$(cat "$WORK/freeze-$tag-lb1.tsv" "$WORK/freeze-$tag-lb2.tsv" | awk -F'\t' -v s="$wid" '!/^#/ && $3 != s' | wc -l)
  ((stray == 0))
  check "freeze-primary ($tag): no write acknowledged by a master other than $writer in the whole run ($stray)" $?
  local ms
  ms=$(wait_for 10000 eval '[[ $(role_of '"$p"') == primary ]]')
  check "freeze-primary ($tag): thawed agent$p is primary again (it kept its locks) (${ms} ms)" $?
}

sc_freeze_primary() {
  freeze_round db01 db01-writer
  # Move the writer to db02 through the primary (it does the read_only steps), then again.
  local p ms
  p=$(primary_lb)
  curl -s --max-time 3 -X POST -d '{"server": "db02"}' "http://127.0.0.1:$(admin_port "$p")/writer" >"$WORK/promote.out"
  ms=$(wait_for 20000 agree_on_writer db02)
  rc=$?  # before the message: its $(...) would reset $?
  check "freeze-primary: POST /writer db02 on the primary: both agents name db02 (${ms} ms; $(cat "$WORK/promote.out"))" $rc
  [[ $(ro_of db01) == 1 ]]
  check "freeze-primary: db01 is read_only=1 after the move" $?
  freeze_round db02 db02-writer
  sampler_verdict freeze-primary
}

# ---- run ---------------------------------------------------------------------------------------
mkdir -p "$WORK" && rm -f "$WORK"/*
for sc in "${SCENARIOS[@]}"; do
  case "$sc" in
    start | partition-secondary | partition-primary | crash-writer | kill-primary | freeze-primary) ;;
    *) echo "FATAL: unknown scenario $sc"; exit 2 ;;
  esac
  fresh_lab
  "sc_${sc//-/_}"
done
say "figures: $WORK/figures.txt"
if ((FAILS)); then
  say "FAILED: $FAILS check(s)"
  "$LABCTL" status
  exit 1
fi
say "PASS"
