"""`invoke doctor`: is this machine ready to build, run and deploy the service?

Each check is a small function that looks at the real thing (a binary on PATH,
a socket, a port, a TLS handshake) and returns a CheckResult: ok, warn or fail,
with the exact fix. `run_doctor` runs them in order and never stops early, so
one report shows everything that needs doing.
"""

from __future__ import annotations

import platform
import re
import shutil
import socket
import ssl
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from dockyard.core import proc
from dockyard.core.engine import DEFAULT_SOCKET, PROVISION_HINT, connect
from dockyard.core.errors import CommandFailedError, DockyardError
from dockyard.core.ports import find_listener, port_is_free
from dockyard.core.results import CheckResult, fail, ok, warn
from dockyard.stack.proxyconf import published_ports

if TYPE_CHECKING:
    import docker

    from dockyard.core.config import Config

CA_BUNDLE_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "CURL_CA_BUNDLE")
SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # macOS, BSD
)
GIB = 1024**3


@dataclass
class Host:
    """The machine as the checks see it: environment, project root, and a lazily opened engine."""

    environ: Mapping[str, str]
    root: Path
    engine_error: DockyardError | None = field(default=None, init=False)

    @cached_property
    def engine(self) -> docker.DockerClient | None:
        try:
            return connect(self.environ, timeout=5)
        except DockyardError as error:
            self.engine_error = error
            return None

    @cached_property
    def engine_info(self) -> dict[str, Any]:
        return self.engine.info() if self.engine is not None else {}


# ------------------------------------------------------------------ checks ---


def check_python(requirement: str, version: str = platform.python_version()) -> CheckResult:
    if Version(version) in SpecifierSet(requirement):
        return ok("python", f"{version} at {sys.executable} (project needs {requirement})")
    return fail(
        "python",
        f"{version} does not satisfy the project's requires-python {requirement}",
        "install a matching Python and re-run `scripts/bootstrap.sh`; "
        "the pinned version is in .python-version",
    )


def check_git(host: Host) -> CheckResult:
    if proc.which("git", host.environ) is None:
        return fail("git", "git is not on PATH", "install git (`sudo apt-get install git`)")
    version = proc.run(["git", "--version"], env=host.environ, timeout=10).stdout.split()[-1]
    inside = proc.run(
        ["git", "-C", str(host.root), "rev-parse", "--is-inside-work-tree"],
        env=host.environ,
        timeout=10,
        check=False,
    )
    if not inside.ok:
        return warn(
            "git",
            f"git {version}, but {host.root} is not a git work tree",
            "clone the project with git: versions, tags and releases come from its history",
        )
    return ok("git", f"git {version}")


def check_engine(host: Host, min_api: str) -> CheckResult:
    if proc.which("docker", host.environ) is None:
        return fail(
            "docker engine",
            "the docker command is not on PATH",
            "install the Docker CLI and engine: " + PROVISION_HINT,
        )
    if host.engine is None:
        error = host.engine_error
        return fail("docker engine", error.message if error else "unreachable", _hint_of(error))
    version = host.engine.version()
    api = version.get("ApiVersion", "0")
    address = host.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    summary = f"engine {version.get('Version', '?')} (API {api}) at {address}"
    if Version(api) < Version(min_api):
        return fail("docker engine", summary + f", older than API {min_api}", PROVISION_HINT)
    return ok("docker engine", summary)


def check_compose(host: Host, minimum: str) -> CheckResult:
    if proc.which("docker", host.environ) is None:
        return fail("compose", "the docker command is not on PATH", PROVISION_HINT)
    found = proc.run(["docker", "compose", "version", "--short"], env=host.environ, check=False)
    fix = (
        f"install the Compose v2 plugin ({minimum} or newer): `sudo scripts/provision-docker.sh` "
        "on Debian, or the docker-compose-plugin package from Docker's repository"
    )
    if not found.ok:
        return fail("compose", "`docker compose` (v2) is not installed", fix)
    text = found.stdout.strip().removeprefix("v")
    try:
        version = Version(text)
    except InvalidVersion:
        return warn("compose", f"could not read the Compose version from {text!r}", fix)
    if version < Version(minimum):
        return fail("compose", f"Compose {version} is older than {minimum}", fix)
    return ok("compose", f"Compose {text}")


