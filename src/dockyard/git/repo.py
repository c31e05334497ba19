"""Asking git about the repository: one place that runs git for the hooks and `git.push`.

Every call runs `git -C <root>` through `core.proc` with a timeout; a failure a user can act on
(no repository, no remote, a detached HEAD) is a DockyardError that says what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dockyard.core import proc
from dockyard.core.errors import DockyardError, MissingFileError, UnknownNameError

GIT_TIMEOUT = 60.0


def git(
    root: Path,
    *args: str,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    timeout: float = GIT_TIMEOUT,
) -> proc.Completed:
    """Run `git -C root args...`; with `check`, a failure raises CommandFailedError."""
    return proc.run(["git", "-C", str(root), *args], check=check, env=env, timeout=timeout)


def top_level(root: Path) -> Path:
    """The work tree `root` belongs to; a MissingFileError when it is not in a git repository."""
    done = git(root, "rev-parse", "--show-toplevel", check=False)
    if not done.ok:
        raise MissingFileError(
            f"{root}: not in a git repository ({done.tail(1)})",
            hint="run this from a clone of the project (`git clone ...`), or `git init` one",
        )
    return Path(done.stdout.strip())


def hooks_dir(root: Path) -> Path:
    """Where git looks for this repository's hooks: honours core.hooksPath and worktrees."""
    top_level(root)
    path = Path(git(root, "rev-parse", "--git-path", "hooks").stdout.strip())
    return path if path.is_absolute() else (root / path).resolve()


def common_dir(root: Path) -> Path:
    """The git directory the repository's worktrees share."""
    path = Path(git(root, "rev-parse", "--git-common-dir").stdout.strip())
    return path if path.is_absolute() else (root / path).resolve()


def current_branch(root: Path) -> str:
    """The branch checked out; a DockyardError for a detached HEAD."""
    done = git(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if not done.ok:
        head = git(root, "rev-parse", "--short", "HEAD", check=False).stdout.strip() or "none"
        raise DockyardError(
            f"HEAD is detached (at {head}): there is no branch to push",
            hint="create a branch for these commits (`git switch -c feat/<name>`) and push that",
        )
    return done.stdout.strip()


def require_remote(root: Path, remote: str) -> None:
    """A clear error when the repository has no remote of that name."""
    names = git(root, "remote").stdout.split()
    if remote not in names:
        known = ", ".join(names) if names else "none"
        raise UnknownNameError(
            f"the repository has no remote {remote!r} (remotes: {known})",
            hint=f"add it with `git remote add {remote} <url>`, or pass --remote",
        )


def head(root: Path) -> str:
    """The full sha HEAD names."""
    return git(root, "rev-parse", "HEAD").stdout.strip()


def sha_of(root: Path, ref: str) -> str | None:
    """The sha `ref` names, or None if it names nothing."""
    done = git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return done.stdout.strip() if done.ok else None


def changed_files(root: Path) -> list[str]:
    """Tracked files with changes not committed (staged or not)."""
    done = git(root, "status", "--porcelain", "--untracked-files=no")
    return [line[3:] for line in done.stdout.splitlines() if line.strip()]


def conflicted_files(root: Path) -> list[str]:
    """Files left unmerged by a stopped merge or rebase."""
    done = git(root, "diff", "--name-only", "--diff-filter=U")
    return [line for line in done.stdout.splitlines() if line]
