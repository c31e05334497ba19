"""The production image as built by `invoke image.build`'s code: what is in it, and what is not."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tarfile
import tempfile
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dockyard.core.config import Config

from .support import (
    CA_SENTINEL,
    REPO,
    RUN_ID,
    BuiltImage,
    StackImages,
    build_context_copy,
    build_service_image,
    host_ca_bundle,
    logs_of,
    text_of,
    unique,
    wait_for,
)

if TYPE_CHECKING:
    import docker

pytestmark = [pytest.mark.engine, pytest.mark.image]

SECONDS = 1_000_000_000  # the engine reports healthcheck durations in nanoseconds


def run_in_image(
    client: docker.DockerClient, image: str, script: str, user: str | None = None
) -> str:
    """Run a shell script in a throwaway container of `image` and return its output."""
    container = client.containers.run(
        image, ["-c", script], entrypoint="sh", user=user, detach=True,
        labels={"dockyard.test": RUN_ID}, network_mode="none",
    )  # fmt: skip
    try:
        container.wait(timeout=60)
        return logs_of(container)
    finally:
        container.remove(force=True)


def build_steps(output: str) -> dict[str, str]:
    """BuildKit's plain progress as {step header: outcome}: {"[builder 4/6] RUN ...": "CACHED"}."""
    headers: dict[str, str] = {}
    outcome: dict[str, str] = {}
    for line in output.splitlines():
        match = re.match(r"^#(\d+) (\[.+)$", line)
        if match:
            headers.setdefault(match[1], match[2])
            continue
        match = re.match(r"^#(\d+) (CACHED|DONE [0-9.]+s|ERROR.*)$", line)
        if match:
            outcome[match[1]] = match[2]
    return {header: outcome.get(step, "") for step, header in headers.items()}


def uses_secret(output: str) -> bool:
    """Whether a RUN step printed (not merely echoed in its command line) the secret's notice."""
    return bool(re.search(r"^#\d+ [0-9.]+ CA bundle: from the build secret$", output, re.M))


def certificates(pem: str) -> set[str]:
    return set(
        re.findall(r"-----BEGIN CERTIFICATE-----\n(.+?)\n-----END CERTIFICATE-----", pem, re.S)
    )


# ---------------------------------------------------------------- metadata ---


def test_labels_name_version_revision_creation_and_source(
    service_image: BuiltImage, docker_client: docker.DockerClient
) -> None:
    labels = docker_client.images.get(service_image.tag).labels
    args = service_image.result.plan.build_args
    version = tomllib.loads((REPO / "tugboat/pyproject.toml").read_text())["project"]["version"]
    assert labels["org.opencontainers.image.title"] == "tugboat"
    assert labels["org.opencontainers.image.version"] == version == args["VERSION"]
    assert labels["org.opencontainers.image.revision"] == args["REVISION"]
    assert labels["org.opencontainers.image.source"] == "https://example.invalid/dockyard"
    created = dt.datetime.fromisoformat(labels["org.opencontainers.image.created"])
    assert created.tzinfo is not None
    assert labels["org.opencontainers.image.base.name"] == service_image.base_image


def test_it_is_tagged_by_version_revision_and_latest(service_image: BuiltImage) -> None:
    name = service_image.tag.split(":")[0]
    assert service_image.result.plan.tags == (
        service_image.tag, f"{name}:test{RUN_ID}", f"{name}:latest"
    )  # fmt: skip


def test_it_runs_as_a_fixed_non_root_user(
    service_image: BuiltImage, docker_client: docker.DockerClient
) -> None:
    config = docker_client.images.get(service_image.tag).attrs["Config"]
    assert config["User"] == "10001:10001"
    assert run_in_image(docker_client, service_image.tag, "id -u; id -g").split() == [
        "10001",
        "10001",
    ]


def test_its_healthcheck_is_explicit_and_needs_no_curl(
    service_image: BuiltImage, docker_client: docker.DockerClient
) -> None:
    check = docker_client.images.get(service_image.tag).attrs["Config"]["Healthcheck"]
    assert (check["Interval"], check["Timeout"], check["StartPeriod"], check["Retries"]) == (
        10 * SECONDS, 3 * SECONDS, 15 * SECONDS, 3
    )  # fmt: skip
    assert check["Test"][:3] == ["CMD", "python", "-c"]
    assert "urllib.request" in check["Test"][3]
    assert "/health/live" in check["Test"][3]


