"""Replacing one secret's value in place: the line changes, everything else stays byte for byte."""

from __future__ import annotations

import re

from dockyard.core.config import Config
from dockyard.core.errors import DockyardError
from dockyard.env.render import Generate, format_value, new_secret
from dockyard.env.schema import Schema, Variable
from dockyard.env.store import atomic_write, env_path, file_mode, load_for_change, shown

_PREFIX = re.compile(r"[ \t]*(export[ \t]+)?")


def replace_value(
    config: Config,
    schema: Schema,
    profile: str,
    variable: Variable,
    generate: Generate = new_secret,
) -> list[str]:
    """Give `variable` a fresh value in the profile's file; return the keys that refer to it."""
    path = env_path(config, profile)
    name = shown(config, path)
    data, env = load_for_change(
        config, schema, profile, then=f"rotate again (`invoke env.check --profile {profile}`)"
    )
    entry = env.final().get(variable.name)
    if entry is None:
        raise DockyardError(
            f"{name}: {variable.name} is not set, so there is nothing to rotate",
            hint=f"run `invoke env.init --profile {profile}` to add it with a generated value",
        )
    old = entry.value
    value = generate(variable)
    while value == old:
        value = generate(variable)
    lines = data.decode("utf-8").splitlines(keepends=True)
    first, last = lines[entry.line - 1], lines[entry.end_line - 1]
    prefix = _PREFIX.match(first)
    ending = last[len(last.rstrip("\r\n")) :]
    lines[entry.line - 1 : entry.end_line] = [
        f"{prefix[0] if prefix else ''}{variable.name}={format_value(value)}{ending}"
    ]
    atomic_write(config, path, "".join(lines), mode=file_mode(path))
    return [
        e.key for e in env.final().values() if any(r.name == variable.name for r in e.references)
    ]
