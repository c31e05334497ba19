"""A verdict as people read it: plain lines for a terminal, Markdown for a job summary."""

from __future__ import annotations

import re

from dockyard.ci.classify import UNKNOWN, Verdict


def headline(verdict: Verdict, source: str) -> str:
    what = "could not tell what failed" if verdict.category == UNKNOWN else verdict.title
    return f"ci.doctor: {verdict.category}: {what} ({source})"


def facts(verdict: Verdict) -> list[tuple[str, str]]:
    """The named facts of a verdict, in the order people read them."""
    found = list(verdict.details.items())
    if verdict.session:
        found.append(("nox session", verdict.session))
    if verdict.step:
        found.append(("step", verdict.step))
    if verdict.exit_code is not None:
        found.append(("exit code", str(verdict.exit_code)))
    if verdict.also:
        found.append(("also seen", ", ".join(verdict.also)))
    if verdict.skipped_bytes:
        found.append(("not read", f"{verdict.skipped_bytes} bytes in the middle of the log"))
    return found


def text_lines(verdict: Verdict, source: str) -> list[str]:
    lines = [headline(verdict, source)]
    lines += [f"  {name}: {value}" for name, value in facts(verdict)]
    if verdict.lines:
        label = "error-looking lines" if verdict.category == UNKNOWN else "relevant lines"
        lines.append(f"  {label}:")
        lines += [f"    | {line}" for line in verdict.lines]
    lines.append(f"  fix: {verdict.fix}")
    return lines


def markdown(verdict: Verdict, source: str) -> str:
    """A job-summary section: the verdict, its facts, the lines in a code block, the fix."""
    what = "could not tell what failed" if verdict.category == UNKNOWN else verdict.title
    parts = [f"### ci.doctor: `{verdict.category}`: {what}", "", f"Read from `{source}`.", ""]
    parts += [f"- **{name}**: {_inline(value)}" for name, value in facts(verdict)]
    if verdict.lines:
        body = "\n".join(verdict.lines)
        longest = max((len(run) for run in re.findall("`+", body)), default=0)
        fence = "`" * max(3, longest + 1)
        parts += ["", fence, body, fence]
    parts += ["", f"**Fix:** {verdict.fix}", ""]
    return "\n".join(parts)


def _inline(value: str) -> str:
    longest = max((len(run) for run in re.findall("`+", value)), default=0)
    ticks = "`" * (longest + 1)
    return f"{ticks} {value} {ticks}"
