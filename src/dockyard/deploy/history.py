"""The deploy history: every deploy and rollback of every instance, one JSON line each.

The file is only ever appended to. Each record is written with one `write` on an
append-only descriptor under an exclusive `flock` and flushed to disk, so concurrent
deploys never interleave their lines. A line cut short by a crash is skipped when the
history is read, and reported with its line number; the next record starts on a line of
its own.

From the records, the version helpers answer what deploy and rollback need to know:
which versions an instance has run, which one runs now, and which one a rollback goes
back to.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from dockyard.core.errors import DockyardError, UnreadableFileError

Action = Literal["deploy", "rollback", "release"]
SWITCHES = ("deploy", "rollback")  # the actions that change what an instance serves
Result = Literal["succeeded", "failed", "interrupted"]
HISTORY_MODE = 0o644
DIRECTORY_MODE = 0o755
COLUMNS = (
    "when",
    "instance",
    "action",
    "version",
    "previous",
    "result",
    "duration",
    "who",
    "reason",
)


class MalformedRecordError(ValueError):
    """A history line that is not a record."""


@dataclass(frozen=True)
class Record:
    """One deploy or rollback of one instance, or a release's delivery to it, as it ended."""

    instance: str
    action: Action
    version: str
    previous: str | None  # the version live before it started, None when there was none
    user: str
    started: str  # UTC, e.g. 2026-11-23T10:00:00Z
    duration_seconds: float
    result: Result
    reason: str = ""  # why it failed or was interrupted; "" when there is nothing to say
    notes: tuple[str, ...] = ()  # what else happened, e.g. "cleared stale lock of pid 123"

    def __post_init__(self) -> None:
        if self.action not in get_args(Action):
            raise ValueError(f"action must be one of {get_args(Action)}, got {self.action!r}")
        if self.result not in get_args(Result):
            raise ValueError(f"result must be one of {get_args(Result)}, got {self.result!r}")
        object.__setattr__(self, "duration_seconds", round(float(self.duration_seconds), 1))

    def to_json(self) -> str:
        """The record as one line of JSON (without the line break)."""
        return json.dumps(
            {
                "instance": self.instance,
                "action": self.action,
                "version": self.version,
                "previous": self.previous,
                "user": self.user,
                "started": self.started,
                "duration_seconds": self.duration_seconds,
                "result": self.result,
                "reason": self.reason,
                "notes": list(self.notes),
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Record:
        """Parse one history line; a ValueError says what is wrong with it."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise MalformedRecordError("expected a JSON object")
        previous = data.get("previous")
        if previous is not None and not isinstance(previous, str):
            raise MalformedRecordError(f"'previous' must be a string or null, got {previous!r}")
        duration = data.get("duration_seconds")
        if not isinstance(duration, int | float) or isinstance(duration, bool) or duration < 0:
            raise MalformedRecordError(
                f"'duration_seconds' must be a number >= 0, got {duration!r}"
            )
        notes = data.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
            raise MalformedRecordError(f"'notes' must be a list of strings, got {notes!r}")
        return cls(
            instance=_string(data, "instance"),
            action=_choice(data, "action", get_args(Action)),
            version=_string(data, "version"),
            previous=previous,
            user=_string(data, "user"),
            started=_string(data, "started"),
            duration_seconds=float(duration),
            result=_choice(data, "result", get_args(Result)),
            reason=_string(data, "reason", default=""),
            notes=tuple(notes),
        )

    @property
    def succeeded(self) -> bool:
        return self.result == "succeeded"


@dataclass(frozen=True)
class History:
    """The records read from a history file, oldest first, and the lines that were skipped."""

    records: tuple[Record, ...]
    problems: tuple[str, ...]  # "<file>:<line>: skipped: <why>", one per unreadable line


# --------------------------------------------------------------- reading, writing ---


def append(path: Path, record: Record) -> None:
    """Add one record at the end of the history, creating the file (0644) if needed."""
    line = (record.to_json() + "\n").encode("utf-8")
    try:
        _make_directory(path.parent)
        descriptor = _open_for_append(path)
    except OSError as error:
        raise DockyardError(
            f"{path}: cannot record the {record.action} of {record.instance}: {error.strerror}",
            hint=f"check that {path.parent} is a writable directory",
        ) from None
    try:
        written, wanted = _write_locked(descriptor, line)
    except OSError as error:
        raise DockyardError(
            f"{path}: cannot record the {record.action} of {record.instance}: {error.strerror}",
            hint=f"check the free space and permissions of {path}",
        ) from None
    finally:
        os.close(descriptor)  # releases the flock
    if written != wanted:
        raise DockyardError(
            f"{path}: only {written} of {wanted} bytes of the {record.action} record "
            f"of {record.instance} were written",
            hint=f"free some space on the disk holding {path.parent}",
        )


def read(path: Path, *, instance: str | None = None) -> History:
    """The records of the history (of one instance, if given), oldest first.

    A missing file is an empty history. Lines that are not records are skipped and listed
    in `problems`; they never stop the rest from being read.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return History((), ())
    except OSError as error:
        raise UnreadableFileError(
            f"{path}: cannot read the deploy history: {error.strerror}",
            hint=f"make {path} readable to you",
        ) from None
    records: list[Record] = []
    problems: list[str] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            record = Record.from_json(raw.decode("utf-8"))
        except ValueError as error:  # includes JSON and UTF-8 decoding errors
            problems.append(f"{path}:{number}: skipped: {_why(error)}")
            continue
        if instance is None or record.instance == instance:
            records.append(record)
    return History(tuple(records), tuple(problems))


# -------------------------------------------------------------------- versions ---


def deployed_versions(records: Iterable[Record], instance: str) -> list[str]:
    """Versions that went live on the instance (by a successful deploy or rollback),
    newest first, each once."""
    seen: list[str] = []
    for record in reversed(_live(records, instance)):
        if record.version not in seen:
            seen.append(record.version)
    return seen


def current_version(records: Iterable[Record], instance: str) -> str | None:
    """The version the instance runs: that of its last successful deploy or rollback."""
    live = _live(records, instance)
    return live[-1].version if live else None


def previous_version(records: Iterable[Record], instance: str) -> str | None:
    """The version a rollback without --to goes back to: the one live before the current one.

    That is the version of the latest successful record before the current version went
    live, skipping redeploys of the current version. A rollback is a change like any other:
    after deploying A, then B, then rolling back to A, the previous version is B, so a
    second rollback undoes the first. Failed and interrupted attempts never count; the old
    version kept serving through them. When the history starts with the current version,
    the `previous` its record saw live is used.
    """
    live = _live(records, instance)
    if not live:
        return None
    current = live[-1].version
    for record in reversed(live):
        if record.version != current:
            return record.version
    first = live[0].previous
    return first if first != current else None


def _live(records: Iterable[Record], instance: str) -> list[Record]:
    return [
        record
        for record in records
        if record.instance == instance and record.succeeded and record.action in SWITCHES
    ]


# ------------------------------------------------------------------ the table ---


def render_rows(records: Iterable[Record]) -> list[dict[str, str]]:
    """The rows `invoke deploy.history` prints, one per record in the given order (newest last),
    keyed by COLUMNS."""
    return [
        {
            "when": record.started.replace("T", " "),
            "instance": record.instance,
            "action": record.action,
            "version": record.version,
            "previous": record.previous or "-",
            "result": record.result,
            "duration": f"{record.duration_seconds:.1f}s",
            "who": record.user,
            "reason": "; ".join(part for part in (record.reason, *record.notes) if part),
        }
        for record in records
    ]


# ---------------------------------------------------------------------- helpers ---


def _string(data: dict[str, Any], name: str, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        raise MalformedRecordError(f"{name!r} must be a string, got {value!r}")
    return value


def _choice(data: dict[str, Any], name: str, choices: tuple[Any, ...]) -> Any:
    value = data.get(name)
    if value not in choices:
        raise MalformedRecordError(f"{name!r} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _why(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON ({error.msg}), perhaps a write cut short"
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text"
    return f"not a history record ({error})"


def _make_directory(directory: Path) -> None:
    if directory.is_dir():
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=DIRECTORY_MODE)
    except FileExistsError:
        return
    directory.chmod(DIRECTORY_MODE)


def _open_for_append(path: Path) -> int:
    """A descriptor appending to the history; a new file is made 0644 whatever the umask."""
    flags = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags | os.O_CREAT | os.O_EXCL, HISTORY_MODE)
    except FileExistsError:
        return os.open(path, flags)
    os.fchmod(descriptor, HISTORY_MODE)
    return descriptor


def _write_locked(descriptor: int, line: bytes) -> tuple[int, int]:
    """Append `line` in one write under an exclusive flock and flush it to disk.

    Returns the bytes written and the bytes meant to be written.
    """
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    size = os.fstat(descriptor).st_size
    if size and os.pread(descriptor, 1, size - 1) != b"\n":
        line = b"\n" + line  # a crash cut the last line short: start a new one
    written = os.write(descriptor, line)
    os.fsync(descriptor)
    return written, len(line)
