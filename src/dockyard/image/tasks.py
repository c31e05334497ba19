"""`invoke image.*`: thin wrappers over `dockyard.image.commands`."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.core.invocation import JSON_HELP, run


@task(
    name="build",
    help={
        "base": "base image (default: local stand-in or official)",
        "no_cache": "build every layer again",
    },
)
def build(c: Context, base: str = "", no_cache: bool = False) -> None:
    """Build the service's production image, tagged version, git revision and latest."""
    from dockyard.image import commands

    run(c, commands.build, base=base or None, no_cache=no_cache)


@task(
    name="base",
    help={
        "rebuild": "build every base image again, even those up to date",
        "if_needed": "only when the official images can neither be found nor pulled",
        **JSON_HELP,
    },
)
def base(c: Context, rebuild: bool = False, if_needed: bool = False, json: bool = False) -> None:
    """Build the stack's base images from Debian packages, for machines without a registry."""
    from dockyard.image import commands

    run(c, commands.base, json=json, rebuild=rebuild, if_needed=if_needed)


@task(
    name="scan",
    help={
        "image": "image to scan (default: the service's)",
        "dockerfile": "its Dockerfile",
        **JSON_HELP,
    },
)
def scan(c: Context, image: str = "", dockerfile: str = "", json: bool = False) -> None:
    """Report an image's size against the budget, its packages and its Dockerfile's lint."""
    from dockyard.image import commands

    run(c, commands.scan, json=json, image=image, dockerfile=dockerfile)


ns = Collection("image", build, base, scan)
