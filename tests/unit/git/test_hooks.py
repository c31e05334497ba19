"""dockyard's git hooks, installed by `invoke hooks.install` and fired by real `git push`es to a
bare remote in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from .gitrepos import clone, commit, git, make_remote, sha, state, task


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return make_remote(tmp_path)


@pytest.fixture
def hooked(remote: Path) -> Path:
    """A clone with the hooks installed."""
    path = clone(remote, "hooked")
    task(path, "hooks.install", check=True)
    return path


def remote_branches(remote: Path) -> list[str]:
    return git(remote, "branch", "--format=%(refname:short)").stdout.split()


def test_install_writes_both_hooks_and_status_shows_them(hooked: Path) -> None:
    """The hooks are dockyard's, executable, and run this project's interpreter."""
    for name in ("pre-push", "reference-transaction"):
        hook = hooked / ".git" / "hooks" / name
        assert hook.stat().st_mode & 0o111
        assert "-m dockyard.git.hook" in hook.read_text()
    shown = task(hooked, "hooks.status", check=True).stdout
    assert shown.count("dockyard") >= 2


def test_a_branch_outside_the_pattern_is_refused_and_nothing_reaches_the_remote(
    hooked: Path, remote: Path
) -> None:
    git(hooked, "switch", "-q", "-c", "Quick-Fix")
    commit(hooked, "a.txt", "a")
    done = git(hooked, "push", "origin", "Quick-Fix", check=False)
    assert done.returncode != 0
    refusal = [line for line in done.stderr.splitlines() if line.startswith("dockyard:")]
    assert len(refusal) == 1
    assert "branch pattern" in refusal[0]
    assert "feat/quick-fix" in refusal[0]
    assert "Quick-Fix" not in remote_branches(remote)


def test_main_a_good_branch_a_tag_and_a_deletion_all_go_through(hooked: Path, remote: Path) -> None:
    commit(hooked, "a.txt", "a")
    assert git(hooked, "push", "-q", "origin", "main", check=False).returncode == 0
    git(hooked, "switch", "-q", "-c", "feat/login")
    commit(hooked, "b.txt", "b")
    assert git(hooked, "push", "-q", "origin", "feat/login", check=False).returncode == 0
    git(hooked, "tag", "Release_1")
    assert git(hooked, "push", "-q", "origin", "Release_1", check=False).returncode == 0
    assert (
        git(hooked, "push", "-q", "origin", "--delete", "feat/login", check=False).returncode == 0
    )
    assert remote_branches(remote) == ["main"]
    assert sha(remote, "Release_1") == sha(hooked)


def test_a_push_from_a_detached_head_is_judged_by_its_destination(hooked: Path) -> None:
    commit(hooked, "a.txt", "a")
    git(hooked, "switch", "-q", "--detach")
    refused = git(hooked, "push", "origin", "HEAD:refs/heads/scratch", check=False)
    assert refused.returncode != 0
    assert "'scratch' does not match" in refused.stderr
    assert git(hooked, "push", "-q", "origin", "HEAD:refs/heads/fix/x", check=False).returncode == 0


def test_a_main_behind_its_remote_is_a_warning_that_never_blocks(
    hooked: Path, remote: Path
) -> None:
    other = clone(remote, "other")
    commit(other, "o.txt", "o")
    git(other, "push", "-q", "origin", "main")
    git(hooked, "fetch", "-q", "origin")
    git(hooked, "switch", "-q", "-c", "feat/x")
    commit(hooked, "x.txt", "x")
    done = git(hooked, "push", "origin", "feat/x", check=False)
    assert done.returncode == 0
    assert "your main is 1 commit behind origin/main" in done.stderr


def test_a_hook_already_there_is_kept_named_and_replaced_only_with_force(remote: Path) -> None:
    path = clone(remote, "own")
    hook = path / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\nexec ./scripts/my-checks\n")
    before = state(path), hook.read_text()
    done = task(path, "hooks.install")
    assert done.returncode != 0
    message = [line for line in done.stderr.splitlines() if line.startswith("dockyard: error")]
    assert len(message) == 1
    assert str(hook) in message[0]
    assert "my-checks" in message[0]
    assert (state(path), hook.read_text()) == before
    assert not (path / ".git" / "hooks" / "reference-transaction").exists()
    task(path, "hooks.install", "--force", check=True)
    assert "dockyard-hook" in hook.read_text()


def test_uninstall_removes_only_dockyards_hooks(remote: Path) -> None:
    path = clone(remote, "mixed")
    task(path, "hooks.install", check=True)
    (path / ".git" / "hooks" / "pre-push").write_text("#!/bin/sh\nexit 0\n")
    task(path, "hooks.uninstall", check=True)
    assert (path / ".git" / "hooks" / "pre-push").read_text() == "#!/bin/sh\nexit 0\n"
    assert not (path / ".git" / "hooks" / "reference-transaction").exists()


def test_install_honours_core_hooks_path(remote: Path) -> None:
    path = clone(remote, "shared")
    git(path, "config", "core.hooksPath", "githooks")
    task(path, "hooks.install", check=True)
    assert (path / "githooks" / "pre-push").exists()
    assert not (path / ".git" / "hooks" / "pre-push").exists()


def test_install_in_a_worktree_writes_the_shared_hooks(remote: Path) -> None:
    path = clone(remote, "main-tree")
    worktree = remote.parent / "second-tree"
    git(path, "worktree", "add", "-q", "-b", "feat/side", str(worktree))
    (worktree / ".gitignore").exists()
    task(worktree, "hooks.install", check=True)
    assert (path / ".git" / "hooks" / "pre-push").exists()


def test_install_outside_a_repository_says_so(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.dockyard]\nproject = "x"\nimage = "x"\n')
    done = task(project, "hooks.install")
    assert done.returncode != 0
    assert "not in a git repository" in done.stderr
