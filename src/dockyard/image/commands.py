"""The `image` tasks: `image.build` builds the service's image, `image.base` the offline base
images, and `image.scan` inspects one."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from dockyard.core.config import Config
from dockyard.core.console import Steps
from dockyard.core.invocation import Invocation
from dockyard.core.output import report, show

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.core.results import CheckResult
    from dockyard.image.source import Probe


@dataclass(frozen=True)
class BaseImagesReport:
    """What `build_base_images` did: each image's decision and the recorded overrides."""

    images: list[dict[str, object]]
    overrides: dict[str, str]
    state_file: str
    steps: list[dict[str, object]]


def build_base_images(
    config: Config, environ: Mapping[str, str], console: Console, *, rebuild: bool = False
) -> BaseImagesReport:
    """Build the Debian-based stand-ins for the stack's images, skipping those up to date,
    and record them in `.dockyard/images.env` for the stack and the service build."""
    from dockyard.core.engine import connect
    from dockyard.image.base.build import build, inspect
    from dockyard.image.base.plan import decide, local_overrides, plan_base_images
    from dockyard.image.overrides import write_overrides

    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = plan_base_images(config, created)
    client = connect(environ)
    steps = Steps(console, total=len(plan) + 1)
    images: list[dict[str, object]] = []
    try:
        for item in plan:
            with steps.step(item.name) as record:
                existing = inspect(client, item.name)
                decision = decide(item, existing.labels if existing else None, rebuild)
                if decision.build:
                    build(config, item, environ)
                    existing = inspect(client, item.name)
                else:
                    record.status = "skip"
                size = existing.size_mb if existing else None
                record.detail = decision.reason + (f", {size} MB" if size is not None else "")
                images.append(
                    {
                        "name": item.name,
                        "replaces": item.replaces,
                        "built": decision.build,
                        "reason": decision.reason,
                        "size_mb": size,
                    }
                )
        with steps.step("record the local images for the stack") as record:
            overrides = local_overrides(config)
            path = write_overrides(config, overrides)
            record.detail = str(path.relative_to(config.root))
    finally:
        client.close()
    for entry, step in zip(images, steps.records, strict=False):
        entry["seconds"] = round(step.seconds, 2)
    return BaseImagesReport(images, overrides, str(path.relative_to(config.root)), steps.summary())


def unavailable_images(config: Config, environ: Mapping[str, str]) -> list[str]:
    """The stack's images (the recorded local stand-ins, else the configured official ones)
    that the engine neither has nor can pull right now."""
    from docker.errors import DockerException, ImageNotFound

    from dockyard.core.engine import connect
    from dockyard.image.base.plan import official_images
    from dockyard.image.overrides import read_overrides

    wanted = {**official_images(config), **read_overrides(config)}
    client = connect(environ)
    missing = []
    try:
        for name in sorted(set(wanted.values())):
            try:
                client.images.get(name)
            except ImageNotFound:
                try:
                    client.images.pull(name)
                except DockerException:
                    missing.append(name)
    finally:
        client.close()
    return missing


# How long the engine may go without answering while it pulls an official image.
PULL_TIMEOUT_SECONDS = 30.0


def probe_official(
    config: Config, environ: Mapping[str, str], *, timeout: float = PULL_TIMEOUT_SECONDS
) -> list[Probe]:
    """Each configured official image: present in the engine, or pulled now (an engine that
    stays silent for `timeout` seconds counts as a failed pull)."""
    from docker.errors import DockerException, ImageNotFound
    from requests.exceptions import RequestException

    from dockyard.core.engine import connect
    from dockyard.image.base.plan import official_images
    from dockyard.image.source import Probe

    client = connect(environ, timeout=timeout)
    probes = []
    try:
        for name in sorted(set(official_images(config).values())):
            try:
                client.images.get(name)
            except ImageNotFound:
                try:
                    client.images.pull(name)
                except (DockerException, RequestException) as error:
                    # The engine's own words when it gave any, not the HTTP request around them.
                    said = str(getattr(error, "explanation", None) or error).strip()
                    reason = said.splitlines()[0] if said else type(error).__name__
                    probes.append(Probe(name, False, False, reason))
                else:
                    probes.append(Probe(name, False, True))
            else:
                probes.append(Probe(name, True, False))
    finally:
        client.close()
    return probes


