#!/usr/bin/env bash
set -o errexit -o pipefail -o nounset

### Usage: docker-entrypoint.sh [redis-server [CONFIG_FILE] [--OPTION VALUE...] | --OPTION... | COMMAND...]
### Options alone, or a config file first, are given to redis-server. As in the official image,
### protected mode is off by default (containers reach the server over their own network; set
### --requirepass), and an explicit `--protected-mode yes` still wins.

if [[ "${1:-}" == -* || "${1:-}" == *.conf ]]; then
    set -- redis-server "$@"
fi

if [[ "${1:-}" == "redis-server" ]]; then
    shift
    config=()
    if [[ "${1:-}" == *.conf ]]; then
        config=("$1")
        shift
    fi
    set -- redis-server "${config[@]}" --protected-mode no "$@"
fi

exec "$@"
