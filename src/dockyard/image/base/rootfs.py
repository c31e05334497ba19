"""The Debian base image: debootstrap a minimal tree, trim it, import it into the engine.

Needs root (debootstrap creates device nodes and chroots) and the `debootstrap` tool. The tree
is built in a temporary directory that is removed afterwards, unless something is still
mounted inside it: then it is left alone and the error says what to unmount.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from dockyard.core import proc
from dockyard.core.config import Config
from dockyard.core.errors import CommandFailedError, DockyardError, MissingFileError
from dockyard.image.base.debian import apt_sources, debootstrap_command, import_command, trimmed
from dockyard.image.base.plan import BaseImage

DEBOOTSTRAP_TIMEOUT = 1200.0
SKIPPED_TOP = {"proc", "sys", "dev"}


def build_debian(config: Config, item: BaseImage, environ: Mapping[str, str]) -> None:
    """debootstrap, trim and import `item` (the Debian base) into the engine."""
    if proc.which("debootstrap", environ) is None:
        raise MissingFileError(
            "debootstrap: command not found on PATH",
            hint="install it: `sudo apt-get install debootstrap` (Debian and Ubuntu)",
        )
    if os.geteuid() != 0:
        raise DockyardError(
            "building the Debian base image needs root (debootstrap creates device nodes)",
            hint="run it as root: `sudo .venv/bin/invoke image.base`",
        )
    with _workspace() as work:
        rootfs = work / "rootfs"
        rootfs.mkdir()
        try:
            proc.run(
                debootstrap_command(config.images, rootfs, item.suite),
                env=environ,
                timeout=DEBOOTSTRAP_TIMEOUT,
            )
        except CommandFailedError as error:
            raise CommandFailedError(
                f"debootstrap of {item.suite} failed: {error.message}",
                hint=f"check that {config.images.debian_mirror} can be reached "
                "(tool.dockyard.images.debian_mirror), then run `invoke image.base` again",
            ) from None
        prepare(
            rootfs, config.path(item.context) / "rootfs", apt_sources(config.images, item.suite)
        )
        tarball = work / "rootfs.tar"
        proc.run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], env=environ
        )
        proc.run(import_command(item, tarball), env=environ, timeout=600)


def prepare(rootfs: Path, overlay: Path, sources: str) -> int:
    """Trim the tree, lay the overlay over it and write the apt sources; return files removed."""
    removed = trim(rootfs)
    if overlay.is_dir():
        shutil.copytree(overlay, rootfs, symlinks=True, dirs_exist_ok=True)
    sources_dir = rootfs / "etc/apt/sources.list.d"
    sources_dir.mkdir(parents=True, exist_ok=True)
    (sources_dir / "debian.sources").write_text(sources, encoding="utf-8")
    return removed


def trim(rootfs: Path) -> int:
    """Remove documentation, translations, apt lists and caches (see dockyard.images.TRIM_*)."""
    removed = 0
    visited: list[Path] = []
    for directory, dirnames, filenames in os.walk(rootfs):
        here = Path(directory)
        visited.append(here)
        relative_dir = here.relative_to(rootfs)
        if here == rootfs:
            dirnames[:] = [name for name in dirnames if name not in SKIPPED_TOP]
        # Symbolic links to directories are entries to remove, not directories to enter.
        links = [name for name in dirnames if (here / name).is_symlink()]
        dirnames[:] = [name for name in dirnames if name not in links]
        for name in [*filenames, *links]:
            if trimmed((relative_dir / name).as_posix()):
                (here / name).unlink()
                removed += 1
    # Then the directories the removals emptied, children before their parents.
    for here in reversed(visited[1:]):
        if trimmed(here.relative_to(rootfs).as_posix()) and _empty(here):
            here.rmdir()
    return removed


def _empty(directory: Path) -> bool:
    return next(directory.iterdir(), None) is None


@contextmanager
def _workspace() -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="dockyard-rootfs-"))
    try:
        yield work
    finally:
        mounted = _mounts_under(work)
        if mounted:
            raise DockyardError(
                f"{work} was left in place: {', '.join(mounted)} still mounted",
                hint=f"unmount them (`umount {' '.join(mounted)}`), then `rm -rf {work}`",
            )
        shutil.rmtree(work)


def _mounts_under(directory: Path) -> list[str]:
    """Mount points inside `directory` (debootstrap mounts /proc and /sys while it works)."""
    try:
        lines = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    prefix = f"{directory}/"
    points = [line.split()[1].replace("\\040", " ") for line in lines if len(line.split()) > 1]
    return [point for point in points if point.startswith(prefix)]
