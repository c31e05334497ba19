"""Shipments in PostgreSQL: a connection pool that survives outages, and the queries.

The pool opens in the background, so the process starts (and `/health/live` answers) while
the database is still down; every connection is checked before use and a lost one is
replaced, so the service recovers by itself when the database comes back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from tugboat.settings import Settings

CONNECT_TIMEOUT_S = 2  # libpq's smallest useful value
STATEMENT_TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class Shipment:
    id: int
    name: str
    destination: str
    status: str
    created_at: dt.datetime
    dispatched_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "destination": self.destination,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "dispatched_at": self.dispatched_at.isoformat() if self.dispatched_at else None,
        }


def make_pool(settings: Settings, *, name: str, max_size: int = 4) -> ConnectionPool:
    """A pool that connects in the background and checks every connection it hands out."""
    pool = ConnectionPool(
        settings.database_url,
        name=name,
        min_size=1,
        max_size=max_size,
        open=False,
        timeout=2.0,  # how long a request waits for a connection before it fails
        reconnect_timeout=5.0,  # give up a reconnect cycle quickly; the next request retries
        check=ConnectionPool.check_connection,
        kwargs={
            "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": name,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        },
    )
    pool.open(wait=False)
    return pool


def _shipment(row: dict[str, Any]) -> Shipment:
    return Shipment(**row)


def create(pool: ConnectionPool, name: str, destination: str) -> Shipment:
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "INSERT INTO shipments (name, destination) VALUES (%s, %s) "
            "RETURNING id, name, destination, status, created_at, dispatched_at",
            (name, destination),
        )
        row = cur.fetchone()
    assert row is not None  # noqa: S101 - INSERT ... RETURNING always returns the row
    return _shipment(row)


def get(pool: ConnectionPool, shipment_id: int) -> Shipment | None:
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT id, name, destination, status, created_at, dispatched_at "
            "FROM shipments WHERE id = %s",
            (shipment_id,),
        )
        row = cur.fetchone()
    return None if row is None else _shipment(row)


def page(pool: ConnectionPool, limit: int, offset: int, delay: float = 0.0) -> list[Shipment]:
    """One page of shipments, oldest first. `delay` makes the query slow on purpose (testing)."""
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        if delay > 0:
            cur.execute("SELECT pg_sleep(%s)", (delay,))
        cur.execute(
            "SELECT id, name, destination, status, created_at, dispatched_at "
            "FROM shipments ORDER BY id LIMIT %s OFFSET %s",
            (limit, offset),
        )
        rows = cur.fetchall()
    return [_shipment(row) for row in rows]


def mark_dispatched(pool: ConnectionPool, shipment_id: int) -> bool:
    """Mark a pending shipment dispatched; False when it was not pending (already done, or gone).

    One atomic UPDATE: two workers given the same id cannot both dispatch it.
    """
    with pool.connection() as conn:
        cur = conn.execute(
            "UPDATE shipments SET status = 'dispatched', dispatched_at = now() "
            "WHERE id = %s AND status = 'pending' RETURNING id",
            (shipment_id,),
        )
        return cur.fetchone() is not None


def stale_pending(pool: ConnectionPool, older_than_s: float, limit: int = 100) -> list[int]:
    """Pending shipments nobody dispatched in time (their queue entry was lost)."""
    with pool.connection() as conn:
        cur = conn.execute(
            "SELECT id FROM shipments WHERE status = 'pending' "
            "AND created_at < now() - make_interval(secs => %s) ORDER BY id LIMIT %s",
            (older_than_s, limit),
        )
        return [int(row[0]) for row in cur.fetchall()]
