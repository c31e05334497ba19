"""The promotion diff between two profiles' env files: what is missing, extra or different.

Secrets, values built from secrets and URLs carrying passwords are compared but
never shown: only whether they are the same or differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from enum import StrEnum

from dockyard.env.mask import shown_value


class Change(StrEnum):
    ONLY_A = "only_in_a"
    ONLY_B = "only_in_b"
    DIFFERS = "differs"
    SAME = "same"


@dataclass(frozen=True)
class KeyDiff:
    key: str
    change: Change
    secret: bool
    a: str | None = None  # shown values: None for secrets
    b: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "change": self.change.value,
            "secret": self.secret,
            "a": self.a,
            "b": self.b,
        }


def diff_values(a: Mapping[str, str], b: Mapping[str, str], sensitive: Set[str]) -> list[KeyDiff]:
    """Every key of either side, in A's order then B's, with what changed between them."""
    result: list[KeyDiff] = []
    for key in [*a, *(k for k in b if k not in a)]:
        secret = key in sensitive
        if key not in b:
            change = Change.ONLY_A
        elif key not in a:
            change = Change.ONLY_B
        else:
            change = Change.SAME if a[key] == b[key] else Change.DIFFERS
        result.append(
            KeyDiff(
                key,
                change,
                secret,
                None if secret or key not in a else shown_value(a[key], secret=False),
                None if secret or key not in b else shown_value(b[key], secret=False),
            )
        )
    return result
