"""`invoke bootstrap`: doctor, env files, then the stack; a step list with timings and a summary.

Without a Docker engine it still does everything that does not need one, then
says exactly what is missing and how to get it (and exits non-zero, because
the job is not done).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dockyard.cli import Invocation
from dockyard.config import Config
from dockyard.console import Steps, print_json, render_checks
from dockyard.doctor import Host, run_doctor
from dockyard.errors import ExitCode
from dockyard.results import CheckResult, Status

ENGINE_CHECKS = {"docker engine", "compose", "buildkit"}
PROFILE = "development"


@dataclass
class Outcome:
    """What bootstrap did and what is left for the user to do."""

    missing: list[CheckResult] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing


def bootstrap(invocation: Invocation) -> int:
    config = invocation.config
    console = invocation.console
    steps = Steps(console, total=3)
    outcome = Outcome()
    started = time.monotonic()

    with steps.step("check the machine (doctor)") as record:
        results = run_doctor(config, Host(invocation.environ, config.root))
        outcome.missing = [result for result in results if result.status is Status.FAIL]
        if outcome.missing:
            render_checks(console, outcome.missing)
            record.status = "warn"
            record.detail = (
                f"{len(outcome.missing)} problem(s); continuing with what does not need them"
            )

    with steps.step("write env files") as record:
        record.detail = _write_env_files(config)

    with steps.step("bring the stack up") as record:
        compose = [config.path(name) for name in config.compose_files]
        absent = [path.name for path in compose if not path.is_file()]
        engine_missing = any(result.name in ENGINE_CHECKS for result in outcome.missing)
        record.status = "skip"
        if absent:
            record.detail = f"no stack defined yet ({', '.join(absent)} not found)"
        elif engine_missing:
            record.detail = "needs a Docker engine"
        else:
            record.detail = "not yet automated: run `docker compose up --wait`"

    outcome.next_steps = [fix for result in outcome.missing if (fix := result.fix)]
    outcome.next_steps += [
        "run every gate and test: .venv/bin/nox -s ci",
        "check the machine again: .venv/bin/invoke doctor",
    ]
    elapsed = time.monotonic() - started
    if invocation.as_json:
        print_json(
            {
                "ok": outcome.complete,
                "seconds": round(elapsed, 2),
                "steps": steps.summary(),
                "missing": [result.as_dict() for result in outcome.missing],
                "next": outcome.next_steps,
            }
        )
    else:
        verdict = "done" if outcome.complete else "incomplete"
        console.print(f"\n[bold]bootstrap {verdict}[/] in {elapsed:.1f} s. Next:")
        for line in outcome.next_steps:
            console.print(f"  - {line}")
    return ExitCode.OK if outcome.complete else ExitCode.FAILED


def _write_env_files(config: Config) -> str:
    """Create the development env file from the schema; never touch existing values."""
    from dockyard.envcommands import ensure_profile

    added = ensure_profile(config, PROFILE)
    target = f"{config.env_dir}/.env.{PROFILE}"
    return f"{target}: added {', '.join(added)}" if added else f"{target} is complete"
