#!/usr/bin/env bash
# haproxy-versions.sh VERSION: prints the path of a runnable `haproxy` of that version.
#   2.6  the system package (/usr/sbin/haproxy, Debian 12's haproxy)
#   3.0  Debian's haproxy from the suite trixie (Debian 13)
#   3.2  Debian's haproxy from the suite forky (Debian testing)
#
# 3.0 and 3.2 need a newer libc, libssl... than Debian 12 has, so they run from a private root:
#   - a private apt configuration (its own sources.list naming the suite, its own state, cache and
#     lists directories, signed by the Debian archive keyring); nothing of the machine's apt
#     configuration is read or changed, and nothing is installed;
#   - `apt-get download` of haproxy, then of the libraries its ELF files need (`objdump -p`
#     NEEDED entries), followed until every NEEDED soname resolves inside the root;
#   - `dpkg -x` of every package into one root;
#   - a wrapper script `haproxy` that runs the root's own dynamic loader with
#     --library-path <root libs> on <root>/usr/sbin/haproxy (exec, so the pid is HAProxy's).
# The first call downloads (about 15 MB of indexes + 8 MB of packages, ~30 s) into the cache; later
# calls only check the wrapper (`haproxy -v`) and print its path (~20 ms). Concurrent calls wait
# for each other (flock). Progress goes to stderr; stdout is only the path.
#
# Environment:
#   MYSPOA_HAPROXY_CACHE   cache directory (default /tmp/myspoa-haproxy-versions)
#   MYSPOA_DEBIAN_MIRROR   Debian archive URL (default http://deb.debian.org/debian)
#   MYSPOA_DEBIAN_KEYRING  keyring for the suite's signature
#                          (default /usr/share/keyrings/debian-archive-keyring.gpg)
# Needs: apt-get, dpkg-deb, objdump and readelf (binutils), the keyring (debian-archive-keyring).
set -euo pipefail

usage() {
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
say() { printf 'haproxy-versions: %s\n' "$*" >&2; }
die() {
  printf 'haproxy-versions: error: %s\n' "$*" >&2
  exit 1
}

version=${1:-}
case $version in
  2.6) suite="" ;;
  3.0) suite=trixie ;;
  3.2) suite=forky ;;
  -h | --help | "") usage ;;
  *) die "unknown version '$version' (expected 2.6, 3.0 or 3.2)" ;;
esac

# "HAProxy version 3.2.26-1 2025/..." -> 0 when the binary runs and is VERSION.x
is_version() { # BINARY
  local out
  out=$("$1" -v 2>/dev/null) || return 1
  [[ $out == "HAProxy version $version."* ]]
}

if [[ -z $suite ]]; then
  bin=/usr/sbin/haproxy
  [[ -x $bin ]] || die "$bin missing (apt-get install haproxy; scripts/install-deps.sh does it)"
  is_version "$bin" || die "$bin is not HAProxy $version: $("$bin" -v 2>&1 | head -n 1)"
  echo "$bin"
  exit 0
fi

