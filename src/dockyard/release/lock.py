"""One release at a time per repository: the deploy lock's files, under `<state_dir>/release/`.

The lock names its holder (what it runs, who, pid, host, since when); a second `invoke release`
is refused with that description, and a lock left by a process that is gone (SIGKILL, a crash,
a reboot) is cleared as stale, as the deploy lock does.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from dockyard.core.config import Config
from dockyard.core.errors import DockyardError
from dockyard.deploy import lock

NAME = "release"


class ReleaseLockedError(DockyardError):
    """Another release of this repository is running."""


def directory(config: Config) -> Path:
    return config.path(config.deploy.state_dir) / NAME


def holder_of(config: Config) -> lock.Holder | None:
    """Who holds the release lock now (None: nobody)."""
    return lock.read(directory(config), NAME)


@contextmanager
def held(config: Config, command: str, environ: Mapping[str, str]) -> Iterator[lock.Acquired]:
    """Hold the repository's release lock for the body of a `with`; ReleaseLockedError, naming
    the holder, when another release holds it."""
    user = environ.get("USER") or getpass.getuser()
    holder = lock.current_holder(NAME, command, user=user)
    place = directory(config)
    try:
        acquired = lock.acquire(place, holder)
    except lock.LockHeldError as error:
        found = error.holder
        who = found.describe(dt.datetime.now(dt.UTC)) if found else error.message
        raise ReleaseLockedError(
            f"another release is running: {who} ({error.path})",
            hint="wait for it to finish; if that process is gone, run `invoke release` again "
            "(a lock whose process is gone is cleared)",
        ) from None
    try:
        yield acquired
    finally:
        lock.release(place, acquired.holder)
