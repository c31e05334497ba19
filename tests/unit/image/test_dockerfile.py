"""What a build learns from its Dockerfile: the images it really starts FROM, and the RUN lines
that download without the CA bundle's secret when TLS is intercepted."""

from __future__ import annotations

import pytest

from dockyard.image.dockerfile import (
    base_uses,
    built_on,
    fetch_tools,
    fetching_runs_without_secret,
    tls_cause,
    tls_failed,
    uses_argument,
)

SERVICE = """\
# syntax-free, as the build machines need
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE} AS builder
RUN --mount=type=cache,target=/root/.cache/pip \\
    --mount=type=secret,id=ca,required=false \\
    PIP_CERT=/run/secrets/ca pip install --no-cache-dir uv
RUN apt-get update && apt-get install --yes --no-install-recommends curl git
FROM builder AS test
FROM ${BASE_IMAGE}
RUN python3 -m venv /venv \\
    # the service's dependencies
    && /venv/bin/pip install -r requirements.txt
RUN --mount=id=ca,type=secret curl -fsSL https://example.invalid/x -o /x
RUN curl --version
RUN set -eux; git clone https://example.invalid/r.git /r; uv sync --locked
"""


def test_each_from_line_is_resolved_with_the_build_arguments_given() -> None:
    """The build argument overrides the ARG's default; a stage is told apart from an image."""
    uses = base_uses(SERVICE, {"BASE_IMAGE": "dockyard-base/python:3.13-trixie"})
    assert [(u.line, u.image, u.stage, u.external) for u in uses] == [
        (3, "dockyard-base/python:3.13-trixie", "builder", True),
        (8, "builder", "test", False),
        (9, "dockyard-base/python:3.13-trixie", "", True),
    ]
    assert base_uses(SERVICE, {})[0].image == "python:3.11-slim-bookworm"


def test_a_from_line_that_ignores_the_base_argument_is_reported_as_written() -> None:
    """A Dockerfile with a hard-coded FROM does not use BASE_IMAGE, whatever is passed."""
    text = "ARG BASE_IMAGE=python:3.11\nFROM python:3.13-slim AS app\nFROM scratch\n"
    assert not uses_argument(text, "BASE_IMAGE")
    assert uses_argument(SERVICE, "BASE_IMAGE")
    uses = base_uses(text, {"BASE_IMAGE": "dockyard-base/python:3.11-bookworm"})
    assert [(u.image, u.external) for u in uses] == [("python:3.13-slim", True), ("scratch", False)]


def test_an_argument_without_a_value_is_named_as_unresolved() -> None:
    """`FROM ${PY}` with no default and no build argument cannot be resolved."""
    (use,) = base_uses("ARG PY\nFROM ${PY}\n", {})
    assert use.unresolved == ("PY",)


@pytest.mark.parametrize(
    ("command", "tools"),
    [
        ("pip install requests", ("pip",)),
        ("/venv/bin/pip3.13 install -r r.txt", ("pip",)),
        ("python3 -m pip install .", ("pip",)),
        ("PIP_CERT=/run/secrets/ca uv pip install x && uv sync --locked", ("uv",)),
        ("poetry install --no-root", ("poetry",)),
        ("curl -fsSL https://x -o y | sh", ("curl",)),
        ("sudo wget -q https://x", ("wget",)),
        ("git -C /src clone https://x", ("git",)),
        ("apt-get install --yes curl git wget", ()),
        ("pip --version && python3 -c 'import pip'", ()),
        ("git config --global user.name x", ()),
        ("curl --version", ()),
    ],
)
def test_downloading_programs_are_found_by_program_and_subcommand(
    command: str, tools: tuple[str, ...]
) -> None:
    assert fetch_tools(command) == tools


