"""Planning the offline base images (`invoke image.base`): what to build, from what, named how.

Where no registry can be reached, the stack's images are built from Debian packages: a Debian
base from debootstrap, then Python, PostgreSQL, Redis and nginx on top of it, and the Docker
registry `invoke registry.up` runs. This module only decides; `dockyard.rootfs` and
`dockyard.build` act. The one thing it reads is the build contexts (shipped in dockyard's
package data, `base/`, unless `[tool.dockyard.images] base_dir` names the project's own), to
fingerprint them: an image whose fingerprint label matches its plan is up to date, and a changed
Dockerfile, script, suite or parent means a rebuild.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dockyard.core.config import Config, Images
from dockyard.core.errors import ConfigError, MissingFileError
from dockyard.core.packagedata import data_path
from dockyard.image.base.debian import IMPORT_LABELS, TRIM_KEEP, TRIM_REMOVE, import_changes_fixed
from dockyard.image.base.python import python_for
from dockyard.image.overrides import read_overrides as read_overrides  # noqa: PLC0414  (re-exported)

# The name the shipped contexts go by in labels and fingerprints: their path in dockyard's own
# repository before they moved into the package, kept so that images built since stay current.
SHIPPED_SOURCE = "docker/base"
DEBIAN = "debian"
FINGERPRINT_LABEL = "dev.dockyard.base.fingerprint"
DOCKERFILE_LABEL = "dev.dockyard.dockerfile"
# The release a base image packages, under dockyard's own key: never the OCI version label, which
# an image built FROM the base would otherwise inherit as if it were its own version.
RELEASE_LABEL = "dev.dockyard.base.release"


@dataclass(frozen=True)
class Release:
    """What a Debian release ships: the versions the local images are named after."""

    debian: str
    python: str
    postgres: str
    redis: str
    nginx: str
    registry: str


# Debian bookworm ships PostgreSQL 15 where the official default is 16: a data directory
# initialised by one cannot be opened by the other. The Python stand-in follows the service's
# Python (`dockyard.image.base.python`), so it may come from another release than the rest.
RELEASES = {
    "bookworm": Release(
        debian="12", python="3.11", postgres="15", redis="7", nginx="1.22", registry="2.8"
    ),
    "trixie": Release(
        debian="13", python="3.13", postgres="17", redis="8", nginx="1.26", registry="2.8"
    ),
}


@dataclass(frozen=True)
class Kind:
    """One image of the family: its build context, the build argument naming its version, and
    the stack variable that selects it instead of the official image."""

    key: str
    title: str
    version_arg: str | None
    override: str | None
    config_field: str | None


FROM_DEBIAN = "{version} from Debian packages"
KINDS = (
    Kind(DEBIAN, "Debian {suite} (minbase)", None, None, None),
    Kind("python", "Python " + FROM_DEBIAN, "PYTHON_VERSION", "PYTHON_IMAGE", "python"),
    Kind("postgres", "PostgreSQL " + FROM_DEBIAN, "PG_MAJOR", "POSTGRES_IMAGE", "postgres"),
    Kind("redis", "Redis " + FROM_DEBIAN, "REDIS_MAJOR", "REDIS_IMAGE", "redis"),
    Kind("nginx", "unprivileged nginx " + FROM_DEBIAN, "NGINX_VERSION", "PROXY_IMAGE", "proxy"),
    # The local registry of `invoke registry.up`: not a stack image, so no stack variable.
    Kind("registry", "Docker registry " + FROM_DEBIAN, "REGISTRY_VERSION", None, None),
)  # fmt: skip


@dataclass(frozen=True)
class BaseImage:
    """One image to build: where its context is, what it is built from, how it is labelled."""

    key: str
    name: str
    suite: str  # the Debian release it is built from
    context: str  # the build context's absolute path
    source: str  # what the labels name it by: "docker/base/<key>", or the project's own path
    version: str
    title: str
    replaces: str | None  # the official image this one stands in for
    override: str | None  # the stack variable that selects it
    parent: str | None  # the image it is built FROM; None for the imported Debian base
    build_args: tuple[tuple[str, str], ...]
    fingerprint: str

    @property
    def imported(self) -> bool:
        """The Debian base is imported from a debootstrapped tree, not built from a Dockerfile."""
        return self.parent is None

    @property
    def dockerfile(self) -> str:
        return f"{self.context}/Dockerfile"

    def labels(self) -> dict[str, str]:
        """Labels set from outside the Dockerfile: what makes the up-to-date check possible."""
        labels = {FINGERPRINT_LABEL: self.fingerprint, RELEASE_LABEL: self.version}
        if not self.imported:
            labels[DOCKERFILE_LABEL] = f"{self.source}/Dockerfile"
        return labels


@dataclass(frozen=True)
class Decision:
    build: bool
    reason: str


# ------------------------------------------------------------------- names ---


def release(images: Images) -> Release:
    """The package versions of the configured Debian suite; only known suites can be planned."""
    found = RELEASES.get(images.debian_suite)
    if found is None:
        raise ConfigError(
            "pyproject.toml",
            [
                f"tool.dockyard.images.debian_suite: {images.debian_suite!r} has no base images "
                f"(known: {', '.join(sorted(RELEASES))})"
            ],
            hint="set debian_suite to a known suite, or add its package versions to "
            "dockyard.image.base.plan.RELEASES",
        )
    return found


def local_names(config: Config) -> dict[str, str]:
    """The local image of each kind, e.g. {"postgres": "dockyard-base/postgres:15-bookworm"};
    with a second Debian base (`debian-trixie`, say) when the Python stand-in needs one."""
    images = config.images
    suites = kind_suites(config)
    debian = dict.fromkeys([images.debian_suite, *suites.values()])
    names = {
        _debian_key(config, suite): f"{images.local_prefix}/{DEBIAN}:{suite}" for suite in debian
    }
    for kind in KINDS[1:]:
        version, suite = getattr(RELEASES[suites[kind.key]], kind.key), suites[kind.key]
        names[kind.key] = f"{images.local_prefix}/{kind.key}:{version}-{suite}"
    return names


def kind_suites(config: Config) -> dict[str, str]:
    """The Debian release each kind is built from: the configured one, except for Python,
    which comes from the release that ships the service's Python."""
    release(config.images)
    suite = config.images.debian_suite
    python = python_for(config, {name: each.python for name, each in RELEASES.items()})
    return {kind.key: python.suite if kind.key == "python" else suite for kind in KINDS}


