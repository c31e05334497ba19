"""A gate's step without a cache of its own is skipped only when nothing it reads has changed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.core.errors import DockyardError, UnreadableFileError
from dockyard.gates import stepcache

# A real linter process: it logs each run, prints every tab-indented line the way yamllint
# reports one, and fails when it found any.
LINTER = """\
import sys
from pathlib import Path

with Path(sys.argv[1]).open("a") as log:
    log.write("run\\n")
found = False
for name in sys.argv[2:]:
    paths = sorted(Path(name).rglob("*.y*ml")) if Path(name).is_dir() else [Path(name)]
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.startswith("\\t"):
                print(f"{path}:{number}:1: [error] found character '\\\\t'")
                found = True
sys.exit(1 if found else 0)
"""

# A real installer process: it logs each run and installs one more distribution.
INSTALLER = """\
import sys
from pathlib import Path

with Path(sys.argv[1]).open("a") as log:
    log.write("run\\n")
record = Path(sys.argv[2]) / "extra-1.0.dist-info" / "RECORD"
record.parent.mkdir(parents=True, exist_ok=True)
record.write_text("extra.py,sha256=e,1\\n")
"""


class Tree:
    """A project with workflows, a config file and a virtual environment holding the linter."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.log = root / "runs.log"
        self.linter = root / "linter.py"
        self.linter.write_text(LINTER)
        self.workflows = root / ".github" / "workflows"
        self.workflows.mkdir(parents=True)
        (self.workflows / "test.yml").write_text("on: push\njobs: {}\n")
        (root / "compose.yml").write_text("services:\n  app:\n    image: app\n")
        (root / ".yamllint.yaml").write_text("extends: default\n")
        self.environment = root / ".nox" / "lint"
        self.site = self.environment / "lib" / "python3.11" / "site-packages"
        (self.site / "linter-1.0.dist-info").mkdir(parents=True)
        (self.site / "linter-1.0.dist-info" / "RECORD").write_text("linter.py,sha256=aaa,10\n")
        (self.environment / "pyvenv.cfg").write_text("version_info = 3.11.7\n")

    def plan(self) -> stepcache.Step:
        """What the lint session plans: the linter over workflows and compose files."""
        command = [sys.executable, str(self.linter), str(self.log), str(self.workflows)]
        command.append(str(self.root / "compose.yml"))
        reads = [self.workflows, self.root / "compose.yml", self.root / ".yamllint.yaml"]
        return stepcache.plan("yamllint", command, reads=reads, environment=self.environment)

    def lint(self) -> bool:
        """Run the gate as the lint session does; True when the linter was skipped."""
        return stepcache.run_unless_passed(self.plan(), execute)

    def runs(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0


def execute(command: tuple[str, ...]) -> bool:
    """Run a command as nox does: a failure raises with the tool's output."""
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"step failed:\n{result.stdout}")
    return True


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return Tree(tmp_path)


def test_an_unchanged_tree_skips_the_linter(tree: Tree) -> None:
    """The second run with nothing changed does not start the linter at all."""
    assert tree.lint() is False
    assert tree.lint() is True
    assert tree.lint() is True
    assert tree.runs() == 1


def test_a_yaml_file_that_becomes_invalid_fails_the_gate_with_the_linters_output(
    tree: Tree,
) -> None:
    """A changed file is linted again, and its problem is reported, not skipped."""
    tree.lint()
    (tree.workflows / "test.yml").write_text("on: push\n\tjobs: {}\n")
    with pytest.raises(AssertionError, match=r"test\.yml:2:1: \[error\] found character '\\t'"):
        tree.lint()
    assert tree.runs() == 2


def test_a_failure_is_never_recorded(tree: Tree) -> None:
    """A failing run fails again on the next run, however often it is repeated."""
    (tree.root / "compose.yml").write_text("services:\n\tapp: {}\n")
    for _ in range(3):
        with pytest.raises(AssertionError, match=r"compose\.yml:2:1"):
            tree.lint()
    assert tree.runs() == 3


def test_fixing_a_file_runs_the_linter_again_and_then_skips(tree: Tree) -> None:
    """After a failure is fixed the linter confirms it once; then the tree is skipped again."""
    (tree.root / "compose.yml").write_text("services:\n\tapp: {}\n")
    with pytest.raises(AssertionError):
        tree.lint()
    (tree.root / "compose.yml").write_text("services:\n  app: {}\n")
    assert tree.lint() is False
    assert tree.lint() is True
    assert tree.runs() == 2


def change_config(tree: Tree) -> None:
    (tree.root / ".yamllint.yaml").write_text("extends: relaxed\n")


def upgrade_tool(tree: Tree) -> None:
    (tree.site / "linter-1.0.dist-info" / "RECORD").write_text("linter.py,sha256=bbb,10\n")


def install_another_tool(tree: Tree) -> None:
    (tree.site / "pyyaml-6.0.dist-info").mkdir()
    (tree.site / "pyyaml-6.0.dist-info" / "RECORD").write_text("yaml/__init__.py,sha256=c,1\n")


