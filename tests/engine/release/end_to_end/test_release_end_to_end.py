"""`invoke release` as a release manager runs it, a program in a process of its own: a copy
of this repository with a git history of its own and a real bare remote, a real registry
(`invoke registry.up` on a port of its own), staging and production serving the copy's
version. A release goes to production under load with no failed request and one JSON
document; a release nobody confirms waits after staging for `--resume --yes`; a release whose
version never gets ready leaves both instances as they were and says what to run next.

The set-up is the release benchmark's (`benchmarks/release_bench.py`), shared."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from bench import checkout_copy, git
from release_bench import Project, clean_up, copy_base_images, prepare_release

from dockyard.core.config import Config, load_config
from dockyard.image.build import image_ref, tag_safe
from dockyard.image.facts import read_version
from dockyard.registry.client import RegistryClient
from dockyard.registry.plan import local_target
from dockyard.release.shipped import Shipped
from dockyard.release.world import instance_facts
from unit.git.gitrepos import INVOKE

from ...deploys import Load
from ...registry.test_local_registry import standin
from ...stacks import ENVIRON, free_port

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.engine
__all__ = ["standin"]  # the stand-in registry image, built when missing

REPO = Path(__file__).resolve().parents[4]
NEVER_READY_TIMEOUT = 30  # seconds staging waits for a version that never gets ready


@pytest.fixture(scope="module")
def project(
    repo_config: Config,
    docker_client: docker.DockerClient,
    stack_ready_images: dict[str, str],
    standin: str,
) -> Iterator[Project]:
    """The copy, set up to release, with names, ports and images of its own; removed after."""
    serving = image_ref(repo_config, tag_safe(read_version(repo_config)))
    name = f"dye{uuid.uuid4().hex[:6]}"
    with checkout_copy(project=name, image=name) as (root, config):
        copy_base_images(REPO, root)
        ports = (free_port(), free_port(), free_port())
        try:
            yield prepare_release(root, ENVIRON, INVOKE, ports=ports, git=git, serving=serving)
        finally:
            clean_up(root, ENVIRON, INVOKE, config.project, config.image)


def remote_refs(project: Project) -> dict[str, tuple[str, str]]:
    """The remote's refs: name -> (object type, the commit it is or points to)."""
    fields = "%(refname) %(objecttype) %(objectname) %(*objectname)"
    listed = git_output(project.remote, "for-each-ref", f"--format={fields}")
    refs: dict[str, tuple[str, str]] = {}
    for line in listed.splitlines():
        name, kind, *objects = line.split()
        refs[name] = (kind, objects[-1])
    return refs


def git_output(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env=ENVIRON).stdout  # fmt: skip


def app_containers(client: docker.DockerClient, config: Config, instance: str) -> set[str]:
    found = client.containers.list(
        filters={"label": [f"com.docker.compose.project={config.project}-{instance}",
                           f"com.docker.compose.service={config.services.app}"]}
    )  # fmt: skip
    return {container.id or "" for container in found}


def status(project: Project) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(project.run("release.status", "--json").stdout)
    return document


def test_a_release_reaches_production_under_load_with_no_failed_request(
    project: Project, docker_client: docker.DockerClient
) -> None:
    before = project.served()
    project.commit("feat: a change to release", {"tugboat/RELEASE_NOTES.md": "a change\n"})
    with Load(f"http://127.0.0.1:{project.ports['production']}") as load:
        done = project.run("release", "--yes", "--json", check=False)
    assert done.returncode == 0, done.stderr[-4000:]

    document = json.loads(done.stdout)  # the whole run: one document
    version, digest = document["version"], document["digest"]
    assert version != before["production"]
    assert (document["exit_code"], document["result"]) == (0, "succeeded")
    states = {step["step"]: step["state"] for step in document["steps"]}
    assert set(states.values()) == {"done"}, document["steps"]
    assert {"preflight", "deploy staging", "deploy production"} <= set(states)
    assert load.failures == [], f"{len(load.failures)} of {len(load.results)} failed"
    assert len(load.results) > 50

    config = load_config(project.root)
    head = git_output(project.root, "rev-parse", "HEAD").strip()
    refs = remote_refs(project)
    assert refs["refs/heads/main"] == ("commit", head)
    assert refs[f"refs/tags/v{version}"] == ("tag", head)  # annotated, on the release commit
    with RegistryClient(local_target(config)) as registry:
        assert registry.manifest_digest(config.image, version) == digest
    shipped = Shipped(version, f"v{version}", document["image"].split("@")[0], digest)
    facts = instance_facts(config, ENVIRON, shipped)
    assert facts.digests == {"staging": digest, "production": digest}
    assert project.served() == {"staging": version, "production": version}
    after = status(project)
    assert {step["state"] for step in after["steps"]} == {"done"}, after["steps"]
    assert after["next"] == ""


def test_a_release_nobody_confirms_waits_after_staging_and_resume_yes_promotes_it(
    project: Project,
) -> None:
    before = project.served()
    project.commit("fix: a fix to release", {"tugboat/RELEASE_NOTES.md": "a fix\n"})
    refused = project.run("release", check=False)  # no terminal, no --yes
    assert refused.returncode == 2, refused.stdout[-3000:] + refused.stderr[-3000:]
    assert "invoke release --resume --yes" in refused.stderr
    version = status(project)["version"]
    assert project.served() == {"staging": version, "production": before["production"]}

    resumed = project.run("release", "--resume", "--yes", check=False)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert project.served() == {"staging": version, "production": version}
    assert {step["state"] for step in status(project)["steps"]} == {"done"}


def test_a_release_that_never_gets_ready_leaves_both_instances_as_they_were(
    project: Project, docker_client: docker.DockerClient
) -> None:
    before = project.served()
    config = load_config(project.root)
    production = app_containers(docker_client, config, "production")
    dockerfile = (project.root / "Dockerfile.production").read_text()
    pyproject = (project.root / "pyproject.toml").read_text()
    project.commit("fix: a version that never gets ready", {
        "Dockerfile.production": dockerfile + '\nCMD ["sleep", "3600"]\n',
        "pyproject.toml": pyproject
        + f"\n[tool.dockyard.deploy]\nready_timeout_seconds = {NEVER_READY_TIMEOUT}\n",
    })  # fmt: skip

    done = project.run("release", "--yes", check=False)

    assert done.returncode != 0, done.stdout[-3000:]
    assert "did not go live on staging" in done.stderr, done.stderr[-3000:]
    assert project.served() == before
    assert app_containers(docker_client, config, "production") == production
    after = status(project)
    steps = {step["step"]: step for step in after["steps"]}
    assert steps["publish"]["state"] == "done"
    assert steps["deploy-staging"]["state"] == "todo"
    assert "staging failed" in steps["deploy-staging"]["detail"]
    assert steps["promote-production"]["state"] == "todo"
    assert after["next"] == "`invoke release --resume`"
    shown = project.run("release.status").stdout
    assert "staging failed" in shown
    assert "next: `invoke release --resume`" in shown