def _debian_key(config: Config, suite: str) -> str:
    return DEBIAN if suite == config.images.debian_suite else f"{DEBIAN}-{suite}"


# The base images of the optional parts, and the `[tool.dockyard.services]` key of each.
OPTIONAL = {"postgres": "database", "redis": "cache"}


def wanted_kinds(config: Config) -> tuple[Kind, ...]:
    """The kinds the stack runs: without the database or cache when the services have none."""
    return tuple(
        kind
        for kind in KINDS
        if kind.key not in OPTIONAL or getattr(config.services, OPTIONAL[kind.key])
    )


def local_overrides(config: Config) -> dict[str, str]:
    """The stack variables that select the local images instead of the official ones."""
    names = local_names(config)
    return {kind.override: names[kind.key] for kind in wanted_kinds(config) if kind.override}


def official_images(config: Config) -> dict[str, str]:
    """The stack variables with their defaults: the official images from the configuration."""
    return {
        kind.override: getattr(config.images, kind.config_field)
        for kind in wanted_kinds(config)
        if kind.override and kind.config_field
    }


# ------------------------------------------------------------------- plan ---


def base_dir(config: Config) -> Path:
    """Where the build contexts are: `[tool.dockyard.images] base_dir` in the project, else
    the ones dockyard ships."""
    configured = config.images.base_dir
    return config.path(configured) if configured else data_path("base")


def source_name(config: Config) -> str:
    """What labels and fingerprints call the directory of the build contexts."""
    return config.images.base_dir.rstrip("/") or SHIPPED_SOURCE


def dockerfile_path(config: Config, labelled: str) -> str:
    """The Dockerfile a base image's `dev.dockyard.dockerfile` label names, as a path that
    `config.path` finds (the shipped contexts live in the installed package)."""
    prefix = source_name(config) + "/"
    if labelled.startswith(prefix):
        return str(base_dir(config) / labelled.removeprefix(prefix))
    return labelled


