"""The release's writes up to publication: the local steps, the image built from the tagged tree,
pushed and confirmed by the registry's own digest, then the commit and the tag published
together. Nothing leaves the machine before the registry confirms the image (REL-01).

On any failure or signal before the atomic push, everything this run made is undone, last made
first (REL-02): the manifest it pushed is deleted from the registry, the image tags it made are
removed (or put back where they pointed), and the local release commit, tag and files go as
`local.undo` puts them.
"""

from __future__ import annotations

import signal
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from docker.errors import DockerException

from dockyard.core.console import StepRecord, Steps
from dockyard.core.errors import DockyardError, ExitCode
from dockyard.core.invocation import Invocation
from dockyard.core.signals import TERMINATION, Interrupted, on_signals
from dockyard.git import repo
from dockyard.git.repo import git
from dockyard.release import gitops, local
from dockyard.release.shipped import Shipped
from dockyard.release.world import Survey

if TYPE_CHECKING:
    import docker

    from dockyard.registry.client import RegistryClient
    from dockyard.registry.plan import Credentials

# The steps this module runs, in order; a resumed release starts at one of them.
STEPS = ("local", "build", "push", "verify-digest", "publish")
TITLES = {
    "local": "version, changelog, release commit and tag",
    "build": "build the image from the tagged tree",
    "push": "push the image to the registry",
    "verify-digest": "confirm the registry's digest",
    "publish": "publish the commit and the tag together",
}


# What the world can make a step fail with (as opposed to a bug): said in one line, after the undo.
ENVIRONMENT_ERRORS = (OSError, tarfile.TarError, DockerException, requests.RequestException)


class ReleaseFailedError(DockyardError):
    """A step before publication failed; what this run made was undone, nothing published."""


class ReleaseInterruptedError(ReleaseFailedError):
    """A signal stopped the release before publication; what it made was undone."""

    exit_code = ExitCode.INTERRUPTED


@dataclass(frozen=True)
class Registry:
    """The registry a release pushes to: its API, the image's name in it, its credentials."""

    api: RegistryClient
    host: str
    name: str  # the repository inside the registry
    credentials: Credentials | None = None


@dataclass
class Made:
    """What this run made, so that it can be undone."""

    before: str | None = None  # HEAD before the local steps (None: this run made none)
    image_tags: dict[str, str | None] = field(default_factory=dict)  # ref -> image id before
    pushed: str | None = None  # a digest the registry did not have before this run's push
    # A push began: the registry's tag as it was before it (None: no such tag); a push cut short
    # after the registry took the manifest is found by asking the registry again.
    pushing: tuple[str, str | None] | None = None  # (tag, digest before)


def ship(
    invocation: Invocation,
    found: Survey,
    registry: Registry,
    steps: Steps,
    *,
    start: str = "local",
) -> Shipped:
    """Run the steps from `start` to publication; the published release. Undone on failure or
    signal (SIGINT, SIGTERM, SIGHUP) before the atomic push, then a ReleaseFailedError."""
    if found.version is None or found.world is None:
        raise DockyardError("nothing to release", hint="`invoke release --dry-run` says why")
    world = found.world
    ref = f"{registry.host}/{registry.name}:{world.image_tag or world.version}"
    made = Made()
    todo = STEPS[STEPS.index(start) :]
    digest = world.registry_digest or ""
    restore = on_signals(TERMINATION)
    failed = ""
    try:
        for name in todo:
            failed = TITLES[name]
            with steps.step(TITLES[name]) as record:
                if name == "local":
                    made.before = repo.head(invocation.config.root)
                    commit = local.prepare(invocation.config, found)
                    record.detail = f"{found.tag} at {commit[:12]}"
                elif name == "build":
                    _build(invocation, found.tag, ref, made, record)
                elif name == "push":
                    digest = _push(invocation, registry, ref, world.registry_digest, made)
                    record.detail = digest
                elif name == "verify-digest":
                    digest = _verify(invocation, registry, ref, digest or None)
                    record.detail = f"the registry serves {digest}"
                else:
                    settings = invocation.config.release
                    gitops.push_atomic(
                        invocation.config.root,
                        settings.remote or invocation.config.git.remote,
                        settings.branch or invocation.config.git.main_branch,
                        found.tag,
                    )
                    record.detail = f"{found.tag} and its commit are on the remote"
    except BaseException as error:  # noqa: BLE001 - undone, then raised as what the user reads
        if failed == TITLES["publish"] and _maybe_published(invocation, found):
            raise _not_undone(error, found) from None
        with _shielded():
            left = _undo(invocation, found, registry, made)
        raise _failure(error, failed, left, resumed=start != "local") from None
    finally:
        restore()
    return Shipped(
        version=found.version,
        tag=found.tag,
        repository=f"{registry.host}/{registry.name}",
        digest=digest,
        changelog=tag_notes(invocation.config.root, found.tag),
    )


