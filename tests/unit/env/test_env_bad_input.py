"""Bad env files: each fails `env.check` with its exact message; none crashes or is rewritten.

Each fixture in tests/fixtures/env holds a few lines with one kind of mistake;
the checks below name the line, say what is wrong and how to fix it, and show
the line with any secret masked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.core.errors import EnvFileError, MissingFileError, UnreadableFileError
from dockyard.env import commands as envcommands
from dockyard.env.parser import MAX_ARG_STRLEN

from .support import FIXTURES, PROFILES, Project

Expected = list[tuple[int, str, str | None]]  # line, message, line as shown

KEY_RULE = "use letters, digits and '_', not starting with a digit"
BAD_INPUT: dict[str, Expected] = {
    "unterminated_quote.env": [
        (
            2,
            "unterminated double quote: the value of POSTGRES_PASSWORD opened at column 19 "
            'never closes; add the closing "',
            "POSTGRES_PASSWORD=****",
        )
    ],
    "yaml_colon.env": [
        (
            1,
            "'APP_ENV: ...' is YAML, not an env file line: write APP_ENV=value",
            "APP_ENV: development",
        )
    ],
    "bom.env": [
        (
            1,
            "the file starts with a UTF-8 byte order mark (BOM), which a shell's `source` reads "
            "as part of the first key: save the file as UTF-8 without a BOM",
            None,
        )
    ],
    "bad_keys.env": [
        (1, f"invalid key name 'APP ENV': {KEY_RULE}", "APP ENV=development"),
        (2, f"invalid key name 'LOG_LEVEL[0]': {KEY_RULE}", "LOG_LEVEL[0]=debug"),
    ],
    "invalid_utf8.env": [
        (
            2,
            "not valid UTF-8 (byte 0xff at column 16): save the file as UTF-8",
            "POSTGRES_DB=...",
        )
    ],
    "self_reference.env": [
        (
            2,
            "POSTGRES_DB refers to itself (${POSTGRES_DB}): write its value out",
            "POSTGRES_DB=${POSTGRES_DB}",
        )
    ],
    "single_quoted_reference.env": [
        (
            2,
            "single-quoted ${POSTGRES_USER} in POSTGRES_DB is expanded by python-dotenv but "
            "kept literally by Compose: use double quotes to refer to the variable, or remove "
            "the ${...}",
            "POSTGRES_DB='${POSTGRES_USER}_db'",
        )
    ],
    "undefined_reference.env": [
        (
            2,
            "POSTGRES_DB refers to ${DB_NAME}, which is not set in this file and has no default "
            "in the schema: set DB_NAME above this line, or write ${DB_NAME:-default}",
            "POSTGRES_DB=${DB_NAME}",
        ),
        (
            3,
            "POSTGRES_USER refers to ${POSTGRES_ROLE}, which is set only later, on line 4: "
            "move that line above line 3",
            "POSTGRES_USER=${POSTGRES_ROLE}",
        ),
        (
            4,
            "unknown key POSTGRES_ROLE: env/schema.toml does not describe it (did you mean "
            "POSTGRES_USER?); remove it, or add it to the schema",
            "POSTGRES_ROLE=tugboat",
        ),
    ],
    "duplicate_key.env": [
        (
            3,
            "APP_PORT is set 2 times (lines 1, 3); python-dotenv and Compose use the last one, "
            "line 3: delete the others",
            "APP_PORT=9000",
        )
    ],
    "unknown_key.env": [
        (
            2,
            "unknown key DATABSE_URL: env/schema.toml does not describe it (did you mean "
            "DATABASE_URL?); remove it, or add it to the schema",
            "DATABSE_URL=postgresql://db/x",
        ),
        (
            3,
            "unknown key MY_API_TOKEN: env/schema.toml does not describe it; remove it, "
            "or add it to the schema",
            "MY_API_TOKEN=****",
        ),
    ],
    "dollar.env": [
        (
            2,
            "$LEVEL in LOG_LEVEL is expanded by Compose but kept literally by python-dotenv: "
            "write ${LEVEL} to refer to LEVEL, or single-quote the value to keep the '$'",
            "LOG_LEVEL=$LEVEL",
        ),
        (
            3,
            "'$$' in POSTGRES_DB is one '$' to Compose but two to python-dotenv: "
            "single-quote the value to keep it literally",
            "POSTGRES_DB=tug$$boat",
        ),
        (
            4,
            "unsupported reference ${USER-tugboat} in POSTGRES_USER: write ${NAME} or "
            "${NAME:-default}, the forms Compose and python-dotenv both read",
            "POSTGRES_USER=${USER-tugboat}",
        ),
        (
            5,
            "POSTGRES_PASSWORD has a '$' that Compose and python-dotenv read differently: "
            "single-quote the value to keep it literally",
            "POSTGRES_PASSWORD=****",
        ),
    ],
    "type_errors.env": [
        (
            1,
            "APP_ENV: expected one of development, testing, production, got 'staging'",
            "APP_ENV=staging",
        ),
        (2, "APP_PORT: expected a port number 1-65535, got '80a'", "APP_PORT=80a"),
        (3, "WEB_CONCURRENCY: expected a whole number in 1..64, got '0'", "WEB_CONCURRENCY=0"),
        (
            4,
            "SHUTDOWN_GRACE: expected a duration like 500ms, 30s, 5m or 1h, got '30'",
            "SHUTDOWN_GRACE=30",
        ),
        (
            5,
            "DATABASE_URL: expected a URL like scheme://host:port/path with scheme postgresql, "
            "got 'postgres//db'",
            "DATABASE_URL=postgres//db",
        ),
        (
            6,
            "LOG_LEVEL is empty, which the service reads as '', not as its default info: "
            "delete the line to use the default",
            "LOG_LEVEL=",
        ),
    ],
}
# Lines that are not mistakes: every tool reads them the same way.
ACCEPTED = ["blank_with_tab.env", "crlf.env", "export.env"]


def check_json(
    project: Project, profile: str = "development"
) -> tuple[int, list[dict[str, object]]]:
    code, output = project.run(envcommands.check, as_json=True, profile=profile)
    (report,) = json.loads(output)["files"]
    return code, report["problems"]


def line_problems(problems: list[dict[str, object]]) -> Expected:
    return [
        (int(str(p["line"])), str(p["message"]), None if p["text"] is None else str(p["text"]))
        for p in problems
        if p["line"]
    ]


@pytest.mark.parametrize("fixture", sorted(BAD_INPUT))
def test_each_malformed_file_fails_with_its_exact_message(project: Project, fixture: str) -> None:
    """env.check exits 1 and names the line, the problem and the fix; nothing else is flagged."""
    project.write("development", (FIXTURES / fixture).read_bytes())
    code, problems = check_json(project)
    assert code == 1
    assert line_problems(problems) == BAD_INPUT[fixture]


@pytest.mark.parametrize("fixture", ACCEPTED)
def test_lines_every_tool_reads_alike_are_accepted(project: Project, fixture: str) -> None:
    """A blank line of spaces and a tab, CRLF endings and `export KEY=value` are not problems."""
    project.write("development", (FIXTURES / fixture).read_bytes())
    _, problems = check_json(project)
    assert line_problems(problems) == []
    assert [p["message"] for p in problems] == [
        "missing required variables: "
        + ", ".join(
            name
            for name in (
                "APP_ENV",
                "POSTGRES_DB",
                "POSTGRES_USER",
                "POSTGRES_PASSWORD",
                "DATABASE_URL",
                "REDIS_PASSWORD",
                "REDIS_URL",
                "SECRET_KEY",
            )
            if name not in (FIXTURES / fixture).read_text()
        )
        + "; run `invoke env.init --profile development` to add them"
    ]


def test_the_report_groups_problems_under_their_file_with_line_numbers(project: Project) -> None:
    """People read one block per file: each problem with file:line, then the masked line."""
    project.write("development", (FIXTURES / "unterminated_quote.env").read_bytes())
    code, output = project.run(envcommands.check, profile="development")
    assert code == 1
    assert output.splitlines() == [
        "fail  env/.env.development: 2 problems",
        "  env/.env.development: missing required variables: POSTGRES_DB, POSTGRES_USER, "
        "DATABASE_URL, REDIS_PASSWORD, REDIS_URL, SECRET_KEY; "
        "run `invoke env.init --profile development` to add them",
        "  env/.env.development:2:19: unterminated double quote: the value of POSTGRES_PASSWORD "
        'opened at column 19 never closes; add the closing "',
        "    > POSTGRES_PASSWORD=****",
        "env.check: 2 problems; the file names and lines are above",
    ]


def test_an_empty_file_says_so_and_lists_every_missing_variable(project: Project) -> None:
    project.write("development", (FIXTURES / "empty.env").read_bytes())
    code, problems = check_json(project)
    assert code == 1
    assert [p["message"] for p in problems] == [
        "the file is empty: it sets no variables",
        "missing required variables: APP_ENV, POSTGRES_DB, POSTGRES_USER, POSTGRES_PASSWORD, "
        "DATABASE_URL, REDIS_PASSWORD, REDIS_URL, SECRET_KEY; "
        "run `invoke env.init --profile development` to add them",
    ]


def test_a_value_too_long_for_any_environment_is_an_error(project: Project) -> None:
    """Linux refuses environment strings of 128 KiB; the line is shown cut, not in full."""
    value = "x" * MAX_ARG_STRLEN
    project.write("development", f"APP_ENV=development\nPOSTGRES_DB={value}\n")
    code, problems = check_json(project)
    assert code == 1
    assert line_problems(problems) == [
        (
            2,
            f"POSTGRES_DB is {MAX_ARG_STRLEN + 12} bytes long; Linux refuses environment entries "
            f"of {MAX_ARG_STRLEN} bytes or more, so no container could start with it: keep large "
            "values in a file and pass its path",
            "POSTGRES_DB=" + "x" * 108 + f"... ({MAX_ARG_STRLEN + 12 - 120} more characters)",
        )
    ]


def test_a_missing_file_says_how_to_create_it(project: Project) -> None:
    with pytest.raises(MissingFileError) as raised:
        project.run(envcommands.check, profile="testing")
    assert str(raised.value) == (
        "env/.env.testing: no such env file\n  fix: run `invoke env.init --profile testing`"
    )
    assert raised.value.exit_code == 4


def test_a_directory_where_the_file_should_be_is_named(project: Project) -> None:
    project.env("testing").mkdir()
    for command in (envcommands.check, envcommands.init):
        with pytest.raises(MissingFileError) as raised:
            project.run(command, profile="testing")
        assert str(raised.value) == (
            "env/.env.testing: is a directory, not an env file\n"
            "  fix: move the directory out of the way, then run "
            "`invoke env.init --profile testing`"
        )
    assert project.env("testing").is_dir()


def test_an_unreadable_file_says_whose_permission_to_fix(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests run as root, where chmod 000 does not stop a read, so the refusal is simulated."""
    path = project.write("production", "APP_ENV=production\n")
    original = Path.open

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(UnreadableFileError) as raised:
        project.run(envcommands.check, profile="production")
    assert str(raised.value) == (
        "env/.env.production: permission denied\n"
        "  fix: as the file's owner, make it readable to you: chmod 600 env/.env.production"
    )
    assert raised.value.exit_code == 4


