#!/bin/bash
# Container healthcheck of the myspoa agent image: exit 0 when the agent is ready, i.e.
# GET /health/ready answers 200 (first probe round done and SPOP listening; 503 with the reason
# otherwise). Sent over bash's /dev/tcp so the image needs no curl; health endpoints need no token.
# MYSPOA_ADMIN_ADDR (host:port, default 127.0.0.1:9400) says where; MYSPOA_HEALTH=live checks
# liveness (GET /health/live) instead.
set -u
admin="${MYSPOA_ADMIN_ADDR:-127.0.0.1:9400}"
path=/health/ready
[[ ${MYSPOA_HEALTH:-ready} == live ]] && path=/health/live
host="${admin%:*}"
port="${admin##*:}"
exec 3<>"/dev/tcp/${host}/${port}" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$admin" >&3
IFS= read -r -t 3 status_line <&3 || exit 1
if [[ "$status_line" != HTTP/1.[01]\ 200* ]]; then
  # The reason (last line of the body) ends up in `docker inspect`'s health log.
  body=$(timeout 2 cat <&3 2>/dev/null | tail -1)
  echo "${status_line%$'\r'}: ${body}"
  exit 1
fi
exit 0
