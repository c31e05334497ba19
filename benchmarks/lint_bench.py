"""How much of a cold `nox -s lint` a warm one (nothing changed) still costs.

    python benchmarks/lint_bench.py [COLD_RUNS WARM_RUNS]

Runs in a copy of the checkout (tracked files and the working tree's changes) with a uv cache of
its own, so the developer's `.nox` environments and uv cache are not touched. Cold: no `.nox`
and an empty uv cache, so the lint tools are downloaded and installed. Warm: the same command
again with nothing changed.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = 0.33


@dataclass(frozen=True)
class LintTiming:
    """Wall-clock seconds of each cold and warm `nox -s lint`."""

    cold: tuple[float, ...]
    warm: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """Mean warm run over mean cold run."""
        return statistics.mean(self.warm) / statistics.mean(self.cold)

    def summary(self) -> dict[str, float]:
        """The figures as bench.py records them: means and standard deviations in seconds."""
        return {
            "cold_s": round(statistics.mean(self.cold), 3),
            "cold_sd_s": round(statistics.stdev(self.cold), 3) if len(self.cold) > 1 else 0.0,
            "warm_s": round(statistics.mean(self.warm), 3),
            "warm_sd_s": round(statistics.stdev(self.warm), 3) if len(self.warm) > 1 else 0.0,
        }


@contextmanager
def checkout_copy(repo: Path = REPO) -> Iterator[Path]:
    """A temporary copy of the tracked files and the working tree's changes."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout.split("\0")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="dockyard-lint-bench-") as scratch:
        root = Path(scratch)
        for name in filter(None, listed):
            if (repo / name).is_file():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(repo / name, root / name)
        yield root


def measure_lint(
    environ: Mapping[str, str], *, cold_runs: int = 5, warm_runs: int = 10, repo: Path = REPO
) -> LintTiming:
    """Time cold and warm `nox -s lint` runs with this interpreter's nox, in a copy of `repo`."""
    nox = Path(sys.executable).with_name("nox")
    with checkout_copy(repo) as root, tempfile.TemporaryDirectory(prefix="dockyard-uv-") as cache:
        env = {**environ, "UV_CACHE_DIR": cache}
        command = [str(nox), "-f", str(root / "noxfile.py"), "-s", "lint"]
        cold = []
        for _ in range(cold_runs):
            shutil.rmtree(root / ".nox", ignore_errors=True)
            shutil.rmtree(cache)
            cold.append(_timed(command, root, env))
        _timed(command, root, env)  # one warm-up run, as hyperfine --warmup
        warm = [_timed(command, root, env) for _ in range(warm_runs)]
    return LintTiming(tuple(cold), tuple(warm))


def _timed(command: list[str], cwd: Path, env: Mapping[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(command, cwd=cwd, env=dict(env), check=True, capture_output=True)
    return time.monotonic() - started


def main(arguments: list[str]) -> int:
    cold_runs, warm_runs = (int(value) for value in arguments) if arguments else (5, 10)
    timing = measure_lint(os.environ, cold_runs=cold_runs, warm_runs=warm_runs)
    figures = timing.summary()
    print(f"cold nox -s lint: {figures['cold_s']:.3f} s ± {figures['cold_sd_s']:.3f}")
    print(f"warm nox -s lint: {figures['warm_s']:.3f} s ± {figures['warm_sd_s']:.3f}")
    print(f"warm / cold: {timing.ratio:.3f} (target < {TARGET})")
    return 0 if timing.ratio < TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
