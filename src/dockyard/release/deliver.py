"""After publication: staging, its smoke test, the promotion to production, the notification.

Each step is skipped when the world says it is done (the instance's running containers run the
release's digest, the history records the smoke test and the notification), so the same call
serves a release and its `--resume`. A failed staging deploy never reaches production; a failed
production deploy or smoke test leaves production on the version it served before.
"""

from __future__ import annotations

import datetime as dt
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dockyard.core.errors import ConfigError, DockyardError, ExitCode
from dockyard.core.invocation import Invocation
from dockyard.core.output import Rows, print_rows, show
from dockyard.release import announce
from dockyard.release.shipped import Shipped

if TYPE_CHECKING:
    from rich.console import Console

TARGETS = ("staging", "production")
COLUMNS = ("step", "state", "seconds", "detail")


class ConfirmationNeededError(DockyardError):
    """Production needs a yes, and nobody is there to give it."""

    exit_code = ExitCode.CONFIG


class ReleaseDeliveryError(DockyardError):
    """A deploy or smoke test of the release failed; what it left is in the message."""


@dataclass
class Run:
    """The steps of one delivery as they happen, and how it ends."""

    invocation: Invocation
    shipped: Shipped
    steps: list[dict[str, Any]] = field(default_factory=list)
    reached: dict[str, str] = field(default_factory=dict)  # instance -> how it ended there
    result: str = "succeeded"
    reason: str = ""
    publication: Mapping[str, Any] = field(default_factory=dict)

    def document(self, code: int) -> dict[str, Any]:
        """The run's one document: the publication's steps (when this run published) and the
        delivery's, in order, how it ended and the exit code."""
        shipped = self.shipped
        published = [_as_delivery_step(step) for step in self.publication.get("steps", ())]
        seconds = float(self.publication.get("seconds", 0.0))
        return {
            **self.publication,
            "version": shipped.version, "tag": shipped.tag, "image": shipped.image,
            "digest": shipped.digest, "published": True, "result": self.result,
            "reason": self.reason, "instances": self.reached,
            "steps": [*published, *self.steps], "exit_code": code,
            "seconds": round(seconds + sum(step["seconds"] for step in self.steps), 2),
        }  # fmt: skip


def _as_delivery_step(step: Mapping[str, Any]) -> dict[str, Any]:
    """A step of the publication in the delivery's words (`done`, `failed`)."""
    state = {"ok": "done", "fail": "failed"}.get(step["status"], step["status"])
    return {"step": step["step"], "state": state, "seconds": step["seconds"],
            "detail": step["detail"]}  # fmt: skip


def deliver(
    invocation: Invocation,
    shipped: Shipped,
    *,
    to: str,
    yes: bool,
    publication: Mapping[str, Any] | None = None,
) -> int:
    """Deploy `shipped` to staging and smoke-test it; with `to="production"`, promote it after
    confirmation (`yes` for pipelines). Returns the exit code. `publication` is what the run
    did before (its document): with `--json`, the run prints one document, that and this."""
    if to not in TARGETS:
        raise ConfigError("--to", [f"expected one of {', '.join(TARGETS)}, got {to!r}"])
    run = Run(invocation, shipped, publication=publication or {})
    try:
        _deliver(invocation, run, to=to, yes=yes)
    except ConfirmationNeededError as error:
        run.result, run.reason = "interrupted", error.message.splitlines()[0]
        _finish(invocation, run, error.exit_code)
        raise
    except DockyardError as error:
        run.result = "failed" if run.result == "succeeded" else run.result
        run.reason = run.reason or error.message.splitlines()[0]
        _finish(invocation, run, error.exit_code)
        raise
    except KeyboardInterrupt:
        run.result, run.reason = "interrupted", "interrupted"
        _finish(invocation, run, ExitCode.INTERRUPTED)
        raise
    _finish(invocation, run, ExitCode.OK)
    return int(ExitCode.OK)


def _deliver(invocation: Invocation, run: Run, *, to: str, yes: bool) -> None:
    from dockyard.release.world import instance_facts

    config = invocation.config
    shipped = run.shipped
    staging, production = config.release.staging, config.release.production
    facts = instance_facts(config, invocation.environ, shipped)

    def passed(instance: str) -> bool:  # a smoke test of what the instance still serves
        return facts.serves(instance) and instance in facts.recorded.smoke_passed

    _deploy(invocation, run, staging, done=facts.serves(staging))
    _smoke(invocation, run, staging, done=passed(staging))
    run.reached[staging] = "smoke test passed"
    if to == "staging":
        return
    if not facts.serves(production):
        _confirm(invocation, shipped, production, yes=yes)
    _deploy(invocation, run, production, done=facts.serves(production))
    _smoke(invocation, run, production, done=passed(production))
    run.reached[production] = "smoke test passed"


