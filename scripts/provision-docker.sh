#!/usr/bin/env bash
set -o errexit -o pipefail -o nounset

### Usage: scripts/provision-docker.sh [--check] [--help]
###
### Make sure a Docker engine is running on this host, with the Compose v2 and
### buildx CLI plugins, so that `docker info`, `docker compose version` and
### `docker buildx version` (hence `DOCKER_BUILDKIT=1 docker build`) work.
###
### Idempotent, and safe to run on every CI job:
###   * If `docker info` already answers, the engine is NEVER touched (no apt,
###     no restart). Only missing CLI plugins are added (copied into the plugin
###     directory, nothing else), and only when running as root on a
###     Debian-family host; otherwise a warning is printed.
###   * If dockerd is installed but not running, it is only started: with
###     `systemctl start docker` when systemd runs the host, otherwise in the
###     background, detached (setsid nohup dockerd >> $DOCKYARD_DOCKERD_LOG).
###   * Otherwise (Debian-family host, root only; exit 2 if not) it runs
###     `apt-get update` once and installs the missing ones of
###     docker.io, iptables and debootstrap (--no-install-recommends).
###   * Compose v2 and buildx are not packaged in Debian 12 (bookworm): when a
###     plugin does not work, Debian trixie's `docker-compose` / `docker-buildx`
###     .deb is fetched with a PRIVATE apt configuration (own sources list,
###     lists and cache in a temp dir; the system's sources are never changed,
###     nothing is upgraded), unpacked with `dpkg -x`, and only the plugin
###     binary is copied to $DOCKYARD_PLUGIN_DIR. The binaries need glibc>=2.34.
###   * Then it waits (bounded) until `docker info` answers and prints a
###     one-line summary of the versions.
###
### Options:
###   --check     change nothing; report, exit 0 if engine + plugins work, else 1
###   -h, --help  show this help
###
### Environment (all optional):
###   DOCKYARD_DOCKERD_LOG      dockerd log file when we start it
###                             (default /var/log/dockerd.log, appended to)
###   DOCKYARD_DOCKERD_TIMEOUT  seconds to wait for `docker info` (default 60)
###   DOCKYARD_DOCKERD_ARGS     extra arguments for dockerd (default none)
###   DOCKYARD_APT_TIMEOUT      seconds allowed per apt/dpkg command (default 600)
###   DOCKYARD_PLUGIN_DIR       where plugins go
###                             (default /usr/libexec/docker/cli-plugins)
###   DOCKYARD_PLUGIN_SUITE     Debian suite providing the plugins (default trixie)
###   DOCKYARD_DEBIAN_MIRROR    mirror for that suite
###                             (default http://deb.debian.org/debian)
###   DOCKYARD_DEBIAN_KEYRING   keyring that signs it
###                             (default /usr/share/keyrings/debian-archive-keyring.gpg)
###   DOCKYARD_INSTALL_PLUGINS  auto (default) | never: never = only warn about
###                             missing plugins
###
### Exit status: 0 ready; 1 a step failed (message says which and what to do);
###              2 refused (not Debian-family / not root / bad usage).

