"""The audit gate: real hadolint, real detect-secrets, real pip-audit, and an honest verdict."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dockyard.audit.gates import (
    classify_dependency_audit,
    dependency_gate,
    dockerfiles,
    project_files,
    secrets_gate,
)
from dockyard.core.config import Acceptance, Audit, Config, IgnoredAdvisory
from dockyard.core.invocation import toolchain_environ
from dockyard.core.results import Status
from dockyard.image.hadolint import hadolint_gate

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "dockerfiles"
TODAY = dt.date(2026, 6, 1)
ENVIRON = toolchain_environ(os.environ)
# Built at run time so that the source of this test holds no secret-shaped string.
FAKE_AWS_KEY = "AKIA" + "QWERTYUIOPASDFGH"


def report(*dependencies: dict[str, Any]) -> dict[str, Any]:
    return {"dependencies": list(dependencies), "fixes": []}


CLEAN = {"name": "requests", "version": "2.32.3", "vulns": []}
VULNERABLE = {
    "name": "jinja2",
    "version": "3.1.2",
    "vulns": [
        {"id": "GHSA-h5c8-rqwp-cp95", "aliases": ["CVE-2024-22195"], "fix_versions": ["3.1.3"]}
    ],
}
UNAUDITED = {
    "name": "docker",
    "skip_reason": "Dependency not found on PyPI and could not be audited",
}


# ------------------------------------------------------- dependency verdicts ---


def test_all_packages_audited_and_clean_passes() -> None:
    result = classify_dependency_audit(report(CLEAN), Audit(), TODAY)
    assert (result.status, result.summary) == (
        Status.OK,
        "1 packages audited, no known vulnerabilities",
    )


def test_a_known_vulnerability_fails_with_the_fixed_version() -> None:
    result = classify_dependency_audit(report(CLEAN, VULNERABLE), Audit(), TODAY)
    assert result.status is Status.FAIL
    assert result.details == ("jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)",)


def test_an_ignored_advisory_matches_by_alias_until_it_expires() -> None:
    entry = IgnoredAdvisory("CVE-2024-22195", "templates are not user input", dt.date(2026, 6, 30))
    policy = Audit(ignore=[entry])
    assert classify_dependency_audit(report(VULNERABLE), policy, TODAY).status is Status.OK
    expired = classify_dependency_audit(report(VULNERABLE), policy, dt.date(2026, 7, 1))
    assert expired.status is Status.FAIL
    assert expired.details == ("CVE-2024-22195: expired 2026-06-30 (templates are not user input)",)


def test_could_not_audit_is_a_failure_not_a_pass() -> None:
    """pip-audit exits 0 here; the gate still fails, and says the packages were not audited."""
    result = classify_dependency_audit(report(CLEAN, UNAUDITED), Audit(), TODAY)
    assert result.status is Status.FAIL
    assert result.summary == "NOT AUDITED: 1 of 2 packages could not be checked"
    assert result.fix is not None
    assert "accept_unaudited" in result.fix


def test_an_explicit_acceptance_turns_not_audited_into_a_warning_every_run() -> None:
    policy = Audit(accept_unaudited=Acceptance("offline builders", dt.date(2026, 12, 31)))
    result = classify_dependency_audit(report(UNAUDITED), policy, TODAY)
    assert result.status is Status.WARN
    assert result.summary == (
        "NOT AUDITED: 1 of 1 packages could not be checked "
        "(accepted until 2026-12-31: offline builders)"
    )


def test_an_expired_acceptance_fails() -> None:
    policy = Audit(accept_unaudited=Acceptance("offline builders", dt.date(2026, 1, 31)))
    result = classify_dependency_audit(report(UNAUDITED), policy, TODAY)
    assert result.status is Status.FAIL
    assert "the acceptance expired on 2026-01-31" in result.summary


def test_vulnerabilities_fail_even_when_not_audited_is_accepted() -> None:
    policy = Audit(accept_unaudited=Acceptance("offline builders"))
    assert (
        classify_dependency_audit(report(VULNERABLE, UNAUDITED), policy, TODAY).status
        is Status.FAIL
    )


def test_the_real_audit_of_the_lock_reports_what_it_could_and_could_not_check(
    repo_config: Config,
) -> None:
    """pip-audit on this repository's lock: whatever the network allows, the verdict is honest."""
    strict = Config(**{**repo_config.__dict__, "audit": Audit()})
    result = dependency_gate(strict, ENVIRON)
    summary = result.summary.removeprefix("uv.lock: ")
    if result.status is Status.OK:
        assert "packages audited, no known vulnerabilities" in summary
    else:
        assert result.status is Status.FAIL
        assert summary.startswith(("NOT AUDITED", "pip-audit did not produce")) or (
            "known vulnerability" in summary
        )
    assert result.summary.startswith(
        ("uv.lock: ", "pip-audit did not produce a report for uv.lock")
    )


