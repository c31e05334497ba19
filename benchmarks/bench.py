"""dockyard's performance figures (`nox -s bench`), each compared with a baseline from the same run.

    python benchmarks/bench.py [list lint hooks image stack bootstrap deploy cidoctor ...]

Every figure is printed with its target; the JSON lands in reports/bench.json. Builds and
stacks run in temporary copies of the checkout, under names of their own, and are removed
afterwards, so a developer's images, containers and volumes are not touched.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from rich.console import Console

from dockyard.core.config import Config, load_config
from dockyard.core.invocation import toolchain_environ
from dockyard.stack.health import closed_unanswered

REPO = Path(__file__).resolve().parent.parent
ENVIRON = toolchain_environ(os.environ)
BIN = Path(sys.executable).parent
FIGURES: list[dict[str, Any]] = []


def figure(name: str, value: float, unit: str, target: str, ok: bool, **extra: Any) -> None:
    FIGURES.append(
        {"figure": name, "value": round(value, 3), "unit": unit, "target": target, "ok": ok} | extra
    )
    mark = "ok  " if ok else "MISS"
    print(f"{mark} {name:<58} {value:>9.3f} {unit:<3} (target: {target})", flush=True)


def timed(command: list[str], cwd: Path = REPO, env: dict[str, str] | None = None) -> float:
    return timed_output(command, cwd, env)[0]


def timed_output(
    command: list[str], cwd: Path = REPO, env: dict[str, str] | None = None
) -> tuple[float, str]:
    """Seconds `command` took, and its standard output."""
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, env=env or ENVIRON, capture_output=True, text=True,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        said = (done.stdout + done.stderr).strip().splitlines()[-15:]
        shown = " ".join(command)
        raise SystemExit(f"`{shown}` exited with {done.returncode}:\n" + "\n".join(said))
    return time.monotonic() - started, done.stdout


def median_of(runs: int, command: list[str]) -> float:
    timed(command)  # warm the file cache
    return statistics.median(timed(command) for _ in range(runs))


@contextmanager
def checkout_copy(**dockyard: Any) -> Iterator[tuple[Path, Config]]:
    """A copy of the tracked files (and the working tree's changes), its [tool.dockyard]
    names made unique, and a git history of its own."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split("\0")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as scratch:
        root = Path(scratch)
        for name in filter(None, files):
            if (REPO / name).is_file():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, root / name)
        pyproject = root / "pyproject.toml"
        text = pyproject.read_text()
        for key, value in dockyard.items():
            text = text.replace(f'\n{key} = "tugboat"', f'\n{key} = "{value}"', 1)
        pyproject.write_text(text)
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bench"]):
            git(root, *args)
        yield root, load_config(root)


def git(root: Path, *args: str) -> None:
    names = {"NAME": "bench", "EMAIL": "bench@example.invalid"}
    identity = {f"GIT_{who}_{key}": value for who in ("AUTHOR", "COMMITTER")
                for key, value in names.items()}  # fmt: skip
    subprocess.run(["git", *args], cwd=root, env={**ENVIRON, **identity}, check=True,
                   capture_output=True)  # fmt: skip


def remove_images(*references: str) -> None:
    for reference in references:
        subprocess.run(["docker", "image", "rm", "-f", reference], capture_output=True, check=False)


# ------------------------------------------------------------------ figures ---


def bench_list() -> None:
    """`invoke --list` against the interpreter starting and doing nothing."""
    listing = median_of(10, [str(BIN / "invoke"), "--list"])
    bare = median_of(10, [sys.executable, "-c", "pass"])
    figure("invoke --list (median of 10)", listing, "s", "< 0.5 s", listing < 0.5,
           python_startup_s=round(bare, 3))  # fmt: skip


