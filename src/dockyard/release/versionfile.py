"""Writing the release's version where the service declares it, as a text edit: every byte of
the file but the version stays as it was (comments, quotes, spacing, line ends)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from dockyard.core.errors import ConfigError

_TABLE = re.compile(r"^[ \t]*\[\[?[ \t]*(?P<name>[^\]]+?)[ \t]*\]\]?[ \t]*(?:#.*)?$")
_VERSION = re.compile(
    r"^(?P<before>[ \t]*version[ \t]*=[ \t]*)(?P<quote>\"|')(?P<value>[^\"'\r\n]*)(?P=quote)"
)


@dataclass(frozen=True)
class Edit:
    """One file's version edit: the line as it is and as it will be (1-based line number)."""

    path: str
    line: int
    before: str
    after: str

    def diff(self) -> str:
        return f"{self.path}:{self.line}\n-{self.before}\n+{self.after}\n"


def set_project_version(text: str, version: str, *, source: str) -> tuple[str, Edit]:
    """`text` (a pyproject.toml) with `[project] version` set to `version`."""
    lines = text.splitlines(keepends=True)
    table = ""
    for number, line in enumerate(lines):
        header = _TABLE.match(line)
        if header:
            table = header["name"].strip()
            continue
        found = _VERSION.match(line) if table == "project" else None
        if found is None:
            continue
        new = line[: found.start("value")] + version + line[found.end("value") :]
        edited = "".join([*lines[:number], new, *lines[number + 1 :]])
        _check(edited, version, source)
        return edited, Edit(source, number + 1, line.rstrip("\r\n"), new.rstrip("\r\n"))
    raise ConfigError(
        source,
        ['[project] has no static `version = "..."` line to set'],
        hint='declare the version in [project] (`version = "0.1.0"`), not as dynamic',
    )


def replace_on_line(
    text: str, marker: str, current: str, version: str, *, source: str
) -> tuple[str, Edit]:
    """`text` with `current` replaced by `version` on the one line containing `marker`."""
    lines = text.splitlines(keepends=True)
    matching = [number for number, line in enumerate(lines) if marker in line]
    if len(matching) != 1:
        found = "no line" if not matching else f"{len(matching)} lines"
        raise ConfigError(
            f"[tool.dockyard.release] version_files: {source}",
            [f"expected one line containing {marker!r}, found {found}"],
            hint="make the text after ':' pick exactly one line of the file",
        )
    number = matching[0]
    line = lines[number]
    if current not in line:
        raise ConfigError(
            f"[tool.dockyard.release] version_files: {source}",
            [f"line {number + 1} does not contain the current version {current!r}"],
            hint=f"set it to {current} first, so that releases can move it on",
        )
    new = line.replace(current, version, 1)
    edited = "".join([*lines[:number], new, *lines[number + 1 :]])
    return edited, Edit(source, number + 1, line.rstrip("\r\n"), new.rstrip("\r\n"))


def set_lock_version(text: str, name: str, version: str, *, source: str) -> tuple[str, Edit] | None:
    """`text` (a uv.lock) with the version of the project `name` set to `version`, so that
    `uv sync --locked` still accepts the lock; None when the lock does not hold the project."""
    wanted = re.sub(r"[-_.]+", "-", name).lower()
    lines = text.splitlines(keepends=True)
    for number, line in enumerate(lines[:-1]):
        if line.strip() != f'name = "{wanted}"' or lines[number - 1].strip() != "[[package]]":
            continue
        found = _VERSION.match(lines[number + 1])
        if found is None:
            return None
        old = lines[number + 1]
        new = old[: found.start("value")] + version + old[found.end("value") :]
        edited = "".join([*lines[: number + 1], new, *lines[number + 2 :]])
        return edited, Edit(source, number + 2, old.rstrip("\r\n"), new.rstrip("\r\n"))
    return None


def _check(text: str, version: str, source: str) -> None:
    """The edited file is still TOML and says the new version: never write a broken file."""
    try:
        found = tomllib.loads(text).get("project", {}).get("version")
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, [f"not valid TOML: {error}"]) from None
    if found != version:
        raise ConfigError(source, [f"[project] version reads {found!r} after the edit"])
