"""`invoke release --dry-run` and `release.status` for real, against a real git repository with
a real bare remote: every read made, every write shown, nothing changed (CHECKLIST REL-04)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from ..git.gitrepos import clone, commit, git, make_remote, sha, task
from .repos import release_candidate, snapshot


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return release_candidate(tmp_path)


def test_a_dry_run_reads_everything_prints_every_write_and_changes_nothing(work: Path) -> None:
    remote = work.parent / "remote.git"
    before = snapshot(work, remote)
    people = task(work, "release", "--dry-run")
    machine = task(work, "release", "--dry-run", "--json")
    assert people.returncode == 0, people.stdout + people.stderr
    assert machine.returncode == 0, machine.stderr
    assert snapshot(work, remote) == before
    found = json.loads(machine.stdout)
    assert (found["version"], found["tag"], found["last_tag"], found["part"]) == (
        "1.1.0", "v1.1.0", "v1.0.0", "minor",
    )  # fmt: skip
    assert [c["header"] for c in found["not_conventional"]] == ["WIP"]
    assert found["problems"] == []
    writes = found["writes"]
    assert writes["version_edits"] == ['pyproject.toml:3\n-version = "1.0.0"\n+version = "1.1.0"\n']
    section = writes["changelog"]
    assert section.startswith("## 1.1.0 - ")
    assert "### Features\n\n- **api:** add tracking (" in section
    assert "### Fixes\n\n- crash on empty names (" in section
    assert writes["commit_message"] == "chore(release): 1.1.0"
    assert writes["push"] == [
        "git", "push", "--atomic", "--porcelain", "origin",
        "refs/heads/main:refs/heads/main", "refs/tags/v1.1.0:refs/tags/v1.1.0",
    ]  # fmt: skip
    assert writes["deploy"] == {
        "staging": "invoke deploy --instance staging --image 1.1.0",
        "production": "invoke deploy --instance production --image 1.1.0",
    }
    files = {f["path"]: f["text"] for f in found["files"]}
    assert files["CHANGELOG.md"] == "# Changes\n\n" + section
    assert files["pyproject.toml"] == (work / "pyproject.toml").read_text().replace(
        'version = "1.0.0"', 'version = "1.1.0"'
    )
    for text in (section, '-version = "1.0.0"', "chore(release): 1.1.0", "v1.1.0",
                 " ".join(writes["push"]), writes["deploy"]["staging"]):  # fmt: skip
        assert text in people.stdout
    assert "none was" in people.stdout


def test_a_dry_run_reports_every_preflight_problem_at_once(work: Path) -> None:
    remote = work.parent / "remote.git"
    other = clone(remote, "other")
    commit(other, "other.txt", "o\n", "fix: pushed meanwhile")
    git(other, "push", "-q", "origin", "main")
    git(work, "switch", "-q", "-c", "feat/y")
    (work / "README.md").write_text("edited\n")
    (work / "env" / "instances" / "production.toml").write_text('profile = "nope"\nport = 1\n')
    before = snapshot(work, remote)
    done = task(work, "release", "--dry-run", "--json")
    assert done.returncode == 1, done.stderr
    assert snapshot(work, remote) == before
    problems = json.loads(done.stdout)["problems"]
    assert problems[0] == "the work tree has uncommitted changes (README.md): commit or stash them"
    assert problems[1] == "on branch 'feat/y', releases are made from 'main': `git switch main`"
    assert problems[2].startswith("origin/main has commits this clone has not seen")
    assert any(p.startswith("instance files: ") and "production.toml" in p for p in problems)


def test_nothing_to_release_is_a_clear_message_and_exit_0(work: Path) -> None:
    git(work, "tag", "-a", "v1.1.0", "-m", "Release 1.1.0")
    commit(work, "docs.md", "d\n", "docs: a page")
    done = task(work, "release", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "nothing to release since v1.1.0: 1 commit (docs) but no feat" in done.stdout


def test_status_reads_the_release_at_head_from_the_world(work: Path) -> None:
    done = task(work, "release.status", "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["next"] == "`invoke release`"
    assert {s["step"]: s["state"] for s in found["steps"]}["commit-tag"] == "todo"
    git(work, "tag", "-a", "v1.1.0", "-m", "Release 1.1.0")
    found = json.loads(task(work, "release.status", "--json", check=True).stdout)
    states = {s["step"]: s["state"] for s in found["steps"]}
    assert (found["version"], states["commit-tag"], states["publish"]) == ("1.1.0", "done", "todo")
    assert found["next"] == "`invoke release --resume`"
    git(work, "push", "-q", "origin", "main", "v1.1.0")
    found = json.loads(task(work, "release.status", "--json", check=True).stdout)
    assert {s["step"]: s["state"] for s in found["steps"]}["publish"] == "done"
    assert sha(work.parent / "remote.git", "v1.1.0^{commit}") == sha(work)


def test_a_registry_that_does_not_answer_is_a_preflight_problem(tmp_path: Path) -> None:
    """The image is named after the configured registry; the registry is asked, not assumed."""
    port = free_port()
    remote = make_remote(tmp_path, extra=f'[tool.dockyard.registry]\nurl = "127.0.0.1:{port}"\n')
    work = clone(remote, "work")
    commit(work, "app.py", "print('a')\n", "feat: first feature")
    before = snapshot(work, remote)
    done = task(work, "release", "--dry-run", "--json")
    assert done.returncode == 1, done.stderr
    assert snapshot(work, remote) == before
    found = json.loads(done.stdout)
    assert found["writes"]["image"] == f"127.0.0.1:{port}/demo:1.1.0"
    registry = [p for p in found["problems"] if p.startswith("registry: ")]
    assert len(registry) == 1
    assert registry[0].startswith(f"registry: no registry answers at http://127.0.0.1:{port}/v2/")
    assert {s["step"]: s["state"] for s in found["steps"]}["push"] == "todo"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_new_release_from_a_head_already_released_is_refused(work: Path) -> None:
    git(work, "tag", "-a", "v1.1.0", "-m", "Release 1.1.0")
    done = task(work, "release", "--dry-run", "--json")
    assert done.returncode == 1, done.stderr
    found = json.loads(done.stdout)
    assert (found["version"], found["last_tag"]) == ("1.1.0", "v1.0.0")
    assert found["problems"] == [
        "HEAD is already released as v1.1.0: `invoke release.status` shows what is left of it"
    ]
