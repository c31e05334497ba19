"""The rules of the git hooks and of `invoke git.push`, as data in and data out.

- what git's pre-push hook reads on its standard input, and which of those updates the branch
  rule refuses;
- when a `reference-transaction` update means that a push of the main branch has succeeded;
- what `git push --porcelain` said: pushed, behind the remote (fetch, rebase, retry), or refused
  for another reason (never retried).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

HEADS = "refs/heads/"
TAGS = "refs/tags/"
DELETE = "(delete)"


def is_zero(sha: str) -> bool:
    """True for git's all-zero object name: no object (a ref created or deleted)."""
    return bool(sha) and set(sha) == {"0"}


@dataclass(frozen=True)
class Update:
    """One line of the pre-push hook's input:
    `<local ref> <local sha> <remote ref> <remote sha>`."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str

    @property
    def deletes(self) -> bool:
        return is_zero(self.local_sha)

    @property
    def branch(self) -> str | None:
        """The remote branch the update writes, or None for a tag or another kind of ref."""
        return self.remote_ref.removeprefix(HEADS) if self.remote_ref.startswith(HEADS) else None


def parse_updates(text: str) -> list[Update]:
    """The updates a pre-push hook reads; a line that is not four fields is a ValueError."""
    updates = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 4:
            raise ValueError(f"pre-push input line {number}: expected 4 fields, got {line!r}")
        updates.append(Update(*fields))
    return updates


def example_branch(name: str) -> str:
    """A name like `name` that the default pattern accepts, for the refusal's hint."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.rsplit("/", 1)[-1].lower()).strip("-._")
    return f"feat/{slug or 'short-description'}"


def branch_problem(name: str, main: str, pattern: str) -> str | None:
    """Why a push to branch `name` is refused, or None when the name is allowed."""
    if name == main or re.search(pattern, name):
        return None
    return (
        f"branch {name!r} does not match the branch pattern {pattern} "
        f"(e.g. {example_branch(name)!r}); rename it with `git branch -m {example_branch(name)}`"
    )


@dataclass(frozen=True)
class PushCheck:
    """What the pre-push hook decided: refusals block the push, warnings never do."""

    refusals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    main_sha: str | None = None  # the commit a push of the main branch sends


def check_updates(updates: list[Update], main: str, pattern: str) -> PushCheck:
    """Apply the branch rule to each update: the main branch and tags go; a deleted branch goes,
    unless it is the main one; any other branch must match `pattern`."""
    refusals: list[str] = []
    main_sha = None
    for update in updates:
        name = update.branch
        if name is None:
            continue  # a tag, a note: not a branch, no naming rule
        if update.deletes:
            if name == main:
                refusals.append(f"deleting the main branch {main!r} is refused")
            continue
        if name == main:
            main_sha = update.local_sha
        problem = branch_problem(name, main, pattern)
        if problem is not None:
            refusals.append(problem)
    return PushCheck(refusals=refusals, main_sha=main_sha)


def behind_warning(main: str, tracking: str, count: int) -> str | None:
    """The warning when the local main branch lacks `count` commits of its tracking branch."""
    if count <= 0:
        return None
    commits = "commit" if count == 1 else "commits"
    return (
        f"your {main} is {count} {commits} behind {tracking}; "
        f"run `git switch {main} && git pull --rebase` soon"
    )


def main_moved(lines: str, remote: str, main: str, sha: str) -> bool:
    """True when a reference-transaction's input moves `refs/remotes/<remote>/<main>` to `sha`:
    the sign that a push of main has reached the remote."""
    tracking = f"refs/remotes/{remote}/{main}"
    for line in lines.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2] == tracking and fields[1] == sha:
            return True
    return False


# --- what `git push --porcelain` said --------------------------------------------------------

PushResult = Literal["pushed", "behind", "refused"]
_BEHIND = ("(fetch first)", "(non-fast-forward)")
_LOST_RACE = "[remote rejected] (failed to update ref)"


@dataclass(frozen=True)
class PushAnswer:
    """The outcome of one push, and git's own words for it."""

    result: PushResult
    summary: str
    message: str = ""


def read_push(returncode: int, stdout: str, stderr: str, ref: str) -> PushAnswer:
    """Classify a `git push --porcelain` of `ref`: only a push behind the remote is retried."""
    status = None
    for line in stdout.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[1].endswith(f":{ref}"):
            status = fields
    message = "\n".join(
        line for line in (stderr.strip().splitlines() + stdout.strip().splitlines())
        if line.strip() and line != "Done" and not line.startswith("To ")
    )  # fmt: skip
    if returncode == 0 and status is not None and status[0] != "!":
        return PushAnswer("pushed", status[2].strip())
    if status is not None and status[0] == "!":
        summary = status[2].strip()
        if summary.startswith("[rejected]") and summary.endswith(_BEHIND):
            return PushAnswer("behind", summary, message)
        if summary == _LOST_RACE and "cannot lock ref" in message:
            return PushAnswer("behind", summary, message)  # another push won the same instant
        return PushAnswer("refused", summary, message)
    return PushAnswer("refused", "no ref was pushed", message or f"git push exited {returncode}")
