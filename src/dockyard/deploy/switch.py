"""The health-gated, zero-downtime switch of an instance from one version to another.

The new version's containers start beside the live ones (compose scales the service up
without recreating what runs), and must answer their readiness check directly, on the
network they share with the proxy. Only then does the proxy's upstream list change, with a
graceful nginx reload: requests in flight finish where they started, new ones go to the new
version. Answers through the proxy confirm the switch; the smoke test checks it; then the
old containers drain and stop. At any failure before that point the proxy stays on (or goes
back to) the old version and the new containers are removed, with their logs in the error.
An instance with nothing running yet is simply brought up.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dockyard.core import proc
from dockyard.core.errors import DockyardError, UnknownNameError
from dockyard.core.files import replace_atomically
from dockyard.deploy.plan import (
    VERSION_LABEL,
    Serving,
    judge,
    leftovers,
    plan_switch,
    render_upstream,
    started_by_deploy,
)
from dockyard.deploy.proxy import PROBE_TIMEOUT, Proxy
from dockyard.deploy.serving import now, read_serving, write_serving
from dockyard.deploy.target import DeployFailedError, Outcome, Target
from dockyard.image.build import image_ref
from dockyard.stack import lifecycle as stack
from dockyard.stack import logs
from dockyard.stack.compose import ComposeProject, ContainerState, ServiceState, Verdict
from dockyard.stack.proxyconf import PORT_VARIABLE

if TYPE_CHECKING:
    import docker
    import requests
    from rich.console import Console

POLL_SECONDS = 0.2
UNDO_SETTLE_SECONDS = 1.0  # for the engine to finish a create that was under way


class Switch:
    """One deploy or rollback of one instance, step by step, undone on any failure."""

    def __init__(
        self,
        target: Target,
        client: docker.DockerClient,
        environ: Mapping[str, str],
        console: Console,
        *,
        ready_timeout: float,
    ) -> None:
        self.target = target
        self.client = client
        self.environ = environ
        self.console = console
        self.ready_timeout = ready_timeout
        self.services = target.config.services
        self.port = target.config.deploy.app_port
        self.proxy = Proxy(target, client)
        self._proxy_networks: frozenset[str] | None = None  # the networks the proxy is on

    # ---------------------------------------------------------------- the whole switch ---

    def run(self, version: str, *, migrate: bool, image: str | None = None) -> Outcome:
        """Switch to `version`, run from `image` (default: the configured image tagged with
        the version; a release passes its exact `repository@sha256:` reference)."""
        image = image or image_ref(self.target.config, version)
        self._require_image(image)
        serving = read_serving(self.target)
        live = self._app_containers()
        running_proxy = self.proxy.container() is not None
        if (
            serving is None
            or not running_proxy
            or not any(c.name in serving.containers and c.status == "running" for c in live)
        ):
            return self._first_deploy(version, image, serving)
        outcome = Outcome(version, serving.version)
        self._remove(leftovers(live, serving), outcome, "left by an interrupted deploy")
        project = self.target.with_image(image)
        stack.validate(project, self.environ, self.services.named())
        plan = plan_switch(self.services, migrate=migrate)
        if plan.migrate:
            with self._step(outcome, "migrate"):
                self._migrate(project, plan.migrate)
        new: list[str] = []
        switched = False
        try:
            with self._step(outcome, "start"):
                new = self._scale_up(project, serving)
            with self._step(outcome, "ready"):
                self._wait_ready(new)
            switched = True
            with self._step(outcome, "switch"):
                self.proxy.point_at(new, image=self._image_id(image), expect=self._expect(image))
            outcome.switched_at = time.monotonic()
            with self._step(outcome, "check"):
                stack_smoke(self.target)
        except BaseException as failure:
            self._undo(serving, new, switched, outcome)
            if isinstance(failure, DockyardError):
                raise DeployFailedError(
                    f"{version} did not go live: {failure.message}\n"
                    f"{serving.version} is still serving; the new containers were removed",
                    hint=failure.hint,
                ) from None
            raise
        write_serving(self.target, Serving(version, tuple(new), now()))
        with self._step(outcome, "drain"):
            self._drain(project, list(serving.containers), outcome, plan.follow)
        outcome.finished = time.monotonic()
        return outcome

    def _drain(
        self, project: ComposeProject, old: list[str], outcome: Outcome, follow: tuple[str, ...]
    ) -> None:
        """The old containers finish their requests and stop while the workers (`follow`) move
        to the new version (compose recreates them) in the background."""
        drain = self.target.config.deploy.drain_seconds
        if not follow:
            self._stop(old, drain)
            return
        with tempfile.TemporaryFile("w+", prefix="dockyard-compose-") as output:
            workers = proc.spawn(
                project.command("up", "--detach", "--no-deps", "--no-build", *follow),
                env=project.environ(self.environ),
                output=output,
            )
            try:
                self._stop(old, drain)
                code = workers.wait(timeout=self.ready_timeout + 60)
            finally:
                if workers.poll() is None:
                    workers.kill()
                    workers.wait()
            if code != 0:
                output.seek(0)
                said = output.read().strip().splitlines()[-5:]
                outcome.notes.append(
                    f"the workers did not move to {outcome.version} (compose exited {code}): "
                    + " / ".join(said)
                )
                self.console.print(f"  [yellow]warning: {outcome.notes[-1]}[/yellow]")

    def _first_deploy(self, version: str, image: str, serving: Serving | None) -> Outcome:
        """Nothing serves yet: bring the whole instance up on this version."""
        outcome = Outcome(version, serving.version if serving else None)
        project = self.target.with_image(image)
        replace_atomically(
            self.target.upstream_dir / "upstream.conf",
            render_upstream([self.services.app], self.port),
        )
        url = self.target.base_url + self.target.config.health.ready_path
        from dockyard.stack.health import ready_answers

        probe = stack.Probe(
            frozenset({self.services.app, self.services.proxy}),
            lambda: ready_answers(url),
            f"{self.target.config.health.ready_path} answers 200 through the proxy",
        )
        with self._step(outcome, "up"):
            stack.up(
                project,
                self.environ,
                self.client,
                self.console,
                timeout=self.ready_timeout,
                ports={self.services.proxy: int(project.variables.get(PORT_VARIABLE, "0"))},
                probe=probe,
                port_setting=self.target.port_setting,
                named=self.services.named(),
            )
        names = tuple(c.name for c in self._app_containers() if c.status == "running")
        with self._step(outcome, "switch"):
            self.proxy.point_at(list(names), image=self._image_id(image), expect=None)
        outcome.switched_at = time.monotonic()
        with self._step(outcome, "check"):
            stack_smoke(self.target)
        write_serving(self.target, Serving(version, names, now()))
        outcome.finished = time.monotonic()
        return outcome

    # ------------------------------------------------------------------------- steps ---

    @contextmanager
    def _step(self, outcome: Outcome, name: str) -> Iterator[None]:
        began = time.monotonic()
        self.console.print(f"  {name:<8} ...")
        yield
        outcome.steps[name] = round(time.monotonic() - began, 2)
        self.console.print(f"  {name:<8} done in {outcome.steps[name]:.1f} s")

    def _require_image(self, image: str) -> None:
        from docker.errors import ImageNotFound

        try:
            self.client.images.get(image)
        except ImageNotFound:
            raise UnknownNameError(
                f"image {image} does not exist on this engine; nothing changed",
                hint="build it with `invoke image.build`, or name an existing tag with --image",
            ) from None

    def _image_id(self, image: str) -> str:
        return str(self.client.images.get(image).id)

    def _expect(self, image: str) -> str | None:
        """The version a configured version endpoint must name: the image's version label,
        which `invoke image.build` stamps itself. None without a version endpoint."""
        if not self.target.config.health.version_path:
            return None
        labels = self.client.images.get(image).labels or {}
        return labels.get(VERSION_LABEL)

    def _migrate(self, project: ComposeProject, migrate: str) -> None:
        """The one-shot migrate service, once, before anything switches. Its container is
        recreated on the new image (not a `run --rm` one-off), so no older image stays pinned
        by it, and compose keeps knowing the service."""
        found = self._compose(
            project, "up", "--no-deps", "--no-build", "--force-recreate",
            "--exit-code-from", migrate, migrate, check=False,
        )  # fmt: skip
        if not found.ok:
            raise DeployFailedError(
                f"migrations failed (exit {found.returncode}); nothing was switched:\n"
                + found.tail(),
                hint="fix the migration and deploy again; the old version is still serving",
            )

    def _scale_up(self, project: ComposeProject, serving: Serving) -> list[str]:
        before = [c.name for c in self._app_containers()]
        count = len(serving.containers) + self.target.replicas
        self._compose(
            project, "up", "--detach", "--no-deps", "--no-recreate", "--no-build",
            "--scale", f"{self.services.app}={count}", self.services.app,
        )  # fmt: skip
        return started_by_deploy(before, self._app_containers())

    def _wait_ready(self, names: list[str]) -> None:
        """Every new container answers its readiness check directly; fail fast on one that
        exits, restarts or turns unhealthy; stop at the deadline."""
        import requests

        if not names:
            raise DeployFailedError("compose started no new containers")
        deadline = time.monotonic() + self.ready_timeout
        path = self.target.config.health.ready_path
        waiting = ""
        with requests.Session() as http:
            while True:
                pending = []
                for name in names:
                    state, address = self._inspect(name)
                    answered, detail = _answers(http, f"http://{address}:{self.port}{path}")
                    check = judge(state, answered and bool(address), detail)
                    if check.failed:
                        raise DeployFailedError(self._explain(names, check.failed))
                    if not check.ready:
                        pending.append(check.waiting)
                if not pending:
                    return
                if pending[0] != waiting:
                    waiting = pending[0]
                    self.console.print(f"           waiting: {waiting}")
                if time.monotonic() >= deadline:
                    raise DeployFailedError(
                        self._explain(names, f"not ready after {self.ready_timeout:.0f} s")
                    )
                time.sleep(POLL_SECONDS)

    def _undo(self, serving: Serving, new: list[str], switched: bool, outcome: Outcome) -> None:
        """Back to what served before: the proxy first, then the new containers go."""
        self.console.print(f"  undo     back to {serving.version}")
        if switched:
            try:
                self.proxy.point_at(list(serving.containers), image=None, expect=None)
            except DockyardError as error:
                outcome.notes.append(f"switching the proxy back failed: {error.message}")
        # Whatever the service runs beyond what served goes: also a container that compose
        # was still creating when an interrupt arrived.
        self._remove(
            sorted({*new, *leftovers(self._app_containers(), serving)}),
            outcome,
            "of the version that did not go live",
        )
        time.sleep(UNDO_SETTLE_SECONDS)
        self._remove(leftovers(self._app_containers(), serving), outcome, "started late")

    def _remove(self, names: list[str], outcome: Outcome, why: str) -> None:
        from docker.errors import NotFound

        for name in names:
            try:
                self.client.api.remove_container(name, force=True)
            except NotFound:
                continue
        if names:
            note = f"removed {len(names)} container(s) {why}: {', '.join(names)}"
            outcome.notes.append(note)
            self.console.print(f"  {note}")

    def _stop(self, names: list[str], grace: float) -> None:
        """Stop the old containers gracefully (in-flight requests finish), then remove them."""
        from docker.errors import NotFound

        for name in names:
            try:
                self.client.api.stop(name, timeout=int(grace))
                self.client.api.remove_container(name)
            except NotFound:
                continue

    # --------------------------------------------------------------------- adapters ---

    def _compose(self, project: ComposeProject, *args: str, check: bool = True) -> proc.Completed:
        return proc.run(
            project.command(*args),
            env=project.environ(self.environ),
            timeout=self.ready_timeout + 60,
            check=check,
        )

    def _app_containers(self) -> list[ContainerState]:
        return [
            c for c in stack.project_containers(self.client, self.target.project.name)
            if c.service == self.services.app
        ]  # fmt: skip

    def _inspect(self, name: str) -> tuple[ContainerState, str]:
        """A container's state and its address on a network it shares with the proxy."""
        from dockyard.stack.compose import container_state

        attrs = self.client.api.inspect_container(name)
        if self._proxy_networks is None:
            proxy = self.proxy.container()
            self._proxy_networks = (
                frozenset(proxy.attrs["NetworkSettings"]["Networks"]) if proxy else frozenset()
            )
        shared = self._proxy_networks
        networks = attrs.get("NetworkSettings", {}).get("Networks") or {}
        address = next((n.get("IPAddress", "") for key, n in networks.items() if key in shared), "")
        return container_state(attrs), address

    def _explain(self, names: list[str], why: str) -> str:
        states = tuple(self._inspect(name)[0] for name in names)
        service = ServiceState(self.services.app, Verdict.FAILED, why, states)
        return logs.diagnose(self.client, service, "did not become ready").rsplit("\n", 1)[0]


def _answers(http: requests.Session, url: str) -> tuple[bool, str]:
    import requests

    try:
        answer = http.get(url, timeout=PROBE_TIMEOUT)
    except requests.RequestException as error:
        return False, f"no answer ({type(error).__name__})"
    if answer.status_code == 200:
        return True, "ready"
    return False, f"HTTP {answer.status_code}: {answer.text.strip()[:200]}"


def stack_smoke(target: Target) -> None:
    from dockyard.stack.health import smoke_test

    smoke_test(target.base_url, target.config.smoke)
