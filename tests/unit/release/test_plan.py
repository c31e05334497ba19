"""The release as data: each step done or to do as the world says, and preflight's refusals."""

from __future__ import annotations

import dataclasses

import pytest

from dockyard.release.plan import STEPS, World, Writes, decide, next_step
from dockyard.release.preflight import Facts, problems

HEAD = "a" * 40
WORLD = World(
    version="1.1.0",
    tag="v1.1.0",
    head=HEAD,
    declared_version="1.0.0",
    changelog_has_section=False,
    local_tag_commit=None,
    remote_tag_commit=None,
    image_repository="registry.test/demo",
    registry_configured=True,
    serving={"staging": "1.0.0", "production": "1.0.0"},
)


def states(world: World) -> dict[str, str]:
    return {step.name: step.state for step in decide(world)}


def test_a_new_release_has_every_step_to_do_in_order() -> None:
    steps = decide(WORLD)
    assert tuple(step.name for step in steps) == STEPS
    assert {step.state for step in steps} == {"todo"}
    assert next_step(steps) == steps[0]


def test_preflight_problems_block_the_release() -> None:
    steps = decide(dataclasses.replace(WORLD, problems=("dirty", "behind")))
    assert (steps[0].state, steps[0].detail) == ("blocked", "2 problems")
    assert next_step(steps) == steps[0]


@pytest.mark.parametrize(
    ("changes", "first_to_do"),
    [
        ({"local_tag_commit": HEAD}, "build"),
        ({"local_tag_commit": HEAD, "local_digest": "sha256:1"}, "push"),
        ({"local_tag_commit": HEAD, "local_digest": "sha256:1", "registry_digest": "sha256:2"},
         "verify-digest"),
        ({"local_tag_commit": HEAD, "local_digest": "sha256:1", "registry_digest": "sha256:1"},
         "publish"),
        ({"local_tag_commit": HEAD, "registry_digest": "sha256:1", "remote_tag_commit": HEAD},
         "deploy-staging"),
        ({"local_tag_commit": HEAD, "registry_digest": "sha256:1", "remote_tag_commit": HEAD,
          "serving": {"staging": "1.1.0", "production": "1.0.0"}}, "smoke"),
        ({"local_tag_commit": HEAD, "registry_digest": "sha256:1", "remote_tag_commit": HEAD,
          "serving": {"staging": "1.1.0", "production": "1.0.0"}, "smoke_passed": True},
         "promote-production"),
        ({"local_tag_commit": HEAD, "registry_digest": "sha256:1", "remote_tag_commit": HEAD,
          "serving": {"staging": "1.1.0", "production": "1.1.0"}}, "notify"),
    ],
)  # fmt: skip
def test_the_world_says_where_a_release_goes_on(
    changes: dict[str, object], first_to_do: str
) -> None:
    step = next_step(decide(dataclasses.replace(WORLD, **changes)))  # type: ignore[arg-type]
    assert step is not None
    assert step.name == first_to_do


def test_a_tag_on_the_remote_without_the_image_in_the_registry_is_not_done() -> None:
    """A tag published by hand before its image: the push is still to do, whatever the tag."""
    world = dataclasses.replace(WORLD, local_tag_commit=HEAD, remote_tag_commit=HEAD)
    found = states(world)
    assert (found["publish"], found["push"]) == ("done", "todo")
    step = next_step(decide(world))
    assert step is not None
    assert step.name == "build"


def test_a_remote_tag_on_another_commit_is_not_published() -> None:
    world = dataclasses.replace(WORLD, local_tag_commit=HEAD, remote_tag_commit="b" * 40)
    assert states(world)["publish"] == "todo"


def test_a_complete_release_has_nothing_next() -> None:
    world = dataclasses.replace(
        WORLD, local_tag_commit=HEAD, remote_tag_commit=HEAD, registry_digest="sha256:1",
        serving={"staging": "1.1.0", "production": "1.1.0"}, notified=True,
    )  # fmt: skip
    assert next_step(decide(world)) is None


