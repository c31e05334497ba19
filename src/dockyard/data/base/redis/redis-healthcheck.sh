#!/usr/bin/env bash
set -o errexit -o pipefail -o nounset

### Usage: redis-healthcheck.sh
### Exits 0 when the server on 127.0.0.1:${REDIS_PORT:-6379} answers commands. A server that asks
### for a password (NOAUTH) is answering too, so the check needs no secret; REDIS_PASSWORD, when
### set, is used (through REDISCLI_AUTH, never on the command line).

if [[ -n "${REDIS_PASSWORD:-}" ]]; then
    export REDISCLI_AUTH="${REDIS_PASSWORD}"
fi
reply="$(redis-cli -h 127.0.0.1 -p "${REDIS_PORT:-6379}" ping 2>&1)"
case "${reply}" in
    PONG | NOAUTH*) exit 0 ;;
    *) printf '%s\n' "${reply}" >&2; exit 1 ;;
esac