def bench_image() -> None:
    """Cold build, rebuild after a one-line change, and size against a naive single stage."""
    from dockyard.image.build import gather, plan_build, run_build

    name = f"dyb-{uuid.uuid4().hex[:8]}"
    with checkout_copy(image=name) as (root, config):
        # The same base image as this checkout builds on (the local stand-in when there is one).
        recorded = REPO / ".dockyard" / "images.env"
        if recorded.is_file():
            (root / ".dockyard").mkdir()
            shutil.copy(recorded, root / ".dockyard" / "images.env")
        plan = plan_build(config, gather(config, ENVIRON), no_cache=True)
        # Cold as on a fresh machine: no layers (--no-cache) and no package download caches.
        # Pruning the cache mounts touches no image, container or volume; they refill on use.
        prune = ["docker", "builder", "prune", "--force", "--filter", "type=exec.cachemount"]
        subprocess.run(prune, env=ENVIRON, capture_output=True, check=True)
        cold = run_build(plan, ENVIRON)
        module = root / "tugboat" / "src" / "tugboat" / "__init__.py"
        module.write_text(module.read_text() + "\n# one changed line\n")
        warm = run_build(plan_build(config, gather(config, ENVIRON)), ENVIRON)
        naive_tag = f"{name}-naive:bench"
        naive = dataclasses.replace(
            plan, dockerfile=root / "benchmarks" / "Dockerfile.naive", tags=(naive_tag,),
            build_args={"BASE_IMAGE": plan.build_args["BASE_IMAGE"]}, no_cache=True,
        )  # fmt: skip
        naive_result = run_build(naive, ENVIRON)
        remove_images(*plan.tags, *warm.plan.tags, naive_tag)
    ratio = warm.seconds / cold.seconds
    times = {"cold_s": round(cold.seconds, 1), "rebuild_s": round(warm.seconds, 1)}
    figure("rebuild after a one-line code change / cold build", ratio, "x", "< 0.20",
           ratio < 0.2, **times)  # fmt: skip
    size, naive_size = cold.size_bytes / 1e6, naive_result.size_bytes / 1e6
    sizes = {"image_mb": round(size, 1), "naive_mb": round(naive_size, 1)}
    figure("runtime image size / naive single-stage size", size / naive_size, "x", "<= 0.50",
           size / naive_size <= 0.5, **sizes)  # fmt: skip
    figure("runtime image size", size, "MB", "< 200 MB", size < 200)


def bench_stack() -> None:
    """stack.up on built images (fresh volumes) and how soon readiness is noticed."""
    from dockyard.image.overrides import read_overrides
    from dockyard.stack import lifecycle as stack
    from dockyard.stack.health import ready_answers

    config = load_config(REPO)
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-env-") as env_dir:
        from dockyard.env.commands import ensure_profile

        name = f"dyb-{uuid.uuid4().hex[:8]}"
        port = _free_port()
        own = dataclasses.replace(config, project=name, ports={"proxy": port}, env_dir=env_dir)
        ensure_profile(own, "testing")
        project = stack.project_for(own, "testing", read_overrides(config), environ=ENVIRON)
        first_200: list[float] = []
        stop = threading.Event()
        url = f"http://127.0.0.1:{port}/health/ready"
        watcher = threading.Thread(target=_watch, args=(url, first_200, stop), daemon=True)
        from dockyard.core.engine import connect

        client = connect(ENVIRON)
        probe = stack.Probe(frozenset({"app", "proxy"}), lambda: ready_answers(url), "bench")
        watcher.start()
        try:
            readiness = stack.up(project, ENVIRON, client, Console(file=io.StringIO()),
                                 timeout=120, ports=own.ports, probe=probe)  # fmt: skip
            noticed = readiness.began + readiness.services["app"]
            total = readiness.seconds
        finally:
            stop.set()
            watcher.join(timeout=5)
            stack.down(client, project.name, volumes=True)
    figure("stack.up on built images to all ready (fresh volumes)", total, "s", "< 20 s",
           total < 20)  # fmt: skip
    lag = noticed - first_200[0] if first_200 else float("nan")
    # The wait probes every 0.2 s and the watcher every 0.02 s; a value at or below zero means
    # the wait saw readiness on the same answer as the watcher.
    figure("readiness noticed after /health/ready first answers 200", max(lag, 0.0), "s",
           "< 1 s", lag < 1, raw_s=round(lag, 3))  # fmt: skip


