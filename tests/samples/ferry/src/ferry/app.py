"""ferry: a small notes API on Starlette, served by uvicorn.

`GET /healthz` answers the bare JSON value `true` when the service can serve (its database
answers and is migrated), `false` with 503 otherwise. `POST /notes {"text": ...}` stores a note,
`GET /notes/{id}` reads one back.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ferry.database import conninfo

log = logging.getLogger("ferry")
MAX_TEXT = 1000


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    pool = AsyncConnectionPool(conninfo(), min_size=1, max_size=4, open=False, timeout=5)
    await pool.open()
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


def pool_of(request: Request) -> AsyncConnectionPool:
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


async def healthz(request: Request) -> JSONResponse:
    try:
        async with pool_of(request).connection() as connection:
            await connection.execute("SELECT 1 FROM notes LIMIT 1")
    except (psycopg.Error, TimeoutError) as error:
        log.warning("not ready: %s", error)
        return JSONResponse(False, status_code=503)
    return JSONResponse(True)


async def create_note(request: Request) -> JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": "the body must be JSON"}, status_code=400)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not 0 < len(text) <= MAX_TEXT:
        return JSONResponse(
            {"error": f"text must be a string of 1 to {MAX_TEXT} characters"}, status_code=422
        )
    async with pool_of(request).connection() as connection:
        cursor = await connection.execute(
            "INSERT INTO notes (text) VALUES (%s) RETURNING id", (text,)
        )
        row = await cursor.fetchone()
    assert row is not None  # RETURNING always gives the row
    return JSONResponse({"id": row[0], "text": text}, status_code=201)


async def read_note(request: Request) -> JSONResponse:
    try:
        note = int(request.path_params["id"])
    except ValueError:
        return JSONResponse({"error": "no such note"}, status_code=404)
    async with pool_of(request).connection() as connection:
        cursor = await connection.execute("SELECT id, text FROM notes WHERE id = %s", (note,))
        row = await cursor.fetchone()
    if row is None:
        return JSONResponse({"error": "no such note"}, status_code=404)
    return JSONResponse({"id": row[0], "text": row[1]})


app = Starlette(
    routes=[
        Route("/healthz", healthz),
        Route("/notes", create_note, methods=["POST"]),
        Route("/notes/{id}", read_note),
    ],
    lifespan=lifespan,
)
