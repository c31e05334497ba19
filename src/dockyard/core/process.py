"""Whether a process id recorded earlier (in a lock or pid file) still names the same process.

A pid is reused once its process has ended, so a recorded pid names "its" process only while
that process runs. Where the kernel has /proc (Linux), the process's start time and command line
tell the recorded process from a newcomer that got the same pid; without /proc, only whether
some process has that pid can be asked (kill with signal 0).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
# Fields 3 (state) and 22 (starttime) of /proc/<pid>/stat, counted after the command name.
_STATE_FIELD = 0
_START_FIELD = 19


class Identity(enum.Enum):
    """What a recorded pid names now."""

    SAME = "same"  # a running process, the one claimed as far as /proc lets that be checked
    EXITING = "exiting"  # still there but ending: its command line is already gone
    OTHER = "other"  # a running process, but not the one claimed: the pid was reused
    GONE = "gone"  # no such process, or only a zombie waiting to be collected
    UNKNOWN = "unknown"  # some process has that pid, but it cannot be inspected (another user's)


@dataclass(frozen=True)
class Stat:
    """What /proc/<pid>/stat says about a process."""

    state: str  # one letter: R running, S sleeping, Z zombie, X dead, ...
    start: str  # when it started, in clock ticks after boot


def has_proc() -> bool:
    """True where the kernel describes processes under /proc."""
    return (PROC / "self").is_dir()


def read_stat(pid: int) -> Stat | None:
    """The state and start time of process `pid`; None when there is none or it is unreadable."""
    try:
        text = (PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return _parse_stat(text)


def start_time(pid: int) -> str:
    """When process `pid` started, in clock ticks after boot; "" where that cannot be known."""
    stat = read_stat(pid)
    return "" if stat is None else stat.start


def identify(
    pid: int,
    *,
    started: str = "",
    command: Callable[[Sequence[str]], bool] | None = None,
) -> Identity:
    """What `pid` names now, checked against what the caller knows of the process it recorded:
    its start time (`started`, "" when not recorded) and a test of its command line (`command`,
    None when any command will do)."""
    if not has_proc():
        return _by_signal(pid)
    try:
        text = (PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return Identity.GONE
    except PermissionError:
        return Identity.UNKNOWN
    stat = _parse_stat(text)
    if stat is None:
        return Identity.UNKNOWN
    if stat.state in {"Z", "X"}:
        return Identity.GONE
    if started and stat.start != started:
        return Identity.OTHER
    return Identity.SAME if command is None else _by_command(pid, command)


def _by_command(pid: int, command: Callable[[Sequence[str]], bool]) -> Identity:
    """Whether running process `pid` has the command line that `command` accepts."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except FileNotFoundError:
        return Identity.GONE
    except PermissionError:
        return Identity.UNKNOWN
    if not raw:
        return Identity.EXITING
    return Identity.SAME if command(command_args(raw)) else Identity.OTHER


def command_args(raw: bytes) -> list[str]:
    """The arguments in the content of a /proc/<pid>/cmdline file (NUL-separated)."""
    return [os.fsdecode(arg) for arg in raw.removesuffix(b"\0").split(b"\0")]


def _parse_stat(text: str) -> Stat | None:
    # The command name (field 2) is in parentheses and may itself contain ") ".
    fields = text.rpartition(")")[2].split()
    if len(fields) <= _START_FIELD:
        return None
    return Stat(fields[_STATE_FIELD], fields[_START_FIELD])


def _by_signal(pid: int) -> Identity:
    """Without /proc: whether some process has `pid` (nothing about who it is can be checked)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return Identity.GONE
    except PermissionError:
        return Identity.UNKNOWN
    return Identity.SAME
