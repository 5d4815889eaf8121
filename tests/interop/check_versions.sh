#!/usr/bin/env bash
# check_versions.sh HAPROXY_VERSIONS_SH VERSION...: the behaviour haproxy-versions.sh promises.
#  - 2.6 prints /usr/sbin/haproxy; an unknown version fails with a message and nothing on stdout;
#  - each VERSION (already fetched by the ctest fixture) prints the same path twice, fast the second
#    time (< 2 s), and that wrapper runs HAProxy VERSION.x with the root's own libraries.
set -uo pipefail
sh=${1:?usage: check_versions.sh HAPROXY_VERSIONS_SH VERSION...}
shift
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

[[ $("$sh" 2.6) == /usr/sbin/haproxy ]] || fail "2.6 is not /usr/sbin/haproxy"
out=$("$sh" 9.9 2>/dev/null) && fail "9.9 accepted"
[[ -z $out ]] || fail "9.9 printed '$out' on stdout"

for v in "$@"; do
  p1=$("$sh" "$v") || { fail "$v: fetch failed"; continue; }
  t0=$(date +%s%N)
  p2=$("$sh" "$v") || fail "$v: second call failed"
  ms=$((($(date +%s%N) - t0) / 1000000))
  [[ $p1 == "$p2" ]] || fail "$v: '$p1' then '$p2'"
  ((ms < 2000)) || fail "$v: cached call took $ms ms"
  line=$("$p1" -v | head -n 1)
  [[ $line == "HAProxy version $v."* ]] || fail "$v: wrapper says '$line'"
  # Every library comes from the private root, not from the system (Debian 12's libc is 2.36):
  # the wrapper's own loader command with --list (ld.so's ldd mode).
  root=$(dirname "$p1")/root
  cmd=$(sed -n 's/^exec //p' "$p1")
  eval "set -- ${cmd%' "$@"'}"
  libs=$("$1" --list "${@:2}") || fail "$v: $1 --list failed"
  outside=$(awk '$2 == "=>" && index($3, root "/") != 1 {print $1 " => " $3}' root="$root" <<<"$libs")
  [[ -z $outside ]] || fail "$v: libraries from outside $root: $outside"
  (($(grep -c "=> $root/" <<<"$libs") >= 8)) || fail "$v: fewer than 8 libraries from the root: $libs"
  ssl=$("$p1" -vv | sed -nE 's/^Running on (SSL library|OpenSSL) version : //p')
  echo "ok: $v -> $p1 ($line; cached call $ms ms; $ssl; $(wc -l <"$(dirname "$p1")/MANIFEST") packages)"
done
((fails == 0))
