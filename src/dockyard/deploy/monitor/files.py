"""The files of a deployment monitor, the lock that allows one monitor per instance, and how a
pid file is trusted.

A monitor's files live in the state directory, named after the instance:

- `<instance>.json`  the status, rewritten in one step at every check and kept after the end;
- `<instance>.pid`   the monitor's process id, removed when it exits;
- `<instance>.lock`  locked (flock) by the monitor for its whole life: a second monitor for the
                     same instance cannot take it, so there is never more than one;
- `<instance>.log`   what the monitor printed.

A pid is taken for the monitor's only when its lock is held, the pid file names it, and (where
/proc exists) that process's command line is the monitor of that instance, so a reused pid is
never signalled.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.core import process
from dockyard.core.errors import DockyardError
from dockyard.core.ids import is_valid_id

MODULE = "dockyard.deploy.monitor.watcher"
# The module a monitor ran as before the deploy code moved into dockyard.deploy. Monitors
# started by the previous release still run under that name until they end (within their
# policy's max_seconds), and must still be recognised to be listed, stopped and cleaned up.
# Kept for one release.
FORMER_MODULE = "dockyard.monitor"
LOCK_GRACE = 1.0
POLL_SECONDS = 0.05

# Monitors this process started, collected once they exit so none lingers as a zombie.
CHILDREN: list[subprocess.Popen[bytes]] = []


# --- names and files -------------------------------------------------------------------------


def check_instance(instance: str) -> str:
    """`instance` itself, once it is known to be safe in a file name (callers validate it first)."""
    if not is_valid_id(instance):
        raise ValueError(f"instance id {instance!r} is not a slug like 'web' or 'staging-2'")
    return instance


@dataclass(frozen=True)
class MonitorFiles:
    """The files of one instance's monitor in the state directory."""

    status: Path
    pid: Path
    lock: Path
    log: Path

    @property
    def instance(self) -> str:
        return self.status.stem


def files_of(state_dir: Path, instance: str) -> MonitorFiles:
    """Where the monitor of `instance` keeps its status, pid, lock and log."""
    base = state_dir / check_instance(instance)
    return MonitorFiles(
        status=base.with_suffix(".json"),
        pid=base.with_suffix(".pid"),
        lock=base.with_suffix(".lock"),
        log=base.with_suffix(".log"),
    )


# --- the lock --------------------------------------------------------------------------------


def lock_held(path: Path) -> bool:
    """True while some process holds the monitor lock at `path`."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (opened.st_dev, opened.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def take_lock(path: Path) -> int | None:
    """Lock `path` (created if needed); the open descriptor, or None if another process holds it.

    If the file was removed and re-created by someone else after it was opened, the lock taken is
    on a file nobody else will ever see, so it is dropped and the new file is locked instead.
    """
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return None
        if _same_file(descriptor, path):
            return descriptor
        os.close(descriptor)


def take_lock_within(path: Path, seconds: float) -> int | None:
    """Like take_lock, retrying for a moment: another command may be probing the lock."""
    deadline = time.monotonic() + seconds
    while (descriptor := take_lock(path)) is None:
        if time.monotonic() >= deadline:
            return None
        time.sleep(POLL_SECONDS)
    return descriptor


@contextlib.contextmanager
def holding(path: Path) -> Iterator[bool]:
    """Hold the monitor lock for a moment; yields False (and holds nothing) if a monitor runs."""
    descriptor = take_lock(path)
    try:
        yield descriptor is not None
    finally:
        if descriptor is not None:
            os.close(descriptor)


# --- the pid and the process -----------------------------------------------------------------


def is_monitor_command(args: Sequence[str], instance: str) -> bool:
    """True for the command line of a monitor of `instance`, started by this release or by the
    previous one (which ran as `python -m dockyard.monitor`)."""
    pairs = [list(args[index : index + 2]) for index in range(len(args) - 1)]
    runs_module = MODULE in args or FORMER_MODULE in args
    return runs_module and ["--instance", instance] in pairs


def identify(pid: int, instance: str) -> process.Identity:
    """What `pid` is now, compared with a monitor of `instance`."""
    return process.identify(pid, command=lambda args: is_monitor_command(args, instance))


def runs_monitor(pid: int, instance: str) -> bool:
    """True if process `pid` is the monitor of `instance`. Without /proc, only that it exists and
    this user may signal it."""
    return identify(pid, instance) is process.Identity.SAME


def gone(pid: int, instance: str) -> bool:
    """True once the monitor `pid` has finished exiting: no process, a zombie, or the pid now
    runs something else. A process still tearing down has an empty command line but has not
    gone yet."""
    return identify(pid, instance) in {
        process.Identity.GONE,
        process.Identity.OTHER,
        process.Identity.UNKNOWN,  # someone else's process: never a monitor this user started
    }


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isascii() and text.isdigit() and int(text) > 1 else None


def verified_pid(files: MonitorFiles) -> int | None:
    """The pid of the running monitor: its lock is held and its pid file names it."""
    if not lock_held(files.lock):
        return None
    pid = _read_pid(files.pid)
    if pid is None or not runs_monitor(pid, files.instance):
        return None
    return pid


def running_pid(files: MonitorFiles) -> int | None:
    """The verified pid of the running monitor, allowing a starting one a moment to record it."""
    deadline = time.monotonic() + LOCK_GRACE
    while (pid := verified_pid(files)) is None and lock_held(files.lock):
        if time.monotonic() >= deadline:
            raise DockyardError(
                f"{files.lock}: held, but {files.pid} does not name a running monitor "
                f"of {files.instance}",
                hint=f"find it with `pgrep -af '{MODULE} --instance {files.instance}'` and end it",
            )
        time.sleep(POLL_SECONDS)
    return pid


def reap() -> None:
    """Collect monitors this process started that have exited, so none lingers as a zombie."""
    CHILDREN[:] = [child for child in CHILDREN if child.poll() is None]
