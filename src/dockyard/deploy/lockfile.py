"""The deploy lock's files on disk: a lock file changed only under its guard, and made durable.

Every change to the lock file `<instance>.lock` happens under an exclusive `flock` of
`<instance>.lock.guard` (readers take it shared), so processes racing for a free or stale lock
cannot both win and a reader never sees a lock file half-written. The guard files stay in
place: removing one while a process waits on it would let two processes hold "the" guard at
once. What a lock file says, and when it may be cleared, is `dockyard.deploy.lock`'s business.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dockyard.core.errors import DockyardError
from dockyard.core.files import sync_directory

LOCK_MODE = 0o644
DIRECTORY_MODE = 0o755
GUARD_TIMEOUT_SECONDS = 10.0
MAX_LOCK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Found:
    """A lock file's content (at most MAX_LOCK_BYTES + 1 bytes of it) and its age."""

    data: bytes
    age_seconds: float


def make_directory(directory: Path) -> None:
    """Create the lock directory (0755) if needed; a file in its place is an error."""
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.mkdir(mode=DIRECTORY_MODE)
        directory.chmod(DIRECTORY_MODE)
    except FileExistsError:
        if not directory.is_dir():
            raise DockyardError(
                f"{directory}: is not a directory, so no deploy lock can be kept there",
                hint="move that file out of the way",
            ) from None
    except OSError as error:
        raise DockyardError(
            f"{directory}: cannot create the lock directory: {error.strerror}",
            hint=f"check that {directory.parent} is a writable directory",
        ) from None


@contextlib.contextmanager
def guard(path: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the flock that serialises every change to the lock at `path`."""
    guard_path = path.with_name(f"{path.name}.guard")
    try:
        descriptor = os.open(guard_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, LOCK_MODE)
    except OSError as error:
        raise DockyardError(
            f"{guard_path}: cannot open: {error.strerror}",
            hint=f"check that {path.parent} is writable by you",
        ) from None
    try:
        _flock(descriptor, guard_path, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(descriptor)  # releases the flock


def _flock(descriptor: int, guard_path: Path, operation: int) -> None:
    deadline = time.monotonic() + GUARD_TIMEOUT_SECONDS
    while True:
        try:
            fcntl.flock(descriptor, operation | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise DockyardError(
                    f"{guard_path}: still locked by another process after "
                    f"{GUARD_TIMEOUT_SECONDS:.0f}s",
                    hint="a dockyard process is stuck changing this lock; find it with "
                    f"`fuser {guard_path}` and stop it, then run the command again",
                ) from None
            time.sleep(0.005)
        else:
            return


def read(path: Path) -> Found | None:
    """The lock file at `path` as found (the guard is held), None when there is none."""
    try:
        with path.open("rb") as handle:
            age = time.time() - os.fstat(handle.fileno()).st_mtime
            data = handle.read(MAX_LOCK_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise DockyardError(
            f"{path}: cannot read the deploy lock: {error.strerror}",
            hint="make the lock file readable to you, or remove it if no deploy is running",
        ) from None
    return Found(data, age)


def create(path: Path, content: bytes) -> None:
    """Write a new lock file; it must not exist (the guard is held)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, LOCK_MODE)
    except FileExistsError:
        raise DockyardError(
            f"{path}: was created meanwhile by a process that does not take {path.name}.guard",
            hint="make sure every deploy of this instance runs through dockyard, then retry",
        ) from None
    except OSError as error:
        raise DockyardError(
            f"{path}: cannot create the deploy lock: {error.strerror}",
            hint=f"check that {path.parent} is writable by you",
        ) from None
    try:
        os.fchmod(descriptor, LOCK_MODE)
        view = memoryview(content)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)
    except OSError as error:
        os.close(descriptor)
        path.unlink(missing_ok=True)
        raise DockyardError(
            f"{path}: cannot write the deploy lock: {error.strerror}",
            hint=f"check the free space and permissions of {path.parent}",
        ) from None
    os.close(descriptor)
    sync_directory(path.parent)


def remove(path: Path) -> None:
    """Remove the lock file (the guard is held), durably."""
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        raise DockyardError(
            f"{path}: cannot remove the deploy lock: {error.strerror}",
            hint=f"check that {path.parent} is writable by you",
        ) from None
    sync_directory(path.parent)
