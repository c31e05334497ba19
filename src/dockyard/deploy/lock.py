"""One deploy at a time per instance: a lock file that names its holder and outlives no one.

The lock of instance `staging` is `<directory>/staging.lock`, a JSON description of the
process holding it (what it does, who started it, pid, host, since when). A second deploy is
refused with that description. A lock left behind by a process that died (SIGKILL, a crash,
a reboot) is recognised as stale and cleared, and the caller is told so it can report it.

Every change to a lock happens under the guard that `dockyard.deploy.lockfile` keeps, so
processes racing for a free or stale lock cannot both win and a reader never sees a lock
file half-written. On a signal the lock is released like on any other way out of `held`,
provided the program turned the signal into an exception (`dockyard.core.signals`), as the
deploy commands do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.core import process
from dockyard.core.errors import DockyardError, ExitCode
from dockyard.core.ids import is_valid_id
from dockyard.deploy import lockfile
from dockyard.deploy.lockfile import MAX_LOCK_BYTES

# A lock file that cannot be parsed may be one being written right now; only once it is
# older than this is it taken for the remains of a process that died mid-write.
UNREADABLE_GRACE_SECONDS = 5.0
_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Holder:
    """The process that holds (or held) an instance's lock, as the lock file records it."""

    instance: str
    action: str  # what it is doing, e.g. "deploy tugboat:1.4.0" or "rollback to 1.3.0"
    pid: int
    host: str
    user: str
    started: str  # UTC, e.g. 2026-11-23T10:00:00Z
    process_start: str  # the process's start time in clock ticks after boot; "" when unknown
    token: str  # unique to this holding, so a release never removes another one's lock

    def to_json(self) -> str:
        return json.dumps(
            {
                "instance": self.instance,
                "action": self.action,
                "pid": self.pid,
                "host": self.host,
                "user": self.user,
                "started": self.started,
                "process_start": self.process_start,
                "token": self.token,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Holder:
        """Parse a lock file's content; a ValueError says what is wrong with it."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise MalformedLockError("expected a JSON object")
        strings = ("instance", "action", "host", "user", "started", "process_start", "token")
        values = {name: _string(data, name) for name in strings}
        pid = data.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid < 2**31:
            raise MalformedLockError(f"'pid' must be a positive process id, got {pid!r}")
        return cls(pid=pid, **values)

    def describe(self, now: dt.datetime) -> str:
        """One line for people: what, who, where, since when and how long ago."""
        since = f"since {self.started}"
        started = _parse_timestamp(self.started)
        if started is not None:
            since += f" ({format_age((now - started).total_seconds())} ago)"
        return f"{self.action} by {self.user} (pid {self.pid} on {self.host}) {since}"


@dataclass(frozen=True)
class Acquired:
    """A lock just taken: its new holder, and the one it replaced (stale or forced) if any."""

    holder: Holder
    replaced: Holder | None = None
    # Why a previous lock was replaced: "stale: pid 123 on host-a is no longer running" or
    # "taken over with --force"; None when the lock was free.
    reason: str | None = None

    @property
    def note(self) -> str | None:
        """What happened to the previous lock, for the deploy's output and its history."""
        if self.reason is None:
            return None
        if self.replaced is None:
            return f"replaced an unreadable lock file ({self.reason})"
        replaced = self.replaced
        return f"replaced the lock of {replaced.action} (pid {replaced.pid}): {self.reason}"


@dataclass(frozen=True)
class Cleared:
    """A lock removed by `unlock`: whose it was (None when the file was unreadable), and why."""

    holder: Holder | None
    reason: str


class MalformedLockError(ValueError):
    """A lock file's content is not the description of a holder."""


class LockHeldError(DockyardError):
    """The instance's lock belongs to another process that is (or may be) still running."""

    exit_code = ExitCode.FAILED

    def __init__(
        self, instance: str, path: Path, holder: Holder | None, detail: str, *, hint: str
    ) -> None:
        self.instance = instance
        self.path = path
        self.holder = holder
        super().__init__(f"instance {instance!r} is locked: {detail} ({path})", hint=hint)


# ------------------------------------------------------------------- the decision ---


@dataclass(frozen=True)
class _Existing:
    """A lock file found in place: its holder, or why it could not be read, and its age."""

    path: Path
    holder: Holder | None
    problem: str
    age_seconds: float


def _stale_reason(existing: _Existing, alive: bool | None) -> str | None:
    """Why an existing lock may be cleared without asking, or None when it must be respected."""
    if existing.holder is None:
        if existing.age_seconds < UNREADABLE_GRACE_SECONDS:
            return None
        return (
            f"stale: {existing.path.name} is unreadable ({existing.problem}) "
            f"and {format_age(existing.age_seconds)} old"
        )
    if alive is False:
        holder = existing.holder
        return f"stale: pid {holder.pid} on {holder.host} is no longer running"
    return None


def _refusal(existing: _Existing, alive: bool | None, *, unlocking: bool) -> LockHeldError:
    """The error for a lock that is respected, with what the user can do about it."""
    holder = existing.holder
    instance = existing.path.name.removesuffix(".lock")
    unlock = f"invoke deploy.unlock --instance {instance}"
    if holder is None:
        detail = (
            f"the lock file is unreadable ({existing.problem}) but only "
            f"{format_age(existing.age_seconds)} old, so another process may be writing it"
        )
        hint = (
            f"run the command again in a few seconds; if the file stays unreadable, `{unlock}` "
            "removes it"
        )
        return LockHeldError(instance, existing.path, None, detail, hint=hint)
    detail = holder.describe(dt.datetime.now(dt.UTC))
    if alive is None:
        where = f"pid {holder.pid} runs on {holder.host}, where it cannot be checked from here"
        hint = f"{where}: if it is gone, run `{unlock} --force`" + (
            "" if unlocking else "; or add --force to take the lock over"
        )
    elif unlocking:
        hint = (
            f"pid {holder.pid} is still running: let it finish or stop it, "
            f"or run `{unlock} --force` to remove the lock anyway"
        )
    else:
        hint = (
            f"wait for it to finish; if that process is gone, run `{unlock}`; "
            "or add --force to take the lock over"
        )
    return LockHeldError(instance, existing.path, holder, detail, hint=hint)


# ------------------------------------------------------------------- public API ---


def lock_path(directory: Path, instance: str) -> Path:
    """The lock file of an instance."""
    return directory / f"{_checked(instance)}.lock"


def acquire(directory: Path, holder: Holder, *, force: bool = False) -> Acquired:
    """Take the instance's lock for `holder`, clearing a stale one; LockHeldError if it is held.

    With `force`, a lock that is held (or cannot be checked) is taken over as well.
    """
    path = lock_path(directory, holder.instance)
    lockfile.make_directory(directory)
    with lockfile.guard(path, exclusive=True):
        existing = _inspect(path)
        replaced: Holder | None = None
        reason: str | None = None
        if existing is not None:
            alive = None if existing.holder is None else is_alive(existing.holder)
            reason = _stale_reason(existing, alive)
            if reason is None and not force:
                raise _refusal(existing, alive, unlocking=False)
            replaced = existing.holder
            reason = reason or "taken over with --force"
            lockfile.remove(path)
        lockfile.create(path, (holder.to_json() + "\n").encode("utf-8"))
    return Acquired(holder, replaced, reason)


def release(directory: Path, holder: Holder) -> bool:
    """Remove the lock if it is still `holder`'s (same token); report whether it was removed."""
    path = lock_path(directory, holder.instance)
    if not directory.is_dir():
        return False
    with lockfile.guard(path, exclusive=True):
        existing = _inspect(path)
        if existing is None or existing.holder is None:
            return False
        if existing.holder.token != holder.token:
            return False
        lockfile.remove(path)
    return True


@contextlib.contextmanager
def held(directory: Path, holder: Holder, *, force: bool = False) -> Iterator[Acquired]:
    """Hold the instance's lock for the body of a `with`, releasing it however the body ends:
    also through Ctrl-C, or a signal the program turns into an interrupt (core.signals)."""
    acquired = acquire(directory, holder, force=force)
    try:
        yield acquired
    finally:
        release(directory, acquired.holder)


def read(directory: Path, instance: str) -> Holder | None:
    """The current holder of the instance's lock, None when it is free."""
    path = lock_path(directory, instance)
    if not directory.is_dir():
        return None
    with lockfile.guard(path, exclusive=False):
        existing = _inspect(path)
    if existing is None:
        return None
    if existing.holder is None:
        raise DockyardError(
            f"{path}: not a readable lock file ({existing.problem})",
            hint=f"run `invoke deploy.unlock --instance {instance}` to remove it",
        )
    return existing.holder


def unlock(directory: Path, instance: str, *, force: bool = False) -> Cleared | None:
    """Remove a stale lock (any lock with `force`); None when there was none.

    A lock whose holder is running, or runs on another host, is refused with LockHeldError.
    """
    path = lock_path(directory, instance)
    if not directory.is_dir():
        return None
    with lockfile.guard(path, exclusive=True):
        existing = _inspect(path)
        if existing is None:
            return None
        alive = None if existing.holder is None else is_alive(existing.holder)
        reason = _stale_reason(existing, alive)
        if reason is None and not force:
            raise _refusal(existing, alive, unlocking=True)
        lockfile.remove(path)
    return Cleared(existing.holder, reason or "removed with --force")


def current_holder(instance: str, action: str, *, user: str) -> Holder:
    """A holder describing this process, with a fresh token, as of now."""
    pid = os.getpid()
    return Holder(
        instance=_checked(instance),
        action=action,
        pid=pid,
        host=socket.gethostname(),
        user=user,
        started=utc_timestamp(dt.datetime.now(dt.UTC)),
        process_start=process.start_time(pid),
        token=uuid.uuid4().hex,
    )


def is_alive(holder: Holder) -> bool | None:
    """Whether the holder's process still runs: None when it is on another host.

    A pid that now belongs to a process started at another time (the pid was reused), or a
    process that has exited but not been reaped yet, counts as gone.
    """
    if holder.host != socket.gethostname():
        return None
    found = process.identify(holder.pid, started=holder.process_start)
    # A process of another user that cannot be inspected may well be the holder: respected.
    return found not in {process.Identity.GONE, process.Identity.OTHER}


def utc_timestamp(moment: dt.datetime) -> str:
    """A moment as lock files and the deploy history record it: 2026-11-23T10:00:00Z."""
    return moment.astimezone(dt.UTC).strftime(_TIMESTAMP)


def format_age(seconds: float) -> str:
    """A duration for people, two units at most: 45s, 3m 12s, 2h 5m, 3d 4h."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


# ------------------------------------------------------------------- helpers ---


def _checked(instance: str) -> str:
    if not is_valid_id(instance):
        raise ValueError(f"not a valid instance id: {instance!r}")
    return instance


def _string(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise MalformedLockError(f"{name!r} must be a string, got {value!r}")
    return value


def _parse_timestamp(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _inspect(path: Path) -> _Existing | None:
    """The lock file at `path` as found, None when there is none."""
    found = lockfile.read(path)
    if found is None:
        return None
    try:
        holder = _parse_lock(found.data)
    except ValueError as error:  # includes JSON and UTF-8 decoding errors
        return _Existing(path, None, str(error).strip().partition("\n")[0], found.age_seconds)
    return _Existing(path, holder, "", found.age_seconds)


def _parse_lock(data: bytes) -> Holder:
    if not data.strip():
        raise MalformedLockError("empty file")
    if len(data) > MAX_LOCK_BYTES:
        raise MalformedLockError(f"larger than {MAX_LOCK_BYTES} bytes")
    return Holder.from_json(data.decode("utf-8"))
