"""dockyard's proxy files written for a project whose compose files have no proxy (compose
renders the project's files; no engine needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.core.config import Config
from dockyard.core.errors import ConfigError
from dockyard.core.invocation import toolchain_environ
from dockyard.core.packagedata import data_path
from dockyard.stack.compose import ComposeProject
from dockyard.stack.proxyfiles import with_proxy

ENVIRON = toolchain_environ(os.environ)
SERVICE = """services:
  app:
    image: shop:latest
    networks: [front, data]
networks:
  front: {}
  data: {internal: true}
"""


def project_in(root: Path, *texts: str) -> ComposeProject:
    files = []
    for index, text in enumerate(texts):
        path = root / f"compose{index}.yml"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    env_file = root / ".env"
    env_file.write_text("", encoding="utf-8")
    return ComposeProject("shop", root, tuple(files), env_file)


def test_the_fragment_comes_last_and_its_files_are_written(tmp_path: Path) -> None:
    config = Config(root=tmp_path, project="shop", image="shop")
    own = project_in(tmp_path, SERVICE)
    project = with_proxy(config, own, ENVIRON)
    state = tmp_path / ".dockyard/proxy/shop"
    assert project.files == (*own.files, state / "compose.yml")
    assert '"networks": [\n        "front"\n      ]' in (state / "compose.yml").read_text()
    shipped = data_path("proxy", "default.conf").read_text(encoding="utf-8")
    assert (state / "conf.d/default.conf").read_text(encoding="utf-8") == shipped
    assert "include /etc/nginx/dockyard/upstream.conf;" in shipped
    upstream = (state / "upstream/upstream.conf").read_text(encoding="utf-8")
    assert upstream.splitlines()[-1] == "server app:8000 max_fails=0;"


def test_unchanged_files_are_not_rewritten(tmp_path: Path) -> None:
    """The running proxy reads them through mounts: a rewrite for nothing is no change."""
    config = Config(root=tmp_path, project="shop", image="shop")
    own = project_in(tmp_path, SERVICE)
    with_proxy(config, own, ENVIRON)
    written = sorted((tmp_path / ".dockyard/proxy/shop").rglob("*.*"))
    before = [path.stat().st_ino for path in written]
    with_proxy(config, own, ENVIRON)
    assert [path.stat().st_ino for path in written] == before


def test_a_compose_file_that_defines_the_proxy_is_named(tmp_path: Path) -> None:
    config = Config(root=tmp_path, project="shop", image="shop")
    extra = "services:\n  proxy:\n    image: nginx:1.27\n    networks: [front]\n"
    own = project_in(tmp_path, SERVICE, extra)
    with pytest.raises(ConfigError) as raised:
        with_proxy(config, own, ENVIRON)
    assert str(raised.value).startswith(
        "compose1.yml: defines a service 'proxy', the name of the proxy dockyard adds itself"
    )
    assert not (tmp_path / ".dockyard/proxy").exists()


def test_composes_own_message_when_it_rejects_the_projects_files(tmp_path: Path) -> None:
    config = Config(root=tmp_path, project="shop", image="shop")
    own = project_in(tmp_path, SERVICE.replace("image:", "imagee:"))
    with pytest.raises(ConfigError, match=r"docker compose rejected compose0.yml.*imagee"):
        with_proxy(config, own, ENVIRON)
