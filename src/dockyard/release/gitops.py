"""The release's git operations: its tags, the commits since the last one, the tree's state, the
remote's refs, and the release commit and tag (made, undone, published together).

Reads never write: the remote is asked with `git ls-remote` (no fetch, no ref moves), so
`invoke release --dry-run` and `release.status` leave the repository byte for byte as it was.
Every git call goes through `dockyard.git.repo.git` (timeouts, readable failures).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from dockyard.core.errors import CommandFailedError, DockyardError
from dockyard.git.repo import git
from dockyard.release import bump
from dockyard.release.commits import Commit, parse

NETWORK_TIMEOUT = 120.0
_FIELD = "\x1f"
# Commit messages as UTF-8 whatever their encoding header, NUL-separated, merges included.
_LOG_FORMAT = f"--format=%H{_FIELD}%P{_FIELD}%B"


class PublishRefusedError(DockyardError):
    """The remote refused the atomic push of the release commit and tag: nothing was published."""


@dataclass(frozen=True)
class Tag:
    """A release tag: its name, the version it names, the commit it points to."""

    name: str
    version: Version
    commit: str
    annotated: bool


@dataclass(frozen=True)
class RemoteRefs:
    """What the remote has: the branch's commit, and the commit the release tag points to."""

    branch: str | None
    tag: str | None


def release_tags(root: Path, tag_format: str) -> list[Tag]:
    """The release tags reachable from HEAD, newest version first."""
    done = git(
        root, "for-each-ref", "--merged=HEAD",
        "--format=%(refname:strip=2)%00%(objecttype)%00%(*objectname)%00%(objectname)",
        "refs/tags",
    )  # fmt: skip
    found: list[Tag] = []
    for line in done.stdout.splitlines():
        name, kind, peeled, target = [*line.split("\0"), "", "", ""][:4]
        version = bump.tag_version(tag_format, name)
        if version is not None:
            found.append(Tag(name, version, peeled or target, kind == "tag"))
    return sorted(found, key=lambda tag: tag.version, reverse=True)


def local_tag(root: Path, name: str) -> str | None:
    """The commit the local tag `name` points to, or None."""
    done = git(
        root, "rev-parse", "--verify", "--quiet", f"refs/tags/{name}^{{commit}}", check=False
    )
    return done.stdout.strip() if done.ok else None


def commits_since(root: Path, tag: str | None) -> list[Commit]:
    """The commits after `tag` (all of HEAD's history without one), newest first, merges
    included, each parsed; a message in any encoding or with any bytes is read, never fatal."""
    revisions = f"refs/tags/{tag}..HEAD" if tag else "HEAD"
    done = git(root, "-c", "i18n.logOutputEncoding=UTF-8", "log", "-z", _LOG_FORMAT, revisions)
    commits: list[Commit] = []
    for record in done.stdout.split("\0"):
        parts = record.split(_FIELD, 2)
        if len(parts) == 3 and len(parts[0]) >= 40:
            sha, parents, message = parts
            commits.append(parse(message, sha, parents=len(parents.split())))
    return commits


def dirty_files(root: Path) -> list[str]:
    """Changes not committed, tracked or new (ignored files aside), as `git status` shows them."""
    done = git(root, "--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=normal")
    return [line for line in done.stdout.splitlines() if line.strip()]


def branch(root: Path) -> str | None:
    """The branch checked out, or None for a detached HEAD."""
    done = git(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return done.stdout.strip() if done.ok else None


def remote_url(root: Path, remote: str) -> str | None:
    done = git(root, "remote", "get-url", remote, check=False)
    return done.stdout.strip() if done.ok else None


def remote_refs(root: Path, remote: str, branch_name: str, tag: str) -> RemoteRefs:
    """The remote's branch and release tag, asked with `git ls-remote` (nothing is written)."""
    done = git(
        root, "ls-remote", remote, f"refs/heads/{branch_name}", f"refs/tags/{tag}",
        f"refs/tags/{tag}^{{}}",
        check=False, timeout=NETWORK_TIMEOUT,
    )  # fmt: skip
    if not done.ok:
        raise CommandFailedError(
            f"the remote {remote!r} did not answer `git ls-remote`:\n{done.tail(5)}",
            hint=f"check the network and `git remote get-url {remote}`, then run it again",
        )
    refs: dict[str, str] = {}
    for line in done.stdout.splitlines():
        sha, _, name = line.partition("\t")
        refs[name] = sha
    tag_commit = refs.get(f"refs/tags/{tag}^{{}}") or refs.get(f"refs/tags/{tag}")
    return RemoteRefs(refs.get(f"refs/heads/{branch_name}"), tag_commit)


def ahead_behind(root: Path, remote_sha: str | None) -> tuple[int, int | None]:
    """Commits HEAD has that the remote branch lacks, and the reverse. The second is None when
    the remote's commit is not in this clone: the remote has moved on by an unknown count."""
    if remote_sha is None:
        return int(git(root, "rev-list", "--count", "HEAD").stdout.strip()), 0
    known = git(root, "cat-file", "-e", f"{remote_sha}^{{commit}}", check=False).ok
    if not known:
        return 0, None
    done = git(root, "rev-list", "--left-right", "--count", f"HEAD...{remote_sha}")
    ahead, behind = done.stdout.split()
    return int(ahead), int(behind)


def fetch(root: Path, remote: str, branch_name: str) -> None:
    """Bring the remote branch's commits in (the real run's first step, never the dry run's)."""
    git(root, "fetch", "--quiet", "--no-tags", remote, branch_name, timeout=NETWORK_TIMEOUT)


def commit_and_tag(
    root: Path, files: Sequence[str], message: str, tag: str, tag_message: str
) -> str:
    """Commit `files` as the release commit and tag it (annotated); the new commit's sha."""
    git(root, "add", "--", *files)
    git(root, "commit", "--quiet", "--no-verify", "--cleanup=verbatim", "-m", message, "--", *files)
    git(root, "tag", "--annotate", "--cleanup=verbatim", "--message", tag_message, tag)
    return git(root, "rev-parse", "HEAD").stdout.strip()


def undo(root: Path, before: str, tag: str, release_commit: str | None) -> None:
    """Remove the release tag and commit made by this run (the work tree's files are restored
    by the caller): the branch is back at `before`."""
    if release_commit is not None and local_tag(root, tag) == release_commit:
        git(root, "tag", "--delete", tag)
    head = git(root, "rev-parse", "HEAD").stdout.strip()
    if release_commit is not None and head == release_commit:
        git(root, "reset", "--quiet", "--soft", before)


def unstage(root: Path, before: str, files: Sequence[str]) -> None:
    """The index entries of `files` as they are in `before` (gone when `before` lacks them)."""
    git(root, "reset", "--quiet", before, "--", *files)


def push_command(remote: str, branch_name: str, tag: str) -> list[str]:
    """The one push that publishes a release: branch and tag together, or neither."""
    return [
        "git", "push", "--atomic", "--porcelain", remote,
        f"refs/heads/{branch_name}:refs/heads/{branch_name}", f"refs/tags/{tag}:refs/tags/{tag}",
    ]  # fmt: skip


def push_atomic(root: Path, remote: str, branch_name: str, tag: str) -> None:
    done = git(root, *push_command(remote, branch_name, tag)[1:], check=False,
               timeout=NETWORK_TIMEOUT)  # fmt: skip
    if not done.ok:
        raise PublishRefusedError(
            f"{remote} refused the release push; neither {branch_name} nor {tag} was "
            f"published:\n{done.tail(8)}",
            hint=f"`git pull --rebase {remote} {branch_name}`, then run `invoke release` again",
        )
