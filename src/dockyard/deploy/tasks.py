"""`invoke deploy.*` and `invoke rollback`: thin wrappers over `dockyard.deploy.commands`."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.core.invocation import JSON_HELP, run

INSTANCE_HELP = {"instance": "instance id: a file env/instances/<id>.toml"}
FORCE_HELP = {"force": "take over a lock that a live process holds (recorded in the history)"}


@task(
    name="run",
    default=True,
    help={
        **INSTANCE_HELP,
        **FORCE_HELP,
        **JSON_HELP,
        "image": "image tag, or <repository>@sha256:... (pulled when missing); default: the "
        "instance's pinned tag, else this version",
    },
)
def deploy(
    c: Context, instance: str, image: str = "", force: bool = False, json: bool = False
) -> None:
    """Deploy with zero downtime: new version beside the old, health-gated proxy switch."""
    from dockyard.deploy import commands

    run(c, commands.deploy, json=json, instance=instance, image=image or None, force=force)


@task(
    name="all",
    help={
        "image": "image tag to deploy everywhere",
        "keep_going": "go on with the next instance after one fails",
        **JSON_HELP,
    },
)
def deploy_all(c: Context, image: str = "", keep_going: bool = False, json: bool = False) -> None:
    """Deploy every instance in order and print a summary table."""
    from dockyard.deploy import commands

    run(c, commands.deploy_all, json=json, image=image or None, keep_going=keep_going)


@task(name="unlock", help={**INSTANCE_HELP, "force": "remove the lock even if its holder lives"})
def unlock(c: Context, instance: str, force: bool = False) -> None:
    """Release an instance's deploy lock left by a process that is gone."""
    from dockyard.deploy import commands

    run(c, commands.unlock, instance=instance, force=force)


@task(name="history", help={"instance": "only this instance", **JSON_HELP})
def history(c: Context, instance: str = "", json: bool = False) -> None:
    """Print the deploy history: who deployed what, when, how long, and the result."""
    from dockyard.deploy import commands

    run(c, commands.history, json=json, instance=instance or None)


@task(name="status", help={"instance": "only this instance", **JSON_HELP})
def status(c: Context, instance: str = "", json: bool = False) -> None:
    """What each instance serves, and what its deployment monitor says."""
    from dockyard.deploy import commands

    run(c, commands.status, json=json, instance=instance or None)


@task(
    name="monitors",
    help={"stop": "stop this instance's monitor", "cleanup": "remove finished monitors' files"},
)
def monitors(c: Context, stop: str = "", cleanup: bool = False, json: bool = False) -> None:
    """List the background deployment monitors; stop one; clean up after finished ones."""
    from dockyard.deploy import commands

    run(c, commands.monitors, json=json, stop=stop or None, cleanup=cleanup)


@task(
    help={
        **INSTANCE_HELP,
        **FORCE_HELP,
        **JSON_HELP,
        "to": "a retained version (default: the one before the live one)",
    }
)
def rollback(
    c: Context, instance: str, to: str = "", force: bool = False, json: bool = False
) -> None:
    """Go back to the previous (or a retained) version through the same health-gated switch."""
    from dockyard.deploy import commands

    run(c, commands.rollback, json=json, instance=instance, to=to or None, force=force)


# `rollback` is a top-level task: the project's tasks.py adds it beside this collection.
ns = Collection("deploy", deploy, deploy_all, unlock, history, status, monitors)
