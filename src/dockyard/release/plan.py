"""A release as data: from the world's state, the steps done and the steps still to do.

`decide` reads only what it is given: the version and tag the release is for, where the tag is
(here, on the remote), what the files declare, the image's digest here and in the registry,
and what each instance serves. The same answer serves `release.status` (shown), `--dry-run`
(each step's writes shown, none made) and `--resume` (the first step not done is where to go
on). A step is done only when the world says so, never because a journal does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

STEPS = (
    "preflight", "version", "changelog", "commit-tag", "build", "push", "verify-digest",
    "publish", "deploy-staging", "smoke", "promote-production", "notify",
)  # fmt: skip
# Steps whose writes stay on this machine: undone on failure or interrupt.
LOCAL = ("version", "changelog", "commit-tag")
State = Literal["done", "todo", "blocked", "not-configured"]


class Registry(Protocol):
    """What a release needs from the registry area: that it answers, and an image's digest."""

    def ping(self) -> object:
        """Raise a DockyardError when the registry does not answer."""

    def manifest_digest(self, repository: str, tag: str) -> str | None:
        """The digest the registry gives `repository:tag`, or None when it has no such tag."""


@dataclass(frozen=True)
class World:
    """Everything the plan decides from, read by `release.world`."""

    version: str  # the version this release is for
    tag: str
    head: str
    declared_version: str  # what the service's pyproject says
    changelog_has_section: bool
    local_tag_commit: str | None  # the commit the local release tag points to
    remote_tag_commit: str | None
    image_repository: str  # where the image is pushed: `<registry>/<image>` or `<image>`
    image_tag: str = ""  # the version as a Docker tag ("": the version itself)
    local_digest: str | None = None  # the built image's repo digest for this repository
    registry_configured: bool = False
    registry_digest: str | None = None
    serving: Mapping[str, str | None] = field(default_factory=dict)  # instance -> version
    staging: str = "staging"
    production: str = "production"
    smoke_passed: bool = False
    notified: bool = False
    failed: Mapping[str, str] = field(default_factory=dict)  # instance -> why the release failed
    problems: tuple[str, ...] = ()  # preflight's, all of them


@dataclass(frozen=True)
class Step:
    """One step of the release: its state, what it does or did, and its writes, exactly."""

    name: str
    state: State
    detail: str
    writes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["step"] = document.pop("name")
        document["writes"] = list(self.writes)
        return document


@dataclass(frozen=True)
class Writes:
    """The exact writes of the local and publishing steps, for the dry run to print."""

    version_edits: Sequence[str] = ()
    changelog_path: str = "CHANGELOG.md"
    changelog_section: str = ""
    commit_message: str = ""
    tag_message: str = ""
    push_command: Sequence[str] = ()
    deploy_commands: Mapping[str, str] = field(default_factory=dict)


def commit_message(version: str) -> str:
    return f"chore(release): {version}"


def tag_message(version: str, section: str) -> str:
    """The annotated tag's message: the release's name, then its changelog section."""
    body = section.split("\n", 1)[1].strip() if "\n" in section else ""
    return f"Release {version}\n\n{body}\n" if body else f"Release {version}\n"


def image_ref(world: World) -> str:
    return f"{world.image_repository}:{world.image_tag or world.version}"


def decide(world: World, writes: Writes | None = None) -> list[Step]:
    """Every step in order, each done or to do according to the world."""
    w = writes or Writes()
    tagged = world.local_tag_commit is not None
    is_published = published(world)
    ref = image_ref(world)
    digest = world.registry_digest
    return [
        _step(
            "preflight",
            tagged,
            "checks before anything is written",
            _count(len(world.problems), "problem") if world.problems else "all checks pass",
            blocked=bool(world.problems),
        ),
        _step(
            "version",
            world.declared_version == world.version or tagged,
            f"declares {world.version}",
            f"set the version to {world.version}",
            writes=tuple(w.version_edits),
        ),
        _step(
            "changelog",
            world.changelog_has_section or tagged,
            f"{w.changelog_path} has the {world.version} section",
            f"add the {world.version} section to {w.changelog_path}",
            writes=(w.changelog_section,) if w.changelog_section else (),
        ),
        _step(
            "commit-tag",
            tagged,
            f"{world.tag} at {(world.local_tag_commit or '')[:12]}",
            f"commit {w.commit_message!r} and tag it {world.tag} (annotated)",
            writes=_commit_writes(world, w),
        ),
        _step(
            "build",
            world.local_digest is not None or digest is not None,
            f"{ref} built",
            f"build {ref} from the tagged tree",
            writes=(ref,),
        ),
        _registry_step(
            world, "push", digest is not None, f"{ref} is in the registry", f"push {ref}"
        ),
        _registry_step(
            world,
            "verify-digest",
            digest is not None and digest == (world.local_digest or digest),
            f"the registry serves {digest}",
            f"compare the registry's digest of {ref} with the local one",
        ),
        _step(
            "publish",
            is_published,
            f"{world.tag} is on the remote",
            f"publish the release commit and {world.tag} together",
            writes=(" ".join(w.push_command),) if w.push_command else (),
        ),
        _deploy(world, world.staging, "deploy-staging", w),
        _step(
            "smoke",
            world.smoke_passed or _serves(world, world.production),
            f"smoke test passed on {world.staging}",
            f"smoke-test {world.staging}",
        ),
        _deploy(world, world.production, "promote-production", w),
        _step("notify", world.notified, "notified", "notify the webhook and record the release"),
    ]


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


def next_step(steps: Sequence[Step]) -> Step | None:
    """Where the release goes on: the first step not done (None: the release is complete)."""
    return next((step for step in steps if step.state not in ("done", "not-configured")), None)


def published(world: World) -> bool:
    return world.local_tag_commit is not None and world.remote_tag_commit == world.local_tag_commit


def _serves(world: World, instance: str) -> bool:
    return world.serving.get(instance) == world.version


def _deploy(world: World, instance: str, name: str, w: Writes) -> Step:
    command = w.deploy_commands.get(instance, "")
    todo = f"deploy {world.version} to {instance}"
    why = world.failed.get(instance)
    if why and not _serves(world, instance):
        served = world.serving.get(instance) or "nothing"
        todo = f"{instance} failed ({why}); it still serves {served}"
        if instance == world.staging:
            todo += "; the next release supersedes this one, or `invoke release --resume`"
    return _step(
        name,
        _serves(world, instance),
        f"{instance} serves {world.version}",
        todo,
        writes=(command,) if command else (),
    )


def _registry_step(world: World, name: str, done: bool, did: str, todo: str) -> Step:
    if not world.registry_configured:
        return Step(name, "not-configured", "no registry: [tool.dockyard.registry] is not set")
    return _step(name, done, did, todo)


def _commit_writes(world: World, w: Writes) -> tuple[str, ...]:
    if not w.commit_message:
        return ()
    return (f"commit: {w.commit_message}", f"tag {world.tag}:\n{w.tag_message}")


def _step(
    name: str, done: bool, did: str, todo: str, *, blocked: bool = False,
    writes: tuple[str, ...] = (),
) -> Step:  # fmt: skip
    if done:
        return Step(name, "done", did)
    return Step(name, "blocked" if blocked else "todo", todo, writes)
