"""Name a CI failure from its log: the first rule that matches, its lines, its details, its fix.

Each rule's patterns run once over the whole text (the regular-expression engine does the
scanning), so a 10 MB log costs a few passes at C speed rather than a Python loop per line.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from dockyard.ci.normalise import Log, group_at, shown
from dockyard.ci.rules import ERROR_LOOKING, EXIT_CODE, NOX_SESSION, RULES, Rule, Search

UNKNOWN = "unknown"
# At most this many lines of the log are shown with a verdict.
MAX_SHOWN = 20
# At most this many matches of one pattern are kept (the last ones).
MAX_MATCHES = 200


@dataclass(frozen=True)
class Verdict:
    """What failed, the lines that show it, and what to do."""

    category: str
    title: str
    lines: list[str]
    fix: str
    details: dict[str, str] = field(default_factory=dict)
    also: list[str] = field(default_factory=list)
    session: str | None = None
    step: str | None = None
    exit_code: int | None = None
    skipped_bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "title": self.title,
            "details": self.details,
            "lines": self.lines,
            "fix": self.fix,
            "also": self.also,
            "nox_session": self.session,
            "step": self.step,
            "exit_code": self.exit_code,
            "skipped_bytes": self.skipped_bytes,
        }


class _Index:
    """The log's text after a leading newline (see `Search`), and the line at an offset."""

    def __init__(self, text: str) -> None:
        self.text = "\n" + text
        self.starts = [match.end() for match in re.finditer("\n", self.text)]

    def line_of(self, offset: int) -> int:
        return bisect_right(self.starts, offset) - 1

    def lines_matching(self, searches: tuple[Search, ...]) -> list[int]:
        """The lines any of `searches` matches (the last MAX_MATCHES of each), in order."""
        found: set[int] = set()
        for search in searches:
            last: deque[int] = deque(maxlen=MAX_MATCHES)
            for match in search.pattern.finditer(self.text):
                last.append(match.start() + search.anchored)
            found.update(self.line_of(offset) for offset in last)
        return sorted(found)


def classify(log: Log) -> Verdict:
    """The verdict on one log; `unknown`, with its error-looking lines, when no rule matches."""
    index = _Index(log.text)
    hits = {rule.category: index.lines_matching(rule.compiled) for rule in RULES}
    matched = [rule for rule in RULES if hits[rule.category]]
    session = _last_group(NOX_SESSION, index.text)
    exit_code = _last_group(EXIT_CODE, index.text)
    common: dict[str, Any] = {
        "session": session,
        "exit_code": int(exit_code) if exit_code else None,
        "skipped_bytes": log.skipped_bytes,
    }
    if not matched:
        return Verdict(
            UNKNOWN,
            "no known failure found" if log.lines else "the log is empty",
            _error_looking(log.lines),
            "Read the lines above (and the step's whole log); when this failure comes back, teach "
            "ci.doctor a rule for it in src/dockyard/ci/rules.py.",
            **common,
        )
    rule = matched[0]
    triggers = hits[rule.category]
    return Verdict(
        rule.category,
        rule.title,
        _relevant(rule, triggers, index, log.lines),
        rule.fix,
        details=_details(rule, index.text),
        also=[other.category for other in matched[1:]],
        step=group_at(log.lines, triggers[0]),
        **common,
    )


def _relevant(rule: Rule, triggers: list[int], index: _Index, lines: list[str]) -> list[str]:
    chosen = set(triggers)
    chosen.update(index.lines_matching(rule.compiled_shown))
    for line in list(chosen):
        chosen.update(range(line + 1, min(line + 1 + rule.after, len(lines))))
    picked = sorted(number for number in chosen if lines[number].strip())[-MAX_SHOWN:]
    return [shown(lines[number]) for number in picked]


def _details(rule: Rule, text: str) -> dict[str, str]:
    details: dict[str, str] = {}
    for pattern in rule.details:
        found = re.search(pattern, text, re.MULTILINE)
        if found:
            for name, value in found.groupdict().items():
                if value is not None and name not in details:
                    details[name] = shown(value.strip())
    return details


def _last_group(pattern: re.Pattern[str], text: str, within: int = 1 << 20) -> str | None:
    """The first group of the last match in the text's last `within` characters (where a
    session or step says how it ended)."""
    last = None
    for last in pattern.finditer(text, max(0, len(text) - within)):  # noqa: B007 - the last one
        pass
    return last.group(1) if last else None


def _error_looking(lines: list[str], count: int = 10, within: int = 5000) -> list[str]:
    """The last lines (of the last `within`) that look like an error; else the last lines."""
    picked: deque[str] = deque(maxlen=count)
    tail: deque[str] = deque(maxlen=count)
    for line in lines[-within:]:
        if line.strip():
            tail.append(line)
            if ERROR_LOOKING.search(line):
                picked.append(line)
    return [shown(line) for line in (picked or tail)]