def test_tini_is_pid_1_and_the_healthcheck_passes_on_a_read_only_root(
    service_image: BuiltImage, docker_client: docker.DockerClient
) -> None:
    """The server starts without its dependencies: liveness never touches them."""
    container = docker_client.containers.run(
        service_image.tag,
        detach=True,
        name=unique("health"),
        labels={"dockyard.test": RUN_ID},
        environment={
            "DATABASE_URL": "postgresql://tugboat@127.0.0.1:1/none",
            "REDIS_URL": "redis://127.0.0.1:1/0",
        },
        read_only=True,
        tmpfs={"/tmp": "rw,size=16m"},
        cap_drop=["ALL"],
        security_opt=["no-new-privileges:true"],
        network_mode="bridge",
    )
    try:
        code, output = container.exec_run(["cat", "/proc/1/cmdline"])
        assert text_of(output).split("\0")[:2] == ["/usr/bin/tini", "--"]
        code, output = container.exec_run(["sh", "-c", "touch /should-fail"])
        assert code != 0  # the root filesystem is read-only

        def healthy() -> bool:
            container.reload()
            assert container.status == "running", logs_of(container)
            return bool(container.attrs["State"]["Health"]["Status"] == "healthy")

        wait_for("the image's healthcheck to pass", healthy, timeout=45, interval=1)
    finally:
        container.remove(force=True)


# ------------------------------------------------------------ what is not in it ---


def test_no_compiler_package_manager_cache_or_installer_is_left(
    service_image: BuiltImage, docker_client: docker.DockerClient
) -> None:
    found = run_in_image(
        docker_client,
        service_image.tag,
        "for tool in gcc cc c++ g++ make uv pip pip3; do command -v $tool; done;"
        " ls -d /root/.cache /root/.cache/pip /root/.cache/uv /opt/uv /src 2>/dev/null;"
        " find / -xdev \\( -name '*.whl' -path '*cache*' -o -type d -name pip -path '*cache*' \\)"
        " 2>/dev/null; echo END",
        user="0",
    )
    assert found.split() == ["END"]


def test_no_layer_keeps_the_ca_bundle_secret(
    service_image: BuiltImage, docker_client: docker.DockerClient
) -> None:
    """SEC-05: no layer holds the secret's sentinel line or a certificate only it carries."""
    image_bundle = run_in_image(
        docker_client, service_image.tag, "cat /etc/ssl/certs/ca-certificates.crt"
    )
    only_in_secret = certificates(host_ca_bundle().read_text()) - certificates(image_bundle)
    needles = [CA_SENTINEL.encode(), *(cert.splitlines()[0].encode() for cert in only_in_secret)]
    image = docker_client.images.get(service_image.tag)
    with tempfile.TemporaryFile() as archive:
        for chunk in image.save(named=False):
            archive.write(chunk)
        archive.seek(0)
        with tarfile.open(fileobj=archive) as outer:
            layers = [m for m in outer.getmembers() if m.name.endswith(".tar")]
            assert layers
            for layer in layers:
                extracted = outer.extractfile(layer)
                assert extracted is not None
                with tarfile.open(fileobj=io.BytesIO(extracted.read())) as inner:
                    for member in inner.getmembers():
                        assert member.name.rstrip("/") != "run/secrets/ca" or member.size == 0
                        if not member.isfile():
                            continue
                        content = inner.extractfile(member)
                        assert content is not None
                        data = content.read()
                        for needle in needles:
                            assert needle not in data, f"{member.name} in a layer holds the CA"
    history = " ".join(str(step.get("CreatedBy", "")) for step in image.history())
    assert CA_SENTINEL not in history


