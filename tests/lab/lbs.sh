# Two balancers for labctl (sourced by tests/lab/labctl; not a command of its own).
#
# `labctl up --lbs 2` runs two load balancers, each an agent + HAProxy pair:
#   lb1: agent SPOP 127.0.0.1:12345, refusal 12346, admin 9400, HAProxy writes 13306, reads 13307
#   lb2: agent SPOP 127.0.0.1:12355, refusal 12356, admin 9410, HAProxy writes 14306, reads 14307
# Each balancer reaches the five servers only through its own TCP relays (socat, one per server),
# on its own loopback address and the server's own port: lb1 through 127.0.0.11:<port of dbNN>,
# lb2 through 127.0.0.12:<port> (the servers listen on 127.0.0.1 only). Keeping the port matters:
# the agent recognizes a replica's source (Master_Host:Master_Port, 127.0.0.1:33061) as its
# configured db01 address (127.0.0.12:33061: loopback hosts compare equal), as it would in a
# real deployment where every host reaches db01 at one address. `labctl partition lb2 db01`
# stops lb2's relay to db01 and with it every connection it carried (the agent's probe and lock
# connections, HAProxy's sessions and checks): lb2 and its agent lose db01, nobody else does, and
# the servers keep replicating from each other directly. `labctl heal lb2 db01` starts it again.
# The agents' configurations are generated from MYSPOA_CONFIG into $LAB/myspoa-lb1.yaml and
# $LAB/myspoa-lb2.yaml: the relay addresses, lb2's ports, agent.name lb1/lb2, each HAProxy's
# runtime API socket and, in the default `--cooperation majority`, cluster.cooperation: majority
# with cluster.manage_read_only: true.

LBS_FILE=.lbs  # "<number of balancers> <cooperation>", written by `up`

# Number of balancers of this lab (1 unless `up --lbs 2` said otherwise).
lab_lbs() {
  local n _
  read -r n _ 2>/dev/null <"$LAB/$LBS_FILE" || n=1
  [[ $n == 2 ]] && echo 2 || echo 1
}
lab_cooperation() {
  local _ c
  read -r _ c 2>/dev/null <"$LAB/$LBS_FILE" || c=""
  echo "${c:-standalone}"
}

check_lb() {
  case "${1:-}" in
    lb1 | lb2) ;;
    *) die "unknown balancer '${1:-}': expected lb1 or lb2" ;;
  esac
  [[ $(lab_lbs) == 2 ]] || die "this lab runs one balancer without relays (labctl down; labctl up --lbs 2)"
}

# Relay of balancer $1 (1 or 2) to server $2: host 127.0.0.1$1, the server's port.
relay_host() { echo "127.0.0.1$1"; }
relay_addr() { echo "$(relay_host "$1"):$(port "$2")"; }
relay_dir() { echo "$LAB/relays"; }
relay_pidfile() { echo "$LAB/relays/lb$1-$2.pid"; }
relay_cutfile() { echo "$LAB/relays/lb$1-$2.cut"; }
relay_pid() { live_pid "$(relay_pidfile "$1" "$2")" "TCP-LISTEN:$(port "$2"),bind=$(relay_host "$1"),"; }

# Start the relay of balancer $1 to server $2 (unless it runs, or `partition` cut it and $3 != force).
start_relay() {
  local lb=$1 db=$2 rp rh
  relay_pid "$lb" "$db" >/dev/null && return 0
  [[ ! -f $(relay_cutfile "$lb" "$db") || ${3:-} == force ]] || return 0
  command -v socat >/dev/null || die "socat is missing (scripts/install-deps.sh installs it)"
  rp=$(port "$db")
  rh=$(relay_host "$lb")
  if port_in_use "$rp" "$rh"; then die "relay address $rh:$rp (lb$lb -> $db) is already in use by another process"; fi
  mkdir -p "$(relay_dir)"
  # fork: one child per relayed connection, all in the relay's own process group (setsid), so
  # `partition` ends the listener and every connection it carries with one signal.
  detached socat -lf "$(relay_dir)/lb$lb-$db.log" \
    "TCP-LISTEN:$rp,bind=$rh,reuseaddr,fork,backlog=512" \
    "TCP:127.0.0.1:$(port "$db"),connect-timeout=2" </dev/null >/dev/null 2>&1
  echo "$DETACHED_PID" >"$(relay_pidfile "$lb" "$db")"
  local i
  for ((i = 0; i < 50; i++)); do
    port_in_use "$rp" "$rh" && return 0
    relay_pid "$lb" "$db" >/dev/null || break
    sleep 0.05
  done
  die "relay lb$lb -> $db ($rh:$rp) did not start (log: $(relay_dir)/lb$lb-$db.log)"
}

