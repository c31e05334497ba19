"""The local steps for real against a real repository: written, committed and tagged, or, on a
failure or a signal at any step, undone to the byte (CHECKLIST REL-02)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from dockyard.core.config import load_config
from dockyard.core.signals import Interrupted
from dockyard.release import local
from dockyard.release.world import survey

from ..git.gitrepos import git, sha
from .repos import release_candidate, snapshot


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return release_candidate(tmp_path)


def repository_state(work: Path) -> dict[str, bytes]:
    """What a user sees of a repository: every ref and where HEAD points, the index, the
    config and every byte of the work tree (unreachable objects and the reflog aside)."""
    tree = {name: data for name, data in snapshot(work).items() if "/.git/" not in name}
    return tree | {
        "refs": git(work, "for-each-ref", "--format=%(refname) %(objectname)").stdout.encode(),
        "HEAD": git(work, "symbolic-ref", "HEAD").stdout.encode() + sha(work).encode(),
        "index": git(work, "ls-files", "--stage").stdout.encode(),
        "config": (work / ".git" / "config").read_bytes(),
    }


def test_the_local_steps_write_commit_and_tag_what_the_dry_run_showed(work: Path) -> None:
    config = load_config(work)
    found = survey(config)
    before = sha(work)
    made = local.prepare(config, found)
    assert git(work, "rev-parse", "HEAD^").stdout.strip() == before
    assert git(work, "log", "-1", "--format=%B").stdout.strip() == "chore(release): 1.1.0"
    assert git(work, "cat-file", "-t", "v1.1.0").stdout.strip() == "tag"
    assert git(work, "tag", "-l", "--format=%(contents)", "v1.1.0").stdout == (
        found.writes.tag_message + "\n"
    )
    for change in found.files:
        assert (work / change.path).read_text() == change.after
    assert git(work, "status", "--porcelain").stdout == ""
    steps = {step.name: step.state for step in survey(config).steps}
    assert (steps["version"], steps["changelog"], steps["commit-tag"]) == ("done",) * 3
    assert made == sha(work)


@pytest.mark.parametrize("step", ["version", "changelog", "commit-tag", "verify"])
def test_a_signal_at_any_local_step_undoes_everything(work: Path, step: str) -> None:
    config = load_config(work)
    found = survey(config)
    before = repository_state(work)

    def at(name: str) -> None:
        if name == step:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(Interrupted):
        local.prepare(config, found, before_step=at)
    assert repository_state(work) == before
    assert git(work, "tag", "-l", "v1.1.0").stdout == ""


def test_a_failing_tag_undoes_the_commit_and_the_files(work: Path) -> None:
    """A tag of that name made meanwhile elsewhere: the tag step fails, nothing is left."""
    config = load_config(work)
    found = survey(config)
    git(work, "tag", "-a", "v1.1.0", "-m", "someone else's", "HEAD~1")
    before = repository_state(work)
    with pytest.raises(local.ReleaseUndoneError, match="the release was undone"):
        local.prepare(config, found)
    assert repository_state(work) == before
    assert (
        git(work, "rev-parse", "v1.1.0^{commit}").stdout == git(work, "rev-parse", "HEAD~1").stdout
    )


def test_a_created_changelog_is_removed_again(work: Path) -> None:
    git(work, "rm", "-q", "CHANGELOG.md")
    git(work, "commit", "-q", "-m", "docs: no changelog yet")
    config = load_config(work)
    found = survey(config)
    assert [f.before is None for f in found.files if f.path == "CHANGELOG.md"] == [True]
    before = repository_state(work)
    with pytest.raises(Interrupted):
        local.prepare(config, found, before_step=lambda name: _term_at(name, "verify"))
    assert repository_state(work) == before
    assert not (work / "CHANGELOG.md").exists()


def _term_at(name: str, step: str) -> None:
    if name == step:
        os.kill(os.getpid(), signal.SIGTERM)
