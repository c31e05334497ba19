"""The planner of `invoke dockyard.init`: what it writes for a repository, from what it holds."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from dockyard.core.errors import ConfigError
from dockyard.env.render import render_example
from dockyard.env.schema import parse_schema
from dockyard.scaffold.commands import templates
from dockyard.scaffold.plan import Facts, Plan, Write, plan_init

ROOT = Path("/srv/harbor")
PYPROJECT = (
    '[project]\nname = "Harbor_Master"\nversion = "0.3.0"\n\n'
    "[tool.ruff]  # kept\nline-length = 100\n"
)
FACTS = Facts(directory="harbor", pyproject=PYPROJECT, dockerfiles=["Dockerfile"])
TEMPLATES = templates()


def plan(facts: Facts = FACTS) -> Plan:
    return plan_init(facts, TEMPLATES, root=ROOT)


def written(result: Plan, path: str) -> Write:
    (found,) = [write for write in result.writes if write.path == path]
    return found


def dockyard_table(result: Plan) -> dict[str, object]:
    table = tomllib.loads(written(result, "pyproject.toml").text)["tool"]["dockyard"]
    assert isinstance(table, dict)
    return table


def test_the_project_is_named_after_project_name_as_compose_and_docker_accept_it() -> None:
    result = plan()
    assert result.config.project == "harbor-master"
    assert result.config.image == "harbor-master"


def test_without_a_project_name_the_directory_names_it() -> None:
    result = plan(replace(FACTS, pyproject="", directory="9 Lives"))
    assert result.config.project == "app-9-lives"


def test_pyproject_keeps_every_byte_it_had_and_gains_the_tables() -> None:
    """Nothing already in pyproject.toml is reformatted: the old text is the new one's start."""
    write = written(plan(), "pyproject.toml")
    assert not write.new
    assert write.text.startswith(PYPROJECT)
    assert write.text == PYPROJECT + write.added
    document = tomllib.loads(write.text)
    assert document["tool"]["ruff"] == {"line-length": 100}
    assert document["tool"]["dockyard"]["dockerfile"] == "Dockerfile"


def test_the_dependency_groups_of_the_gates_are_added_only_when_the_project_has_none() -> None:
    groups = tomllib.loads(written(plan(), "pyproject.toml").text)["dependency-groups"]
    assert set(groups) == {"lint", "typecheck", "test", "audit"}
    own = PYPROJECT + '\n[dependency-groups]\ndev = ["pytest"]\n'
    document = tomllib.loads(written(plan(replace(FACTS, pyproject=own)), "pyproject.toml").text)
    assert document["dependency-groups"] == {"dev": ["pytest"]}


def test_the_preferred_dockerfile_compose_file_and_lock_are_chosen() -> None:
    facts = replace(
        FACTS,
        dockerfiles=["Dockerfile", "Dockerfile.dev", "Dockerfile.production"],
        compose_files=["compose.dev.yml", "compose.yaml"],
        locks=["requirements-dev.txt", "uv.lock"],
    )
    result = plan(facts)
    assert result.config.dockerfile == "Dockerfile.production"
    assert result.config.compose_files == ["compose.yaml"]
    assert result.config.lock == "uv.lock"
    assert not [note for note in result.notes if "found" in note]


def test_without_a_compose_file_or_a_lock_the_notes_say_what_to_add() -> None:
    result = plan()
    assert result.config.compose_files == ["docker-compose.production.yml"]
    assert "lock" not in dockyard_table(result)
    assert any("no compose file found" in note for note in result.notes)
    assert any("no lock found" in note for note in result.notes)


@pytest.mark.parametrize(
    ("python_version", "requires", "expected"),
    [("3.12.4\n", ">=3.11", "3.12"), (None, ">=3.13,<4", "3.13"), (None, None, "3.11")],
)
def test_the_python_version_comes_from_python_version_then_requires_python(
    python_version: str | None, requires: str | None, expected: str
) -> None:
    pyproject = f'[project]\nname = "h"\nrequires-python = "{requires}"\n' if requires else ""
    result = plan(replace(FACTS, pyproject=pyproject, python_version=python_version))
    assert result.config.images.python == f"python:{expected}-slim-bookworm"
    written_versions = [w.text for w in result.writes if w.path == ".python-version"]
    assert written_versions == ([] if python_version else [f"{expected}\n"])


