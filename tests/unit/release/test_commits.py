"""Commit messages read as Conventional Commits 1.0; anything else is listed, never fatal."""

from __future__ import annotations

import pytest

from dockyard.release.commits import parse


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("feat: add shipments", ("conventional", "feat", "", "add shipments", False)),
        (
            "fix(api): reject empty names",
            ("conventional", "fix", "api", "reject empty names", False),
        ),
        ("feat(api)!: drop v1", ("conventional", "feat", "api", "drop v1", True)),
        ("refactor!: new layout", ("conventional", "refactor", "", "new layout", True)),
        ("FEAT: shouting", ("conventional", "feat", "", "shouting", False)),
        ("perf:  faster", ("conventional", "perf", "", "faster", False)),
        ("feat:no space", ("other", "", "", "feat:no space", False)),
        ("feat: ", ("other", "", "", "feat:", False)),
        ("just some words", ("other", "", "", "just some words", False)),
        ("", ("other", "", "", "", False)),
        ("feat(a(b)): nested", ("other", "", "", "feat(a(b)): nested", False)),
    ],
)
def test_a_header_is_read_as_the_spec_says(
    message: str, expected: tuple[str, str, str, str, bool]
) -> None:
    """kind, type, scope, description, breaking"""
    commit = parse(message, "a" * 40)
    assert (commit.kind, commit.type, commit.scope, commit.description, commit.breaking) == expected


@pytest.mark.parametrize(
    "footer",
    ["BREAKING CHANGE: the API is gone", "BREAKING-CHANGE: the API is gone"],
)
def test_a_breaking_change_footer_makes_the_commit_breaking(footer: str) -> None:
    commit = parse(f"fix: tidy\n\nA body.\n\n{footer}\nSigned-off-by: a <a@b.c>")
    assert commit.breaking
    assert commit.breaking_notes == ("the API is gone",)


@pytest.mark.parametrize(
    "body",
    ["breaking change: lower case is not a footer", "  BREAKING CHANGE: indented continuation"],
)
def test_a_breaking_change_must_be_an_upper_case_footer(body: str) -> None:
    assert not parse(f"fix: tidy\n\n{body}").breaking


def test_a_commit_with_two_parents_is_a_merge_whatever_it_says() -> None:
    assert parse("feat: looks like a feature", parents=2).kind == "merge"
    assert parse("Merge branch 'feat/x' into main").kind == "merge"
    assert parse("Merge pull request #12 from acme/feat").kind == "merge"


def test_gits_revert_names_the_reverted_commit() -> None:
    sha = "c0ffee" * 6 + "c0ff"
    commit = parse(f'Revert "feat: add x"\n\nThis reverts commit {sha}.\n')
    assert (commit.kind, commit.type, commit.reverts) == ("revert", "revert", sha)
    assert commit.description == "feat: add x"


def test_a_conventional_revert_names_the_header_or_its_refs() -> None:
    assert parse("revert: feat: add x").reverts == "feat: add x"
    assert parse("revert: feat: add x\n\nRefs: 0123abc").reverts == "0123abc"


@pytest.mark.parametrize(
    "message",
    [
        b"\xff\xfe\x00garbage",
        b"feat: caf\xe9 latin-1",
        "feat: \x1b[31mred\x1b[0m",
        "\r\n\r\nfeat: after blank lines\r\n",
        "\x00",
        "feat(" + "x" * 10_000,
        "\u202e fix: right to left",
    ],
)
def test_any_bytes_are_read_and_nothing_raw_comes_out(message: str | bytes) -> None:
    commit = parse(message, "b" * 40)
    assert commit.kind in ("conventional", "other")
    assert "\x1b" not in commit.header
    assert "\x00" not in commit.header


def test_latin_1_bytes_keep_the_conventional_header() -> None:
    commit = parse(b"feat: caf\xe9 latin-1")
    assert (commit.kind, commit.type) == ("conventional", "feat")
    assert commit.description == "caf\ufffd latin-1"
