# Sourced by labctl (not run on its own): fault injection and data commands (crash, start, freeze,
# thaw, stop-repl, start-repl, lag, corrupt, repair, sql, wait-repl, load).
# Uses labctl's settings (LAB, PORT_BASE, SERVERS, the client paths) and its say/warn/die.
# shellcheck shell=bash

cmd_crash() {
  if is_agent_name "${1:-}"; then
    cmd_agent crash "$1"
    return
  fi
  check_name "${1:-}"
  local pid
  pid=$(server_pid "$1") || die "$1 is not running"
  kill -KILL "$pid"
  local i
  for ((i = 0; i < 50; i++)); do
    server_pid "$1" >/dev/null || break
    sleep 0.1
  done
  say "$1 crashed (SIGKILL pid $pid)"
}

cmd_start() {
  if is_agent_name "${1:-}"; then
    cmd_agent start "$1"
    return
  fi
  check_name "${1:-}"
  [[ -f $LAB/$INITIALIZED ]] || die "no lab in $LAB (labctl up)"
  if server_pid "$1" >/dev/null; then
    say "$1 is already running"
    return 0
  fi
  spawn_server "$1"
  wait_server "$1"
  say "$1 started"
}

cmd_freeze() {
  if is_agent_name "${1:-}"; then
    cmd_agent freeze "$1"
    return
  fi
  check_name "${1:-}"
  local pid
  pid=$(server_pid "$1") || die "$1 is not running"
  kill -STOP "$pid"
  say "$1 frozen (SIGSTOP pid $pid)"
}

cmd_thaw() {
  if is_agent_name "${1:-}"; then
    cmd_agent thaw "$1"
    return
  fi
  check_name "${1:-}"
  local pid
  pid=$(server_pid "$1") || die "$1 is not running"
  kill -CONT "$pid"
  say "$1 thawed (SIGCONT pid $pid)"
}

cmd_stop_repl() {
  require_running "${1:-}"
  sqlq "$1" "STOP SLAVE"
  say "$1: replication stopped"
}

cmd_start_repl() {
  require_running "${1:-}"
  sqlq "$1" "START SLAVE"
  say "$1: replication started"
}

cmd_lag() {
  require_running "${1:-}"
  local s=${2:-}
  [[ $s =~ ^[0-9]+$ ]] || die "lag: SECONDS must be a non-negative integer"
  sqlq "$1" "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=$s; START SLAVE"
  say "$1: replication delay set to $s s"
}

cmd_corrupt() {
  require_running "${1:-}"
  local db=$1 id=${2:-}
  if [[ -z $id ]]; then id=$(((RANDOM * 32768 + RANDOM) % APP_ROWS + 1)); fi
  [[ $id =~ ^[0-9]+$ ]] || die "corrupt: ID must be a number"
  local old new
  old=$(sqlq "$db" "SELECT c FROM app.t WHERE id=$id")
  [[ -n $old ]] || die "$db has no row id=$id in app.t"
  new="corrupted-by-labctl-$(date +%s%N)"
  sqlq "$db" "SET SESSION sql_log_bin=0; UPDATE app.t SET c='$new' WHERE id=$id"
  echo "$id" >>"$(dir "$db")/corrupted-rows"
  say "$db: app.t id=$id corrupted silently (c '$old' -> '$new'); repair with: labctl repair $db $id"
}

row_dump() {
  local db=$1 id=$2
  timeout 10 "$DUMP" --no-defaults -uroot -S "$(sock "$db")" --compact --no-create-info --replace \
    --skip-extended-insert --skip-add-locks --skip-disable-keys --skip-tz-utc \
    --where="id=$id" app t
}