def _deploy(invocation: Invocation, run: Run, instance: str, *, done: bool) -> None:
    """The exact digest to `instance` through the health-gated deploy; a production that
    fails it is left (the switch undoes itself) on the version it served."""
    from dockyard.deploy import instances
    from dockyard.deploy.guarded import engine_client, run_guarded
    from dockyard.deploy.pull import pin

    shipped = run.shipped
    name = f"deploy {instance}"
    if done:
        _record_step(run, name, "done", 0.0, f"{instance} already runs {shipped.image}")
        return
    began = time.monotonic()
    try:
        found = instances.load_instance(invocation.config, instance)
        client = engine_client(invocation)
        pinned = pin(client, invocation.config, shipped.image, version=shipped.version)
        outcome = run_guarded(
            invocation, found, "deploy", pinned.version, migrate=True, force=False,
            client=client, image=pinned.reference,
        )  # fmt: skip
    except DockyardError as error:
        seconds = time.monotonic() - began
        why = error.message.splitlines()[0]
        _record_step(run, name, "failed", seconds, why)
        run.reached[instance] = f"deploy failed: {why}"
        if instance == invocation.config.release.production:
            run.result = "rolled back"
        raise ReleaseDeliveryError(
            f"{shipped.version} did not go live on {instance}: {error.message}",
            hint=_next_hint(invocation, instance),
        ) from None
    was = f" (was {outcome.previous})" if outcome.previous else ""
    _record_step(run, name, "done", time.monotonic() - began, f"live{was}")


def _smoke(invocation: Invocation, run: Run, instance: str, *, done: bool) -> None:
    """The smoke test through `instance`'s proxy; on production a failure rolls it back."""
    from dockyard.deploy import instances
    from dockyard.deploy.guarded import target_for
    from dockyard.stack.health import smoke_test

    config = invocation.config
    name = f"smoke {instance}"
    if done:
        _record_step(run, name, "done", 0.0, "passed before")
        return
    began = time.monotonic()
    found = instances.load_instance(config, instance)
    target = target_for(config, found, invocation.environ)
    try:
        results = smoke_test(target.base_url, config.smoke)
    except DockyardError as error:
        why = error.message.splitlines()[0]
        _record_step(run, name, "failed", time.monotonic() - began, why)
        run.reached[instance] = f"smoke test failed: {why}"
        if instance == config.release.production:
            try:
                _roll_back(invocation, run, instance)
            except DockyardError as failure:  # said as it is: production may still serve it
                run.result = "failed"
                run.reason = f"smoke test failed ({why}); rollback failed: {failure.message}"
                raise
            run.result = "rolled back"
        raise ReleaseDeliveryError(
            f"the smoke test of {run.shipped.version} on {instance} failed: {error.message}",
            hint=_next_hint(invocation, instance),
        ) from None
    _record(invocation, run, instance, "succeeded", notes=(f"{announce.SMOKE_NOTE}{instance}",))
    _record_step(run, name, "done", time.monotonic() - began, f"{len(results)} requests")


def _roll_back(invocation: Invocation, run: Run, instance: str) -> None:
    """The existing rollback: back to the version the instance served before the release."""
    from dockyard.deploy import history, instances
    from dockyard.deploy.guarded import run_guarded

    began = time.monotonic()
    found = instances.load_instance(invocation.config, instance)

    def choose(records: tuple[history.Record, ...]) -> str:
        before = history.previous_version(records, instance)
        if before is None:
            raise ReleaseDeliveryError(
                f"{instance} has no version to roll back to",
                hint=f"deploy a good version: invoke deploy --instance {instance} --image TAG",
            )
        return before

    outcome = run_guarded(invocation, found, "rollback", choose, migrate=False, force=False)
    detail = f"back to {outcome.version}"
    _record_step(run, f"rollback {instance}", "done", time.monotonic() - began, detail)
    run.reached[instance] += f"; rolled back to {outcome.version}"


