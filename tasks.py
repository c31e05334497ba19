"""dockyard's tasks: `invoke --list` shows everything the suite does.

Each task is a few lines that hand over to `src/dockyard/`; heavy imports
happen inside the tasks so that listing them stays fast.
"""

from __future__ import annotations

from pathlib import Path

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dockyard.cli import run

ROOT = Path(__file__).resolve().parent
JSON_HELP = {"json": "print machine-readable JSON instead of text"}
PROFILE_HELP = {"profile": "env profile: development, testing or production"}


@task(help=JSON_HELP)
def doctor(c: Context, json: bool = False) -> None:
    """Check this machine: Python, git, Docker engine, Compose, BuildKit, disk, ports, TLS."""
    from dockyard import commands

    run(ROOT, commands.doctor, json=json)


@task(help=JSON_HELP)
def bootstrap(c: Context, json: bool = False) -> None:
    """Take a fresh clone to a working setup: doctor, env files, then the stack."""
    from dockyard.bootstrap import bootstrap

    run(ROOT, bootstrap, json=json)


@task(help=JSON_HELP)
def audit(c: Context, json: bool = False) -> None:
    """Lint Dockerfiles, scan the tree for secrets, audit the locked dependencies."""
    from dockyard import commands

    run(ROOT, commands.audit, json=json)


# -------------------------------------------------------------------- env ---


@task(name="check", help={**PROFILE_HELP, **JSON_HELP})
def env_check(c: Context, profile: str = "", json: bool = False) -> None:
    """Validate env files against env/schema.toml, reporting every problem at once."""
    from dockyard import envcommands

    run(ROOT, envcommands.check, json=json, profile=profile)


@task(name="init", help=PROFILE_HELP)
def env_init(c: Context, profile: str = "development") -> None:
    """Write a profile's env file, generating strong secrets; existing values are kept."""
    from dockyard import envcommands

    run(ROOT, envcommands.init, profile=profile)


@task(name="diff", positional=["a", "b"], help=JSON_HELP)
def env_diff(c: Context, a: str, b: str, json: bool = False) -> None:
    """Compare two profiles' env files without ever printing a secret."""
    from dockyard import envcommands

    run(ROOT, envcommands.diff, json=json, a=a, b=b)


@task(name="rotate", positional=["key"], help={"key": "the secret to replace", **PROFILE_HELP})
def env_rotate(c: Context, key: str, profile: str = "development") -> None:
    """Replace a secret with a new random value and record when and by whom."""
    from dockyard import envcommands

    run(ROOT, envcommands.rotate, key=key, profile=profile)


@task(name="render")
def env_render(c: Context) -> None:
    """Regenerate the example env files and the variables table from env/schema.toml."""
    from dockyard import envcommands

    run(ROOT, envcommands.render)


# ------------------------------------------------------------------ image ---


@task(
    name="build",
    help={
        "base": "base image (default: local stand-in or official)",
        "no_cache": "build every layer again",
    },
)
def image_build(c: Context, base: str = "", no_cache: bool = False) -> None:
    """Build the service's production image, tagged version, git revision and latest."""
    from dockyard import imagecommands

    run(ROOT, imagecommands.build, base=base or None, no_cache=no_cache)


@task(
    name="base",
    help={"rebuild": "build every base image again, even those up to date", **JSON_HELP},
)
def image_base(c: Context, rebuild: bool = False, json: bool = False) -> None:
    """Build the stack's base images from Debian packages, for machines without a registry."""
    from dockyard import imagecommands

    run(ROOT, imagecommands.base, json=json, rebuild=rebuild)


@task(
    name="scan",
    help={
        "image": "image to scan (default: the service's)",
        "dockerfile": "its Dockerfile",
        **JSON_HELP,
    },
)
def image_scan(c: Context, image: str = "", dockerfile: str = "", json: bool = False) -> None:
    """Report an image's size against the budget, its packages and its Dockerfile's lint."""
    from dockyard import imagecommands

    run(ROOT, imagecommands.scan, json=json, image=image, dockerfile=dockerfile)


# ------------------------------------------------------------------ stack ---


@task(
    name="up",
    help={**PROFILE_HELP, **JSON_HELP, "dev": "bind-mount the source and reload on changes"},
)
def stack_up(
    c: Context, profile: str = "development", dev: bool = False, json: bool = False
) -> None:
    """Start the stack and wait until every service is healthy (or fail with its logs)."""
    from dockyard import stackcommands

    run(ROOT, stackcommands.up, json=json, profile=profile, dev=dev)


