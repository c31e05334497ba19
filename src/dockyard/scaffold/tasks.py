"""`invoke dockyard.*`: adopting dockyard in a service's repository."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.core.invocation import JSON_HELP, run_unconfigured


@task(
    name="init",
    help={"dry_run": "print what would be written and write nothing", **JSON_HELP},
)
def init(c: Context, dry_run: bool = False, json: bool = False) -> None:
    """Write dockyard's starting files (config, env, CI) into this repository; overwrite none."""
    from dockyard.scaffold import commands

    run_unconfigured(c, commands.init, json=json, dry_run=dry_run)


ns = Collection("dockyard", init)
