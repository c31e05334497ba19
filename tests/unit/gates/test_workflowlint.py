"""The workflow and script linters of `nox -s lint` find the faults they are there for.

The planted-fault tests run the real linters (zizmor, check-jsonschema, shellcheck, from the
locked lint group) on a real git repository holding one clean workflow and one clean script,
then on the same with one fault planted.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dockyard.core import proc
from dockyard.gates.workflowlint import Check, checks, is_shell_script, plan

ROOT = Path(__file__).resolve().parents[3]
PINNED = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1  # v7.0.1"
WORKFLOW = """\
name: manual
on:
  workflow_dispatch:
    inputs:
      instance:
        type: string
        required: true
permissions:
  contents: read
jobs:
  deploy:
    runs-on: ubuntu-24.04
    timeout-minutes: 10
    steps:
      - uses: {uses}
        with:
          persist-credentials: false
      - name: Deploy
        env:
          INSTANCE: ${{{{ inputs.instance }}}}
        run: {run}
"""
SAFE_RUN = 'echo "deploying $INSTANCE"'
SCRIPT = (
    '#!/usr/bin/env bash\nset -o errexit -o nounset\ntarget=${1:-}\nrm -rf -- "$target/cache"\n'
)


@pytest.mark.parametrize(
    ("name", "head", "found"),
    [
        ("scripts/bootstrap.sh", b"", True),
        (".ci/run", b"#!/usr/bin/env bash\nset -e\n", True),
        ("docker/policy-rc.d", b"#!/bin/sh\nexit 101\n", True),
        ("entry", b"#! /bin/dash -e\n", True),
        ("entry", b"#!/usr/bin/env -S bash -eu\n", True),
        ("tool", b"#!/usr/bin/env python3\n", False),
        ("tool", b"#!/usr/bin/env zsh\n", False),
        ("tool", b"#!/bin/shell-like\n", False),
        ("README", b"# sh is a shell\n", False),
    ],
)
def test_shell_scripts_are_found_by_name_or_by_their_interpreter_line(
    name: str, head: bytes, found: bool
) -> None:
    assert is_shell_script(name, head) is found


def test_each_linter_is_given_exactly_its_files() -> None:
    heads = {".ci/run": b"#!/usr/bin/env bash\n", "tasks.py": b"#!/usr/bin/env python3\n"}
    files = [
        ".github/workflows/test.yml",
        ".github/workflows/deploy.yaml",
        ".github/dependabot.yml",
        ".github/workflows/README.md",
        ".ci/run",
        "scripts/a.sh",
        "tasks.py",
    ]
    found = plan(files, lambda name: heads.get(name, b""))
    workflows = (".github/workflows/deploy.yaml", ".github/workflows/test.yml")
    assert found == [
        Check("zizmor", ("zizmor", "--offline", "--no-progress", *workflows), workflows),
        Check(
            "workflow schema",
            ("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows),
            workflows,
        ),
        Check("shellcheck", ("shellcheck", ".ci/run", "scripts/a.sh"), (".ci/run", "scripts/a.sh")),
    ]


def test_a_linter_with_nothing_to_read_is_left_out() -> None:
    assert plan(["src/app.py", "README.md"], lambda _name: b"") == []


# --- the real linters -----------------------------------------------------------------------


def project(
    tmp_path: Path, *, uses: str = PINNED, run: str = SAFE_RUN, script: str = SCRIPT
) -> Path:
    """A git work tree with one workflow and one extension-less shell script."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "manual.yml").write_text(WORKFLOW.format(uses=uses, run=run))
    (tmp_path / "entrypoint").write_text(script)
    return tmp_path


def failures(root: Path) -> dict[str, str]:
    """Each linter that failed on `root`, with its output."""
    found = {}
    for check in checks(root):
        result = proc.run(check.command, cwd=root, check=False, timeout=120)
        if not result.ok:
            found[check.name] = result.stdout + result.stderr
    return found


def test_a_clean_workflow_and_script_pass_every_linter(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert [check.name for check in checks(root)] == ["zizmor", "workflow schema", "shellcheck"]
    assert failures(root) == {}


def test_an_input_expanded_inside_run_fails_zizmor(tmp_path: Path) -> None:
    found = failures(project(tmp_path, run='echo "deploying ${{ inputs.instance }}"'))
    assert list(found) == ["zizmor"]
    assert "template-injection" in found["zizmor"]


def test_an_action_not_pinned_to_a_commit_fails_zizmor(tmp_path: Path) -> None:
    found = failures(project(tmp_path, uses="actions/checkout@v4"))
    assert list(found) == ["zizmor"]
    assert "unpinned-uses" in found["zizmor"]


def test_a_misspelt_workflow_key_fails_the_schema(tmp_path: Path) -> None:
    root = project(tmp_path)
    workflow = root / ".github" / "workflows" / "manual.yml"
    workflow.write_text(workflow.read_text().replace("timeout-minutes:", "timeout_minutes:"))
    found = failures(root)
    assert list(found) == ["workflow schema"]
    assert "manual.yml" in found["workflow schema"]


def test_an_unquoted_variable_in_a_script_fails_shellcheck(tmp_path: Path) -> None:
    found = failures(project(tmp_path, script=SCRIPT.replace('"$target/cache"', "$target/cache")))
    assert list(found) == ["shellcheck"]
    assert "entrypoint" in found["shellcheck"]
    assert "SC2086" in found["shellcheck"]


def test_this_projects_workflows_and_scripts_pass_every_linter() -> None:
    names = {check.name: check.files for check in checks(ROOT)}
    assert ".github/workflows/deploy.yml" in names["zizmor"]
    assert ".ci/run" in names["shellcheck"]
    assert failures(ROOT) == {}
