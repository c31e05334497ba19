"""Expanding `${NAME}` references the way python-dotenv and Compose both do, and saying when not.

A reference must name a variable set earlier in the file or known without it (a
schema default), or carry its own `:-default`; a variable may not refer to itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from dockyard.env.parser import REFERENCE, Entry, EnvFile, Problem


@dataclass(frozen=True)
class Resolved:
    """Effective values, `${...}` expanded; `unresolved` keys had a reference problem."""

    values: dict[str, str]
    unresolved: frozenset[str]
    problems: tuple[Problem, ...]


def resolve(env: EnvFile, fallback: Mapping[str, str]) -> Resolved:
    """Expand references in file order; `fallback` holds values known without the file."""
    first_lines = {entry.key: entry.line for entry in reversed(env.entries)}
    values: dict[str, str] = {}
    unresolved: set[str] = set()
    problems: list[Problem] = []
    for entry in env.entries:
        expanded, failed = _expand(
            entry,
            values=values,
            fallback=fallback,
            first_lines=first_lines,
            path=env.path,
            problems=problems,
        )
        values[entry.key] = expanded
        if failed:
            unresolved.add(entry.key)
        else:
            unresolved.discard(entry.key)
    return Resolved(values, frozenset(unresolved), tuple(problems))


def _expand(
    entry: Entry,
    *,
    values: Mapping[str, str],
    fallback: Mapping[str, str],
    first_lines: Mapping[str, int],
    path: str,
    problems: list[Problem],
) -> tuple[str, bool]:
    failed = False
    for ref in entry.references:
        message = None
        if ref.name == entry.key:
            message = f"{entry.key} refers to itself (${{{ref.name}}}): write its value out"
        elif ref.name not in values and first_lines.get(ref.name, 0) > entry.line:
            message = (
                f"{entry.key} refers to ${{{ref.name}}}, which is set only later, on line "
                f"{first_lines[ref.name]}: move that line above line {entry.line}"
            )
        elif ref.name not in values and ref.name not in fallback and ref.default is None:
            message = (
                f"{entry.key} refers to ${{{ref.name}}}, which is not set in this file and has "
                f"no default in the schema: set {ref.name} above this line, or write "
                f"${{{ref.name}:-default}}"
            )
        if message:
            failed = True
            problems.append(Problem(path, entry.line, message, entry.key, entry.shown, ref.column))
    if entry.quote == "'" or failed:
        return entry.value, failed

    def substitute(match: re.Match[str]) -> str:
        name = match["name"]
        found = values.get(name)
        if found is None:
            found = fallback.get(name)
        if not found and match["default"] is not None:
            return match["default"]
        return found or ""

    return REFERENCE.sub(substitute, entry.value), False
