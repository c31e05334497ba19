"""Whether a switch took: verdicts on what the proxy routes to and on the answers through it.

dockyard knows which version serves from what it controls itself: the upstream file it wrote
names the containers the proxy sends requests to, and the engine says which image each of them
runs. A service only has to answer its readiness URL; a version endpoint, when configured, is an
extra check. Every answer a service can give (no answer, any status, a body that is not JSON, a
bare JSON value, a list, an object without "version", a huge body) gets a verdict, never an
exception. Nothing here touches Docker, files or the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MAX_BODY = 64 * 1024  # bytes of an answer that are read; a larger body is cut off there
EXCERPT = 200  # characters of an answer quoted in a verdict


@dataclass(frozen=True)
class Answer:
    """One answer to one request: its status and (up to MAX_BODY of) its body, or why there
    was none."""

    status: int | None = None  # None when there was no HTTP answer at all
    body: bytes = b""
    truncated: bool = False  # the body was longer than MAX_BODY
    error: str = ""  # why there was no answer


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str


def excerpt(body: bytes) -> str:
    """The start of a body, as text fit for a one-line message."""
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "..."


def ready_verdict(answer: Answer) -> Verdict:
    """Readiness: any 200 answer, whatever its body."""
    if answer.status is None:
        return Verdict(False, f"no answer ({answer.error or 'unknown reason'})")
    if answer.status == 200:
        return Verdict(True, "ready")
    return Verdict(False, f"HTTP {answer.status}: {excerpt(answer.body)}")


def version_verdict(answer: Answer, expect: str) -> Verdict:
    """The version endpoint's answer names `expect`: a 200 with a JSON object whose "version"
    is that string."""
    ready = ready_verdict(answer)
    if not ready.ok:
        return ready
    if answer.truncated:
        return Verdict(False, f"an answer over {MAX_BODY} bytes, not a version document")
    try:
        document = json.loads(answer.body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond reason
        return Verdict(False, f"not JSON: {excerpt(answer.body) or '(empty body)'}")
    if not isinstance(document, dict):
        kind = "list" if isinstance(document, list) else "bare JSON value"
        return Verdict(
            False, f'a {kind} ({excerpt(answer.body)}), not an object with a "version" key'
        )
    if "version" not in document:
        keys = ", ".join(sorted(map(str, document))[:10]) or "none"
        return Verdict(False, f'a JSON object without a "version" key (keys: {keys})')
    version = document["version"]
    if not isinstance(version, str):
        return Verdict(False, f'"version" is {json.dumps(version)[:EXCERPT]}, not a string')
    if version != expect:
        return Verdict(False, f"version {version!r} answers, expected {expect!r}")
    return Verdict(True, f"version {expect}")


def upstream_names(text: str) -> list[str]:
    """The containers an upstream file (as `render_upstream` writes it) sends requests to."""
    names = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "server":
            names.append(words[1].rpartition(":")[0] or words[1])
    return names


def routed_verdict(
    upstream: Sequence[str],
    wanted: Sequence[str],
    images: Mapping[str, str | None],
    image: str | None,
) -> Verdict:
    """The proxy's upstream names exactly the `wanted` containers, each of them is running and,
    when `image` is given, runs that image. `images` maps a container to the image id it runs
    (None when it is not running or does not exist)."""
    if not wanted:
        return Verdict(False, "no container to send requests to")
    if sorted(upstream) != sorted(wanted):
        return Verdict(
            False,
            f"the upstream names {', '.join(upstream) or 'nothing'}, not {', '.join(wanted)}",
        )
    for name in wanted:
        runs = images.get(name)
        if runs is None:
            return Verdict(False, f"{name} is not running")
        if image is not None and runs != image:
            return Verdict(False, f"{name} runs image {_short(runs)}, not {_short(image)}")
    what = f"image {_short(image)}" if image else "running containers"
    return Verdict(True, f"the proxy sends requests to {len(wanted)} container(s) of {what}")


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]
