"""The release's local steps for real: the version and the changelog written, one release commit
and its annotated tag; on any failure or interrupt before publication, all of it undone.

Nothing here leaves the machine. Undoing puts back each file's bytes (or removes a file the
release created), the index entries of those files, the branch where it was, and removes the
tag: the repository is as it was before, except for git's own logs (reflog).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dockyard.core.config import Config
from dockyard.core.errors import DockyardError
from dockyard.core.files import replace_atomically
from dockyard.core.signals import TERMINATION, on_signals
from dockyard.git import repo
from dockyard.release import gitops
from dockyard.release.world import FileWrite, Survey

# Called with each local step's name before it runs (tests use it to fail at a step boundary).
StepHook = Callable[[str], None]


class ReleaseUndoneError(DockyardError):
    """A local step failed; everything the release wrote was undone."""


def prepare(config: Config, found: Survey, *, before_step: StepHook | None = None) -> str:
    """Write the files, commit them and tag the commit; the release commit's sha. A failure or
    a signal (SIGINT, SIGTERM, SIGHUP) on the way undoes every local step, then propagates."""
    if found.version is None or not found.tag:
        raise DockyardError("nothing to release", hint="`invoke release --dry-run` says why")
    root = config.root
    hook = before_step or (lambda _step: None)
    before = repo.head(root)
    restore_signals = on_signals(TERMINATION)
    written: list[FileWrite] = []
    try:
        hook("version")
        for change in found.files:
            if change.path != config.release.changelog:
                _write(root, change, written)
        hook("changelog")
        for change in found.files:
            if change.path == config.release.changelog:
                _write(root, change, written)
        hook("commit-tag")
        made = gitops.commit_and_tag(
            root, [change.path for change in found.files], found.writes.commit_message,
            found.tag, found.writes.tag_message,
        )  # fmt: skip
        hook("verify")
        _verify(root, found, made)
    except BaseException as error:
        undo(config, before, found, written)
        if isinstance(error, DockyardError):
            raise ReleaseUndoneError(
                f"{error.message}\nthe release was undone: no commit, no tag, the files as "
                "they were",
                hint=error.hint or "fix what is said above, then run `invoke release` again",
            ) from None
        raise
    finally:
        restore_signals()
    return made


def undo(config: Config, before: str, found: Survey, written: list[FileWrite]) -> None:
    """Put the repository back as it was at `before`: tag removed, branch moved back, each
    written file's bytes and index entry restored."""
    root = config.root
    head = repo.head(root)
    made = head if head != before else None
    gitops.undo(root, before, found.tag, made)
    for change in reversed(written):
        path = root / change.path
        if change.before is None:
            path.unlink(missing_ok=True)
        else:
            replace_atomically(path, change.before, mode=_mode(path))
    if written:
        gitops.unstage(root, before, [change.path for change in written])


def _write(root: Path, change: FileWrite, written: list[FileWrite]) -> None:
    path = root / change.path
    written.append(change)  # before the write: an interrupted write is undone too
    replace_atomically(path, change.after, mode=_mode(path))


def _mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o644


def _verify(root: Path, found: Survey, made: str) -> None:
    """Check again that the steps took: the tag names the commit, the tree is clean."""
    if gitops.local_tag(root, found.tag) != made:
        raise DockyardError(f"{found.tag} does not point to the release commit {made[:12]}")
    left = gitops.dirty_files(root)
    if left:
        raise DockyardError(f"the release commit left changes behind: {', '.join(left)}")