def test_the_ca_secret_reaches_the_steps_that_download(
    stack_images: StackImages, service_image: BuiltImage
) -> None:
    """With the secret the installer stage says it uses it and succeeds; without it, nothing
    says so, and behind a TLS-intercepting proxy (as on the build machines) the download
    fails on the certificate."""
    from dockyard.core.errors import CommandFailedError
    from dockyard.image.build import BuildPlan, run_build

    def uv_stage(secrets: dict[str, Path]) -> BuildPlan:
        return BuildPlan(
            dockerfile=REPO / "Dockerfile.production",
            context=REPO,
            tags=(f"dyt-uv-stage-{RUN_ID}:latest",),
            build_args={"BASE_IMAGE": stack_images.python},
            secrets=secrets,
            no_cache=True,
            target="uv",
        )

    try:
        with_secret = run_build(uv_stage({"ca": service_image.ca_bundle}), dict(os.environ))
        assert uses_secret(with_secret.output)
        try:
            bare, failed = run_build(uv_stage({}), dict(os.environ)).output, False
        except CommandFailedError as error:
            bare, failed = str(error), True
        assert not uses_secret(bare)
        if failed:  # the build's own diagnosis of the failure
            assert "TLS is intercepted and no CA bundle was found" in bare
    finally:
        docker_client_remove(f"dyt-uv-stage-{RUN_ID}:latest")


def docker_client_remove(tag: str) -> None:
    import docker
    from docker.errors import ImageNotFound

    client = docker.from_env()
    try:
        client.images.remove(tag, noprune=True)
    except ImageNotFound:
        pass
    finally:
        client.close()


def test_a_code_only_change_reuses_the_dependency_layer(
    repo_config: Config, service_image: BuiltImage, tmp_path: Path
) -> None:
    """I2: after one changed line of service code, the locked dependency install is CACHED
    and only the service itself is installed again."""
    context = build_context_copy(tmp_path / "context")
    config = replace(repo_config, root=context)
    name = f"dyt-rebuild-{RUN_ID}"
    first = build_service_image(
        config, service_image.base_image, service_image.ca_bundle, name=name
    )
    module = context / "tugboat/src/tugboat/__init__.py"
    module.write_text(module.read_text() + f"\nREBUILT = {RUN_ID!r}\n")
    second = build_service_image(
        config, service_image.base_image, service_image.ca_bundle, name=name
    )
    try:
        steps = build_steps(second.output)
        dependencies = [h for h in steps if "--no-install-workspace" in h]
        service = [h for h in steps if "--no-editable" in h]
        copy_code = [h for h in steps if re.search(r"COPY tugboat/ tugboat/", h)]
        assert len(dependencies) == len(service) == len(copy_code) == 1, steps
        assert steps[dependencies[0]] == "CACHED"
        assert steps[copy_code[0]].startswith("DONE")
        assert steps[service[0]].startswith("DONE")
        assert first.image_id != second.image_id
    finally:
        for tag in {*first.plan.tags, *second.plan.tags}:
            docker_client_remove(tag)


def test_the_build_command_tags_the_image_and_reports_its_size(
    repo_config: Config,
    stack_images: StackImages,
    docker_client: docker.DockerClient,
    tmp_path: Path,
) -> None:
    """`invoke image.build` end to end, on a copy of the project that is not a git checkout."""
    from dockyard.core.console import make_console
    from dockyard.core.invocation import Invocation
    from dockyard.image.commands import build

    name = f"dyt-command-{RUN_ID}"
    config = replace(repo_config, root=build_context_copy(tmp_path / "project"), image=name)
    output = io.StringIO()
    environ = {**os.environ, "SSL_CERT_FILE": str(host_ca_bundle())}
    invocation = Invocation(config, environ, make_console(output))
    try:
        assert build(invocation, base=stack_images.python) == 0
        text = output.getvalue()
        assert "not a git checkout: the image gets no revision tag" in text
        assert "(CA bundle as a build secret)" in text
        assert f"  {name}:0.1.0\n  {name}:latest\n" in text
        assert re.search(r"size \d+\.\d MB \(budget 200 MB\)", text)
        image = docker_client.images.get(f"{name}:latest")
        assert image.labels["org.opencontainers.image.revision"] == "unknown"
        assert set(image.tags) == {f"{name}:0.1.0", f"{name}:latest"}
    finally:
        for tag in (f"{name}:0.1.0", f"{name}:latest"):
            docker_client_remove(tag)
