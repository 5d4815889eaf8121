#!/usr/bin/env bash
# with-haproxy.sh VERSION COMMAND [ARGS...]: runs COMMAND with the HAProxy of VERSION (2.6, 3.0,
# 3.2; see haproxy-versions.sh, which fetches it on first use). It exports HAPROXY (read by
# tests/lab/labctl and the benchmarks) and MYSPOA_HAPROXY (read by the interop test) as the path
# of that HAProxy, and replaces every argument that is exactly @HAPROXY@ by it. Used by ctest.
set -euo pipefail
version=${1:?usage: with-haproxy.sh VERSION COMMAND [ARGS...]}
shift
(($#)) || { echo "usage: with-haproxy.sh VERSION COMMAND [ARGS...]" >&2; exit 2; }
bin=$("$(dirname "${BASH_SOURCE[0]}")/haproxy-versions.sh" "$version")
export HAPROXY=$bin MYSPOA_HAPROXY=$bin
args=()
for a in "$@"; do
  if [[ $a == @HAPROXY@ ]]; then args+=("$bin"); else args+=("$a"); fi
done
echo "with-haproxy: HAProxy $version = $bin"
exec "${args[@]}"
