"""Apply ferry's SQL migrations once, in order, under a database lock.

Run by the container's prestart script before the server starts: two containers starting at
once (a deploy runs the new version beside the old) take turns, and the second finds nothing
left to do.
"""

from __future__ import annotations

import sys
import time
from importlib import resources

import psycopg

from ferry.database import conninfo

LOCK_KEY = 7_301_977  # pg_advisory_lock key of ferry's migrations
CONNECT_ATTEMPTS = 30


def migrations() -> list[tuple[str, str]]:
    """(name, SQL) of every migration shipped with the package, in name order."""
    folder = resources.files("ferry") / "migrations"
    found = [entry for entry in folder.iterdir() if entry.name.endswith(".sql")]
    return [(entry.name, entry.read_text(encoding="utf-8")) for entry in sorted(found, key=str)]


def connect() -> psycopg.Connection:
    """A connection, retried while the database is still starting (bounded)."""
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            return psycopg.connect(conninfo(), autocommit=True)
        except psycopg.OperationalError as error:
            if attempt == CONNECT_ATTEMPTS:
                raise
            print(f"ferry.migrate: database not reachable yet ({error}); retrying", flush=True)
            time.sleep(1)
    raise AssertionError("unreachable")


def migrate() -> list[str]:
    """Apply what is not applied yet; return the names applied by this run."""
    applied: list[str] = []
    with connect() as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS ferry_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in connection.execute("SELECT name FROM ferry_migrations")}
            for name, sql in migrations():
                if name in done:
                    continue
                with connection.transaction():
                    connection.execute(sql)  # type: ignore[arg-type]  # files shipped with ferry
                    connection.execute("INSERT INTO ferry_migrations (name) VALUES (%s)", (name,))
                applied.append(name)
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return applied


def main() -> int:
    applied = migrate()
    print(f"ferry.migrate: applied {len(applied)} migration(s) {' '.join(applied)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