CACHE=${MYSPOA_HAPROXY_CACHE:-/tmp/myspoa-haproxy-versions}
MIRROR=${MYSPOA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEYRING=${MYSPOA_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
final=$CACHE/$version
wrapper=$final/haproxy

# Fast path: already fetched and still runs.
if [[ -f $final/.complete ]] && is_version "$wrapper"; then
  echo "$wrapper"
  exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.$version.lock"
flock -w 900 9 || die "another fetch of $version holds $CACHE/.$version.lock"
# Someone else may have finished while we waited.
if [[ -f $final/.complete ]] && is_version "$wrapper"; then
  echo "$wrapper"
  exit 0
fi

for tool in apt-get apt-cache dpkg-deb objdump readelf; do
  command -v "$tool" >/dev/null || die "$tool missing (scripts/install-deps.sh installs it)"
done
[[ -r $KEYRING ]] || die "keyring $KEYRING missing (apt-get install debian-archive-keyring)"
arch=$(dpkg --print-architecture)

# Everything is built in a work directory and renamed into place at the end, so a half-done
# fetch (network error, ^C) never looks complete.
rm -rf "$final" "$CACHE/.$version.work"
work=$CACHE/.$version.work
A=$work/apt
root=$work/root
mkdir -p "$A"/{state/lists/partial,cache/archives/partial,empty} "$work/debs" "$work/files" "$root"
: >"$A/state/status"
trap 'rm -rf "$work"' EXIT

echo "deb [signed-by=$KEYRING] $MIRROR $suite main" >"$A/sources.list"
# Dir::Etc::Parts points at an empty directory so the machine's apt.conf.d (proxies aside, which
# apt also takes from http_proxy) with its hooks is not read. Check-Valid-Until: the archive may
# be a mirror snapshot whose Release file is past its Valid-Until; the signature is still checked.
cat >"$A/apt.conf" <<EOF
Dir::Etc::main "/dev/null";
Dir::Etc::Parts "$A/empty";
Dir::Etc::SourceList "$A/sources.list";
Dir::Etc::SourceParts "$A/empty";
Dir::Etc::Preferences "$A/empty/none";
Dir::Etc::PreferencesParts "$A/empty";
Dir::Etc::Trusted "$A/empty/none.gpg";
Dir::Etc::TrustedParts "$A/empty";
Dir::State "$A/state";
Dir::State::status "$A/state/status";
Dir::Cache "$A/cache";
Dir::Log "$A";
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
Acquire::Languages "none";
Acquire::Check-Valid-Until "false";
APT::Sandbox::User "$(id -un)";
EOF
export APT_CONFIG=$A/apt.conf

say "HAProxy $version: fetching the $suite index from $MIRROR"
apt-get -q -o Acquire::Retries=3 update >"$work/update.log" 2>&1 || {
  cat "$work/update.log" >&2
  die "apt-get update of $suite failed"
}
# `apt-get update` reports some failures (bad signature) only as warnings.
if grep -qE '^(E|W): ' "$work/update.log"; then
  cat "$work/update.log" >&2
  die "apt-get update of $suite reported errors"
fi

declare -A fetched=() # package -> version
# fetch PKG...: apt-get download + dpkg -x into the root; records each package's file list.
fetch() {
  local p deb debs
  (cd "$work/debs" && apt-get -q -o Acquire::Retries=3 download "$@" >"$work/download.log" 2>&1) || {
    cat "$work/download.log" >&2
    die "apt-get download $* failed"
  }
  for p in "$@"; do
    debs=("$work/debs/${p}_"*.deb)
    deb=${debs[0]}
    [[ -f $deb ]] || die "no .deb for $p after apt-get download"
    dpkg-deb -x "$deb" "$root"
    dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./||' >"$work/files/$p"
    fetched[$p]=$(dpkg-deb -f "$deb" Version)
  done
}

# The directories where the loader will look (--library-path), in order: the multiarch ones
# (usr/lib/x86_64-linux-gnu...) the fetched packages created, then usr/lib and lib.
libdirs=()
set_libdirs() {
  local d
  libdirs=()
  for d in "$root"/usr/lib/*-linux-gnu* "$root"/lib/*-linux-gnu*; do
    [[ -d $d && ! -L $d ]] && libdirs+=("$d")
  done
  libdirs+=("$root/usr/lib" "$root/lib")
}
find_lib() { # SONAME -> path inside the root, or nothing
  local d
  for d in "${libdirs[@]}"; do
    if [[ -e $d/$1 ]]; then
      echo "$d/$1"
      return 0
    fi
  done
  return 1
}
needed() { objdump -p "$1" 2>/dev/null | awk '$1 == "NEEDED" { print $2 }'; }
owner() { # ROOT-RELATIVE PATH -> package that shipped it
  grep -lxF -- "$1" "$work/files"/* 2>/dev/null | head -n 1 | xargs -r basename
}
# The first alternative of every Depends/Pre-Depends of PKG whose Section is libs (one apt-cache
# call for the dependencies: each call reads the whole index).
lib_depends() {
  local deps
  deps=$(apt-cache show --no-all-versions "$1" 2>/dev/null |
    awk -F': ' '$1 == "Depends" || $1 == "Pre-Depends" { print $2 }' | tr ',' '\n' |
    sed -E 's/\|.*//; s/\(.*\)//; s/:any//; s/[[:space:]]//g' | sed '/^$/d' | sort -u) || true
  [[ -n $deps ]] || return 0
  # shellcheck disable=SC2086 # one word per package
  apt-cache show --no-all-versions $deps 2>/dev/null |
    awk -F': ' '$1 == "Package" { p = $2 } $1 == "Section" && $2 == "libs" { print p }' | sort -u
}

fetch haproxy
bin=$root/usr/sbin/haproxy
[[ -x $bin ]] || die "the haproxy package of $suite has no usr/sbin/haproxy"
[[ ${fetched[haproxy]} == "$version".* ]] ||
  die "$suite has haproxy ${fetched[haproxy]}, not $version.x (set another suite in $0)"
interp=$(readelf -p .interp "$bin" | sed -nE 's/^ *\[ *[0-9a-f]+\] *//p' | head -n 1)
[[ -n $interp ]] || die "no .interp in $bin"

# Follow NEEDED from the haproxy binary through the root until every soname resolves there; an
# unresolved one brings in the library dependencies of the package whose file needs it.
declare -A seen=() missing_by=()
for round in 1 2 3 4 5 6 7 8; do
  seen=()
  missing_by=()
  set_libdirs
  queue=("$bin")
  while ((${#queue[@]})); do
    f=${queue[0]}
    queue=("${queue[@]:1}")
    for so in $(needed "$f"); do
      [[ -n ${seen[$so]:-} ]] && continue
      seen[$so]=1
      if path=$(find_lib "$so"); then
        path=$(readlink -f "$path")
        # An absolute symlink would make the loader open the system's library instead.
        [[ $path == "$root"/* ]] || die "$so in the root points outside it ($path)"
        queue+=("$path")
      else
        missing_by[$so]=$f
      fi
    done
  done
  ((${#missing_by[@]} == 0)) && break
  want=()
  for so in "${!missing_by[@]}"; do
    rel=${missing_by[$so]#"$root"/}
    pkg=$(owner "$rel")
    [[ -n $pkg ]] || pkg=$(owner "${rel#usr/}")
    [[ -n $pkg ]] || die "$so is needed by $rel, which no fetched package ships"
    for d in $(lib_depends "$pkg"); do
      [[ -n ${fetched[$d]:-} || " ${want[*]} " == *" $d "* ]] || want+=("$d")
    done
  done
  ((${#want[@]})) || die "unresolved in the root: ${!missing_by[*]} (no library dependency left to fetch)"
  say "round $round: ${!missing_by[*]} missing -> fetching ${want[*]}"
  fetch "${want[@]}"
done
((${#missing_by[@]} == 0)) || die "still unresolved after 8 rounds: ${!missing_by[*]}"

# /lib64/ld-linux-x86-64.so.2: since trixie libc6 ships it under usr/ (merged /usr).
interp_in_root=""
for c in "$interp" "/usr$interp" "${libdirs[0]#"$root"}/$(basename "$interp")"; do
  if [[ -e $root$c && $(readlink -f "$root$c") == "$root"/* ]]; then
    interp_in_root=$c
    break
  fi
done
[[ -n $interp_in_root ]] || die "the loader $interp is not in the root (libc6 of $suite not fetched?)"
libpath=$(
  IFS=:
  echo "${libdirs[*]}"
)
libpath=${libpath//$work/$final}
{
  echo '#!/bin/sh'
  echo "# HAProxy ${fetched[haproxy]} (Debian $suite) from a private root, written by"
  echo "# tests/interop/haproxy-versions.sh. Its own loader and libraries, never the system's."
  echo "exec '$final/root$interp_in_root' --library-path '$libpath' '$final/root/usr/sbin/haproxy' \"\$@\""
} >"$work/haproxy"
chmod +x "$work/haproxy"
for p in "${!fetched[@]}"; do echo "$p ${fetched[$p]}"; done | sort >"$work/MANIFEST"
rm -rf "$A" "$work/debs" "$work/files" "$work"/*.log
touch "$work/.complete"
mv "$work" "$final"
trap - EXIT
is_version "$wrapper" || die "$wrapper does not run: $("$wrapper" -v 2>&1 | head -n 3)"
say "HAProxy ${fetched[haproxy]} ready: $(wc -l <"$final/MANIFEST") packages in $final/root"
echo "$wrapper"
