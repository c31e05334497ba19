"""What dockyard's git hooks run: `python -m dockyard.git.hook --root ROOT --pending FILE -- HOOK`.

Kept fast, since it runs on every push: no invoke, rich or docker here, one small git call at
most on the pre-push path, and the monitor's code imported only when a push of main succeeded.

- `pre-push` refuses branches whose names break the branch rule (exit 1, one line each), warns
  when the local main branch is behind its remote-tracking branch (never blocks), and records a
  push of main in FILE (`<remote> <sha> <time>`) when an instance is to be watched after it.
- `reference-transaction` (only `committed`, and only when FILE exists: the shell script checks
  both) starts the post-push monitor when the update moves `refs/remotes/<remote>/<main>` to
  the recorded sha: git updates that ref only once the remote has accepted the push.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from dockyard.core.config import Config, load_config
from dockyard.core.errors import DockyardError
from dockyard.git import rules

# Set by `invoke git.push`, which starts the monitor itself.
SKIP_MONITOR = "DOCKYARD_GIT_PUSH"
PENDING_MAX_AGE = 600.0


def _say(text: str) -> None:
    print(f"dockyard: {text}", file=sys.stderr)


def pre_push(config: Config, remote: str, pending: Path, stdin: str) -> int:
    """The pre-push hook; 1 refuses the push."""
    git = config.git
    check = rules.check_updates(rules.parse_updates(stdin), git.main_branch, git.branch_pattern)
    for refusal in check.refusals:
        _say(f"push refused: {refusal}")
    if check.refusals:
        return 1
    warning = _behind(config.root, remote, git.main_branch)
    if warning:
        _say(f"warning: {warning}")
    if check.main_sha and git.watch_instance and not os.environ.get(SKIP_MONITOR):
        pending.write_text(f"{remote} {check.main_sha} {time.time():.0f}\n", encoding="utf-8")
    return 0


def _behind(root: Path, remote: str, main: str) -> str | None:
    """The warning when the local main lacks commits of `<remote>/<main>` (None if not, or if
    either is missing)."""
    tracking = f"{remote}/{main}"
    missing = f"refs/heads/{main}..refs/remotes/{tracking}"
    done = subprocess.run(
        ["git", "-C", str(root), "rev-list", "--count", missing],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    if done.returncode != 0 or not done.stdout.strip().isdigit():
        return None
    return rules.behind_warning(main, tracking, int(done.stdout.strip()))


def reference_transaction(config: Config, pending: Path, stdin: str) -> int:
    """Start the post-push monitor when the recorded push of main has reached the remote."""
    try:
        remote, sha, written = pending.read_text(encoding="utf-8").split()
    except (FileNotFoundError, ValueError):
        return 0
    if not rules.main_moved(stdin, remote, config.git.main_branch, sha):
        if time.time() - float(written) > PENDING_MAX_AGE:
            pending.unlink(missing_ok=True)
        return 0
    pending.unlink(missing_ok=True)
    from dockyard.git import watch

    info = watch.start_after_push(config, sha, os.environ)
    if info is not None:
        _say(f"watching {info.instance} for {sha[:12]} (`invoke deploy.status` shows it)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dockyard.git.hook")
    parser.add_argument("hook", choices=("pre-push", "reference-transaction"))
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--pending", type=Path, required=True)
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.root)
        stdin = sys.stdin.read()
        if args.hook == "pre-push":
            return pre_push(config, args.rest[0] if args.rest else "", args.pending, stdin)
        return reference_transaction(config, args.pending, stdin)
    except (DockyardError, ValueError) as error:
        _say(f"{args.hook} hook: {error}")
        if args.hook == "pre-push":
            _say("push refused; fix the above, or push once without hooks: git push --no-verify")
            return 1
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
