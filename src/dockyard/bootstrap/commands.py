"""`invoke bootstrap`: from a fresh clone to a running, smoke-tested stack.

doctor → env files → base images (when no registry has them) → service image →
stack up → wait until ready → smoke test → summary. Each step shows its time; a
failed step says what failed, shows the relevant output and how to resume (run
`invoke bootstrap` again: every step is idempotent, and a re-run with nothing
changed only checks). Without a Docker engine it still does everything that
does not need one, then says exactly what is missing and how to get it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dockyard.core.config import Config
from dockyard.core.console import Steps, render_checks
from dockyard.core.errors import DockyardError, ExitCode
from dockyard.core.invocation import Invocation
from dockyard.core.output import show
from dockyard.core.results import CheckResult, Status
from dockyard.doctor.checks import Host, run_doctor

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.core.console import StepRecord

ENGINE_CHECKS = {"docker engine", "compose", "buildkit"}
PROFILE = "development"
STEP_NAMES = (
    "check the machine (doctor)",
    "write env files",
    "base images",
    "build the service image",
    "start the stack and wait until it is ready",
    "smoke test through the proxy",
)


@dataclass
class Outcome:
    """What bootstrap did and what is left for the user to do."""

    missing: list[CheckResult] = field(default_factory=list)
    failure: DockyardError | None = None
    failed_step: str = ""
    new_secrets: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing and self.failure is None


def bootstrap(invocation: Invocation) -> int:
    config = invocation.config
    console = invocation.console
    steps = Steps(console, total=len(STEP_NAMES))
    outcome = Outcome()
    started = time.monotonic()

    with steps.step(STEP_NAMES[0]) as record:
        results = run_doctor(config, Host(invocation.environ, config.root))
        outcome.missing = [result for result in results if result.status is Status.FAIL]
        if outcome.missing:
            render_checks(console, outcome.missing)
            record.status = "warn"
            record.detail = f"{len(outcome.missing)} problem(s); doing what does not need them"

    engine = not any(result.name in ENGINE_CHECKS for result in outcome.missing)
    actions: list[Callable[[StepRecord], None]] = [
        lambda record: _write_env_files(config, record, outcome),
        lambda record: _base_images(invocation, record),
        lambda record: _service_image(invocation, record),
        lambda record: _start_stack(invocation, record, outcome),
        lambda record: _smoke_test(config, record, outcome),
    ]
    for name, action in zip(STEP_NAMES[1:], actions, strict=True):
        needs_engine = name != STEP_NAMES[1]
        with steps.step(name) as record:
            if outcome.failure is not None:
                record.status, record.detail = (
                    "skip",
                    f"after the failure in: {outcome.failed_step}",
                )
            elif needs_engine and not engine:
                record.status, record.detail = "skip", "needs a Docker engine"
            else:
                try:
                    action(record)
                except DockyardError as error:
                    record.status, record.detail = "fail", error.message.splitlines()[0]
                    outcome.failure, outcome.failed_step = error, name
    elapsed = time.monotonic() - started
    _report(invocation, steps, outcome, elapsed)
    if outcome.failure is not None:
        return int(outcome.failure.exit_code)
    return ExitCode.OK if outcome.complete else ExitCode.FAILED


# ------------------------------------------------------------------- steps ---


def _write_env_files(config: Config, record: StepRecord, outcome: Outcome) -> None:
    """Create the development env file from the schema; never touch existing values."""
    from dockyard.env.commands import ensure_profile
    from dockyard.env.store import schema_of

    added = ensure_profile(config, PROFILE)
    outcome.new_secrets = [name for name in schema_of(config).secrets() if name in added]
    target = f"{config.env_dir}/.env.{PROFILE}"
    record.detail = f"{target}: added {len(added)} variables" if added else f"{target} complete"


def _base_images(invocation: Invocation, record: StepRecord) -> None:
    """Use the configured images when the engine has them or can pull them; otherwise build
    the local stand-ins from Debian packages (the offline path)."""
    from dockyard.image.commands import build_base_images, unavailable_images

    missing = unavailable_images(invocation.config, invocation.environ)
    if not missing:
        record.status, record.detail = "skip", "every image the stack runs is present"
        return
    invocation.console.print(f"  not available: {', '.join(missing)}; building local stand-ins")
    done = build_base_images(invocation.config, invocation.environ, invocation.console)
    built = [entry["name"] for entry in done.images if entry["built"]]
    record.detail = f"built {len(built)} local image(s), recorded in {done.state_file}"


def _service_image(invocation: Invocation, record: StepRecord) -> None:
    from dockyard.image.build import gather, plan_build, run_build

    config = invocation.config
    plan = plan_build(config, gather(config, invocation.environ))
    result = run_build(plan, invocation.environ)
    record.detail = f"{plan.tags[0]} ({result.size_bytes / 1_000_000:.0f} MB)"


def _start_stack(invocation: Invocation, record: StepRecord, outcome: Outcome) -> None:
    from dockyard.stack.commands import start

    if outcome.new_secrets:
        _refuse_old_volumes(invocation, outcome.new_secrets)
    readiness = start(invocation, PROFILE)
    record.detail = f"ready in {max(readiness.services.values(), default=0):.1f} s"


def _smoke_test(config: Config, record: StepRecord, outcome: Outcome) -> None:
    from dockyard.stack.commands import base_url
    from dockyard.stack.health import smoke_test

    url = base_url(config)
    results = smoke_test(url, config.smoke)
    outcome.urls.append(url)
    record.detail = ", ".join(f"{r.method} {r.path} {r.status}" for r in results)


def _refuse_old_volumes(invocation: Invocation, new_secrets: list[str]) -> None:
    """New secrets meet data volumes made with the old ones: PostgreSQL and Redis keep the
    passwords they were first started with, so the stack could never log in. Say so, and
    leave the data alone."""
    from dockyard.core.engine import connect

    config = invocation.config
    label = f"com.docker.compose.project={config.project}"
    client = connect(invocation.environ)
    try:
        volumes = sorted(volume.name for volume in client.volumes.list(filters={"label": label}))
    finally:
        client.close()
    if volumes:
        raise DockyardError(
            f"{config.env_dir}/.env.{PROFILE} was just created with new secrets "
            f"({', '.join(new_secrets)}), but data volumes from an earlier setup are still "
            f"there ({', '.join(volumes)}) and keep the passwords they were made with",
            hint="restore the env file those volumes were made with, or delete the volumes "
            "and their data: .venv/bin/invoke stack.down --volumes",
        )


# ------------------------------------------------------------------ report ---


def _report(invocation: Invocation, steps: Steps, outcome: Outcome, elapsed: float) -> None:
    config = invocation.config
    next_steps = [fix for result in outcome.missing if (fix := result.fix)]
    if outcome.failure is not None:
        next_steps.append(
            "once the failure above is fixed: .venv/bin/invoke bootstrap (it redoes only what "
            "is needed)"
        )
    next_steps += [
        "run every gate and test: .venv/bin/nox -s ci",
        "see the stack: .venv/bin/invoke stack.health   stop it: .venv/bin/invoke stack.down",
    ]
    credentials = f"{config.env_dir}/.env.{PROFILE} (mode 0600, git-ignored)"
    document = {
        "ok": outcome.complete,
        "seconds": round(elapsed, 2),
        "steps": steps.summary(),
        "missing": [result.as_dict() for result in outcome.missing],
        "failed_step": outcome.failed_step or None,
        "error": str(outcome.failure) if outcome.failure else None,
        "urls": outcome.urls,
        "credentials": credentials,
        "next": next_steps,
    }

    def lines(console: Console) -> None:
        if outcome.failure is not None:
            console.print(f"\n[bold red]{outcome.failed_step} failed:[/]")
            console.print(str(outcome.failure), markup=False)
        verdict = "[green]done[/]" if outcome.complete else "[bold red]incomplete[/]"
        console.print(f"\nbootstrap {verdict} in {elapsed:.1f} s")
        for url in outcome.urls:
            console.print(f"  service:     {url}  (health: {url}{config.health.ready_path})")
        console.print(f"  credentials: {credentials}")
        console.print("next:")
        for line in next_steps:
            console.print(f"  - {line}", markup=False)

    show(invocation, document, lines)
