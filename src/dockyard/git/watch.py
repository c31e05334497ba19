"""The monitor after a push of the main branch: the deploy monitor, watching the instance main
deploys to (`[tool.dockyard.git] watch_instance`) until it serves the pushed commit."""

from __future__ import annotations

from collections.abc import Mapping

from dockyard.core.config import Config
from dockyard.deploy import instances
from dockyard.deploy.guarded import Places
from dockyard.deploy.monitor import control
from dockyard.deploy.monitor.control import MonitorInfo
from dockyard.deploy.monitor.policy import Policy


def start_after_push(
    config: Config, sha: str, environ: Mapping[str, str] | None = None
) -> MonitorInfo | None:
    """Start (or restart) the monitor of the watched instance for commit `sha`; None when no
    instance is watched."""
    name = config.git.watch_instance
    if not name:
        return None
    found = instances.load_instance(config, name)
    host = "127.0.0.1" if found.bind == "0.0.0.0" else found.bind  # noqa: S104
    base = f"http://{host}:{found.port}"
    deploy = config.deploy
    policy = Policy(
        settle_seconds=deploy.monitor_settle_seconds,
        interval_seconds=deploy.monitor_interval_seconds,
        failures_to_fail=deploy.monitor_failures,
        max_seconds=max(config.git.deploy_deadline_seconds, deploy.monitor_settle_seconds + 1),
        expect_commit=sha,
    )
    return control.start(
        Places.of(config).monitors,
        instance=found.id,
        url=base + config.health.ready_path,
        version=sha[:12],
        policy=policy,
        env=environ,
        version_url=base + config.health.version_path if config.health.version_path else None,
    )
