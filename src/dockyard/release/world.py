"""Reading the world a release acts on, without changing any of it: the repository and its
remote, the files the release edits, the image here and in the registry, the instances.

`survey` is the one read. It returns the plan's `World`, the exact writes each step would make,
and what preflight found, for `invoke release` (dry or real) and `release.status` alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.core.config import Config
from dockyard.core.errors import ConfigError, DockyardError
from dockyard.git import repo
from dockyard.release import announce, bump, changelog, gitops, plan, preflight, versionfile
from dockyard.release.commits import Commit
from dockyard.release.shipped import Shipped


@dataclass(frozen=True)
class FileWrite:
    """One file the release writes: its path from the root, its text before (None: absent)
    and after."""

    path: str
    before: str | None
    after: str


@dataclass(frozen=True)
class Survey:
    """What a release found: the version it is for (None: nothing to release), the commits,
    the files it writes, the plan's world and its steps."""

    last_tag: gitops.Tag | None
    commits: tuple[Commit, ...]
    bump: bump.Bump | None  # None: HEAD is already a release; the tag's version is the target
    version: str | None
    tag: str
    files: tuple[FileWrite, ...]
    world: plan.World | None
    writes: plan.Writes
    steps: tuple[plan.Step, ...] = field(default=())

    @property
    def others(self) -> tuple[Commit, ...]:
        return tuple(commit for commit in self.commits if commit.kind == "other")


def survey(
    config: Config,
    *,
    part: str = "auto",
    today: dt.date | None = None,
    registry: plan.Registry | None = None,
    registry_host: str = "",
    environ: Mapping[str, str] | None = None,
    new_release: bool = False,
) -> Survey:
    """Read everything the release decides from; write nothing. For a `new_release`, a HEAD
    that already carries a release tag is a preflight problem; otherwise it is the release
    in progress, whose steps are read. With a `registry` (at `registry_host`), the image is
    named after it and its digest there is read; `environ` reaches the Docker engine, asked
    for the image built here (none answering: not built)."""
    root, settings = config.root, config.release
    remote = settings.remote or config.git.remote
    branch_name = settings.branch or config.git.main_branch
    tags = gitops.release_tags(root, settings.tag_format)
    head = repo.head(root)
    on_head = next((tag for tag in tags if tag.commit == head), None)
    last = next((tag for tag in tags if tag.commit != head), None)  # the release before
    declared = _declared(config)
    if on_head is not None:  # a release in progress, or done: its tag says which
        commits: tuple[Commit, ...] = ()
        found: bump.Bump | None = None
        version: str | None = str(on_head.version)
    else:
        commits = tuple(gitops.commits_since(root, last.name if last else None))
        current = str(last.version) if last else declared
        found = bump.next_version(
            current, commits, part=part, major_version_zero=settings.major_version_zero,
            source=f"{last.name} (the last release tag)" if last else config.service_pyproject,
        )  # fmt: skip
        version = found.next
    if version is None:
        return Survey(last, commits, found, None, "", (), None, plan.Writes())
    tag = bump.tag_name(settings.tag_format, version)
    refs = gitops.remote_refs(root, remote, branch_name, tag)
    files, writes = _writes(
        config, version, tag, last=last, commits=commits, today=today, remote=remote,
        branch_name=branch_name,
    )  # fmt: skip
    _, behind = gitops.ahead_behind(root, refs.branch)
    local_tag = gitops.local_tag(root, tag)
    from dockyard.image.build import tag_safe
    from dockyard.registry.plan import repository

    name = repository(config) if registry_host else config.image
    digest, registry_problem = _registry_read(registry, name, tag_safe(version))
    facts = preflight.Facts(
        dirty=gitops.dirty_files(root),
        branch=gitops.branch(root),
        release_branch=branch_name,
        remote=remote,
        remote_has_branch=refs.branch is not None,
        behind=behind,
        head_tag=on_head.name if on_head is not None and new_release else None,
        instance_problems=_instance_problems(config),
        registry_problem=registry_problem,
        tag=tag,
        tag_here=new_release and on_head is None and local_tag is not None,
        tag_on_remote=new_release and on_head is None and refs.tag is not None,
    )
    changelog_text = _read(root / settings.changelog)

    repository_ref = f"{registry_host}/{name}" if registry_host else name
    standing = _instance_facts(config, environ, repository_ref, digest, version)
    world = plan.World(
        version=version,
        tag=tag,
        head=head,
        declared_version=declared,
        changelog_has_section=changelog_text is not None
        and changelog.has_section(changelog_text, version),
        local_tag_commit=local_tag,
        remote_tag_commit=refs.tag,
        image_repository=f"{registry_host}/{name}" if registry_host else name,
        image_tag=tag_safe(version),
        local_digest=_local_image(
            environ,
            f"{registry_host}/{name}" if registry_host else name,
            tag_safe(version),
            registry=bool(registry_host),
        ),
        registry_configured=registry is not None,
        registry_digest=digest,
        serving=standing.served(),
        staging=settings.staging,
        production=settings.production,
        smoke_passed=settings.staging in standing.recorded.smoke_passed,
        notified=settings.production in standing.recorded.notified,
        failed=standing.recorded.failed,
        problems=tuple(preflight.problems(facts)),
    )
    steps = tuple(plan.decide(world, writes))
    return Survey(last, commits, found, version, tag, files, world, writes, steps)


