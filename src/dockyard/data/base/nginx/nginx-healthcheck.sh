#!/usr/bin/env bash
set -o errexit -o pipefail -o nounset

### Usage: nginx-healthcheck.sh
### Exits 0 when nginx answers HTTP on 127.0.0.1:${NGINX_PORT:-8080}: any status line counts (a
### proxy whose upstream is down still answers 502), because this checks nginx, not what it serves.

port="${NGINX_PORT:-8080}"
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' "${NGINX_HEALTH_PATH:-/}" >&3
IFS= read -r -t 3 status <&3
exec 3<&-
if [[ "${status}" =~ ^HTTP/1\.[01]\ [1-5][0-9][0-9] ]]; then
    exit 0
fi
printf 'unexpected reply on port %s: %s\n' "${port}" "${status}" >&2
exit 1
