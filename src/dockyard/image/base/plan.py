"""Planning the offline base images (`invoke image.base`): what to build, from what, named how.

Where no registry can be reached, the stack's images are built from Debian packages: a Debian
base from debootstrap, then Python, PostgreSQL, Redis and nginx on top of it, and the Docker
registry `invoke registry.up` runs. This module only decides; `dockyard.rootfs` and
`dockyard.build` act. The one thing it reads is the build contexts under `docker/base/`, to
fingerprint them: an image whose fingerprint label matches its plan is up to date, and a changed
Dockerfile, script, suite or parent means a rebuild.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dockyard.core.config import Config, Images
from dockyard.core.errors import ConfigError, MissingFileError
from dockyard.image.overrides import read_overrides as read_overrides  # noqa: PLC0414  (re-exported)

BASE_DIR = "docker/base"
DEBIAN = "debian"
FINGERPRINT_LABEL = "dev.dockyard.base.fingerprint"
DOCKERFILE_LABEL = "dev.dockyard.dockerfile"
# The release a base image packages, under dockyard's own key: never the OCI version label, which
# an image built FROM the base would otherwise inherit as if it were its own version.
RELEASE_LABEL = "dev.dockyard.base.release"
IMPORT_LABELS = (
    "org.opencontainers.image.title",
    "org.opencontainers.image.description",
    "org.opencontainers.image.created",
    "org.opencontainers.image.source",
)
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


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
# initialised by one cannot be opened by the other.
RELEASES = {
    "bookworm": Release(
        debian="12", python="3.11", postgres="15", redis="7", nginx="1.22", registry="2.8"
    )
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
    context: str  # relative to the project root
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
            labels[DOCKERFILE_LABEL] = self.dockerfile
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
    """The local image of each kind, e.g. {"postgres": "dockyard-base/postgres:15-bookworm"}."""
    images = config.images
    versions = release(images)
    suite = images.debian_suite
    names = {DEBIAN: f"{images.local_prefix}/{DEBIAN}:{suite}"}
    for kind in KINDS[1:]:
        names[kind.key] = f"{images.local_prefix}/{kind.key}:{getattr(versions, kind.key)}-{suite}"
    return names


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


def plan_base_images(config: Config, created: str) -> list[BaseImage]:
    """Every base image, parents first, with its build arguments and fingerprint.

    `created` (an RFC 3339 time) goes into the OCI labels but not into the fingerprint, so
    an unchanged image is never rebuilt just because time has passed.
    """
    images = config.images
    versions = release(images)
    names = local_names(config)
    suite = images.debian_suite
    plan: list[BaseImage] = []
    parent: BaseImage | None = None
    for kind in wanted_kinds(config):
        context = f"{BASE_DIR}/{kind.key}"
        version = versions.debian if kind.key == DEBIAN else getattr(versions, kind.key)
        args: list[tuple[str, str]] = []
        if parent is not None:
            args.append(("BASE", parent.name))
        if kind.version_arg:
            args.append((kind.version_arg, version))
        args += [("VERSION", version), ("SOURCE", context)]
        fixed = tuple(args)
        seed = [suite, images.debian_mirror, *(f"{k}={v}" for k, v in fixed)]
        if parent is None:
            seed += [*TRIM_REMOVE, "|", *TRIM_KEEP, *import_changes_fixed(), *IMPORT_LABELS]
        else:
            seed.append(parent.fingerprint)
        fingerprint = _digest(seed, tree_digest(config.root / context))
        item = BaseImage(
            key=kind.key,
            name=names[kind.key],
            context=context,
            version=version,
            title=kind.title.format(suite=suite, version=version),
            replaces=getattr(images, kind.config_field) if kind.config_field else None,
            override=kind.override,
            parent=parent.name if parent else None,
            build_args=(*fixed, ("CREATED", created)),
            fingerprint=fingerprint,
        )
        plan.append(item)
        if parent is None:
            parent = item
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


def tree_digest(directory: Path) -> str:
    """A digest of every file under `directory`: names, executable bits and contents."""
    if not directory.is_dir():
        raise MissingFileError(
            f"{directory}: build context not found",
            hint=f"restore {BASE_DIR}/ from git (`git checkout -- {BASE_DIR}`)",
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


# --------------------------------------------------------- the Debian base ---

# Removed from the debootstrapped tree (patterns relative to its root; `*` spans directories).
TRIM_REMOVE = (
    "usr/share/doc/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/groff/*",
    "usr/share/lintian/*",
    "usr/share/linda/*",
    "usr/share/locale/*",
    "usr/lib/locale/*",
    "var/lib/apt/lists/*",
    "var/cache/apt/*",
    "var/cache/debconf/*-old",
    "var/log/*.log",
    "var/log/apt/*",
    "etc/apt/sources.list",  # replaced by sources.list.d/debian.sources
    "etc/resolv.conf",  # the builder's: the engine provides the container's own
    "etc/hostname",
)
# ...except these: licences travel with the binaries, C.UTF-8 is the one locale kept, and apt
# keeps the directories it downloads into.
TRIM_KEEP = (
    "usr/share/doc/*/copyright",
    "usr/share/locale/locale.alias",
    "usr/lib/locale/C.utf8",
    "usr/lib/locale/C.utf8/*",
    "var/lib/apt/lists/partial",
    "var/cache/apt/archives",
    "var/cache/apt/archives/partial",
)


def trimmed(relative: str) -> bool:
    """Whether a file (or, once empty, a directory) of the debootstrapped tree is left out."""
    return any(fnmatch.fnmatchcase(relative, p) for p in TRIM_REMOVE) and not any(
        fnmatch.fnmatchcase(relative, p) for p in TRIM_KEEP
    )


def debootstrap_command(images: Images, target: Path) -> list[str]:
    return [
        "debootstrap", "--variant=minbase", images.debian_suite, str(target), images.debian_mirror,
    ]  # fmt: skip


def security_mirror(mirror: str) -> str | None:
    """Debian's security archive beside `mirror`, when the mirror follows Debian's layout."""
    stripped = mirror.rstrip("/")
    return f"{stripped}-security" if stripped.endswith("/debian") else None


def apt_sources(images: Images) -> str:
    """The image's apt sources (deb822): the release, its updates and its security fixes."""
    suite = images.debian_suite
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    blocks = [(images.debian_mirror.rstrip("/"), f"{suite} {suite}-updates")]
    security = security_mirror(images.debian_mirror)
    if security:
        blocks.append((security, f"{suite}-security"))
    return "\n".join(
        f"Types: deb\nURIs: {uri}\nSuites: {suites}\nComponents: main\nSigned-By: {keyring}\n"
        for uri, suites in blocks
    )


def import_changes_fixed() -> list[str]:
    """The Dockerfile instructions `docker import` applies to every Debian base."""
    return [f"ENV PATH={PATH}", "ENV LANG=C.UTF-8", 'CMD ["bash"]']


def import_changes(item: BaseImage) -> list[str]:
    """Instructions for `docker import --change`: environment, command and labels."""
    args = dict(item.build_args)
    values = (item.name.rpartition(":")[0], item.title, args["CREATED"], args["SOURCE"])
    labels = {**dict(zip(IMPORT_LABELS, values, strict=True)), **item.labels()}
    return [*import_changes_fixed(), *(f'LABEL {key}="{value}"' for key, value in labels.items())]


def import_command(item: BaseImage, tarball: Path) -> list[str]:
    changes = [part for change in import_changes(item) for part in ("--change", change)]
    return ["docker", "import", *changes, str(tarball), item.name]


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
