"""dockyard's proxy on disk: render the project's own compose files to learn the service's
networks, then write the proxy's compose fragment, nginx configuration and default upstream
into the state directory (`<state_dir>/proxy/<project>/`, git-ignored).

Each file is written only when its text changes: the running proxy reads its configuration
through directory mounts, and a file rewritten for nothing would look like a change.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from dockyard.core import proc
from dockyard.core.config import Config
from dockyard.core.errors import CommandFailedError, ConfigError
from dockyard.core.files import replace_atomically
from dockyard.core.packagedata import data_path
from dockyard.stack.compose import ComposeProject
from dockyard.stack.proxyconf import (
    ProxyFiles,
    proxy_networks,
    render_fragment,
    render_upstream,
)


def compose_config(project: ComposeProject, environ: Mapping[str, str]) -> str:
    """The project's files as compose renders them (`docker compose config --format json`), or
    compose's own message, verbatim, when a file is wrong (BAD-05)."""
    found = proc.run(
        project.command("config", "--format", "json"),
        env=project.environ(environ),
        check=False,
        timeout=60,
    )
    if not found.ok:
        raise rejected(project, found.stderr.strip() or found.stdout.strip())
    return found.stdout


def with_proxy(
    config: Config, project: ComposeProject, environ: Mapping[str, str]
) -> ComposeProject:
    """`project` (the project's own compose files) with dockyard's proxy fragment appended,
    its files written first."""
    rendered = compose_config(project, environ)
    shown = [shown_path(path, project.directory) for path in project.files]
    defining = [
        name
        for name, path in zip(shown, project.files, strict=True)
        if _mentions_service(path, config.services.proxy)
    ]
    networks = proxy_networks(json.loads(rendered), config, defining, ", ".join(shown))
    files = ProxyFiles.of(config, project.name)
    _write(files.conf_dir / "default.conf", data_path("proxy", "default.conf").read_text("utf-8"))
    _write(files.upstream_dir / "upstream.conf", render_upstream(config))
    _write(files.fragment, render_fragment(config, networks, files))
    return replace(project, files=(*project.files, files.fragment))


def remove_files(files: ProxyFiles) -> None:
    """Remove a compose project's proxy files once the project is down (they are written again
    by the next command that runs it)."""
    if not files.directory.exists():
        return
    try:
        shutil.rmtree(files.directory)
    except OSError as error:
        raise CommandFailedError(
            f"{files.directory}: could not be removed: {error.strerror or error}",
            hint=f"check the permissions of {files.directory.parent}, or remove it by hand",
        ) from None


def rejected(project: ComposeProject, said: str) -> ConfigError:
    """Compose's own message, verbatim, when it rejects the project's files (BAD-05)."""
    files = ", ".join(shown_path(path, project.directory) for path in project.files)
    return ConfigError(
        f"docker compose rejected {files} (with {project.env_file.name})",
        [said],
        hint=f"fix the file named above: one of {files} or {project.env_file.name}",
    )


def shown_path(path: Path, directory: Path) -> str:
    return str(path.relative_to(directory)) if path.is_relative_to(directory) else str(path)


def _mentions_service(path: Path, name: str) -> bool:
    """Whether a compose file has an indented `name:` key, as a service of that name does."""
    pattern = re.compile(rf"^[ \t]+{re.escape(name)}[ \t]*:[ \t]*(#.*)?$", re.MULTILINE)
    return bool(pattern.search(path.read_text(encoding="utf-8", errors="replace")))


def _write(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
        return
    replace_atomically(path, text)