# Lines that cannot be read safely: commands that write refuse the whole file.
UNREADABLE_LINES = sorted(
    set(BAD_INPUT)
    - {"type_errors.env", "unknown_key.env", "self_reference.env", "undefined_reference.env"}
)


@pytest.mark.parametrize("fixture", UNREADABLE_LINES)
def test_init_and_rotate_leave_a_malformed_file_exactly_as_it_was(
    project: Project, fixture: str
) -> None:
    """A file with lines that cannot be read safely is never rewritten, not even partly."""
    content = (FIXTURES / fixture).read_bytes()
    path = project.write("development", content)
    attempts: tuple[Callable[[], tuple[int, str]], ...] = (
        lambda: project.run(envcommands.init, profile="development"),
        lambda: project.run(envcommands.rotate, key="POSTGRES_PASSWORD", profile="development"),
    )
    for attempt in attempts:
        with pytest.raises(EnvFileError) as raised:
            attempt()
        assert str(raised.value).startswith(
            "env/.env.development: not changed, because some lines cannot be read safely:\n"
        )
        assert path.read_bytes() == content
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        [".env.development", "schema.toml", *(f".env.{p}.example" for p in PROFILES)]
    )


@pytest.mark.parametrize(
    "fixture", ["self_reference.env", "undefined_reference.env", "type_errors.env"]
)
def test_init_completes_a_file_with_wrong_values_without_touching_them(
    project: Project, fixture: str
) -> None:
    """Wrong values are the owner's to fix: init only appends what is missing."""
    content = (FIXTURES / fixture).read_bytes()
    path = project.write("development", content)
    project.run(envcommands.init, profile="development")
    assert path.read_bytes().startswith(content)
    code, problems = check_json(project)
    assert code == 1
    assert line_problems(problems) == BAD_INPUT[fixture]
