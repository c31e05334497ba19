"""How env lines and values are shown: secrets masked, credentials in URLs hidden, long text cut.

Everything dockyard prints about an env file goes through here, so a secret
value can reach a terminal, a log or a JSON report only by a bug in this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dockyard.core.secrets import looks_secret

MASK = "****"
MAX_SHOWN = 120

# The password part of a URL's credentials (between "user:" and "@host").
# Quantifiers are bounded so that a very long value costs linear time.
_URL_CREDENTIALS = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.-]{0,31}://[^:/@\s]{0,256}:)(?P<secret>[^@\s]+)@"
)
# The key of a line (after an optional `export`), up to `=` or `:`.
_LINE_KEY = re.compile(
    r"^(?P<head>\s*(?:export\s+)?(?P<key>[^=:]*?)\s*[=:])(?P<value>.*)$", re.DOTALL
)

Sensitive = Callable[[str], bool]


def redact_url_credentials(text: str) -> str:
    """Hide the password of every URL in `text` that carries credentials."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m['head']}{MASK}@", text)


def cut(text: str, limit: int = MAX_SHOWN) -> str:
    """`text` as it fits on one line: control characters escaped, long text cut with a count."""
    flat = text.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")
    if len(flat) <= limit:
        return flat
    return f"{flat[:limit]}... ({len(flat) - limit} more characters)"


def shown_line(text: str, sensitive: Sensitive) -> str:
    """An env file line as it may be printed: the value masked when its key is sensitive."""
    match = _LINE_KEY.match(text)
    if match and sensitive(match["key"]) and match["value"].strip():
        return cut(f"{match['head']}{MASK}")
    if match is None and looks_secret(text):
        return "(line hidden: it may hold a secret)"
    return cut(redact_url_credentials(text))


def shown_value(value: str, *, secret: bool) -> str:
    """A value as it may be printed, quoted."""
    if secret:
        return MASK
    return repr(cut(redact_url_credentials(value), 80))
