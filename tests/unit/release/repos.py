"""Real repositories for the release tests: a clone with a release and commits after it."""

from __future__ import annotations

from pathlib import Path

from ..git.gitrepos import clone, commit, git, make_remote

INSTANCE = 'profile = "testing"\nport = {port}\n'


def snapshot(*roots: Path) -> dict[str, bytes]:
    """Every file under each root, the git directories included, by path: its bytes."""
    return {
        str(path): path.read_bytes()
        for root in roots
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def release_candidate(tmp_path: Path) -> Path:
    """A clone with v1.0.0 released and pushed, then a feature, a fix and a message that is
    not conventional, the last two not pushed yet; staging and production instance files."""
    remote = make_remote(tmp_path)
    path = clone(remote, "work")
    git(path, "tag", "-a", "v1.0.0", "-m", "Release 1.0.0")
    commit(path, "app.py", "print('a')\n", "feat(api): add tracking")
    git(path, "push", "-q", "origin", "main", "v1.0.0")
    commit(path, "app.py", "print('b')\n", "fix: crash on empty names")
    commit(path, "notes.txt", "n\n", "WIP")
    for port, name in ((18081, "staging"), (18082, "production")):
        target = path / "env" / "instances" / f"{name}.toml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(INSTANCE.format(port=port))
    return path