def bench_bootstrap() -> None:
    """`invoke bootstrap` in a fresh copy: base images, service image, stack, smoke test; then
    again with nothing changed."""
    name = f"dyb{uuid.uuid4().hex[:6]}"
    with checkout_copy(project=name, image=name) as (root, _):
        text = (root / "pyproject.toml").read_text()
        text = text.replace("proxy = 8080", f"proxy = {_free_port()}", 1)
        text = text.replace(
            "[tool.dockyard.images]", f'[tool.dockyard.images]\nlocal_prefix = "{name}-base"', 1
        )
        (root / "pyproject.toml").write_text(text)
        subprocess.run(["git", "commit", "-qam", "unique names"], cwd=root, check=True,
                       capture_output=True)  # fmt: skip
        invoke = [str(BIN / "invoke"), "bootstrap"]
        try:
            first = timed(invoke, cwd=root)
            second = timed(invoke, cwd=root)
        finally:
            subprocess.run([str(BIN / "invoke"), "stack.down", "--volumes"], cwd=root,
                           env=ENVIRON, capture_output=True, check=False)  # fmt: skip
            listed = subprocess.run(
                ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            remove_images(*(i for i in listed.stdout.split() if i.startswith(name)))
    runs = {"first_s": round(first, 1), "second_s": round(second, 1)}
    figure("bootstrap again with nothing changed / first bootstrap", second / first, "x",
           "< 0.20", second / first < 0.2, **runs)  # fmt: skip


def bench_deploy() -> None:
    """`invoke deploy` of a new version and `invoke rollback`, each under a steady load through
    the instance's proxy: wall time, and requests sent and failed meanwhile."""
    name = f"dyb{uuid.uuid4().hex[:6]}"
    port = _free_port()
    with checkout_copy(project=name) as (root, config):
        from dockyard.image.overrides import STATE_FILE

        if (REPO / STATE_FILE).is_file():  # the local base images, when there is no registry
            (root / STATE_FILE).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / STATE_FILE, root / STATE_FILE)
        (root / "env" / "instances" / "bench.toml").write_text(
            f'profile = "testing"\nport = {port}\nreplicas = 1\nworker_replicas = 1\n'
        )
        invoke = [str(BIN / "invoke")]
        base = f"{config.image}:{_version_tag(config)}"
        tags = [f"{name}-v1", f"{name}-v2"]
        for tag in tags:
            _build_version(base, f"{config.image}:{tag}", tag)
        try:
            subprocess.run([*invoke, "env.init", "--profile", "testing"], cwd=root, env=ENVIRON,
                           check=True, capture_output=True)  # fmt: skip
            timed([*invoke, "deploy", "--instance", "bench", "--image", tags[0]], cwd=root)
            url = f"http://127.0.0.1:{port}/version"
            with _Load(url) as load:
                time.sleep(1)
                deploy, said = timed_output(
                    [*invoke, "deploy", "--instance", "bench", "--image", tags[1], "--json"],
                    cwd=root,
                )
                deploy_steps = json.loads(said)["steps"]
                time.sleep(1)
            with _Load(url) as back:
                time.sleep(1)
                rollback, said = timed_output(
                    [*invoke, "rollback", "--instance", "bench", "--json"], cwd=root
                )
                rollback_steps = json.loads(said)["steps"]
                time.sleep(1)
            served = requests.get(url, timeout=5).json()["version"]
        finally:
            subprocess.run([*invoke, "deploy.monitors", "--stop", "bench"], cwd=root,
                           env=ENVIRON, capture_output=True, check=False)  # fmt: skip
            subprocess.run(["docker", "compose", "--project-name", f"{name}-bench", "down",
                            "--volumes", "--remove-orphans"], env=ENVIRON, capture_output=True,
                           check=False)  # fmt: skip
            remove_images(*(f"{config.image}:{tag}" for tag in tags))
    figure("deploy of a new version under load (invoke deploy)", deploy, "s", "< 30 s",
           deploy < 30 and served == tags[0], steps=deploy_steps)  # fmt: skip
    figure("failed requests during the deploy", load.failed, "req",
           f"0 of {load.sent}; {load.retried} resent on a new connection",
           load.failed == 0 and load.sent > 0, errors=load.errors[:5],
           retried_on_new_connection=load.retried)  # fmt: skip
    figure("rollback to the previous version under load", rollback, "s", "< 15 s",
           rollback < 15, steps=rollback_steps)  # fmt: skip
    figure("failed requests during the rollback", back.failed, "req",
           f"0 of {back.sent}; {back.retried} resent on a new connection",
           back.failed == 0 and back.sent > 0, errors=back.errors[:5],
           retried_on_new_connection=back.retried)  # fmt: skip


def _version_tag(config: Config) -> str:
    from dockyard.image.build import tag_safe
    from dockyard.image.facts import read_version

    return tag_safe(read_version(config))


