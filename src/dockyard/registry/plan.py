"""Deciding about registries: where one is, what an image is called in it, how the local one runs.

Pure: names, the local registry's container as data (the options docker-py's `containers.run`
takes), which image it runs, what `registry.up` must do about a container already there, and
whether two digests agree. `dockyard.registry.client` and `dockyard.registry.local` act.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from dockyard.core.config import Config
from dockyard.core.errors import DockyardError

# Where every registry image keeps its data, and the port it listens on inside its container.
DATA_DIR = "/var/lib/registry"
CONTAINER_PORT = 5000
# A release that fails after its push deletes the manifest it pushed: deletes are enabled.
ENVIRONMENT = {"REGISTRY_STORAGE_DELETE_ENABLED": "true"}
LABEL = "dev.dockyard.registry"
SPEC_LABEL = "dev.dockyard.registry.spec"
# What a manifest HEAD accepts: Docker's manifest and manifest list, OCI's manifest and index.
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)
_LOOPBACK = re.compile(r"^(?:127\.\d+\.\d+\.\d+|localhost|\[::1\])(?::\d+)?$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class RegistryError(DockyardError):
    """A registry that does not answer, answers nonsense, or holds another image than ours."""


@dataclass(frozen=True)
class Target:
    """A registry: the host images are named after, and the base URL of its HTTP API."""

    host: str  # as image references name it: "127.0.0.1:5000"
    api: str  # "http://127.0.0.1:5000"


def target(url: str) -> Target:
    """The registry at `url` (`HOST[:PORT]`, optionally with a scheme for the API): HTTPS,
    or HTTP for a loopback host, unless the scheme says otherwise."""
    scheme, _, host = url.rpartition("://")
    host = host.rstrip("/")
    if not scheme:
        scheme = "http" if _LOOPBACK.match(host) else "https"
    return Target(host=host, api=f"{scheme}://{host}")


def configured(config: Config) -> Target:
    """The registry `[tool.dockyard.registry] url` names; an error saying how to get one."""
    if not config.registry.url:
        raise RegistryError(
            "no registry configured: [tool.dockyard.registry] url is empty",
            hint="set url in [tool.dockyard.registry] in pyproject.toml to your registry, or run "
            f'`invoke registry.up` and set url = "127.0.0.1:{config.registry.local_port}"',
        )
    return target(config.registry.url)


def local_target(config: Config) -> Target:
    """The local registry `invoke registry.up` runs."""
    return target(f"127.0.0.1:{config.registry.local_port}")


def repository(config: Config) -> str:
    """The service image's repository inside the registry: `[prefix/]image`."""
    prefix = config.registry.repository_prefix.strip("/")
    return f"{prefix}/{config.image}" if prefix else config.image


def image_ref(where: Target, name: str, tag: str) -> str:
    """A pushable reference: `HOST/NAME:TAG`."""
    return f"{where.host}/{name}:{tag}"


def split_ref(ref: str) -> tuple[str, str, str]:
    """`HOST/NAME:TAG` as (host, name, tag); a RegistryError for a reference without them."""
    host, slash, rest = ref.partition("/")
    name, colon, tag = rest.rpartition(":")
    if not slash or not colon or not name or not tag or "/" in tag or "@" in ref:
        raise RegistryError(
            f"{ref!r} is not an image reference of the form HOST/NAME:TAG",
            hint="name the registry, the repository and the tag, e.g. 127.0.0.1:5000/app:1.2.0",
        )
    return host, name, tag


def is_digest(value: str) -> bool:
    return _DIGEST.match(value) is not None


def check_digests(ref: str, local: str | None, remote: str | None) -> str:
    """The digest both sides agree on; a RegistryError naming both when they do not."""
    if remote is None:
        raise RegistryError(
            f"{ref}: the registry has no such manifest (local digest {local or 'unknown'})",
            hint="push the image again; nothing may be published until the registry has it",
        )
    if local is None or local != remote:
        raise RegistryError(
            f"{ref}: the registry holds {remote}, but the local image is {local or 'unknown'}",
            hint="the tag was overwritten or the push did not finish: push again and compare",
        )
    return remote


@dataclass(frozen=True)
class Credentials:
    """A user name and password for a registry; the password never appears in a repr."""

    username: str
    password: str = field(repr=False)


