"""`invoke deploy`, `deploy.all`, `rollback` and the deploy bookkeeping commands.

Each deploy or rollback holds its instance's lock from start to end, is recorded in the
history whatever its result, notifies the webhook, and hands over to a background monitor.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.core.errors import DockyardError, ExitCode
from dockyard.core.ids import validate_id
from dockyard.core.invocation import Invocation
from dockyard.core.signals import TERMINATION, on_signals
from dockyard.deploy import history as deployhistory
from dockyard.deploy import instances
from dockyard.deploy import lock as deploylock
from dockyard.deploy.plan import prunable, rollback_target
from dockyard.deploy.switch import Switch
from dockyard.deploy.target import Outcome, Target

if TYPE_CHECKING:
    import docker

    from dockyard.core.config import Config
    from dockyard.deploy.instances import Instance


@dataclass(frozen=True)
class Places:
    """Where deploy state lives, under [tool.dockyard.deploy] state_dir."""

    root: Path

    @classmethod
    def of(cls, config: Config) -> Places:
        return cls(config.path(config.deploy.state_dir))

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def history(self) -> Path:
        return self.root / "history.jsonl"

    @property
    def monitors(self) -> Path:
        return self.root / "monitors"

    def runtime(self, instance: str) -> Path:
        return self.root / "instances" / validate_id(instance)


def target_for(config: Config, instance: Instance) -> Target:
    """The instance's compose project: its profile's env file, its own name, port and sizes."""
    from dockyard.image.overrides import read_overrides
    from dockyard.stack import lifecycle as stack

    variables = {**read_overrides(config), **instances.compose_variables(instance)}
    project = stack.project_for(
        config, instance.profile, variables, name=instance.project_name(config.project)
    )
    host = "127.0.0.1" if instance.bind == "0.0.0.0" else instance.bind  # noqa: S104
    return Target(
        config=config,
        instance=instance.id,
        project=project,
        base_url=f"http://{host}:{instance.port}",
        runtime_dir=Places.of(config).runtime(instance.id),
        replicas=instance.replicas,
    )


def default_version(config: Config) -> str:
    from dockyard.image.build import read_version, tag_safe

    return tag_safe(read_version(config))


# ------------------------------------------------------------------- commands ---


def deploy(
    invocation: Invocation, instance: str, image: str | None = None, *, force: bool = False
) -> int:
    """Deploy a version (an image tag; default: the instance's pinned tag, else this
    checkout's version) to one instance."""
    config = invocation.config
    found = instances.load_instance(config, instance)
    version = image or found.image or default_version(config)
    outcome = _guarded(invocation, found, "deploy", version, migrate=True, force=force)
    _report(invocation, found, outcome)
    return 0


def rollback(
    invocation: Invocation, instance: str, to: str | None = None, *, force: bool = False
) -> int:
    """Go back to the previous version (or `to`, if retained), through the same switch."""
    config = invocation.config
    found = instances.load_instance(config, instance)
    client = _client(invocation)
    records = _records(invocation, found.id)
    deployed = deployhistory.deployed_versions(records, found.id)
    retained = [v for v in deployed[: config.deploy.keep_versions] if _has_image(client, config, v)]
    current = deployhistory.current_version(records, found.id)
    version = rollback_target(deployed, current, to, retained)
    outcome = _guarded(
        invocation, found, "rollback", version, migrate=False, force=force, client=client
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
            rows.append(
                {
                    "instance": found.id,
                    "version": version,
                    "result": "skipped",
                    "seconds": 0.0,
                    "detail": "an earlier instance failed",
                }
            )
            continue
        invocation.console.print(f"[bold]{found.id}[/bold]: deploying {version}")
        began = time.monotonic()
        try:
            outcome = _guarded(invocation, found, "deploy", version, migrate=True, force=False)
        except DockyardError as error:
            failed = True
            invocation.console.print(f"[red]{found.id}: {error.message}[/red]")
            rows.append(
                {
                    "instance": found.id,
                    "version": version,
                    "result": "failed",
                    "seconds": round(time.monotonic() - began, 1),
                    "detail": error.message.splitlines()[0],
                }
            )
            continue
        rows.append(
            {
                "instance": found.id,
                "version": version,
                "result": "succeeded",
                "seconds": round(outcome.seconds, 1),
                "detail": f"was {outcome.previous or 'not running'}",
            }
        )
    _table(invocation, rows, ("instance", "version", "result", "seconds", "detail"))
    return int(ExitCode.FAILED) if failed else 0


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
    records = _records(invocation, instance)
    if invocation.as_json:
        from dockyard.core.console import print_json

        print_json([json.loads(record.to_json()) for record in records])
        return 0
    rows: list[dict[str, Any]] = list(deployhistory.render_rows(records))
    if not rows:
        invocation.console.print("no deploys recorded yet")
        return 0
    _table(invocation, rows, tuple(rows[0]))
    return 0


def status(invocation: Invocation, instance: str | None = None) -> int:
    """What serves on each instance, and what its monitor says."""
    from dockyard.deploy.monitor import control as monitor
    from dockyard.deploy.switch import read_serving

    config = invocation.config
    chosen = (
        [instances.load_instance(config, instance)]
        if instance is not None
        else instances.load_all(config)
    )
    rows = []
    for found in chosen:
        serving = read_serving(target_for(config, found))
        watch = monitor.status(Places.of(config).monitors, found.id)
        rows.append(
            {
                "instance": found.id,
                "version": serving.version if serving else "not deployed",
                "since": serving.updated if serving else "",
                "monitor": watch.state if watch else "none",
                "detail": (watch.reason if watch else "") or "",
            }
        )
    if invocation.as_json:
        from dockyard.core.console import print_json

        print_json(rows)
    else:
        _table(invocation, rows, ("instance", "version", "since", "monitor", "detail"))
    return 0


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
    if invocation.as_json:
        from dockyard.core.console import print_json

        print_json(rows)
    elif rows:
        _table(invocation, rows, tuple(rows[0]))
    else:
        invocation.console.print("no monitors")
    return 0


# --------------------------------------------------------------- the guarded run ---


def _guarded(
    invocation: Invocation,
    found: Instance,
    action: deployhistory.Action,
    version: str,
    *,
    migrate: bool,
    force: bool,
    client: docker.DockerClient | None = None,
) -> Outcome:
    """Lock, switch, record, notify, monitor, prune; the lock goes on every path out."""
    config = invocation.config
    places = Places.of(config)
    user = holder_user(invocation)
    holder = deploylock.current_holder(found.id, f"{action} {version}", user=user)
    client = client or _client(invocation)
    target = target_for(config, found)
    restore = on_signals(TERMINATION)
    try:
        with deploylock.held(places.locks, holder, force=force) as acquired:
            notes = []
            if acquired.note is not None:
                notes.append(acquired.note)
                invocation.console.print(f"[yellow]lock: {acquired.note}[/yellow]")
            return _switch_and_record(
                invocation,
                client=client,
                target=target,
                found=found,
                action=action,
                version=version,
                migrate=migrate,
                notes=notes,
            )
    finally:
        restore()


def _switch_and_record(
    invocation: Invocation,
    *,
    client: docker.DockerClient,
    target: Target,
    found: Instance,
    action: deployhistory.Action,
    version: str,
    migrate: bool,
    notes: list[str],
) -> Outcome:
    config = invocation.config
    places = Places.of(config)
    records = _records(invocation, found.id)
    previous = deployhistory.current_version(records, found.id)
    started_wall = deploylock.utc_timestamp(dt.datetime.now(dt.UTC))
    began = time.monotonic()
    switch = Switch(
        target,
        client,
        invocation.environ,
        invocation.console,
        ready_timeout=config.deploy.ready_timeout_seconds,
    )
    result: deployhistory.Result = "failed"
    reason = ""
    try:
        outcome = switch.run(version, migrate=migrate)
        result = "succeeded"
        notes += outcome.notes
    except DockyardError as error:
        reason = error.message.splitlines()[0]
        raise
    except KeyboardInterrupt as interrupt:
        result, reason = (
            "interrupted",
            f"interrupted ({interrupt.args[0] if interrupt.args else 'SIGINT'})",
        )
        raise
    finally:
        record = deployhistory.Record(
            instance=found.id, action=action, version=version, previous=previous,
            user=holder_user(invocation), started=started_wall,
            duration_seconds=round(time.monotonic() - began, 1), result=result, reason=reason,
            notes=tuple(notes),
        )  # fmt: skip
        deployhistory.append(places.history, record)
        timings: dict[str, Callable[[], None]] = {
            "notify": lambda: _notify(invocation, found, record)
        }
        if result == "succeeded":
            timings["monitor"] = lambda: _start_monitor(invocation, found, target, version)
            timings["prune"] = lambda: _prune(invocation, client)
        for name, step in timings.items():
            began_step = time.monotonic()
            step()
            if result == "succeeded":
                outcome.steps[name] = round(time.monotonic() - began_step, 2)
    return outcome


def _records(invocation: Invocation, instance: str | None) -> tuple[deployhistory.Record, ...]:
    """The history (of one instance), with a warning for each line that could not be read."""
    found = deployhistory.read(Places.of(invocation.config).history, instance=instance)
    for problem in found.problems:
        invocation.console.print(f"[yellow]warning: {problem}[/yellow]")
    return found.records


def holder_user(invocation: Invocation) -> str:
    return invocation.environ.get("USER") or getpass.getuser()


def _notify(invocation: Invocation, found: Instance, record: deployhistory.Record) -> None:
    from dockyard.deploy import notify

    url = _webhook_url(invocation, found)
    if not url:
        return
    event = notify.Event(
        kind="rollback" if record.action == "rollback" else "deploy",
        result=record.result, instance=found.id, version=record.version,
        previous=record.previous, duration_seconds=record.duration_seconds,
        user=record.user, reason=record.reason, host=socket.gethostname(),
    )  # fmt: skip
    deploy = invocation.config.deploy
    delivery = notify.send(
        url,
        notify.payload(event, project=invocation.config.project),
        timeout=deploy.webhook_timeout_seconds,
        attempts=deploy.webhook_attempts,
        budget=deploy.webhook_timeout_seconds * deploy.webhook_attempts + 2,
        log=lambda line: invocation.console.print(f"[yellow]notify: {line}[/yellow]"),
    )
    if delivery.delivered:
        invocation.console.print(f"  notified {notify.redact(url)}")


def _webhook_url(invocation: Invocation, found: Instance) -> str:
    """The instance's env file's webhook variable, else the environment's."""
    from dockyard.env.store import load_env, schema_of

    config = invocation.config
    name = config.deploy.webhook_variable
    try:
        entries = load_env(config, schema_of(config), found.profile).final()
    except DockyardError:
        entries = {}
    if name in entries and entries[name].value:
        return entries[name].value
    return invocation.environ.get(name, "")


def _start_monitor(invocation: Invocation, found: Instance, target: Target, version: str) -> None:
    from dockyard.deploy.monitor import control as monitor
    from dockyard.deploy.monitor.policy import Policy

    deploy = invocation.config.deploy
    policy = Policy(
        settle_seconds=deploy.monitor_settle_seconds,
        interval_seconds=deploy.monitor_interval_seconds,
        failures_to_fail=deploy.monitor_failures,
        max_seconds=deploy.monitor_max_seconds,
    )
    info = monitor.start(
        Places.of(invocation.config).monitors,
        instance=found.id,
        url=target.base_url + invocation.config.health.ready_path,
        version=version,
        policy=policy,
    )
    invocation.console.print(
        f"  monitor  watching {found.id} (pid {info.pid}); "
        f"`invoke deploy.status --instance {found.id}` shows what it sees"
    )


def _prune(invocation: Invocation, client: docker.DockerClient) -> None:
    """Untag images of versions that no instance retains any more."""
    from docker.errors import APIError, ImageNotFound

    config = invocation.config
    records = _records(invocation, None)
    ids = sorted({r.instance for r in records})
    deployed = {i: deployhistory.deployed_versions(records, i) for i in ids}
    live = {deployhistory.current_version(records, i) for i in ids}
    protected = {v for v in live if v} | {"latest", default_version(config)}
    for version in prunable(deployed, config.deploy.keep_versions, protected):
        try:
            client.images.remove(f"{config.image}:{version}")
        except ImageNotFound:
            continue
        except APIError as error:  # still used by a container: keep it, say so
            invocation.console.print(f"  kept image {config.image}:{version}: {error.explanation}")
            continue
        invocation.console.print(f"  pruned image {config.image}:{version}")


# ------------------------------------------------------------------------ output ---


def _report(invocation: Invocation, found: Instance, outcome: Outcome) -> None:
    summary = {
        "instance": found.id,
        "version": outcome.version,
        "previous": outcome.previous,
        "seconds": round(outcome.seconds, 1),
        "steps": outcome.steps,
        "notes": outcome.notes,
    }
    if invocation.as_json:
        from dockyard.core.console import print_json

        print_json(summary)
        return
    was = f" (was {outcome.previous})" if outcome.previous else ""
    invocation.console.print(
        f"[green]{found.id}: {outcome.version} is live{was} in {outcome.seconds:.1f} s[/green]"
    )


def _table(invocation: Invocation, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    if invocation.as_json:
        from dockyard.core.console import print_json

        print_json(rows)
        return
    from rich.table import Table

    table = Table(*columns)
    for row in rows:
        table.add_row(*(str(row.get(column, "")) for column in columns))
    invocation.console.print(table)


def _client(invocation: Invocation) -> docker.DockerClient:
    from dockyard.core.engine import connect

    return connect(invocation.environ)


def _has_image(client: docker.DockerClient, config: Config, version: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(f"{config.image}:{version}")
    except ImageNotFound:
        return False
    return True
