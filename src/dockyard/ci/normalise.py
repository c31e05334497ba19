"""A CI log as plain lines: bytes decoded, colours, runner timestamps and control bytes removed.

GitHub Actions prefixes every line of a step's log with an ISO-8601 UTC timestamp, wraps the
step's header in `##[group]` ... `##[endgroup]` and marks errors with `##[error]`. The markers
are kept as lines (the classifier reads the group a failure happened in); the timestamps, ANSI
colour codes, NUL and other control bytes go, so that the rules match what a person would read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A bound on what is read of one log: the head and the tail, where a failure shows.
HEAD_BYTES = 1 << 20
TAIL_BYTES = 4 << 20
# A line shown in a verdict is cut to this many characters.
MAX_LINE = 400

# Each starts with a literal character, so that searching a large log runs at C speed.
_TIMESTAMP = re.compile(r"\n\ufeff?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?")
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\))")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_GROUP = re.compile(r"^##\[group\](.*)$")


@dataclass(frozen=True)
class Log:
    """A log ready for the rules: its lines, and how many bytes of its middle were not read."""

    lines: list[str]
    skipped_bytes: int = 0

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def decode(data: bytes) -> str:
    """Text from any bytes: UTF-8 where it is, a replacement character where it is not."""
    return data.decode("utf-8", errors="replace")


def normalise(text: str, skipped_bytes: int = 0) -> Log:
    """Strip runner timestamps, colours and control bytes; split into lines (CR, CRLF or LF)."""
    text = _ANSI.sub("", text)
    text = "\n" + text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", _TIMESTAMP.sub("\n", text))[1:]
    return Log(text.split("\n") if text else [], skipped_bytes)


def from_bytes(head: bytes, tail: bytes = b"", skipped_bytes: int = 0) -> Log:
    """A log read as a head and a tail (the middle of a huge log is skipped)."""
    if not skipped_bytes:
        return normalise(decode(head + tail))
    marker = f"\n[... {skipped_bytes} bytes of the log not read ...]\n"
    # The tail's first line is cut in the middle: drop it rather than match half a line.
    _, _, rest = tail.partition(b"\n")
    return normalise(decode(head) + marker + decode(rest), skipped_bytes)


def group_at(lines: list[str], index: int) -> str | None:
    """The `##[group]` (a GitHub Actions step header) that line `index` falls under."""
    for position in range(min(index, len(lines) - 1), -1, -1):
        found = _GROUP.match(lines[position])
        if found:
            return found.group(1).strip() or None
    return None


def shown(line: str) -> str:
    """A line as a verdict shows it: without `##[error]`, cut when very long."""
    line = line.removeprefix("##[error]").rstrip()
    return line if len(line) <= MAX_LINE else line[:MAX_LINE] + " [...]"
