"""Connecting to the Docker engine, with a diagnosis when it cannot be reached."""

from __future__ import annotations

import errno
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.errors import EngineUnavailableError

if TYPE_CHECKING:
    import docker

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
PROVISION_HINT = (
    "start the Docker engine: on Debian or Ubuntu run `sudo scripts/provision-docker.sh`; "
    "elsewhere install Docker Engine or Docker Desktop and start it"
)


def connect(environ: Mapping[str, str], *, timeout: float = 10.0) -> docker.DockerClient:
    """A client for the engine that `environ` (DOCKER_HOST, DOCKER_TLS_VERIFY...) points at."""
    import docker  # deferred: docker-py takes a noticeable time to import
    from docker.errors import DockerException
    from docker.utils import kwargs_from_env

    host = environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    if host.startswith("unix://"):
        _probe_socket(host, environ)
    try:
        client = docker.DockerClient(
            **kwargs_from_env(environment=dict(environ)),
            version="auto",
            timeout=int(timeout),
        )
        client.ping()
    except DockerException as error:
        raise EngineUnavailableError(
            f"no Docker engine answers at {host}: {_reason(error)}",
            hint=diagnose(host, environ),
        ) from None
    return client


def _probe_socket(host: str, environ: Mapping[str, str]) -> None:
    """Fail fast, with the reason, when a unix socket is absent or nobody answers on it."""
    path = host.removeprefix("unix://")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError as error:
            reason = {
                errno.ENOENT: "the socket does not exist",
                errno.ECONNREFUSED: "connection refused",
                errno.EACCES: "permission denied",
            }.get(error.errno or 0, error.strerror or str(error))
            raise EngineUnavailableError(
                f"no Docker engine answers at {host}: {reason}", hint=diagnose(host, environ)
            ) from None


def diagnose(host: str, environ: Mapping[str, str]) -> str:
    """The most likely fix for an engine that does not answer at `host`."""
    if host.startswith("unix://"):
        path = Path(host.removeprefix("unix://"))
        if not path.exists():
            if environ.get("DOCKER_HOST"):
                return (
                    f"DOCKER_HOST={environ['DOCKER_HOST']} names a socket that does not exist: "
                    f"unset DOCKER_HOST to use {DEFAULT_SOCKET}, or point it at a running engine"
                )
            return PROVISION_HINT
        return (
            f"{path} exists but does not answer this user: check that dockerd is running "
            f"({PROVISION_HINT.removeprefix('start the Docker engine: ')}), or add the user "
            "to the `docker` group (`sudo usermod -aG docker $USER`, then log in again)"
        )
    return f"check that the engine at {host} is running and reachable from this machine"


def _reason(error: Exception) -> str:
    text = str(error)
    for marker in ("FileNotFoundError", "ConnectionRefusedError", "PermissionError"):
        if marker in text:
            return {
                "FileNotFoundError": "the socket does not exist",
                "ConnectionRefusedError": "connection refused",
                "PermissionError": "permission denied",
            }[marker]
    return text.splitlines()[0] if text else type(error).__name__
