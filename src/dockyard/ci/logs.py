"""Reading CI logs with a bound: the head and the tail of a file or a stream, never all of it.

A failure shows at the end of a log (and a run's setup at its start), so a huge log is read as
its first `HEAD_BYTES` and last `TAIL_BYTES`; the verdict says how much of the middle was not read.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dockyard.ci.normalise import HEAD_BYTES, TAIL_BYTES
from dockyard.core.errors import MissingFileError, UnreadableFileError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Raw:
    """What was read of one log."""

    name: str
    head: bytes
    tail: bytes = b""
    skipped_bytes: int = 0


def read_file(path: Path, name: str | None = None) -> Raw:
    label = name or str(path)
    try:
        with path.open("rb") as stream:
            size = path.stat().st_size
            if size <= HEAD_BYTES + TAIL_BYTES:
                return Raw(label, stream.read(HEAD_BYTES + TAIL_BYTES))
            head = stream.read(HEAD_BYTES)
            stream.seek(size - TAIL_BYTES)
            return Raw(label, head, stream.read(TAIL_BYTES), size - HEAD_BYTES - TAIL_BYTES)
    except FileNotFoundError:
        raise MissingFileError(
            f"{label}: no such file",
            hint="pass the CI log's path, `-` to read it from stdin, or nothing to read reports/",
        ) from None
    except IsADirectoryError:
        return _unreadable(label, "is a directory")
    except PermissionError:
        return _unreadable(label, "permission denied")


def _unreadable(label: str, why: str) -> Raw:
    raise UnreadableFileError(
        f"{label}: cannot be read ({why})", hint="pass a log file, or `-` to read stdin"
    )


def read_stream(stream: BinaryIO, name: str = "stdin") -> Raw:
    """A stream of any length, read in chunks: its head, and its tail in a bounded buffer."""
    head = stream.read(HEAD_BYTES)
    tail: deque[bytes] = deque()
    kept = skipped = 0
    while chunk := stream.read(_CHUNK):
        tail.append(chunk)
        kept += len(chunk)
        while kept - len(tail[0]) >= TAIL_BYTES:
            dropped = tail.popleft()
            kept -= len(dropped)
            skipped += len(dropped)
    return Raw(name, head, b"".join(tail), skipped)


def report_files(reports: Path) -> list[Path]:
    """The JUnit reports and logs a CI run leaves in reports/ (JUnit first, then logs)."""
    if not reports.is_dir():
        return []
    junit = sorted(path for path in reports.glob("junit*.xml") if path.is_file())
    logs = sorted(path for path in reports.glob("*.log") if path.is_file())
    return [*junit, *logs]
