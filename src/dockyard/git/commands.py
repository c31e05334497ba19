"""`invoke hooks.*` and `invoke git.push`: entry points taking an Invocation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.core.errors import ConfigError
from dockyard.core.invocation import Invocation
from dockyard.core.output import Rows, print_rows, show
from dockyard.git import hooks, repo, rules

if TYPE_CHECKING:
    from rich.console import Console

HOOK_COLUMNS = ("hook", "state", "detail", "path")
ATTEMPT_COLUMNS = ("number", "result", "summary", "rebased", "seconds")


def _show_hooks(invocation: Invocation, found: list[hooks.HookState]) -> None:
    rows = [
        {"hook": h.name, "state": h.state, "detail": h.detail, "path": str(h.path)} for h in found
    ]
    show(invocation, rows, Rows(HOOK_COLUMNS, rows))


def hooks_install(invocation: Invocation, *, force: bool = False) -> int:
    """Install the pre-push and reference-transaction hooks into the repository."""
    _show_hooks(invocation, hooks.install(invocation.config.root, force=force))
    return 0


def hooks_uninstall(invocation: Invocation) -> int:
    """Remove dockyard's hooks; another hook of the same name stays."""
    _show_hooks(invocation, hooks.uninstall(invocation.config.root))
    return 0


def hooks_status(invocation: Invocation) -> int:
    """Which of dockyard's hooks are installed, and what else is in their place."""
    _show_hooks(invocation, hooks.status(invocation.config.root))
    return 0


def push(
    invocation: Invocation,
    *,
    remote: str | None = None,
    branch: str | None = None,
    attempts: int | None = None,
) -> int:
    """Push the current branch, rebasing and retrying while the remote moves on."""
    from dockyard.git.push import PushReport
    from dockyard.git.push import push as push_branch

    config = invocation.config
    settings = config.git
    root = config.root
    remote = remote or settings.remote
    repo.top_level(root)
    repo.require_remote(root, remote)
    current = repo.current_branch(root)
    branch = branch or current
    if branch != current:
        raise ConfigError(
            "--branch", [f"{branch!r} is not the branch checked out ({current!r})"],
            hint=f"`git switch {branch}` first: a retry rebases the branch checked out",
        )  # fmt: skip
    problem = rules.branch_problem(branch, settings.main_branch, settings.branch_pattern)
    if problem is not None:
        raise ConfigError("[tool.dockyard.git] branch_pattern", [problem],
                          hint="nothing was pushed")  # fmt: skip
    tries = attempts if attempts is not None else settings.push_attempts
    if tries < 1:
        raise ConfigError("--attempts", [f"expected at least 1, got {tries}"])
    report = push_branch(
        root,
        PushReport(remote, branch),
        attempts=tries,
        max_seconds=settings.push_max_seconds,
        union_files=settings.union_files,
        environ=invocation.environ,
    )
    if branch == settings.main_branch and settings.watch_instance:
        from dockyard.git.watch import start_after_push

        info = start_after_push(config, report.sha, invocation.environ)
        report.monitor = info.instance if info else None
    document = report.as_dict()

    def people(console: Console) -> None:
        print_rows(console, Rows(ATTEMPT_COLUMNS, document["attempts"]))
        count = len(report.attempts)
        console.print(
            f"pushed {branch} to {remote} at {report.sha[:12]} in {count} "
            + ("attempt" if count == 1 else "attempts")
        )
        if report.monitor:
            console.print(
                f"watching {report.monitor} for {report.sha[:12]}: `invoke deploy.status`"
            )

    show(invocation, document, people)
    return 0
