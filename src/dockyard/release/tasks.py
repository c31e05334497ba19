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
        "yes": "promote to production without asking (pipelines)",
        "to": "staging (stop after staging) or production (the default)",
        **JSON_HELP,
    },
)
def release(  # noqa: PLR0917 - invoke makes each parameter an option
    c: Context,
    part: str = "auto",
    dry_run: bool = False,
    resume: bool = False,
    yes: bool = False,
    to: str = "production",
    json: bool = False,
) -> None:
    """Release: version and changelog from the commits, tag, image, publish, deploy."""
    from dockyard.release import commands

    run(
        c, commands.release, json=json, part=part, dry_run=dry_run, resume=resume, yes=yes,
        to=to,
    )  # fmt: skip


@task(name="status", help=JSON_HELP)
def status(c: Context, json: bool = False) -> None:
    """Show what is done of the release and what to run next, read from the world."""
    from dockyard.release import commands

    run(c, commands.status, json=json)


ns = Collection("release", release, status)
