#!/usr/bin/env bash
# The lab fixture of the lab tests: runs COMMAND on a lab of its own, under the shared lab lock.
#   with_lab.sh LABCTL NAME COMMAND [ARGS...]
# 1. holds /tmp/myspoa-lab-dev.lock (flock, as every lab test and developer does) for the whole
#    run, unless MYSPOA_LAB_LOCK_HELD=1 says the caller already holds it;
# 2. exports MYSPOA_LAB_DIR=/tmp/myspoa-lab-test-NAME (WITH_LAB_DIR overrides it): the test never
#    reuses, nor injects faults into, a lab somebody else brought up, and a row left corrupted by
#    an earlier test is not in its data;
# 3. removes what an interrupted earlier run of the same test left there (labctl destroy), brings
#    the lab up from nothing (labctl up --mysql-only: the five servers, replication caught up);
# 4. runs COMMAND with MYSPOA_LAB_DIR, MYSPOA_LAB_PORT_BASE and MYSPOA_LAB_LOCK_HELD=1 set, and exits
#    with its status;
# 5. tears the lab down and deletes its directory on every exit (WITH_LAB_KEEP=1: down only, the
#    directory stays for a post-mortem).
# The MySQL ports are the lab's fixed ones (MYSPOA_LAB_PORT_BASE, default 33060): when another lab
# holds them, `labctl up` fails naming the port and the test fails rather than touch that lab.
set -uo pipefail

LABCTL=${1:?usage: with_lab.sh LABCTL NAME COMMAND [ARGS...]}
NAME=${2:?usage: with_lab.sh LABCTL NAME COMMAND [ARGS...]}
shift 2
(($# > 0)) || { echo "usage: with_lab.sh LABCTL NAME COMMAND [ARGS...]"; exit 2; }
LOCK=/tmp/myspoa-lab-dev.lock

if [[ ${MYSPOA_LAB_LOCK_HELD:-0} != 1 ]]; then
  echo "with_lab($NAME): waiting for $LOCK"
  MYSPOA_LAB_LOCK_HELD=1 exec flock -o -w 1800 "$LOCK" "$0" "$LABCTL" "$NAME" "$@"
fi
export MYSPOA_LAB_LOCK_HELD=1
export MYSPOA_LAB_DIR=${WITH_LAB_DIR:-/tmp/myspoa-lab-test-$NAME}
export MYSPOA_LAB_PORT_BASE=${MYSPOA_LAB_PORT_BASE:-33060}

CHILD=
teardown() {
  local rc=$?
  [[ -n $CHILD ]] && kill "$CHILD" 2>/dev/null && wait "$CHILD" 2>/dev/null
  if [[ ${WITH_LAB_KEEP:-0} == 1 ]]; then
    "$LABCTL" down >/dev/null 2>&1
    echo "with_lab($NAME): lab down, directory kept: $MYSPOA_LAB_DIR"
  else
    "$LABCTL" destroy >/dev/null 2>&1 || "$LABCTL" down >/dev/null 2>&1
    # Side files a test writes next to the lab directory (e2e: $LAB.e2e-up.log).
    rm -f "$MYSPOA_LAB_DIR".*.log
  fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 143' TERM INT

t0=$(date +%s%3N)
# A developer's lab or the chaos soak (/tmp/myspoa-lab, the default directory)
# may be left up. We hold the lab lock, so nobody is using it now: stop it,
# or its servers would hold the fixed ports. A lab in any other directory is not ours to touch.
default_lab=/tmp/myspoa-lab
if [[ $MYSPOA_LAB_DIR != "$default_lab" ]] && compgen -G "$default_lab/*/mariadbd.pid" >/dev/null; then
  echo "with_lab($NAME): stopping the shared default lab left up in $default_lab"
  MYSPOA_LAB_DIR=$default_lab timeout 120 "$LABCTL" down >/dev/null 2>&1 || true
fi
"$LABCTL" destroy >/dev/null 2>&1 || true
if ! out=$(timeout 300 "$LABCTL" up --mysql-only 2>&1); then
  printf '%s\n' "$out"
  echo "with_lab($NAME): FATAL: labctl up failed in $MYSPOA_LAB_DIR"
  exit 1
fi
if ! timeout 90 "$LABCTL" wait-repl 60 >/dev/null 2>&1; then
  "$LABCTL" status
  echo "with_lab($NAME): FATAL: replication did not catch up"
  exit 1
fi
echo "with_lab($NAME): lab up in $MYSPOA_LAB_DIR (ports $((MYSPOA_LAB_PORT_BASE + 1))..$((MYSPOA_LAB_PORT_BASE + 5))) in $(($(date +%s%3N) - t0)) ms"

# In the background and waited for, so a TERM from ctest's timeout reaches the trap at once.
"$@" &
CHILD=$!
wait "$CHILD"
rc=$?
CHILD=
exit "$rc"