def _confirm(invocation: Invocation, shipped: Shipped, production: str, *, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfirmationNeededError(
            f"promoting {shipped.version} to {production} needs a confirmation, and there is "
            f"no terminal to ask on; {production} was not touched",
            hint="run `invoke release --resume --yes` to promote it without a prompt",
        )
    from rich.prompt import Confirm

    try:
        confirmed = Confirm.ask(
            f"promote {shipped.version} ({shipped.image}) to {production}?",
            console=invocation.console,
            default=False,
        )
    except EOFError:  # the terminal closed while asking: not a yes
        confirmed = False
    if not confirmed:
        raise ConfirmationNeededError(
            f"{shipped.version} was not promoted to {production}: not confirmed",
            hint="run `invoke release --resume --to production` when it should go",
        )


def _next_hint(invocation: Invocation, instance: str) -> str:
    if instance == invocation.config.release.staging:
        return (
            f"{instance} still serves the version it served before and production was not "
            "touched; the next release supersedes this one, or `invoke release --resume` "
            "tries this one again"
        )
    return (
        f"{instance} serves the version it served before; `invoke release.status` shows the "
        "release, `invoke release --resume --to production` tries again"
    )


def _record_step(run: Run, name: str, state: str, seconds: float, detail: str) -> None:
    step = {"step": name, "state": state, "seconds": round(seconds, 1), "detail": detail}
    run.steps.append(step)
    if not run.invocation.as_json:
        run.invocation.console.print(
            f"[bold]{name}[/bold]: {state} in {seconds:.1f} s: {detail}", highlight=False
        )


def _record(
    invocation: Invocation,
    run: Run,
    instance: str,
    result: str,
    *,
    notes: tuple[str, ...] = (),
    reason: str = "",
    seconds: float = 0.0,
) -> None:
    """A `release` record of the version in the deploy history."""
    from dockyard.deploy import history
    from dockyard.deploy.guarded import Places, holder_user
    from dockyard.deploy.lock import utc_timestamp

    places = Places.of(invocation.config)
    current = history.current_version(
        history.read(places.history, instance=instance).records, instance
    )
    record = history.Record(
        instance=instance, action="release", version=run.shipped.version, previous=current,
        user=holder_user(invocation), started=utc_timestamp(dt.datetime.now(dt.UTC)),
        duration_seconds=seconds, result=result,  # type: ignore[arg-type]
        reason=reason, notes=(f"{announce.IMAGE_NOTE}{run.shipped.image}", *notes),
    )  # fmt: skip
    history.append(places.history, record)


def _finish(invocation: Invocation, run: Run, code: int) -> None:
    """Notify, record the end in the history, show the steps."""
    began = time.monotonic()
    said = _notify(invocation, run)
    _record_step(run, "notify", "done", time.monotonic() - began, said)
    last = next(reversed(run.reached), invocation.config.release.staging)
    result = "succeeded" if run.result == "succeeded" else (
        "interrupted" if run.result == "interrupted" else "failed"
    )  # fmt: skip
    reason = f"{run.result}: {run.reason}" if run.reason else ""
    _record(
        invocation, run, last, result, reason=reason, notes=(f"{announce.NOTIFY_NOTE}{said}",),
        seconds=sum(step["seconds"] for step in run.steps),
    )  # fmt: skip
    _show(invocation, run, code)


def _notify(invocation: Invocation, run: Run) -> str:
    from dockyard.deploy import instances, notify, webhook
    from dockyard.deploy.guarded import holder_user, webhook_url

    config = invocation.config
    last = next(reversed(run.reached), config.release.staging)
    url = webhook_url(invocation, instances.load_instance(config, last))
    if not url:
        return f"no webhook ({config.deploy.webhook_variable} is not set)"
    event = notify.Event(
        kind="release", result=run.result,  # type: ignore[arg-type]
        instance=last, version=run.shipped.version, previous=None,
        duration_seconds=sum(step["seconds"] for step in run.steps),
        user=holder_user(invocation), reason=run.reason, host=socket.gethostname(),
    )  # fmt: skip
    base = notify.payload(event, project=config.project, run=notify.run_url(invocation.environ))
    body = announce.release_payload(
        base, tag=run.shipped.tag, image=run.shipped.image,
        changelog=run.shipped.changelog, reached=run.reached,
    )  # fmt: skip
    deploy = config.deploy
    delivery = webhook.send(
        url, body, timeout=deploy.webhook_timeout_seconds, attempts=deploy.webhook_attempts,
        budget=deploy.webhook_timeout_seconds * deploy.webhook_attempts + 2,
        log=lambda line: invocation.console.print(f"[yellow]notify: {line}[/yellow]"),
    )  # fmt: skip
    where = webhook.redact(url)
    return f"notified {where}" if delivery.delivered else f"not delivered to {where}"


def _show(invocation: Invocation, run: Run, code: int) -> None:
    shipped = run.shipped
    ended = f"release {shipped.version} ({shipped.tag}, {shipped.image}): {run.result}"
    if run.reason:
        ended += f": {run.reason}"

    def people(console: Console) -> None:
        print_rows(console, Rows(COLUMNS, run.steps))
        console.print(ended, markup=False, highlight=False, soft_wrap=True)

    show(invocation, run.document(int(code)), people)
