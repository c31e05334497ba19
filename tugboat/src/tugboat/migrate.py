"""Schema migrations: ordered SQL files applied once, under a lock, each in its own transaction.

`python -m tugboat.migrate` runs once per deploy (the compose `migrate` one-shot). Replicas
that start it at the same moment queue on a PostgreSQL advisory lock; whoever gets it applies
what is pending, the others find nothing left to do. Each file is recorded in
`schema_migrations(version, name, checksum, applied_at)`; a recorded file whose content has
changed since is an error, never silently re-applied.

Planning is pure (`discover`, `plan`) so it is tested without a database; `apply` acts.
Files must be expand-only (add tables, nullable or defaulted columns, indexes) so the previous
release keeps working against the new schema; a statement that would break it (dropping,
renaming, retyping, NOT NULL on an existing column) needs a `-- contract:` line saying why.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import psycopg

from tugboat.jsonlog import configure_logging
from tugboat.settings import SettingsError, load_settings

log = logging.getLogger("tugboat.migrate")

FILENAME = re.compile(r"^(?P<version>[0-9]{4})_(?P<name>[a-z0-9_]+)\.sql$")
# One lock for every process that migrates this service's database.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"tugboat:schema_migrations").digest()[:8], signed=True)
TABLE_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
_CONTRACT = re.compile(
    r"\b(DROP\s+(TABLE|COLUMN)|RENAME\b|ALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b"
    r"|SET\s+NOT\s+NULL|TRUNCATE\b)",
    re.IGNORECASE,
)
_CONTRACT_MARKER = re.compile(r"^\s*--\s*contract:\s*\S", re.IGNORECASE | re.MULTILINE)
_COMMENT = re.compile(r"--[^\n]*")


class MigrationError(Exception):
    """The migrations on disk and in the database disagree, or a file is not acceptable."""


@dataclass(frozen=True)
class Migration:
    """One SQL file: `0002_track_dispatch.sql` is version 2, name `track_dispatch`."""

    version: int
    name: str
    sql: str
    checksum: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


@dataclass(frozen=True)
class Applied:
    """A row of `schema_migrations`."""

    version: int
    name: str
    checksum: str


@dataclass(frozen=True)
class Plan:
    """What a run would do: the files to apply in order, and what stops it from doing so."""

    pending: tuple[Migration, ...]
    problems: tuple[str, ...]
    # Recorded versions with no file here: the database was migrated by a newer release.
    ahead: tuple[Applied, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def checksum(sql: str) -> str:
    """A checksum of a file's content that ignores line-ending differences (git autocrlf)."""
    return hashlib.sha256(sql.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def migrations_dir() -> Traversable:
    """The migrations shipped inside the package (they travel in the wheel)."""
    return files("tugboat") / "migrations"


def discover(directory: Traversable | Path | None = None) -> list[Migration]:
    """Every migration file in `directory`, by version; raise MigrationError on a bad name."""
    folder = directory if directory is not None else migrations_dir()
    problems: list[str] = []
    found: dict[int, Migration] = {}
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".sql"):
            continue
        match = FILENAME.match(entry.name)
        if match is None:
            problems.append(f"{entry.name}: expected a name like 0001_create_things.sql")
            continue
        sql = entry.read_text(encoding="utf-8")
        migration = Migration(int(match["version"]), match["name"], sql, checksum(sql))
        if migration.version in found:
            problems.append(
                f"{entry.name}: version {migration.version:04d} is also used by "
                f"{found[migration.version].label}.sql"
            )
            continue
        problems.extend(f"{entry.name}: {problem}" for problem in contract_problems(sql))
        found[migration.version] = migration
    if problems:
        raise MigrationError("; ".join(problems))
    return [found[version] for version in sorted(found)]


def contract_problems(sql: str) -> list[str]:
    """Statements that would break the previous release, unless the file says it means them."""
    if _CONTRACT_MARKER.search(sql):
        return []
    code = _COMMENT.sub("", sql)
    return [
        f"{' '.join(match.group(0).split()).upper()} is not expand-only: the previous release "
        "may still use what it changes; split it into expand and contract releases, or add a "
        "`-- contract: <why it is safe>` line"
        for match in _CONTRACT.finditer(code)
    ]


