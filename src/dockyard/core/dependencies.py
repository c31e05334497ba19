"""The service's dependency lock: the file the dependency audit reads and the image's "-dirty"
check watches. Configured (`[tool.dockyard] lock`), or found beside the service's pyproject.toml,
then at the project root: `uv.lock`, `poetry.lock`, or `requirements*.txt` pinned with hashes.

Only files are read here; the audit gate runs the tools.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from dockyard.core.config import Config
from dockyard.core.configrules import TABLE
from dockyard.core.errors import ConfigError, MissingFileError

HASH = "--hash="


class LockKind(StrEnum):
    UV = "uv.lock"
    POETRY = "poetry.lock"
    REQUIREMENTS = "requirements"


@dataclass(frozen=True)
class DependencyLock:
    """A lock and the files it is made of (several for requirements files)."""

    kind: LockKind
    files: tuple[Path, ...]

    @property
    def directory(self) -> Path:
        return self.files[0].parent

    def relative(self, root: Path) -> list[str]:
        return [
            str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
            for path in self.files
        ]


def find_lock(config: Config) -> DependencyLock:
    """The configured lock, else the first one found; raise naming what was looked for."""
    if config.lock:
        return _configured(config)
    service_dir = config.path(config.service_pyproject).parent
    places = list(dict.fromkeys([service_dir, config.root]))
    unhashed: list[Path] = []
    for place in places:
        for kind in (LockKind.UV, LockKind.POETRY):
            if (place / kind.value).is_file():
                return DependencyLock(kind, (place / kind.value,))
        requirements = sorted(place.glob("requirements*.txt"))
        hashed = [path for path in requirements if has_hashes(path)]
        unhashed += [path for path in requirements if path not in hashed]
        if hashed:
            return DependencyLock(LockKind.REQUIREMENTS, tuple(hashed))
    looked = " and ".join(str(place) for place in places)
    seen = f"; {', '.join(map(str, unhashed))} pin no hashes" if unhashed else ""
    raise MissingFileError(
        f"no dependency lock found in {looked} (uv.lock, poetry.lock, or requirements*.txt "
        f"with hashes){seen}",
        hint=f"lock the service's dependencies (`uv lock`, `poetry lock`, or `pip-compile "
        f"--generate-hashes`), or name the lock in [{TABLE}] lock",
    )


def _configured(config: Config) -> DependencyLock:
    path = config.path(config.lock)
    setting = f"[{TABLE}] lock = {config.lock!r}"
    if not path.is_file():
        raise ConfigError(
            "pyproject.toml",
            [f"{setting}: {path} does not exist"],
            hint="name the service's lock file, relative to the project root",
        )
    if path.name in (LockKind.UV.value, LockKind.POETRY.value):
        return DependencyLock(LockKind(path.name), (path,))
    if path.suffix == ".txt":
        if not has_hashes(path):
            raise ConfigError(
                "pyproject.toml",
                [f"{setting}: {path} pins no hashes, so it is not a lock"],
                hint="generate it with hashes (`pip-compile --generate-hashes`, "
                "`uv pip compile --generate-hashes`)",
            )
        return DependencyLock(LockKind.REQUIREMENTS, (path,))
    raise ConfigError(
        "pyproject.toml",
        [f"{setting}: expected a uv.lock, a poetry.lock or a requirements .txt file"],
        hint="name the service's lock file, relative to the project root",
    )


def has_hashes(path: Path) -> bool:
    return HASH in path.read_text(encoding="utf-8", errors="replace")


def poetry_requirements(lock: Path) -> str:
    """A poetry.lock as a requirements file with hashes, every package of every group, for
    pip-audit. Raise naming the file when it cannot be read as one."""
    try:
        document = tomllib.loads(lock.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(
            str(lock),
            [f"unreadable as a poetry lock ({error})"],
            hint="regenerate it with `poetry lock`",
        ) from None
    lines = []
    for package in document.get("package", []):
        source = package.get("source") or {}
        if source.get("type") in ("directory", "file", "git", "url"):
            continue  # the project's own or a local package: no index to audit it against
        name, version = package.get("name"), package.get("version")
        hashes = [
            f["hash"] for f in package.get("files", []) if isinstance(f, dict) and "hash" in f
        ]
        if not isinstance(name, str) or not isinstance(version, str) or not hashes:
            raise ConfigError(
                str(lock),
                [f"package {name!r}: expected a name, a version and file hashes"],
                hint="regenerate it with `poetry lock` (poetry 1.2 or newer)",
            )
        lines.append(f"{name}=={version} " + " ".join(f"{HASH}{h}" for h in hashes))
    return "\n".join(lines) + "\n"
