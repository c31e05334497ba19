#!/usr/bin/env bash
set -o errexit -o pipefail -o nounset

### Usage: docker-entrypoint.sh [postgres [OPTION...] | -OPTION... | COMMAND...]
### With `postgres` (the default) or options only: on first start (PGDATA holds no cluster),
### initialise the cluster from POSTGRES_USER (default postgres), POSTGRES_PASSWORD or
### POSTGRES_PASSWORD_FILE, POSTGRES_DB (default: the user's name) and POSTGRES_INITDB_ARGS, run
### /docker-entrypoint-initdb.d/*.sql, *.sql.gz and *.sh, then exec the server in the foreground.
### Any other COMMAND is run as is.

log() { printf '%s [entrypoint] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# POSTGRES_PASSWORD_FILE=/run/secrets/x sets POSTGRES_PASSWORD from that file (Docker secrets).
file_env() {
    local name="$1" file_name="$1_FILE"
    if [[ -n "${!name:-}" && -n "${!file_name:-}" ]]; then
        die "both ${name} and ${file_name} are set: set only one"
    fi
    if [[ -n "${!file_name:-}" ]]; then
        [[ -r "${!file_name}" ]] || die "${file_name}=${!file_name}: file not readable by uid $(id -u)"
        printf -v "${name}" '%s' "$(< "${!file_name}")"
        export "${name?}"
    fi
}

psql_init() {
    psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --username "${POSTGRES_USER}" "$@"
}

run_init_scripts() {
    local script
    for script in /docker-entrypoint-initdb.d/*; do
        [[ -e "${script}" ]] || continue
        case "${script}" in
            *.sh)
                log "running ${script}"
                if [[ -x "${script}" ]]; then "${script}"; else bash "${script}"; fi ;;
            *.sql)
                log "running ${script}"
                psql_init --dbname "${POSTGRES_DB}" --file "${script}" ;;
            *.sql.gz)
                log "running ${script}"
                gzip --decompress --stdout "${script}" | psql_init --dbname "${POSTGRES_DB}" ;;
            *) log "ignoring ${script}" ;;
        esac
    done
}

initialise() {
    file_env POSTGRES_PASSWORD
    local auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    if [[ -z "${POSTGRES_PASSWORD:-}" && "${auth}" != "trust" ]]; then
        die "PGDATA=${PGDATA} holds no cluster and POSTGRES_PASSWORD is not set: set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to initialise it"
    fi
    [[ -w "${PGDATA}" ]] || die "PGDATA=${PGDATA} is not writable by uid $(id -u): mount a volume owned by $(id -u) there"
    chmod 0700 "${PGDATA}" 2>/dev/null || true

    log "initialising a PostgreSQL ${PG_MAJOR} cluster in ${PGDATA} for user ${POSTGRES_USER}"
    local pwfile
    pwfile="$(mktemp)"
    printf '%s\n' "${POSTGRES_PASSWORD:-}" > "${pwfile}"
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of options on purpose
    initdb --pgdata="${PGDATA}" --username="${POSTGRES_USER}" --pwfile="${pwfile}" \
        --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host="${auth}" \
        ${POSTGRES_INITDB_ARGS:-} >/dev/null
    rm -f "${pwfile}"
    printf '\n# Connections from other containers need a password.\nhost all all all %s\n' \
        "${auth}" >> "${PGDATA}/pg_hba.conf"

    # A server on the socket only: nothing outside can connect before the setup is complete.
    pg_ctl --pgdata="${PGDATA}" --wait --silent --options="-c listen_addresses=''" start
    if [[ "${POSTGRES_DB}" != "postgres" ]]; then
        printf 'CREATE DATABASE :"db";\n' | psql_init --dbname postgres --set db="${POSTGRES_DB}"
    fi
    run_init_scripts
    pg_ctl --pgdata="${PGDATA}" --wait --silent --mode=fast stop
    log "initialisation complete"
}

if [[ "${1:-postgres}" == -* ]]; then
    set -- postgres "$@"
fi

if [[ "${1:-}" == "postgres" ]]; then
    export POSTGRES_USER="${POSTGRES_USER:-postgres}"
    export POSTGRES_DB="${POSTGRES_DB:-${POSTGRES_USER}}"
    [[ "$(id -u)" != "0" ]] || die "the server cannot run as root: run the container as uid 999 (the image's default user)"
    if [[ ! -s "${PGDATA}/PG_VERSION" ]]; then
        initialise
    fi
    unset POSTGRES_PASSWORD
fi

exec "$@"