def check_buildkit(host: Host) -> CheckResult:
    if host.environ.get("DOCKER_BUILDKIT") == "0":
        return fail(
            "buildkit",
            "DOCKER_BUILDKIT=0 turns BuildKit off; the images need its secret and cache mounts",
            "unset DOCKER_BUILDKIT",
        )
    found = (
        proc.run(["docker", "buildx", "version"], env=host.environ, check=False)
        if proc.which("docker", host.environ)
        else None
    )
    if found is None or not found.ok:
        return fail(
            "buildkit",
            "the buildx plugin is missing, so `docker build` cannot use BuildKit",
            "install docker-buildx: `sudo scripts/provision-docker.sh` on Debian, "
            "or the docker-buildx-plugin package",
        )
    return ok("buildkit", found.stdout.split("\n")[0].strip())


def check_disk(path: Path, fail_below_gb: float, warn_below_gb: float) -> CheckResult:
    free_gb = shutil.disk_usage(path).free / GIB
    summary = f"{free_gb:.1f} GiB free at {path}"
    fix = "free disk space: `docker system prune` removes stopped containers and dangling images"
    if free_gb < fail_below_gb:
        return fail("disk", f"{summary}, below {fail_below_gb:g} GiB", fix)
    if free_gb < warn_below_gb:
        return warn("disk", f"{summary}, below {warn_below_gb:g} GiB", fix)
    return ok("disk", summary)


def check_port(name: str, port: int, address: str = "127.0.0.1", owner: str = "") -> CheckResult:
    """A port the stack publishes must be free, or held by the stack itself (`owner` says so)."""
    label = f"port {port}"
    if owner:
        return ok(label, f"{address}:{port} ({name}) is held by this project's {owner}")
    if port_is_free(port, address):
        return ok(label, f"{address}:{port} ({name}) is free")
    holder = find_listener(port)
    held_by = f" by {holder}" if holder else ""
    return fail(
        label,
        f"{address}:{port} ({name}) is already in use{held_by}",
        f"stop what holds port {port}, or publish {name} elsewhere "
        f"([tool.dockyard.ports] {name} = ... in pyproject.toml)",
    )


def check_ca_bundle(
    environ: Mapping[str, str],
    probe: str,
    system_bundles: tuple[str, ...] = SYSTEM_CA_BUNDLES,
    timeout: float = 5.0,
) -> CheckResult:
    """Find out whether TLS is intercepted and, if so, whether a CA bundle that trusts it is set.

    Builds verify TLS with the public CAs only (pip inside a container uses certifi); behind a
    TLS-intercepting proxy they need the proxy's CA, which dockyard passes as a BuildKit secret.
    """
    name = "ca bundle"
    configured = next(
        ((var, environ[var]) for var in CA_BUNDLE_VARIABLES if environ.get(var)), None
    )
    if configured is not None:
        variable, bundle = configured
        problem = _bundle_problem(Path(bundle))
        if problem:
            return fail(
                name, f"{variable}={bundle}: {problem}", f"point {variable} at a PEM CA bundle"
            )
    host, _, port_text = probe.rpartition(":")
    public = _tls_handshake(host, int(port_text), _public_context(), timeout)
    if public is None:
        summary = f"TLS to {probe} verifies against the public CAs"
        return ok(name, summary + (f"; builds also get {configured[1]}" if configured else ""))
    if not isinstance(public, ssl.SSLCertVerificationError):
        return warn(
            name,
            f"could not reach {probe} to test for TLS interception ({public})",
            "check the network; re-run `invoke doctor` once the package index is reachable",
        )
    if configured is not None:
        trusted = _tls_handshake(host, int(port_text), _bundle_context(configured[1]), timeout)
        if trusted is None:
            return ok(
                name,
                f"TLS to {probe} is intercepted; {configured[0]}={configured[1]} trusts it "
                "and builds receive it as a BuildKit secret",
            )
        return fail(
            name,
            f"TLS to {probe} is intercepted and {configured[1]} does not trust it ({trusted})",
            f"point {configured[0]} at the bundle that holds your proxy's CA",
        )
    candidates = [path for path in system_bundles if not _bundle_problem(Path(path))]
    for candidate in candidates:
        if _tls_handshake(host, int(port_text), _bundle_context(candidate), timeout) is None:
            return fail(
                name,
                f"TLS to {probe} is intercepted and no CA bundle is set",
                f"export SSL_CERT_FILE={candidate} (your system bundle trusts the proxy)",
            )
    return fail(
        name,
        f"TLS to {probe} is intercepted and no CA bundle is set",
        "get your proxy's CA certificate, add it to a PEM bundle and export SSL_CERT_FILE=<bundle>",
    )


