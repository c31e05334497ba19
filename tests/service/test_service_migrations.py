"""Migration planning: which files run, in which order, and what stops a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tugboat.migrate import (
    Applied,
    Migration,
    MigrationError,
    checksum,
    contract_problems,
    discover,
    plan,
)


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql, encoding="utf-8")
    return directory


def migration(version: int, name: str, sql: str = "SELECT 1;") -> Migration:
    return Migration(version, name, sql, checksum(sql))


def applied(item: Migration, digest: str | None = None) -> Applied:
    return Applied(item.version, item.name, digest or item.checksum)


def test_files_are_ordered_by_version_not_by_listing(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "m",
        {
            "0010_ten.sql": "SELECT 10;",
            "0002_two.sql": "SELECT 2;",
            "0001_one.sql": "SELECT 1;",
            "README.md": "not a migration",
        },
    )
    assert [m.label for m in discover(folder)] == ["0001_one", "0002_two", "0010_ten"]


def test_a_badly_named_or_duplicate_file_is_refused(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "m",
        {"0001_one.sql": "", "0001_uno.sql": "", "2_two.sql": "", "0003_Three.sql": ""},
    )
    with pytest.raises(MigrationError) as caught:
        discover(folder)
    message = str(caught.value)
    assert "0001_uno.sql: version 0001 is also used by 0001_one.sql" in message
    assert "2_two.sql: expected a name like 0001_create_things.sql" in message
    assert "0003_Three.sql: expected a name like 0001_create_things.sql" in message


def test_only_unrecorded_files_are_pending_in_order() -> None:
    one, two, three = migration(1, "one"), migration(2, "two"), migration(3, "three")
    decided = plan([three, one, two], [applied(one)])
    assert decided.ok
    assert [m.label for m in decided.pending] == ["0002_two", "0003_three"]
    assert plan([one, two], [applied(one), applied(two)]).pending == ()


def test_an_applied_file_that_changed_is_an_error_naming_it() -> None:
    one = migration(1, "create_things", "CREATE TABLE things (id int);")
    edited = migration(1, "create_things", "CREATE TABLE things (id bigint);")
    decided = plan([edited, migration(2, "more")], [applied(one)])
    assert not decided.ok
    (problem,) = decided.problems
    assert problem.startswith("0001_create_things.sql was changed after it was applied")
    assert "put the change in a new migration" in problem


def test_line_endings_do_not_change_a_checksum() -> None:
    assert checksum("SELECT 1;\r\nSELECT 2;\r\n") == checksum("SELECT 1;\nSELECT 2;\n")


def test_versions_from_a_newer_release_are_reported_not_refused() -> None:
    one = migration(1, "one")
    decided = plan([one], [applied(one), Applied(2, "from_the_future", "abc")])
    assert decided.ok
    assert decided.pending == ()
    assert [row.name for row in decided.ahead] == ["from_the_future"]


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE shipments DROP COLUMN destination;",
        "DROP TABLE shipments;",
        "ALTER TABLE shipments RENAME COLUMN name TO title;",
        "ALTER TABLE shipments ALTER COLUMN name TYPE varchar(10);",
        "ALTER TABLE shipments ALTER COLUMN dispatched_at SET NOT NULL;",
    ],
)
def test_a_statement_that_breaks_the_previous_release_needs_a_contract_note(
    statement: str,
) -> None:
    """DEP-07: expand/contract. The previous release must keep working on the new schema."""
    (problem,) = contract_problems(statement)
    assert "is not expand-only" in problem
    assert contract_problems(f"-- contract: nothing reads it since 0.4\n{statement}") == []
    assert contract_problems(f"-- {statement}\nSELECT 1;") == []


def test_the_shipped_migrations_are_numbered_from_one_and_expand_only() -> None:
    shipped = discover()
    assert [m.version for m in shipped] == list(range(1, len(shipped) + 1))
    for item in shipped:
        assert contract_problems(item.sql) == [], item.label
