"""Where ferry's database is: libpq's own settings, from the environment the container gets."""

from __future__ import annotations

import os

from psycopg.conninfo import make_conninfo


def conninfo() -> str:
    """The connection string for the database named by POSTGRES_DB, POSTGRES_USER,
    POSTGRES_PASSWORD and DB_HOST (default `db`, the compose service)."""
    return make_conninfo(
        host=os.environ.get("DB_HOST", "db"),
        dbname=os.environ["POSTGRES_DB"],
        user=os.environ["POSTGRES_USER"],
        password=os.environ["POSTGRES_PASSWORD"],
        connect_timeout=5,
        application_name="ferry",
    )
