"""A service without a worker, a migrate step, a database or a cache: configured as none, the
deploy plans no step for them, bootstrap builds no base image for them, and a name that the
compose files do not define is a configuration error naming the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dockyard.core.config import Config, Services, parse_config
from dockyard.core.errors import ConfigError
from dockyard.deploy.plan import plan_switch
from dockyard.image.base.plan import local_overrides, official_images, plan_base_images
from dockyard.stack.compose import check_named_services

REPO = Path(__file__).resolve().parents[3]
BARE = {"project": "shop", "image": "shop"}
NONE = {"worker": "", "migrate": "", "database": "", "cache": ""}


def configured(services: dict[str, str]) -> Services:
    return parse_config({**BARE, "services": services}, root=Path("/project")).services


def test_an_empty_name_means_the_service_has_no_such_part() -> None:
    services = configured(NONE)
    assert services.named() == {"app": "app", "proxy": "proxy"}


def test_app_and_proxy_cannot_be_none() -> None:
    with pytest.raises(ConfigError) as raised:
        configured({"app": "", "proxy": ""})
    assert "tool.dockyard.services.app: expected a compose service name" in raised.value.message
    assert "tool.dockyard.services.proxy" in raised.value.message


def test_a_deploy_without_migrate_or_worker_plans_no_such_steps() -> None:
    plan = plan_switch(configured(NONE), migrate=True)
    assert plan.migrate is None
    assert plan.follow == ()
    assert plan.steps() == ("start", "ready", "switch", "check", "drain")


def test_a_deploy_with_both_migrates_first_and_moves_the_worker() -> None:
    plan = plan_switch(Services(), migrate=True)
    assert plan.migrate == "migrate"
    assert plan.follow == ("worker",)
    assert plan.steps()[0] == "migrate"


def test_a_rollback_never_migrates() -> None:
    plan = plan_switch(Services(), migrate=False)
    assert plan.migrate is None
    assert "migrate" not in plan.steps()
    assert plan.follow == ("worker",)


def test_a_named_service_missing_from_compose_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError) as raised:
        check_named_services(
            Services().named(), ["app", "proxy", "postgres", "redis", "migrate"], "compose.yml"
        )
    message = raised.value.message
    assert message.startswith("pyproject.toml: ")
    assert "[tool.dockyard.services] worker = 'worker': no service 'worker' in compose" in message
    assert "migrate, postgres, proxy, redis" in message
    assert 'set an optional part (worker, migrate, database, cache) to ""' in (
        raised.value.hint or ""
    )


def test_every_missing_name_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        check_named_services(Services().named(), ["app", "proxy"], "compose.yml")
    for part in ("worker", "migrate", "database", "cache"):
        assert f"[tool.dockyard.services] {part} =" in raised.value.message


def test_services_set_to_none_need_no_compose_service() -> None:
    check_named_services(configured(NONE).named(), ["app", "proxy"], "compose.yml")


def test_no_database_and_no_cache_build_and_pull_no_such_base_image(tmp_path: Path) -> None:
    shutil.copytree(REPO / "docker/base", tmp_path / "docker/base", symlinks=True)
    full = Config(root=tmp_path, project="shop", image="shop")
    bare = Config(root=tmp_path, project="shop", image="shop", services=configured(NONE))
    assert [i.key for i in plan_base_images(full, "2026-01-01T00:00:00Z")] == [
        "debian", "python", "postgres", "redis", "nginx", "registry",
    ]  # fmt: skip
    assert [i.key for i in plan_base_images(bare, "2026-01-01T00:00:00Z")] == [
        "debian", "python", "nginx", "registry",
    ]  # fmt: skip
    assert set(official_images(bare)) == {"PYTHON_IMAGE", "PROXY_IMAGE"}
    assert set(local_overrides(bare)) == {"PYTHON_IMAGE", "PROXY_IMAGE"}
