"""Planning the offline base images: names, build arguments, command lines, overrides, rebuilds."""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from pathlib import Path

import pytest

from dockyard.core.config import Config, Images
from dockyard.core.errors import ConfigError, MissingFileError, UnreadableFileError
from dockyard.core.packagedata import data_path
from dockyard.image.base.debian import (
    apt_sources,
    debootstrap_command,
    import_command,
    security_mirror,
    trimmed,
)
from dockyard.image.base.plan import (
    DOCKERFILE_LABEL,
    FINGERPRINT_LABEL,
    BaseImage,
    build_command,
    buildkit_environ,
    decide,
    dockerfile_path,
    local_names,
    local_overrides,
    official_images,
    plan_base_images,
    read_overrides,
)
from dockyard.image.overrides import parse_overrides, render_overrides, write_overrides

REPO = Path(__file__).resolve().parents[4]
CREATED = "2026-01-02T03:04:05Z"


@pytest.fixture
def project(tmp_path: Path) -> Config:
    """A project with its own copy of the shipped base image contexts ([images] base_dir)."""
    shutil.copytree(data_path("base"), tmp_path / "docker/contexts", symlinks=True)
    return Config(
        root=tmp_path, project="demo", image="demo", images=Images(base_dir="docker/contexts")
    )


def by_key(config: Config) -> dict[str, BaseImage]:
    return {item.key: item for item in plan_base_images(config, CREATED)}


def test_local_images_are_named_after_debian_bookworms_versions(project: Config) -> None:
    """PostgreSQL is 15 (what bookworm ships), not the official default 16."""
    assert local_names(project) == {
        "debian": "dockyard-base/debian:bookworm",
        "python": "dockyard-base/python:3.11-bookworm",
        "postgres": "dockyard-base/postgres:15-bookworm",
        "redis": "dockyard-base/redis:7-bookworm",
        "nginx": "dockyard-base/nginx:1.22-bookworm",
        "registry": "dockyard-base/registry:2.8-bookworm",
    }


def test_the_prefix_comes_from_the_configuration(project: Config) -> None:
    config = dataclasses.replace(project, images=Images(local_prefix="registry.local/base"))
    assert local_names(config)["redis"] == "registry.local/base/redis:7-bookworm"


def test_an_unknown_suite_is_a_configuration_error(project: Config) -> None:
    config = dataclasses.replace(project, images=Images(debian_suite="sid"))
    with pytest.raises(ConfigError, match="debian_suite: 'sid' has no base images"):
        local_names(config)


def test_overrides_map_the_stack_variables_to_the_local_images(project: Config) -> None:
    assert local_overrides(project) == {
        "PYTHON_IMAGE": "dockyard-base/python:3.11-bookworm",
        "POSTGRES_IMAGE": "dockyard-base/postgres:15-bookworm",
        "REDIS_IMAGE": "dockyard-base/redis:7-bookworm",
        "PROXY_IMAGE": "dockyard-base/nginx:1.22-bookworm",
    }


def test_the_defaults_stay_the_official_images(project: Config) -> None:
    assert official_images(project) == {
        "PYTHON_IMAGE": "python:3.11-slim-bookworm",
        "POSTGRES_IMAGE": "postgres:16-bookworm",
        "REDIS_IMAGE": "redis:7-bookworm",
        "PROXY_IMAGE": "nginxinc/nginx-unprivileged:1.27-bookworm",
    }


def test_the_plan_builds_parents_first_and_everything_from_the_debian_base(
    project: Config,
) -> None:
    plan = plan_base_images(project, CREATED)
    keys = ["debian", "python", "postgres", "redis", "nginx", "registry"]
    assert [item.key for item in plan] == keys
    assert plan[0].imported
    assert plan[0].parent is None
    assert {item.parent for item in plan[1:]} == {"dockyard-base/debian:bookworm"}
    assert plan[2].replaces == "postgres:16-bookworm"
    assert plan[4].override == "PROXY_IMAGE"
    assert (plan[5].override, plan[5].replaces) == (None, None)  # not a stack image


def test_build_arguments_name_the_base_the_version_and_the_oci_metadata(project: Config) -> None:
    postgres = by_key(project)["postgres"]
    assert dict(postgres.build_args) == {
        "BASE": "dockyard-base/debian:bookworm",
        "PG_MAJOR": "15",
        "VERSION": "15",
        "SOURCE": "docker/contexts/postgres",
        "CREATED": CREATED,
    }