def _build_version(base: str, tag: str, version: str) -> None:
    """The service image again, answering `/version` with `version`: a new release, cheaply."""
    dockerfile = (f"FROM {base}\nENV APP_VERSION={version}\n"
                  f'LABEL org.opencontainers.image.version="{version}"\n')  # fmt: skip
    subprocess.run(["docker", "build", "--quiet", "--tag", tag, "-"], input=dockerfile,
                   text=True, env=ENVIRON, check=True, capture_output=True)  # fmt: skip


class _Load:
    """Four keep-alive clients requesting `url` every 10 ms, counting what failed."""

    def __init__(self, url: str, clients: int = 4) -> None:
        self.url, self.sent, self.failed, self.retried = url, 0, 0, 0
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def __enter__(self) -> _Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def _run(self) -> None:
        with requests.Session() as http:
            while not self.stop.is_set():
                error = None
                try:
                    answer = self._get(http)
                    if answer.status_code != 200:
                        error = f"HTTP {answer.status_code}: {answer.text[:200]}"
                except requests.RequestException as failure:
                    error = f"{type(failure).__name__}: {failure}"
                with self.lock:
                    self.sent += 1
                    if error is not None:
                        self.failed += 1
                        self.errors.append(f"{time.strftime('%H:%M:%S')} {error}")
                time.sleep(0.01)

    def _get(self, http: requests.Session) -> requests.Response:
        """GET, sent once more on a new connection when a keep-alive connection was closed
        unanswered (as nginx's graceful reload closes idle ones), as browsers and curl do."""
        try:
            return http.get(self.url, timeout=10)
        except requests.ConnectionError as error:
            if not closed_unanswered(error):
                raise
        with self.lock:
            self.retried += 1
        return http.get(self.url, timeout=10)


def _watch(url: str, first_200: list[float], stop: threading.Event) -> None:
    """Poll `url` every 20 ms until it first answers 200 (bounded by `stop`)."""
    with requests.Session() as http:
        while not stop.is_set():
            try:
                if http.get(url, timeout=0.5).status_code == 200:
                    first_200.append(time.monotonic())
                    return
            except requests.RequestException:
                pass
            time.sleep(0.02)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bench_lint() -> None:
    """`nox -s lint` with nothing changed against a cold one (no environment, empty uv cache)."""
    from lint_bench import TARGET, measure_lint

    timing = measure_lint(ENVIRON)
    figure("nox -s lint warm (nothing changed) / cold", timing.ratio, "x", f"< {TARGET}",
           timing.ratio < TARGET, **timing.summary())  # fmt: skip


def bench_cidoctor() -> None:
    """`invoke ci.doctor` on 10 MB of log noise ending in a real failure."""
    from ci_bench import TARGET, measure_doctor

    timing = measure_doctor()
    ok = timing.command < TARGET and timing.category == "types"
    figure("invoke ci.doctor on a 10 MB log (median of 5)", timing.command, "s", f"< {TARGET} s",
           ok, **timing.summary())  # fmt: skip


def bench_hooks() -> None:
    """A push with dockyard's git hooks against the same push without them."""
    from hooks_bench import TARGET, measure_hooks

    timing = measure_hooks()
    figure("git push overhead of the hooks (median of 10)", timing.overhead, "s",
           f"< {TARGET} s", timing.overhead < TARGET, without_s=round(timing.without, 3),
           with_hooks_s=round(timing.with_hooks, 3))  # fmt: skip


def bench_release() -> None:
    """`invoke release --yes` from a commit to production under load; `--dry-run` here."""
    from release_bench import Helpers, bench

    bench(REPO, ENVIRON, str(BIN / "invoke"), Helpers(figure, checkout_copy, _Load, git,
                                                      _free_port))  # fmt: skip


BENCHES: dict[str, Callable[[], None]] = {
    "list": bench_list,
    "hooks": bench_hooks,
    "lint": bench_lint,
    "image": bench_image,
    "stack": bench_stack,
    "bootstrap": bench_bootstrap,
    "deploy": bench_deploy,
    "cidoctor": bench_cidoctor,
    "release": bench_release,
}


def main(names: list[str]) -> int:
    for name in names or list(BENCHES):
        BENCHES[name]()
    report = REPO / "reports" / "bench.json"
    report.parent.mkdir(exist_ok=True)
    report.write_text(json.dumps(FIGURES, indent=2))
    print(f"figures written to {report.relative_to(REPO)}")
    return 0 if all(f["ok"] for f in FIGURES) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