def base(invocation: Invocation, rebuild: bool = False, if_needed: bool = False) -> int:
    """Build the offline base images (see `build_base_images`) and say how the stack uses them;
    `if_needed`: only when the official images can neither be found nor pulled."""
    if if_needed and not rebuild:
        from dockyard.image.source import choose

        choice = choose(probe_official(invocation.config, invocation.environ))
        invocation.console.print(f"image.base: {choice.reason}", markup=False)
        if choice.official:
            document = {"ok": True, "official": True, "reason": choice.reason}
            show(invocation, document, lambda _console: None)
            return 0
    started = time.monotonic()
    done = build_base_images(
        invocation.config, invocation.environ, invocation.console, rebuild=rebuild
    )
    elapsed = time.monotonic() - started
    document = {
        "ok": True,
        "seconds": round(elapsed, 2),
        "images": done.images,
        "overrides": done.overrides,
        "state_file": done.state_file,
        "steps": done.steps,
    }

    def lines(console: Console) -> None:
        console.print(f"\n[bold]base images ready[/] in {elapsed:.1f} s. The stack uses them via:")
        for key, value in done.overrides.items():
            console.print(f"  {key}={value}")

    show(invocation, document, lines)
    return 0


def scan(invocation: Invocation, image: str = "", dockerfile: str = "") -> int:
    """Size against the budget, installed packages and hadolint, for `image` (default: the
    service's image, whose size the budget is for)."""
    from dockyard.image.build import image_ref
    from dockyard.image.scan import scan_image

    config = invocation.config
    if not image:
        image, dockerfile = image_ref(config, "latest"), dockerfile or config.dockerfile
    targets = [image]
    results: list[CheckResult] = []
    for target in targets:
        found = scan_image(config, invocation.environ, target, dockerfile or None)
        if len(targets) > 1:
            found = [replace(result, name=f"{target}: {result.name}") for result in found]
        results += found
    return report(invocation, results)


def build(invocation: Invocation, base: str | None = None, no_cache: bool = False) -> int:
    """Build and tag the service's production image; print the tags and its size."""
    from dockyard.image.build import BASE_ARGUMENT, gather, images_present, plan_build, run_build
    from dockyard.image.dockerfile import base_uses, built_on

    config = invocation.config
    console = invocation.console
    facts = gather(config, invocation.environ, base)
    plan = plan_build(config, facts, no_cache=no_cache)
    text = plan.dockerfile.read_text(encoding="utf-8")
    wanted = [use.image for use in base_uses(text, plan.build_args) if use.external]
    present = images_present(invocation.environ, wanted)
    bases = built_on(text, config.dockerfile, plan.build_args, BASE_ARGUMENT, present)
    for warning in (*plan.warnings, *bases.warnings):
        console.print(f"[yellow]warn[/]  {warning}")
    on = ", ".join(bases.images) or "scratch"
    console.print(
        f"building {plan.tags[0]} from {config.dockerfile} on {on}"
        + (" (CA bundle as a build secret)" if plan.secrets else "")
    )
    result = run_build(plan, invocation.environ, on_line=_progress(invocation))
    megabytes = result.size_bytes / 1_000_000
    budget = config.images.size_budget_mb
    document = {
        "tags": list(plan.tags),
        "image_id": result.image_id,
        "size_mb": round(megabytes, 1),
        "size_budget_mb": budget,
        "seconds": round(result.seconds, 1),
        "build_args": plan.build_args,
        "built_on": list(bases.images),
        "uses_base_argument": bases.uses_base_argument,
        "warnings": [*plan.warnings, *bases.warnings],
    }

    def lines(console: Console) -> None:
        console.print(f"[green]built[/] {result.image_id[:19]} in {result.seconds:.1f} s")
        for tag in plan.tags:
            console.print(f"  {tag}")
        style = "yellow" if megabytes > budget else "green"
        console.print(f"size [{style}]{megabytes:.1f} MB[/] (budget {budget} MB)")

    show(invocation, document, lines)
    return 0


def _progress(invocation: Invocation) -> Callable[[str], None]:
    """Print BuildKit's step headers (`#7 [builder 3/6] RUN ...`) and errors, not every line."""
    from rich.markup import escape

    step = re.compile(r"^#\d+ \[[^\]]+\] |^#\d+ (DONE|CACHED|ERROR)|^ERROR|error:", re.IGNORECASE)

    def show(line: str) -> None:
        if step.search(line):
            invocation.console.print(f"[dim]{escape(line[:160])}[/]")

    return show