def test_the_build_command_uses_the_context_the_tag_args_and_labels(project: Config) -> None:
    redis = by_key(project)["redis"]
    command = build_command(redis)
    assert command[:3] == ["docker", "build", "--progress=plain"]
    context = project.root / "docker/contexts/redis"
    assert command[-1] == str(context)
    assert command[command.index("--file") + 1] == str(context / "Dockerfile")
    assert command[command.index("--tag") + 1] == "dockyard-base/redis:7-bookworm"
    pairs = list(itertools.pairwise(command))
    assert ("--build-arg", "BASE=dockyard-base/debian:bookworm") in pairs
    assert ("--build-arg", "REDIS_MAJOR=7") in pairs
    assert ("--label", f"{FINGERPRINT_LABEL}={redis.fingerprint}") in pairs
    assert ("--label", f"{DOCKERFILE_LABEL}=docker/contexts/redis/Dockerfile") in pairs


def test_builds_run_with_buildkit_in_the_callers_environment() -> None:
    assert buildkit_environ({"PATH": "/bin", "DOCKER_BUILDKIT": "0"}) == {
        "PATH": "/bin",
        "DOCKER_BUILDKIT": "1",
    }


def test_the_debian_base_is_debootstrapped_from_the_configured_mirror(project: Config) -> None:
    images = Images(debian_mirror="http://mirror.example/debian")
    assert debootstrap_command(images, Path("/tmp/x")) == [
        "debootstrap", "--variant=minbase", "bookworm", "/tmp/x", "http://mirror.example/debian",
    ]  # fmt: skip


def test_the_debian_base_is_imported_with_its_environment_command_and_labels(
    project: Config,
) -> None:
    debian = by_key(project)["debian"]
    command = import_command(debian, Path("/tmp/rootfs.tar"))
    assert command[:2] == ["docker", "import"]
    assert command[-2:] == ["/tmp/rootfs.tar", "dockyard-base/debian:bookworm"]
    changes = [command[i + 1] for i, part in enumerate(command) if part == "--change"]
    assert "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in changes
    assert 'CMD ["bash"]' in changes
    assert f'LABEL {FINGERPRINT_LABEL}="{debian.fingerprint}"' in changes
    assert f'LABEL org.opencontainers.image.created="{CREATED}"' in changes
    assert 'LABEL dev.dockyard.base.release="12"' in changes
    # An image built FROM a base would inherit it as its own version.
    assert not any("org.opencontainers.image.version" in change for change in changes)


def test_apt_sources_include_updates_and_security_beside_a_debian_mirror() -> None:
    sources = apt_sources(Images())
    assert "URIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n" in sources
    assert "URIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n" in sources
    assert security_mirror("http://apt.example/mirror") is None


@pytest.mark.parametrize(
    ("path", "removed"),
    [
        ("usr/share/doc/bash/README.gz", True),
        ("usr/share/doc/bash/copyright", False),
        ("usr/share/man/man1/ls.1.gz", True),
        ("usr/share/locale/de/LC_MESSAGES/dpkg.mo", True),
        ("usr/share/locale/locale.alias", False),
        ("usr/lib/locale/C.utf8/LC_CTYPE", False),
        ("usr/lib/locale/de_DE.utf8/LC_CTYPE", True),
        ("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", True),
        ("var/lib/apt/lists/partial", False),
        ("var/cache/apt/archives/bash_5.2.15-2+b13_amd64.deb", True),
        ("var/cache/apt/archives/partial", False),
        ("var/cache/debconf/config.dat", False),
        ("var/cache/debconf/config.dat-old", True),
        ("etc/resolv.conf", True),
        ("usr/bin/bash", False),
    ],
)
def test_trimming_removes_docs_translations_and_caches_but_not_licences(
    path: str, removed: bool
) -> None:
    assert trimmed(path) is removed


def test_an_image_not_built_yet_is_built(project: Config) -> None:
    decision = decide(by_key(project)["redis"], None, rebuild=False)
    assert decision.build
    assert decision.reason == "not built yet"


def test_an_image_whose_fingerprint_matches_is_skipped(project: Config) -> None:
    redis = by_key(project)["redis"]
    decision = decide(redis, {FINGERPRINT_LABEL: redis.fingerprint}, rebuild=False)
    assert not decision.build
    assert decision.reason.startswith("up to date")


def test_rebuild_builds_even_an_up_to_date_image(project: Config) -> None:
    redis = by_key(project)["redis"]
    assert decide(redis, {FINGERPRINT_LABEL: redis.fingerprint}, rebuild=True).build


def test_an_image_without_the_label_is_rebuilt(project: Config) -> None:
    assert decide(by_key(project)["redis"], {"other": "label"}, rebuild=False).build


def test_a_changed_dockerfile_changes_that_image_and_nothing_else(project: Config) -> None:
    before = by_key(project)
    dockerfile = project.root / "docker/contexts/redis/Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "\n# changed\n")
    after = by_key(project)
    assert after["redis"].fingerprint != before["redis"].fingerprint
    assert after["postgres"].fingerprint == before["postgres"].fingerprint
    labels = {FINGERPRINT_LABEL: before["redis"].fingerprint}
    assert decide(after["redis"], labels, rebuild=False).reason.startswith("changed since")


def test_a_changed_debian_base_changes_every_image_built_on_it(project: Config) -> None:
    before = by_key(project)
    excludes = project.root / "docker/contexts/debian/rootfs/etc/dpkg/dpkg.cfg.d/dockyard-excludes"
    excludes.write_text(excludes.read_text() + "path-exclude /usr/share/bug/*\n")
    after = by_key(project)
    assert all(after[key].fingerprint != before[key].fingerprint for key in before)


def test_another_mirror_changes_every_fingerprint(project: Config) -> None:
    other = dataclasses.replace(
        project,
        images=dataclasses.replace(project.images, debian_mirror="http://mirror.example/debian"),
    )
    before, after = by_key(project), by_key(other)
    assert all(after[key].fingerprint != before[key].fingerprint for key in before)


def test_the_creation_time_does_not_change_the_fingerprint(project: Config) -> None:
    later = {item.key: item for item in plan_base_images(project, "2030-01-01T00:00:00Z")}
    assert {k: v.fingerprint for k, v in later.items()} == {
        k: v.fingerprint for k, v in by_key(project).items()
    }


def test_without_base_dir_the_shipped_contexts_are_built_under_their_stable_name(
    tmp_path: Path,
) -> None:
    """A project with no contexts of its own builds the ones in dockyard's package; labels and
    fingerprints name them as before, so images built earlier stay current."""
    config = Config(root=tmp_path, project="demo", image="demo")
    redis = by_key(config)["redis"]
    assert Path(redis.context) == data_path("base", "redis")
    assert Path(redis.dockerfile).is_file()
    assert dict(redis.build_args)["SOURCE"] == "docker/base/redis"
    assert redis.labels()[DOCKERFILE_LABEL] == "docker/base/redis/Dockerfile"
    assert dockerfile_path(config, "docker/base/redis/Dockerfile") == redis.dockerfile
    assert dockerfile_path(config, "Dockerfile.production") == "Dockerfile.production"


def test_a_missing_build_context_says_how_to_restore_it(project: Config) -> None:
    shutil.rmtree(project.root / "docker/contexts/nginx")
    with pytest.raises(MissingFileError, match="docker/contexts/nginx: build context not found"):
        plan_base_images(project, CREATED)


def test_overrides_round_trip_through_the_state_file(project: Config) -> None:
    """What image.base records is what the stack reads back."""
    assert read_overrides(project) == {}
    path = write_overrides(project, local_overrides(project))
    assert path == project.root / ".dockyard/images.env"
    assert read_overrides(project) == local_overrides(project)


def test_the_state_file_is_key_value_lines_under_a_comment() -> None:
    text = render_overrides({"REDIS_IMAGE": "a/redis:7", "PYTHON_IMAGE": "a/python:3.11"})
    assert text.splitlines()[-2:] == ["PYTHON_IMAGE=a/python:3.11", "REDIS_IMAGE=a/redis:7"]
    assert text.startswith("# ")


def test_a_damaged_state_file_names_the_line_and_the_fix() -> None:
    with pytest.raises(UnreadableFileError, match=r"images.env:3: expected KEY=IMAGE") as error:
        parse_overrides("# comment\n\nnot a line\nREDIS_IMAGE=x/redis:7\n", ".dockyard/images.env")
    assert "image.base" in str(error.value)


def test_no_base_dockerfile_sets_an_oci_version_for_its_images_to_inherit() -> None:
    dockerfiles = sorted(data_path("base").glob("*/Dockerfile"))
    assert len(dockerfiles) >= 4
    for dockerfile in dockerfiles:
        assert "org.opencontainers.image.version" not in dockerfile.read_text(encoding="utf-8")