cmd_repair() {
  require_running "${1:-}"
  local db=$1 ids=() src mport
  if [[ -n ${2:-} ]]; then
    ids=("$2")
  elif [[ -f $(dir "$db")/corrupted-rows ]]; then
    mapfile -t ids < <(sort -un "$(dir "$db")/corrupted-rows")
  fi
  ((${#ids[@]})) || die "repair: no corrupted row recorded for $db (give an ID)"
  mport=$(slave_field "$db" Master_Port)
  if [[ -n $mport ]]; then src=$(name_of_port "$mport"); else src=$(master_of "$db"); fi
  [[ $src == db0? ]] || die "repair: master of $db ($src) is not a lab server"
  require_running "$src"
  local id row
  for id in "${ids[@]}"; do
    row=$(row_dump "$src" "$id")
    [[ -n $row ]] || die "repair: $src has no row id=$id"
    printf 'SET SESSION sql_log_bin=0;\n%s\n' "$row" |
      timeout 10 "$CLIENT" --no-defaults -uroot -S "$(sock "$db")" app
    [[ $(row_dump "$db" "$id") == "$row" ]] || die "repair: $db row id=$id still differs from $src"
    say "$db: app.t id=$id re-synced from $src"
  done
  if [[ -z ${2:-} ]]; then rm -f "$(dir "$db")/corrupted-rows"; fi
}

cmd_sql() {
  require_running "${1:-}"
  local db=$1
  shift
  (($#)) || die "sql: no query"
  timeout 60 "$CLIENT" --no-defaults -uroot -S "$(sock "$db")" --connect-timeout=3 -e "$*"
}

# Sequence number of domain $2 in GTID list $1 ("1-1-10,2-2-5"), empty when absent.
gtid_seq() {
  local IFS=, g
  for g in $1; do
    if [[ $g == "$2"-*-* ]]; then
      echo "${g##*-}"
      return
    fi
  done
}

# True when every domain of GTID list $1 is reached by GTID list $2.
gtid_reached() {
  local IFS=, g d h
  for g in $1; do
    d=${g%%-*}
    h=$(gtid_seq "$2" "$d")
    [[ -n $h ]] && ((h >= ${g##*-})) || return 1
  done
}

# Wait until every running replica has applied everything its running master has in its binlog.
# Replicas that are stopped, delayed or whose master is down are skipped (and said so).
wait_repl() {
  local timeout_s=${1:-30} deadline db m
  local -A have=() mport=() sqlrun=() delay=() binlog=()
  deadline=$(($(date +%s) + timeout_s))
  while :; do
    have=() mport=() sqlrun=() delay=() binlog=()
    for db in "${SERVERS[@]}"; do
      server_pid "$db" >/dev/null && ! is_frozen "$db" && snap "$db" || continue
      binlog[$db]=${S[gtid_binlog_pos]}
      have[$db]=${S[gtid_current_pos]}
      mport[$db]=${S[Master_Port]:-}
      sqlrun[$db]=${S[Slave_SQL_Running]:-}
      delay[$db]=${S[SQL_Delay]:-0}
    done
    local behind=()
    for db in "${!mport[@]}"; do
      [[ -n ${mport[$db]} ]] || continue
      m=$(name_of_port "${mport[$db]}")
      if [[ ${sqlrun[$db]} != Yes || ${delay[$db]} != 0 ]]; then
        [[ -n ${reported[$db]:-} ]] || say "wait-repl: skipping $db (sql thread ${sqlrun[$db]}, delay ${delay[$db]})" >&2
        reported[$db]=1
      elif [[ -z ${binlog[$m]+set} ]]; then
        [[ -n ${reported[$db]:-} ]] || say "wait-repl: skipping $db (its master $m is not answering)" >&2
        reported[$db]=1
      elif ! gtid_reached "${binlog[$m]}" "${have[$db]}"; then
        behind+=("$db(${have[$db]} < $m:${binlog[$m]})")
      fi
    done
    if ((${#behind[@]} == 0)); then
      say "replicas caught up"
      return 0
    fi
    if (($(date +%s) >= deadline)); then
      warn "replicas still behind after $timeout_s s: ${behind[*]}"
      return 1
    fi
    sleep 0.3
  done
}
declare -A reported=()

cmd_wait_repl() {
  local t=${1:-30}
  [[ $t =~ ^[0-9]+$ ]] || die "wait-repl: TIMEOUT must be a number of seconds"
  wait_repl "$t"
}

cmd_load() {
  local seconds=10 rate=20 host=127.0.0.1 p=$WRITE_PORT extra=() out=$LAB/load.tsv
  if [[ ${1:-} =~ ^[0-9.]+$ ]]; then
    seconds=$1
    shift
  fi
  if [[ ${1:-} =~ ^[0-9.]+$ ]]; then
    rate=$1
    shift
  fi
  while (($#)); do
    case "$1" in
      --direct)
        check_name "${2:-}"
        p=$(port "$2")
        shift 2
        ;;
      --lb)
        [[ ${2:-} == 1 || ${2:-} == 2 ]] || die "load: --lb takes 1 or 2"
        lb_ctx "$2"
        p=$WRITE_PORT
        [[ $2 == 1 ]] || out=$LAB/load-lb2.tsv
        lb_ctx 1
        shift 2
        ;;
      *)
        extra+=("$1")
        shift
        ;;
    esac
  done
  [[ -x $LAB_LOAD_BIN ]] || die "$LAB_LOAD_BIN is missing (build it: cmake --build build --target lab_load)"
  mkdir -p "$LAB"
  "$LAB_LOAD_BIN" --host "$host" --port "$p" --seconds "$seconds" --rate "$rate" \
    --out "$out" "${extra[@]}"
}
