"""`invoke release` for real, against a bare git remote in a temporary directory, a registry
started with `invoke registry.up` and the real engine building a tiny image: nothing is
published before the registry confirms the image (REL-01), and a failure or a signal before
publication leaves the tree, the tags, the engine's tags and the registry as they were (REL-02).
"""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest

from dockyard.core.config import Config, load_config
from dockyard.registry.client import RegistryClient
from dockyard.registry.plan import container_name, local_target, volume_name
from unit.git.gitrepos import clone, commit, git, make_remote, sha, task, task_popen
from unit.release.repos import INSTANCE

from ..registry.test_local_registry import standin
from ..stacks import free_port

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.engine
__all__ = ["standin"]  # the stand-in registry image (and its Debian parent), built when missing

DOCKERFILE = """\
FROM dockyard-base/debian:bookworm
COPY app.py /srv/app.py
RUN echo {nonce} > /srv/nonce{slow}
"""
BUILD_LINE = "build the image from the tagged tree"
DEADLINE = 240.0


@dataclass(frozen=True)
class Work:
    """A clone ready to release 1.1.0, its bare remote, its registry and its config."""

    root: Path
    remote: Path
    config: Config

    @property
    def ref(self) -> str:
        return f"{local_target(self.config).host}/{self.config.image}:1.1.0"

    def registry_digest(self) -> str | None:
        with RegistryClient(local_target(self.config)) as api:
            return api.manifest_digest(self.config.image, "1.1.0")

    def remote_refs(self) -> dict[str, str]:
        done = git(self.remote, "for-each-ref", "--format=%(refname) %(objecttype) %(objectname)")
        return {line.split()[0]: " ".join(line.split()[1:]) for line in done.stdout.splitlines()}

    def files(self) -> dict[str, bytes]:
        """The work tree's files, the state directory and .git aside."""
        skip = (self.root / ".git", self.root / ".dockyard")
        return {
            str(path): path.read_bytes()
            for path in sorted(self.root.rglob("*"))
            if path.is_file() and not any(path.is_relative_to(place) for place in skip)
        }


def make_work(tmp_path: Path, client: docker.DockerClient, *, slow: int = 0) -> Iterator[Work]:
    name = f"dyrp-{uuid.uuid4().hex[:8]}"
    port = free_port()
    remote = make_remote(
        tmp_path,
        extra=f'[tool.dockyard.registry]\nurl = "127.0.0.1:{port}"\nlocal_port = {port}\n'
        "ready_timeout_seconds = 120\n",
    )
    path = clone(remote, "work")
    pyproject = path / "pyproject.toml"
    text = pyproject.read_text().replace('project = "demo"', f'project = "{name}"')
    text = text.replace('image = "demo"', f'image = "{name}"')
    commit(path, "pyproject.toml", text, "chore: a project of its own")
    git(path, "tag", "-a", "v1.0.0", "-m", "Release 1.0.0")
    sleep = f" && sleep {slow}" if slow else ""
    (path / "Dockerfile.production").write_text(
        DOCKERFILE.format(nonce=uuid.uuid4().hex, slow=sleep)
    )
    git(path, "add", "Dockerfile.production")
    commit(path, "app.py", "print('a')\n", "feat: a feature")
    git(path, "push", "-q", "origin", "main", "v1.0.0")
    for port_, instance in ((free_port(), "staging"), (free_port(), "production")):
        target = path / "env" / "instances" / f"{instance}.toml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(INSTANCE.format(port=port_))
    config = load_config(path)
    work = Work(path, remote, config)
    try:
        task(path, "registry.up", check=True)
        yield work
    finally:
        from docker.errors import ImageNotFound, NotFound

        with contextlib.suppress(ImageNotFound):
            client.images.remove(work.ref, force=True)
        with contextlib.suppress(NotFound):
            client.containers.get(container_name(config)).remove(force=True)
        with contextlib.suppress(NotFound):
            client.volumes.get(volume_name(config)).remove()


