#!/usr/bin/env bash
set -o errexit -o pipefail -o nounset

### Usage: registry-healthcheck.sh
### Exits 0 when the registry on 127.0.0.1:${REGISTRY_PORT:-5000} answers `GET /v2/` with 200
### (or 401 when authentication is configured). Plain bash: the image carries no HTTP client.

exec 3<>"/dev/tcp/127.0.0.1/${REGISTRY_PORT:-5000}"
printf 'GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
read -r -t 5 status <&3 || { echo "no answer from the registry" >&2; exit 1; }
exec 3<&-
case "${status}" in
    "HTTP/1."?" 200"* | "HTTP/1."?" 401"*) exit 0 ;;
    *) printf 'registry answered: %s\n' "${status}" >&2; exit 1 ;;
esac
