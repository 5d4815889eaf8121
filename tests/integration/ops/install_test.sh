#!/usr/bin/env bash
# Staged install (DESTDIR, --prefix /usr): binaries in /usr/bin, the unit in
# /usr/lib/systemd/system, the example in /etc/myspoa (kept when it exists), and the installed
# agent validates the installed example (with an inline password instead of the credential).
# usage: install_test.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?usage: install_test.sh BUILD_DIR}
STAGE=$(mktemp -d /tmp/myspoa-install.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
FAILS=0
check() { if [[ $2 == 0 ]]; then echo "ok    $1"; else echo "FAIL  $1"; FAILS=$((FAILS + 1)); fi; }

DESTDIR=$STAGE cmake --install "$BUILD" --prefix /usr >"$STAGE.log" 2>&1
check "cmake --install --prefix /usr with DESTDIR" $?
for f in usr/bin/myspoa usr/bin/myspoactl; do [[ -x $STAGE/$f ]]; check "/$f installed" $?; done
for f in usr/lib/systemd/system/myspoa.service etc/myspoa/myspoa.yaml; do
  [[ -f $STAGE/$f ]]; check "/$f installed" $?
done
grep -q '^ExecStart=/usr/bin/myspoa --config /etc/myspoa/myspoa.yaml$' \
  "$STAGE/usr/lib/systemd/system/myspoa.service"
check "unit starts /usr/bin/myspoa with /etc/myspoa/myspoa.yaml" $?
sed 's|^  password_file: .*|  password: x|' "$STAGE/etc/myspoa/myspoa.yaml" >"$STAGE/check.yaml"
"$STAGE/usr/bin/myspoa" --check-config "$STAGE/check.yaml" >/dev/null
check "installed myspoa accepts the installed example configuration" $?
echo "# local" >"$STAGE/etc/myspoa/myspoa.yaml"
DESTDIR=$STAGE cmake --install "$BUILD" --prefix /usr >"$STAGE.log" 2>&1
[[ $(cat "$STAGE/etc/myspoa/myspoa.yaml") == "# local" ]]
check "a second install keeps the existing /etc/myspoa/myspoa.yaml" $?
rm -f "$STAGE.log"
exit $FAILS
