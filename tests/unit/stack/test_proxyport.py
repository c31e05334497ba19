"""The proxy's published port: one variable (PROXY_PORT) whatever the proxy is named, and 8080
when `[tool.dockyard.ports]` has no entry for it, everywhere dockyard reads or checks it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dockyard.core.config import Config, Services, parse_config
from dockyard.core.errors import ConfigError
from dockyard.deploy.instances import Instance, compose_variables, load_instance
from dockyard.stack.commands import base_url
from dockyard.stack.proxyconf import (
    PORT_VARIABLE,
    ProxyFiles,
    port_variables,
    published_ports,
    render_fragment,
)

EDGE = Config(
    root=Path("/srv/shop"),
    project="shop",
    image="shop",
    services=Services(proxy="edge"),
    ports={"edge": 9123, "adminer": 8089},
)
UNSET = Config(root=Path("/srv/shop"), project="shop", image="shop")


def published(config: Config) -> list[str]:
    text = render_fragment(config, ["front"], ProxyFiles.of(config, config.project))
    document: dict[str, Any] = json.loads(text.split("\n", 2)[2])
    ports: list[str] = document["services"][config.services.proxy]["ports"]
    return ports


def test_a_proxy_named_otherwise_is_published_through_proxy_port_only() -> None:
    """The stack sets PROXY_PORT (never EDGE_PORT) and the fragment reads it; the project's own
    published services keep their `<NAME>_PORT`."""
    assert port_variables(EDGE) == {"PROXY_PORT": "9123", "ADMINER_PORT": "8089"}
    assert published(EDGE) == ["${PROXY_BIND:-127.0.0.1}:${PROXY_PORT:-9123}:8080"]


def test_an_instance_sets_the_same_variable_the_default_stack_sets() -> None:
    instance = Instance(id="staging", source=Path("staging.toml"), profile="testing", port=9001)
    assert compose_variables(instance)[PORT_VARIABLE] == "9001"
    assert PORT_VARIABLE in port_variables(EDGE)


def test_without_a_ports_entry_the_proxy_is_published_on_8080_and_answers_there() -> None:
    assert published(UNSET) == ["${PROXY_BIND:-127.0.0.1}:${PROXY_PORT:-8080}:8080"]
    assert port_variables(UNSET) == {"PROXY_PORT": "8080"}
    assert published_ports(UNSET) == {"proxy": 8080}  # what stack.up and doctor check is free
    # what stack.up probes, stack.health asks and bootstrap smoke-tests
    assert base_url(UNSET) == "http://127.0.0.1:8080"
    assert base_url(EDGE) == "http://127.0.0.1:9123"


def test_an_instance_on_the_unconfigured_default_port_is_refused(tmp_path: Path) -> None:
    config = parse_config({"project": "shop", "image": "shop"}, root=tmp_path)
    directory = config.path(config.instances_dir)
    directory.mkdir(parents=True)
    (directory / "staging.toml").write_text('profile = "testing"\nport = 8080\n', "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_instance(config, "staging")
    assert caught.value.problems == [
        "staging.toml: port 8080 is the default stack's proxy port ([tool.dockyard.ports] in "
        "pyproject.toml); give the instance a port of its own"
    ]