def test_without_a_registry_its_steps_are_not_configured_and_skipped() -> None:
    world = dataclasses.replace(WORLD, registry_configured=False, local_tag_commit=HEAD,
                                local_digest="sha256:1")  # fmt: skip
    found = states(world)
    assert (found["push"], found["verify-digest"]) == ("not-configured", "not-configured")
    step = next_step(decide(world))
    assert step is not None
    assert step.name == "publish"


def test_each_step_to_do_carries_its_exact_writes() -> None:
    writes = Writes(
        version_edits=("pyproject.toml:3\n-a\n+b\n",), changelog_section="## 1.1.0\n",
        commit_message="chore(release): 1.1.0", tag_message="Release 1.1.0\n",
        push_command=("git", "push", "--atomic", "origin", "main", "v1.1.0"),
        deploy_commands={"staging": "invoke deploy --instance staging --image 1.1.0"},
    )  # fmt: skip
    by_name = {step.name: step.writes for step in decide(WORLD, writes)}
    assert by_name["version"] == ("pyproject.toml:3\n-a\n+b\n",)
    assert by_name["changelog"] == ("## 1.1.0\n",)
    assert by_name["commit-tag"] == ("commit: chore(release): 1.1.0",
                                     "tag v1.1.0:\nRelease 1.1.0\n")  # fmt: skip
    assert by_name["build"] == ("registry.test/demo:1.1.0",)
    assert by_name["publish"] == ("git push --atomic origin main v1.1.0",)
    assert by_name["deploy-staging"] == ("invoke deploy --instance staging --image 1.1.0",)
    assert by_name["promote-production"] == ()


FACTS = Facts(dirty=[], branch="main", release_branch="main", remote="origin",
              remote_has_branch=True, behind=0, head_tag=None)  # fmt: skip


def test_a_ready_repository_has_no_problem() -> None:
    assert problems(FACTS) == []


def test_every_problem_is_reported_at_once() -> None:
    facts = dataclasses.replace(
        FACTS, dirty=[" M app.py", "?? new.txt"], branch="feat/x", behind=2, head_tag="v1.0.0",
        instance_problems=["staging.toml: port: expected 1025-65535"],
        registry_problem="registry.test did not answer",
    )  # fmt: skip
    assert problems(facts) == [
        "the work tree has uncommitted changes (app.py, new.txt): commit or stash them",
        "on branch 'feat/x', releases are made from 'main': `git switch main`",
        "2 commits behind origin/main: `git pull --rebase origin main`",
        "HEAD is already released as v1.0.0: `invoke release.status` shows what is left of it",
        "instance files: staging.toml: port: expected 1025-65535",
        "registry: registry.test did not answer",
    ]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"branch": None}, "HEAD is detached: `git switch main`"),
        ({"behind": None}, "origin/main has commits this clone has not seen"),
        ({"remote_has_branch": False}, "origin/main does not exist: push main first"),
    ],
)
def test_the_branch_and_the_remote_are_judged(changes: dict[str, object], problem: str) -> None:
    found = problems(dataclasses.replace(FACTS, **changes))  # type: ignore[arg-type]
    assert len(found) == 1
    assert found[0].startswith(problem)


def test_a_version_someone_already_published_is_refused_before_anything_is_written() -> None:
    """Its tag on the remote means its image is published: a new release of the same version
    would overwrite that image in the registry, then delete it when the push is refused."""
    on_remote = dataclasses.replace(FACTS, tag="v1.2.0", tag_on_remote=True, tag_here=True)
    assert problems(on_remote) == [
        "v1.2.0 is already on origin: someone published this version; "
        "`git fetch --tags origin`, then `invoke release.status`"
    ]
    left_here = dataclasses.replace(FACTS, tag="v1.2.0", tag_here=True)
    assert problems(left_here) == [
        "v1.2.0 already exists here on another commit: "
        "`git tag -d v1.2.0` if it was never published, then run it again"
    ]
