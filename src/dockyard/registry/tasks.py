"""`invoke registry.*`: thin wrappers over `dockyard.registry.commands`."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.core.invocation import JSON_HELP, run


@task(name="up", help=JSON_HELP)
def up(c: Context, json: bool = False) -> None:
    """Start a local registry on 127.0.0.1 and wait until it answers (a no-op when it runs)."""
    from dockyard.registry import commands

    run(c, commands.up, json=json)


@task(
    name="down",
    help={"volumes": "also remove the data volume: every pushed image is lost", **JSON_HELP},
)
def down(c: Context, volumes: bool = False, json: bool = False) -> None:
    """Stop and remove the local registry; its data volume is kept."""
    from dockyard.registry import commands

    run(c, commands.down, json=json, volumes=volumes)


@task(name="status", help=JSON_HELP)
def status(c: Context, json: bool = False) -> None:
    """Say whether the configured registry and the local one answer."""
    from dockyard.registry import commands

    run(c, commands.status, json=json)


ns = Collection("registry", up, down, status)
