"""The changelog: one section per release, newest first, grouped by type with breaking changes
first, each entry linked to its commit when the remote is a known forge (GitHub, GitLab).

A new section goes above the newest one; everything else in the file stays byte for byte.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from dockyard.release.commits import Commit, clean

HEADER = (
    "# Changelog\n\n"
    "Every release of the service, newest first; written by `invoke release` from the commit "
    "messages.\n"
)
# (group title, the commit types it holds), in the order the section shows them
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Features", ("feat",)),
    ("Fixes", ("fix",)),
    ("Performance", ("perf",)),
    ("Reverts", ("revert",)),
    ("Refactoring", ("refactor",)),
    ("Documentation", ("docs",)),
)
_FORGES = ("github.com", "gitlab.com")
# git@host:owner/repo(.git), ssh://git@host(:port)/owner/repo(.git), https://host/owner/repo(.git)
_SCP = re.compile(r"^(?:[\w.+-]+@)?(?P<host>[\w.-]+):(?P<path>[^/][^:]*?)(?:\.git)?/?$")
_URL = re.compile(
    r"^(?:https?|ssh|git)://(?:[^@/]+@)?(?P<host>[\w.-]+)(?::\d+)?/(?P<path>.+?)(?:\.git)?/?$"
)
_SECTION = re.compile(r"^## ", re.MULTILINE)


def forge_url(remote_url: str) -> str | None:
    """The web address of a GitHub or GitLab repository from any form of its remote URL."""
    url = remote_url.strip()
    match = _URL.match(url) or (None if "://" in url else _SCP.match(url))
    if match is None or match["host"].lower() not in _FORGES:
        return None
    path = match["path"].strip("/")
    if path.count("/") < 1 or not re.fullmatch(r"[\w.-]+(/[\w.-]+)+", path):
        return None
    return f"https://{match['host'].lower()}/{path}"


def commit_url(forge: str, sha: str) -> str:
    separator = "/-/commit/" if forge.startswith("https://gitlab.com/") else "/commit/"
    return f"{forge}{separator}{sha}"


def compare_url(forge: str, older: str, newer: str) -> str:
    separator = "/-/compare/" if forge.startswith("https://gitlab.com/") else "/compare/"
    return f"{forge}{separator}{older}...{newer}"


def section(
    version: str,
    date: dt.date,
    commits: Sequence[Commit],
    *,
    forge: str | None = None,
    previous_tag: str | None = None,
    tag: str | None = None,
) -> str:
    """The Markdown section of one release, ending with a blank line."""
    title = version
    if forge and previous_tag and tag:
        title = f"[{version}]({compare_url(forge, previous_tag, tag)})"
    lines = [f"## {title} - {date.isoformat()}", ""]
    breaking = [
        (commit, note)
        for commit in commits
        if commit.breaking
        for note in (commit.breaking_notes or (commit.description,))
    ]
    if breaking:
        lines += ["### Breaking changes", ""]
        lines += [_entry(commit, forge, note) for commit, note in breaking]
        lines.append("")
    for title_, types in GROUPS:
        entries = [_entry(commit, forge) for commit in commits if commit.type in types]
        if entries:
            lines += [f"### {title_}", "", *entries, ""]
    if len(lines) == 2:
        lines += ["No user-facing changes.", ""]
    return "\n".join(lines) + "\n"


def _entry(commit: Commit, forge: str | None, text: str | None = None) -> str:
    words = _escape(clean(text if text is not None else commit.description))
    scope = f"**{_escape(clean(commit.scope))}:** " if commit.scope else ""
    link = ""
    if commit.sha:
        link = (
            f" ([{commit.short}]({commit_url(forge, commit.sha)}))"
            if forge
            else f" ({commit.short})"
        )
    return f"- {scope}{words}{link}"


def _escape(text: str) -> str:
    """Text that Markdown shows as written: no raw HTML, no accidental heading or link."""
    return re.sub(r"([\\`*_<>\[\]])", r"\\\1", text.strip())


def has_section(text: str, version: str) -> bool:
    """Whether the changelog already has a section for `version`."""
    pattern = rf"^## \[?{re.escape(version)}\]?(?:\(|\s|$)"
    return re.search(pattern, text, re.MULTILINE) is not None


def insert(existing: str | None, new_section: str) -> str:
    """The changelog with `new_section` above the newest release; created with a header when
    there is none. The text before and after the insertion point is kept as it was."""
    if existing is None or not existing.strip():
        return f"{HEADER}\n{new_section}"
    found = _SECTION.search(existing)
    if found is not None:
        return existing[: found.start()] + new_section + "\n" + existing[found.start() :]
    glue = "" if existing.endswith("\n\n") else "\n" if existing.endswith("\n") else "\n\n"
    return existing + glue + new_section
