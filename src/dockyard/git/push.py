"""`invoke git.push`: push, and when the remote has moved on, fetch, rebase and push again.

Only a push rejected for being behind the remote is retried, with exponential backoff and
jitter (tenacity), at most `attempts` times and within `max_seconds`. Files in `union_files`
are merged by git's union driver during the rebase (through a temporary attributes file: the
repository's own files are not touched). Any other conflict aborts the rebase, so HEAD, the
index and the work tree are exactly as before, and names the files. A push refused for another
reason (a hook, a protected branch, permissions) is reported with git's words, never retried.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from dockyard.core.errors import DockyardError
from dockyard.git import repo, rules
from dockyard.git.hook import SKIP_MONITOR

PUSH_TIMEOUT = 120.0


class PushRefusedError(DockyardError):
    """The remote, a hook or git refused the push for a reason a retry cannot fix."""


class RebaseConflictError(DockyardError):
    """The remote's new commits conflict with the local ones; nothing was changed."""


@dataclass(frozen=True)
class Attempt:
    """One push: its number, what git said, whether a rebase preceded it, and when."""

    number: int
    result: str  # "pushed", "behind" or "refused"
    summary: str
    rebased: bool
    seconds: float


@dataclass
class PushReport:
    """What `git.push` did."""

    remote: str
    branch: str
    sha: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    monitor: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Behind(Exception):
    """The push was rejected because the remote has commits the branch lacks: retry."""


def push(
    root: Path,
    report: PushReport,
    *,
    attempts: int,
    max_seconds: float,
    union_files: Sequence[str],
    environ: Mapping[str, str],
) -> PushReport:
    """Push `report.branch` to `report.remote`, recording each attempt in `report`."""
    env = {**environ, SKIP_MONITOR: "1"}
    began = time.monotonic()
    retrying = Retrying(
        stop=stop_after_attempt(attempts) | stop_after_delay(max_seconds),
        wait=wait_random_exponential(multiplier=0.2, max=3.0),
        retry=retry_if_exception_type(_Behind),
        reraise=True,
    )
    try:
        for trial in retrying:
            with trial:
                number = trial.retry_state.attempt_number
                if number > 1:
                    _fetch_and_rebase(root, report.remote, report.branch, union_files, env)
                answer = _push_once(root, report.remote, report.branch, env)
                report.attempts.append(
                    Attempt(number, answer.result, answer.summary, number > 1,
                            round(time.monotonic() - began, 2))
                )  # fmt: skip
                _judge(report, answer)
    except _Behind:
        raise PushRefusedError(
            f"{report.remote}/{report.branch} kept moving: still behind after "
            f"{len(report.attempts)} attempts in {time.monotonic() - began:.1f} s",
            hint="run `invoke git.push` again, or raise --attempts",
        ) from None
    report.sha = repo.head(root)
    return report


def _judge(report: PushReport, answer: rules.PushAnswer) -> None:
    """Go on when pushed; retry (`_Behind`) when behind; fail for good when refused."""
    if answer.result == "behind":
        raise _Behind(answer.summary)
    if answer.result == "refused":
        raise PushRefusedError(
            f"git push {report.remote} {report.branch} was refused "
            f"({answer.summary}):\n{answer.message}",
            hint="this is not a race with another push, so it is not retried: "
            "fix what git says above",
        )


def _push_once(root: Path, remote: str, branch: str, env: Mapping[str, str]) -> rules.PushAnswer:
    ref = f"refs/heads/{branch}"
    done = repo.git(
        root, "push", "--porcelain", remote, f"{ref}:{ref}",
        check=False, env=env, timeout=PUSH_TIMEOUT,
    )  # fmt: skip
    return rules.read_push(done.returncode, done.stdout, done.stderr, ref)


def _fetch_and_rebase(
    root: Path, remote: str, branch: str, union_files: Sequence[str], env: Mapping[str, str]
) -> None:
    """Rebase the branch on the remote's; on a conflict, put everything back and say so."""
    dirty = repo.changed_files(root)
    if dirty:
        raise RebaseConflictError(
            f"the remote has new commits, but uncommitted changes stop the rebase: "
            f"{', '.join(dirty[:10])}",
            hint="commit or stash them (`git stash`), then run `invoke git.push` again",
        )
    repo.git(root, "fetch", "--quiet", remote, branch, env=env, timeout=PUSH_TIMEOUT)
    upstream = repo.git(root, "rev-parse", "FETCH_HEAD").stdout.strip()
    before = repo.head(root)
    with tempfile.TemporaryDirectory(prefix="dockyard-git-") as scratch:
        attributes = Path(scratch) / "attributes"
        attributes.write_text(
            "".join(f"{name} merge=union\n" for name in union_files), encoding="utf-8"
        )
        done = repo.git(
            root, "-c", f"core.attributesFile={attributes}", "rebase", "--quiet", upstream,
            check=False, env=env,
        )  # fmt: skip
    if done.ok:
        return
    conflicted = repo.conflicted_files(root)
    repo.git(root, "rebase", "--abort", check=False)
    after = repo.head(root)
    restored = "" if after == before else f" (HEAD is now {after[:12]}, was {before[:12]})"
    if conflicted:
        raise RebaseConflictError(
            f"the remote's new commits conflict with yours in {', '.join(conflicted)}; "
            f"the rebase was aborted and your branch is as it was{restored}",
            hint=f"run `git pull --rebase {remote} {branch}`, resolve the conflicts, "
            "`git rebase --continue`, then `invoke git.push`",
        )
    raise RebaseConflictError(
        f"rebasing on {remote}/{branch} failed and was aborted{restored}:\n{done.tail()}",
        hint="fix what git says above, then run `invoke git.push` again",
    )