def check_required_env(environ: Mapping[str, str], names: list[str]) -> CheckResult:
    missing = [name for name in names if not environ.get(name)]
    if missing:
        return fail(
            "environment",
            f"required variables not set: {', '.join(missing)}",
            " ; ".join(f"export {name}=..." for name in missing),
        )
    listed = ", ".join(names) if names else "none required"
    return ok("environment", f"required variables set ({listed})")


# ------------------------------------------------------------------ runner ---


def plan_checks(config: Config, host: Host) -> list[Callable[[], CheckResult]]:
    """The checks for this project, in report order."""
    doctor = config.doctor
    checks: list[Callable[[], CheckResult]] = [
        lambda: check_python(config.requires_python),
        lambda: check_git(host),
        lambda: check_engine(host, doctor.min_engine_api),
        lambda: check_compose(host, doctor.min_compose_version),
        lambda: check_buildkit(host),
        lambda: check_disk(
            _disk_path(host, config.root), doctor.min_free_disk_gb, doctor.warn_free_disk_gb
        ),
    ]
    for name, port in sorted(published_ports(config).items(), key=lambda item: item[1]):
        checks.append(
            lambda name=name, port=port: check_port(  # type: ignore[misc]
                name, port, owner=_project_container_on(host, config.project, port)
            )
        )
    checks.append(lambda: check_ca_bundle(host.environ, doctor.tls_probe))
    checks.append(lambda: check_required_env(host.environ, doctor.required_env))
    return checks


def run_doctor(config: Config, host: Host) -> list[CheckResult]:
    """Run every check; a check that crashes on a tool's failure is reported, not raised."""
    results = []
    for check in plan_checks(config, host):
        try:
            results.append(check())
        except CommandFailedError as error:
            results.append(fail("check", error.message, error.hint or "see the message above"))
    return results


# ----------------------------------------------------------------- helpers ---


def _hint_of(error: DockyardError | None) -> str:
    return (error.hint if error else None) or PROVISION_HINT


def _disk_path(host: Host, root: Path) -> Path:
    """Where images and volumes will land: the engine's data root when it is local."""
    data_root = Path(host.engine_info.get("DockerRootDir", "")) if host.engine else None
    return data_root if data_root and data_root.exists() else root


def _project_container_on(host: Host, project: str, port: int) -> str:
    """The name of this project's container publishing `port`, or "" when there is none."""
    if host.engine is None:
        return ""
    label = f"com.docker.compose.project={project}"
    for container in host.engine.containers.list(filters={"label": label}):
        for bindings in (container.ports or {}).values():
            if any(str(port) == binding.get("HostPort") for binding in bindings or []):
                return f"container {container.name}"
    return ""


def _public_context() -> ssl.SSLContext:
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _bundle_context(bundle: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=bundle)


def _tls_handshake(
    host: str, port: int, context: ssl.SSLContext, timeout: float
) -> Exception | None:
    """None when a verified TLS handshake with host:port succeeds, else the error."""
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return None
    except (OSError, ssl.SSLError) as error:
        return error


def _bundle_problem(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return "file not found"
    except IsADirectoryError:
        return "is a directory, not a PEM file"
    except PermissionError:
        return "not readable by this user"
    if not re.search(r"-----BEGIN CERTIFICATE-----", text):
        return "holds no PEM certificates"
    return None
