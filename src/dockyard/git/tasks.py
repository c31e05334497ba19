"""`invoke hooks.*` and `invoke git.*`: thin wrappers over `dockyard.git.commands`."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.core.invocation import JSON_HELP, run


@task(name="install", help={"force": "replace a hook of the same name that dockyard did not write"})
def install(c: Context, force: bool = False, json: bool = False) -> None:
    """Install the git hooks: branch rule on push, deployment monitor after a push of main."""
    from dockyard.git import commands

    run(c, commands.hooks_install, json=json, force=force)


@task(name="uninstall", help=JSON_HELP)
def uninstall(c: Context, json: bool = False) -> None:
    """Remove dockyard's git hooks (any other hook stays)."""
    from dockyard.git import commands

    run(c, commands.hooks_uninstall, json=json)


@task(name="status", help=JSON_HELP)
def status(c: Context, json: bool = False) -> None:
    """Show which git hooks are installed, and what else is in their place."""
    from dockyard.git import commands

    run(c, commands.hooks_status, json=json)


@task(
    name="push",
    help={
        "remote": "the remote (default: [tool.dockyard.git] remote)",
        "branch": "the branch, which must be checked out (default: the current one)",
        "attempts": "at most this many pushes (default: [tool.dockyard.git] push_attempts)",
        **JSON_HELP,
    },
)
def push(
    c: Context, remote: str = "", branch: str = "", attempts: int = 0, json: bool = False
) -> None:
    """Push; when the remote moved on, fetch, rebase and retry with backoff."""
    from dockyard.git import commands

    run(
        c, commands.push, json=json,
        remote=remote or None, branch=branch or None, attempts=attempts or None,
    )  # fmt: skip


hooks_ns = Collection("hooks", install, uninstall, status)
ns = Collection("git", push)