def change_interpreter(tree: Tree) -> None:
    (tree.environment / "pyvenv.cfg").write_text("version_info = 3.11.9\n")


def add_workflow(tree: Tree) -> None:
    (tree.workflows / "release.yml").write_text("on: push\n")


def remove_workflow(tree: Tree) -> None:
    (tree.workflows / "test.yml").unlink()


def rename_workflow(tree: Tree) -> None:
    (tree.workflows / "test.yml").rename(tree.workflows / "tests.yml")


@pytest.mark.parametrize(
    "change",
    [
        change_config,
        upgrade_tool,
        install_another_tool,
        change_interpreter,
        add_workflow,
        remove_workflow,
        rename_workflow,
    ],
)
def test_any_change_to_what_the_linter_reads_runs_it_again(
    tree: Tree, change: Callable[[Tree], None]
) -> None:
    """A config, tool, interpreter or file change (added, removed, renamed) re-runs the linter."""
    tree.lint()
    change(tree)
    assert tree.lint() is False
    assert tree.runs() == 2


def test_rewriting_a_file_with_the_same_content_still_skips(tree: Tree) -> None:
    """The key is the content, not the modification time."""
    tree.lint()
    compose = tree.root / "compose.yml"
    compose.write_text(compose.read_text())
    os.utime(compose, (1, 1))
    assert tree.lint() is True
    assert tree.runs() == 1


def test_a_different_command_line_or_setting_is_another_step(tree: Tree) -> None:
    """Other options, paths or settings are another run, with no record yet."""
    tree.lint()
    first = tree.plan()
    reads, environment = first.files, tree.environment
    other = stepcache.plan("yamllint", [*first.command, "-s"], reads=reads, environment=environment)
    configured = stepcache.plan(
        "yamllint", first.command, reads=reads, environment=environment, settings={"X": "1"}
    )
    assert stepcache.passed_before(first) is True
    assert stepcache.passed_before(other) is False
    assert stepcache.passed_before(configured) is False


def test_a_run_that_did_not_happen_is_not_recorded(tree: Tree) -> None:
    """When the command is not really run (nox --install-only), the next run still lints."""
    assert stepcache.run_unless_passed(tree.plan(), lambda _command: False) is False
    assert tree.lint() is False
    assert tree.runs() == 1


def test_a_recreated_environment_starts_without_records(tree: Tree) -> None:
    """The records live in the session's environment and go with it."""
    tree.lint()
    plan = tree.plan()
    assert plan.record.is_relative_to(tree.environment)
    plan.record.unlink()
    assert tree.lint() is False
    assert tree.runs() == 2


def test_a_config_that_appears_runs_the_linter_again(tree: Tree) -> None:
    """A config file the linter would pick up, created where there was none, is a change."""
    reads = [tree.workflows, tree.root / ".yamllint"]
    before = stepcache.plan("yamllint", ["lint"], reads=reads, environment=tree.environment)
    (tree.root / ".yamllint").write_text("extends: relaxed\n")
    after = stepcache.plan("yamllint", ["lint"], reads=reads, environment=tree.environment)
    assert before.key != after.key


def test_an_unreadable_input_names_the_file(tree: Tree) -> None:
    """A file that cannot be read stops the gate with its name, instead of being skipped."""
    looping = tree.root / "docker" / "compose.dev.yml"
    looping.parent.mkdir()
    looping.symlink_to(looping)  # reading it fails even for root: too many levels of links
    with pytest.raises(UnreadableFileError, match=r"compose\.dev\.yml: cannot read it"):
        stepcache.plan("yamllint", ["lint"], reads=[looping], environment=tree.environment)


def test_a_record_that_cannot_be_written_says_where(tree: Tree) -> None:
    """A passing run whose record cannot be kept fails with the place to fix."""
    (tree.environment / stepcache.RECORDS_DIR).write_text("a file where the records go\n")
    with pytest.raises(
        DockyardError, match=r"dockyard-step-cache/yamllint: cannot record"
    ) as error:
        tree.lint()
    assert error.value.hint is not None
    assert "writable directory" in error.value.hint


# ------------------------------------------------------------------------ installs ---


def install_step(tree: Tree) -> stepcache.Step:
    command = [sys.executable, "-c", INSTALLER, str(tree.log), str(tree.site)]
    lock = tree.root / "uv.lock"
    return stepcache.plan("uv-sync", command, reads=[lock], environment=tree.environment)


def test_an_install_is_skipped_once_the_environment_is_as_it_left_it(tree: Tree) -> None:
    """The install is recorded with the environment it produced, so the next run skips it."""
    (tree.root / "uv.lock").write_text("version = 1\n")
    assert (
        stepcache.run_unless_passed(install_step(tree), execute, changes_environment=True) is False
    )
    assert (
        stepcache.run_unless_passed(install_step(tree), execute, changes_environment=True) is True
    )
    assert tree.runs() == 1