def plan(available: Sequence[Migration], applied: Iterable[Applied]) -> Plan:
    """Decide what to apply: unrecorded files in version order, unless a recorded file changed."""
    recorded = {row.version: row for row in applied}
    on_disk = {migration.version: migration for migration in available}
    problems: list[str] = []
    for version, row in sorted(recorded.items()):
        migration = on_disk.get(version)
        if migration is not None and migration.checksum != row.checksum:
            problems.append(
                f"{migration.label}.sql was changed after it was applied "
                f"(recorded checksum {row.checksum[:12]}, file {migration.checksum[:12]}): "
                "restore the file and put the change in a new migration"
            )
    ordered = sorted(available, key=lambda migration: migration.version)
    pending = tuple(migration for migration in ordered if migration.version not in recorded)
    newest_recorded = max(recorded, default=0)
    late = [m for m in pending if m.version < newest_recorded]
    if late:
        log.warning(
            "applying migrations older than the newest recorded one",
            extra={"migrations": [m.label for m in late], "newest_recorded": newest_recorded},
        )
    ahead = tuple(row for version, row in sorted(recorded.items()) if version not in on_disk)
    return Plan(pending=pending, problems=tuple(problems), ahead=ahead)


# ------------------------------------------------------------------ acting ---


def read_applied(conn: psycopg.Connection[Any]) -> list[Applied]:
    rows = conn.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    return [Applied(int(version), str(name), str(digest)) for version, name, digest in rows]


def apply(
    conn: psycopg.Connection[Any],
    available: Sequence[Migration],
    *,
    lock_wait: float = 120.0,
    statement_lock_timeout: float = 10.0,
) -> list[Migration]:
    """Apply what is pending on `conn` (autocommit) under the advisory lock; return what ran."""
    conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(lock_wait * 1000)}ms",))
    try:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    except psycopg.errors.LockNotAvailable:
        raise MigrationError(
            f"another migration run held the lock for more than {lock_wait:.0f} s"
        ) from None
    try:
        # DDL waits at most this long for a table lock instead of queueing traffic behind it.
        conn.execute(
            "SELECT set_config('lock_timeout', %s, false)",
            (f"{int(statement_lock_timeout * 1000)}ms",),
        )
        conn.execute(TABLE_DDL)
        decided = plan(available, read_applied(conn))
        if not decided.ok:
            raise MigrationError("; ".join(decided.problems))
        for row in decided.ahead:
            log.warning(
                "the database has a migration this release does not know (a newer release ran)",
                extra={"version": row.version, "migration": row.name},
            )
        done: list[Migration] = []
        for migration in decided.pending:
            started = time.monotonic()
            with conn.transaction():
                conn.execute(migration.sql.encode("utf-8"))
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            done.append(migration)
            log.info(
                "applied migration",
                extra={
                    "migration": migration.label,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
        return done
    finally:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def is_recorded(conn: psycopg.Connection[Any], version: int) -> bool | None:
    """Whether `version` is recorded; None when no migration ever ran (no table yet)."""
    table = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if table is None or not table[0]:
        return None
    row = conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (version,))
    return row.fetchone() is not None


def connect(url: str, *, wait: float) -> psycopg.Connection[Any]:
    """Connect, retrying for up to `wait` seconds while the database starts."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return psycopg.connect(
                url, autocommit=True, connect_timeout=5, application_name="tugboat-migrate"
            )
        except psycopg.OperationalError:
            if time.monotonic() >= deadline:
                raise
            log.info("waiting for the database")
            time.sleep(1.0)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Apply pending migrations; exit 0 when the schema is current, 1 when it cannot be."""
    parser = argparse.ArgumentParser(prog="python -m tugboat.migrate", description=__doc__)
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the database")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, apply nothing")
    options = parser.parse_args(argv)
    try:
        settings = load_settings(os.environ if environ is None else environ)
    except SettingsError as error:
        print(f"tugboat.migrate: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    try:
        available = discover()
        with connect(settings.database_url, wait=options.wait) as conn:
            if options.dry_run:
                decided = plan(available, _applied_or_none(conn))
                for problem in decided.problems:
                    log.error("migration problem", extra={"problem": problem})
                log.info("plan", extra={"pending": [m.label for m in decided.pending]})
                return 0 if decided.ok else 1
            done = apply(conn, available)
    except MigrationError as error:
        log.error("migrations not applied", extra={"reason": str(error)})  # noqa: TRY400
        return 1
    except psycopg.Error as error:
        log.error(  # noqa: TRY400 - the reason is the message; a traceback adds nothing
            "migrations not applied: database error",
            extra={"reason": str(error).strip(), "database": settings.safe_database_url},
        )
        return 1
    log.info(
        "schema is current",
        extra={
            "applied_now": [m.label for m in done],
            "version": available[-1].version if available else 0,
        },
    )
    return 0


def _applied_or_none(conn: psycopg.Connection[Any]) -> list[Applied]:
    return [] if is_recorded(conn, 0) is None else read_applied(conn)


if __name__ == "__main__":
    sys.exit(main())
