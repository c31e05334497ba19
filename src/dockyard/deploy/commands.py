"""`invoke deploy`, `deploy.all`, `rollback` and the deploy bookkeeping commands.

Each deploy or rollback runs guarded (`dockyard.deploy.guarded`): it holds its instance's lock
from start to end, is recorded in the history whatever its result, notifies the webhook, and
hands over to a background monitor.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import TYPE_CHECKING, Any

from dockyard.core.errors import DockyardError, ExitCode
from dockyard.core.ids import validate_id
from dockyard.core.invocation import Invocation
from dockyard.core.output import Rows, print_rows, show
from dockyard.deploy import history as deployhistory
from dockyard.deploy import instances
from dockyard.deploy import lock as deploylock
from dockyard.deploy.guarded import (
    Places,
    default_version,
    engine_client,
    read_records,
    run_guarded,
)
from dockyard.deploy.plan import rollback_target
from dockyard.image.build import image_ref

if TYPE_CHECKING:
    import docker
    from rich.console import Console

    from dockyard.core.config import Config
    from dockyard.deploy.instances import Instance
    from dockyard.deploy.target import Outcome

ALL_COLUMNS = ("instance", "version", "result", "seconds", "detail")
STATUS_COLUMNS = ("instance", "state", "version", "since", "monitor", "detail")
LOG_LINES = 30
MONITOR_COLUMNS = ("instance", "version", "state", "pid", "alive", "updated", "reason")


def deploy(
    invocation: Invocation, instance: str, image: str | None = None, *, force: bool = False
) -> int:
    """Deploy a version (an image tag, or `<repository>@sha256:...`: pulled when missing;
    default: the instance's pinned tag, else this checkout's version) to one instance."""
    from dockyard.deploy.pull import is_digest_reference, pin

    config = invocation.config
    found = instances.load_instance(config, instance)
    version = image or found.image or default_version(config)
    reference = None
    client = None
    if is_digest_reference(version):
        client = engine_client(invocation)
        pinned = pin(client, config, version)
        version, reference = pinned.version, pinned.reference
    outcome = run_guarded(
        invocation, found, "deploy", version, migrate=True, force=force, client=client,
        image=reference,
    )  # fmt: skip
    _report(invocation, found, outcome)
    return 0


def rollback(
    invocation: Invocation, instance: str, to: str | None = None, *, force: bool = False
) -> int:
    """Go back to the previous version (or `to`, if retained), through the same switch."""
    config = invocation.config
    found = instances.load_instance(config, instance)
    client = engine_client(invocation)

    def choose(records: tuple[deployhistory.Record, ...]) -> str:
        # Decided under the lock, from what is live once no other deploy can change it.
        deployed = deployhistory.deployed_versions(records, found.id)
        keep = deployed[: config.deploy.keep_versions]
        retained = [v for v in keep if _has_image(client, config, v)]
        current = deployhistory.current_version(records, found.id)
        return rollback_target(deployed, current, to, retained)

    outcome = run_guarded(
        invocation, found, "rollback", choose, migrate=False, force=force, client=client
    )
    _report(invocation, found, outcome)
    return 0


def deploy_all(
    invocation: Invocation, image: str | None = None, *, keep_going: bool = False
) -> int:
    """Deploy every instance in order; stop at the first failure unless `keep_going`."""
    config = invocation.config
    rows: list[dict[str, Any]] = []
    failed = False
    for found in instances.load_all(config):
        version = image or found.image or default_version(config)
        if failed and not keep_going:
            rows.append(_row(found.id, version, "skipped", 0.0, "an earlier instance failed"))
            continue
        invocation.console.print(f"[bold]{found.id}[/bold]: deploying {version}")
        began = time.monotonic()
        try:
            outcome = run_guarded(invocation, found, "deploy", version, migrate=True, force=False)
        except DockyardError as error:
            failed = True
            invocation.console.print(f"[red]{found.id}: {error.message}[/red]")
            seconds = time.monotonic() - began
            rows.append(_row(found.id, version, "failed", seconds, error.message.splitlines()[0]))
            continue
        was = f"was {outcome.previous or 'not running'}"
        rows.append(_row(found.id, version, "succeeded", outcome.seconds, was))
    show(invocation, rows, Rows(ALL_COLUMNS, rows))
    return int(ExitCode.FAILED) if failed else 0


def _row(instance: str, version: str, result: str, seconds: float, detail: str) -> dict[str, Any]:
    """One line of the `deploy.all` summary."""
    return dict(
        zip(ALL_COLUMNS, (instance, version, result, round(seconds, 1), detail), strict=True)
    )


def unlock(invocation: Invocation, instance: str, *, force: bool = False) -> int:
    """Remove a stale lock (or, with `force`, a live one) of an instance."""
    validate_id(instance)
    removed = deploylock.unlock(Places.of(invocation.config).locks, instance, force=force)
    if removed is None:
        invocation.console.print(f"{instance}: not locked")
    elif removed.holder is None:
        invocation.console.print(f"{instance}: removed an unreadable lock file ({removed.reason})")
    else:
        holder = removed.holder.describe(dt.datetime.now(dt.UTC))
        invocation.console.print(f"{instance}: removed the lock of {holder} ({removed.reason})")
    return 0


def history(invocation: Invocation, instance: str | None = None) -> int:
    """The deploy history, oldest first."""
    if instance is not None:
        validate_id(instance)
    records = read_records(invocation, instance)
    document = [json.loads(record.to_json()) for record in records]
    rows = deployhistory.render_rows(records)
    show(invocation, document, Rows(deployhistory.COLUMNS, rows, "no deploys recorded yet"))
    return 0


def status(invocation: Invocation, instance: str | None = None) -> int:
    """What each instance is (serving, down, never deployed), what its monitor says, and
    what it lacks (its env file): one instance's state never hides another's."""
    from dockyard.deploy.monitor import control as monitor
    from dockyard.deploy.serving import serving_in
    from dockyard.stack.lifecycle import project_containers

    config = invocation.config
    chosen = (
        [instances.load_instance(config, instance)]
        if instance is not None
        else instances.load_all(config)
    )
    places = Places.of(config)
    client = engine_client(invocation) if chosen else None
    rows: list[dict[str, Any]] = []
    logs: dict[str, str] = {}
    for found in chosen:
        serving = serving_in(places.runtime(found.id))
        watch = monitor.status(places.monitors, found.id)
        state = "never deployed"
        if serving is not None and client is not None:
            running = {
                c.name
                for c in project_containers(client, found.project_name(config.project))
                if c.status == "running"
            }
            state = "serving" if running & set(serving.containers) else "down"
        details = [_missing_env(config, found), (watch.reason if watch else "") or ""]
        rows.append(
            {
                "instance": found.id,
                "state": state,
                "version": serving.version if serving else "",
                "since": serving.updated if serving else "",
                "monitor": watch.state if watch else "none",
                "detail": "; ".join(detail for detail in details if detail),
            }
        )
        if watch is not None and watch.state == "failed" and client is not None:
            logs[found.id] = rows[-1]["logs"] = _recent_logs(
                client, found.project_name(config.project)
            )

    def people(console: Console) -> None:
        print_rows(console, Rows(STATUS_COLUMNS, rows, "no instances yet"))
        for name, text in logs.items():
            console.print(f"recent logs of {name}, whose monitor failed:", markup=False)
            console.print(text, markup=False, highlight=False)

    show(invocation, rows, people)
    return 0


def _recent_logs(client: docker.DockerClient, project: str) -> str:
    """The last lines each of the instance's containers logged, or why there are none."""
    from docker.errors import DockerException

    from dockyard.stack.lifecycle import project_containers

    sections = []
    for state in project_containers(client, project):
        try:
            text = client.api.logs(state.name, tail=LOG_LINES, timestamps=True)
        except DockerException as error:
            sections.append(f"{state.name}: (no logs: {error})")
            continue
        body = text.decode("utf-8", "replace").rstrip() or "(nothing logged)"
        sections.append(f"{state.name}:\n{body}")
    return "\n".join(sections) or "(no container of the instance is left)"


