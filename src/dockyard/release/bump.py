"""The next version, from the commits since the last release (commitizen's bump map).

`feat` bumps the minor version, `fix` and `perf` the patch, a breaking change (`!` or a
BREAKING CHANGE footer) the major. While the version is 0.x a breaking change goes to 1.0.0,
unless `major_version_zero` is set: then it bumps the minor version, as commitizen's
BUMP_MAP_MAJOR_VERSION_ZERO has it (and, like commitizen, the setting is refused from 1.0 on).
A commit reverted within the range counts for nothing, and neither does its revert; a revert
of a released commit is a fix. `part` other than "auto" decides alone. Versions are PEP 440.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version

from dockyard.core.errors import ConfigError, DockyardError
from dockyard.release.commits import Commit

PARTS = ("patch", "minor", "major")
CHOICES = ("auto", *PARTS)
_RANK = {part: index for index, part in enumerate(PARTS)}
TYPE_PARTS = {"feat": "minor", "fix": "patch", "perf": "patch", "revert": "patch"}


class VersionError(DockyardError):
    """A version or a release tag that is not a PEP 440 version."""


@dataclass(frozen=True)
class Bump:
    """What the commits call for: the next version, or None when nothing is releasable."""

    current: str
    next: str | None
    part: str | None
    reason: str
    counted: tuple[Commit, ...] = ()  # the commits that decided, in the order given
    others: tuple[Commit, ...] = field(default=())  # not conventional: listed, never counted


def parse_version(text: str, source: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise VersionError(
            f"{source}: {text!r} is not a PEP 440 version",
            hint="use a version like 1.2.3 (https://peps.python.org/pep-0440/)",
        ) from None


def tag_name(tag_format: str, version: str) -> str:
    """The release tag of `version`: `v{version}` gives `v1.2.3`."""
    return tag_format.replace("{version}", version, 1)


def tag_version(tag_format: str, tag: str) -> Version | None:
    """The version a tag names under `tag_format`, or None when it is not a release tag."""
    before, _, after = tag_format.partition("{version}")
    pattern = re.escape(before) + r"(?P<version>.+)" + re.escape(after)
    match = re.fullmatch(pattern, tag)
    if match is None:
        return None
    try:
        return Version(match["version"])
    except InvalidVersion:
        return None


def part_of(commit: Commit, *, zero: bool, major_version_zero: bool) -> str | None:
    """The part one commit bumps, or None (merges, other types, messages not conventional)."""
    if commit.kind in ("merge", "other"):
        return None
    if commit.breaking:
        return "minor" if zero and major_version_zero else "major"
    return TYPE_PARTS.get(commit.type)


def effective(commits: Sequence[Commit]) -> list[Commit]:
    """The commits without those reverted within the range, and without their reverts."""
    cancelled: set[int] = set()
    for index, commit in enumerate(commits):
        if commit.kind != "revert" or not commit.reverts:
            continue
        for other, target in enumerate(commits):
            if other in cancelled or other == index:
                continue
            if (commit.reverts and target.sha.startswith(commit.reverts)) or (
                target.header == commit.reverts
            ):
                cancelled.update((index, other))
                break
    return [commit for index, commit in enumerate(commits) if index not in cancelled]


def next_version(
    current: str,
    commits: Sequence[Commit],
    *,
    part: str = "auto",
    major_version_zero: bool = False,
    source: str = "the current version",
) -> Bump:
    """The version after `current` given `commits` (newest first or not: order is kept)."""
    if part not in CHOICES:
        raise ConfigError("--part", [f"expected one of {', '.join(CHOICES)}, got {part!r}"])
    version = parse_version(current, source)
    zero = version.major == 0
    if major_version_zero and not zero:
        raise ConfigError(
            "[tool.dockyard.release] major_version_zero",
            [f"only applies while the version is 0.x; it is {version}"],
            hint="remove major_version_zero: from 1.0 on a breaking change bumps the major",
        )
    others = tuple(commit for commit in commits if commit.kind == "other")
    if part != "auto":
        return Bump(current, _bumped(version, part), part, f"--part {part}", others=others)
    counted: list[tuple[Commit, str]] = []
    for commit in effective(commits):
        found = part_of(commit, zero=zero, major_version_zero=major_version_zero)
        if found is not None:
            counted.append((commit, found))
    if not counted:
        return Bump(current, None, None, _nothing(commits), others=others)
    chosen = max((found for _, found in counted), key=_RANK.__getitem__)
    deciding = tuple(commit for commit, found in counted if found == chosen)
    reason = f"{len(deciding)} commit{'s' if len(deciding) != 1 else ''} for a {chosen} release"
    return Bump(
        current, _bumped(version, chosen), chosen, reason,
        tuple(commit for commit, _ in counted), others,
    )  # fmt: skip


def _nothing(commits: Sequence[Commit]) -> str:
    if not commits:
        return "no commits since the last release"
    kinds = sorted({commit.type or commit.kind for commit in commits})
    return (
        f"{len(commits)} commit{'s' if len(commits) != 1 else ''} "
        f"({', '.join(kinds)}) but no feat, fix, perf, revert or breaking change"
    )


def _bumped(version: Version, part: str) -> str:
    """The next `part` release after `version`; a pre-release of X.Y.Z that already is such a
    release becomes X.Y.Z itself (1.1.0rc1 + minor = 1.1.0)."""
    major, minor, patch = (*version.release, 0, 0)[:3]
    fresh = {"patch": True, "minor": patch == 0, "major": minor == patch == 0}
    if (version.is_prerelease or version.is_devrelease) and fresh[part]:
        return f"{major}.{minor}.{patch}"
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"
