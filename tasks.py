"""The project's tasks: `invoke --list` shows everything dockyard does for tugboat.

dockyard is used here exactly as any service's repository uses it: its tasks, pointed at this
project's `[tool.dockyard]`.
"""

from __future__ import annotations

from pathlib import Path

from dockyard.tasks import namespace

ns = namespace(Path(__file__).resolve().parent)
