"""The release's git operations against real repositories: a bare remote and clones of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.release import gitops

from ..git.gitrepos import clone, commit, git, make_remote, sha, state


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return clone(make_remote(tmp_path), "work")


def empty_commit(cwd: Path, message: str) -> str:
    git(cwd, "commit", "-q", "--allow-empty", "-m", message)
    return sha(cwd)


def test_the_last_release_is_the_highest_version_reachable_from_head(work: Path) -> None:
    first = sha(work)
    git(work, "tag", "-a", "v1.0.0", "-m", "Release 1.0.0")
    later = empty_commit(work, "feat: x")
    git(work, "tag", "v1.10.0")  # lightweight tags count too
    git(work, "tag", "-a", "nightly", "-m", "not a release")
    git(work, "switch", "-q", "-c", "side", first)
    empty_commit(work, "fix: elsewhere")
    git(work, "tag", "-a", "v9.0.0", "-m", "not reachable from main")
    git(work, "switch", "-q", "main")
    tags = gitops.release_tags(work, "v{version}")
    assert [(t.name, t.commit, t.annotated) for t in tags] == [
        ("v1.10.0", later, False), ("v1.0.0", first, True),
    ]  # fmt: skip


def test_commits_since_the_tag_include_merges_and_any_bytes(work: Path) -> None:
    git(work, "tag", "-a", "v1.0.0", "-m", "Release 1.0.0")
    git(work, "switch", "-q", "-c", "feat/x")
    empty_commit(work, "feat: on a branch")
    git(work, "switch", "-q", "main")
    empty_commit(work, "fix: on main")
    git(work, "merge", "-q", "--no-ff", "-m", "Merge branch 'feat/x'", "feat/x")
    message = b"docs: caf\xe9 \x1b[31m\n\nBREAKING CHANGE: \xff\xfe\n"
    (work / "msg").write_bytes(message)
    git(work, "-c", "i18n.commitEncoding=latin-1", "commit", "-q", "--allow-empty", "-F", "msg")
    (work / "msg").unlink()
    found = gitops.commits_since(work, "v1.0.0")
    assert [(c.kind, c.type) for c in found] == [
        ("conventional", "docs"), ("merge", ""), ("conventional", "fix"),
        ("conventional", "feat"),
    ]  # fmt: skip
    assert found[0].breaking
    assert "\x1b" not in found[0].header
    assert len(gitops.commits_since(work, None)) == 5


def test_an_empty_range_has_no_commits(work: Path) -> None:
    git(work, "tag", "-a", "v1.0.0", "-m", "Release 1.0.0")
    assert gitops.commits_since(work, "v1.0.0") == []


def test_the_remote_is_read_without_writing_anything(work: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    other = clone(remote, "other")
    moved = commit(other, "other.txt", "x", "feat: elsewhere")
    git(other, "tag", "-a", "v2.0.0", "-m", "Release 2.0.0")
    git(other, "push", "-q", "origin", "main", "v2.0.0")
    refs_before = git(work, "for-each-ref").stdout
    found = gitops.remote_refs(work, "origin", "main", "v2.0.0")
    assert (found.branch, found.tag) == (moved, moved)
    assert gitops.ahead_behind(work, found.branch) == (0, None)  # not in this clone
    assert git(work, "for-each-ref").stdout == refs_before
    assert not (work / ".git" / "FETCH_HEAD").exists()
    gitops.fetch(work, "origin", "main")
    assert gitops.ahead_behind(work, found.branch) == (0, 1)
    assert gitops.remote_refs(work, "origin", "main", "v9.9.9").tag is None


def test_dirty_files_count_new_files_but_not_ignored_ones(work: Path) -> None:
    assert gitops.dirty_files(work) == []
    (work / ".dockyard").mkdir()
    (work / ".dockyard" / "state").write_text("ignored")
    assert gitops.dirty_files(work) == []
    (work / "new.txt").write_text("n")
    (work / "README.md").write_text("changed")
    assert sorted(gitops.dirty_files(work)) == [" M README.md", "?? new.txt"]


def test_a_release_commit_and_tag_are_undone_to_the_state_before(work: Path) -> None:
    before_state = state(work)
    before = sha(work)
    (work / "CHANGELOG.md").write_text("# Changes\n\n## 1.1.0\n")
    (work / "NEW.md").write_text("new")
    made = gitops.commit_and_tag(work, ["CHANGELOG.md", "NEW.md"], "chore(release): 1.1.0",
                                 "v1.1.0", "Release 1.1.0\n")  # fmt: skip
    assert gitops.local_tag(work, "v1.1.0") == made
    assert git(work, "cat-file", "-t", "v1.1.0").stdout.strip() == "tag"
    gitops.undo(work, before, "v1.1.0", made)
    (work / "CHANGELOG.md").write_text("# Changes\n\n")
    (work / "NEW.md").unlink()
    gitops.unstage(work, before, ["CHANGELOG.md", "NEW.md"])
    assert state(work) == before_state
    assert gitops.local_tag(work, "v1.1.0") is None


def test_the_atomic_push_publishes_branch_and_tag_or_neither(work: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    empty_commit(work, "feat: x")
    git(work, "tag", "-a", "v1.1.0", "-m", "Release 1.1.0")
    other = clone(remote, "other")
    commit(other, "other.txt", "x", "fix: raced")
    git(other, "push", "-q", "origin", "main")
    with pytest.raises(gitops.PublishRefusedError, match=r"neither main nor v1\.1\.0"):
        gitops.push_atomic(work, "origin", "main", "v1.1.0")
    assert git(remote, "tag", "--list").stdout == ""
    git(work, "pull", "-q", "--rebase", "origin", "main")
    git(work, "tag", "-f", "-a", "v1.1.0", "-m", "Release 1.1.0")
    gitops.push_atomic(work, "origin", "main", "v1.1.0")
    assert sha(remote, "main") == sha(work)
    assert sha(remote, "v1.1.0^{commit}") == sha(work)
