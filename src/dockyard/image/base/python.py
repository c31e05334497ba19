"""Which Python the local stand-in carries: the service's own, where Debian ships it.

The version is the first of:

1. `.python-version` beside the service's pyproject.toml (`tool.dockyard.service_pyproject`):
   the exact Python the service's developers run;
2. the version in the tag of `[tool.dockyard.images] python` (the official image the stand-in
   replaces, `python:3.11-slim-bookworm` by default), unless the service's `requires-python`
   excludes it: then the newest version Debian ships that `requires-python` allows.

Debian ships one Python per release (`RELEASES`): the stand-in is built from the release whose
Python that is, the configured `debian_suite` when it has it. For any other version one error
says which versions can be built offline and what to do instead.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from dockyard.core.config import Config
from dockyard.core.errors import ConfigError

PYTHON_VERSION_FILE = ".python-version"
_TAG_VERSION = re.compile(r":(?P<version>\d+\.\d+)(?:[.-]|$)")


@dataclass(frozen=True)
class PythonChoice:
    """The stand-in's Python: its version, the Debian release that ships it, and why."""

    version: str  # major.minor, e.g. "3.13"
    suite: str  # e.g. "trixie"
    source: str  # where the version came from, for messages


def choose_python(
    shipped: Mapping[str, str],
    preferred_suite: str,
    image: str,
    pinned: tuple[str, str] | None,
    requires: tuple[str, str] | None,
) -> PythonChoice:
    """Decide the stand-in's Python.

    `shipped` maps each Debian release to its Python; `pinned` is (text of .python-version,
    its path) and `requires` (requires-python, the pyproject's path), each None when absent.
    """
    version, source = _wanted(shipped, image, pinned, requires)
    suites = [suite for suite, python in shipped.items() if python == version]
    if not suites:
        offline = ", ".join(f"{python} ({suite})" for suite, python in sorted(shipped.items()))
        raise ConfigError(
            source,
            [
                f"the service needs Python {version}, which no Debian release dockyard builds "
                f"from ships: the offline stand-in can be built for Python {offline}"
            ],
            hint=f"where a registry can be reached, use the official image (`[tool.dockyard."
            f'images] python = "python:{version}-slim"`) and skip `invoke image.base`; offline, '
            f"move the service to one of {', '.join(sorted(set(shipped.values())))}",
        )
    suite = preferred_suite if preferred_suite in suites else suites[0]
    return PythonChoice(version, suite, source)


def _wanted(
    shipped: Mapping[str, str],
    image: str,
    pinned: tuple[str, str] | None,
    requires: tuple[str, str] | None,
) -> tuple[str, str]:
    if pinned is not None:
        text, path = pinned
        return _major_minor(text, path), path
    configured = _TAG_VERSION.search(image.rpartition("/")[2])
    if requires is None:
        if configured is None:
            raise ConfigError(
                "pyproject.toml",
                [f"tool.dockyard.images.python: {image!r} names no Python version in its tag"],
                hint=f"add a {PYTHON_VERSION_FILE} beside the service's pyproject.toml, or "
                "name the image with its version (python:3.11-slim-bookworm)",
            )
        return configured["version"], f"tool.dockyard.images.python ({image})"
    spec_text, path = requires
    try:
        spec = SpecifierSet(spec_text)
    except InvalidSpecifier:
        raise ConfigError(
            path, [f"requires-python: {spec_text!r} is not a version specifier"]
        ) from None
    if configured is not None and Version(configured["version"]) in spec:
        return configured["version"], f"tool.dockyard.images.python ({image})"
    allowed = sorted(
        (Version(v) for v in set(shipped.values()) if Version(v) in spec), reverse=True
    )
    if allowed:
        return str(allowed[0]), f"{path} (requires-python {spec_text})"
    return _lowest_allowed(spec), f"{path} (requires-python {spec_text})"


def _lowest_allowed(spec: SpecifierSet) -> str:
    """A version `spec` allows, for the message: the lowest 3.x it accepts."""
    candidates = [f"3.{minor}" for minor in range(8, 30)]
    return next((c for c in candidates if Version(c) in spec), str(spec))


def _major_minor(text: str, path: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    try:
        version = Version(first)
    except InvalidVersion:
        raise ConfigError(
            path,
            [f"{first!r} is not a Python version"],
            hint='write the version the service runs on, e.g. "3.13"',
        ) from None
    return f"{version.major}.{version.minor}"


def read_python_pins(config: Config) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """The service's `.python-version` and `requires-python`, each with the file it is in."""
    pyproject = PurePosixPath(config.service_pyproject)
    pin_name = (pyproject.parent / PYTHON_VERSION_FILE).as_posix()
    try:
        pinned: tuple[str, str] | None = (
            config.path(pin_name).read_text(encoding="utf-8"),
            pin_name,
        )
    except FileNotFoundError:
        pinned = None
    try:
        document = tomllib.loads(config.path(str(pyproject)).read_text(encoding="utf-8"))
    except (FileNotFoundError, tomllib.TOMLDecodeError):
        return pinned, None  # the service image's build reports its pyproject
    requires = document.get("project", {}).get("requires-python")
    return pinned, (requires, str(pyproject)) if isinstance(requires, str) else None


def python_for(config: Config, shipped: Mapping[str, str]) -> PythonChoice:
    """The stand-in's Python for this project (see the module's docstring for the order)."""
    pinned, requires = read_python_pins(config)
    return choose_python(
        shipped, config.images.debian_suite, config.images.python, pinned, requires
    )
