"""Deploy notifications: a Slack-compatible message about a deploy, rollback or release,
whatever its result, for `dockyard.deploy.webhook` to post.

The message is plain facts: a one-line summary, Slack blocks, and the raw event for other
receivers. Text that comes from users (versions, reasons, host names) is escaped so that it
cannot form Slack links or mentions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal
from urllib.parse import urlsplit

Kind = Literal["deploy", "rollback", "release"]
Result = Literal["succeeded", "failed", "rolled back", "interrupted"]

_REASON_CHARS = 1000
# Set by a CI workflow to the run that deployed, so a notification links to its log.
RUN_URL_VARIABLE = "DOCKYARD_RUN_URL"
_ICONS: Mapping[str, str] = {
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "rolled back": ":leftwards_arrow_with_hook:",
    "interrupted": ":warning:",
}


@dataclass(frozen=True)
class Event:
    """What happened to an instance: the facts a notification reports."""

    kind: Kind
    result: Result
    instance: str
    version: str
    previous: str | None
    duration_seconds: float
    user: str
    reason: str  # "" when there is nothing to add
    host: str


def run_url(environ: Mapping[str, str]) -> str | None:
    """The CI run that deployed (`DOCKYARD_RUN_URL`), when it is an http(s) URL; else None."""
    url = environ.get(RUN_URL_VARIABLE, "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in url for c in "<>| "):
        return None
    return url


def payload(event: Event, *, project: str, run: str | None = None) -> dict[str, object]:
    """The webhook body for `event`: a one-line `text` for notifications and clients without
    blocks, `blocks` for Slack, and a `dockyard` object with the raw facts for other receivers.
    `run`, a CI run's URL (see `run_url`), adds a link to it."""
    summary = _summary(event, project)
    blocks: list[dict[str, object]] = [
        {"type": "section", "text": _mrkdwn(summary)},
        {
            "type": "section",
            "fields": [_mrkdwn(f"*{name}*\n{value}") for name, value in _facts(event)],
        },
    ]
    if event.reason:
        blocks.append(
            {"type": "section", "text": _mrkdwn(f"*Reason*\n{_escape(_clip(event.reason))}")}
        )
    context = f"reported by dockyard on {_escape(event.host)}"
    if run:
        context += f" · <{_escape(run)}|CI run>"
    blocks.append({"type": "context", "elements": [_mrkdwn(context)]})
    facts: dict[str, object] = {"project": project, **asdict(event)}
    if run:
        facts["run_url"] = run
    return {"text": summary, "blocks": blocks, "dockyard": facts}


def _summary(event: Event, project: str) -> str:
    icon = _ICONS.get(event.result, ":grey_question:")
    text = (
        f"{icon} {_escape(project)} {_escape(event.instance)}: {event.kind} of "
        f"{_escape(event.version)} {event.result} in {_duration(event.duration_seconds)}"
    )
    if event.previous:
        text += f" (was {_escape(event.previous)})"
    if event.reason:
        text += f": {_escape(_clip(event.reason))}"
    return text


def _facts(event: Event) -> list[tuple[str, str]]:
    return [
        ("Instance", _escape(event.instance)),
        ("Version", _escape(event.version)),
        ("Previous", _escape(event.previous) if event.previous else "none"),
        ("By", f"{_escape(event.user)} on {_escape(event.host)}"),
        ("Duration", _duration(event.duration_seconds)),
        ("Result", f"{event.kind} {event.result}"),
    ]


def _mrkdwn(text: str) -> dict[str, object]:
    return {"type": "mrkdwn", "text": text}


def _escape(text: str) -> str:
    """Text shown literally by Slack: its control characters &, < and > as entities, so a
    value cannot form a link or a mention such as <!channel>."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str) -> str:
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 1] + "…"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"
