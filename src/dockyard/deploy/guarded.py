"""The guarded run of a deploy or rollback, and where deploy state lives.

A deploy or rollback holds its instance's lock from start to end and turns SIGTERM and
SIGHUP into interrupts, so it always ends through its own clean-up. Whatever its result it
is recorded in the history and notified to the webhook; once live, a background monitor
watches the new version and the images of versions no instance retains are pruned.
"""

from __future__ import annotations

import datetime as dt
import getpass
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.errors import DockyardError
from dockyard.core.ids import validate_id
from dockyard.core.invocation import Invocation
from dockyard.core.signals import TERMINATION, on_signals
from dockyard.deploy import history as deployhistory
from dockyard.deploy import instances
from dockyard.deploy import lock as deploylock
from dockyard.deploy.plan import prunable
from dockyard.deploy.switch import Switch
from dockyard.deploy.target import Outcome, Target
from dockyard.env.store import shown
from dockyard.image.build import image_ref, tag_safe
from dockyard.image.facts import read_version

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


def target_for(config: Config, instance: Instance, environ: Mapping[str, str]) -> Target:
    """The instance's compose project: its profile's env file, its own name, port and sizes."""
    from dockyard.image.overrides import read_overrides
    from dockyard.stack import lifecycle as stack

    variables = {**read_overrides(config), **instances.compose_variables(instance)}
    project = stack.project_for(
        config,
        instance.profile,
        variables,
        environ=environ,
        name=instance.project_name(config.project),
    )
    host = "127.0.0.1" if instance.bind == "0.0.0.0" else instance.bind  # noqa: S104
    return Target(
        config=config,
        instance=instance.id,
        project=project,
        base_url=f"http://{host}:{instance.port}",
        runtime_dir=Places.of(config).runtime(instance.id),
        replicas=instance.replicas,
        port_setting=f"`port` of {shown(config, instance.source)}",
    )


def default_version(config: Config) -> str:
    """The version a deploy goes to when neither the command nor the instance names one:
    this checkout's, as its image is tagged."""
    return tag_safe(read_version(config))


# The version a run goes to: a tag, or a decision made from the instance's history once the
# lock is held (a rollback's target depends on what is live then, not before).
Choice = str | Callable[[tuple[deployhistory.Record, ...]], str]


def run_guarded(
    invocation: Invocation,
    found: Instance,
    action: deployhistory.Action,
    version: Choice,
    *,
    migrate: bool,
    force: bool,
    client: docker.DockerClient | None = None,
    image: str | None = None,
) -> Outcome:
    """Lock, switch, record, notify, monitor, prune; the lock goes on every path out.
    `image` runs the version from that reference (e.g. `repository@sha256:...`)."""
    config = invocation.config
    places = Places.of(config)
    user = holder_user(invocation)
    doing = f"{action} {version}" if isinstance(version, str) else action
    holder = deploylock.current_holder(found.id, doing, user=user)
    client = client or engine_client(invocation)
    target = target_for(config, found, invocation.environ)
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
                image=image,
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
    version: Choice,
    migrate: bool,
    notes: list[str],
    image: str | None = None,
) -> Outcome:
    config = invocation.config
    places = Places.of(config)
    records = read_records(invocation, found.id)
    previous = deployhistory.current_version(records, found.id)
    if not isinstance(version, str):
        version = version(records)  # nothing is recorded when there is nothing to go to
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
        if image is not None:
            notes.append(f"image {image}")
        outcome = switch.run(version, migrate=migrate, image=image)
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
            timings["prune"] = lambda: _prune(invocation, client, found.id)
        for name, step in timings.items():
            began_step = time.monotonic()
            step()
            if result == "succeeded":
                outcome.steps[name] = round(time.monotonic() - began_step, 2)
    return outcome


def read_records(invocation: Invocation, instance: str | None) -> tuple[deployhistory.Record, ...]:
    """The history (of one instance), with a warning for each line that could not be read."""
    found = deployhistory.read(Places.of(invocation.config).history, instance=instance)
    for problem in found.problems:
        invocation.console.print(f"[yellow]warning: {problem}[/yellow]")
    return found.records


def holder_user(invocation: Invocation) -> str:
    """Who deploys, as the lock and the history name them: $USER, else the login name."""
    return invocation.environ.get("USER") or getpass.getuser()


def _notify(invocation: Invocation, found: Instance, record: deployhistory.Record) -> None:
    from dockyard.deploy import notify, webhook

    url = webhook_url(invocation, found)
    if not url:
        return
    event = notify.Event(
        kind="rollback" if record.action == "rollback" else "deploy",
        result=record.result, instance=found.id, version=record.version,
        previous=record.previous, duration_seconds=record.duration_seconds,
        user=record.user, reason=record.reason, host=socket.gethostname(),
    )  # fmt: skip
    deploy = invocation.config.deploy
    delivery = webhook.send(
        url,
        notify.payload(
            event, project=invocation.config.project, run=notify.run_url(invocation.environ)
        ),
        timeout=deploy.webhook_timeout_seconds,
        attempts=deploy.webhook_attempts,
        budget=deploy.webhook_timeout_seconds * deploy.webhook_attempts + 2,
        log=lambda line: invocation.console.print(f"[yellow]notify: {line}[/yellow]"),
    )
    if delivery.delivered:
        invocation.console.print(f"  notified {webhook.redact(url)}")


def webhook_url(invocation: Invocation, found: Instance) -> str:
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


def _prune(invocation: Invocation, client: docker.DockerClient, instance: str) -> None:
    """Untag the images of `instance`'s versions that no instance retains any more, unless a
    container (of any project: another checkout or team may share the image's name) was made
    from the image: untagging would leave it running an image no command can name again."""
    from docker.errors import APIError, ImageNotFound

    config = invocation.config
    records = read_records(invocation, None)
    ids = sorted({r.instance for r in records})
    deployed = {i: deployhistory.deployed_versions(records, i) for i in ids}
    live = {deployhistory.current_version(records, i) for i in ids}
    protected = {v for v in live if v} | {"latest", default_version(config)}
    for version in prunable(deployed, instance, config.deploy.keep_versions, protected):
        image = image_ref(config, version)
        try:
            if users := client.api.containers(all=True, filters={"ancestor": image}):
                names = ", ".join(sorted(name.lstrip("/") for u in users for name in u["Names"]))
                invocation.console.print(f"  kept image {image}: used by {names}")
                continue
            client.images.remove(image)
        except ImageNotFound:
            continue
        except APIError as error:  # still used by a container: keep it, say so
            invocation.console.print(f"  kept image {image}: {error.explanation}")
            continue
        invocation.console.print(f"  pruned image {image}")


def engine_client(invocation: Invocation) -> docker.DockerClient:
    from dockyard.core.engine import connect

    return connect(invocation.environ)
