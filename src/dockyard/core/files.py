"""Writing state files so that a crash never leaves half of one: the old file or the new."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from dockyard.core import proc


def replace_atomically(
    path: Path, text: str, *, mode: int = 0o644, exclusive: bool = False
) -> None:
    """Replace `path` with `text` in one step (a temporary file beside it, flushed, renamed),
    creating its directory (0755) if needed.

    With `exclusive`, `path` must not exist yet: the file appears whole or not at all, and
    FileExistsError says another process created it meanwhile (its file is kept).
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(temporary, path)
            Path(temporary).unlink()
        else:
            Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Make a created, renamed or removed file durable: flush the directory entry too."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def git_files(root: Path, environ: Mapping[str, str] | None = None) -> list[str]:
    """The project's files as git sees them: what it tracks and the new files it does not
    ignore, relative to `root`, sorted. Raises CommandFailedError outside a git work tree, and
    MissingFileError without git."""
    listed = proc.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        env=environ,
    ).stdout
    return sorted({name for name in listed.split("\0") if name})
