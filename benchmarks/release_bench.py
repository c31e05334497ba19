"""The release benchmark: `invoke release --yes` from a new commit to production under a steady
load (gates excluded, the image built from the tagged tree, pushed to a real local registry,
the commit and tag published to a bare remote, staging and production deployed by digest),
and `invoke release --dry-run` on this repository.

`bench.py` prepares a copy of the checkout and calls `measure_release` on it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Helpers:
    """What bench.py lends: its figure printer, checkout copy, load generator, git, ports."""

    figure: Callable[..., None]
    checkout_copy: Callable[..., Any]
    load: Callable[[str], Any]
    git: Callable[..., None]
    free_port: Callable[[], int]


RELEASE_TARGET = 60.0  # seconds, commit to production with both instances
DRY_RUN_TARGET = 3.0  # seconds


@dataclass
class ReleaseTiming:
    seconds: float
    sent: int
    failed: int
    errors: list[str]
    version: str
    served: dict[str, str]
    steps: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"version": self.version, "served": self.served, "sent": self.sent,
                "errors": self.errors[:5], "steps": self.steps}  # fmt: skip


def measure_release(
    root: Path,
    environ: dict[str, str],
    invoke: str,
    *,
    ports: tuple[int, int, int],
    load: Callable[[str], Any],
    git: Callable[..., None],
) -> ReleaseTiming:
    """Set `root` (a fresh copy with a git history of its own) up to release: a bare remote, a
    local registry on `ports[0]`, staging and production serving the current version on
    `ports[1:]`, a `feat:` commit; then time `invoke release --yes` under `load`."""
    import requests

    registry, staging, production = ports
    pyproject = root / "pyproject.toml"
    pyproject.write_text(with_registry(pyproject.read_text(), registry))
    for instance, port in (("staging", staging), ("production", production)):
        (root / "env" / "instances" / f"{instance}.toml").write_text(
            f'profile = "testing"\nport = {port}\nreplicas = 1\nworker_replicas = 1\n'
        )
    remote = root.parent / f"{root.name}-remote.git"
    git(root.parent, "init", "-q", "--bare", "-b", "main", str(remote))
    git(root, "branch", "-M", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "chore: release setup")
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "origin", "main")

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([invoke, *args], cwd=root, env=environ, capture_output=True,
                              text=True, check=False, timeout=900)  # fmt: skip
        if check and done.returncode != 0:
            said = (done.stdout + done.stderr).strip().splitlines()[-20:]
            raise SystemExit(f"`invoke {' '.join(args)}` exited {done.returncode}:\n"
                             + "\n".join(said))  # fmt: skip
        return done

    run("env.init", "--profile", "testing")
    run("registry.up")
    run("deploy", "--instance", "staging")
    run("deploy", "--instance", "production")
    (root / "tugboat" / "RELEASE_BENCH.md").write_text("a change to release\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "feat: a change to release")
    git(root, "push", "-q", "origin", "main")
    url = f"http://127.0.0.1:{production}/version"
    with load(url) as traffic:
        time.sleep(1)
        began = time.monotonic()
        done = run("release", "--yes", "--json", check=False)
        seconds = time.monotonic() - began
        time.sleep(1)
    if done.returncode != 0:
        said = (done.stdout + done.stderr).strip().splitlines()[-20:]
        raise SystemExit(f"`invoke release --yes` exited {done.returncode}:\n" + "\n".join(said))
    document = json.loads(done.stdout)  # the run's one document: publication and delivery
    steps: list[dict[str, Any]] = list(document.get("steps") or [])
    version = str(document.get("version") or "")
    served = {
        name: str(requests.get(f"http://127.0.0.1:{port}/version", timeout=5).json()["version"])
        for name, port in (("staging", staging), ("production", production))
    }
    return ReleaseTiming(seconds, traffic.sent, traffic.failed, traffic.errors, version, served,
                         steps)  # fmt: skip


def with_registry(text: str, port: int) -> str:
    """The pyproject text with its [tool.dockyard.registry] section pointing at the local
    registry on `port` (the section's other keys kept; added when absent)."""
    settings = (f'url = "127.0.0.1:{port}"\nlocal_port = {port}\n'
                "ready_timeout_seconds = 120\n")  # fmt: skip
    header = "[tool.dockyard.registry]\n"
    if header not in text:
        return f"{text}\n{header}{settings}"
    before, _, after = text.partition(header)
    section, _, rest = after.partition("\n[")
    replaced = ("url", "local_port", "ready_timeout")
    kept = [line for line in section.splitlines()
            if line.strip() and not line.startswith(replaced)]  # fmt: skip
    return before + header + settings + "\n".join(kept) + (f"\n\n[{rest}" if rest else "")


def measure_dry_run(repo: Path, environ: dict[str, str], invoke: str, runs: int = 3) -> float:
    """Median seconds of `invoke release --dry-run` on `repo` (its exit code says whether
    preflight passed, which does not matter here)."""

    def once() -> float:
        began = time.monotonic()
        subprocess.run([invoke, "release", "--dry-run"], cwd=repo, env=environ,
                       capture_output=True, check=False, timeout=120)  # fmt: skip
        return time.monotonic() - began

    once()  # warm the file cache
    return statistics.median(once() for _ in range(runs))


def clean_up(root: Path, environ: dict[str, str], invoke: str, project: str) -> None:
    """Stop the monitors, remove both instances and the local registry with its data."""
    for instance in ("staging", "production"):
        subprocess.run([invoke, "deploy.monitors", "--stop", instance], cwd=root, env=environ,
                       capture_output=True, check=False)  # fmt: skip
        subprocess.run(["docker", "compose", "--project-name", f"{project}-{instance}", "down",
                        "--volumes", "--remove-orphans"], env=environ, capture_output=True,
                       check=False)  # fmt: skip
    subprocess.run([invoke, "registry.down", "--volumes"], cwd=root, env=environ,
                   capture_output=True, check=False)  # fmt: skip


def bench(repo: Path, environ: dict[str, str], invoke: str, helpers: Helpers) -> None:
    """Both figures, printed through bench.py's `figure`."""
    import shutil
    import uuid

    from dockyard.image.overrides import STATE_FILE

    figure = helpers.figure
    with helpers.checkout_copy(project=f"dyr{uuid.uuid4().hex[:6]}") as (root, config):
        if (repo / STATE_FILE).is_file():  # the local base images, when there is no registry
            (root / STATE_FILE).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / STATE_FILE, root / STATE_FILE)
        ports = (helpers.free_port(), helpers.free_port(), helpers.free_port())
        try:
            timing = measure_release(root, environ, invoke, ports=ports, load=helpers.load,
                                     git=helpers.git)  # fmt: skip
        finally:
            clean_up(root, environ, invoke, config.project)
    both = set(timing.served.values()) == {timing.version}
    figure("release from a commit to production (invoke release --yes)", timing.seconds, "s",
           f"< {RELEASE_TARGET:.0f} s, both instances", timing.seconds < RELEASE_TARGET and both,
           **timing.summary())  # fmt: skip
    figure("failed requests to production during the release", timing.failed, "req",
           f"0 of {timing.sent}", timing.failed == 0 and timing.sent > 0)  # fmt: skip
    dry = measure_dry_run(repo, environ, invoke)
    figure("invoke release --dry-run on this repository (median of 3)", dry, "s",
           f"< {DRY_RUN_TARGET:.0f} s", dry < DRY_RUN_TARGET)  # fmt: skip
