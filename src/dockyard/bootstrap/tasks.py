"""`invoke bootstrap`: a thin wrapper; the steps live in `dockyard.bootstrap.commands`."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.core.invocation import JSON_HELP, run


@task(help=JSON_HELP)
def bootstrap(c: Context, json: bool = False) -> None:
    """Take a fresh clone to a working setup: doctor, env files, then the stack."""
    from dockyard.bootstrap import commands

    run(c, commands.bootstrap, json=json)


# `bootstrap` is a top-level task: the project's tasks.py adds it to its root collection.
ns = Collection("bootstrap", bootstrap)