def tag_notes(root: Path, tag: str) -> str:
    """The annotated tag's message: the release's changelog section."""
    return git(root, "tag", "--list", "--format=%(contents)", tag).stdout.strip()


# ------------------------------------------------------------------ the steps ---


def _engine(invocation: Invocation) -> docker.DockerClient:
    from dockyard.core.engine import connect

    return connect(invocation.environ)


def _image_id(client: docker.DockerClient, ref: str) -> str | None:
    from docker.errors import ImageNotFound

    try:
        return str(client.images.get(ref).id)
    except ImageNotFound:
        return None


def _build(invocation: Invocation, tag: str, ref: str, made: Made, record: StepRecord) -> None:
    """Build `ref` from the files of `tag` exactly (a `git archive` of it), nothing else."""
    from dockyard.image.build import gather, plan_build, run_build

    config, environ = invocation.config, invocation.environ
    client = _engine(invocation)
    try:
        made.image_tags.setdefault(ref, _image_id(client, ref))
    finally:
        client.close()
    plan = plan_build(config, gather(config, environ))
    with tempfile.TemporaryDirectory(prefix="dockyard-release-") as scratch:
        tree = Path(scratch) / "tree"
        export(config.root, tag, tree)
        plan = replace(
            plan,
            tags=(ref,),
            dockerfile=tree / plan.dockerfile.relative_to(config.root),
            context=tree / plan.context.relative_to(config.root),
        )
        result = run_build(plan, environ)
    record.detail = f"{ref} ({result.image_id[:19]})"


def export(root: Path, tag: str, into: Path) -> None:
    """The files of `tag`, as committed, into the directory `into`."""
    into.mkdir(parents=True)
    archive = into.parent / "tree.tar"
    git(root, "archive", "--format=tar", f"--output={archive}", tag)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")
    except tarfile.TarError as error:
        raise DockyardError(
            f"{tag}: its files cannot be unpacked for the build: {error}",
            hint="a committed absolute or escaping symlink is refused: commit a relative one",
        ) from None
    archive.unlink()


def _push(
    invocation: Invocation, registry: Registry, ref: str, before: str | None, made: Made
) -> str:
    from dockyard.registry.client import push

    made.pushing = (ref.rpartition(":")[2], before)
    client = _engine(invocation)
    try:
        digest = push(client, ref, registry.credentials)
    finally:
        client.close()
    if digest != before:
        made.pushed = digest
    return digest


def _verify(invocation: Invocation, registry: Registry, ref: str, pushed: str | None) -> str:
    from dockyard.registry.client import verify_pushed

    client = _engine(invocation)
    try:
        return verify_pushed(registry.api, client, ref, pushed)
    finally:
        client.close()


# ------------------------------------------------------------------- the undo ---


@contextmanager
def _shielded() -> Iterator[None]:
    """Let no second Ctrl-C or SIGTERM cut the undo short (it is bounded: git, the engine and
    the registry's API each have their own timeouts)."""
    caught = (signal.SIGINT, *TERMINATION)
    saved = {number: signal.signal(number, signal.SIG_IGN) for number in caught}
    try:
        yield
    finally:
        for number, previous in saved.items():
            signal.signal(number, previous)


def _undo(invocation: Invocation, found: Survey, registry: Registry, made: Made) -> list[str]:
    """Undo what `made` records, last made first; what could not be undone, said plainly."""
    left: list[str] = []
    if made.pushed is None and made.pushing is not None:
        tag, before = made.pushing
        _attempt(left, "ask the registry what the cut-short push left",
                 lambda: _find_pushed(registry, tag, before, made))  # fmt: skip
    if made.pushed is not None:
        _attempt(left, f"delete {made.pushed} from the registry",
                 lambda: _delete(registry, made.pushed or "", left))  # fmt: skip
    if made.image_tags:
        _attempt(left, "remove the image tags", lambda: _untag(invocation, made.image_tags))
    if made.before is not None and found.tag:
        before = made.before
        files = list(found.files)
        _attempt(left, "undo the release commit and tag",
                 lambda: local.undo(invocation.config, before, found, files))  # fmt: skip
    return left


