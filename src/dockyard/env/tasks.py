"""`invoke env.*`: thin wrappers over `dockyard.env.commands`."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.core.invocation import JSON_HELP, PROFILE_HELP, run


@task(name="check", help={**PROFILE_HELP, **JSON_HELP})
def check(c: Context, profile: str = "", json: bool = False) -> None:
    """Validate env files against env/schema.toml, reporting every problem at once."""
    from dockyard.env import commands

    run(c, commands.check, json=json, profile=profile)


@task(name="init", help=PROFILE_HELP)
def init(c: Context, profile: str = "development") -> None:
    """Write a profile's env file, generating strong secrets; existing values are kept."""
    from dockyard.env import commands

    run(c, commands.init, profile=profile)


@task(name="diff", positional=["a", "b"], help=JSON_HELP)
def diff(c: Context, a: str, b: str, json: bool = False) -> None:
    """Compare two profiles' env files without ever printing a secret."""
    from dockyard.env import commands

    run(c, commands.diff, json=json, a=a, b=b)


@task(name="rotate", positional=["key"], help={"key": "the secret to replace", **PROFILE_HELP})
def rotate(c: Context, key: str, profile: str = "development") -> None:
    """Replace a secret with a new random value and record when and by whom."""
    from dockyard.env import commands

    run(c, commands.rotate, key=key, profile=profile)


@task(name="render")
def render(c: Context) -> None:
    """Regenerate the env examples and variables table, and the settings reference page."""
    from dockyard.env import commands

    run(c, commands.render)


ns = Collection("env", check, init, diff, rotate, render)
