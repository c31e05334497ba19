"""`invoke release` for real: under the release lock, preflight (a real fetch, the world read,
the configured gates), then the steps up to publication (`ship`), then `deliver`.

`--resume` reads the same world and goes on from its first step not done: the image steps and
the publication of a release HEAD already carries, or its delivery once it is published.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from dockyard.core import proc
from dockyard.core.console import Steps
from dockyard.core.errors import DockyardError, ExitCode
from dockyard.core.invocation import Invocation
from dockyard.core.output import show
from dockyard.release import deliver, gitops, plan, ship
from dockyard.release.shipped import Shipped
from dockyard.release.world import Survey, survey

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.registry.client import RegistryClient

GATE_TIMEOUT = 3600.0
GATE_LINES = 8


class PreflightError(DockyardError):
    """Preflight found problems; nothing was written."""


def run(
    invocation: Invocation,
    registry: RegistryClient | None,
    host: str,
    *,
    part: str,
    resume: bool,
    to: str,
    yes: bool,
) -> int:
    """Preflight, the steps to publication, then delivery; the exit code."""
    config = invocation.config
    settings = config.release
    started = time.monotonic()
    steps = Steps(invocation.console, total=1 + len(ship.STEPS))
    with steps.step("preflight") as record:
        gitops.fetch(
            config.root, settings.remote or config.git.remote,
            settings.branch or config.git.main_branch,
        )  # fmt: skip
        found = survey(
            config, part=part, new_release=not resume, registry=registry, registry_host=host,
            environ=invocation.environ,
        )  # fmt: skip
        if found.version is None:
            record.status, record.detail = "skip", "nothing to release"
        else:
            problems = _problems(invocation, found, registry)
            if problems:
                record.status = "fail"
                record.detail = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
                raise PreflightError(
                    "preflight found problems; nothing was written:\n"
                    + "\n".join(f"  - {problem}" for problem in problems),
                    hint="fix them all, then run `invoke release` again",
                )
            record.detail = f"release {found.version}: all checks pass"
    if found.version is None:
        reason = found.bump.reason if found.bump else ""
        invocation.console.print(f"nothing to release: {reason}", markup=False)
        document = {"version": None, "reason": reason, "steps": steps.summary(), "exit_code": 0}
        show(invocation, document, _none)
        return ExitCode.OK
    start = _start(found, resume=resume)
    if start == "complete":
        invocation.console.print(f"{found.version} is released everywhere", markup=False)
        show(invocation, {**_document(found, steps, None, started), "exit_code": 0}, _none)
        return ExitCode.OK
    shipped = _shipped(invocation, found, host) if start == "deliver" else None
    if shipped is None:
        if registry is None:
            raise DockyardError("no registry", hint="set [tool.dockyard.registry] url")
        where = _registry(invocation, registry, host)
        shipped = ship.ship(invocation, found, where, steps, start=start)
    if not invocation.as_json:
        _published(invocation.console, shipped)
    publication = _document(found, steps, shipped, started)
    return deliver.deliver(invocation, shipped, to=to, yes=yes, publication=publication)


def _start(found: Survey, *, resume: bool) -> str:
    """Where this run begins: a step of `ship`, "deliver", or "complete"."""
    if not resume:
        return "local"
    step = plan.next_step(found.steps)
    if found.bump is not None or found.world is None:
        raise DockyardError(
            "nothing to resume: HEAD carries no release tag",
            hint="`invoke release.status` shows where things stand; `invoke release` starts one",
        )
    if step is None:
        return "complete"
    if step.name in ship.STEPS:
        return step.name
    if step.name in plan.LOCAL or step.name == "preflight":
        return "local"
    return "deliver"


# What a pipeline gives the release to publish with, and the gates (the project's own tests and
# tools) have no business holding.
PUBLISHING_CREDENTIALS = ("GITHUB_TOKEN", "GH_TOKEN", "GIT_CONFIG_COUNT")


def _without_credentials(invocation: Invocation) -> dict[str, str]:
    """The environment for the gates: without the push token, the git credential helper, the
    registry's credentials or the webhook's address."""
    config = invocation.config
    dropped = {
        *PUBLISHING_CREDENTIALS,
        config.registry.username_variable,
        config.registry.password_variable,
        config.deploy.webhook_variable,
    }
    return {
        key: value
        for key, value in invocation.environ.items()
        if key not in dropped and not key.startswith("GIT_CONFIG_")
    }


def _problems(invocation: Invocation, found: Survey, registry: RegistryClient | None) -> list[str]:
    """Every reason not to start, all at once: the world's, the registry's, the gates'."""
    problems = list(found.world.problems) if found.world else []
    if registry is None:
        problems.append(
            "registry: [tool.dockyard.registry] url is not set: a release publishes nothing "
            "until the registry confirms its image (`invoke registry.up` runs a local one)"
        )
    gates_environ = _without_credentials(invocation)
    for gate in invocation.config.release.gates:
        done = proc.run(
            ["nox", "--session", gate], cwd=invocation.config.root, env=gates_environ,
            timeout=GATE_TIMEOUT, check=False,
        )  # fmt: skip
        if not done.ok:
            problems.append(
                f"gate `nox -s {gate}` failed (exit {done.returncode}):\n{done.tail(GATE_LINES)}"
            )
    return problems


def _registry(invocation: Invocation, api: RegistryClient, host: str) -> ship.Registry:
    from dockyard.registry.plan import credentials, repository

    config = invocation.config
    return ship.Registry(api, host, repository(config), credentials(config, invocation.environ))


def _shipped(invocation: Invocation, found: Survey, host: str) -> Shipped:
    """The published release a resumed run delivers, as the world and the registry say."""
    from dockyard.registry.plan import repository

    world = found.world
    if world is None or world.registry_digest is None:
        raise DockyardError(
            f"{found.tag} is published, but the registry has no image for it",
            hint="`invoke registry.status` and `invoke release.status` say more",
        )
    return Shipped(
        version=world.version,
        tag=world.tag,
        repository=f"{host}/{repository(invocation.config)}",
        digest=world.registry_digest,
        changelog=ship.tag_notes(invocation.config.root, world.tag),
    )


def _document(
    found: Survey, steps: Steps, shipped: Shipped | None, started: float
) -> dict[str, Any]:
    return {
        "version": found.version,
        "tag": found.tag,
        "published": shipped is not None or bool(found.world and plan.published(found.world)),
        "image": shipped.image if shipped else None,
        "digest": shipped.digest if shipped else None,
        "steps": steps.summary(),
        "seconds": round(time.monotonic() - started, 2),
    }


def _none(_console: Console) -> None:
    return None


def _published(console: Console, shipped: Shipped) -> None:
    console.print(f"published {shipped.tag}: the registry serves {shipped.image}", markup=False)
