"""The checks before a release writes anything, every problem reported at once (goreleaser's
refusals: a dirty tree, the wrong branch, a remote that moved on, a HEAD already released)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Facts:
    """What preflight judges, read from the repository, the remote and the instance files."""

    dirty: Sequence[str]
    branch: str | None  # None: a detached HEAD
    release_branch: str
    remote: str
    remote_has_branch: bool
    behind: int | None  # None: the remote has commits this clone has never seen
    head_tag: str | None  # the release tag already on HEAD
    instance_problems: Sequence[str] = field(default_factory=tuple)
    registry_problem: str | None = None
    # A new release's tag must be new: neither here on another commit nor on the remote (where
    # someone published it, image and all).
    tag: str = ""
    tag_here: bool = False
    tag_on_remote: bool = False


def problems(facts: Facts) -> list[str]:
    """Every reason the release cannot start, each saying what to do."""
    found: list[str] = []
    if facts.dirty:
        shown = ", ".join(line[3:] for line in facts.dirty[:5])
        more = f" and {len(facts.dirty) - 5} more" if len(facts.dirty) > 5 else ""
        found.append(f"the work tree has uncommitted changes ({shown}{more}): commit or stash them")
    if facts.branch is None:
        found.append(f"HEAD is detached: `git switch {facts.release_branch}`")
    elif facts.branch != facts.release_branch:
        found.append(
            f"on branch {facts.branch!r}, releases are made from {facts.release_branch!r}: "
            f"`git switch {facts.release_branch}`"
        )
    target = f"{facts.remote}/{facts.release_branch}"
    if not facts.remote_has_branch:
        found.append(f"{target} does not exist: push {facts.release_branch} first")
    elif facts.behind is None:
        found.append(
            f"{target} has commits this clone has not seen: "
            f"`git pull --rebase {facts.remote} {facts.release_branch}`"
        )
    elif facts.behind:
        found.append(
            f"{facts.behind} commit{'s' if facts.behind != 1 else ''} behind {target}: "
            f"`git pull --rebase {facts.remote} {facts.release_branch}`"
        )
    if facts.head_tag is not None:
        found.append(
            f"HEAD is already released as {facts.head_tag}: "
            "`invoke release.status` shows what is left of it"
        )
    if facts.tag_on_remote:
        found.append(
            f"{facts.tag} is already on {facts.remote}: someone published this version; "
            f"`git fetch --tags {facts.remote}`, then `invoke release.status`"
        )
    elif facts.tag_here:
        found.append(
            f"{facts.tag} already exists here on another commit: "
            f"`git tag -d {facts.tag}` if it was never published, then run it again"
        )
    found.extend(f"instance files: {problem}" for problem in facts.instance_problems)
    if facts.registry_problem:
        found.append(f"registry: {facts.registry_problem}")
    return found
