"""Skip a gate's step when nothing it reads has changed since it last passed.

For the steps that keep no cache of their own: a linter such as yamllint, or the locked install
into a session's reused environment. A step is keyed on everything that can change its outcome:
its exact command line, the settings it reads from the environment, the contents of every file
it reads (directories walked, a missing path counted as missing) and the virtual environment it
runs in (its pyvenv.cfg and every installed distribution's RECORD, which holds the hash of each
installed file). Only a step that ran and passed is recorded, so a failing step runs again every
time until it passes. Records live inside the session's environment under `.nox/`, so a
recreated environment starts with none.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.core.errors import DockyardError, UnreadableFileError
from dockyard.core.files import git_files, replace_atomically

RECORDS_DIR = "dockyard-step-cache"
# `DOCKYARD_STEP_CACHE=off` runs every step, whatever passed before.
SWITCH = "DOCKYARD_STEP_CACHE"


@dataclass(frozen=True)
class Step:
    """One step of a gate: its command and the keys of what it reads and where it runs."""

    name: str
    command: tuple[str, ...]
    files: tuple[Path, ...]
    environment: Path
    inputs_key: str
    environment_key: str

    @property
    def key(self) -> str:
        """The whole key: a run with the same key would reach the same outcome."""
        return f"{self.inputs_key} {self.environment_key}"

    @property
    def record(self) -> Path:
        """The file that holds the key of this step's last passing run."""
        return self.environment / RECORDS_DIR / self.name


def environment_files(environment: Path) -> list[Path]:
    """The files that pin what a virtual environment runs: its interpreter and installed tools."""
    records = environment.glob("lib/python*/site-packages/*.dist-info/RECORD")
    return [environment / "pyvenv.cfg", *sorted(records)]


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Every file under `paths`, directories walked in a stable order; missing paths kept."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(found for found in path.rglob("*") if found.is_file()))
        else:
            files.append(path)
    return files


def fingerprint(
    command: Sequence[str], files: Iterable[Path], settings: Mapping[str, str] | None = None
) -> str:
    """A key that changes whenever the command, a setting or the content of any file changes."""
    digest = hashlib.sha256()
    for part in command:
        digest.update(b"arg\0" + part.encode() + b"\0")
    for name, value in sorted((settings or {}).items()):
        digest.update(b"setting\0" + name.encode() + b"\0" + value.encode() + b"\0")
    for path in files:
        digest.update(b"file\0" + str(path).encode() + b"\0")
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            digest.update(b"absent\0")
        except OSError as error:
            raise UnreadableFileError(
                f"{path}: cannot read it to tell whether it changed: {error.strerror}",
                hint=f"make {path} readable, or remove it",
            ) from None
        else:
            digest.update(f"{len(content)}\0".encode() + content)
    return digest.hexdigest()


def plan(
    name: str,
    command: Sequence[str],
    *,
    reads: Iterable[str | Path],
    environment: Path,
    settings: Mapping[str, str] | None = None,
) -> Step:
    """Key a step on its command, its `settings`, the files it `reads` and its `environment`."""
    files = tuple(expand(reads))
    return Step(
        name=name,
        command=tuple(command),
        files=files,
        environment=environment,
        inputs_key=fingerprint(command, files, settings),
        environment_key=fingerprint((), environment_files(environment)),
    )


def uv_sync_reads(root: Path) -> list[Path]:
    """What `uv sync --locked` reads besides the environment: the lock, the workspace, settings."""
    pyproject = root / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        members: list[str] = []  # uv itself reports this file's problem when the sync runs
    else:
        members = project.get("tool", {}).get("uv", {}).get("workspace", {}).get("members", [])
    workspace = sorted(
        member / "pyproject.toml"
        for pattern in members
        if isinstance(pattern, str)
        for member in root.glob(pattern)
    )
    settings = [root / name for name in ("uv.lock", ".python-version", "uv.toml")]
    return [pyproject, *workspace, *settings]


def uv_settings(environ: Mapping[str, str], first: Path) -> dict[str, str]:
    """uv's own settings from the environment and which uv runs (looked up in `first`, then
    PATH), so a changed setting or an upgraded uv counts as a change."""
    settings = {
        name: value for name, value in environ.items() if name == "UV" or name.startswith("UV_")
    }
    search = os.pathsep.join(filter(None, [str(first), environ.get("PATH", "")]))
    found = shutil.which(environ.get("UV", "uv"), path=search)
    if found is None:
        settings["uv binary"] = "absent"
    else:
        binary = Path(found).stat()
        settings["uv binary"] = f"{found} {binary.st_size} {binary.st_mtime_ns} {binary.st_ino}"
    return settings


def project_files(root: Path) -> list[Path]:
    """Every file of the project a test run can read: what git tracks, and new files it does not
    ignore (so a new test counts), in a stable order. Outside a git checkout, every file under
    `root` except the environments, caches and reports that a run itself writes."""
    try:
        return [root / name for name in git_files(root)]
    except DockyardError:
        skipped = {".git", ".nox", ".venv", "reports", ".dockyard", "__pycache__"}
        return sorted(
            path
            for path in root.rglob("*")
            if path.is_file() and not skipped.intersection(path.relative_to(root).parts)
        )


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether steps may be skipped at all (`DOCKYARD_STEP_CACHE=off` says no)."""
    return environ.get(SWITCH, "").strip().lower() not in {"off", "0", "no", "false"}


def passed_before(step: Step) -> bool:
    """Whether this exact step (same command, settings, files and environment) passed before."""
    try:
        return step.record.read_bytes() == step.key.encode()
    except (FileNotFoundError, NotADirectoryError):
        return False


def run_unless_passed(
    step: Step,
    execute: Callable[[tuple[str, ...]], bool],
    *,
    changes_environment: bool = False,
    cache: bool = True,
) -> bool:
    """Run the step unless this exact step passed before; return True when it was skipped.
    With `cache` off the step always runs (and a pass is still recorded).

    `execute` raises when the step fails (nothing is recorded then) and returns whether the
    command really ran (a dry run does not); only a step that ran and passed is recorded. A step
    that `changes_environment` (an install) is recorded with the environment it left behind.
    """
    if cache and passed_before(step):
        return True
    if execute(step.command):
        after = step.environment_key
        if changes_environment:
            after = fingerprint((), environment_files(step.environment))
        _write(step.record, f"{step.inputs_key} {after}")
    return False


def _write(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step, so a reader never sees a partial key."""
    try:
        replace_atomically(path, text)
    except OSError as error:
        raise DockyardError(
            f"{path}: cannot record the step that passed: {error.strerror}",
            hint=f"check that {path.parent} is a writable directory, or remove it",
        ) from None