def _missing_env(config: Config, found: Instance) -> str:
    """What an instance lacks to be deployed: its profile's env file ("not set up")."""
    from dockyard.env.store import shown

    env_file = config.path(config.env_dir) / f".env.{found.profile}"
    if env_file.is_file():
        return ""
    return (
        f"not set up: {shown(config, env_file)} not found; "
        f"run `invoke env.init --profile {found.profile}`"
    )


def monitors(invocation: Invocation, stop: str | None = None, *, cleanup: bool = False) -> int:
    """List the deployment monitors; stop one; clean up the files of finished ones."""
    from dockyard.deploy.monitor import control as monitor

    directory = Places.of(invocation.config).monitors
    if stop is not None:
        validate_id(stop)
        stopped = monitor.stop(directory, stop)
        invocation.console.print(
            f"{stop}: " + ("monitor stopped" if stopped else "no monitor running")
        )
    if cleanup:
        removed = monitor.cleanup(directory)
        invocation.console.print(f"removed {len(removed)} file(s) of finished monitors")
    found = monitor.list_monitors(directory)
    rows = [
        {
            "instance": m.instance, "version": m.version, "state": m.state, "pid": m.pid,
            "alive": m.alive, "updated": m.updated, "reason": m.reason or "",
        }
        for m in found
    ]  # fmt: skip
    show(invocation, rows, Rows(MONITOR_COLUMNS, rows, "no monitors"))
    return 0


def _report(invocation: Invocation, found: Instance, outcome: Outcome) -> None:
    summary = {
        "instance": found.id,
        "version": outcome.version,
        "previous": outcome.previous,
        "seconds": round(outcome.seconds, 1),
        "steps": outcome.steps,
        "notes": outcome.notes,
    }
    was = f" (was {outcome.previous})" if outcome.previous else ""
    live = f"[green]{found.id}: {outcome.version} is live{was} in {outcome.seconds:.1f} s[/green]"
    show(invocation, summary, lambda console: console.print(live))


def _has_image(client: docker.DockerClient, config: Config, version: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(image_ref(config, version))
    except ImageNotFound:
        return False
    return True
