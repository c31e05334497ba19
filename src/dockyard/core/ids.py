"""The one rule for the ids dockyard puts into file names, compose project names, command lines
and SQL: instance ids, and the names of the files kept for each instance (locks, monitors).

Every command validates an id with `validate_id` before it builds a path or a command from it;
`is_valid_id` is the same rule for code that only filters (a directory listing).
"""

from __future__ import annotations

import re

from dockyard.core.errors import DockyardError, ExitCode

ID_RULE = (
    "1-30 characters: lowercase ASCII letters, digits and '-', starting with a letter, "
    "without '--' or a trailing '-' (e.g. 'staging', 'customer-42')"
)

_ID = re.compile(r"[a-z][a-z0-9-]{0,29}", re.ASCII)


class InvalidInstanceIdError(DockyardError):
    """A value given as an instance id is not a safe, well-formed id."""

    exit_code = ExitCode.CONFIG


def is_valid_id(value: str) -> bool:
    """True for a short lowercase slug that is safe in paths, commands and project names."""
    return bool(_ID.fullmatch(value)) and not value.endswith("-") and "--" not in value


def validate_id(value: str, *, source: str = "instance id") -> str:
    """`value` when it is a valid instance id; otherwise an error showing it with repr()."""
    if not is_valid_id(value):
        raise InvalidInstanceIdError(
            f"{source}: {quoted(value)} is not a valid instance id",
            hint=f"an instance id is {ID_RULE}",
        )
    return value


def quoted(value: object, limit: int = 60) -> str:
    """`value` as repr() shows it, so control and shell characters are visible; long ones cut."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    return repr(value)
