"""`invoke image.scan`: an image's size against the budget, what is installed in it, and the lint
of the Dockerfile it came from.

The package lists are an inventory read from inside the image (dpkg for Debian packages, the
image's own python3 for Python distributions); checking them against advisories is the audit
gate's job and needs advisory data this scan does not fetch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from dockyard.core import proc
from dockyard.core.config import Config
from dockyard.core.results import CheckResult, fail, ok, warn
from dockyard.image.base.plan import DOCKERFILE_LABEL, FINGERPRINT_LABEL, dockerfile_path
from dockyard.image.hadolint import hadolint_gate

MB = 1_000_000
# Run the image's own tools with nothing it could reach or change.
SANDBOX = [
    "docker", "run", "--rm", "--network=none", "--read-only",
    "--cap-drop=ALL", "--security-opt=no-new-privileges",
]  # fmt: skip
DPKG_FORMAT = "${Package}\t${Version}\n"
PYTHON_INVENTORY = (
    "import importlib.metadata as m, json, sys; "
    "print(json.dumps({'prefix': sys.prefix, 'packages': sorted("
    "(d.metadata['Name'] or '?', d.version) for d in m.distributions())}))"
)


def scan_image(
    config: Config, environ: Mapping[str, str], image: str, dockerfile: str | None = None
) -> list[CheckResult]:
    """Size, Debian packages, Python packages and hadolint for `image`, each a verdict.

    `dockerfile` (relative to the project root) defaults to the one named by the image's
    `dev.dockyard.dockerfile` label, which the base images carry.
    """
    found = proc.run(
        ["docker", "image", "inspect", "--format", "{{json .}}", image],
        env=environ,
        check=False,
        timeout=60,
    )
    if not found.ok:
        return [
            fail(
                f"{image}",
                f"no image {image} in the engine: {found.tail(1)}",
                "build it first: `invoke image.base` for the base images, `invoke image.build` "
                "for the service",
            )
        ]
    attrs = json.loads(found.stdout)
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return [
        size_verdict(image, int(attrs.get("Size", 0)), config.images.size_budget_mb),
        _debian_packages(image, environ),
        _python_packages(image, environ),
        _hadolint(config, environ, image, dockerfile or _labelled(config, labels), labels),
    ]


def _labelled(config: Config, labels: Mapping[str, str]) -> str | None:
    labelled = labels.get(DOCKERFILE_LABEL)
    return dockerfile_path(config, labelled) if labelled else None


def size_verdict(image: str, size_bytes: int, budget_mb: int) -> CheckResult:
    size_mb = size_bytes / MB
    summary = f"{image}: {size_mb:.1f} MB (budget {budget_mb} MB)"
    if size_mb <= budget_mb:
        return ok("size", summary)
    return fail(
        "size",
        summary,
        "make the image smaller (multi-stage build, --no-install-recommends, no caches), or "
        "raise tool.dockyard.images.size_budget_mb on purpose",
    )


def _debian_packages(image: str, environ: Mapping[str, str]) -> CheckResult:
    ran = proc.run(
        [*SANDBOX, "--entrypoint", "dpkg-query", image, "--show", f"--showformat={DPKG_FORMAT}"],
        env=environ,
        check=False,
        timeout=120,
    )
    if not ran.ok:
        return ok("debian packages", "none (no dpkg in the image)")
    lines = tuple(sorted(" ".join(line.split("\t")) for line in ran.stdout.splitlines() if line))
    return ok("debian packages", f"{len(lines)} installed (inventory, not audited)", lines)


def _python_packages(image: str, environ: Mapping[str, str]) -> CheckResult:
    ran = proc.run(
        [*SANDBOX, "--env", "PYTHONDONTWRITEBYTECODE=1", "--entrypoint", "python3", image,
         "-c", PYTHON_INVENTORY],
        env=environ,
        check=False,
        timeout=120,
    )  # fmt: skip
    if not ran.ok:
        return ok("python packages", "none (no python3 in the image)")
    try:
        report = json.loads(ran.stdout)
        packages = [(str(name), str(version)) for name, version in report["packages"]]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return warn(
            "python packages",
            f"could not read the Python inventory: {ran.tail(3)}",
            f"run `docker run --rm --entrypoint python3 {image} -m pip list` to see why",
        )
    lines = tuple(f"{name} {version}" for name, version in packages)
    return ok(
        "python packages",
        f"{len(lines)} installed in {report['prefix']} (inventory, not audited)",
        lines,
    )


def _hadolint(
    config: Config,
    environ: Mapping[str, str],
    image: str,
    dockerfile: str | None,
    labels: Mapping[str, str],
) -> CheckResult:
    if not dockerfile and FINGERPRINT_LABEL in labels:
        return ok("hadolint", "imported from a debootstrapped tree: no Dockerfile to lint")
    if not dockerfile:
        return warn(
            "hadolint",
            f"no Dockerfile known for {image}",
            "name the Dockerfile to lint with the image (`dockerfile=` / `--dockerfile`)",
        )
    if not config.path(dockerfile).is_file():
        return fail("hadolint", f"{dockerfile}: not found", f"check the path; {image} names it")
    return hadolint_gate(config.root, environ, [dockerfile])
