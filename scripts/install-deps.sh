#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the lab need. Idempotent: when everything
# is already installed it only checks (dpkg-query) and returns in well under a second.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  libev-dev default-libmysqlclient-dev libspdlog-dev catch2 libyaml-cpp-dev
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
  # lab and tests
  mariadb-server mariadb-client haproxy curl procps iproute2 python3 socat
  # HAProxy 3.0/3.2 from Debian's newer suites in a private root (tests/interop/haproxy-versions.sh)
  debian-archive-keyring binutils
  docker-compose prometheus percona-toolkit
  # the topology page test (tests/integration/browser): headless Chromium driven over WebDriver
  chromium chromium-driver
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Packages that ship services (mariadb, haproxy, prometheus) must not start them: the lab runs its
# own instances on its own ports.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
