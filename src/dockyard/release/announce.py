"""What a release tells after publication: its notification and its history records, as data.

The deploy history holds one `release` record per instance a release reached, after the
instance's smoke test (`smoke passed on <instance>`) and at the end (`notification: ...`).
`read` turns those records back into what `release.status` and `--resume` need: whether the
smoke test passed, whether the release was notified, and why an instance failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dockyard.deploy.history import Record

SUMMARY_LINES = 8
SMOKE_NOTE = "smoke passed on "
NOTIFY_NOTE = "notification: "
IMAGE_NOTE = "image "


@dataclass(frozen=True)
class Recorded:
    """What the history says of one release version."""

    smoke_passed: frozenset[str] = frozenset()  # the instances whose smoke test passed
    notified: frozenset[str] = frozenset()  # the instances a release's end was notified from
    failed: dict[str, str] = field(default_factory=dict)  # instance -> why, the latest failure


def read(records: Iterable[Record], version: str) -> Recorded:
    """The release records of `version`, oldest first, as facts."""
    smoke: set[str] = set()
    notified: set[str] = set()
    failed: dict[str, str] = {}
    for record in records:
        if record.action != "release" or record.version != version:
            continue
        smoke.update(n.removeprefix(SMOKE_NOTE) for n in record.notes if n.startswith(SMOKE_NOTE))
        if any(n.startswith(NOTIFY_NOTE) for n in record.notes):
            notified.add(record.instance)
        if record.result == "succeeded":
            failed.pop(record.instance, None)
        else:
            failed[record.instance] = record.reason or record.result
    return Recorded(frozenset(smoke), frozenset(notified), failed)


def changelog_summary(section: str, lines: int = SUMMARY_LINES) -> str:
    """The changelog section's entries (its heading and blank lines left out), at most `lines`
    of them, with a word on how many more there are."""
    entries = [
        line.strip()
        for line in section.splitlines()[1:]
        if line.strip().startswith(("-", "*", "###"))
    ]
    shown = entries[:lines]
    if len(entries) > lines:
        shown.append(f"… and {len(entries) - lines} more")
    return "\n".join(shown)


def release_payload(
    base: dict[str, object],
    *,
    tag: str,
    image: str,
    changelog: str,
    reached: dict[str, str],
) -> dict[str, object]:
    """A deploy notification's payload (`notify.payload`) made a release's: the changelog
    summary as a block, and the tag, the image and where the release went in the raw facts."""
    summary = changelog_summary(changelog)
    blocks = list(base.get("blocks", []))  # type: ignore[call-overload]
    went = ", ".join(f"{instance}: {state}" for instance, state in reached.items())
    extra: list[dict[str, object]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Where*\n{_escape(went)}"}}
    ]
    if summary:
        text = f"*Changes*\n{_escape(summary)}"
        extra.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    facts = dict(base.get("dockyard", {}))  # type: ignore[call-overload]
    facts.update(tag=tag, image=image, changelog=summary, instances=dict(reached))
    return {**base, "blocks": blocks[:-1] + extra + blocks[-1:], "dockyard": facts}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
