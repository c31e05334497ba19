"""What an instance's last deploy put live: its runtime directory's serving.json, read and
written (atomically) by the switch, read by `deploy.status` and the release's world."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.errors import DockyardError
from dockyard.core.files import replace_atomically
from dockyard.deploy.plan import Serving

if TYPE_CHECKING:
    from dockyard.deploy.target import Target


def read_serving(target: Target) -> Serving | None:
    return serving_in(target.runtime_dir)


def serving_in(runtime_dir: Path) -> Serving | None:
    """What an instance's last deploy put live (its runtime directory's serving.json)."""
    try:
        return Serving.from_json((runtime_dir / "serving.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError) as error:
        raise DockyardError(
            f"{runtime_dir / 'serving.json'}: unreadable ({error})",
            hint="remove the file; the next deploy then brings the instance up from scratch",
        ) from None


def write_serving(target: Target, serving: Serving) -> None:
    replace_atomically(target.runtime_dir / "serving.json", serving.to_json() + "\n")


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
