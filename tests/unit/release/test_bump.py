"""The next version from the commits since the last release, as commitizen's bump map has it."""

from __future__ import annotations

import pytest

from dockyard.core.errors import ConfigError
from dockyard.release.bump import VersionError, next_version, tag_name, tag_version
from dockyard.release.commits import Commit, parse


def commits(*messages: str) -> list[Commit]:
    return [parse(message, f"{index:040x}") for index, message in enumerate(messages, 1)]


@pytest.mark.parametrize(
    ("current", "messages", "expected"),
    [
        ("1.2.3", ["fix: a"], "1.2.4"),
        ("1.2.3", ["perf: a"], "1.2.4"),
        ("1.2.3", ["fix: a", "feat: b"], "1.3.0"),
        ("1.2.3", ["feat!: b", "fix: a"], "2.0.0"),
        ("1.2.3", ["fix: a\n\nBREAKING CHANGE: gone"], "2.0.0"),
        ("1.2.3", ["docs!: rewrite"], "2.0.0"),
        ("0.4.1", ["feat: b"], "0.5.0"),
        ("0.4.1", ["fix: a"], "0.4.2"),
        ("0.4.1", ["feat!: b"], "1.0.0"),
        ("1.1.0rc1", ["feat: b"], "1.1.0"),
        ("1.1.0rc1", ["fix: a"], "1.1.0"),
        ("1.1.1rc1", ["feat: b"], "1.2.0"),
        ("2", ["fix: a"], "2.0.1"),
    ],
)
def test_the_largest_change_decides(current: str, messages: list[str], expected: str) -> None:
    assert next_version(current, commits(*messages)).next == expected


@pytest.mark.parametrize(
    ("messages", "expected"),
    [(["feat!: b"], "0.5.0"), (["fix: a\n\nBREAKING-CHANGE: x"], "0.5.0"), (["fix: a"], "0.4.2")],
)
def test_major_version_zero_keeps_a_breaking_change_below_one(
    messages: list[str], expected: str
) -> None:
    assert next_version("0.4.1", commits(*messages), major_version_zero=True).next == expected


def test_major_version_zero_is_refused_from_one_on() -> None:
    with pytest.raises(ConfigError, match=r"only applies while the version is 0\.x"):
        next_version("1.0.0", commits("fix: a"), major_version_zero=True)


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        ([], "no commits since the last release"),
        (["docs: a", "chore: b", "WIP"], "3 commits (chore, docs, other) but no feat"),
        (["Merge branch 'x'"], "1 commit (merge) but no feat"),
    ],
)
def test_nothing_releasable_says_so(messages: list[str], reason: str) -> None:
    found = next_version("1.0.0", commits(*messages))
    assert found.next is None
    assert reason in found.reason


def test_a_merge_counts_for_nothing_but_the_commits_it_brings_do() -> None:
    merged = [parse("Merge branch 'feat/x'", "m" * 40, parents=2), *commits("feat: x")]
    assert next_version("1.0.0", merged).next == "1.1.0"


def test_a_commit_reverted_in_the_range_counts_for_nothing() -> None:
    feature = parse("feat: x", "f" * 40)
    revert = parse(f'Revert "feat: x"\n\nThis reverts commit {"f" * 40}.', "e" * 40)
    found = next_version("1.0.0", [revert, feature, *commits("docs: y")])
    assert found.next is None
    by_header = next_version("1.0.0", [parse("revert: feat: x", "d" * 40), feature])
    assert by_header.next is None


def test_a_revert_of_a_released_commit_is_a_fix() -> None:
    assert next_version("1.0.0", commits('Revert "feat: old"')).next == "1.0.1"


def test_not_conventional_commits_are_listed_not_counted() -> None:
    found = next_version("1.0.0", commits("WIP", "fix: a", "oops"))
    assert found.next == "1.0.1"
    assert [c.header for c in found.others] == ["WIP", "oops"]


@pytest.mark.parametrize(("part", "expected"), [("patch", "1.2.4"), ("minor", "1.3.0"),
                                                ("major", "2.0.0")])  # fmt: skip
def test_part_overrides_the_commits(part: str, expected: str) -> None:
    assert next_version("1.2.3", commits("feat!: x"), part=part).next == expected
    assert next_version("1.2.3", [], part=part).next == expected


def test_a_version_that_is_not_pep_440_names_where_it_came_from() -> None:
    with pytest.raises(VersionError, match=r"pyproject\.toml: 'one' is not a PEP 440 version"):
        next_version("one", [], source="pyproject.toml")


def test_an_unknown_part_is_refused() -> None:
    with pytest.raises(ConfigError, match="--part"):
        next_version("1.0.0", [], part="huge")


@pytest.mark.parametrize(
    ("fmt", "tag", "version"),
    [("v{version}", "v1.2.3", "1.2.3"), ("release-{version}", "release-0.1.0rc1", "0.1.0rc1"),
     ("v{version}", "1.2.3", None), ("v{version}", "vnext", None)],
)  # fmt: skip
def test_tags_name_versions_by_the_format(fmt: str, tag: str, version: str | None) -> None:
    found = tag_version(fmt, tag)
    assert (str(found) if found else None) == version
    if version:
        assert tag_name(fmt, version) == tag
