"""The `registry` tasks: a local registry for machines without one, and what a registry answers."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import TYPE_CHECKING

from dockyard.core.console import Steps
from dockyard.core.errors import ExitCode
from dockyard.core.invocation import Invocation
from dockyard.core.output import Rows, show
from dockyard.registry.plan import (
    Action,
    RegistryError,
    choose_image,
    container_name,
    credentials,
    decide_up,
    local_registry,
    local_target,
    target,
    volume_name,
)

if TYPE_CHECKING:
    from rich.console import Console


def up(invocation: Invocation) -> int:
    """Start the local registry (official image, else the Debian stand-in) on 127.0.0.1 and
    wait until its API answers; nothing to do when it already runs as configured."""
    from dockyard.core.engine import connect
    from dockyard.image.base.plan import local_names
    from dockyard.registry import local

    config = invocation.config
    settings = config.registry
    where = local_target(config)
    started = time.monotonic()
    client = connect(invocation.environ)
    steps = Steps(invocation.console, total=3)
    try:
        found = local.find(client, container_name(config))
        with steps.step("choose the registry image") as record:
            standin = local_names(config)["registry"]
            official = local.available(client, settings.local_image)
            image = choose_image(
                settings.local_image,
                official,
                standin,
                official or local.available(client, standin),
                current=found.image if found else None,
            )
            record.detail = image
        wanted = local_registry(config, image, standin)
        action = decide_up(wanted, found)
        with steps.step(f"start {wanted.name} on {where.host}") as record:
            local.apply(client, wanted, action)
            record.detail = "already running" if action is Action.NONE else action.value
            if action is Action.NONE:
                record.status = "skip"
        with steps.step(f"wait for {where.api}/v2/") as record:
            waited = local.wait_ready(client, wanted.name, where, settings.ready_timeout_seconds)
            record.detail = f"answers after {waited:.1f} s"
    finally:
        client.close()
    document = {
        "ok": True,
        "action": action.value,
        "container": wanted.name,
        "image": wanted.image,
        "url": where.host,
        "volume": wanted.volume,
        "seconds": round(time.monotonic() - started, 2),
        "steps": steps.summary(),
    }

    def lines(console: Console) -> None:
        done = "already running" if action is Action.NONE else "ready"
        console.print(f"\n[bold]registry {done}[/] at {where.host} ({wanted.image})")
        console.print(f"  data in volume {wanted.volume}; `invoke registry.down` keeps it")
        if settings.url != where.host:
            console.print(
                f'  to push to it, set url = "{where.host}" in [tool.dockyard.registry]',
                markup=False,
            )

    show(invocation, document, lines)
    return 0


def down(invocation: Invocation, volumes: bool = False) -> int:
    """Stop and remove the local registry; its data volume stays unless `volumes`."""
    from dockyard.core.engine import connect
    from dockyard.registry import local

    config = invocation.config
    name, volume = container_name(config), volume_name(config)
    client = connect(invocation.environ)
    try:
        removed = local.remove(client, name)
        volume_removed = local.remove_volume(client, volume) if volumes else False
    finally:
        client.close()
    document = {
        "ok": True,
        "container": name,
        "removed": removed,
        "volume": volume,
        "volume_removed": volume_removed,
    }

    def lines(console: Console) -> None:
        console.print(f"{name}: {'stopped and removed' if removed else 'was not running'}")
        if volumes:
            console.print(f"{volume}: {'removed' if volume_removed else 'did not exist'}")
        else:
            console.print(f"{volume}: kept (`invoke registry.down --volumes` removes it)")

    show(invocation, document, lines)
    return 0


def status(invocation: Invocation) -> int:
    """The configured registry and the local one: whether each answers. Exit 1 when the one
    a release would push to (the configured one, else the local one) does not."""
    from dockyard.core.engine import connect
    from dockyard.registry import local
    from dockyard.registry.client import RegistryClient

    config = invocation.config
    settings = config.registry
    client = connect(invocation.environ)
    try:
        found = local.status(
            client, container_name(config), volume_name(config), local_target(config)
        )
    finally:
        client.close()
    rows: list[dict[str, object]] = [
        {
            "registry": f"local {local_target(config).host}",
            "state": found.state + (f" ({found.health})" if found.health else ""),
            "answers": "yes" if found.answers else "no",
            "detail": f"{found.image or 'no container'}; volume {found.volume}"
            + ("" if found.volume_exists else " (absent)"),
        }
    ]
    configured: dict[str, object] | None = None
    if settings.url:
        where = target(settings.url)
        answer, detail = False, ""
        try:
            with RegistryClient(
                where,
                timeout=settings.timeout_seconds,
                credentials=credentials(config, invocation.environ),
            ) as api:
                code = api.ping()
            answer, detail = True, f"GET {where.api}/v2/ -> {code}"
        except RegistryError as error:
            detail = error.message
        configured = {"url": settings.url, "api": where.api, "answers": answer, "detail": detail}
        rows.insert(
            0,
            {
                "registry": f"configured {settings.url}",
                "state": "",
                "answers": "yes" if answer else "no",
                "detail": detail,
            },
        )
    ok = bool(configured["answers"]) if configured is not None else found.answers
    document = {"ok": ok, "configured": configured, "local": asdict(found)}
    show(invocation, document, Rows(("registry", "state", "answers", "detail"), rows))
    return ExitCode.OK if ok else ExitCode.FAILED