readonly ENGINE_PACKAGE=docker.io
LOG_FILE=${DOCKYARD_DOCKERD_LOG:-/var/log/dockerd.log}
WAIT_TIMEOUT=${DOCKYARD_DOCKERD_TIMEOUT:-60}
DOCKERD_ARGS=${DOCKYARD_DOCKERD_ARGS:-}
APT_TIMEOUT=${DOCKYARD_APT_TIMEOUT:-600}
PLUGIN_DIR=${DOCKYARD_PLUGIN_DIR:-/usr/libexec/docker/cli-plugins}
PLUGIN_SUITE=${DOCKYARD_PLUGIN_SUITE:-trixie}
DEBIAN_MIRROR=${DOCKYARD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_KEYRING=${DOCKYARD_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
INSTALL_PLUGINS=${DOCKYARD_INSTALL_PLUGINS:-auto}
export DEBIAN_FRONTEND=noninteractive

WORK_DIR=""
APT_UPDATED=0

say()  { printf '==> %s\n' "$*"; }
ok()   { printf 'ok: %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }
refuse() { printf 'refused: %s\n' "$*" >&2; exit 2; }

usage() { sed -n 's/^### \{0,1\}//p' "$0"; }

cleanup() { if [[ -n $WORK_DIR ]]; then rm -rf -- "$WORK_DIR"; fi; }
trap cleanup EXIT

work_dir() {
    if [[ -z $WORK_DIR ]]; then
        WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/provision-docker.XXXXXX")
    fi
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# --- probes (never change anything) ---------------------------------------

have_client() { command -v docker >/dev/null 2>&1; }
engine_answers() { have_client && timeout 10 docker info >/dev/null 2>&1; }
compose_works() { have_client && timeout 20 docker compose version >/dev/null 2>&1; }
buildx_works() { have_client && timeout 20 docker buildx version >/dev/null 2>&1; }
# pid of a running dockerd (no procps needed), status 1 if none
dockerd_pid() {
    local f comm
    for f in /proc/[0-9]*/comm; do
        comm=$(cat -- "$f" 2>/dev/null) || continue
        if [[ $comm == dockerd ]]; then
            f=${f#/proc/}
            printf '%s\n' "${f%/comm}"
            return 0
        fi
    done
    return 1
}
dockerd_running() { dockerd_pid >/dev/null; }
systemd_runs_host() { [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; }

is_debian_family() {
    local id="" id_like=""
    [[ -r /etc/os-release ]] || return 1
    # shellcheck disable=SC1091
    id=$(. /etc/os-release && printf '%s' "${ID:-}")
    # shellcheck disable=SC1091
    id_like=$(. /etc/os-release && printf '%s' "${ID_LIKE:-}")
    [[ $id == debian || " $id_like " == *" debian "* ]] && command -v apt-get >/dev/null 2>&1
}

missing_plugins() {
    compose_works || echo compose
    buildx_works || echo buildx
}

versions_summary() {
    local engine api compose buildx client
    engine=$(timeout 10 docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')
    api=$(timeout 10 docker version --format '{{.Server.APIVersion}}' 2>/dev/null || echo '?')
    client=$(timeout 10 docker version --format '{{.Client.Version}}' 2>/dev/null || echo '?')
    compose=$(timeout 20 docker compose version --short 2>/dev/null || echo missing)
    buildx=$(timeout 20 docker buildx version 2>/dev/null | awk '{print $2}' || true)
    printf 'summary: engine %s (API %s), compose %s, buildx %s, client %s\n' \
        "$engine" "$api" "$compose" "${buildx:-missing}" "$client"
}

# --- apt helpers ----------------------------------------------------------

# run_logged LABEL CMD...: run CMD bounded by APT_TIMEOUT, output to a log;
# on failure show its tail and return the status.
run_logged() {
    local label=$1 log status=0
    shift
    work_dir
    log="$WORK_DIR/$(printf '%s' "$label" | tr -c 'A-Za-z0-9' '_').log"
    timeout "$APT_TIMEOUT" "$@" >"$log" 2>&1 || status=$?
    if ((status != 0)); then
        if ((status == 124)); then
            warn "$label timed out after ${APT_TIMEOUT}s (DOCKYARD_APT_TIMEOUT)"
        fi
        warn "$label failed (exit $status): $*"
        tail -n 25 -- "$log" | sed 's/^/    | /' >&2
    fi
    return "$status"
}

apt_update_once() {
    ((APT_UPDATED)) && return 0
    say "apt-get update"
    if ! run_logged "apt-get update" apt-get -q -o DPkg::Lock::Timeout=120 update; then
        # A broken third-party source must not block us: carry on with
        # whatever lists apt has; the install step reports a real failure.
        warn "apt-get update reported errors; trying the install anyway"
    fi
    APT_UPDATED=1
}

install_system_packages() {
    local pkgs=() p
    command -v dockerd >/dev/null 2>&1 || pkgs+=("$ENGINE_PACKAGE")
    command -v iptables >/dev/null 2>&1 || pkgs+=(iptables)
    command -v debootstrap >/dev/null 2>&1 || pkgs+=(debootstrap)
    if ((${#pkgs[@]} == 0)); then
        ok "dockerd, iptables and debootstrap already installed"
        return 0
    fi
    apt_update_once
    say "installing ${pkgs[*]}"
    run_logged "apt-get install" apt-get -q -y --no-install-recommends \
        -o DPkg::Lock::Timeout=120 install "${pkgs[@]}" ||
        die "could not install ${pkgs[*]} with apt-get. Check that the host's apt sources" \
            "reach the Debian archive (apt-get update), that no other apt/dpkg is running," \
            "then re-run this script."
    for p in dockerd iptables debootstrap; do
        command -v "$p" >/dev/null 2>&1 || die "$p is still missing after installing ${pkgs[*]}"
    done
    ok "installed ${pkgs[*]}"
}

# fetch_plugin_debs PKG...: download .debs from $PLUGIN_SUITE into $WORK_DIR/debs
# using an apt configuration of our own (the system's sources are untouched).
fetch_plugin_debs() {
    local root arch
    work_dir
    root="$WORK_DIR/apt-$PLUGIN_SUITE"
    mkdir -p "$root/lists/partial" "$root/archives/partial" "$root/cache" \
        "$root/sources.list.d" "$root/preferences.d" "$WORK_DIR/debs"
    [[ -r $DEBIAN_KEYRING ]] ||
        die "keyring $DEBIAN_KEYRING not found (apt-get install debian-archive-keyring," \
            "or set DOCKYARD_DEBIAN_KEYRING)"
    arch=$(dpkg --print-architecture)
    printf 'deb [arch=%s signed-by=%s] %s %s main\n' \
        "$arch" "$DEBIAN_KEYRING" "$DEBIAN_MIRROR" "$PLUGIN_SUITE" >"$root/sources.list"
    local -a apt_opts=(
        -o "Dir::Etc::sourcelist=$root/sources.list"
        -o "Dir::Etc::sourceparts=$root/sources.list.d"
        -o "Dir::Etc::preferences=$root/preferences"
        -o "Dir::Etc::preferencesparts=$root/preferences.d"
        -o "Dir::State::Lists=$root/lists"
        -o "Dir::Cache=$root/cache"
        -o "Dir::Cache::archives=$root/archives"
        -o "APT::Sandbox::User=root"
        -o "Acquire::Languages=none"
    )
    say "fetching $* from Debian $PLUGIN_SUITE (private apt lists, system sources untouched)"
    run_logged "apt-get update ($PLUGIN_SUITE)" apt-get -q "${apt_opts[@]}" update ||
        die "could not read Debian $PLUGIN_SUITE's package lists from $DEBIAN_MIRROR" \
            "(set DOCKYARD_DEBIAN_MIRROR to a reachable mirror, or install the plugins by hand" \
            "into $PLUGIN_DIR)"
    (cd "$WORK_DIR/debs" &&
        run_logged "apt-get download ($PLUGIN_SUITE)" apt-get -q "${apt_opts[@]}" download "$@") ||
        die "could not download $* from Debian $PLUGIN_SUITE"
}

# Debian package that ships the plugin
plugin_package() {
    case $1 in
        compose) echo docker-compose ;;
        buildx) echo docker-buildx ;;
        *) die "internal error: unknown plugin $1" ;;
    esac
}

install_plugins() {
    local -a want=("$@") pkgs=()
    local name pkg deb extract bin
    for name in "${want[@]}"; do
        pkgs+=("$(plugin_package "$name")")
    done
    fetch_plugin_debs "${pkgs[@]}"
    mkdir -p "$PLUGIN_DIR"
    for name in "${want[@]}"; do
        pkg=$(plugin_package "$name")
        deb=$(find "$WORK_DIR/debs" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
        [[ -n $deb ]] || die "apt did not leave a ${pkg} .deb in $WORK_DIR/debs"
        extract="$WORK_DIR/x-$pkg"
        mkdir -p "$extract"
        dpkg -x "$deb" "$extract" || die "dpkg -x $deb failed"
        bin="$extract/usr/libexec/docker/cli-plugins/docker-$name"
        [[ -f $bin ]] || die "$(basename "$deb") has no usr/libexec/docker/cli-plugins/docker-$name"
        install -m 0755 "$bin" "$PLUGIN_DIR/docker-$name"
        ok "installed $PLUGIN_DIR/docker-$name from $(basename "$deb")"
    done
    compose_works || [[ " ${want[*]} " != *" compose "* ]] ||
        die "docker compose still does not work (the $PLUGIN_SUITE binary needs glibc >= 2.34;" \
            "is $PLUGIN_DIR searched by this docker client?)"
    buildx_works || [[ " ${want[*]} " != *" buildx "* ]] ||
        die "docker buildx still does not work (see above)"
    return 0
}

# ensure_plugins CONTEXT: install missing plugins (or only warn).
ensure_plugins() {
    local -a missing
    mapfile -t missing < <(missing_plugins)
    if ((${#missing[@]} == 0)); then
        ok "docker compose and docker buildx plugins work"
        return 0
    fi
    if [[ $INSTALL_PLUGINS == never ]]; then
        warn "docker plugin(s) missing: ${missing[*]} (DOCKYARD_INSTALL_PLUGINS=never: not installing)"
        return 0
    fi
    if ((EUID != 0)) || ! is_debian_family; then
        warn "docker plugin(s) missing: ${missing[*]}; re-run as root on a Debian-family host" \
            "to install them, or install them into a docker cli-plugins directory yourself"
        return 0
    fi
    install_plugins "${missing[@]}"
}

# --- the engine -----------------------------------------------------------

start_dockerd() {
    if dockerd_running; then
        say "dockerd is already running (pid $(dockerd_pid)); waiting for it"
        return 0
    fi
    if systemd_runs_host; then
        say "starting docker with systemctl"
        timeout 90 systemctl start docker ||
            die "systemctl start docker failed; see: journalctl -u docker --no-pager | tail -n 50"
        return 0
    fi
    local -a extra=()
    read -r -a extra <<<"$DOCKERD_ARGS"
    mkdir -p "$(dirname -- "$LOG_FILE")"
    printf '\n===== dockerd started by provision-docker.sh at %s =====\n' "$(date -u +%FT%TZ)" \
        >>"$LOG_FILE"
    say "starting dockerd in the background (log: $LOG_FILE)"
    setsid nohup dockerd "${extra[@]+"${extra[@]}"}" </dev/null >>"$LOG_FILE" 2>&1 &
    DOCKERD_PID=$!
    disown "$DOCKERD_PID" 2>/dev/null || true
}

wait_for_engine() {
    local deadline
    deadline=$((SECONDS + WAIT_TIMEOUT))
    say "waiting up to ${WAIT_TIMEOUT}s for docker info to answer"
    until engine_answers; do
        if [[ -n ${DOCKERD_PID:-} ]] && ! kill -0 "$DOCKERD_PID" 2>/dev/null && ! dockerd_running; then
            show_log_tail
            die "dockerd exited during start-up (log: $LOG_FILE, last lines above)"
        fi
        if ((SECONDS >= deadline)); then
            show_log_tail
            die "docker info did not answer within ${WAIT_TIMEOUT}s (DOCKYARD_DOCKERD_TIMEOUT);" \
                "dockerd log: $LOG_FILE (last lines above)"
        fi
        sleep 1
    done
    ok "docker engine $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?') answering"
}

show_log_tail() {
    if [[ -r $LOG_FILE ]]; then
        printf -- '--- last 30 lines of %s ---\n' "$LOG_FILE" >&2
        tail -n 30 -- "$LOG_FILE" >&2
        printf -- '--- end of %s ---\n' "$LOG_FILE" >&2
    elif systemd_runs_host; then
        journalctl -u docker --no-pager 2>/dev/null | tail -n 30 >&2 || true
    fi
}

# --- main -----------------------------------------------------------------

check_only() {
    local status=0
    if engine_answers; then ok "docker engine answering"; else warn "no docker engine answering"; status=1; fi
    if compose_works; then ok "docker compose works"; else warn "docker compose missing"; status=1; fi
    if buildx_works; then ok "docker buildx works"; else warn "docker buildx missing"; status=1; fi
    ((status == 0)) && versions_summary
    return "$status"
}

main() {
    case ${1:-} in
        -h | --help) usage; exit 0 ;;
        --check) check_only; exit $? ;;
        "") ;;
        *) refuse "unknown argument: $1 (see --help)" ;;
    esac
    is_uint "$WAIT_TIMEOUT" || refuse "DOCKYARD_DOCKERD_TIMEOUT must be a number of seconds"
    is_uint "$APT_TIMEOUT" || refuse "DOCKYARD_APT_TIMEOUT must be a number of seconds"
    [[ $INSTALL_PLUGINS == auto || $INSTALL_PLUGINS == never ]] ||
        refuse "DOCKYARD_INSTALL_PLUGINS must be auto or never"

    if engine_answers; then
        ok "a docker engine is already answering; leaving the engine alone"
        ensure_plugins
        versions_summary
        exit 0
    fi

    if [[ -n ${DOCKER_HOST:-} && $DOCKER_HOST != unix:///var/run/docker.sock ]]; then
        warn "DOCKER_HOST=$DOCKER_HOST does not answer; a local dockerd will not be reached through it"
    fi
    is_debian_family ||
        refuse "no docker engine answers and this is not a Debian-family host" \
            "(/etc/os-release ID/ID_LIKE has no 'debian'); install Docker yourself"
    ((EUID == 0)) || refuse "no docker engine answers; run this script as root to install/start it"
    command -v timeout >/dev/null 2>&1 || refuse "coreutils 'timeout' is required"

    install_system_packages
    have_client || die "no docker client on PATH after installing $ENGINE_PACKAGE"
    ensure_plugins
    start_dockerd
    wait_for_engine
    versions_summary
}

main "$@"
