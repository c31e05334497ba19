"""What a service image is built from, read from the checkout: the service's version, the git
revision (with "-dirty" when the image's inputs have uncommitted changes), the repository's
public URL, and the uv version the lock pins."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from dockyard.core import proc
from dockyard.core.config import Config
from dockyard.core.errors import ConfigError, MissingFileError


@dataclass(frozen=True)
class Revision:
    """Where the checkout stands: the short commit id, and whether the image's inputs changed."""

    sha: str | None
    dirty: bool = False
    committed_at: int | None = None  # commit time, seconds since the epoch


def public_url(url: str) -> str:
    """A remote URL without the user and password a CI checkout may carry in it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return ""
    if not parts.scheme or not host:
        return url if "@" not in url else url.split("@", 1)[1]
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def read_version(config: Config) -> str:
    """`[project].version` of the service's pyproject.toml."""
    path = config.path(config.service_pyproject)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MissingFileError(
            f"{config.service_pyproject}: not found (tool.dockyard.service_pyproject)",
            hint="point tool.dockyard.service_pyproject at the service's pyproject.toml",
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(config.service_pyproject, [f"not valid TOML: {error}"]) from None
    version = document.get("project", {}).get("version")
    if not isinstance(version, str) or not version:
        raise ConfigError(
            config.service_pyproject,
            ["[project].version: expected a static version string"],
            hint='set `version = "0.1.0"` in the service\'s [project] table',
        )
    return version


def read_uv_version(config: Config) -> str | None:
    """The uv version pinned in uv.lock, so the image installs with the same resolver."""
    lock = config.path("uv.lock")
    try:
        document = tomllib.loads(lock.read_text(encoding="utf-8"))
    except (FileNotFoundError, tomllib.TOMLDecodeError):
        return None
    for package in document.get("package", []):
        if package.get("name") == "uv" and isinstance(package.get("version"), str):
            return str(package["version"])
    return None


def lock_inputs(config: Config) -> list[str]:
    """The service's dependency lock, as paths for git: its changes make an image "-dirty".
    No lock found is no input here (the dependency audit fails on it)."""
    from dockyard.core.dependencies import find_lock

    try:
        return find_lock(config).relative(config.root)
    except MissingFileError:
        return []


def read_revision(config: Config, environ: Mapping[str, str]) -> Revision:
    """The short commit id, and whether the files the image is built from differ from it."""
    git = ["git", "-C", str(config.root)]
    head = proc.run([*git, "rev-parse", "--short=12", "HEAD"], env=environ, check=False)
    if not head.ok:
        return Revision(sha=None)
    inputs = [config.dockerfile, *lock_inputs(config), "pyproject.toml", _service_dir(config)]
    status = proc.run(
        [*git, "status", "--porcelain", "--", *dict.fromkeys(inputs)], env=environ, check=False
    )
    stamp = proc.run([*git, "log", "-1", "--format=%ct"], env=environ, check=False)
    committed = int(stamp.stdout.strip()) if stamp.ok and stamp.stdout.strip().isdigit() else None
    return Revision(
        sha=head.stdout.strip(), dirty=bool(status.stdout.strip()), committed_at=committed
    )


def read_source(config: Config, environ: Mapping[str, str]) -> str | None:
    remote = proc.run(
        ["git", "-C", str(config.root), "remote", "get-url", "origin"], env=environ, check=False
    )
    if not remote.ok:
        return None
    return public_url(remote.stdout.strip()) or None


def _service_dir(config: Config) -> str:
    parent = Path(config.service_pyproject).parent
    return str(parent) if str(parent) != "." else "."
