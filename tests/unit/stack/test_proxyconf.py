"""dockyard's own proxy, rendered from the configuration: the compose fragment, the default
upstream, the networks it joins, and the project files it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dockyard.core.config import Config, Deploy, Images, Services
from dockyard.core.errors import ConfigError
from dockyard.stack.proxyconf import (
    ProxyFiles,
    exemptions,
    proxy_networks,
    render_fragment,
    render_upstream,
)

CONFIG = Config(
    root=Path("/srv/shop"),
    project="shop",
    image="shop",
    services=Services(app="web", proxy="edge-proxy"),
    deploy=Deploy(app_port=9000),
    ports={"edge-proxy": 9123},
    images=Images(proxy="registry.example/nginx:1.27"),
)
FILES = ProxyFiles.of(CONFIG, "shop")


def fragment(config: Config = CONFIG, networks: tuple[str, ...] = ("front",)) -> dict[str, Any]:
    text = render_fragment(config, list(networks), ProxyFiles.of(config, config.project))
    assert text.startswith("# Written by dockyard")
    document: dict[str, Any] = json.loads(text.split("\n", 2)[2])  # a comment, then JSON
    return document


def test_the_fragment_adds_one_service_named_by_the_configuration() -> None:
    assert list(fragment()["services"]) == ["edge-proxy"]


def test_the_proxy_keeps_every_hardening_of_the_checklist() -> None:
    proxy = fragment()["services"]["edge-proxy"]
    assert proxy["read_only"] is True
    assert proxy["cap_drop"] == ["ALL"]
    assert proxy["security_opt"] == ["no-new-privileges:true"]
    assert proxy["restart"] == "unless-stopped"
    assert proxy["deploy"]["resources"]["limits"] == {"cpus": "0.5", "memory": "128M", "pids": 100}
    assert proxy["healthcheck"]["test"][0] == "CMD"
    assert proxy["tmpfs"] == ["/tmp"]
    assert proxy["logging"]["options"] == {"max-size": "10m", "max-file": "3"}


def test_the_proxy_is_published_on_loopback_at_the_configured_port_and_image() -> None:
    proxy = fragment()["services"]["edge-proxy"]
    assert proxy["ports"] == ["${PROXY_BIND:-127.0.0.1}:${PROXY_PORT:-9123}:8080"]
    assert proxy["image"] == "${PROXY_IMAGE:-registry.example/nginx:1.27}"


def test_without_a_configured_port_the_proxy_publishes_8080() -> None:
    config = Config(root=Path("/srv"), project="p", image="p")
    assert fragment(config)["services"]["proxy"]["ports"] == [
        "${PROXY_BIND:-127.0.0.1}:${PROXY_PORT:-8080}:8080"
    ]


def test_the_proxy_starts_beside_the_app_on_its_networks() -> None:
    proxy = fragment(networks=("front", "public"))["services"]["edge-proxy"]
    assert proxy["depends_on"] == {"web": {"condition": "service_started"}}
    assert proxy["networks"] == ["front", "public"]


def test_mounts_are_absolute_read_only_and_the_upstream_can_be_replaced_by_a_deploy() -> None:
    conf, upstream = fragment()["services"]["edge-proxy"]["volumes"]
    assert conf == {
        "type": "bind",
        "source": "/srv/shop/.dockyard/proxy/shop/conf.d",
        "target": "/etc/nginx/conf.d",
        "read_only": True,
    }
    assert upstream["source"] == (
        "${DOCKYARD_UPSTREAM_DIR:-/srv/shop/.dockyard/proxy/shop/upstream}"
    )
    assert upstream["target"] == "/etc/nginx/dockyard"
    assert upstream["read_only"] is True


def test_a_dollar_in_a_path_or_image_is_not_interpolated_by_compose() -> None:
    config = Config(
        root=Path("/srv/$HOME"), project="p", image="p", images=Images(proxy="nginx:$tag")
    )
    proxy = fragment(config)["services"]["proxy"]
    assert proxy["image"] == "${PROXY_IMAGE:-nginx:$$tag}"
    assert proxy["volumes"][0]["source"] == "/srv/$$HOME/.dockyard/proxy/p/conf.d"


def test_the_default_upstream_is_the_app_service_at_its_port() -> None:
    lines = render_upstream(CONFIG).splitlines()
    assert lines[-1] == "server web:9000 max_fails=0;"
    assert all(line.startswith("#") for line in lines[:-1])


def test_the_state_directory_holds_each_projects_files() -> None:
    assert FILES.fragment == Path("/srv/shop/.dockyard/proxy/shop/compose.yml")
    assert FILES.conf_dir.parent == FILES.upstream_dir.parent == FILES.directory


def test_the_proxys_one_reviewed_exception_names_its_service() -> None:
    [exemption] = exemptions(CONFIG)
    assert (exemption.rule, exemption.subject) == ("RT-10", "edge-proxy")


# ------------------------------------------------------------- the networks ---


def rendered(web: dict[str, Any], networks: dict[str, Any]) -> dict[str, Any]:
    return {"services": {"web": web, "db": {"networks": {"data": None}}}, "networks": networks}


def test_the_proxy_joins_the_apps_networks_that_are_not_internal() -> None:
    document = rendered(
        {"networks": {"data": None, "front": None}},
        {"data": {"internal": True}, "front": {"name": "shop_front"}},
    )
    assert proxy_networks(document, CONFIG, [], "compose.yml") == ["front"]


def test_an_app_without_networks_of_its_own_shares_the_default_one() -> None:
    document = rendered({"networks": {"default": None}}, {"default": {"name": "shop_default"}})
    assert proxy_networks(document, CONFIG, [], "compose.yml") == ["default"]


def test_a_project_that_defines_the_proxy_is_told_to_remove_it() -> None:
    document = rendered({"networks": {"default": None}}, {})
    document["services"]["edge-proxy"] = {"image": "nginx"}
    with pytest.raises(ConfigError) as raised:
        proxy_networks(document, CONFIG, ["deploy/compose.yml"], "compose.yml, deploy/compose.yml")
    error = raised.value
    assert error.message == (
        "deploy/compose.yml: defines a service 'edge-proxy', the name of the proxy dockyard "
        "adds itself"
    )
    assert error.hint is not None
    assert "remove the 'edge-proxy' service" in error.hint
    assert "[tool.dockyard.services] proxy" in error.hint


def test_an_app_only_on_internal_networks_cannot_be_proxied() -> None:
    document = rendered({"networks": {"data": None}}, {"data": {"internal": True}})
    with pytest.raises(ConfigError, match=r"'web' has only internal networks \(data\)"):
        proxy_networks(document, CONFIG, [], "compose.yml")


def test_an_app_on_the_hosts_network_cannot_be_proxied() -> None:
    document = rendered({"network_mode": "host"}, {})
    with pytest.raises(ConfigError, match="'web' has network_mode host"):
        proxy_networks(document, CONFIG, [], "compose.yml")


def test_a_missing_app_service_names_the_setting() -> None:
    document: dict[str, Any] = {"services": {"api": {}}, "networks": {}}
    with pytest.raises(ConfigError, match=r"\[tool.dockyard.services\] app = 'web'.*api"):
        proxy_networks(document, CONFIG, [], "compose.yml")
