"""The HTTP API: shipments, health, version and metrics, all JSON (metrics excepted)."""

from __future__ import annotations

import atexit
import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import cast

import psycopg
import redis
from flask import Flask, Response, g, jsonify, request
from psycopg_pool import ConnectionPool, PoolTimeout
from werkzeug.exceptions import HTTPException

from tugboat import cache, metrics, store
from tugboat.health import Readiness, decide
from tugboat.migrate import discover, is_recorded
from tugboat.settings import Settings

log = logging.getLogger("tugboat.app")
access = logging.getLogger("tugboat.access")

MAX_TEXT = 200
MAX_LIMIT = 100
MAX_DELAY_S = 10.0
QUIET_PATHS = ("/health/", "/metrics")  # probes and scrapes: logged at debug only


class ValidationFailedError(Exception):
    """A request the API refuses; `fields` maps each bad field to what is wrong with it."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(", ".join(f"{key}: {value}" for key, value in fields.items()))
        self.fields = fields


@dataclass
class Services:
    """The connections one process holds: database pool, Redis client, readiness probes."""

    settings: Settings
    pool: ConnectionPool
    redis: redis.Redis
    readiness: Readiness = field(init=False)
    schema_version: int = 0
    _schema_current: bool = False

    def __post_init__(self) -> None:
        available = discover()
        self.schema_version = available[-1].version if available else 0
        self.readiness = Readiness(
            {"database": self.probe_database, "cache": self.probe_cache,
             "migrations": self.probe_migrations}
        )  # fmt: skip

    def probe_database(self) -> str:
        with self.pool.connection(timeout=1.0) as conn:
            conn.execute("SELECT 1")
        return "SELECT 1 ok"

    def probe_cache(self) -> str:
        self.redis.ping()
        return "PING ok"

    def probe_migrations(self) -> str:
        if self._schema_current:  # a schema does not go back: no need to ask again
            return f"version {self.schema_version} recorded"
        with self.pool.connection(timeout=1.0) as conn:
            recorded = is_recorded(conn, self.schema_version)
        if recorded is None:
            raise LookupError("no schema_migrations table: run `python -m tugboat.migrate`")
        if not recorded:
            raise LookupError(
                f"migration {self.schema_version:04d} is not applied: "
                "run `python -m tugboat.migrate`"
            )
        self._schema_current = True
        return f"version {self.schema_version} recorded"

    def close(self) -> None:
        self.readiness.close()
        self.pool.close(timeout=2.0)
        self.redis.close()


def connect_services(settings: Settings, *, max_connections: int = 4) -> Services:
    return Services(
        settings=settings,
        pool=store.make_pool(settings, name="tugboat-app", max_size=max_connections),
        redis=cache.make_client(settings),
    )


def create_app(settings: Settings, services: Services | None = None) -> Flask:
    """The WSGI application. Connections open in the background: the app starts without them."""
    if services is None:
        services = connect_services(settings)
        atexit.register(services.close)
    app = Flask("tugboat")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["tugboat"] = services
    _install_hooks(app)
    _install_error_handlers(app)
    _install_routes(app, settings, services)
    return app


# ------------------------------------------------------------------ routes ---


def _install_routes(app: Flask, settings: Settings, services: Services) -> None:
    @app.get("/health/live")
    def live() -> Response:
        return jsonify(status="alive")

    @app.get("/health/ready")
    def ready() -> tuple[Response, int]:
        outcomes = services.readiness.run()
        status, body = decide(outcomes)
        metrics.READY.set(1 if status == 200 else 0)
        for outcome in outcomes:
            metrics.DEPENDENCY_UP.labels(dependency=outcome.name).set(1 if outcome.ok else 0)
        if status != 200:
            log.warning("not ready", extra={"failed": body["failed"]})
        return jsonify(body), status

    @app.get("/version")
    def version() -> Response:
        return jsonify(version=settings.app_version, git_sha=settings.git_sha)

    @app.get("/metrics")
    def prometheus() -> Response:
        payload, content_type = metrics.render()
        return Response(payload, content_type=content_type)

    @app.post("/api/shipments")
    def create_shipment() -> tuple[Response, int, dict[str, str]]:
        name, destination = _shipment_fields(request.get_json(silent=True))
        shipment = store.create(services.pool, name, destination)
        try:
            cache.enqueue(services.redis, shipment.id)
        except redis.RedisError as error:
            # The worker's sweep picks up pending shipments whose queue entry never arrived.
            log.warning(
                "shipment not queued; the worker's sweep will dispatch it",
                extra={"shipment_id": shipment.id, "reason": str(error)},
            )
        return jsonify(shipment.as_dict()), 201, {"Location": f"/api/shipments/{shipment.id}"}

    @app.get("/api/shipments/<int:shipment_id>")
    def read_shipment(shipment_id: int) -> tuple[Response, int, dict[str, str]]:
        try:
            cached = cache.read_shipment(services.redis, shipment_id)
        except redis.RedisError as error:
            log.warning("cache unavailable; reading the database", extra={"reason": str(error)})
            cached, source = None, "bypass"
        else:
            source = "miss"
        if cached is not None:
            return jsonify(cached), 200, {"X-Cache": "hit"}
        shipment = store.get(services.pool, shipment_id)
        if shipment is None:
            return jsonify(error="not found", id=shipment_id), 404, {}
        body = shipment.as_dict()
        if source == "miss":
            try:
                cache.write_shipment(services.redis, body)
            except redis.RedisError as error:
                log.warning("cache write failed", extra={"reason": str(error)})
        return jsonify(body), 200, {"X-Cache": source}

    @app.get("/api/shipments")
    def list_shipments() -> Response:
        limit, offset, delay = _page_arguments(request.args.to_dict(), settings)
        items = store.page(services.pool, limit, offset, delay)
        return jsonify(
            items=[item.as_dict() for item in items], limit=limit, offset=offset, count=len(items)
        )


def _shipment_fields(body: object) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise ValidationFailedError({"body": "expected a JSON object"})
    problems: dict[str, str] = {}
    values: dict[str, str] = {}
    for key in ("name", "destination"):
        value = body.get(key)
        if value is None:
            problems[key] = "is required"
        elif not isinstance(value, str):
            problems[key] = "must be a string"
        elif not value.strip():
            problems[key] = "must not be empty"
        elif len(value) > MAX_TEXT:
            problems[key] = f"must be at most {MAX_TEXT} characters"
        else:
            values[key] = value.strip()
    for key in sorted(set(body) - {"name", "destination"}):
        problems[str(key)] = "unknown field"
    if problems:
        raise ValidationFailedError(problems)
    return values["name"], values["destination"]


def _page_arguments(args: dict[str, str], settings: Settings) -> tuple[int, int, float]:
    problems: dict[str, str] = {}
    allowed = {"limit", "offset"} | ({"delay"} if settings.testing else set())
    for key in sorted(set(args) - allowed):
        problems[key] = "unknown parameter"
    limit = _integer(args, "limit", 20, (1, MAX_LIMIT), problems)
    offset = _integer(args, "offset", 0, (0, 10**9), problems)
    delay = 0.0
    if "delay" in args and "delay" in allowed:  # testing only: a real slow request
        try:
            delay = float(args["delay"])
        except ValueError:
            problems["delay"] = "must be a number of seconds"
        else:
            if not (math.isfinite(delay) and 0 <= delay <= MAX_DELAY_S):
                problems["delay"] = f"must be 0-{MAX_DELAY_S:g} seconds"
    if problems:
        raise ValidationFailedError(problems)
    return limit, offset, delay


def _integer(
    args: dict[str, str], key: str, default: int, bounds: tuple[int, int], problems: dict[str, str]
) -> int:
    low, high = bounds
    if key not in args:
        return default
    try:
        value = int(args[key])
    except ValueError:
        problems[key] = "must be a whole number"
        return default
    if not low <= value <= high:
        problems[key] = f"must be {low}-{high}"
        return default
    return value


# ------------------------------------------------------ logging and errors ---


def _install_hooks(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex

    @app.after_request
    def record(response: Response) -> Response:
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        metrics.observe(route, request.method, response.status_code, seconds)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        quiet = request.path.startswith(QUIET_PATHS) and response.status_code < 400
        access.log(
            logging.DEBUG if quiet else logging.INFO,
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": g.get("request_id", ""),
            },
        )
        return response


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ValidationFailedError)
    def invalid(error: ValidationFailedError) -> tuple[Response, int]:
        return jsonify(error="validation failed", fields=error.fields), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = error.code or 500
        return jsonify(error=(error.name or "error").lower(), detail=error.description), code

    @app.errorhandler(PoolTimeout)
    @app.errorhandler(psycopg.OperationalError)
    def database_down(error: Exception) -> tuple[Response, int, dict[str, str]]:
        log.warning("database unavailable", extra={"reason": " ".join(str(error).split())})
        return jsonify(error="database unavailable"), 503, {"Retry-After": "5"}

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        log.error("unhandled error", exc_info=error, extra={"path": request.path})
        return jsonify(error="internal error"), 500

    _ = (invalid, http_error, database_down, unexpected)


def services_of(app: Flask) -> Services:
    """The connections an app created by `create_app` holds."""
    return cast(Services, app.extensions["tugboat"])
