"""`invoke git.push` against a real bare remote: races, conflicts, union files and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .gitrepos import clone, commit, git, make_remote, sha, state, task, task_popen


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return make_remote(tmp_path)


def remote_log(remote: Path) -> list[str]:
    return git(remote, "log", "--format=%s", "main").stdout.splitlines()


def test_two_clones_pushing_at_once_both_land_and_report_their_attempts(remote: Path) -> None:
    """Each run retries until its commit is on top; no commit is lost, changelog lines merge."""
    first, second = clone(remote, "first"), clone(remote, "second")
    commit(first, "first.txt", "1", "first's change")
    commit(first, "CHANGELOG.md", "# Changes\n\n- first\n", "first's changelog")
    commit(second, "second.txt", "2", "second's change")
    commit(second, "CHANGELOG.md", "# Changes\n\n- second\n", "second's changelog")
    runs = [task_popen(path, "git.push", "--json") for path in (first, second)]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
    reports = [json.loads(out) for out, _ in outputs]
    log = remote_log(remote)
    for subject in ("first's change", "first's changelog", "second's change", "second's changelog"):
        assert subject in log
    tries = sorted(len(report["attempts"]) for report in reports)
    assert tries[0] >= 1
    assert all(report["attempts"][-1]["result"] == "pushed" for report in reports)
    for report in reports:
        assert [a["number"] for a in report["attempts"]] == list(
            range(1, len(report["attempts"]) + 1)
        )
    changelog = git(remote, "show", "main:CHANGELOG.md").stdout
    assert "- first" in changelog
    assert "- second" in changelog


def test_a_later_push_rebases_once_and_says_so(remote: Path) -> None:
    mine, theirs = clone(remote, "mine"), clone(remote, "theirs")
    commit(theirs, "theirs.txt", "t")
    git(theirs, "push", "-q", "origin", "main")
    commit(mine, "mine.txt", "m")
    done = task(mine, "git.push", "--json", check=True)
    attempts = json.loads(done.stdout)["attempts"]
    assert [(a["result"], a["rebased"]) for a in attempts] == [("behind", False), ("pushed", True)]
    assert sha(remote, "main") == sha(mine)


def test_a_union_file_conflict_merges_both_sides(remote: Path) -> None:
    mine, theirs = clone(remote, "mine"), clone(remote, "theirs")
    commit(theirs, "CHANGELOG.md", "# Changes\n\n- theirs\n")
    git(theirs, "push", "-q", "origin", "main")
    commit(mine, "CHANGELOG.md", "# Changes\n\n- mine\n")
    task(mine, "git.push", check=True)
    assert git(remote, "show", "main:CHANGELOG.md").stdout == "# Changes\n\n- theirs\n- mine\n"
    assert (
        not (mine / ".git" / "info" / "attributes").exists()
        or "union" not in (mine / ".git" / "info" / "attributes").read_text()
    )


def test_a_real_conflict_aborts_the_rebase_and_leaves_everything_as_it_was(remote: Path) -> None:
    """CHECKLIST GIT-02: HEAD, index and work tree as before; the message names the file."""
    mine, theirs = clone(remote, "mine"), clone(remote, "theirs")
    commit(theirs, "README.md", "their first line\nsecond line\n")
    git(theirs, "push", "-q", "origin", "main")
    commit(mine, "README.md", "my first line\nsecond line\n")
    (mine / "notes.txt").write_text("untracked notes\n")
    before = state(mine)
    done = task(mine, "git.push")
    assert done.returncode == 1
    assert "conflict with yours in README.md" in done.stderr
    assert "git pull --rebase origin main" in done.stderr
    assert state(mine) == before
    assert git(mine, "status", "--porcelain", "--untracked-files=no").stdout == ""
    assert not (mine / ".git" / "rebase-merge").exists()
    assert sha(remote, "main") == sha(theirs)


def test_a_push_the_remote_refuses_is_not_retried_and_shows_gits_message(remote: Path) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is protected: open a pull request' >&2\nexit 1\n")
    hook.chmod(0o755)
    mine = clone(remote, "mine")
    commit(mine, "a.txt", "a")
    done = task(mine, "git.push", "--json")
    assert done.returncode == 1
    assert "main is protected: open a pull request" in done.stderr
    assert "pre-receive hook declined" in done.stderr
    assert "not retried" in done.stderr


@pytest.mark.parametrize("setup", ["bad-name", "detached", "no-remote", "wrong-remote"])
def test_what_cannot_be_pushed_is_one_clear_line_and_nothing_changes(
    remote: Path, setup: str
) -> None:
    mine = clone(remote, "mine")
    commit(mine, "a.txt", "a")
    args = ["git.push"]
    if setup == "bad-name":
        git(mine, "switch", "-q", "-c", "wip")
        expected = "'wip' does not match the branch pattern"
    elif setup == "detached":
        git(mine, "switch", "-q", "--detach")
        expected = "HEAD is detached"
    elif setup == "no-remote":
        git(mine, "remote", "remove", "origin")
        expected = "no remote 'origin' (remotes: none)"
    else:
        args += ["--remote", "upstream"]
        expected = "no remote 'upstream' (remotes: origin)"
    before, remote_before = state(mine), sha(remote, "main")
    done = task(mine, *args)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("dockyard: error")]
    assert len(errors) == 1
    assert expected in errors[0]
    assert state(mine) == before
    assert sha(remote, "main") == remote_before


def test_uncommitted_changes_stop_the_rebase_before_it_starts(remote: Path) -> None:
    mine, theirs = clone(remote, "mine"), clone(remote, "theirs")
    commit(theirs, "t.txt", "t")
    git(theirs, "push", "-q", "origin", "main")
    commit(mine, "m.txt", "m")
    (mine / "README.md").write_text("edited, not committed\n")
    before = state(mine)
    done = task(mine, "git.push")
    assert done.returncode == 1
    assert "uncommitted changes stop the rebase: README.md" in done.stderr
    assert state(mine) == before