# Stop the relay of balancer $1 to server $2 and every connection it relays (SIGKILL to the group).
stop_relay() {
  local lb=$1 db=$2 pid i
  pid=$(relay_pid "$lb" "$db") || return 0
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    relay_pid "$lb" "$db" >/dev/null || break
    sleep 0.05
  done
  rm -f "$(relay_pidfile "$lb" "$db")"
}

start_relays() {
  local lb db
  for lb in 1 2; do
    for db in "${SERVERS[@]}"; do start_relay "$lb" "$db"; done
  done
}

stop_relays() {
  local lb db
  for lb in 1 2; do
    for db in "${SERVERS[@]}"; do stop_relay "$lb" "$db"; done
  done
  rm -f "$(relay_dir)"/*.cut 2>/dev/null || true
}

# Sets KEY: VALUE in top-level SECTION of the YAML file $1 (the simple two-level layout of the lab
# configurations: `section:` then `  key: value` lines). The key goes right below the section
# header; an existing one-line `  key:` of that section is dropped; a missing section is appended.
yaml_set() {
  local f=$1 sec=$2 key=$3 val=$4
  awk -v sec="$sec" -v key="$key" -v val="$val" '
    /^[A-Za-z_][A-Za-z0-9_]*:/ {
      insec = ($0 ~ "^" sec ":[ \t]*(#.*)?$")
      print
      if (insec) { print "  " key ": " val; done = 1 }
      next
    }
    insec && $0 ~ "^  " key ":" { next }
    { print }
    END { if (!done) { print sec ":"; print "  " key ": " val } }' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
}

# The agent configuration of balancer $1 (1 or 2), generated from MYSPOA_CONFIG.
write_lb_config() {
  local lb=$1 f db
  lb_ctx "$lb"
  f=$LAB/myspoa-lb$lb.yaml
  [[ -f $MYSPOA_CONFIG ]] || die "$MYSPOA_CONFIG is missing"
  {
    echo "# Generated by labctl up --lbs 2 from $MYSPOA_CONFIG for lb$lb: relay addresses, lb$lb's ports."
    cat "$MYSPOA_CONFIG"
  } >"$f"
  for db in "${SERVERS[@]}"; do
    sed -i -e "s/127\.0\.0\.1:$(port "$db")\([^0-9]\|\$\)/$(relay_addr "$lb" "$db")\1/g" "$f"
  done
  yaml_set "$f" agent listen "\"127.0.0.1:$AGENT_SPOP_PORT\""
  yaml_set "$f" agent refusal_listen "\"127.0.0.1:$REFUSAL_PORT\""
  yaml_set "$f" admin listen "\"127.0.0.1:$ADMIN_PORT\""
  yaml_set "$f" haproxy runtime_api "[\"$LB_DIR/haproxy.sock\"]"
  if [[ $(lab_cooperation) == majority ]]; then
    yaml_set "$f" agent name "lb$lb"
    yaml_set "$f" cluster cooperation majority
    yaml_set "$f" cluster manage_read_only true
    yaml_set "$f" cluster agents "[lb1, lb2]"  # so a secondary names the primary
  fi
  lb_ctx 1
}

# GET /status of the current balancer's agent, reduced to "role writer" ("- -" when unknown).
agent_view() {
  local j
  j=$(curl -s --max-time 1 "http://127.0.0.1:$ADMIN_PORT/status" 2>/dev/null) || j=""
  python3 -c '
import json, sys
try:
    j = json.loads(sys.argv[1])
    c = j.get("coordination") or {}
    print(c.get("role") or "-", j.get("writer") or "-")
except Exception:
    print("- -")' "$j" 2>/dev/null || echo "- -"
}

# Status lines of both balancers (two-balancer labs).
lbs_status() {
  local lb pid view st line db
  for lb in 1 2; do
    lb_ctx "$lb"
    if pid=$(agent_pid); then
      st=up
      [[ $(proc_state "$pid") != T ]] || st="frozen (SIGSTOP)"
      view="- -"
      [[ $st != up ]] || view=$(agent_view)
      line="agent up pid=$pid"
      [[ $st == up ]] || line="agent $st pid=$pid"
      line+=" (lb$lb: spop 127.0.0.1:$AGENT_SPOP_PORT, admin 127.0.0.1:$ADMIN_PORT, role ${view% *}, writer ${view#* })"
    else
      line="agent down (lb$lb)"
    fi
    [[ $lb == 1 ]] || line="lb2 $line"
    echo "$line"
    if pid=$(haproxy_pid); then
      line="haproxy up pid=$pid (lb$lb: writes 127.0.0.1:$WRITE_PORT, reads 127.0.0.1:$READ_PORT)"
    else
      line="haproxy down (lb$lb)"
    fi
    [[ $lb == 1 ]] || line="lb2 $line"
    echo "$line"
  done
  lb_ctx 1
  for lb in 1 2; do
    line="relays lb$lb:"
    for db in "${SERVERS[@]}"; do
      if relay_pid "$lb" "$db" >/dev/null; then
        line+=" $db=up"
      elif [[ -f $(relay_cutfile "$lb" "$db") ]]; then
        line+=" $db=partitioned"
      else
        line+=" $db=down"
      fi
    done
    echo "$line"
  done
  echo "cooperation $(lab_cooperation)"
}

# partition lbN dbNN / heal lbN dbNN
cmd_partition() {
  check_lb "${1:-}"
  check_name "${2:-}"
  local lb=${1#lb} db=$2
  mkdir -p "$(relay_dir)"
  touch "$(relay_cutfile "$lb" "$db")"
  stop_relay "$lb" "$db"
  say "partitioned lb$lb from $db (relay $(relay_addr "$lb" "$db") stopped, its connections cut)"
}

cmd_heal() {
  check_lb "${1:-}"
  check_name "${2:-}"
  local lb=${1#lb} db=$2
  rm -f "$(relay_cutfile "$lb" "$db")"
  start_relay "$lb" "$db"
  say "healed lb$lb -> $db (relay $(relay_addr "$lb" "$db") running)"
}

# crash|start|freeze|thaw agent1|agent2: the agent of lb1 / lb2.
is_agent_name() { [[ ${1:-} == agent1 || ${1:-} == agent2 ]]; }
cmd_agent() {
  local op=$1 n=${2#agent} pid i
  if [[ $n == 2 && $(lab_lbs) != 2 ]]; then die "this lab runs one balancer (labctl up --lbs 2)"; fi
  lb_ctx "$n"
  case "$op" in
    start)
      if agent_pid >/dev/null; then
        say "agent$n is already running"
      else
        start_agent
        agent_pid >/dev/null || die "agent$n did not start"
      fi
      ;;
    crash)
      pid=$(agent_pid) || die "agent$n is not running"
      kill -KILL "$pid"
      for ((i = 0; i < 50; i++)); do
        agent_pid >/dev/null || break
        sleep 0.05
      done
      say "agent$n crashed (SIGKILL pid $pid)"
      ;;
    freeze)
      pid=$(agent_pid) || die "agent$n is not running"
      kill -STOP "$pid"
      say "agent$n frozen (SIGSTOP pid $pid)"
      ;;
    thaw)
      pid=$(agent_pid) || die "agent$n is not running"
      kill -CONT "$pid"
      say "agent$n thawed (SIGCONT pid $pid)"
      ;;
  esac
  lb_ctx 1
}

# Anything of lb2 or a relay still running (an `up` without --lbs then keeps two balancers).
lbs_running() {
  local lb db
  lb_ctx 2
  if agent_pid >/dev/null || haproxy_pid >/dev/null; then
    lb_ctx 1
    return 0
  fi
  lb_ctx 1
  for lb in 1 2; do
    for db in "${SERVERS[@]}"; do relay_pid "$lb" "$db" >/dev/null && return 0; done
  done
  return 1
}
