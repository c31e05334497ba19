"""`invoke doctor`: a thin wrapper; the checks live in `dockyard.doctor.checks`."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.core.invocation import JSON_HELP, run


@task(help=JSON_HELP)
def doctor(c: Context, json: bool = False) -> None:
    """Check this machine: Python, git, Docker engine, Compose, BuildKit, disk, ports, TLS."""
    from dockyard.doctor import commands

    run(c, commands.doctor, json=json)


# `doctor` is a top-level task: the project's tasks.py adds it to its root collection.
ns = Collection("doctor", doctor)
