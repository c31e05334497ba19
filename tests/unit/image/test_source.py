"""Official images or local stand-ins: the decision, from what the engine said."""

from __future__ import annotations

from dockyard.image.source import Choice, Probe, choose

PYTHON = "python:3.11-slim-bookworm"
POSTGRES = "postgres:16-bookworm"
NO_REGISTRY = (
    'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host'
)


def test_every_official_image_present_or_pulled_means_no_stand_in_is_built() -> None:
    choice = choose([Probe(PYTHON, present=True, pulled=False), Probe(POSTGRES, False, True)])
    assert choice == Choice(
        official=True,
        reason=(
            "using the official images, every one is available: "
            f"{PYTHON} (present), {POSTGRES} (pulled)"
        ),
        missing=(),
    )


def test_one_image_that_cannot_be_pulled_means_the_stand_ins_and_says_why() -> None:
    choice = choose([Probe(PYTHON, True, False), Probe(POSTGRES, False, False, NO_REGISTRY)])
    assert not choice.official
    assert choice.missing == (POSTGRES,)
    assert choice.reason == (
        "building the local stand-ins, the official images cannot be pulled: "
        f"{POSTGRES}: {NO_REGISTRY}"
    )


def test_a_failed_pull_without_a_message_still_names_the_image() -> None:
    choice = choose([Probe(PYTHON, False, False)])
    assert choice.missing == (PYTHON,)
    assert choice.reason.endswith(f"{PYTHON}: not available")
