""" "Did you mean ...?": the known name closest to one a user mistyped.

Used wherever a name is looked up and not found: configuration keys, instance file keys,
fields and variables of the env schema.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# difflib's own threshold: close enough for the keys of a configuration table.
CUTOFF = 0.6


def did_you_mean(
    name: str, known: Iterable[str], *, cutoff: float = CUTOFF, quote: bool = True
) -> str:
    """` (did you mean 'x'?)` for the known name closest to `name`, or "" when none is close.

    `cutoff` is how alike (0 to 1) a known name must be to be offered; `quote` shows it as
    repr() does, for keys of a table, or bare, for names written as they are (env variables).
    """
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=cutoff)
    if not close:
        return ""
    shown = repr(close[0]) if quote else close[0]
    return f" (did you mean {shown}?)"