def _attempt(left: list[str], what: str, action: Callable[[], None]) -> None:
    """One step of the undo: whatever stops it is reported, and the next step still runs."""
    try:
        action()
    except DockyardError as error:
        left.append(f"could not {what}: {error.message}")
    except Exception as error:  # noqa: BLE001 - an engine, registry or file error: said, not lost
        left.append(f"could not {what}: {type(error).__name__}: {error}")


def _maybe_published(invocation: Invocation, found: Survey) -> bool:
    """Whether the remote may hold the release after the atomic push began (its tag is there,
    or the remote cannot be asked): then nothing may be undone, the image least of all."""
    settings = invocation.config.release
    try:
        refs = gitops.remote_refs(
            invocation.config.root,
            settings.remote or invocation.config.git.remote,
            settings.branch or invocation.config.git.main_branch,
            found.tag,
        )
    except DockyardError:
        return True
    return refs.tag is not None


def _not_undone(error: BaseException, found: Survey) -> ReleaseFailedError:
    """The publication was cut short once the push may have reached the remote."""
    cause = error.message if isinstance(error, DockyardError) else type(error).__name__
    failure = (
        ReleaseInterruptedError if isinstance(error, KeyboardInterrupt) else ReleaseFailedError
    )
    return failure(
        f"the publication of {found.tag} was cut short ({cause}), but the remote has it, or "
        "could not be asked: nothing was undone, so a published tag keeps its image",
        hint="`invoke release.status` says where it stands; `invoke release --resume` goes on",
    )


def _find_pushed(registry: Registry, tag: str, before: str | None, made: Made) -> None:
    now = registry.api.manifest_digest(registry.name, tag)
    if now is not None and now != before:
        made.pushed = now


def _delete(registry: Registry, digest: str, left: list[str]) -> None:
    if not registry.api.delete_manifest(registry.name, digest):
        left.append(
            f"the registry refuses deletes (HTTP 405): {registry.host}/{registry.name}@{digest} "
            "stays in the registry, but nothing refers to it and no git tag was published"
        )


def _untag(invocation: Invocation, tags: dict[str, str | None]) -> None:
    from docker.errors import DockerException, ImageNotFound

    client = _engine(invocation)
    try:
        for ref, before in tags.items():
            now = _image_id(client, ref)
            if now == before or now is None:
                continue
            try:
                if before is None:
                    client.images.remove(ref, noprune=False)
                else:
                    repository, _, tag = ref.rpartition(":")
                    client.images.get(before).tag(repository, tag)
            except ImageNotFound:
                continue
            except DockerException as error:
                raise DockyardError(f"{ref}: {error}") from None
    finally:
        client.close()


def _failure(error: BaseException, step: str, left: list[str], *, resumed: bool) -> DockyardError:
    """What the user reads: what failed, that nothing was published, and to run it again."""
    again = "`invoke release --resume`" if resumed else "`invoke release`"
    undone = (
        "what this run made was undone"
        if resumed
        else "the release was undone: no release commit, no tag, the files as they were, "
        "no image tag, nothing left in the registry"
    )
    remaining = "".join(f"\n  - {line}" for line in left)
    if isinstance(error, KeyboardInterrupt):
        name = error.signal_name if isinstance(error, Interrupted) else "SIGINT"
        return ReleaseInterruptedError(
            f"interrupted by {name} during: {step}; nothing was published; {undone}{remaining}",
            hint=f"run {again} again",
        )
    if isinstance(error, DockyardError):
        first = error.message.split("\nthe release was undone")[0]
        if isinstance(error, gitops.PublishRefusedError):
            hint = error.hint or f"pull, then run {again} again"
        else:
            hint = f"{error.hint + '; then ' if error.hint else ''}run {again} again"
        return ReleaseFailedError(
            f"{step} failed: {first}\nnothing was published; {undone}{remaining}", hint=hint
        )
    if isinstance(error, ENVIRONMENT_ERRORS):  # the engine, the registry, the network, a file
        return ReleaseFailedError(
            f"{step} failed: {type(error).__name__}: {error}\nnothing was published; "
            f"{undone}{remaining}",
            hint=f"run {again} again once the cause is fixed",
        )
    error.add_note(f"nothing was published; {undone}{remaining}")  # a bug: its traceback
    raise error
