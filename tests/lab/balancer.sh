# Sourced by labctl (not run on its own): the agent and HAProxy of each balancer.
# Uses labctl's settings (LAB, PORT_BASE, SERVERS, the client paths) and its say/warn/die.
# shellcheck shell=bash

# ---------------------------------------------------------------------------------------------
# Agent and HAProxy. Up to two balancers (`up --lbs 2`): lb1 (the plain lab's agent and HAProxy,
# files in $LAB) and lb2 (files in $LAB/lb2). lb_ctx N selects one: the functions below act on it.

LB=1
lb_ctx() {
  LB=$1
  if [[ $LB == 1 ]]; then
    LB_DIR=$LAB WRITE_PORT=13306 READ_PORT=13307 AGENT_SPOP_PORT=12345 REFUSAL_PORT=12346
    ADMIN_PORT=9400
  else
    LB_DIR=$LAB/lb2 WRITE_PORT=14306 READ_PORT=14307 AGENT_SPOP_PORT=12355 REFUSAL_PORT=12356
    ADMIN_PORT=9410
  fi
}
lb_ctx 1

# The agent configuration of the current balancer: MYSPOA_CONFIG with one balancer, the file
# generated from it (lbs.sh) with two.
agent_config() {
  if [[ $(lab_lbs) == 2 ]]; then echo "$LAB/myspoa-lb$LB.yaml"; else echo "$MYSPOA_CONFIG"; fi
}

agent_pid() { live_pid "$LB_DIR/myspoa.pid" "$(basename "$MYSPOA_BIN")"; }
haproxy_pid() { live_pid "$LB_DIR/haproxy.pid" "$HAPROXY_CFG"; }

# The address at which the current balancer reaches server $1: the server itself with one
# balancer, its relay (lbs.sh) with two.
db_addr() {
  if [[ $(lab_lbs) == 2 ]]; then relay_addr "$LB" "$1"; else echo "127.0.0.1:$(port "$1")"; fi
}

haproxy_env() {
  local db
  export MYSPOA_SPOE_CONF="$SPOE_CONF" MYSPOA_HAPROXY_STATS="$LB_DIR/haproxy.sock"
  export MYSPOA_AGENT_ADDR="127.0.0.1:$AGENT_SPOP_PORT" MYSPOA_REFUSAL_ADDR="127.0.0.1:$REFUSAL_PORT"
  export MYSPOA_WRITE_BIND="127.0.0.1:$WRITE_PORT" MYSPOA_READ_BIND="127.0.0.1:$READ_PORT"
  for db in "${SERVERS[@]}"; do
    export "MYSPOA_${db^^}_ADDR=$(db_addr "$db")"
  done
}

start_agent() {
  if agent_pid >/dev/null; then return 0; fi
  local conf
  conf=$(agent_config)
  if [[ ! -x $MYSPOA_BIN ]]; then
    warn "agent not started: $MYSPOA_BIN is missing (build it: cmake --build build --target myspoa)"
    return 0
  fi
  if [[ ! -f $conf ]]; then
    warn "agent not started: $conf is missing"
    return 0
  fi
  if [[ $PORT_BASE != 33060 ]] && grep -q '127.0.0.1:3306[1-5]' "$conf"; then
    warn "MYSPOA_LAB_PORT_BASE=$PORT_BASE but $conf names ports 33061..33065 (set MYSPOA_CONFIG)"
  fi
  if port_in_use "$AGENT_SPOP_PORT"; then
    warn "agent not started: 127.0.0.1:$AGENT_SPOP_PORT is already in use by another process"
    return 0
  fi
  mkdir -p "$LB_DIR"
  (cd "$REPO" || exit 1
    detached "$MYSPOA_BIN" --config "$conf" </dev/null >>"$LB_DIR/myspoa.log" 2>&1
    echo "$DETACHED_PID" >"$LB_DIR/myspoa.pid")
  local i
  for i in $(seq 50); do
    agent_pid >/dev/null || break
    port_in_use "$AGENT_SPOP_PORT" && break
    sleep 0.1
  done
  if agent_pid >/dev/null; then
    say "agent$(lb_label) started (pid $(agent_pid), log $LB_DIR/myspoa.log)"
  else
    tail -n 10 "$LB_DIR/myspoa.log" >&2 || true
    warn "agent$(lb_label) exited during start-up (log: $LB_DIR/myspoa.log)"
  fi
}

