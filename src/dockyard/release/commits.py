"""Commit messages read as Conventional Commits 1.0: type, scope, `!`, breaking-change footers,
merges and reverts.

A message that does not follow the convention is returned as such (`kind == "other"`), never
an exception, whatever its bytes: the release lists it, and it counts for nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["conventional", "merge", "revert", "other"]

# `type(scope)!: description`; types and scopes are not case sensitive (spec, item 15).
_HEADER = re.compile(
    r"^(?P<type>[A-Za-z][A-Za-z0-9_-]*)(?:\((?P<scope>[^()\r\n]*)\))?(?P<bang>!)?:[ \t]+"
    r"(?P<description>\S.*)$"
)
# `BREAKING CHANGE: text` or `BREAKING-CHANGE: text`, upper case only (spec, items 12 and 16).
_BREAKING = re.compile(r"^BREAKING[ -]CHANGE:[ \t]*(?P<note>.*)$")
# git's own revert: `Revert "<header>"` with "This reverts commit <sha>." in the body.
_GIT_REVERT = re.compile(r'^Revert "(?P<header>.*)"$')
_REVERTS_SHA = re.compile(r"This reverts commit (?P<sha>[0-9a-f]{7,64})", re.IGNORECASE)
_REFS = re.compile(r"^Refs?:[ \t]*(?P<sha>[0-9a-f]{7,64})\b", re.IGNORECASE | re.MULTILINE)
_MERGE = re.compile(r"^Merge (branch|pull request|remote-tracking branch|tag|commit) ")
# Control characters other than tab and newline: shown as U+FFFD, never written raw.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Commit:
    """One commit as a release sees it."""

    sha: str
    kind: Kind
    header: str  # the first line, cleaned of control characters
    type: str = ""  # lower case; "" unless conventional (or a `revert:` commit)
    scope: str = ""
    description: str = ""  # the header after `type(scope)!: `, or the whole header
    breaking: bool = False
    breaking_notes: tuple[str, ...] = ()  # the text of each BREAKING CHANGE footer
    reverts: str = ""  # the sha, or else the header, of the commit this one reverts

    @property
    def short(self) -> str:
        return self.sha[:7]


def clean(text: str) -> str:
    """Text safe to print and to write into Markdown: no control characters."""
    return _CONTROL.sub("\ufffd", text)


def decode(message: str | bytes) -> str:
    """A message as text: bytes that are not UTF-8 become U+FFFD."""
    if isinstance(message, bytes):
        return message.decode("utf-8", errors="replace")
    return message


def parse(message: str | bytes, sha: str = "", *, parents: int = 1) -> Commit:
    """Read one commit message; `parents` above 1 makes it a merge whatever it says."""
    text = decode(message).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.strip("\n").split("\n") if text.strip() else [""]
    header = clean(lines[0].strip())
    body = "\n".join(lines[1:])
    if parents > 1 or _MERGE.match(header):
        return Commit(sha, "merge", header, description=header)
    git_revert = _GIT_REVERT.match(header)
    if git_revert:
        return Commit(
            sha, "revert", header, type="revert",
            description=git_revert["header"], reverts=_reverted(body) or git_revert["header"],
        )  # fmt: skip
    match = _HEADER.match(header)
    if match is None:
        return Commit(sha, "other", header, description=header)
    kind = match["type"].lower()
    notes = tuple(
        clean(found["note"].strip()) or clean(match["description"].strip())
        for found in map(_BREAKING.match, _footer_lines(body))
        if found
    )
    commit = Commit(
        sha,
        "conventional",
        header,
        type=kind,
        scope=(match["scope"] or "").strip(),
        description=match["description"].strip(),
        breaking=bool(match["bang"]) or bool(notes),
        breaking_notes=notes,
    )
    if kind == "revert":
        return Commit(
            sha, "revert", header, type="revert", scope=commit.scope,
            description=commit.description,
            reverts=_reverted(body) or commit.description,
            breaking=commit.breaking, breaking_notes=notes,
        )  # fmt: skip
    return commit


def _footer_lines(body: str) -> list[str]:
    """The lines of the body that may hold a footer: any line after the header's blank line.

    The spec puts footers in the last paragraph; tools (and people) also put a BREAKING CHANGE
    footer before a Signed-off-by paragraph, so every line is read, stripped of nothing but its
    line end: an indented line is a continuation, not a footer.
    """
    return body.split("\n")


def _reverted(body: str) -> str:
    found = _REVERTS_SHA.search(body) or _REFS.search(body)
    return found["sha"].lower() if found else ""