def plan_base_images(config: Config, created: str) -> list[BaseImage]:
    """Every base image, parents first, with its build arguments and fingerprint.

    `created` (an RFC 3339 time) goes into the OCI labels but not into the fingerprint, so
    an unchanged image is never rebuilt just because time has passed.
    """
    images = config.images
    names = local_names(config)
    suites = kind_suites(config)
    kinds = wanted_kinds(config)
    # A Debian base for each release the other images need, the configured one first.
    needed = dict.fromkeys([images.debian_suite, *(suites[kind.key] for kind in kinds)])
    entries = [(KINDS[0], suite) for suite in needed] + [(k, suites[k.key]) for k in kinds[1:]]
    plan: list[BaseImage] = []
    parents: dict[str, BaseImage] = {}
    contexts, sources = base_dir(config), source_name(config)
    for kind, suite in entries:
        key = _debian_key(config, suite) if kind.key == DEBIAN else kind.key
        context, source = contexts / kind.key, f"{sources}/{kind.key}"
        version = str(getattr(RELEASES[suite], kind.key))
        parent = parents.get(suite)
        args: list[tuple[str, str]] = []
        if parent is not None:
            args.append(("BASE", parent.name))
        if kind.version_arg:
            args.append((kind.version_arg, version))
        args += [("VERSION", version), ("SOURCE", source)]
        fixed = tuple(args)
        seed = [suite, images.debian_mirror, *(f"{k}={v}" for k, v in fixed)]
        if parent is None:
            seed += [*TRIM_REMOVE, "|", *TRIM_KEEP, *import_changes_fixed(), *IMPORT_LABELS]
        else:
            seed.append(parent.fingerprint)
        fingerprint = _digest(seed, tree_digest(context, source))
        item = BaseImage(
            key=key,
            name=names[key],
            suite=suite,
            context=str(context),
            source=source,
            version=version,
            title=kind.title.format(suite=suite, version=version),
            replaces=getattr(images, kind.config_field) if kind.config_field else None,
            override=kind.override,
            parent=parent.name if parent else None,
            build_args=(*fixed, ("CREATED", created)),
            fingerprint=fingerprint,
        )
        plan.append(item)
        parents.setdefault(suite, item)
    return plan


def decide(item: BaseImage, labels: Mapping[str, str] | None, rebuild: bool) -> Decision:
    """Build or skip: `labels` are the existing image's (None when there is no such image)."""
    if rebuild:
        return Decision(True, "rebuild requested")
    if labels is None:
        return Decision(True, "not built yet")
    found = labels.get(FINGERPRINT_LABEL)
    if found != item.fingerprint:
        was = f" (was {found[:12]})" if found else ""
        return Decision(True, f"changed since it was built{was}")
    return Decision(False, f"up to date ({item.fingerprint[:12]})")


# ------------------------------------------------------------- fingerprints ---


def tree_digest(directory: Path, source: str = "") -> str:
    """A digest of every file under `directory`: names, executable bits and contents."""
    if not directory.is_dir():
        shipped = source.startswith(SHIPPED_SOURCE + "/")
        raise MissingFileError(
            f"{directory}: build context not found",
            hint="reinstall dockyard (its package data is incomplete)"
            if shipped
            else "restore it, or point [tool.dockyard.images] base_dir at the build contexts "
            '("" uses the ones dockyard ships)',
        )
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() or p.is_symlink()):
        relative = path.relative_to(directory).as_posix()
        digest.update(relative.encode() + b"\0")
        if path.is_symlink():
            digest.update(b"link:" + str(path.readlink()).encode() + b"\0")
            continue
        digest.update(b"x" if os.access(path, os.X_OK) else b"-")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _digest(parts: list[str], tree: str) -> str:
    digest = hashlib.sha256()
    for part in [*parts, tree]:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


# ---------------------------------------------------------- the other images ---


def build_command(item: BaseImage) -> list[str]:
    """`docker build` for a Dockerfile-built image (run with DOCKER_BUILDKIT=1)."""
    args = [part for key, value in item.build_args for part in ("--build-arg", f"{key}={value}")]
    labels = [
        part for key, value in item.labels().items() for part in ("--label", f"{key}={value}")
    ]
    return [
        "docker", "build", "--progress=plain",
        "--file", item.dockerfile, "--tag", item.name, *args, *labels, item.context,
    ]  # fmt: skip


def buildkit_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment with BuildKit switched on."""
    return {**environ, "DOCKER_BUILDKIT": "1"}
