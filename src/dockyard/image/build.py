"""`invoke image.build`: the service's production image, tagged by version, git sha and latest.

Built as *gather → plan → act*: `gather` reads the facts of this checkout (version, git
revision and whether the image's inputs have uncommitted changes, the base image, a CA
bundle); `plan_build` turns them into the exact `docker build` command, with no side effect;
`run_build` runs it with BuildKit, streaming its progress. Tags:

- `<image>:<version>` from the service's pyproject.toml,
- `<image>:<git sha>` (with `-dirty` when the files the image is built from have uncommitted
  changes: such an image is not what the commit describes),
- `<image>:latest`.

Its OCI labels (version, revision, created, source) are dockyard's, set with `--label`: the
Dockerfile need not declare them, and none is inherited from the base image.

The base image is `--base` when given, else the local stand-in recorded by `invoke image.base`
(`.dockyard/images.env`), else the configured official image. A CA bundle named by
SSL_CERT_FILE, REQUESTS_CA_BUNDLE or PIP_CERT goes to the build as the BuildKit secret `ca`,
which no layer keeps.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.core import proc
from dockyard.core.config import Config
from dockyard.core.errors import CommandFailedError, ConfigError, MissingFileError
from dockyard.image.dockerfile import tls_cause, tls_failed
from dockyard.image.facts import Revision, read_revision, read_source, read_uv_version, read_version

CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT")
BASE_ARGUMENT = "BASE_IMAGE"  # the build argument that names the base image
CA_SECRET_ID = "ca"  # noqa: S105 - the name of the BuildKit secret, not a secret
BUILD_TIMEOUT_S = 1800.0
OCI = "org.opencontainers.image"
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class Facts:
    """Everything a build depends on that is read from the world."""

    version: str
    revision: Revision
    base_image: str
    created: str
    uv_version: str | None = None
    source: str | None = None
    ca_bundle: Path | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildPlan:
    """One `docker build`: what to build, how to tag it, with which arguments and secrets."""

    dockerfile: Path
    context: Path
    tags: tuple[str, ...]
    build_args: dict[str, str]
    secrets: dict[str, Path] = field(default_factory=dict)
    no_cache: bool = False
    warnings: tuple[str, ...] = ()
    target: str | None = None  # a stage to stop at; the last stage when None
    labels: dict[str, str] = field(default_factory=dict)

    def command(self) -> list[str]:
        args = ["docker", "build", "--progress=plain", "--file", str(self.dockerfile)]
        for tag in self.tags:
            args += ["--tag", tag]
        for name, value in self.build_args.items():
            args += ["--build-arg", f"{name}={value}"]
        for name, value in self.labels.items():
            args += ["--label", f"{name}={value}"]
        for secret_id, path in self.secrets.items():
            args += ["--secret", f"id={secret_id},src={path}"]
        if self.target:
            args += ["--target", self.target]
        if self.no_cache:
            args.append("--no-cache")
        return [*args, str(self.context)]


@dataclass(frozen=True)
class BuildResult:
    plan: BuildPlan
    image_id: str
    size_bytes: int
    seconds: float
    output: str


# ------------------------------------------------------------------- plan ---


def plan_build(
    config: Config, facts: Facts, *, image: str | None = None, no_cache: bool = False
) -> BuildPlan:
    """The build command for `facts`; pure, so every decision is testable without Docker."""
    tags = [image_ref(config, tag_safe(facts.version), image=image)]
    warnings = list(facts.warnings)
    revision = facts.revision
    if revision.sha:
        tags.append(
            image_ref(config, f"{revision.sha}{'-dirty' if revision.dirty else ''}", image=image)
        )
        if revision.dirty:
            warnings.append(
                f"the image's inputs have uncommitted changes: tagged {revision.sha}-dirty, "
                "commit them for an image that matches its revision"
            )
    else:
        warnings.append("not a git checkout: the image gets no revision tag")
    tags.append(image_ref(config, "latest", image=image))
    build_args = {
        BASE_ARGUMENT: facts.base_image,
        "VERSION": facts.version,
        "REVISION": _revision_label(revision),
        "CREATED": facts.created,
    }
    if facts.uv_version:
        build_args["UV_VERSION"] = facts.uv_version
    if facts.source:
        build_args["SOURCE"] = facts.source
    secrets = {CA_SECRET_ID: facts.ca_bundle} if facts.ca_bundle else {}
    return BuildPlan(
        labels=oci_labels(facts, title=config.image),
        dockerfile=config.path(config.dockerfile),
        context=config.path(config.build_context),
        tags=tuple(tags),
        build_args=build_args,
        secrets=secrets,
        no_cache=no_cache,
        warnings=tuple(warnings),
    )


def oci_labels(facts: Facts, *, title: str) -> dict[str, str]:
    """The OCI labels dockyard stamps on the image itself, whatever the Dockerfile says or its
    base carries: a label set at build time overrides any inherited one, so none of these is
    ever a base image's (an unknown source is stamped empty for the same reason). The other
    keys the OCI image spec defines are stamped too, empty where dockyard cannot know them:
    a base's description (a local stand-in's, say) is never the service's, and the title is
    the image's own name."""
    return {
        f"{OCI}.version": facts.version,
        f"{OCI}.revision": _revision_label(facts.revision),
        f"{OCI}.created": facts.created,
        f"{OCI}.source": facts.source or "",
        f"{OCI}.title": title,
        f"{OCI}.base.name": facts.base_image,
        **dict.fromkeys((f"{OCI}.{key}" for key in UNKNOWN_OCI_KEYS), ""),
    }


