# Helpers of the two-balancer tests (coordination_test.sh). Source after setting LABCTL, LAB.
# lb1: admin 9400, writes 13306, agent1; lb2: admin 9410, writes 14306, agent2.

T0=$(date +%s)
FAILS=0
now_ms() { date +%s%3N; }
say() { printf '[%3ds] %s\n' $(($(date +%s) - T0)) "$*"; }
check() { # check "what" STATUS(0 = ok)
  if [[ $2 == 0 ]]; then say "ok    $1"; else say "FAIL  $1"; FAILS=$((FAILS + 1)); fi
}
figure() { say "FIGURE $*"; echo "$*" >>"$WORK/figures.txt"; }

admin_port() { if [[ $1 == 1 ]]; then echo 9400; else echo 9410; fi; }
write_port() { if [[ $1 == 1 ]]; then echo 13306; else echo 14306; fi; }
other() { echo $((3 - $1)); }

metric_of() { curl -s --max-time 1 "http://127.0.0.1:$(admin_port "$1")/metrics" | awk -v m="$2" '$1 == m {print int($2)}'; }
status_of() { curl -s --max-time 1 "http://127.0.0.1:$(admin_port "$1")/status" 2>/dev/null; }
# role of agent N ("primary", "secondary", "none", "" when it does not answer)
role_of() { status_of "$1" | jq -r '.coordination.role // empty' 2>/dev/null; }
writer_of() { status_of "$1" | jq -r '.writer // "-"' 2>/dev/null; }

# The lb number (1 or 2) whose agent is the only primary, or "" (none or both).
primary_lb() {
  local r1 r2
  r1=$(role_of 1) r2=$(role_of 2)
  if [[ $r1 == primary && $r2 != primary ]]; then echo 1; elif [[ $r2 == primary && $r1 != primary ]]; then echo 2; fi
}

# wait_for TIMEOUT_MS COMMAND...: until COMMAND succeeds; prints the elapsed ms (or "timeout").
wait_for() {
  local limit=$1 t
  shift
  t=$(now_ms)
  while (($(now_ms) - t < limit)); do
    if "$@"; then
      echo $(($(now_ms) - t))
      return 0
    fi
    sleep 0.05
  done
  echo timeout
  return 1
}

one_primary() { [[ -n $(primary_lb) ]]; }
# Both agents answer, name the same writer $1 (any writer when $1 is empty).
agree_on_writer() {
  local w1 w2
  w1=$(writer_of 1) w2=$(writer_of 2)
  [[ $w1 != - && -n $w1 && $w1 == "$w2" && (-z ${1:-} || $w1 == "$1") ]]
}

# One write through port $1 as `app`: prints "ok <server_id>" or "err <errno> <message>".
write_via() {
  local out rc
  # --skip-ssl: the agent's refusal endpoint answers before any TLS handshake (its 1105 would
  # otherwise come wrapped in a client error 2002).
  out=$(timeout 6 mariadb --no-defaults --skip-ssl -h127.0.0.1 -P"$1" -uapp -papp --connect-timeout=2 -N -B \
    -e "INSERT INTO app.writes (server_id, client_seq) VALUES (@@server_id, 0); SELECT @@server_id" 2>&1)
  rc=$?
  if ((rc == 0)); then
    echo "ok $out"
  else
    local code
    code=$(sed -n 's/^ERROR \([0-9]*\).*/\1/p' <<<"$out" | head -n 1)
    echo "err ${code:-?} $(head -n 1 <<<"$out" | sed 's/^ERROR [0-9]* ([A-Z0-9]*)[^:]*: //')"
  fi
}
writes_land_on() { # PORT SERVER_ID: one write through PORT is acknowledged by SERVER_ID
  [[ $(write_via "$1") == "ok $2" ]]
}
write_refused() { # PORT: one write through PORT gets the agent's refusal (ERROR 1105)
  [[ $(write_via "$1") == "err 1105 "* ]]
}

ro_of() { "$LABCTL" sql "$1" "SELECT @@read_only" 2>/dev/null | tail -n 1; }

# Events of agent N as TSV: seq kind server message.
events_of() {
  curl -s --max-time 2 "http://127.0.0.1:$(admin_port "$1")/events" |
    jq -r '.events[] | [.seq, .unix_ms, .kind, .server, .message] | @tsv' 2>/dev/null
}
# read_only changes done by agent N since unix ms $2: "server value" lines (value 0 or 1).
ro_changes_of() {
  events_of "$1" | awk -F'\t' -v since="${2:-0}" '
    $2 >= since && ($3 == "fence" || $3 == "read-only") && $5 ~ /: done$/ {
      print $4, ($3 == "fence" ? 1 : 0) }'
}

start_sampler() { # background sampler of both /status every 100 ms into $WORK/samples.tsv
  python3 "$REPO/tests/lab/status_sampler.py" --out "$WORK/samples.tsv" --seconds "${1:-600}" \
    --interval 0.1 9400 9410 &
  SAMPLER_PID=$!
}
stop_sampler() {
  [[ -n ${SAMPLER_PID:-} ]] || return 0
  kill "$SAMPLER_PID" 2>/dev/null
  wait "$SAMPLER_PID" 2>/dev/null
  SAMPLER_PID=""
}
sampler_report() { python3 "$REPO/tests/lab/status_sampler.py" --report "$WORK/samples.tsv" "$@"; }
report_value() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }
