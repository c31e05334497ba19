"""`invoke image.build`'s decisions: tags, build arguments, base image, CA secret, command line."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from dockyard.core.config import Config, parse_config
from dockyard.core.errors import ConfigError, MissingFileError
from dockyard.image.build import (
    Facts,
    choose_base,
    created_timestamp,
    find_ca_bundle,
    gather,
    plan_build,
    tag_safe,
)
from dockyard.image.facts import Revision, public_url, read_revision, read_uv_version, read_version

REPO = Path(__file__).resolve().parents[3]


def project(root: Path, **table: object) -> Config:
    return parse_config({"project": "shipyard", "image": "acme/shipyard", **table}, root=root)


def facts(**changes: object) -> Facts:
    base = Facts(
        version="1.4.0",
        revision=Revision(sha="abc123def456", dirty=False, committed_at=1_700_000_000),
        base_image="python:3.11-slim-bookworm",
        created="2023-11-14T22:13:20Z",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_an_image_is_tagged_by_version_revision_and_latest(tmp_path: Path) -> None:
    plan = plan_build(project(tmp_path), facts())
    assert plan.tags == (
        "acme/shipyard:1.4.0",
        "acme/shipyard:abc123def456",
        "acme/shipyard:latest",
    )
    assert plan.warnings == ()


def test_uncommitted_changes_mark_the_revision_tag_dirty_and_warn(tmp_path: Path) -> None:
    plan = plan_build(project(tmp_path), facts(revision=Revision("abc123def456", dirty=True)))
    assert plan.tags[1] == "acme/shipyard:abc123def456-dirty"
    assert plan.build_args["REVISION"] == "abc123def456-dirty"
    assert any("uncommitted changes" in warning for warning in plan.warnings)


def test_outside_git_there_is_no_revision_tag(tmp_path: Path) -> None:
    plan = plan_build(project(tmp_path), facts(revision=Revision(sha=None)))
    assert plan.tags == ("acme/shipyard:1.4.0", "acme/shipyard:latest")
    assert plan.build_args["REVISION"] == "unknown"
    assert plan.warnings == ("not a git checkout: the image gets no revision tag",)


def test_the_command_line_carries_arguments_and_the_ca_secret(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    plan = plan_build(
        project(tmp_path, dockerfile="deploy/Dockerfile"),
        facts(uv_version="0.13.9", source="https://git.example/acme/shipyard", ca_bundle=bundle),
    )
    assert plan.command() == [
        "docker", "build", "--progress=plain", "--file", str(tmp_path / "deploy/Dockerfile"),
        "--tag", "acme/shipyard:1.4.0", "--tag", "acme/shipyard:abc123def456",
        "--tag", "acme/shipyard:latest",
        "--build-arg", "BASE_IMAGE=python:3.11-slim-bookworm",
        "--build-arg", "VERSION=1.4.0",
        "--build-arg", "REVISION=abc123def456",
        "--build-arg", "CREATED=2023-11-14T22:13:20Z",
        "--build-arg", "UV_VERSION=0.13.9",
        "--build-arg", "SOURCE=https://git.example/acme/shipyard",
        "--label", "org.opencontainers.image.version=1.4.0",
        "--label", "org.opencontainers.image.revision=abc123def456",
        "--label", "org.opencontainers.image.created=2023-11-14T22:13:20Z",
        "--label", "org.opencontainers.image.source=https://git.example/acme/shipyard",
        "--label", "org.opencontainers.image.title=acme/shipyard",
        "--label", "org.opencontainers.image.base.name=python:3.11-slim-bookworm",
        *[
            part
            for key in (
                "description", "url", "documentation", "authors", "vendor",
                "licenses", "ref.name", "base.digest",
            )
            for part in ("--label", f"org.opencontainers.image.{key}=")
        ],
        "--secret", f"id=ca,src={bundle}",
        str(tmp_path),
    ]  # fmt: skip
    assert "--no-cache" in plan_build(project(tmp_path), facts(), no_cache=True).command()


def test_dockyard_stamps_every_oci_label_itself_so_none_is_inherited(tmp_path: Path) -> None:
    command = plan_build(
        project(tmp_path), facts(revision=Revision("abc123def456", dirty=True))
    ).command()
    labels = dict(
        command[i + 1].split("=", 1) for i, part in enumerate(command) if part == "--label"
    )
    assert labels == {
        "org.opencontainers.image.version": "1.4.0",
        "org.opencontainers.image.revision": "abc123def456-dirty",
        "org.opencontainers.image.created": "2023-11-14T22:13:20Z",
        # No known remote: stamped empty, so a base image's source never passes for the service's.
        "org.opencontainers.image.source": "",
        "org.opencontainers.image.base.name": facts().base_image,
        "org.opencontainers.image.title": "acme/shipyard",  # the image's own name
        # every other key of the OCI spec, empty: a stand-in's description is not the service's
        **{
            f"org.opencontainers.image.{key}": ""
            for key in (
                "description", "url", "documentation", "authors", "vendor",
                "licenses", "ref.name", "base.digest",
            )
        },
    }  # fmt: skip


def test_the_base_image_is_the_option_else_the_local_stand_in_else_the_official(
    tmp_path: Path,
) -> None:
    config = project(tmp_path)
    local = {"PYTHON_IMAGE": "dockyard-base/python:3.11-bookworm"}
    assert choose_base(config, "corp/python:3.11", local) == "corp/python:3.11"
    assert choose_base(config, None, local) == "dockyard-base/python:3.11-bookworm"
    assert choose_base(config, None, {}) == "python:3.11-slim-bookworm"


def test_the_ca_bundle_is_the_first_named_file(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.crt"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    found, warnings = find_ca_bundle(
        {"SSL_CERT_FILE": str(tmp_path / "gone.crt"), "PIP_CERT": str(bundle)}
    )
    assert found == bundle
    assert warnings == [
        f"SSL_CERT_FILE={tmp_path / 'gone.crt'} is not a file: not passed to the build"
    ]
    assert find_ca_bundle({}) == (None, [])


def test_created_is_reproducible_for_a_clean_commit() -> None:
    now = dt.datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
    clean = Revision("abc", dirty=False, committed_at=1_700_000_000)
    assert created_timestamp({}, clean, now) == "2023-11-14T22:13:20Z"
    assert created_timestamp({"SOURCE_DATE_EPOCH": "0"}, clean, now) == "1970-01-01T00:00:00Z"
    assert created_timestamp({}, replace(clean, dirty=True), now) == "2030-01-01T12:00:00Z"


def test_versions_become_valid_tags() -> None:
    assert tag_safe("1.2.0+local.3") == "1.2.0-local.3"
    with pytest.raises(ConfigError):
        tag_safe("." * 200)


def test_remote_credentials_never_reach_a_label() -> None:
    token = f"ghp_{secrets.token_hex(8)}"
    assert public_url(f"https://ci:{token}@github.com/acme/shipyard.git") == (
        "https://github.com/acme/shipyard.git"
    )
    assert public_url("git@github.com:acme/shipyard.git") == "github.com:acme/shipyard.git"


def test_the_version_comes_from_the_service_pyproject(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/pyproject.toml").write_text('[project]\nname = "svc"\nversion = "2.0.1"\n')
    assert read_version(project(tmp_path, service_pyproject="svc/pyproject.toml")) == "2.0.1"
    with pytest.raises(MissingFileError, match=r"nowhere/pyproject\.toml: not found"):
        read_version(project(tmp_path, service_pyproject="nowhere/pyproject.toml"))
    (tmp_path / "svc/pyproject.toml").write_text('[project]\nname = "svc"\ndynamic = ["version"]\n')
    with pytest.raises(ConfigError, match="expected a static version string"):
        read_version(project(tmp_path, service_pyproject="svc/pyproject.toml"))


def test_a_missing_dockerfile_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError) as caught:
        gather(project(tmp_path), {"PATH": "/usr/bin:/bin"})
    assert str(caught.value).startswith("Dockerfile.production: not found")
    assert caught.value.exit_code == 4


def test_the_dockerfile_installs_the_uv_that_wrote_the_lock(repo_config: Config) -> None:
    pinned = read_uv_version(repo_config)
    dockerfile = (REPO / repo_config.dockerfile).read_text()
    match = re.search(r"^ARG UV_VERSION=(\S+)$", dockerfile, re.M)
    assert match is not None
    assert pinned == match[1]


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True,
        env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin",
             "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"},
    )  # fmt: skip


def test_only_changes_to_the_image_inputs_make_it_dirty(tmp_path: Path) -> None:
    config = project(tmp_path, service_pyproject="svc/pyproject.toml")
    (tmp_path / "svc").mkdir()
    for name in (
        "Dockerfile.production",
        "uv.lock",
        "pyproject.toml",
        "svc/pyproject.toml",
        "README.md",
    ):
        (tmp_path / name).write_text("x\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "init")
    environ = {"PATH": "/usr/bin:/bin"}
    clean = read_revision(config, environ)
    assert clean.sha is not None
    assert len(clean.sha) == 12
    assert not clean.dirty
    assert clean.committed_at is not None
    (tmp_path / "README.md").write_text("docs only\n")
    assert not read_revision(config, environ).dirty
    (tmp_path / "svc/app.py").write_text("print('new')\n")
    assert read_revision(config, environ).dirty
    assert read_revision(project(tmp_path / "svc"), environ).sha is not None
    assert read_revision(project(Path("/")), environ) == Revision(sha=None)
