"""`invoke ci.*`: thin wrappers over `dockyard.ci.commands`."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.core.invocation import JSON_HELP, run


@task(
    name="doctor",
    positional=["log"],
    help={
        "log": "the CI log; `-` reads stdin; a directory (reports): its junit*.xml and *.log",
        "summary": "also append the verdict as Markdown to this file ($GITHUB_STEP_SUMMARY)",
        **JSON_HELP,
    },
)
def doctor(c: Context, log: str, summary: str = "", json: bool = False) -> None:
    """Name a CI failure from its log: what failed, the lines that show it, and the fix."""
    from dockyard.ci import commands

    run(c, commands.doctor, json=json, log=log, summary=summary)


ns = Collection("ci", doctor)