def test_the_runs_that_fetch_without_the_secret_are_named_by_line() -> None:
    """Mounting the secret by its id (in any option order) clears a RUN; others are named."""
    runs = fetching_runs_without_secret(SERVICE, "ca")
    assert [(run.line, run.tools) for run in runs] == [
        (10, ("pip",)),
        (15, ("git", "uv")),
    ]
    assert runs[0].text.startswith("RUN python3 -m venv /venv && /venv/bin/pip install")
    assert fetching_runs_without_secret(SERVICE, "other-id")[0].line == 4


def test_a_tls_failure_names_each_run_to_fix_and_how() -> None:
    """With a bundle detected, the cause is the RUN lines, not a missing SSL_CERT_FILE."""
    found = tls_cause(SERVICE, "Dockerfile", "ca", "/etc/ssl/certs/ca-certificates.crt")
    assert "Dockerfile:10 (pip)" in found.cause
    assert "Dockerfile:15 (git, uv)" in found.cause
    assert "SSL_CERT_FILE" not in found.cause
    assert "--mount=type=secret,id=ca,target=/run/secrets/ca" in found.hint
    assert "PIP_CERT=/run/secrets/ca" in found.hint
    assert "GIT_SSL_CAINFO=/run/secrets/ca" in found.hint


def test_without_a_bundle_the_cause_is_the_missing_bundle() -> None:
    found = tls_cause(SERVICE, "Dockerfile", "ca", None)
    assert "no CA bundle" in found.cause
    assert "SSL_CERT_FILE" in found.hint
    assert found.runs == ()


def test_when_every_fetching_run_mounts_the_secret_the_tool_must_be_pointed_at_it() -> None:
    text = "FROM x\nRUN --mount=type=secret,id=ca pip install y\n"
    found = tls_cause(text, "Dockerfile", "ca", "/b.crt")
    assert found.runs == ()
    assert "every fetching RUN" in found.cause
    assert "PIP_CERT" in found.hint


@pytest.mark.parametrize(
    "output",
    [
        "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] ...'))",
        "curl: (60) SSL certificate problem: unable to get local issuer certificate",
        "error: invalid peer certificate: UnknownIssuer",
        "fatal: unable to access 'https://x/': server certificate verification failed.",
    ],
)
def test_refused_certificates_are_recognised_in_build_output(output: str) -> None:
    assert tls_failed(output)


def test_other_failures_are_not_taken_for_tls() -> None:
    assert not tls_failed("ERROR: No matching distribution found for nothing-such==1")


STAND_IN = "dockyard-base/python:3.11-bookworm"


def test_a_dockerfile_on_the_base_argument_is_built_on_the_image_passed() -> None:
    """The stand-in passed as BASE_IMAGE is what the image is built on; nothing to warn."""
    found = built_on(SERVICE, "Dockerfile", {"BASE_IMAGE": STAND_IN}, "BASE_IMAGE", {STAND_IN})
    assert found.images == (STAND_IN,)
    assert found.uses_base_argument
    assert found.warnings == ()


def test_a_dockerfile_that_ignores_the_base_argument_does_not_claim_the_stand_in() -> None:
    """It reports the FROM line really used, and that it cannot be pulled offline."""
    text = "ARG BASE_IMAGE\nFROM python:3.13-slim\nRUN true\n"
    found = built_on(text, "Dockerfile", {"BASE_IMAGE": STAND_IN}, "BASE_IMAGE", set())
    assert found.images == ("python:3.13-slim",)
    assert not found.uses_base_argument
    ignored, missing = found.warnings
    assert f"{STAND_IN} is not used" in ignored
    assert "python:3.13-slim (Dockerfile:2)" in ignored
    assert missing.startswith("Dockerfile:2: FROM python:3.13-slim is not in the engine")
    assert "no registry" in missing


def test_an_image_the_engine_has_is_not_warned_about() -> None:
    text = "FROM python:3.13-slim\n"
    found = built_on(text, "Dockerfile", {}, "BASE_IMAGE", {"python:3.13-slim"})
    assert [w for w in found.warnings if "not in the engine" in w] == []
