"""`invoke release` for real, up to its preflight, against a real git repository and a real bare
remote: every problem reported at once (the configured gates run through nox among them),
nothing written, and one release at a time (a lock naming its holder; a stale one cleared)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dockyard.core.config import load_config
from dockyard.deploy import lock as deploylock
from dockyard.release import lock

from ..git.gitrepos import clone, commit, git, make_remote, sha, task

NOXFILE = """\
import nox


@nox.session(python=False)
def ok(session):
    session.run("true", external=True)


@nox.session(python=False)
def bad(session):
    session.error("lint found 3 problems")


@nox.session(python=False)
def nosy(session):
    import os

    held = [key for key in ("GITHUB_TOKEN", "REGISTRY_PASSWORD") if key in os.environ]
    if held:
        session.error("the gate was given " + ", ".join(held))
"""


def tree(root: Path) -> dict[str, bytes]:
    """The clone's files, its git directory included, the state directory aside."""
    state = root / ".dockyard"
    return {
        str(path): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_relative_to(state) and path.name != "FETCH_HEAD"
    }


def test_preflight_reports_every_problem_at_once_and_writes_nothing(tmp_path: Path) -> None:
    remote = make_remote(tmp_path, extra='[tool.dockyard.release]\ngates = ["ok", "bad"]\n')
    work = clone(remote, "work")
    commit(work, "noxfile.py", NOXFILE, "build: the gates")
    commit(work, "app.py", "print('a')\n", "feat: a feature")
    (work / "scratch.txt").write_text("not committed\n")
    before, head = tree(work), sha(work)

    done = task(work, "release", "--yes")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "preflight found problems; nothing was written" in done.stderr
    assert "uncommitted changes (scratch.txt)" in done.stderr
    assert "[tool.dockyard.registry] url is not set" in done.stderr
    assert "instance files:" in done.stderr
    assert "gate `nox -s bad` failed" in done.stderr
    assert "lint found 3 problems" in done.stderr
    assert "nox -s ok" not in done.stderr
    assert "Traceback" not in done.stderr
    assert sha(work) == head
    assert git(work, "tag", "--list", "v1.1.0").stdout == ""
    assert tree(work) == before
    assert lock.holder_of(load_config(work)) is None  # released on the way out


def test_a_second_release_is_refused_naming_the_holder(tmp_path: Path) -> None:
    work = clone(make_remote(tmp_path), "work")
    commit(work, "app.py", "print('a')\n", "feat: a feature")
    config = load_config(work)
    with lock.held(config, "invoke release --part auto --to production", {"USER": "ana"}):
        done = task(work, "release")
    assert done.returncode == 1
    assert "another release is running: invoke release --part auto --to production by ana" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr


def test_a_lock_left_by_a_process_that_is_gone_is_cleared(tmp_path: Path) -> None:
    work = clone(make_remote(tmp_path), "work")
    commit(work, "app.py", "print('a')\n", "feat: a feature")
    config = load_config(work)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    holder = deploylock.current_holder(lock.NAME, "invoke release", user="ana")
    dead = deploylock.Holder(**{**holder.__dict__, "pid": int(gone.stdout), "process_start": ""})
    deploylock.acquire(lock.directory(config), dead)

    done = task(work, "release")

    assert "another release is running" not in done.stderr
    assert "preflight found problems" in done.stderr  # it went on: no registry, no instances
    assert lock.holder_of(config) is None


def test_the_gates_run_without_the_credentials_a_pipeline_publishes_with(tmp_path: Path) -> None:
    """The project's own gates (its tests, its tools) never hold the push token or the
    registry's password that the pipeline gives the release."""
    remote = make_remote(
        tmp_path,
        extra='[tool.dockyard.release]\ngates = ["nosy"]\n'
        '[tool.dockyard.registry]\nusername_variable = "REGISTRY_USER"\n'
        'password_variable = "REGISTRY_PASSWORD"\n',  # pragma: allowlist secret
    )
    work = clone(remote, "work")
    commit(work, "noxfile.py", NOXFILE, "build: the gates")
    commit(work, "app.py", "print('a')\n", "feat: a feature")

    done = task(work, "release", "--yes", extra={"GITHUB_TOKEN": "t0k", "REGISTRY_PASSWORD": "pw"})

    assert done.returncode == 1, done.stdout + done.stderr
    assert "preflight found problems" in done.stderr
    assert "nox -s nosy" not in done.stderr, done.stderr
