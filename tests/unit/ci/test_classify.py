"""ci.doctor on logs of really failing runs (tests/fixtures/cilogs, made by make.sh there), and on
logs that are empty, binary, truncated or huge."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from dockyard.ci.classify import UNKNOWN, Verdict
from dockyard.ci.commands import diagnose
from dockyard.ci.logs import Raw, read_file, read_stream
from dockyard.ci.normalise import HEAD_BYTES, TAIL_BYTES, normalise
from dockyard.ci.render import markdown

LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "cilogs"


def verdict_on(*names: str) -> Verdict:
    return diagnose([read_file(LOGS / name, name) for name in names])


# fixture, category, a line the verdict shows, facts it pulls out
CASES = [
    ("lint.log", "lint", "F401 [*] `os` imported but unused", {"rule": "F401"}),
    ("format.log", "format", " --> src/shipping/fmt.py:1:16", {}),
    (
        "types.log",
        "types",
        "src/shipping/types.py:6: error: Incompatible return value type",
        {"file": "src/shipping/types.py", "line": "6"},
    ),
    (
        "test.log",
        "test",
        "E       assert 9 == 12",
        {"test": "tests/test_rates.py::test_heavy_parcel", "assertion": "assert 9 == 12"},
    ),
    (
        "junit-test.xml",
        "test",
        "FAILED tests.test_rates::test_heavy_parcel - assert 9 == 12",
        {"test": "tests.test_rates::test_heavy_parcel", "assertion": "assert 9 == 12"},
    ),
    (
        "coverage.log",
        "coverage",
        "FAIL Required test coverage of 100% not reached. Total coverage: 23.08%",
        {"total": "23", "threshold": "100"},
    ),
    (
        "lock.log",
        "lock",
        "error: The lockfile at `uv.lock` needs to be updated, but `--locked` was provided.",
        {},
    ),
    (
        "nodist.log",
        "dependencies",
        "ERROR: No matching distribution found for shipping-labels==9.9",
        {"requirement": "shipping-labels==9.9"},
    ),
    (
        "nosolution.log",
        "dependencies",
        "error: No solution found when resolving dependencies",
        {"requirement": "shipping-labels-unknown"},
    ),
    (
        "docker-build.log",
        "docker-build",
        ' > [3/3] RUN python3 -c "import shipping_labels":',
        {"step": "3/3", "instruction": 'RUN python3 -c "import shipping_labels"'},
    ),
    (
        "no-engine.log",
        "no-engine",
        "Cannot connect to the Docker daemon at unix:///nonexistent. Is the docker daemon running?",
        {"socket": "unix:///nonexistent"},
    ),
    ("tls.log", "tls", "certificate verify failed: self-signed certificate", {}),
    (
        "dns.log",
        "dns",
        "socket.gaierror: [Errno -2] Name or service not known",
        {"host": "registry.shipping.invalid"},
    ),
    (
        "refused.log",
        "connection-refused",
        "ConnectionRefusedError: [Errno 111] Connection refused",
        {"host": "127.0.0.1", "port": "9"},
    ),
    (
        "timeout.log",
        "timeout",
        "E       Failed: Timeout (>1.0s) from pytest-timeout.",
        {"test": "tests/test_slow.py::test_waits_for_the_carrier"},
    ),
    (
        "oom.log",
        "out-of-memory",
        'Killed                  python3 -c "data = bytearray(100 * 1024 * 1024)"',
        {},
    ),
    (
        "disk-full.log",
        "disk-full",
        "dd: error writing '/scratch/cache.bin': No space left on device",
        {},
    ),
    ("nox.log", "types", "Found 1 error in 1 file (checked 1 source file)", {}),
    ("actions-nox.log", "types", "Found 1 error in 1 file (checked 1 source file)", {}),
    ("actions-oom.log", "out-of-memory", "Process completed with exit code 137.", {}),
    (
        "color.log",
        "test",
        "E       assert 9 == 12",
        {"test": "tests/test_rates.py::test_heavy_parcel"},
    ),
    (
        "unknown.log",
        UNKNOWN,
        "cp: cannot stat 'reports/artefacts.tar.gz': No such file or directory",
        {},
    ),
]


@pytest.mark.parametrize(("name", "category", "line", "details"), CASES, ids=[c[0] for c in CASES])
def test_each_real_failure_is_named_with_its_lines(
    name: str, category: str, line: str, details: dict[str, str]
) -> None:
    verdict = verdict_on(name)
    assert verdict.category == category
    assert any(line in shown for shown in verdict.lines), verdict.lines
    assert details.items() <= verdict.details.items()
    assert verdict.fix


def test_the_relevant_lines_are_not_the_whole_log() -> None:
    verdict = verdict_on("dns.log")
    assert len(verdict.lines) < len((LOGS / "dns.log").read_text().splitlines()) / 5
    assert not any(line.lstrip().startswith("File ") for line in verdict.lines)


def test_a_cause_outranks_the_symptoms_it_brings_along() -> None:
    """pip's TLS failure also ends in "No matching distribution": the certificate is the cause."""
    verdict = verdict_on("tls.log")
    assert (verdict.category, verdict.also) == ("tls", ["dependencies"])


