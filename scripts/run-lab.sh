#!/usr/bin/env bash
# The README's "run it" command: installs what is missing, builds the agent, and starts the
# loopback lab: five MariaDB servers replicating (db01<->db02, db03/db04 under db01, db05 under
# db02), the agent on the embedded default configuration and HAProxy routing real connections.
# Then try: tests/lab/labctl status | crash db01 | start db01 | stop-repl db02 | down
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target myspoa myspoactl lab_load 2>/dev/null ||
  cmake --build build -j"$(nproc)"
exec tests/lab/labctl up "$@"
