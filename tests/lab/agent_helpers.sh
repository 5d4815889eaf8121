# Shared by the lab tests that kill and restart the agent themselves (chaos soak, agent_down).
# Source it after setting AGENT (binary), REPO (repository root) and LAB (lab directory).

# The lab agent's pid, when it runs (labctl's pid file, same binary, not a zombie).
agent_pid() {
  # No pipe into grep -q here: with pipefail an early grep exit would read as "not running".
  local pid cmd
  pid=$(cat "$LAB/myspoa.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmd == *"$(basename "$AGENT")"* && $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] &&
    echo "$pid"
}

# Starts the agent as labctl does (same log and pid file), but $! is the agent itself (setsid may
# fork) and the agent keeps none of our descriptors (the flock on the lab lock above all).
spawn_agent() {
  (cd "$REPO" || exit 1
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      ((fd > 2)) && eval "exec $fd>&-"
    done 2>/dev/null
    exec "$AGENT" --config "${MYSPOA_CONFIG:-$REPO/tests/lab/myspoa.yaml}" </dev/null >>"$LAB/myspoa.log" 2>&1) &
  echo $! >"$LAB/myspoa.pid"
}
