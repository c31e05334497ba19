"""Deciding about registries: where one is, names, the local registry's container, its image."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dockyard.core.config import Config, Registry, parse_config
from dockyard.core.errors import ConfigError
from dockyard.registry.plan import (
    CONTAINER_PORT,
    DATA_DIR,
    MANIFEST_TYPES,
    Action,
    Found,
    RegistryError,
    Target,
    bearer_challenge,
    check_digests,
    choose_image,
    configured,
    container_name,
    credentials,
    decide_up,
    image_ref,
    local_registry,
    local_target,
    repository,
    split_ref,
    target,
    volume_name,
)

ROOT = Path("/project")
OFFICIAL = "registry:2"
STANDIN = "dockyard-base/registry:2.8-bookworm"
DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def config(**registry: object) -> Config:
    return Config(root=ROOT, project="shop", image="shop", registry=Registry(**registry))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("127.0.0.1:5000", Target("127.0.0.1:5000", "http://127.0.0.1:5000")),
        ("localhost:5000", Target("localhost:5000", "http://localhost:5000")),
        ("registry.example.com", Target("registry.example.com", "https://registry.example.com")),
        ("http://10.0.0.5:5000", Target("10.0.0.5:5000", "http://10.0.0.5:5000")),
        ("https://127.0.0.1:5000/", Target("127.0.0.1:5000", "https://127.0.0.1:5000")),
    ],
)
def test_the_api_is_https_except_on_loopback_unless_the_scheme_says(
    url: str, expected: Target
) -> None:
    assert target(url) == expected


def test_no_registry_configured_says_how_to_get_one() -> None:
    with pytest.raises(RegistryError) as raised:
        configured(config())
    assert "url is empty" in raised.value.message
    assert raised.value.hint is not None
    assert "invoke registry.up" in raised.value.hint
    assert 'url = "127.0.0.1:5000"' in raised.value.hint


def test_the_image_is_pushed_under_the_prefix() -> None:
    assert repository(config()) == "shop"
    assert repository(config(repository_prefix="team/apps")) == "team/apps/shop"
    where = target("127.0.0.1:5000")
    assert image_ref(where, "team/apps/shop", "1.2.0") == "127.0.0.1:5000/team/apps/shop:1.2.0"


def test_a_reference_splits_into_host_name_and_tag() -> None:
    assert split_ref("127.0.0.1:5000/team/shop:1.2.0") == ("127.0.0.1:5000", "team/shop", "1.2.0")


@pytest.mark.parametrize("ref", ["shop", "shop:1.0", "127.0.0.1:5000/shop", "h/shop@" + DIGEST])
def test_a_reference_without_host_name_and_tag_is_refused(ref: str) -> None:
    with pytest.raises(RegistryError, match="not an image reference of the form HOST/NAME:TAG"):
        split_ref(ref)


def test_digests_that_agree_pass() -> None:
    assert check_digests("h/shop:1", DIGEST, DIGEST) == DIGEST


def test_a_mismatch_names_both_digests() -> None:
    with pytest.raises(RegistryError) as raised:
        check_digests("h/shop:1", DIGEST, OTHER)
    assert DIGEST in raised.value.message
    assert OTHER in raised.value.message


def test_a_manifest_the_registry_lacks_is_not_confirmed() -> None:
    with pytest.raises(RegistryError, match="has no such manifest"):
        check_digests("h/shop:1", DIGEST, None)


def test_the_manifest_head_accepts_docker_and_oci_manifests_and_indexes() -> None:
    assert "application/vnd.docker.distribution.manifest.v2+json" in MANIFEST_TYPES
    assert "application/vnd.docker.distribution.manifest.list.v2+json" in MANIFEST_TYPES
    assert "application/vnd.oci.image.index.v1+json" in MANIFEST_TYPES
    assert "application/vnd.oci.image.manifest.v1+json" in MANIFEST_TYPES


def test_credentials_come_from_the_named_variables_and_the_password_never_shows() -> None:
    wanted = config(username_variable="REG_USER", password_variable="REG_PASSWORD")
    found = credentials(wanted, {"REG_USER": "ci", "REG_PASSWORD": "s3cret-value"})
    assert found is not None
    assert found.username == "ci"
    assert "s3cret-value" not in repr(found)
    assert credentials(config(), {"REG_USER": "ci"}) is None


def test_missing_credential_variables_are_named_without_values() -> None:
    wanted = config(username_variable="REG_USER", password_variable="REG_PASSWORD")
    with pytest.raises(RegistryError, match="REG_PASSWORD not set"):
        credentials(wanted, {"REG_USER": "ci"})


def test_a_bearer_challenge_is_read() -> None:
    header = 'Bearer realm="https://auth.example.com/token",service="reg",scope="repository:a:pull"'
    assert bearer_challenge(header) == {
        "realm": "https://auth.example.com/token",
        "service": "reg",
        "scope": "repository:a:pull",
    }
    assert bearer_challenge('Basic realm="x"') is None
    assert bearer_challenge("") is None


# ------------------------------------------------------------ the local one ---


def test_the_local_registry_is_named_after_the_project() -> None:
    assert container_name(config()) == "shop-registry"
    assert volume_name(config()) == "shop-registry-data"
    assert volume_name(config(local_volume="kept-images")) == "kept-images"
    assert local_target(config(local_port=5123)) == Target(
        "127.0.0.1:5123", "http://127.0.0.1:5123"
    )


def test_the_container_is_hardened_and_published_on_loopback_only() -> None:
    options = local_registry(config(local_port=5123), STANDIN, STANDIN).options()
    assert options["ports"] == {f"{CONTAINER_PORT}/tcp": ("127.0.0.1", 5123)}
    assert options["volumes"] == {"shop-registry-data": {"bind": DATA_DIR, "mode": "rw"}}
    assert options["read_only"] is True
    assert options["cap_drop"] == ["ALL"]
    assert options["security_opt"] == ["no-new-privileges:true"]
    assert options["init"] is True
    assert options["pids_limit"] > 0
    assert options["mem_limit"]
    assert options["restart_policy"]["MaximumRetryCount"] <= 5
    assert "privileged" not in options
    assert "user" not in options  # the stand-in's own 999:999
    assert "healthcheck" not in options  # the stand-in's own HEALTHCHECK


def test_the_official_image_gets_a_healthcheck_its_wget_can_run() -> None:
    options = local_registry(config(), OFFICIAL, STANDIN).options()
    check = options["healthcheck"]
    assert check["test"][:2] == ["CMD", "wget"]
    assert check["test"][-1] == f"http://127.0.0.1:{CONTAINER_PORT}/v2/"
    assert all(check[key] for key in ("interval", "timeout", "start_period", "retries"))


def test_the_official_image_is_chosen_when_present_or_pullable() -> None:
    assert choose_image(OFFICIAL, True, STANDIN, True) == OFFICIAL
    assert choose_image(OFFICIAL, True, STANDIN, False) == OFFICIAL


def test_offline_the_stand_in_is_chosen() -> None:
    assert choose_image(OFFICIAL, False, STANDIN, True) == STANDIN


def test_a_running_registry_keeps_its_image_so_its_data_stays_readable() -> None:
    assert choose_image(OFFICIAL, True, STANDIN, True, current=STANDIN) == STANDIN
    assert choose_image(OFFICIAL, True, STANDIN, False, current=STANDIN) == OFFICIAL


def test_without_either_image_the_message_says_to_run_image_base() -> None:
    with pytest.raises(RegistryError) as raised:
        choose_image(OFFICIAL, False, STANDIN, False)
    assert OFFICIAL in raised.value.message
    assert STANDIN in raised.value.message
    assert raised.value.hint is not None
    assert "invoke image.base" in raised.value.hint


def test_up_creates_starts_recreates_or_leaves_alone() -> None:
    wanted = local_registry(config(), STANDIN, STANDIN)
    same = wanted.fingerprint()
    assert decide_up(wanted, None) is Action.CREATE
    assert decide_up(wanted, Found("running", STANDIN, same)) is Action.NONE
    assert decide_up(wanted, Found("exited", STANDIN, same)) is Action.START
    moved = dataclasses.replace(wanted, port=5999)
    assert decide_up(moved, Found("running", STANDIN, same)) is Action.RECREATE
    assert decide_up(wanted, Found("running", STANDIN, "")) is Action.RECREATE


# ------------------------------------------------------------ configuration ---


def registry_problems(table: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_config({"project": "p", "image": "p", "registry": table}, root=ROOT)
    return raised.value.problems


def test_the_defaults_mean_no_registry_and_a_local_one_on_5000() -> None:
    loaded = parse_config({"project": "p", "image": "p"}, root=ROOT)
    assert loaded.registry.url == ""
    assert loaded.registry.local_port == 5000
    assert loaded.registry.local_image == "registry:2"


def test_a_configured_registry_is_read() -> None:
    table = {"url": "registry.example.com:5443", "repository_prefix": "team"}
    loaded = parse_config({"project": "p", "image": "p", "registry": table}, root=ROOT)
    assert loaded.registry.url == "registry.example.com:5443"


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"url": "registry example"}, "tool.dockyard.registry.url: expected HOST[:PORT]"),
        ({"url": "ftp://host"}, "'ftp://host'"),
        ({"repository_prefix": "Team"}, "tool.dockyard.registry.repository_prefix: expected"),
        (
            {"local_port": 70000},
            "tool.dockyard.registry.local_port: expected a port 1-65535, got 70000",
        ),
        ({"username_variable": "REG_USER"}, "both username_variable and password_variable"),
        ({"username_variable": "1X", "password_variable": "P"}, "got '1X'"),
        ({"timeout_seconds": 0}, "tool.dockyard.registry.timeout_seconds: expected a positive"),
        ({"local_volume": "bad/name"}, "tool.dockyard.registry.local_volume: expected a volume"),
        ({"urll": "x"}, "tool.dockyard.registry.urll: unknown key (did you mean 'url'?)"),
    ],
)
def test_a_wrong_value_is_named_with_its_key(table: dict[str, object], problem: str) -> None:
    problems = registry_problems(table)
    assert any(problem in found for found in problems), problems
