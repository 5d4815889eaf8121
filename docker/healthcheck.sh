#!/bin/bash
# Container healthcheck of the myspoa agent image: exit 0 when the agent's admin endpoint answers.
# Prefers `myspoactl status` (it knows the admin API); without it, sends `GET /status` over bash's
# /dev/tcp so the image needs no curl, and wants a 200 (read-only views need no admin token).
# MYSPOA_ADMIN_ADDR (host:port, default 127.0.0.1:9400) says where.
set -u
admin="${MYSPOA_ADMIN_ADDR:-127.0.0.1:9400}"
if command -v myspoactl >/dev/null 2>&1; then
  exec timeout 3 myspoactl status >/dev/null
fi
host="${admin%:*}"
port="${admin##*:}"
exec 3<>"/dev/tcp/${host}/${port}" || exit 1
printf 'GET /status HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$admin" >&3
IFS= read -r -t 3 status_line <&3 || exit 1
[[ "$status_line" == HTTP/1.[01]\ 200* ]]