def test_a_github_actions_log_names_the_step_nox_session_and_exit_code() -> None:
    verdict = verdict_on("actions-nox.log")
    assert (verdict.step, verdict.session, verdict.exit_code) == (
        "Run .venv/bin/nox -s ci",
        "typecheck",
        1,
    )
    assert not any(line[:4].isdigit() for line in verdict.lines)  # no timestamps shown


def test_a_junit_report_and_a_log_together_keep_the_cause_first() -> None:
    verdict = verdict_on("junit-test.xml", "oom.log")
    assert (verdict.category, verdict.also) == ("out-of-memory", ["test"])
    assert verdict_on("junit-test.xml", "unknown.log").category == "test"


def test_the_unknown_verdict_shows_the_last_error_looking_lines() -> None:
    lines = [f"step {n} ok" for n in range(50)] + ["fatal: refusing to work", "bye"]
    verdict = diagnose([Raw("x", "\n".join(lines).encode())])
    assert (verdict.category, verdict.lines) == (UNKNOWN, ["fatal: refusing to work"])


def test_an_empty_log_is_unknown_and_says_so() -> None:
    verdict = diagnose([Raw("empty", b"")])
    assert (verdict.category, verdict.title, verdict.lines) == (UNKNOWN, "the log is empty", [])
    assert "```" not in markdown(verdict, "empty")


def test_binary_bytes_do_not_crash_and_a_real_failure_among_them_is_found() -> None:
    noise = random.Random(9).randbytes(300_000)  # noqa: S311 - noise, not a secret
    assert diagnose([Raw("noise", noise)]).category in {UNKNOWN, *[c[1] for c in CASES]}
    mixed = noise[:1000] + b"\x00\xff\xfe\n" + (LOGS / "types.log").read_bytes() + b"\x00" * 100
    verdict = diagnose([Raw("mixed", mixed)])
    assert verdict.category == "types"
    assert all("\x00" not in line for line in verdict.lines)


@pytest.mark.parametrize("name", ["test.log", "junit-test.xml", "docker-build.log"])
def test_a_truncated_log_does_not_crash(name: str) -> None:
    data = (LOGS / name).read_bytes()
    for cut in (1, len(data) // 3, len(data) // 2, len(data) - 7):
        assert diagnose([Raw(name, data[:cut])]).fix


def test_colours_crlf_and_runner_timestamps_are_stripped() -> None:
    log = normalise("2026-12-02T09:14:03.0370000Z \x1b[31mE       assert 1 == 2\x1b[0m\r\nnext\r")
    assert log.lines == ["E       assert 1 == 2", "next", ""]


def test_a_huge_log_is_read_as_its_head_and_tail(tmp_path: Path) -> None:
    """10 MB of noise with the failure at the end: the middle is skipped, the failure found."""
    line = b"2026-12-02T09:14:03.0370000Z collecting wheel metadata for package number 12345\n"
    noise = line * (10_000_000 // len(line))
    log = tmp_path / "huge.log"
    log.write_bytes(noise + (LOGS / "types.log").read_bytes())
    size = log.stat().st_size
    verdict = diagnose([read_file(log)])
    assert (verdict.category, verdict.skipped_bytes) == ("types", size - HEAD_BYTES - TAIL_BYTES)
    streamed = read_stream(io.BytesIO(log.read_bytes()))
    assert (streamed.skipped_bytes, len(streamed.tail)) == (
        size - HEAD_BYTES - len(streamed.tail),
        len(streamed.tail),
    )
    assert TAIL_BYTES <= len(streamed.tail) < TAIL_BYTES + (1 << 20)
    assert streamed.tail.endswith((LOGS / "types.log").read_bytes())
    assert diagnose([streamed]).category == "types"


def test_one_huge_line_without_a_newline_is_shown_cut() -> None:
    data = b"x" * 3_000_000 + b" No space left on device"
    verdict = diagnose([Raw("one-line", data)])
    assert verdict.category == "disk-full"
    assert len(verdict.lines) == 1
    assert len(verdict.lines[0]) < 500


def test_markdown_fences_survive_backticks_in_the_lines() -> None:
    text = markdown(verdict_on("lint.log"), "lint.log")
    assert "````" not in text or text.count("````") == 2
    assert "**Fix:** Run `ruff check --fix`" in text
    assert "F401 [*] `os` imported but unused" in text
