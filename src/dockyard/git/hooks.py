"""Installing dockyard's git hooks: tiny shell scripts that run `dockyard.git.hook` with the
project's own interpreter.

- `pre-push` applies the branch rule and warns when the local main branch is behind;
- `reference-transaction` starts the post-push monitor once a push of main has updated the
  remote-tracking branch (git has no post-push hook; that update happens only after the remote
  accepted the push). It exits in the shell, without starting Python, unless a push of main is
  pending, so commits and checkouts stay as fast as without it.

dockyard's own hooks carry MARKER on their second line; any other file of the same name is the
developer's, and is only replaced with `force`.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from dockyard.core.errors import DockyardError
from dockyard.core.files import replace_atomically
from dockyard.git import repo

MARKER = "# dockyard-hook: written by `invoke hooks.install`; `invoke hooks.uninstall` removes it"
HOOKS = ("pre-push", "reference-transaction")
PENDING = "dockyard-push-pending"
ENTRY = "dockyard.git.hook"


@dataclass(frozen=True)
class HookState:
    """One hook file: where it is and whose it is."""

    name: str
    path: Path
    state: str  # "dockyard", "absent", or "other" (a hook dockyard did not write)
    detail: str


def script(name: str, python: str, root: Path, pending: Path) -> str:
    """The text of hook `name` for this project and interpreter."""
    run = (
        f"exec {shlex.quote(python)} -m {ENTRY} --root {shlex.quote(str(root))} "
        f'--pending {shlex.quote(str(pending))} -- {name} "$@"'
    )
    guard = ""
    if name == "reference-transaction":
        guard = f'[ "$1" = committed ] && [ -f {shlex.quote(str(pending))} ] || exit 0\n'
    return f"#!/bin/sh\n{MARKER}\n{guard}{run}\n"


def _describe(path: Path) -> HookState:
    name = path.name
    if not path.exists() and not path.is_symlink():
        return HookState(name, path, "absent", "not installed")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return HookState(name, path, "other", f"unreadable: {error.strerror}")
    lines = text.splitlines()
    if MARKER in lines[:3]:
        return HookState(name, path, "dockyard", "installed")
    first = next((line for line in lines if line.strip() and not line.startswith("#!")), "")
    shebang = lines[0] if lines and lines[0].startswith("#!") else "no #! line"
    return HookState(name, path, "other", f"another hook ({shebang}; {first.strip()[:60]!r})")


def status(root: Path) -> list[HookState]:
    """Each of dockyard's hooks as the repository has it."""
    directory = repo.hooks_dir(root)
    return [_describe(directory / name) for name in HOOKS]


def install(root: Path, *, force: bool = False, python: str = sys.executable) -> list[HookState]:
    """Write the hooks; a hook that is not dockyard's stops everything unless `force`."""
    directory = repo.hooks_dir(root)
    pending = repo.common_dir(root) / PENDING
    current = [_describe(directory / name) for name in HOOKS]
    foreign = [hook for hook in current if hook.state == "other"]
    if foreign and not force:
        listed = "; ".join(f"{hook.path}: {hook.detail}" for hook in foreign)
        raise DockyardError(
            f"a hook dockyard did not write is in the way, nothing was installed: {listed}",
            hint="move it aside, or run `invoke hooks.install --force` to replace it",
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name in HOOKS:
            text = script(name, str(Path(python).absolute()), root.resolve(), pending)
            replace_atomically(directory / name, text, mode=0o755)
    except OSError as error:
        raise DockyardError(
            f"{directory}: the hooks cannot be written: {error.strerror}",
            hint=f"check the permissions of {directory}",
        ) from None
    return [_describe(directory / name) for name in HOOKS]


def uninstall(root: Path) -> list[HookState]:
    """Remove dockyard's hooks, leaving any other hook alone; the hooks as they are after."""
    removed = []
    for hook in status(root):
        if hook.state == "dockyard":
            hook.path.unlink(missing_ok=True)
            removed.append(HookState(hook.name, hook.path, "absent", "removed"))
        else:
            removed.append(hook)
    (repo.common_dir(root) / PENDING).unlink(missing_ok=True)
    return removed