@pytest.fixture
def work(tmp_path: Path, docker_client: docker.DockerClient, standin: str) -> Iterator[Work]:
    yield from make_work(tmp_path, docker_client)


@pytest.fixture
def slow_work(tmp_path: Path, docker_client: docker.DockerClient, standin: str) -> Iterator[Work]:
    """The same, with a build that takes 20 s: time for a fault to happen during it."""
    yield from make_work(tmp_path, docker_client, slow=20)


class Output:
    """A process's output lines as they come, read by a thread of their own."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        stream = process.stdout
        self.reader = threading.Thread(target=self._read, args=(stream,))
        self.reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1.0)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return
        raise AssertionError(f"{text!r} never came; output so far:\n{''.join(self.seen)}")

    def finish(self) -> str:
        """Wait for the process (bounded); its stderr. Every pipe is closed."""
        assert self.process.stderr is not None
        assert self.process.stdout is not None
        stderr = self.process.stderr.read()
        self.process.wait(timeout=DEADLINE)
        self.reader.join(timeout=DEADLINE)
        self.process.stdout.close()
        self.process.stderr.close()
        return stderr


def started(work: Work) -> Output:
    """`invoke release --to staging` running, once it has begun the build."""
    output = Output(task_popen(work.root, "release", "--to", "staging"))
    output.wait_for(BUILD_LINE)
    return output


def assert_nothing_left(work: Work, before: dict[str, bytes], head: str, client: object) -> None:
    """The clone, its remote, the engine and the registry as they were before the release."""
    from docker.errors import ImageNotFound

    assert sha(work.root) == head
    assert git(work.root, "tag", "--list", "v1.1.0").stdout == ""
    assert git(work.root, "status", "--porcelain").stdout == ""
    assert work.files() == before
    refs = work.remote_refs()
    assert "refs/tags/v1.1.0" not in refs
    assert refs["refs/heads/main"].endswith(head)
    with pytest.raises(ImageNotFound):
        client.images.get(work.ref)  # type: ignore[attr-defined]
    assert work.registry_digest() is None


def test_a_release_is_published_only_once_the_registry_has_its_digest(
    work: Work, docker_client: docker.DockerClient
) -> None:
    done = task(work.root, "release", "--to", "staging", "--yes")

    # deliver (staging) is another step's business: this run ends after publication
    assert "published v1.1.0" in done.stdout, done.stdout + done.stderr
    head = sha(work.root)
    refs = work.remote_refs()
    assert refs["refs/heads/main"] == f"commit {head}"
    assert refs["refs/tags/v1.1.0"].startswith("tag ")  # annotated
    assert git(work.root, "log", "-1", "--format=%s").stdout.strip() == "chore(release): 1.1.0"
    digest = work.registry_digest()
    assert digest is not None
    image = docker_client.images.get(work.ref)
    assert f"{work.ref.rpartition(':')[0]}@{digest}" in image.attrs["RepoDigests"]
    labels = image.labels
    assert head.startswith(labels["org.opencontainers.image.revision"])
    assert labels["org.opencontainers.image.version"] == "1.1.0"
    status = json.loads(task(work.root, "release.status", "--json", check=True).stdout)
    states = {step["step"]: step["state"] for step in status["steps"]}
    assert states["publish"] == states["verify-digest"] == "done"
    assert states["deploy-staging"] == "todo"
    assert "--resume" in status["next"]


def test_the_registry_down_at_the_push_leaves_nothing(
    slow_work: Work, docker_client: docker.DockerClient
) -> None:
    work = slow_work
    before, head = work.files(), sha(work.root)
    output = started(work)
    docker_client.containers.get(container_name(work.config)).stop(timeout=10)

    stderr = output.finish()

    assert output.process.returncode == 1, stderr
    assert "push the image to the registry failed" in stderr
    assert "nothing was published" in stderr
    assert "run `invoke release` again" in stderr
    assert "Traceback" not in stderr
    task(work.root, "registry.up", check=True)
    assert_nothing_left(work, before, head, docker_client)


def test_sigterm_during_the_build_leaves_nothing_and_status_says_so(
    slow_work: Work, docker_client: docker.DockerClient
) -> None:
    work = slow_work
    before, head = work.files(), sha(work.root)
    output = started(work)
    time.sleep(1.0)  # into the build itself
    output.process.send_signal(signal.SIGTERM)

    stderr = output.finish()

    assert output.process.returncode == 130, stderr
    assert "interrupted by SIGTERM during: build the image" in stderr
    assert "nothing was published" in stderr
    assert "Traceback" not in stderr
    assert_nothing_left(work, before, head, docker_client)
    status = json.loads(task(work.root, "release.status", "--json", check=True).stdout)
    states = {step["step"]: step["state"] for step in status["steps"]}
    assert states["commit-tag"] == states["publish"] == "todo"
    assert status["next"] == "`invoke release`"


def test_a_remote_that_moved_on_refuses_the_publication_and_the_release_is_undone(
    work: Work, docker_client: docker.DockerClient
) -> None:
    other = clone(work.remote, "other")
    moved = commit(other, "other.txt", "x\n", "docs: a commit pushed meanwhile")
    hook = work.root / ".git" / "hooks" / "pre-push"
    # Between preflight and publication, another clone pushes: git runs this hook after it
    # read the remote's refs and before it sends the release's.
    hook.write_text(
        "#!/bin/sh\nset -eu\nfor v in $(env | sed -n 's/^\\(GIT_[A-Z_]*\\)=.*/\\1/p'); do "
        f'unset "$v"; done\ngit -C "{other}" push -q origin main >&2\n'
    )
    hook.chmod(0o755)
    before, head = work.files(), sha(work.root)

    done = task(work.root, "release", "--to", "staging")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "publish the commit and the tag together failed" in done.stderr
    assert "nothing was published" in done.stderr
    assert "git pull --rebase origin main" in done.stderr
    refs = work.remote_refs()
    assert refs["refs/heads/main"] == f"commit {moved}"
    assert "refs/tags/v1.1.0" not in refs
    hook.unlink()
    assert sha(work.root) == head
    assert git(work.root, "tag", "--list", "v1.1.0").stdout == ""
    assert work.files() == before
    assert work.registry_digest() is None  # the manifest it pushed was deleted
    from docker.errors import ImageNotFound

    with pytest.raises(ImageNotFound):
        docker_client.images.get(work.ref)


def test_a_second_release_is_refused_naming_the_first(
    slow_work: Work, docker_client: docker.DockerClient
) -> None:
    work = slow_work
    first = started(work)

    second = task(work.root, "release", "--to", "staging")

    first.process.send_signal(signal.SIGTERM)
    first.finish()
    assert second.returncode == 1
    assert "another release is running: invoke release" in second.stderr
    assert f"pid {first.process.pid}" in second.stderr


def test_resume_after_a_kill_during_the_build_goes_on_to_publication(
    slow_work: Work, docker_client: docker.DockerClient
) -> None:
    """kill -9 leaves the release commit and tag here, unpublished, and a stale lock; `--resume`
    clears the lock and goes on from the world's first step not done."""
    work = slow_work
    output = started(work)
    output.process.kill()
    output.finish()
    head = sha(work.root)
    assert git(work.root, "tag", "--list", "v1.1.0").stdout.strip() == "v1.1.0"
    assert "refs/tags/v1.1.0" not in work.remote_refs()

    done = task(work.root, "release", "--resume", "--to", "staging", "--yes")

    assert "published v1.1.0" in done.stdout, done.stdout + done.stderr
    assert "preflight" in done.stdout
    assert "version, changelog, release commit and tag" not in done.stdout
    refs = work.remote_refs()
    assert refs["refs/heads/main"] == f"commit {head}"
    assert refs["refs/tags/v1.1.0"].startswith("tag ")
    assert work.registry_digest() is not None
