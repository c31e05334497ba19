"""Running external tools: one place that spawns processes, with timeouts and readable failures."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dockyard.core.errors import CommandFailedError, MissingFileError

TAIL_LINES = 30


@dataclass(frozen=True)
class Completed:
    """What a finished command left behind."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last lines of stderr (or stdout when stderr is empty), for error messages."""
        text = self.stderr.strip() or self.stdout.strip()
        return "\n".join(text.splitlines()[-lines:])


def run(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    check: bool = True,
    input_text: str | None = None,
) -> Completed:
    """Run `args` and capture its output; with `check`, a non-zero exit raises CommandFailedError.

    `env` replaces the environment when given (callers pass the one they were handed).
    """
    executable = which(args[0], env)
    if executable is None:
        raise MissingFileError(
            f"{args[0]}: command not found on PATH",
            hint=f"install {args[0]} or run `scripts/bootstrap.sh` to set up the toolchain",
        )
    try:
        finished = subprocess.run(
            [executable, *args[1:]],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            input=input_text,
            stdin=None if input_text is not None else subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CommandFailedError(
            f"`{' '.join(args)}` did not finish within {timeout:.0f} s",
            hint="check that the tool is not waiting for input or the network",
        ) from None
    completed = Completed(tuple(args), finished.returncode, finished.stdout, finished.stderr)
    if check and not completed.ok:
        raise CommandFailedError(
            f"`{' '.join(args)}` exited with {completed.returncode}:\n{completed.tail()}"
        )
    return completed


def spawn(
    args: Sequence[str], *, env: Mapping[str, str], output: IO[str], cwd: Path | None = None
) -> subprocess.Popen[str]:
    """Start `args` in the background, its output going to `output`; the caller waits for it."""
    executable = which(args[0], env)
    if executable is None:
        raise MissingFileError(f"{args[0]}: command not found on PATH")
    return subprocess.Popen(
        [executable, *args[1:]],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )


def which(command: str, env: Mapping[str, str] | None = None) -> str | None:
    """Resolve `command` on the PATH of `env` (or of this process)."""
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    return shutil.which(command, path=path)