# ---------------------------------------------------------------- hadolint ---


@pytest.fixture
def dockerfile_tree(tmp_path: Path) -> Path:
    shutil.copy(REPO / ".hadolint.yaml", tmp_path)
    return tmp_path


def test_hadolint_fails_a_dockerfile_with_known_violations(dockerfile_tree: Path) -> None:
    shutil.copy(FIXTURES / "Dockerfile.violations", dockerfile_tree / "Dockerfile")
    result = hadolint_gate(dockerfile_tree, ENVIRON, ["Dockerfile"])
    assert result.status is Status.FAIL
    found = "\n".join(result.details)
    for rule in ("DL3007", "DL3020", "DL3009", "DL3015", "DL3057", "DL3025", "DL3002"):
        assert rule in found, f"{rule} not reported:\n{found}"


def test_hadolint_passes_a_clean_dockerfile(dockerfile_tree: Path) -> None:
    shutil.copy(FIXTURES / "Dockerfile.clean", dockerfile_tree / "Dockerfile")
    result = hadolint_gate(dockerfile_tree, ENVIRON, ["Dockerfile"])
    assert (result.status, result.summary) == (Status.OK, "1 Dockerfile(s) pass")


def test_dockerfiles_are_recognised_by_name() -> None:
    names = ["Dockerfile", "Dockerfile.production", "docker/proxy/Dockerfile", "base.Dockerfile"]
    assert dockerfiles([*names, "README.md", "docker/compose.dev.yml"]) == names


# ------------------------------------------------------------- secret scan ---


@pytest.fixture
def git_tree(tmp_path: Path) -> Path:
    """A git work tree with the repository's secret-scan baseline and one ordinary file."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(REPO / ".secrets.baseline", tmp_path)
    (tmp_path / "app.py").write_text("print('hello')\n")
    return tmp_path


def scan_tree(tree: Path) -> Any:
    return secrets_gate(tree, ENVIRON, project_files(tree, ENVIRON, []))


def test_the_repository_tree_passes_its_secret_scan(repo_config: Config) -> None:
    result = secrets_gate(REPO, ENVIRON, project_files(REPO, ENVIRON, repo_config.audit.exclude))
    assert result.status is Status.OK, result.details


def test_a_planted_key_fails_the_scan_without_printing_it(git_tree: Path) -> None:
    (git_tree / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{FAKE_AWS_KEY}"\n')
    result = scan_tree(git_tree)
    assert result.status is Status.FAIL
    assert result.details == ("settings.py:1: AWS Access Key (new, not in .secrets.baseline)",)
    assert FAKE_AWS_KEY not in json.dumps(result.as_dict())


def test_a_rewritten_baseline_does_not_launder_a_secret(git_tree: Path) -> None:
    """Regenerating the baseline to include the key still fails: nobody reviewed it as safe."""
    (git_tree / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{FAKE_AWS_KEY}"\n')
    rescan = subprocess.run(
        ["detect-secrets", "scan", "settings.py", "app.py"],
        cwd=git_tree, env=ENVIRON, capture_output=True, text=True, check=True,
    )  # fmt: skip
    (git_tree / ".secrets.baseline").write_text(rescan.stdout)
    result = scan_tree(git_tree)
    assert result.status is Status.FAIL
    assert result.details == (
        "settings.py:1: AWS Access Key (in .secrets.baseline but not reviewed as safe)",
    )


def test_a_finding_reviewed_as_a_false_positive_passes(git_tree: Path) -> None:
    (git_tree / "settings.py").write_text(f'EXAMPLE_KEY = "{FAKE_AWS_KEY}"\n')
    rescan = subprocess.run(
        ["detect-secrets", "scan", "settings.py", "app.py"],
        cwd=git_tree, env=ENVIRON, capture_output=True, text=True, check=True,
    )  # fmt: skip
    baseline = json.loads(rescan.stdout)
    for entry in baseline["results"]["settings.py"]:
        entry["is_secret"] = False
    (git_tree / ".secrets.baseline").write_text(json.dumps(baseline))
    assert scan_tree(git_tree).status is Status.OK


def test_a_missing_baseline_fails_with_how_to_create_one(git_tree: Path) -> None:
    (git_tree / ".secrets.baseline").unlink()
    result = scan_tree(git_tree)
    assert (result.status, result.summary) == (Status.FAIL, ".secrets.baseline is missing")


def test_untracked_files_are_scanned_too_but_ignored_ones_are_not(git_tree: Path) -> None:
    (git_tree / ".gitignore").write_text("local.env\n")
    (git_tree / "local.env").write_text("x\n")
    (git_tree / "new.py").write_text("x = 1\n")
    files = project_files(git_tree, ENVIRON, ["*.baseline"])
    assert files == [".gitignore", "app.py", "new.py"]