@pytest.mark.parametrize("change", ["lock", "environment"])
def test_an_install_runs_again_when_the_lock_or_the_environment_changed(
    tree: Tree, change: str
) -> None:
    """A new lock, or a package removed from the environment by hand, installs again."""
    (tree.root / "uv.lock").write_text("version = 1\n")
    stepcache.run_unless_passed(install_step(tree), execute, changes_environment=True)
    if change == "lock":
        (tree.root / "uv.lock").write_text("version = 2\n")
    else:
        (tree.site / "extra-1.0.dist-info" / "RECORD").unlink()
    assert (
        stepcache.run_unless_passed(install_step(tree), execute, changes_environment=True) is False
    )
    assert tree.runs() == 2


def test_uv_sync_reads_the_lock_the_workspace_and_uvs_settings(tmp_path: Path) -> None:
    """Every workspace member's pyproject.toml counts, found through the members' patterns."""
    (tmp_path / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    for name in ("beta", "alpha"):
        (tmp_path / "packages" / name).mkdir(parents=True)
        (tmp_path / "packages" / name / "pyproject.toml").write_text("[project]\n")
    assert stepcache.uv_sync_reads(tmp_path) == [
        tmp_path / "pyproject.toml",
        tmp_path / "packages" / "alpha" / "pyproject.toml",
        tmp_path / "packages" / "beta" / "pyproject.toml",
        tmp_path / "uv.lock",
        tmp_path / ".python-version",
        tmp_path / "uv.toml",
    ]


def test_a_pyproject_uv_cannot_parse_is_still_keyed(
    tmp_path: Path,
) -> None:
    """A pyproject.toml uv cannot read is still keyed; uv reports its problem when it runs."""
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert stepcache.uv_sync_reads(tmp_path)[:2] == [
        tmp_path / "pyproject.toml",
        tmp_path / "uv.lock",
    ]


def test_uv_settings_name_the_variables_and_the_uv_that_runs(tmp_path: Path) -> None:
    """uv's variables and the uv binary (found first beside nox) are part of the key."""
    first = tmp_path / "bin"
    first.mkdir()
    uv = first / "uv"
    uv.write_text("#!/bin/sh\n")
    uv.chmod(0o755)
    environ = {"UV_INDEX_URL": "https://index.invalid/simple", "PATH": "", "HOME": "/root"}
    settings = stepcache.uv_settings(environ, first)
    assert settings["UV_INDEX_URL"] == "https://index.invalid/simple"
    assert "HOME" not in settings
    assert settings["uv binary"].startswith(f"{uv} 10 ")
    uv.write_text("#!/bin/sh\nexit 0\n")
    assert stepcache.uv_settings(environ, first) != settings
    uv.unlink()
    assert stepcache.uv_settings(environ, first)["uv binary"] == "absent"


def test_the_cache_turned_off_runs_the_step_every_time(tree: Tree) -> None:
    """`DOCKYARD_STEP_CACHE=off` runs a step that passed before; a pass is still recorded."""
    assert stepcache.enabled({stepcache.SWITCH: "off"}) is False
    assert stepcache.enabled({}) is True
    assert tree.lint() is False
    assert stepcache.run_unless_passed(tree.plan(), execute, cache=False) is False
    assert tree.runs() == 2
    assert tree.lint() is True


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_the_project_files_are_what_git_knows_and_new_files_it_does_not_ignore(
    tmp_path: Path,
) -> None:
    """A new test file counts as a change; what a run writes (ignored) does not."""
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("reports/\n.nox/\n")
    (tmp_path / "src.py").write_text("x = 1\n")
    git(tmp_path, "add", ".")
    (tmp_path / "test_new.py").write_text("def test() -> None: ...\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "junit.xml").write_text("<testsuite/>\n")
    (tmp_path / ".nox").mkdir()
    (tmp_path / ".nox" / "record").write_text("key\n")
    names = [path.name for path in stepcache.project_files(tmp_path)]
    assert names == [".gitignore", "src.py", "test_new.py"]
    before = stepcache.fingerprint((), stepcache.project_files(tmp_path))
    (tmp_path / "reports" / "junit.xml").write_text("<testsuite tests='2'/>\n")
    assert stepcache.fingerprint((), stepcache.project_files(tmp_path)) == before
    (tmp_path / "test_new.py").write_text("def test() -> None: assert False\n")
    assert stepcache.fingerprint((), stepcache.project_files(tmp_path)) != before


def test_outside_git_the_project_files_leave_out_what_a_run_writes(tmp_path: Path) -> None:
    (tmp_path / "src.py").write_text("x = 1\n")
    for written in (".nox", "reports", ".venv"):
        (tmp_path / written).mkdir()
        (tmp_path / written / "file").write_text("\n")
    assert [path.name for path in stepcache.project_files(tmp_path)] == ["src.py"]