def _writes(
    config: Config, version: str, tag: str, *, last: gitops.Tag | None,
    commits: tuple[Commit, ...], today: dt.date | None, remote: str, branch_name: str,
) -> tuple[tuple[FileWrite, ...], plan.Writes]:  # fmt: skip
    """Each file's new text and the exact writes of every step."""
    root, settings = config.root, config.release
    url = gitops.remote_url(root, remote)
    section = changelog.section(
        version, today or dt.datetime.now(dt.UTC).date(), commits,
        forge=changelog.forge_url(url) if url else None,
        previous_tag=last.name if last else None, tag=tag,
    )  # fmt: skip
    files: list[FileWrite] = []
    edits: list[str] = []
    pyproject = _read(config.path(config.service_pyproject))
    if pyproject is not None:
        text, edit = versionfile.set_project_version(
            pyproject, version, source=config.service_pyproject
        )
        if text != pyproject:
            files.append(FileWrite(config.service_pyproject, pyproject, text))
            edits.append(edit.diff())
        _lock_write(config, text, version, files, edits)
    current = _declared(config)
    for entry in settings.version_files:
        path, _, marker = entry.partition(":")
        before = _read(config.path(path))
        if before is None:
            raise ConfigError("[tool.dockyard.release] version_files", [f"{path}: not found"])
        text, edit = versionfile.replace_on_line(before, marker, current, version, source=path)
        files.append(FileWrite(path, before, text))
        edits.append(edit.diff())
    existing = _read(root / settings.changelog)
    if existing is None or not changelog.has_section(existing, version):
        files.append(FileWrite(settings.changelog, existing, changelog.insert(existing, section)))
    from dockyard.image.build import tag_safe

    writes = plan.Writes(
        version_edits=tuple(edits),
        changelog_path=settings.changelog,
        changelog_section=section,
        commit_message=plan.commit_message(version),
        tag_message=plan.tag_message(version, section),
        push_command=gitops.push_command(remote, branch_name, tag),
        deploy_commands={
            instance: f"invoke deploy --instance {instance} --image {tag_safe(version)}"
            for instance in (settings.staging, settings.production)
        },
    )
    return tuple(files), writes


def _lock_write(
    config: Config, pyproject: str, version: str, files: list[FileWrite], edits: list[str]
) -> None:
    """uv.lock's entry of the service, moved to the new version with its pyproject."""
    import tomllib

    lock = _read(config.root / "uv.lock")
    name = tomllib.loads(pyproject).get("project", {}).get("name")
    if lock is None or not isinstance(name, str):
        return
    edited = versionfile.set_lock_version(lock, name, version, source="uv.lock")
    if edited is not None and edited[0] != lock:
        files.append(FileWrite("uv.lock", lock, edited[0]))
        edits.append(edited[1].diff())


def _declared(config: Config) -> str:
    from dockyard.image.facts import read_version

    return read_version(config)


