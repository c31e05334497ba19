"""The task layer: what a user sees from `invoke`, for good input and bad."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
INVOKE = Path(sys.executable).with_name("invoke")


def invoke(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INVOKE), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_invoke_list_shows_the_tasks_with_their_summaries() -> None:
    listed = invoke("--list")
    assert listed.returncode == 0
    for name in ("doctor", "bootstrap", "audit"):
        assert f"  {name} " in listed.stdout


def test_invalid_configuration_is_one_clear_message_and_exit_code_2(tmp_path: Path) -> None:
    """A typo in [tool.dockyard] names the key and the fix; no traceback, before any other work."""
    shutil.copy(REPO / "tasks.py", tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.dockyard]\nproject = "shop"\nimage = "shop"\n'
        '[tool.dockyard.helth]\nlive_path = "/"\n'
    )
    done = invoke("doctor", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"dockyard: error: {tmp_path / 'pyproject.toml'}: "
        "tool.dockyard.helth: unknown key (did you mean 'health'?)\n"
    )
    assert done.stdout == ""


def test_a_missing_pyproject_is_exit_code_4(tmp_path: Path) -> None:
    shutil.copy(REPO / "tasks.py", tmp_path)
    done = invoke("doctor", cwd=tmp_path)
    assert done.returncode == 4
    assert "pyproject.toml: not found" in done.stderr
    assert "Traceback" not in done.stderr
