"""`invoke release` and `invoke release.status`: thin wrappers over `dockyard.release.commands`."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.core.invocation import JSON_HELP, run


@task(
    name="run",
    default=True,
    help={
        "part": "auto (from the commits), patch, minor or major",
        "dry_run": "do every read and print every write it would make; change nothing",
        "resume": "go on with the release HEAD carries, from its first unfinished step",
        **JSON_HELP,
    },
)
def release(
    c: Context, part: str = "auto", dry_run: bool = False, resume: bool = False, json: bool = False
) -> None:
    """Release: version and changelog from the commits, tag, image, publish, deploy."""
    from dockyard.release import commands

    run(c, commands.release, json=json, part=part, dry_run=dry_run, resume=resume)


@task(name="status", help=JSON_HELP)
def status(c: Context, json: bool = False) -> None:
    """Show what is done of the release and what to run next, read from the world."""
    from dockyard.release import commands

    run(c, commands.status, json=json)


ns = Collection("release", release, status)
