"""Redis: the shipment cache (cache-aside) and the dispatch queue.

Timeouts are short so a hung Redis costs a request a second at most, and the client
reconnects on the next command after an outage, without a restart.
"""

from __future__ import annotations

import json
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tugboat.settings import Settings

QUEUE = "tugboat:queue:shipments"
CACHE_TTL_S = 300
SOCKET_TIMEOUT_S = 1.0


def make_client(settings: Settings, *, socket_timeout: float = SOCKET_TIMEOUT_S) -> redis.Redis:
    """A client with short timeouts and one immediate retry (a stale pooled socket)."""
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=15,
        decode_responses=True,
        client_name="tugboat",
    )


def shipment_key(shipment_id: int) -> str:
    return f"tugboat:shipment:{shipment_id}"


def read_shipment(client: redis.Redis, shipment_id: int) -> dict[str, Any] | None:
    raw = client.get(shipment_key(shipment_id))
    return None if raw is None else dict(json.loads(str(raw)))


def write_shipment(client: redis.Redis, shipment: dict[str, Any]) -> None:
    client.set(shipment_key(int(shipment["id"])), json.dumps(shipment), ex=CACHE_TTL_S)


def forget_shipment(client: redis.Redis, shipment_id: int) -> None:
    client.delete(shipment_key(shipment_id))


def enqueue(client: redis.Redis, shipment_id: int) -> None:
    client.rpush(QUEUE, str(shipment_id))


def next_job(client: redis.Redis, wait_s: int) -> int | None:
    """The next queued shipment id, waiting at most `wait_s` seconds (so signals are noticed)."""
    item = client.blpop([QUEUE], timeout=wait_s)
    if item is None:
        return None
    _, value = item
    return int(value)
