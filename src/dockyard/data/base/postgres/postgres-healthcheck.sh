#!/usr/bin/env bash
set -o errexit -o pipefail -o nounset

### Usage: postgres-healthcheck.sh
### Exits 0 when the server accepts TCP connections on PGPORT (default 5432). During first-start
### initialisation the server listens on its socket only, so the check stays unhealthy until then.

exec pg_isready --quiet --host=127.0.0.1 --port="${PGPORT:-5432}" --timeout=3