# " of lb2" when the lab has two balancers, nothing with one.
lb_label() { [[ $(lab_lbs) == 1 ]] || echo " of lb$LB"; }

start_haproxy() {
  if haproxy_pid >/dev/null; then return 0; fi
  if [[ ! -x $HAPROXY ]]; then
    warn "HAProxy not started: $HAPROXY is missing"
    return 0
  fi
  if [[ ! -f $HAPROXY_CFG ]]; then
    warn "HAProxy not started: $HAPROXY_CFG is missing"
    return 0
  fi
  if [[ ! -f $SPOE_CONF ]]; then
    warn "HAProxy not started: $SPOE_CONF is missing"
    return 0
  fi
  local p
  for p in "$WRITE_PORT" "$READ_PORT"; do
    # HAProxy binds with SO_REUSEPORT: a second instance would silently share the port.
    if port_in_use "$p"; then
      warn "HAProxy not started: 127.0.0.1:$p is already in use by another process"
      return 0
    fi
  done
  mkdir -p "$LB_DIR"
  rm -f "$LB_DIR/haproxy.pid"
  # A subshell: the exported addresses of this balancer must not leak into the next one.
  (haproxy_env
    if ! "$HAPROXY" -c -q -f "$HAPROXY_CFG" >"$LB_DIR/haproxy.check" 2>&1; then
      cat "$LB_DIR/haproxy.check" >&2
      warn "HAProxy not started: $HAPROXY_CFG does not pass 'haproxy -c'"
      exit 0
    fi
    # -db: stay in the foreground so that $! is HAProxy itself and its output lands in the log.
    cd "$REPO" || exit 1
    detached "$HAPROXY" -db -f "$HAPROXY_CFG" </dev/null >>"$LB_DIR/haproxy.log" 2>&1
    echo "$DETACHED_PID" >"$LB_DIR/haproxy.pid")
  [[ -f $LB_DIR/haproxy.pid ]] || return 0
  local i
  for i in $(seq 50); do
    haproxy_pid >/dev/null || break
    port_in_use "$WRITE_PORT" && break
    sleep 0.1
  done
  if haproxy_pid >/dev/null; then
    say "HAProxy$(lb_label) started (pid $(haproxy_pid), writes 127.0.0.1:$WRITE_PORT, reads 127.0.0.1:$READ_PORT, log $LB_DIR/haproxy.log)"
  else
    tail -n 10 "$LB_DIR/haproxy.log" >&2 || true
    warn "HAProxy$(lb_label) exited during start-up (log: $LB_DIR/haproxy.log)"
  fi
}

# Stop a tracked process: SIGCONT (it may be frozen), SIGTERM, then SIGKILL after $3 seconds.
stop_pid() {
  local pid=$1 what=$2 grace=${3:-10} i
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    [[ -d /proc/$pid ]] || return 0
    [[ $(proc_state "$pid") != Z ]] || return 0
    sleep 0.1
  done
  warn "$what (pid $pid) did not stop within $grace s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

routes() {
  local lb
  for lb in 1 2; do
    lb_ctx "$lb"
    ((lb == 1)) || [[ $(lab_lbs) == 2 ]] || continue
    if haproxy_pid >/dev/null; then routes_of_lb; fi
  done
  lb_ctx 1
}

routes_of_lb() {
  local p label i out
  for p in "$WRITE_PORT" "$READ_PORT"; do
    label=writes
    [[ $p == "$READ_PORT" ]] && label=reads
    out=""
    for i in 1 2 3 4 5; do
      local sid
      sid=$(timeout 5 "$CLIENT" --no-defaults -h127.0.0.1 -P"$p" -uapp -papp --connect-timeout=2 -N -B \
        -e 'SELECT @@server_id' 2>/dev/null) || sid=""
      if [[ -n $sid ]]; then out+=" db0$sid"; else out+=" error"; fi
    done
    say "$label via 127.0.0.1:$p$(lb_label) ->$out"
  done
}