def credentials(config: Config, environ: Mapping[str, str]) -> Credentials | None:
    """The credentials the configured variables hold; None when none are configured."""
    registry = config.registry
    if not registry.username_variable:
        return None
    missing = [
        name
        for name in (registry.username_variable, registry.password_variable)
        if not environ.get(name)
    ]
    if missing:
        raise RegistryError(
            f"registry credentials: {', '.join(missing)} not set in the environment",
            hint="export them before running the command (the password is never printed)",
        )
    return Credentials(environ[registry.username_variable], environ[registry.password_variable])


def bearer_challenge(header: str) -> dict[str, str] | None:
    """The parameters of a `WWW-Authenticate: Bearer realm=...,service=...` challenge."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    found = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return found if "realm" in found else None


# ------------------------------------------------------------ the local one ---


class Action(Enum):
    """What `registry.up` does about the container found under the local registry's name."""

    CREATE = "create"  # none there
    START = "start"  # there as asked, stopped
    RECREATE = "recreate"  # there, but with other options (port, image, volume)
    NONE = "none"  # there as asked, running


@dataclass(frozen=True)
class Found:
    """The local registry's container as the engine reports it."""

    status: str  # created, running, exited, ...
    image: str
    spec: str  # its SPEC_LABEL


@dataclass(frozen=True)
class LocalRegistry:
    """The local registry's container: its name, image, port and data volume."""

    name: str
    image: str
    port: int
    volume: str
    official: bool  # the official image: root in the container, no HEALTHCHECK of its own
    project: str

    def options(self) -> dict[str, Any]:
        """Keyword arguments of docker-py's `containers.run`, hardened like the stack's services:
        no capability, no new privileges, a read-only root, limits, published on 127.0.0.1."""
        options: dict[str, Any] = {
            "name": self.name,
            "init": True,
            "ports": {f"{CONTAINER_PORT}/tcp": ("127.0.0.1", self.port)},
            "volumes": {self.volume: {"bind": DATA_DIR, "mode": "rw"}},
            "environment": dict(ENVIRONMENT),
            "read_only": True,
            "tmpfs": {"/tmp": "size=16m,mode=1777"},  # noqa: S108  (the container's own /tmp)
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
            "mem_limit": "256m",
            "pids_limit": 256,
            "nano_cpus": 1_000_000_000,
            "restart_policy": {"Name": "on-failure", "MaximumRetryCount": 5},
            "labels": {LABEL: self.project, SPEC_LABEL: self.fingerprint()},
        }
        if self.official:
            # registry:2 is Alpine with busybox: its wget is the one HTTP client inside.
            probe = [
                "CMD",
                "wget",
                "-q",
                "-O",
                "/dev/null",
                f"http://127.0.0.1:{CONTAINER_PORT}/v2/",
            ]
            options["healthcheck"] = {
                "test": probe,
                "interval": 10_000_000_000,
                "timeout": 5_000_000_000,
                "start_period": 10_000_000_000,
                "retries": 5,
            }
        return options

    def fingerprint(self) -> str:
        """What a container must match to be kept: image, port, volume and environment."""
        seed = json.dumps(
            [self.image, self.port, self.volume, DATA_DIR, ENVIRONMENT], sort_keys=True
        )
        return hashlib.sha256(seed.encode()).hexdigest()[:16]


def container_name(config: Config) -> str:
    return f"{config.project}-registry"


def volume_name(config: Config) -> str:
    return config.registry.local_volume or f"{config.project}-registry-data"


def choose_image(
    official: str,
    official_available: bool,
    standin: str,
    standin_available: bool,
    current: str | None = None,
) -> str:
    """The official image when the engine has it or can pull it, else the local stand-in; the
    image of the container already there (`current`) while it is available, so its data stays
    with the image that wrote it."""
    available = {official: official_available, standin: standin_available}
    if current is not None and available.get(current):
        return current
    if official_available:
        return official
    if standin_available:
        return standin
    raise RegistryError(
        f"no registry image: {official} is not here and cannot be pulled, and the stand-in "
        f"{standin} is not built",
        hint="run `invoke image.base` to build the stand-in from Debian's docker-registry",
    )


def local_registry(config: Config, image: str, standin: str) -> LocalRegistry:
    return LocalRegistry(
        name=container_name(config),
        image=image,
        port=config.registry.local_port,
        volume=volume_name(config),
        official=image != standin,
        project=config.project,
    )


def decide_up(wanted: LocalRegistry, found: Found | None) -> Action:
    """Create, start, recreate or leave alone: a second `up` with nothing changed does nothing."""
    if found is None:
        return Action.CREATE
    if found.spec != wanted.fingerprint():
        return Action.RECREATE
    return Action.NONE if found.status == "running" else Action.START
