"""Which variable names look like they hold a credential (PASSWORD, SECRET, TOKEN, KEY ...).

One list of words, read as wide as each place can afford: a name wrongly taken for a
secret costs nothing where values are only shown (the value is masked), but fails the
audit gate where a rule demands a secret be passed safely. Pure: no I/O.
"""

from __future__ import annotations

import re
from enum import Enum


class Where(Enum):
    """Where a variable's name is judged, which decides how wide the net is."""

    # Anything printed (env lines, values, diffs): every hint of a credential counts.
    OUTPUT = "output"
    # A compose service's environment (SEC-04): the credential words and any KEY
    # (SIGNING_KEY, ACCESS_KEY), each of which must come from `${VAR:?message}`.
    SERVICE = "service"
    # A Dockerfile's ARG and ENV (SEC-02): keys only as API_KEY and PRIVATE_KEY, because
    # other build-time KEYs are public material such as the GPG_KEY that verifies a download.
    BUILD = "build"


# Words that mark a credential wherever a name is judged.
_CREDENTIAL = ("PASSWORD", "SECRET", "TOKEN")
_WORDS = {
    Where.OUTPUT: (
        *_CREDENTIAL,
        *("PASSWD", "PWD", "PASSPHRASE", "KEY", "PRIVATE", "CREDENTIAL", "AUTH", "SALT"),
        *("COOKIE", "SESSION", "DSN"),
    ),
    Where.SERVICE: (*_CREDENTIAL, "KEY"),
    Where.BUILD: (*_CREDENTIAL, "API_KEY", "PRIVATE_KEY"),
}
_PATTERNS = {where: re.compile("|".join(words), re.IGNORECASE) for where, words in _WORDS.items()}


def looks_secret(name: str, where: Where = Where.OUTPUT) -> bool:
    """Whether a variable's name suggests it holds a credential, judged as `where` needs."""
    return _PATTERNS[where].search(name) is not None
