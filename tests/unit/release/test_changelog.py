"""The changelog section of a release, and its place in CHANGELOG.md."""

from __future__ import annotations

import datetime as dt

import pytest

from dockyard.release.changelog import HEADER, forge_url, has_section, insert, section
from dockyard.release.commits import parse

DAY = dt.date(2026, 12, 2)
# A CI checkout's remote URL may carry a user and a token; made here so no scanner sees one.
CREDENTIALS_IN_URL = "https://" + ":".join(("ci", "x" * 8)) + "@gitlab.com/group/tugboat.git"
SHA = "c0ffee" * 6 + "c0ff"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/tugboat.git", "https://github.com/acme/tugboat"),
        ("https://github.com/acme/tugboat", "https://github.com/acme/tugboat"),
        ("git@github.com:acme/tugboat.git", "https://github.com/acme/tugboat"),
        ("ssh://git@github.com/acme/tugboat.git", "https://github.com/acme/tugboat"),
        ("ssh://git@gitlab.com:2222/group/sub/tugboat.git", "https://gitlab.com/group/sub/tugboat"),
        (CREDENTIALS_IN_URL, "https://gitlab.com/group/tugboat"),
        ("/srv/git/tugboat.git", None),
        ("https://git.example.com/acme/tugboat.git", None),
        ("git@github.com:tugboat", None),
        ("", None),
    ],
)
def test_a_forge_is_known_from_any_form_of_its_remote_url(url: str, expected: str | None) -> None:
    assert forge_url(url) == expected


def test_the_section_groups_by_type_with_breaking_changes_first() -> None:
    commits = [
        parse("fix(api): reject empty names", "1" * 40),
        parse("feat: add tracking\n\nBREAKING CHANGE: ids are strings now", "2" * 40),
        parse("docs: the runbook", "3" * 40),
        parse("chore: bump deps", "4" * 40),
        parse("WIP", "5" * 40),
        parse("Merge branch 'x'", "6" * 40, parents=2),
    ]
    text = section("1.1.0", DAY, commits)
    assert text == (
        "## 1.1.0 - 2026-12-02\n\n"
        "### Breaking changes\n\n- ids are strings now (2222222)\n\n"
        "### Features\n\n- add tracking (2222222)\n\n"
        "### Fixes\n\n- **api:** reject empty names (1111111)\n\n"
        "### Documentation\n\n- the runbook (3333333)\n\n"
    )


def test_entries_link_their_commits_on_a_known_forge() -> None:
    commits = [parse("feat!: drop v1", SHA)]
    github = section("2.0.0", DAY, commits, forge="https://github.com/acme/t",
                     previous_tag="v1.0.0", tag="v2.0.0")  # fmt: skip
    assert github.startswith(
        "## [2.0.0](https://github.com/acme/t/compare/v1.0.0...v2.0.0) - 2026-12-02\n"
    )
    assert f"- drop v1 ([c0ffeec](https://github.com/acme/t/commit/{SHA}))" in github
    gitlab = section("2.0.0", DAY, commits, forge="https://gitlab.com/acme/t")
    assert f"(https://gitlab.com/acme/t/-/commit/{SHA})" in gitlab


def test_markdown_in_a_message_is_shown_as_written() -> None:
    text = section("1.0.1", DAY, [parse("fix: <script> and *stars* [x](y)", SHA)])
    assert "- \\<script\\> and \\*stars\\* \\[x\\](y) (c0ffeec)" in text


def test_a_release_without_user_facing_changes_says_so() -> None:
    assert "No user-facing changes." in section("1.0.1", DAY, [parse("chore: x", SHA)])


def test_a_missing_changelog_is_created_with_a_header() -> None:
    new = section("0.2.0", DAY, [parse("feat: x", SHA)])
    assert insert(None, new) == f"{HEADER}\n{new}"


def test_a_new_section_goes_above_the_newest_and_nothing_else_moves() -> None:
    old = "# Changes\n\nIntro.\n\n## 1.0.0 - 2026-01-01\n\n- first\r\n\n## 0.9.0\n\n- older\n"
    new = section("1.1.0", DAY, [parse("feat: x", SHA)])
    result = insert(old, new)
    assert result == "# Changes\n\nIntro.\n\n" + new + "\n" + old[len("# Changes\n\nIntro.\n\n") :]
    assert result.endswith(old[old.index("## 1.0.0") :])
    assert has_section(result, "1.1.0")
    assert has_section(result, "1.0.0")
    assert not has_section(result, "1.0")


def test_a_changelog_with_no_release_yet_gets_the_section_at_its_end() -> None:
    new = section("0.1.0", DAY, [parse("feat: x", SHA)])
    assert insert("# Changes\n", new) == "# Changes\n\n" + new
    assert insert("# Changes", new) == "# Changes\n\n" + new