@task(name="down", help={"volumes": "also remove the data volumes: their data is lost"})
def stack_down(c: Context, volumes: bool = False) -> None:
    """Stop and remove the stack's containers; data volumes are kept."""
    from dockyard import stackcommands

    run(ROOT, stackcommands.down, volumes=volumes)


@task(name="ps", help=JSON_HELP)
def stack_ps(c: Context, json: bool = False) -> None:
    """List the stack's services and their containers' states."""
    from dockyard import stackcommands

    run(ROOT, stackcommands.ps, json=json)


@task(name="health", help=JSON_HELP)
def stack_health(c: Context, json: bool = False) -> None:
    """Report each service's health and the service's readiness through the proxy."""
    from dockyard import stackcommands

    run(ROOT, stackcommands.health, json=json)


@task(
    name="logs",
    help={
        "service": "one service (default: all)",
        "save": "write each service's full log to .dockyard/logs/<time>/",
        "tail": "lines per service to show",
    },
)
def stack_logs(c: Context, service: str = "", save: bool = False, tail: int = 100) -> None:
    """Show the stack's logs, or save them to files for later diagnosis."""
    from dockyard import stackcommands

    run(ROOT, stackcommands.logs, service=service, save=save, tail=tail)


# ----------------------------------------------------------------- deploy ---

INSTANCE_HELP = {"instance": "instance id: a file env/instances/<id>.toml"}
FORCE_HELP = {"force": "take over a lock that a live process holds (recorded in the history)"}


@task(
    name="run",
    default=True,
    help={
        **INSTANCE_HELP,
        **FORCE_HELP,
        **JSON_HELP,
        "image": "image tag to deploy (default: the instance's pinned tag, else this version)",
    },
)
def deploy_run(
    c: Context, instance: str, image: str = "", force: bool = False, json: bool = False
) -> None:
    """Deploy with zero downtime: new version beside the old, health-gated proxy switch."""
    from dockyard import deploycommands

    run(ROOT, deploycommands.deploy, json=json, instance=instance, image=image or None, force=force)


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
    from dockyard import deploycommands

    run(ROOT, deploycommands.deploy_all, json=json, image=image or None, keep_going=keep_going)


@task(name="unlock", help={**INSTANCE_HELP, "force": "remove the lock even if its holder lives"})
def deploy_unlock(c: Context, instance: str, force: bool = False) -> None:
    """Release an instance's deploy lock left by a process that is gone."""
    from dockyard import deploycommands

    run(ROOT, deploycommands.unlock, instance=instance, force=force)


@task(name="history", help={"instance": "only this instance", **JSON_HELP})
def deploy_history(c: Context, instance: str = "", json: bool = False) -> None:
    """Print the deploy history: who deployed what, when, how long, and the result."""
    from dockyard import deploycommands

    run(ROOT, deploycommands.history, json=json, instance=instance or None)


@task(name="status", help={"instance": "only this instance", **JSON_HELP})
def deploy_status(c: Context, instance: str = "", json: bool = False) -> None:
    """What each instance serves, and what its deployment monitor says."""
    from dockyard import deploycommands

    run(ROOT, deploycommands.status, json=json, instance=instance or None)


@task(
    name="monitors",
    help={"stop": "stop this instance's monitor", "cleanup": "remove finished monitors' files"},
)
def deploy_monitors(c: Context, stop: str = "", cleanup: bool = False, json: bool = False) -> None:
    """List the background deployment monitors; stop one; clean up after finished ones."""
    from dockyard import deploycommands

    run(ROOT, deploycommands.monitors, json=json, stop=stop or None, cleanup=cleanup)


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
    from dockyard import deploycommands

    run(ROOT, deploycommands.rollback, json=json, instance=instance, to=to or None, force=force)


ns = Collection(
    doctor,
    bootstrap,
    audit,
    Collection("env", env_check, env_init, env_diff, env_rotate, env_render),
    Collection("image", image_build, image_base, image_scan),
    Collection("stack", stack_up, stack_down, stack_ps, stack_health, stack_logs),
    Collection(
        "deploy",
        deploy_run,
        deploy_all,
        deploy_unlock,
        deploy_history,
        deploy_status,
        deploy_monitors,
    ),
    rollback,
)
