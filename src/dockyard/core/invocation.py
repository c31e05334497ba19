"""The bridge from invoke tasks to the package: load the configuration once, turn errors into exits.

Kept light on purpose: `invoke --list` imports this module, so heavy imports
(docker, rich, requests) happen inside the commands, not here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate

from invoke.exceptions import Exit

from dockyard.core.errors import DockyardError, ExitCode

if TYPE_CHECKING:
    from invoke.context import Context
    from rich.console import Console

    from dockyard.core.config import Config


@dataclass(frozen=True)
class Invocation:
    """What a command receives: the validated configuration, the environment, a console."""

    config: Config
    environ: Mapping[str, str]
    console: Console
    as_json: bool = False


def toolchain_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment, with the toolchain dockyard runs from first on PATH.

    `.venv/bin/invoke audit` then finds hadolint, detect-secrets and uv in .venv
    without the environment being activated.
    """
    toolchain = str(Path(sys.executable).parent)
    path = environ.get("PATH", os.defpath)
    return {**environ, "PATH": f"{toolchain}{os.pathsep}{path}" if path else toolchain}


JSON_HELP = {"json": "print machine-readable JSON instead of text"}
PROFILE_HELP = {"profile": "env profile: development, testing or production"}


def project_root(context: Context) -> Path:
    """The project the tasks act on: `dockyard.root` as the top-level tasks.py configures it
    (`INVOKE_DOCKYARD_ROOT` and invoke.yaml can override it), else the current directory."""
    settings = context.config.get("dockyard") or {}
    return Path(settings.get("root") or Path.cwd())


def run(
    context: Context,
    command: Callable[Concatenate[Invocation, ...], int | None],
    *,
    json: bool = False,
    **options: Any,
) -> None:
    """Run `command` for the task's project; a DockyardError becomes one line and an exit."""
    from dockyard.core.config import load_config
    from dockyard.core.console import make_console

    def call() -> int | None:
        invocation = Invocation(
            config=load_config(project_root(context)),
            environ=toolchain_environ(os.environ),
            console=make_console(sys.stderr if json else sys.stdout),
            as_json=json,
        )
        return command(invocation, **options)

    _exit_with(call)


def run_unconfigured(
    context: Context,
    command: Callable[Concatenate[Path, Console, bool, ...], int | None],
    *,
    json: bool = False,
    **options: Any,
) -> None:
    """Run a command that works before the project has a `[tool.dockyard]` table (`invoke
    dockyard.init`): it gets the project root, a console and `--json` instead of the
    configuration; errors end it as `run` ends any command."""
    from dockyard.core.console import make_console

    root = project_root(context)
    console = make_console(sys.stderr if json else sys.stdout)
    _exit_with(lambda: command(root, console, json, **options))


def _exit_with(call: Callable[[], int | None]) -> None:
    """Call a command; a DockyardError becomes one line and its exit code."""
    try:
        code = call()
    except DockyardError as error:
        print(f"dockyard: error: {error}", file=sys.stderr)
        raise Exit(code=int(error.exit_code)) from None
    except KeyboardInterrupt:
        print("dockyard: interrupted", file=sys.stderr)
        raise Exit(code=int(ExitCode.INTERRUPTED)) from None
    if code:
        raise Exit(code=code)