def _read(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _instance_problems(config: Config) -> list[str]:
    """The target instances' files, checked as the deploy checks them."""
    from dockyard.deploy import instances

    problems: list[str] = []
    for instance_id in (config.release.staging, config.release.production):
        try:
            instances.load_instance(config, instance_id)
        except DockyardError as error:
            problems.append(error.message.replace("\n", " "))
    return list(dict.fromkeys(problems))


@dataclass(frozen=True)
class InstanceFacts:
    """What the target instances run, read from the world: the version each one's proxy
    serves (its serving.json), the digest its running containers' image carries for the
    release's repository (None: unknown), and the release's records in the deploy history."""

    version: str
    digest: str | None  # the release's digest in the registry (None: not known)
    versions: Mapping[str, str | None]
    digests: Mapping[str, str | None]
    recorded: announce.Recorded

    def serves(self, instance: str) -> bool:
        """`instance` serves the release: its version, from the release's digest when both
        that digest and the one its containers run are known."""
        from dockyard.image.build import tag_safe

        if self.versions.get(instance) != tag_safe(self.version):
            return False
        running = self.digests.get(instance)
        return self.digest is None or running is None or running == self.digest

    def served(self) -> dict[str, str | None]:
        """Per instance, the release's version when it serves the release, else what it
        serves (a version run from another image is marked so)."""
        found: dict[str, str | None] = {}
        for instance, version in self.versions.items():
            if self.serves(instance):
                found[instance] = self.version
            elif version is not None and self.digests.get(instance):
                found[instance] = f"{version} ({self.digests[instance]})"
            else:
                found[instance] = version
        return found


def instance_facts(
    config: Config, environ: Mapping[str, str] | None, shipped: Shipped
) -> InstanceFacts:
    return _instance_facts(config, environ, shipped.repository, shipped.digest, shipped.version)


def _instance_facts(
    config: Config,
    environ: Mapping[str, str] | None,
    repository: str,
    digest: str | None,
    version: str,
) -> InstanceFacts:
    from dockyard.deploy import history
    from dockyard.deploy.guarded import Places
    from dockyard.deploy.serving import serving_in

    places = Places.of(config)
    versions: dict[str, str | None] = {}
    containers: dict[str, tuple[str, ...]] = {}
    for instance_id in (config.release.staging, config.release.production):
        serving = serving_in(places.runtime(instance_id))
        versions[instance_id] = serving.version if serving else None
        containers[instance_id] = serving.containers if serving else ()
    digests = _running_digests(environ, repository, containers)
    recorded = announce.read(history.read(places.history).records, version)
    return InstanceFacts(version, digest, versions, digests, recorded)


def _running_digests(
    environ: Mapping[str, str] | None, repository: str, containers: Mapping[str, tuple[str, ...]]
) -> dict[str, str | None]:
    """Per instance, the digest (for `repository`) of the image its serving containers run;
    "" when none of them runs, None when no engine answers or the image has no such digest."""
    from docker.errors import DockerException, NotFound

    from dockyard.core.engine import connect
    from dockyard.core.errors import EngineUnavailableError

    found: dict[str, str | None] = dict.fromkeys(containers)
    if environ is None:
        return found
    try:
        client = connect(environ)
    except EngineUnavailableError:
        return found
    try:
        for instance_id, names in containers.items():
            digests: set[str] = set()
            running = False
            for name in names:
                try:
                    container = client.containers.get(name)
                except NotFound:
                    continue
                if container.status != "running":
                    continue
                running = True
                image = client.images.get(str(container.attrs.get("Image", "")))
                for reference in image.attrs.get("RepoDigests") or []:
                    if isinstance(reference, str) and reference.startswith(f"{repository}@"):
                        digests.add(reference.split("@", 1)[1])
            if not running and names:
                found[instance_id] = ""
            elif len(digests) == 1:
                found[instance_id] = digests.pop()
    except DockerException:
        return dict.fromkeys(containers)
    finally:
        client.close()
    return found


def _registry_read(
    registry: plan.Registry | None, name: str, tag: str
) -> tuple[str | None, str | None]:
    """The registry's digest of `name:tag`, and what stopped the reading (a problem for
    preflight rather than an error, so that every problem is reported at once)."""
    if registry is None:
        return None, None
    try:
        registry.ping()
        return registry.manifest_digest(name, tag), None
    except DockyardError as error:
        return None, error.message


def _local_image(
    environ: Mapping[str, str] | None, repository: str, tag: str, *, registry: bool
) -> str | None:
    """The image built here for this release: its repo digest for the registry's reference
    (a pushed image), else its id; None when it is absent or no engine answers."""
    from docker.errors import DockerException, ImageNotFound

    from dockyard.core.engine import connect
    from dockyard.core.errors import EngineUnavailableError

    if environ is None:
        return None
    try:
        client = connect(environ)
    except EngineUnavailableError:
        return None
    try:
        image = client.images.get(f"{repository}:{tag}")
        if not registry:
            return str(image.id)
        digests = [d for d in image.attrs.get("RepoDigests") or [] if isinstance(d, str)]
        found = [d.split("@", 1)[1] for d in digests if d.startswith(f"{repository}@")]
        return found[0] if found else str(image.id)
    except ImageNotFound:
        return None
    except DockerException:
        return None
    finally:
        client.close()
