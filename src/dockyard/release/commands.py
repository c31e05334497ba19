"""`invoke release` and `invoke release.status`: entry points taking an Invocation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from dockyard.core.errors import ConfigError, ExitCode
from dockyard.core.invocation import Invocation
from dockyard.core.output import Rows, print_rows, show
from dockyard.release import plan
from dockyard.release.bump import CHOICES
from dockyard.release.commits import Commit
from dockyard.release.deliver import TARGETS
from dockyard.release.world import Survey, survey

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.registry.client import RegistryClient

STEP_COLUMNS = ("step", "state", "detail")
SHOWN_OTHERS = 20


def release(
    invocation: Invocation,
    *,
    part: str = "auto",
    dry_run: bool = False,
    resume: bool = False,
    yes: bool = False,
    to: str = "production",
) -> int:
    """Preflight, then the release's steps; with `dry_run`, every read and no write."""
    if part not in CHOICES:
        raise ConfigError("--part", [f"expected one of {', '.join(CHOICES)}, got {part!r}"])
    if to not in TARGETS:
        raise ConfigError("--to", [f"expected one of {', '.join(TARGETS)}, got {to!r}"])
    if not dry_run:
        from dockyard.release import flow, lock

        command = f"invoke release --part {part} --to {to}" + (" --resume" if resume else "")
        with (
            lock.held(invocation.config, command, invocation.environ),
            _registry(invocation) as (registry, host),
        ):
            client = cast("RegistryClient | None", registry)
            return flow.run(invocation, client, host, part=part, resume=resume, to=to, yes=yes)
    with _registry(invocation) as (registry, host):
        found = survey(
            invocation.config, part=part, new_release=not resume, registry=registry,
            registry_host=host, environ=invocation.environ,
        )  # fmt: skip
    document = _document(found, dry_run=True)
    show(invocation, document, lambda console: _people(console, found, dry_run=True))
    if found.version is None:
        return ExitCode.OK
    return ExitCode.FAILED if found.world and found.world.problems else ExitCode.OK


def status(invocation: Invocation) -> int:
    """What is done of the release at HEAD (or the next one), and what to run next."""
    with _registry(invocation) as (registry, host):
        found = survey(
            invocation.config, registry=registry, registry_host=host,
            environ=invocation.environ,
        )  # fmt: skip
    document = _document(found, dry_run=False)
    show(invocation, document, lambda console: _people(console, found, dry_run=False))
    return ExitCode.OK


@contextmanager
def _registry(invocation: Invocation) -> Iterator[tuple[plan.Registry | None, str]]:
    """The registry `[tool.dockyard.registry] url` names, and its host ("": none configured)."""
    config = invocation.config
    if not config.registry.url:
        yield None, ""
        return
    from dockyard.registry.client import RegistryClient
    from dockyard.registry.plan import credentials, target

    where = target(config.registry.url)
    with RegistryClient(
        where,
        timeout=config.registry.timeout_seconds,
        credentials=credentials(config, invocation.environ),
    ) as client:
        yield client, where.host


def _next_command(found: Survey) -> str:
    if found.version is None or found.world is None:
        return ""
    step = plan.next_step(found.steps)
    if step is None:
        return ""
    if step.state == "blocked":
        return "fix the problems above, then `invoke release`"
    if step.name == "preflight":
        return "`invoke release`"
    if step.name in plan.LOCAL:
        return "`invoke release`"
    return "`invoke release --resume`"


def _document(found: Survey, *, dry_run: bool) -> dict[str, Any]:
    bumped = found.bump
    return {
        "dry_run": dry_run,
        "version": found.version,
        "tag": found.tag or None,
        "last_tag": found.last_tag.name if found.last_tag else None,
        "current": bumped.current if bumped else None,
        "part": bumped.part if bumped else None,
        "reason": bumped.reason if bumped else "HEAD carries the release tag",
        "commits": [_commit(c) for c in found.commits],
        "not_conventional": [{"sha": c.sha, "header": c.header} for c in found.others],
        "problems": list(found.world.problems) if found.world else [],
        "steps": [step.as_dict() for step in found.steps],
        "next": _next_command(found),
        "files": [
            {"path": f.path, "created": f.before is None, "text": f.after} for f in found.files
        ],
        "writes": {
            "version_edits": list(found.writes.version_edits),
            "changelog": found.writes.changelog_section,
            "commit_message": found.writes.commit_message,
            "tag": found.tag or None,
            "tag_message": found.writes.tag_message,
            "image": plan.image_ref(found.world) if found.world else None,
            "push": list(found.writes.push_command),
            "deploy": dict(found.writes.deploy_commands),
        },
    }


def _commit(commit: Commit) -> dict[str, Any]:
    return {
        "sha": commit.sha,
        "kind": commit.kind,
        "type": commit.type,
        "breaking": commit.breaking,
        "header": commit.header,
    }


def _people(console: Console, found: Survey, *, dry_run: bool) -> None:
    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    since = found.last_tag.name if found.last_tag else "the first commit"
    if found.version is None:
        reason = found.bump.reason if found.bump else ""
        say(f"nothing to release since {since}: {reason}")
        _list_others(say, found)
        return
    if found.bump is not None:
        say(f"release {found.version} ({found.bump.current} → {found.version}: "
            f"{found.bump.reason}); {len(found.commits)} commits since {since}")  # fmt: skip
    else:
        say(f"release {found.version}: HEAD carries {found.tag}")
    _list_others(say, found)
    problems = found.world.problems if found.world else ()
    if problems:
        say("preflight found problems:")
        for problem in problems:
            say(f"  - {problem}")
    print_rows(console, Rows(STEP_COLUMNS, [step.as_dict() for step in found.steps]))
    if dry_run:
        _print_writes(say, found)
    following = _next_command(found)
    say(f"next: {following}" if following else f"{found.version} is released everywhere")


def _list_others(say: Any, found: Survey) -> None:
    others = found.others
    if others:
        count = f"{len(others)} commit{'s are' if len(others) != 1 else ' is'}"
        say(f"{count} not conventional (counted for nothing):")
        for commit in others[:SHOWN_OTHERS]:
            say(f"  {commit.short} {commit.header}")
        if len(others) > SHOWN_OTHERS:
            say(f"  and {len(others) - SHOWN_OTHERS} more (`--json` lists them all)")


def _print_writes(say: Any, found: Survey) -> None:
    """Every write the release would make, exactly, and a word that none was made."""
    writes = found.writes
    say("dry run: these writes would be made (none was):")
    for edit in writes.version_edits:
        say(f"--- version: {edit}")
    if writes.changelog_section:
        say(f"--- {writes.changelog_path}: this section above the newest one")
        say(writes.changelog_section)
    say(f"--- commit: {writes.commit_message}")
    say(f"--- tag {found.tag} (annotated):\n{writes.tag_message}")
    if found.world is not None:
        say(f"--- image: {plan.image_ref(found.world)}")
    say(f"--- publish: {' '.join(writes.push_command)}")
    for instance, command in writes.deploy_commands.items():
        say(f"--- deploy {instance}: {command}")
