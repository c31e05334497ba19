"""The local base images a machine has built, recorded for the commands that come after.

`invoke image.base` writes `.dockyard/images.env` (KEY=VALUE lines, git-ignored); the stack and
the service image build read it with `read_overrides` and pass the values on as the variables
that select their images. Without the file, the official images from the configuration are used.
"""

from __future__ import annotations

import re
from pathlib import Path

from dockyard.core.config import Config
from dockyard.core.errors import UnreadableFileError
from dockyard.core.files import replace_atomically

STATE_FILE = ".dockyard/images.env"
_LINE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>[^\s#'\"]+)$")
HEADER = (
    "# Written by `invoke image.base`: the local base images built on this machine.\n"
    "# Delete this file to go back to the official images.\n"
)


def state_path(config: Config) -> Path:
    return config.path(STATE_FILE)


def render_overrides(overrides: dict[str, str]) -> str:
    return HEADER + "".join(f"{key}={value}\n" for key, value in sorted(overrides.items()))


def parse_overrides(text: str, source: str) -> dict[str, str]:
    """KEY=VALUE lines; comments and blank lines are skipped, anything else is an error."""
    found: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(stripped)
        if match is None:
            problems.append(f"{source}:{number}: expected KEY=IMAGE, got {stripped!r}")
            continue
        found[match["key"]] = match["value"]
    if problems:
        raise UnreadableFileError(
            "\n".join(problems), hint="delete the file and run `invoke image.base` again"
        )
    return found


def read_overrides(config: Config) -> dict[str, str]:
    """The image variables recorded by the last `invoke image.base`; empty when it never ran."""
    path = state_path(config)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return parse_overrides(text, str(path.relative_to(config.root)))


def write_overrides(config: Config, overrides: dict[str, str]) -> Path:
    """Record `overrides` atomically, so a reader never sees half a file."""
    path = state_path(config)
    replace_atomically(path, render_overrides(overrides))
    return path
