"""`invoke stack.*`: thin wrappers over `dockyard.stack.commands`."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.core.invocation import JSON_HELP, PROFILE_HELP, run


@task(
    name="up",
    help={**PROFILE_HELP, **JSON_HELP, "dev": "bind-mount the source and reload on changes"},
)
def up(c: Context, profile: str = "development", dev: bool = False, json: bool = False) -> None:
    """Start the stack and wait until every service is healthy (or fail with its logs)."""
    from dockyard.stack import commands

    run(c, commands.up, json=json, profile=profile, dev=dev)


@task(name="down", help={"volumes": "also remove the data volumes: their data is lost"})
def down(c: Context, volumes: bool = False) -> None:
    """Stop and remove the stack's containers; data volumes are kept."""
    from dockyard.stack import commands

    run(c, commands.down, volumes=volumes)


@task(name="ps", help=JSON_HELP)
def ps(c: Context, json: bool = False) -> None:
    """List the stack's services and their containers' states."""
    from dockyard.stack import commands

    run(c, commands.ps, json=json)


@task(name="health", help=JSON_HELP)
def health(c: Context, json: bool = False) -> None:
    """Report each service's health and the service's readiness through the proxy."""
    from dockyard.stack import commands

    run(c, commands.health, json=json)


@task(
    name="logs",
    help={
        "service": "one service (default: all)",
        "save": "write each service's full log to .dockyard/logs/<time>/",
        "tail": "lines per service to show",
    },
)
def logs(c: Context, service: str = "", save: bool = False, tail: int = 100) -> None:
    """Show the stack's logs, or save them to files for later diagnosis."""
    from dockyard.stack import commands

    run(c, commands.logs, service=service, save=save, tail=tail)


ns = Collection("stack", up, down, ps, health, logs)
