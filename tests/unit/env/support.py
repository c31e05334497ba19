"""A throwaway project with the repository's env schema, and a way to run env commands in it."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.core.config import Config, load_config
from dockyard.core.console import make_console
from dockyard.core.invocation import Invocation

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "env"
PROFILES = ("development", "testing", "production")


@dataclass
class Project:
    """A project root in a temporary directory: pyproject.toml, env/schema.toml, the examples."""

    root: Path
    environ: dict[str, str]

    @property
    def config(self) -> Config:
        return load_config(self.root)

    def env(self, profile: str) -> Path:
        return self.root / "env" / f".env.{profile}"

    def write(self, profile: str, content: str | bytes) -> Path:
        path = self.env(profile)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    def run(
        self, command: Callable[..., int], *, as_json: bool = False, **options: Any
    ) -> tuple[int, str]:
        """Run an env command as the task layer does; return its exit code and all it printed."""
        stream = io.StringIO()
        invocation = Invocation(self.config, self.environ, make_console(stream), as_json)
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            code = command(invocation, **options)
        return int(code), stream.getvalue()
