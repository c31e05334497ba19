"""The files dockyard ships inside its wheel: base-image contexts, the proxy, compose fragments,
workflow and project templates (`src/dockyard/data/`).

A project overrides any of them by configuration; these are the defaults, read from the
installed package, never from the project's own tree.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_path(*parts: str) -> Path:
    """The installed path of a shipped file or directory, e.g. `data_path("proxy")`."""
    root = Path(str(resources.files("dockyard"))) / "data"
    return root.joinpath(*parts)
