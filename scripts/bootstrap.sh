#!/usr/bin/env bash
set -o errexit -o pipefail -o nounset

### Usage: scripts/bootstrap.sh [--toolchain-only] [--provision-docker] [INVOKE BOOTSTRAP OPTIONS...]
###
### Take a fresh clone to a working setup. Needs only python3 (3.11 or newer) and git:
###   1. creates .venv and installs uv (the version pinned in uv.lock) into it;
###   2. installs the locked toolchain into .venv (`uv sync --locked`);
###   3. hands over to `invoke bootstrap` (doctor, env files, images, stack, smoke test).
### Safe to re-run: a toolchain that is already in place is only checked.
###
### Options:
###   --toolchain-only    stop after step 2 (what CI and editors need)
###   --provision-docker  when no Docker engine answers, install and start one first with
###                       scripts/provision-docker.sh (Debian family; asked interactively otherwise)
###   -h, --help          show this help
### Anything else is passed to `invoke bootstrap`.
###
### Environment:
###   DOCKYARD_PYTHON   the interpreter to build .venv with (default: python<pinned>, then python3)
###   SSL_CERT_FILE     a CA bundle for TLS-intercepting proxies; passed on to pip and uv

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly VENV=.venv

say() { printf '==> %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$1" >&2; [ $# -lt 2 ] || printf '  fix: %s\n' "$2" >&2; exit "${3:-1}"; }

toolchain_only=0
provision=0
invoke_args=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n 's/^### \{0,1\}//p' "$0"; exit 0 ;;
    --toolchain-only) toolchain_only=1 ;;
    --provision-docker) provision=1 ;;
    *) invoke_args+=("$arg") ;;
  esac
done

started=$SECONDS
pinned=$(tr -d '[:space:]' < .python-version)

# -- prerequisites -------------------------------------------------------------------------
command -v git > /dev/null || die "git is not installed" "install git (Debian/Ubuntu: sudo apt-get install git)"
python=${DOCKYARD_PYTHON:-}
if [ -z "$python" ]; then
  for candidate in "python$pinned" python3; do
    if command -v "$candidate" > /dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2> /dev/null; then
      python=$candidate
      break
    fi
  done
fi
[ -n "$python" ] || die "no Python 3.11 or newer found (python$pinned, python3)" \
  "install Python $pinned (Debian/Ubuntu: sudo apt-get install python3 python3-venv), or set DOCKYARD_PYTHON"
"$python" -c 'import venv, ensurepip' 2> /dev/null \
  || die "$python cannot create virtual environments" "install the venv module (Debian/Ubuntu: sudo apt-get install python3-venv)"

# A CA bundle for TLS-intercepting proxies: whichever variable names one, pip and uv both get it.
bundle=${SSL_CERT_FILE:-${REQUESTS_CA_BUNDLE:-${PIP_CERT:-}}}
if [ -n "$bundle" ]; then
  [ -r "$bundle" ] || die "the CA bundle $bundle does not exist or cannot be read" "point SSL_CERT_FILE at your proxy's CA bundle, or unset it"
  export SSL_CERT_FILE=$bundle PIP_CERT=$bundle
else
  export UV_NATIVE_TLS=${UV_NATIVE_TLS:-1}  # trust the system's store, where IT installs proxy CAs
fi
export UV_PYTHON_DOWNLOADS=${UV_PYTHON_DOWNLOADS:-never}

# -- uv, at the version the lock was written with ------------------------------------------
uv_version=$(awk '/^name = "uv"$/ { getline; gsub(/version = |"/, ""); print; exit }' uv.lock)
[ -n "$uv_version" ] || die "uv.lock does not pin uv" "add uv to a dependency group and run \`uv lock\`"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV with $python ($("$python" --version 2>&1))"
  "$python" -m venv "$VENV"
fi
if [ "$("$VENV/bin/uv" --version 2> /dev/null | cut -d' ' -f2)" != "$uv_version" ]; then
  say "installing uv $uv_version"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$uv_version" \
    || die "could not install uv $uv_version from the package index" \
      "check the network; behind a TLS-intercepting proxy export SSL_CERT_FILE=<its CA bundle>"
fi

# -- the locked toolchain ------------------------------------------------------------------
say "syncing the locked toolchain into $VENV"
# Bytecode compiled once here (a few seconds, skipped on re-runs when nothing changed) keeps
# every later start of invoke and nox fast, even where PYTHONDONTWRITEBYTECODE is set.
"$VENV/bin/uv" sync --locked --quiet --compile-bytecode --python "$VENV/bin/python" \
  || die "uv could not install the locked toolchain (see above)" \
    "if uv.lock is out of date with pyproject.toml, run \`$VENV/bin/uv lock\` and commit it"
say "toolchain ready in $((SECONDS - started)) s: $("$VENV/bin/python" --version), $("$VENV/bin/uv" --version)"

if [ "$toolchain_only" -eq 1 ]; then
  say "next: .venv/bin/invoke bootstrap   (or .venv/bin/nox -s ci to run every gate)"
  exit 0
fi
# -- a Docker engine, when there is none and the user agrees -------------------------------
if ! timeout 20 docker info > /dev/null 2>&1 && grep -qsE '^ID(_LIKE)?=.*debian' /etc/os-release; then
  if [ "$provision" -eq 0 ] && [ -t 0 ] && [ -t 1 ]; then
    read -r -p "==> no Docker engine answers. Install and start one with scripts/provision-docker.sh? [y/N] " answer
    case "$answer" in [yY]*) provision=1 ;; esac
  fi
  if [ "$provision" -eq 1 ]; then
    sudo_prefix=()
    [ "$(id -u)" -eq 0 ] || sudo_prefix=(sudo)
    "${sudo_prefix[@]}" scripts/provision-docker.sh || die "could not provision a Docker engine (see above)" \
      "install Docker Engine by hand, then re-run scripts/bootstrap.sh"
  fi
fi

exec "$VENV/bin/invoke" bootstrap "${invoke_args[@]}"