def test_the_env_files_are_the_schema_and_each_profile_s_example_made_from_it() -> None:
    result = plan()
    schema_text = written(result, "env/schema.toml").text
    schema = parse_schema(
        tomllib.loads(schema_text), source="env/schema.toml", profiles=tuple(result.config.profiles)
    )
    for profile in result.config.profiles:
        example = written(result, f"env/.env.{profile}.example")
        assert example.new
        assert example.text == render_example(schema, profile)
    assert written(result, "env/instances/staging.toml").new


def test_a_dockyard_table_already_there_is_a_refusal_and_pyproject_is_left_alone() -> None:
    pyproject = PYPROJECT + '\n[tool.dockyard]\nproject = "x"\nimage = "x"\n'
    result = plan(replace(FACTS, pyproject=pyproject))
    assert result.refusals == ("pyproject.toml: already has a [tool.dockyard] table",)
    assert "pyproject.toml" not in [write.path for write in result.writes]


def test_a_tool_table_written_inline_cannot_take_the_tables_and_says_so() -> None:
    with pytest.raises(ConfigError, match="cannot be appended") as raised:
        plan(replace(FACTS, pyproject="tool = { ruff = { line-length = 100 } }\n"))
    assert raised.value.hint is not None


def test_a_tasks_py_that_gathers_dockyard_is_kept_and_any_other_is_in_the_way() -> None:
    assert "tasks.py" in [write.path for write in plan().writes]
    kept = plan(replace(FACTS, tasks=TEMPLATES["tasks.py.tmpl"]))
    assert "tasks.py" not in [write.path for write in kept.writes]
    assert kept.refusals == ()
    other = plan(replace(FACTS, tasks="from invoke import task\n"))
    assert other.refusals == (
        "tasks.py: already exists, without dockyard's tasks (dockyard.tasks)",
    )


def test_ignore_files_gain_only_the_lines_they_lack() -> None:
    created = written(plan(), ".dockerignore")
    assert created.new
    assert "**/.env.*" in created.text.splitlines()
    facts = replace(
        FACTS, dockerignore="**/.env\nenv/\n.git", gitignore=TEMPLATES["gitignore.tmpl"]
    )
    result = plan(facts)
    grown = written(result, ".dockerignore")
    assert grown.text.startswith("**/.env\nenv/\n.git\n")
    assert [line for line in grown.added.splitlines() if line and not line.startswith("#")] == [
        "**/.env.*",
        ".dockyard",
    ]
    assert ".gitignore" not in [write.path for write in result.writes]


def test_the_planned_configuration_is_one_dockyard_accepts_with_the_gates_paths() -> None:
    result = plan(replace(FACTS, typed=["src", "tests"]))
    assert result.config.gates.typed == ["src", "tests", "tasks.py", "noxfile.py"]
    assert result.config.root == ROOT
    assert result.refusals == ()


def test_a_yamllint_configuration_is_written_only_where_there_is_none() -> None:
    assert written(plan(), ".yamllint.yaml").new
    own = plan(replace(FACTS, yamllint=True))
    assert ".yamllint.yaml" not in [write.path for write in own.writes]


REPOSITORY = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", ["test", "deploy", "release", "deploy-instance", "rollback"])
def test_init_writes_this_repositorys_workflows_with_the_toolchain_from_uv(name: str) -> None:
    """A team's workflows are the ones this repository runs (pinned actions, inputs through
    env, run links), but install the locked toolchain with uv: it has no scripts/bootstrap.sh."""
    ours = (REPOSITORY / ".github" / "workflows" / f"{name}.yml").read_text(encoding="utf-8")
    theirs = written(plan(), f".github/workflows/{name}.yml").text
    assert "scripts/bootstrap.sh" not in theirs
    assert "uv sync --locked" in theirs
    step = "        run: scripts/bootstrap.sh --toolchain-only\n"
    uv = "        run: |\n          python -m pip install uv\n          uv sync --locked\n"
    assert theirs == ours.replace(step, uv)