# The OCI image spec's predefined annotation keys dockyard has no value for: stamped empty.
UNKNOWN_OCI_KEYS = (
    "description",
    "url",
    "documentation",
    "authors",
    "vendor",
    "licenses",
    "ref.name",
    "base.digest",
)


def image_ref(config: Config, tag: str, *, image: str | None = None) -> str:
    """The reference of the service's image tagged `tag` (a version, a revision, `latest`):
    `<image>:<tag>`, where the image is the configured one unless `image` names another."""
    return f"{image or config.image}:{tag}"


def tag_safe(version: str) -> str:
    """A version as a Docker tag: `1.2.0+local.3` becomes `1.2.0-local.3`."""
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", version)
    if not _TAG.match(tag):
        raise ConfigError("version", [f"{version!r} cannot be made into a Docker tag"])
    return tag


def created_timestamp(environ: Mapping[str, str], revision: Revision, now: dt.datetime) -> str:
    """The image's creation time, RFC 3339 in UTC.

    SOURCE_DATE_EPOCH wins (reproducible builds); a clean checkout uses its commit time, so
    rebuilding the same commit gives the same labels; anything else is built now.
    """
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    elif revision.committed_at is not None and not revision.dirty:
        moment = dt.datetime.fromtimestamp(revision.committed_at, dt.UTC)
    else:
        moment = now.astimezone(dt.UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def choose_base(config: Config, base: str | None, overrides: Mapping[str, str]) -> str:
    """`--base`, else the local stand-in `invoke image.base` recorded, else the official image."""
    return base or overrides.get("PYTHON_IMAGE") or config.images.python


def find_ca_bundle(environ: Mapping[str, str]) -> tuple[Path | None, list[str]]:
    """The first CA bundle the environment names that exists, and warnings about the others."""
    warnings: list[str] = []
    for variable in CA_VARIABLES:
        value = environ.get(variable, "").strip()
        if not value:
            continue
        path = Path(value)
        if path.is_file():
            return path, warnings
        warnings.append(f"{variable}={value} is not a file: not passed to the build")
    return None, warnings


def images_present(environ: Mapping[str, str], names: list[str]) -> set[str]:
    """Those of `names` the engine has (none when no engine answers: the build then says so)."""
    from docker.errors import DockerException, ImageNotFound

    from dockyard.core.engine import connect

    found = set()
    client = connect(environ)
    try:
        for name in names:
            try:
                client.images.get(name)
                found.add(name)
            except ImageNotFound:
                continue
            except DockerException as error:
                raise CommandFailedError(f"could not inspect the image {name}: {error}") from None
    finally:
        client.close()
    return found


def _revision_label(revision: Revision) -> str:
    if not revision.sha:
        return "unknown"
    return f"{revision.sha}-dirty" if revision.dirty else revision.sha


# ----------------------------------------------------------------- gather ---


def gather(config: Config, environ: Mapping[str, str], base: str | None = None) -> Facts:
    """Read the facts of this checkout; raise MissingFileError when the Dockerfile is absent."""
    from dockyard.image.overrides import read_overrides

    dockerfile = config.path(config.dockerfile)
    if not dockerfile.is_file():
        raise MissingFileError(
            f"{config.dockerfile}: not found (tool.dockyard.dockerfile)",
            hint="create the production Dockerfile or point tool.dockyard.dockerfile at it",
        )
    revision = read_revision(config, environ)
    ca_bundle, warnings = find_ca_bundle(environ)
    return Facts(
        version=read_version(config),
        revision=revision,
        base_image=choose_base(config, base, read_overrides(config)),
        created=created_timestamp(environ, revision, dt.datetime.now(dt.UTC)),
        uv_version=read_uv_version(config),
        source=read_source(config, environ),
        ca_bundle=ca_bundle,
        warnings=tuple(warnings),
    )


# -------------------------------------------------------------------- act ---


def run_build(
    plan: BuildPlan,
    environ: Mapping[str, str],
    *,
    on_line: Callable[[str], None] | None = None,
    timeout: float = BUILD_TIMEOUT_S,
) -> BuildResult:
    """Run the plan with BuildKit, passing each output line to `on_line` as it comes."""
    executable = proc.which("docker", environ)
    if executable is None:
        raise MissingFileError(
            "docker: command not found on PATH",
            hint="install the Docker CLI (`invoke doctor` says how)",
        )
    args = plan.command()
    env = {**environ, "DOCKER_BUILDKIT": "1"}
    started = time.monotonic()
    lines: list[str] = []
    timed_out = threading.Event()
    with subprocess.Popen(
        [executable, *args[1:]],
        cwd=plan.context,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as child:
        assert child.stdout is not None  # noqa: S101 - stdout=PIPE above
        # A build that stops printing must still stop: the watchdog kills it at the deadline.

        def expire() -> None:
            timed_out.set()
            child.kill()

        watchdog = threading.Timer(timeout, expire)
        watchdog.start()
        try:
            for line in child.stdout:
                lines.append(line.rstrip("\n"))
                if on_line is not None:
                    on_line(lines[-1])
            code = child.wait()
        except BaseException:
            child.kill()  # an interrupted build must not go on building behind our back
            raise
        finally:
            watchdog.cancel()
    if timed_out.is_set():
        raise CommandFailedError(
            f"`docker build` of {plan.tags[0]} did not finish within {timeout:.0f} s",
            hint="check the build's network access (a proxy needs its CA bundle)",
        )
    seconds = time.monotonic() - started
    output = "\n".join(lines)
    if code != 0:
        raise build_failure(plan, code, lines)
    inspect = proc.run(
        ["docker", "image", "inspect", "--format", "{{.Id}} {{.Size}}", plan.tags[0]],
        env=environ,
    )
    image_id, size = inspect.stdout.split()
    return BuildResult(plan, image_id, int(size), seconds, output)


def build_failure(plan: BuildPlan, code: int, lines: list[str]) -> CommandFailedError:
    """The error for a failed build, naming its cause when the output shows one: for a refused
    certificate, the RUN lines of the Dockerfile that fetch without the CA bundle's secret."""
    head = f"`docker build` of {plan.tags[0]} exited with {code}"
    tail = "\n".join(lines[-30:])
    output = "\n".join(lines)
    if tls_failed(output):
        bundle = plan.secrets.get(CA_SECRET_ID)
        try:
            text = plan.dockerfile.read_text(encoding="utf-8")
        except OSError:
            text = ""
        name = (
            plan.dockerfile.relative_to(plan.context).as_posix()
            if plan.dockerfile.is_relative_to(plan.context)
            else str(plan.dockerfile)
        )
        found = tls_cause(text, name, CA_SECRET_ID, str(bundle) if bundle else None)
        return CommandFailedError(f"{head}: {found.cause}\n{tail}", hint=found.hint)
    hint = None
    if "failed to resolve source metadata" in output or "pull access denied" in output:
        hint = "the base image is not available: run `invoke image.base` or pass --base"
    return CommandFailedError(f"{head}:\n{tail}", hint=hint)
