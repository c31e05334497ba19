"""The git hooks' cost on a push: median of 10 pushes to a local bare remote, with and without
dockyard's hooks installed (a branch push that needs no check beyond the branch rule)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dockyard.git import hooks

PUSHES = 10
TARGET = 0.3  # seconds a hook may add to a push
PYPROJECT = '[tool.dockyard]\nproject = "bench"\nimage = "bench"\n'


@dataclass(frozen=True)
class HookTiming:
    without: float
    with_hooks: float

    @property
    def overhead(self) -> float:
        return self.with_hooks - self.without


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=_environ())


def _environ() -> dict[str, str]:
    names = {"NAME": "bench", "EMAIL": "bench@example.invalid"}
    identity = {f"GIT_{who}_{key}": value for who in ("AUTHOR", "COMMITTER")
                for key, value in names.items()}  # fmt: skip
    return {**os.environ, **identity}


def _pushes(clone: Path, branch: str) -> float:
    """The median time of PUSHES pushes, each of one new commit on `branch`."""
    _git(clone, "switch", "-q", "-c", branch)
    times = []
    for number in range(PUSHES + 1):  # the first warms the caches and creates the branch
        (clone / "file.txt").write_text(f"{branch} {number}\n")
        _git(clone, "commit", "-qam", f"change {number}")
        started = time.monotonic()
        _git(clone, "push", "-q", "origin", branch)
        if number:
            times.append(time.monotonic() - started)
    return statistics.median(times)


def measure_hooks() -> HookTiming:
    with tempfile.TemporaryDirectory(prefix="dockyard-hooks-bench-") as scratch:
        base = Path(scratch)
        remote, clone = base / "remote.git", base / "clone"
        _git(base, "init", "-q", "--bare", "-b", "main", str(remote))
        _git(base, "clone", "-q", str(remote), str(clone))
        (clone / "pyproject.toml").write_text(PYPROJECT)
        (clone / "file.txt").write_text("start\n")
        _git(clone, "add", ".")
        _git(clone, "commit", "-qm", "start")
        _git(clone, "push", "-q", "origin", "HEAD:main")
        without = _pushes(clone, "feat/no-hooks")
        hooks.install(clone, python=sys.executable)
        with_hooks = _pushes(clone, "feat/with-hooks")
        return HookTiming(without, with_hooks)
