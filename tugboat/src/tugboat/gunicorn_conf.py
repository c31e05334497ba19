"""gunicorn's configuration: `gunicorn -c python:tugboat.gunicorn_conf tugboat.wsgi:app`.

Settings are validated here, in the master, so a bad environment stops the container at once
with every problem named. The server suits a read-only root filesystem: its heartbeat files
and the metrics of its workers go to /dev/shm or /tmp (a tmpfs), and no control socket is made.
On SIGTERM the master stops accepting, lets in-flight requests finish for up to SHUTDOWN_GRACE,
and exits 0.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from tugboat.jsonlog import url_secrets
from tugboat.settings import SettingsError, load_settings

try:
    _settings = load_settings(os.environ)
except SettingsError as error:
    print(f"tugboat: {error}", file=sys.stderr)
    raise SystemExit(2) from None

_SHM = Path("/dev/shm")  # noqa: S108 - a tmpfs in every container; gunicorn's recommended place
_SCRATCH = str(_SHM) if _SHM.is_dir() and os.access(_SHM, os.W_OK) else tempfile.gettempdir()

# Workers write their metrics to files here; /metrics sums them (see tugboat.metrics).
# Set before any worker imports prometheus_client, which reads it at import.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="tugboat-metrics-", dir=_SCRATCH)
)

wsgi_app = "tugboat.wsgi:app"
bind = [f"0.0.0.0:{_settings.app_port}"]  # inside a container, behind the proxy
workers = _settings.web_concurrency
worker_class = "gthread"
threads = 4
timeout = 30
graceful_timeout = max(1, math.ceil(_settings.shutdown_grace))  # gunicorn takes whole seconds
keepalive = 5
worker_tmp_dir = _SCRATCH
control_socket_disable = True
accesslog = None  # the app writes its own structured access log
errorlog = "-"
loglevel = _settings.log_level
proc_name = "tugboat"
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "tugboat.jsonlog.JsonFormatter",
            "secrets": url_secrets(_settings.database_url, _settings.redis_url),
        }
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        }
    },
    "root": {"level": _settings.log_level.upper(), "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": _settings.log_level.upper(), "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
    },
}


def child_exit(server: Any, worker: Any) -> None:  # noqa: ARG001 - gunicorn's hook signature
    """Drop a dead worker's live gauges from the metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
