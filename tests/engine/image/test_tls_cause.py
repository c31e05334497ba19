"""A build whose `pip install` cannot verify PyPI's certificate (TLS is intercepted here) fails
with a message naming that RUN line, not a hint to set a variable that is already set."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dockyard.core.config import parse_config
from dockyard.core.errors import CommandFailedError
from dockyard.image.build import CA_SECRET_ID, Facts, find_ca_bundle, plan_build, run_build
from dockyard.image.facts import Revision

from ..stacks import ENVIRON

if TYPE_CHECKING:
    import docker

pytestmark = [pytest.mark.engine, pytest.mark.image]

# The bundle is passed as a secret, but line 3 does not mount it.
DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN python3 -m venv /venv && /venv/bin/pip install --retries 0 --timeout 30 --no-cache-dir six
"""


def test_a_pip_install_without_the_ca_secret_is_named_by_its_line(
    docker_client: docker.DockerClient, stack_ready_images: dict[str, str], tmp_path: Path
) -> None:
    # Any bundle will do: the RUN line does not mount it, so pip never sees it.
    bundle = find_ca_bundle(ENVIRON)[0] or Path("/etc/ssl/certs/ca-certificates.crt")
    (tmp_path / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    name = f"dockyard-test/tls-{uuid.uuid4().hex[:12]}"
    config = parse_config(
        {"project": "tls", "image": name, "dockerfile": "Dockerfile", "build_context": "."},
        root=tmp_path,
    )
    facts = Facts(
        version="1.0.0",
        revision=Revision(sha=None),
        base_image=stack_ready_images.get("PYTHON_IMAGE") or config.images.python,
        created="2026-01-02T03:04:05Z",
        ca_bundle=bundle,
    )
    plan = plan_build(config, facts, no_cache=True)
    assert plan.secrets == {CA_SECRET_ID: bundle}
    with pytest.raises(CommandFailedError) as raised:
        run_build(plan, ENVIRON, timeout=600)
    first_line = raised.value.message.splitlines()[0]
    assert "Dockerfile:3 (pip) RUN python3 -m venv /venv && /venv/bin/pip install" in first_line
    assert f"the CA bundle {bundle} went to the build" in first_line
    hint = raised.value.hint or ""
    assert "--mount=type=secret,id=ca,target=/run/secrets/ca" in hint
    assert "PIP_CERT=/run/secrets/ca" in hint
    assert "set SSL_CERT_FILE" not in hint
