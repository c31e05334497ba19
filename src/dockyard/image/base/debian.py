"""The Debian base of the offline images: the debootstrapped tree, what is trimmed from it, its
apt sources, and the `docker import` that makes it an image. Decides only; `rootfs` acts."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.config import Images

if TYPE_CHECKING:
    from dockyard.image.base.plan import BaseImage

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
IMPORT_LABELS = (
    "org.opencontainers.image.title",
    "org.opencontainers.image.description",
    "org.opencontainers.image.created",
    "org.opencontainers.image.source",
)

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


def debootstrap_command(images: Images, target: Path, suite: str | None = None) -> list[str]:
    return [
        "debootstrap", "--variant=minbase", suite or images.debian_suite, str(target),
        images.debian_mirror,
    ]  # fmt: skip


def security_mirror(mirror: str) -> str | None:
    """Debian's security archive beside `mirror`, when the mirror follows Debian's layout."""
    stripped = mirror.rstrip("/")
    return f"{stripped}-security" if stripped.endswith("/debian") else None


def apt_sources(images: Images, suite: str | None = None) -> str:
    """The image's apt sources (deb822): the release, its updates and its security fixes."""
    suite = suite or images.debian_suite
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
