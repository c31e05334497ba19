"""The strict parser reads what python-dotenv and Compose agree on, and flags the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values

from dockyard.core.secrets import looks_secret
from dockyard.env.mask import redact_url_credentials, shown_line
from dockyard.env.parser import parse
from dockyard.env.resolve import resolve

GOOD = """\
# a comment
export APP_ENV=development
LOG_LEVEL = debug   # trailing comment
POSTGRES_USER="tug boat"
POSTGRES_DB='literal $dollar and # hash'
QUOTED="say \\"hi\\"\\tthen\\nnewline"
HASH=abc#def
MULTI="first
second"
EMPTY=
DATABASE_URL=postgresql://${POSTGRES_USER}@db/${POSTGRES_DB}
WITH_DEFAULT=${UNSET_NAME:-fallback}
DOUBLE="${APP_ENV}-x"
"""


def test_values_match_python_dotenv_for_a_file_both_read(tmp_path: Path) -> None:
    """Where the file is unambiguous, dockyard's values are python-dotenv's values."""
    path = tmp_path / ".env"
    path.write_text(GOOD, encoding="utf-8")
    env = parse(GOOD.encode(), ".env")
    assert env.problems == ()
    ours = resolve(env, {}).values
    theirs = dotenv_values(path, interpolate=True)
    assert ours == theirs
    assert ours["LOG_LEVEL"] == "debug"
    assert ours["MULTI"] == "first\nsecond"
    assert ours["WITH_DEFAULT"] == "fallback"


def test_crlf_endings_are_read_and_remembered() -> None:
    env = parse(b"A=1\r\nB=two\r\n", ".env")
    assert env.problems == ()
    assert [(e.key, e.value) for e in env.entries] == [("A", "1"), ("B", "two")]
    assert env.newline == "\r\n"


def test_fallback_values_resolve_references_the_file_does_not_set() -> None:
    env = parse(b"URL=http://h:${APP_PORT}/\n", ".env")
    assert resolve(env, {"APP_PORT": "8000"}).values == {"URL": "http://h:8000/"}


def test_an_empty_referenced_value_takes_the_default_as_compose_does() -> None:
    env = parse(b"A=\nB=${A:-d}\n", ".env")
    assert resolve(env, {}).values["B"] == "d"


def test_a_quote_that_swallows_later_assignments_is_named() -> None:
    """The opening line is reported; the lines after it are read as the lines they look like."""
    env = parse(b'A="open\nB=1\nC="x"\n', ".env")
    assert [(p.line, p.message) for p in env.problems] == [
        (
            1,
            "the double quote that opens A's value on line 1 closes only on line 3 and takes in "
            "the assignments on lines 2, 3: close the quote on line 1",
        ),
    ]
    assert [(e.key, e.value) for e in env.entries] == [("B", "1"), ("C", "x")]


def test_a_line_without_an_equals_sign() -> None:
    env = parse(b"JUST_A_NAME\nsome words here\n", ".env")
    assert [(p.line, p.message) for p in env.problems] == [
        (1, "JUST_A_NAME has no '=': write JUST_A_NAME=value, or JUST_A_NAME= for an empty value"),
        (2, "not a KEY=value line: write KEY=value, or start a comment with '#'"),
    ]


def test_a_nul_character_is_refused() -> None:
    env = parse(b"A=x\x00y\n", ".env")
    assert [p.message for p in env.problems] == [
        "A contains a NUL character, which no environment can hold"
    ]


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("POSTGRES_PASSWORD", True),
        ("API_TOKEN", True),
        ("SECRET_KEY", True),
        ("AWS_ACCESS_KEY_ID", True),
        ("LOG_LEVEL", False),
        ("APP_PORT", False),
    ],
)
def test_secret_like_names_are_recognised(name: str, secret: bool) -> None:
    assert looks_secret(name) is secret


def test_shown_lines_mask_secrets_and_url_passwords() -> None:
    def sensitive(key: str) -> bool:
        return key == "HIDDEN"

    assert shown_line("HIDDEN=s3cr3t", sensitive) == "HIDDEN=****"
    assert shown_line("export HIDDEN = 's3cr3t'", sensitive) == "export HIDDEN =****"
    assert shown_line("HIDDEN: s3cr3t", sensitive) == "HIDDEN:****"
    assert shown_line("URL=redis://:pw@h:1/0", sensitive) == "URL=redis://:****@h:1/0"
    assert (
        shown_line("a line about a TOKEN xyz", sensitive) == "(line hidden: it may hold a secret)"
    )
    assert redact_url_credentials("postgresql://u:p@h/d and https://x:y@z") == (
        "postgresql://u:****@h/d and https://x:****@z"
    )


def test_a_long_value_is_parsed_in_linear_time() -> None:
    """A 10 MB line would take minutes with a backtracking pattern; it must take well under one."""
    env = parse(b"A=" + b"x:/" * 400_000 + b"\n", ".env")
    assert env.entries[0].shown.endswith("more characters)")
