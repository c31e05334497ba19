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

from dockyard.errors import DockyardError, ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.config import Config


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


def run(
    root: Path,
    command: Callable[Concatenate[Invocation, ...], int | None],
    *,
    json: bool = False,
    **options: Any,
) -> None:
    """Run `command` for the project at `root`; a DockyardError becomes one line and an exit."""
    from dockyard.config import load_config
    from dockyard.console import make_console

    try:
        invocation = Invocation(
            config=load_config(root),
            environ=toolchain_environ(os.environ),
            console=make_console(sys.stderr if json else sys.stdout),
            as_json=json,
        )
        code = command(invocation, **options)
    except DockyardError as error:
        print(f"dockyard: error: {error}", file=sys.stderr)
        raise Exit(code=int(error.exit_code)) from None
    except KeyboardInterrupt:
        print("dockyard: interrupted", file=sys.stderr)
        raise Exit(code=int(ExitCode.INTERRUPTED)) from None
    if code:
        raise Exit(code=code)
