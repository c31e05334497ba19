"""hadolint on Dockerfiles, with the project's own configuration: one verdict for the audit gate
and for `invoke image.scan`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dockyard.core import proc
from dockyard.core.results import CheckResult, fail, ok

HADOLINT_CONFIG = ".hadolint.yaml"


def hadolint_gate(root: Path, environ: Mapping[str, str], files: list[str]) -> CheckResult:
    """hadolint with the project's configuration on every Dockerfile."""
    name = "hadolint"
    if not files:
        return ok(name, "no Dockerfiles in the tree")
    args = ["hadolint", "--no-color"]
    if (root / HADOLINT_CONFIG).is_file():
        args += ["--config", HADOLINT_CONFIG]
    found = proc.run([*args, *files], cwd=root, env=environ, check=False, timeout=120)
    findings = tuple(line for line in found.stdout.splitlines() if line.strip())
    if found.ok:
        summary = f"{len(files)} Dockerfile(s) pass"
        return ok(
            name + "", summary + (f" ({len(findings)} below the threshold)" if findings else "")
        )
    if not findings:
        return fail(name, f"hadolint could not run: {found.tail()}", "see hadolint's message above")
    return fail(
        name,
        f"{len(findings)} finding(s) at or above the failure threshold in {HADOLINT_CONFIG}",
        "fix each line below; a rule you reject goes in .hadolint.yaml with a reason",
        findings,
    )
