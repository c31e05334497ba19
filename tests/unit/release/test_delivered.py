"""After publication, as data: what the history's release records say, what an instance
serves by digest, the release's notification, and `release.status` after a failed staging."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from rich.console import Console

from dockyard.core.config import Config
from dockyard.core.errors import ExitCode
from dockyard.core.invocation import Invocation
from dockyard.deploy.history import Record, current_version
from dockyard.deploy.pull import is_digest_reference
from dockyard.release import announce, deliver
from dockyard.release.plan import World, decide, next_step
from dockyard.release.shipped import Shipped
from dockyard.release.world import InstanceFacts

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
HEAD = "c" * 40


def record(
    instance: str, result: str = "succeeded", *, action: str = "release", version: str = "1.1.0",
    notes: tuple[str, ...] = (), reason: str = "",
) -> Record:  # fmt: skip
    return Record(
        instance=instance, action=action, version=version, previous="1.0.0",  # type: ignore[arg-type]
        user="ci", started="2026-12-02T10:00:00Z", duration_seconds=1.0,
        result=result, reason=reason, notes=notes,  # type: ignore[arg-type]
    )  # fmt: skip


def test_the_history_tells_the_smoke_test_the_notification_and_the_latest_failure() -> None:
    records = [
        record("staging", "failed", reason="not ready after 25 s"),
        record("staging", notes=("smoke passed on staging",)),
        record("production", "failed", reason="rolled back", notes=("notification: sent",)),
        record("staging", notes=("smoke passed on staging",), version="1.2.0"),
        record("production", action="deploy"),
    ]
    found = announce.read(records, "1.1.0")
    assert found.smoke_passed == {"staging"}
    assert found.notified == {"production"}
    assert found.failed == {"production": "rolled back"}  # staging's failure was made good


def test_a_release_record_never_counts_as_what_an_instance_serves() -> None:
    records = [record("production", action="deploy", version="1.0.0"), record("production")]
    assert current_version(records, "production") == "1.0.0"


def test_an_instance_serves_the_release_only_from_its_digest() -> None:
    facts = InstanceFacts(
        "1.1.0", DIGEST,
        versions={"staging": "1.1.0", "production": "1.1.0", "other": "1.0.0"},
        digests={"staging": DIGEST, "production": OTHER, "other": None},
        recorded=announce.Recorded(),
    )  # fmt: skip
    assert facts.serves("staging")
    assert not facts.serves("production")  # the same version number, built elsewhere
    assert not facts.serves("other")
    assert facts.served() == {
        "staging": "1.1.0", "production": f"1.1.0 ({OTHER})", "other": "1.0.0",
    }  # fmt: skip
    unknown = dataclasses.replace(facts, digests={})  # no engine answering: the version says
    assert unknown.serves("production")


def test_status_after_a_failed_staging_says_what_it_left_and_what_to_run() -> None:
    world = World(
        version="1.1.0", tag="v1.1.0", head=HEAD, declared_version="1.1.0",
        changelog_has_section=True, local_tag_commit=HEAD, remote_tag_commit=HEAD,
        image_repository="127.0.0.1:5000/demo", registry_configured=True,
        registry_digest=DIGEST, local_digest=DIGEST,
        serving={"staging": "1.0.0", "production": "1.0.0"},
        failed={"staging": "1.1.0 did not go live: not ready after 25 s"},
    )  # fmt: skip
    steps = decide(world)
    states = {step.name: step.state for step in steps}
    assert states["publish"] == "done"
    step = next_step(steps)
    assert step is not None
    assert step.name == "deploy-staging"
    assert "staging failed (1.1.0 did not go live: not ready after 25 s)" in step.detail
    assert "it still serves 1.0.0" in step.detail
    assert "the next release supersedes this one, or `invoke release --resume`" in step.detail


def test_a_release_notified_from_production_is_complete() -> None:
    world = World(
        version="1.1.0", tag="v1.1.0", head=HEAD, declared_version="1.1.0",
        changelog_has_section=True, local_tag_commit=HEAD, remote_tag_commit=HEAD,
        image_repository="127.0.0.1:5000/demo", registry_configured=True,
        registry_digest=DIGEST, serving={"staging": "1.1.0", "production": "1.1.0"},
        smoke_passed=True, notified=True,
    )  # fmt: skip
    assert next_step(decide(world)) is None
    assert next_step(decide(dataclasses.replace(world, notified=False))).name == "notify"  # type: ignore[union-attr]


def test_only_a_full_sha256_digest_is_a_reference_by_digest() -> None:
    assert is_digest_reference(f"127.0.0.1:5000/acme/tugboat@{DIGEST}")
    assert not is_digest_reference("tugboat:1.1.0")
    assert not is_digest_reference("tugboat@sha256:abc")
    assert not is_digest_reference(f"@{DIGEST}")


def test_the_notification_carries_the_changelog_the_tag_the_image_and_where_it_went() -> None:
    section = "## 1.1.0 (2026-12-02)\n\n### Features\n\n" + "".join(
        f"- feature {n}\n" for n in range(12)
    )
    base: dict[str, object] = {
        "text": "release", "blocks": [{"type": "section"}, {"type": "context"}],
        "dockyard": {"kind": "release"},
    }  # fmt: skip
    body = announce.release_payload(
        base, tag="v1.1.0", image=f"r/demo@{DIGEST}", changelog=section,
        reached={"staging": "smoke test passed", "production": "smoke test failed <x>"},
    )  # fmt: skip
    facts = body["dockyard"]
    assert isinstance(facts, dict)
    assert facts["kind"] == "release"
    assert (facts["tag"], facts["image"]) == ("v1.1.0", f"r/demo@{DIGEST}")
    assert facts["changelog"].splitlines()[:2] == ["### Features", "- feature 0"]
    assert facts["changelog"].endswith("… and 5 more")
    blocks = body["blocks"]
    assert isinstance(blocks, list)
    assert blocks[-1] == {"type": "context"}  # the context stays last
    assert "smoke test failed &lt;x&gt;" in str(blocks)


def test_a_release_with_json_prints_one_document_of_both_halves_and_its_exit_code(
    repo_config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    console = Console(file=io.StringIO())
    invocation = Invocation(repo_config, {}, console, as_json=True)
    shipped = Shipped("1.1.0", "v1.1.0", "127.0.0.1:5000/demo", DIGEST, "## 1.1.0\n")
    publication = {
        "version": "1.1.0", "tag": "v1.1.0", "published": True, "seconds": 12.5,
        "steps": [
            {"step": "preflight", "status": "ok", "seconds": 1.0, "detail": "all checks pass"},
            {"step": "publish", "status": "ok", "seconds": 0.5, "detail": "v1.1.0"},
        ],
    }  # fmt: skip
    run = deliver.Run(invocation, shipped, publication=publication)
    run.steps.append({"step": "deploy staging", "state": "failed", "seconds": 30.0,
                      "detail": "not ready"})  # fmt: skip
    run.result, run.reason = "failed", "1.1.0 did not go live on staging"
    deliver._show(invocation, run, ExitCode.FAILED)

    document = json.loads(capsys.readouterr().out)  # one document, nothing else
    assert [(s["step"], s["state"]) for s in document["steps"]] == [
        ("preflight", "done"), ("publish", "done"), ("deploy staging", "failed"),
    ]  # fmt: skip
    assert document["exit_code"] == int(ExitCode.FAILED)
    assert (document["result"], document["published"]) == ("failed", True)
    assert document["image"] == f"127.0.0.1:5000/demo@{DIGEST}"
    assert document["seconds"] == 42.5
    assert console.file.getvalue() == ""  # type: ignore[attr-defined]
