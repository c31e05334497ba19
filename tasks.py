"""dockyard's tasks: `invoke --list` shows everything the suite does.

Each task is a few lines that hand over to `src/dockyard/`; heavy imports
happen inside the tasks so that listing them stays fast.
"""

from __future__ import annotations

from pathlib import Path

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.cli import run

ROOT = Path(__file__).resolve().parent
JSON_HELP = {"json": "print machine-readable JSON instead of text"}


@task(help=JSON_HELP)
def doctor(c: Context, json: bool = False) -> None:
    """Check this machine: Python, git, Docker engine, Compose, BuildKit, disk, ports, TLS."""
    from dockyard import commands

    run(ROOT, commands.doctor, json=json)


@task(help=JSON_HELP)
def bootstrap(c: Context, json: bool = False) -> None:
    """Take a fresh clone to a working setup: doctor, env files, then the stack."""
    from dockyard.bootstrap import bootstrap

    run(ROOT, bootstrap, json=json)


@task(help=JSON_HELP)
def audit(c: Context, json: bool = False) -> None:
    """Lint Dockerfiles, scan the tree for secrets, audit the locked dependencies."""
    from dockyard import commands

    run(ROOT, commands.audit, json=json)


ns = Collection(doctor, bootstrap, audit)
