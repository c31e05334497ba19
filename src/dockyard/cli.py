"""`dockyard`: the suite's tasks for a repository that has no `tasks.py` yet.

`dockyard init` writes a project's starting files (its `tasks.py` among them); after that the
project's own `invoke` shows the same tasks. Every task runs here too: `dockyard --list`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from invoke.collection import Collection
from invoke.program import Program

from dockyard.scaffold import tasks as scaffold
from dockyard.tasks import namespace


def _version() -> str:
    try:
        return version("dockyard")
    except PackageNotFoundError:  # a source checkout that was never installed
        return "unknown"


def program_namespace(root: Path) -> Collection:
    """Every task acting on `root`, with `init` at the top level."""
    ns = namespace(root)
    ns.add_task(scaffold.init)
    return ns


program = Program(
    name="dockyard",
    binary="dockyard",
    namespace=program_namespace(Path.cwd()),
    version=_version(),
)
