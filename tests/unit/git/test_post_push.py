"""The monitor after a push of main: started by the real reference-transaction hook of a plain
`git push` (or by `invoke git.push`), watching a real local HTTP server that plays the instance
main deploys to."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockyard.deploy.monitor import control
from dockyard.deploy.monitor.status import MonitorStatus

from .gitrepos import Instance, clone, commit, git, instance, make_remote, sha, task, watch

PATIENCE = 60.0


def eventually(condition: Callable[[], bool], timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def exited(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] in {"Z", "X"}


def project(base: Path, deadline: float, server: Instance) -> Path:
    """A clone of a project whose main deploys to "staging", with the hooks installed."""
    settings = f'watch_instance = "staging"\ndeploy_deadline_seconds = {deadline}\n'
    remote = make_remote(base, settings)
    path = clone(remote, "dev")
    watch(path, server)
    (path / "docker-compose.production.yml").write_text("services: {}\n")  # for deploy.status
    (path / "env" / ".env.testing").write_text("")
    task(path, "hooks.install", check=True)
    return path


def monitors(path: Path) -> Path:
    return path / ".dockyard" / "monitors"


def verdict(path: Path) -> MonitorStatus:
    eventually(lambda: control.status(monitors(path), "staging") is not None)
    return control.wait(monitors(path), "staging", timeout=PATIENCE)


@pytest.fixture
def server() -> Iterator[Instance]:
    with instance() as found:
        yield found


@pytest.fixture
def stop_monitors(tmp_path: Path) -> Iterator[None]:
    yield
    for lock in tmp_path.glob("*/.dockyard/monitors/*.lock"):
        control.stop(lock.parent, lock.stem)


pytestmark = pytest.mark.usefixtures("stop_monitors")


def test_a_plain_push_of_main_is_watched_until_the_commit_is_deployed(
    tmp_path: Path, server: Instance
) -> None:
    path = project(tmp_path, 60, server)
    server.commit = sha(path)  # the old version serves the commit before the push
    pushed = commit(path, "a.txt", "a")
    done = git(path, "push", "origin", "main", check=False)
    assert done.returncode == 0, done.stderr
    assert "dockyard: watching staging for" in done.stderr
    first = control.status(monitors(path), "staging")
    assert first is not None
    assert first.policy.expect_commit == pushed
    eventually(lambda: "waiting for" in (control.status(monitors(path), "staging") or first).reason)
    server.commit = pushed[:9]  # the new version arrives, reporting a short sha
    final = verdict(path)
    assert final.state == "deployed"
    eventually(lambda: exited(final.pid))
    shown = task(path, "deploy.status", "--json", check=True)
    (row,) = json.loads(shown.stdout)
    assert row["monitor"] == "deployed"


def test_a_commit_never_deployed_ends_the_monitor_at_the_deadline(
    tmp_path: Path, server: Instance
) -> None:
    path = project(tmp_path, 3, server)
    server.commit = sha(path)
    commit(path, "a.txt", "a")
    git(path, "push", "-q", "origin", "main")
    final = verdict(path)
    assert final.state == "not-deployed"
    assert "was not served within 3 s" in final.reason
    eventually(lambda: exited(final.pid))
    assert not (monitors(path) / "staging.pid").exists()


def test_a_new_commit_that_fails_its_health_checks_is_failed_with_the_last_answer(
    tmp_path: Path, server: Instance
) -> None:
    path = project(tmp_path, 60, server)
    pushed = commit(path, "a.txt", "a")
    server.commit, server.ready = pushed, 503
    git(path, "push", "-q", "origin", "main")
    final = verdict(path)
    assert final.state == "failed"
    assert final.last_error is not None
    assert "HTTP 503: database unreachable" in final.last_error
    shown = task(path, "deploy.status", check=True).stdout
    assert "failed" in shown
    assert "recent logs of staging, whose monitor failed:" in shown


def test_a_rejected_push_starts_no_monitor(tmp_path: Path, server: Instance) -> None:
    path = project(tmp_path, 60, server)
    other = clone(path.parent / "remote.git", "other")
    commit(other, "o.txt", "o")
    git(other, "push", "-q", "origin", "main")
    commit(path, "a.txt", "a")
    assert git(path, "push", "origin", "main", check=False).returncode != 0
    git(path, "fetch", "-q", "origin")  # moves origin/main, but not to the commit pushed
    assert control.status(monitors(path), "staging") is None


def test_a_feature_branch_push_starts_no_monitor(tmp_path: Path, server: Instance) -> None:
    path = project(tmp_path, 60, server)
    git(path, "switch", "-q", "-c", "feat/x")
    commit(path, "a.txt", "a")
    git(path, "push", "-q", "origin", "feat/x")
    assert control.status(monitors(path), "staging") is None


def test_git_push_starts_the_monitor_itself_once(tmp_path: Path, server: Instance) -> None:
    path = project(tmp_path, 60, server)
    pushed = commit(path, "a.txt", "a")
    server.commit = pushed
    done = task(path, "git.push", "--json", check=True)
    assert json.loads(done.stdout)["monitor"] == "staging"
    assert "dockyard: watching" not in done.stderr  # the hook left it to git.push
    assert verdict(path).state == "deployed"
