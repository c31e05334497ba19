"""ADP-01: a service that is not tugboat in any habit (Starlette on uvicorn, port 9000, a health
route answering `true`, no version endpoint, no worker, no cache, migrations in its entrypoint,
no proxy in its compose file) adopts dockyard by configuration alone, and gets bootstrap, two
zero-downtime deploys and a rollback, each under load, with its data kept."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import requests

from dockyard.core.config import load_config
from dockyard.deploy.confirm import upstream_names
from dockyard.deploy.guarded import Places
from dockyard.stack import lifecycle as stack

from ..deploys import Load
from .adopter import UV, Adopter, Ran, build_wheel

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.engine

INSTANCE = "staging"
SETTLE = 1.0  # seconds of load before and after each step


def healthy(answer: requests.Response) -> str:
    """What a load request got: ferry's health answer is the bare JSON value `true`."""
    if answer.status_code != 200 or answer.json() is not True:
        return f"error: HTTP {answer.status_code}: {answer.text[:80]}"
    return "ok"


@pytest.fixture(scope="module")
def adopter(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Adopter]:
    """The sample in a repository of its own, with dockyard's wheel in its venv; everything it
    starts, stores and tags is removed at the end."""
    directory = tmp_path_factory.mktemp("adoption")
    made = Adopter.copy(directory)
    try:
        made.install(build_wheel(directory / "dist"))
        yield made
    finally:
        if (made.root / ".venv" / "bin" / "invoke").exists():
            made.run_tool(
                [str(made.root / ".venv/bin/invoke"), "deploy.monitors", "--stop", INSTANCE]
            )
        for project in (made.project, f"{made.project}-{INSTANCE}"):
            stack.down(docker_client, project, volumes=True)
        for image in docker_client.images.list(name=made.image):
            docker_client.images.remove(str(image.id), force=True)


def serving(adopter: Adopter, client: docker.DockerClient) -> tuple[str, set[str]]:
    """The version dockyard says the instance serves, and the images of the containers its
    proxy routes to."""
    ran = adopter.invoke("deploy.status", "--instance", INSTANCE, "--json")
    (row,) = json.loads(ran.output)
    assert row["state"] == "serving", row
    places = Places.of(load_config(adopter.root))
    upstream = places.runtime(INSTANCE) / "proxy" / "upstream.conf"
    names = upstream_names(upstream.read_text(encoding="utf-8"))
    assert names, f"{upstream} routes to nothing"
    return row["version"], {client.containers.get(name).attrs["Image"] for name in names}


def image_id(client: docker.DockerClient, adopter: Adopter, tag: str) -> str:
    return str(client.images.get(f"{adopter.image}:{tag}").id)


def step_under_load(adopter: Adopter, *args: str) -> tuple[Ran, Load]:
    with Load(adopter.url(INSTANCE), path="/healthz", read=healthy) as load:
        time.sleep(SETTLE)
        ran = adopter.invoke(*args)
        time.sleep(SETTLE)
    return ran, load


def test_a_service_adopts_dockyard_by_configuration_alone(
    adopter: Adopter, docker_client: docker.DockerClient
) -> None:
    # bootstrap: doctor, env files, base images, ferry's image, the stack, the smoke test
    bootstrap = adopter.invoke("bootstrap")
    assert "bootstrap done" in bootstrap.output, bootstrap.output
    assert requests.get(adopter.url("proxy") + "/healthz", timeout=10).json() is True

    # the first deploy brings the instance up with the version the checkout builds, with the
    # env file of the instance's profile made first
    adopter.invoke("env.init", "--profile", "production")
    first = adopter.invoke("deploy", "--instance", INSTANCE)
    assert serving(adopter, docker_client) == ("1.0.0", {image_id(docker_client, adopter, "1.0.0")})
    note = requests.post(adopter.url(INSTANCE) + "/notes", json={"text": "kept"}, timeout=10)
    assert note.status_code == 201, note.text

    # a new version, as the team would make one: a change, a commit, an image
    adopter.edit("pyproject.toml", ('version = "1.0.0"', 'version = "1.1.0"'))
    (adopter.root / "src/ferry/migrations/0002_pinned.sql").write_text(
        "ALTER TABLE notes ADD COLUMN pinned boolean NOT NULL DEFAULT false;\n", encoding="utf-8"
    )
    adopter.run_tool([UV, "lock", "--quiet"])
    adopter.commit("ferry 1.1.0: notes can be pinned")
    adopter.invoke("image.build")
    second, load_second = step_under_load(adopter, "deploy", "--instance", INSTANCE)
    assert serving(adopter, docker_client) == ("1.1.0", {image_id(docker_client, adopter, "1.1.0")})

    rollback, load_back = step_under_load(adopter, "rollback", "--instance", INSTANCE)
    assert serving(adopter, docker_client) == ("1.0.0", {image_id(docker_client, adopter, "1.0.0")})

    for load in (load_second, load_back):
        assert load.failures == [], f"{len(load.failures)} of {len(load.results)} failed"
        assert len(load.results) > 50, "the load kept going through the step"
    kept = requests.get(f"{adopter.url(INSTANCE)}/notes/{note.json()['id']}", timeout=10)
    assert kept.json() == {"id": note.json()["id"], "text": "kept"}, "the data survived"
    # the audit, in the team's repository: hadolint, the hardening rules, the secret scan and
    # the lock (not audited offline, and accepted so in its configuration)
    audit = adopter.invoke("audit")
    assert "hardening" in audit.output, audit.output
    for ran in adopter.ran:
        assert "Traceback" not in ran.output, f"{' '.join(ran.args)}:\n{ran.output[-4000:]}"
    figures = {
        "bootstrap": bootstrap.seconds,
        "deploy 1.0.0": first.seconds,
        "deploy 1.1.0": second.seconds,
        "rollback": rollback.seconds,
        "requests": len(load_second.results) + len(load_back.results),
        "failed": len(load_second.failures) + len(load_back.failures),
    }
    print("adoption figures:", json.dumps({k: round(v, 1) for k, v in figures.items()}))
