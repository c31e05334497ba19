"""`invoke audit`: a thin wrapper; the gates live in `dockyard.audit.gates`."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.core.invocation import JSON_HELP, run


@task(help=JSON_HELP)
def audit(c: Context, json: bool = False) -> None:
    """Lint Dockerfiles, scan the tree for secrets, audit the locked dependencies."""
    from dockyard.audit import commands

    run(c, commands.audit, json=json)


# `audit` is a top-level task: the project's tasks.py adds it to its root collection.
ns = Collection("audit", audit)
