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


class CommandError(RuntimeError):
    """An `invoke` command of the set-up or the release failed; the message has its output."""


@dataclass(frozen=True)
class Project:
    """A copy of the checkout set up to release (by `prepare_release`): a bare remote, a local
    registry, staging and production serving the copy's version. The release benchmark and the
    end-to-end release tests drive it as a release manager does, through `invoke`."""

    root: Path
    environ: dict[str, str]
    invoke: str
    git: Callable[..., None]
    ports: dict[str, int]  # "registry", "staging", "production"

    def run(
        self, *args: str, check: bool = True, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        """`invoke ARGS` in the copy, without a terminal; with `check`, a failure says why."""
        done = subprocess.run([self.invoke, *args], cwd=self.root, env=self.environ,
                              capture_output=True, text=True, check=False, timeout=timeout,
                              stdin=subprocess.DEVNULL)  # fmt: skip
        if check and done.returncode != 0:
            said = (done.stdout + done.stderr).strip().splitlines()[-20:]
            raise CommandError(f"`invoke {' '.join(args)}` exited {done.returncode}:\n"
                               + "\n".join(said))  # fmt: skip
        return done

    @property
    def remote(self) -> Path:
        """The bare repository the copy publishes to (`origin`)."""
        return self.root.parent / f"{self.root.name}-remote.git"

    def commit(self, message: str, files: dict[str, str]) -> None:
        """Write `files` (path: text), commit them as `message` and push the branch."""
        for name, text in files.items():
            (self.root / name).write_text(text, encoding="utf-8")
        self.git(self.root, "add", "-A")
        self.git(self.root, "commit", "-qm", message)
        self.git(self.root, "push", "-q", "origin", "main")

    def url(self, instance: str, path: str = "/version") -> str:
        return f"http://127.0.0.1:{self.ports[instance]}{path}"

    def served(self) -> dict[str, str]:
        """The version each instance's proxy answers with."""
        import requests

        return {
            name: str(requests.get(self.url(name), timeout=5).json()["version"])
            for name in ("staging", "production")
        }


def prepare_release(
    root: Path,
    environ: dict[str, str],
    invoke: str,
    *,
    ports: tuple[int, int, int],
    git: Callable[..., None],
    serving: str = "",
) -> Project:
    """Set `root` (a fresh copy with a git history of its own) up to release: a bare remote, a
    local registry on `ports[0]`, staging and production on `ports[1:]` serving the copy's
    version (`serving`, when given, is an existing image tagged as that version first)."""
    from dockyard.core.config import load_config
    from dockyard.image.build import image_ref, tag_safe
    from dockyard.image.facts import read_version

    registry, staging, production = ports
    pyproject = root / "pyproject.toml"
    pyproject.write_text(with_registry(pyproject.read_text(), registry))
    for instance, port in (("staging", staging), ("production", production)):
        (root / "env" / "instances" / f"{instance}.toml").write_text(
            f'profile = "testing"\nport = {port}\nreplicas = 1\nworker_replicas = 1\n'
        )
    remote = root.parent / f"{root.name}-remote.git"  # Project.remote
    git(root.parent, "init", "-q", "--bare", "-b", "main", str(remote))
    git(root, "branch", "-M", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "chore: release setup")
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "origin", "main")
    if serving:
        config = load_config(root)
        ref = image_ref(config, tag_safe(read_version(config)))
        subprocess.run(["docker", "tag", serving, ref], env=environ, check=True,
                       capture_output=True)  # fmt: skip
    where = {"registry": registry, "staging": staging, "production": production}
    project = Project(root, environ, invoke, git, where)
    project.run("env.init", "--profile", "testing")
    project.run("registry.up")
    project.run("deploy", "--instance", "staging")
    project.run("deploy", "--instance", "production")
    return project


