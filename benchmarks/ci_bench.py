"""How long `invoke ci.doctor` takes on a 10 MB CI log of noise with a real failure at its end.

    python benchmarks/ci_bench.py

The log: 10 MB of GitHub-Actions-style lines (timestamps, pip and pytest chatter), then the mypy
failure of tests/fixtures/cilogs/types.log. Measured: the whole command (`invoke ci.doctor LOG`,
interpreter start included) and the diagnosis alone in this process, each the median of 5,
against `invoke --list` (the cost of starting invoke at all) from the same run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = 2.0
SIZE = 10_000_000
NOISE = (
    "2026-12-02T09:14:03.0370000Z Collecting wheel metadata for shipping-labels==1.2.3 "
    "(from -r requirements.txt (line 12))\n"
    "2026-12-02T09:14:03.0410000Z tests/unit/test_rates.py::test_light_parcel[case-17] PASSED"
    "                [ 42%]\n"
    "2026-12-02T09:14:03.0520000Z \x1b[32m#12 0.731 Unpacking libssl3:amd64 (3.0.15-1~deb12u1)"
    " ...\x1b[0m\n"
)


@dataclass(frozen=True)
class DoctorTiming:
    command: float
    diagnosis: float
    invoke_list: float
    category: str

    def summary(self) -> dict[str, float | str]:
        return {
            "diagnosis_s": round(self.diagnosis, 3),
            "invoke_list_s": round(self.invoke_list, 3),
            "category": self.category,
        }


def _median(runs: int, command: list[str]) -> float:
    times = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run(command, cwd=REPO, capture_output=True, check=True)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def measure_doctor(runs: int = 5) -> DoctorTiming:
    from dockyard.ci.commands import diagnose
    from dockyard.ci.logs import read_file

    invoke = str(Path(sys.executable).with_name("invoke"))
    failure = (REPO / "tests" / "fixtures" / "cilogs" / "types.log").read_text()
    with tempfile.TemporaryDirectory(prefix="dockyard-cidoctor-") as scratch:
        log = Path(scratch) / "ci.log"
        log.write_text(NOISE * (SIZE // len(NOISE)) + failure)
        diagnosis = []
        for _ in range(runs):
            started = time.monotonic()
            verdict = diagnose([read_file(log)])
            diagnosis.append(time.monotonic() - started)
        command = _median(runs, [invoke, "ci.doctor", str(log)])
    return DoctorTiming(
        command=command,
        diagnosis=statistics.median(diagnosis),
        invoke_list=_median(runs, [invoke, "--list"]),
        category=verdict.category,
    )


if __name__ == "__main__":
    timing = measure_doctor()
    print(f"ci.doctor on 10 MB: {timing.command:.3f} s (target < {TARGET} s); {timing.summary()}")