def measure_release(
    root: Path,
    environ: dict[str, str],
    invoke: str,
    *,
    ports: tuple[int, int, int],
    load: Callable[[str], Any],
    git: Callable[..., None],
    serving: str = "",
) -> ReleaseTiming:
    """`prepare_release`, a `feat:` commit, then time `invoke release --yes` under `load`."""
    project = prepare_release(root, environ, invoke, ports=ports, git=git, serving=serving)
    project.commit("feat: a change to release", {"tugboat/RELEASE_BENCH.md": "a change\n"})
    with load(project.url("production")) as traffic:
        time.sleep(1)
        began = time.monotonic()
        done = project.run("release", "--yes", "--json", check=False)
        seconds = time.monotonic() - began
        time.sleep(1)
    if done.returncode != 0:
        said = (done.stdout + done.stderr).strip().splitlines()[-20:]
        raise CommandError(f"`invoke release --yes` exited {done.returncode}:\n" + "\n".join(said))
    document = json.loads(done.stdout)  # the run's one document: publication and delivery
    steps: list[dict[str, Any]] = list(document.get("steps") or [])
    version = str(document.get("version") or "")
    return ReleaseTiming(seconds, traffic.sent, traffic.failed, traffic.errors, version,
                         project.served(), steps)  # fmt: skip


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


def copy_base_images(repo: Path, root: Path) -> None:
    """The local base images `repo` builds on (when there is no registry with the official
    ones), for the copy's builds too."""
    import shutil

    from dockyard.image.overrides import STATE_FILE

    if (repo / STATE_FILE).is_file():
        (root / STATE_FILE).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / STATE_FILE, root / STATE_FILE)


def clean_up(root: Path, environ: dict[str, str], invoke: str, project: str, image: str) -> None:
    """Stop the monitors, remove both instances, the local registry with its data, and every
    tag of the copy's own `image` (here and under the registry's name)."""
    for instance in ("staging", "production"):
        subprocess.run([invoke, "deploy.monitors", "--stop", instance], cwd=root, env=environ,
                       capture_output=True, check=False)  # fmt: skip
        subprocess.run(["docker", "compose", "--project-name", f"{project}-{instance}", "down",
                        "--volumes", "--remove-orphans"], env=environ, capture_output=True,
                       check=False)  # fmt: skip
    subprocess.run([invoke, "registry.down", "--volumes"], cwd=root, env=environ,
                   capture_output=True, check=False)  # fmt: skip
    listed = subprocess.run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
                            env=environ, capture_output=True, text=True, check=False)  # fmt: skip
    mine = [ref for ref in listed.stdout.split()
            if ref.rsplit(":", 1)[0].rsplit("/", 1)[-1] == image]  # fmt: skip
    if mine:
        subprocess.run(["docker", "image", "rm", *mine], env=environ, capture_output=True,
                       check=False)  # fmt: skip


def bench(repo: Path, environ: dict[str, str], invoke: str, helpers: Helpers) -> None:
    """Both figures, printed through bench.py's `figure`."""
    import uuid

    from dockyard.core.config import load_config
    from dockyard.image.build import image_ref, tag_safe
    from dockyard.image.facts import read_version

    figure = helpers.figure
    here = load_config(repo)
    serving = image_ref(here, tag_safe(read_version(here)))  # built by `invoke image.build`
    name = f"dyr{uuid.uuid4().hex[:6]}"
    with helpers.checkout_copy(project=name, image=name) as (root, config):
        copy_base_images(repo, root)
        ports = (helpers.free_port(), helpers.free_port(), helpers.free_port())
        try:
            timing = measure_release(root, environ, invoke, ports=ports, load=helpers.load,
                                     git=helpers.git, serving=serving)  # fmt: skip
        except CommandError as error:
            raise SystemExit(str(error)) from None
        finally:
            clean_up(root, environ, invoke, config.project, config.image)
    both = set(timing.served.values()) == {timing.version}
    figure("release from a commit to production (invoke release --yes)", timing.seconds, "s",
           f"< {RELEASE_TARGET:.0f} s, both instances", timing.seconds < RELEASE_TARGET and both,
           **timing.summary())  # fmt: skip
    figure("failed requests to production during the release", timing.failed, "req",
           f"0 of {timing.sent}", timing.failed == 0 and timing.sent > 0)  # fmt: skip
    dry = measure_dry_run(repo, environ, invoke)
    figure("invoke release --dry-run on this repository (median of 3)", dry, "s",
           f"< {DRY_RUN_TARGET:.0f} s", dry < DRY_RUN_TARGET)  # fmt: skip
