"""Instance files: safe ids, every problem of a file at once, instances that share a host."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.core.config import Config, parse_config
from dockyard.core.errors import ConfigError, ExitCode, UnknownNameError
from dockyard.core.ids import InvalidInstanceIdError, validate_id
from dockyard.deploy.instances import (
    Instance,
    Resources,
    compose_variables,
    load_all,
    load_instance,
)

REJECTED_IDS = [
    "../x",
    "a;rm -rf /",
    "a b",
    "$(id)",
    "'--",
    "",
    "Prod",
    "x" * 40,
    "staging\n",
    "-x",
    "ütf",
    "a--b",
    "staging-",
    "1st",
]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """A project in tmp_path whose instance files live in env/instances."""
    return parse_config({"project": "tugboat", "image": "tugboat"}, root=tmp_path)


def write(config: Config, name: str, text: str) -> Path:
    directory = config.path(config.instances_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(config: Config, instance_id: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_instance(config, instance_id)
    assert caught.value.exit_code is ExitCode.CONFIG
    assert caught.value.source == f"env/instances/{instance_id}.toml"
    return caught.value.problems


# ------------------------------------------------------------------- ids ---


@pytest.mark.parametrize("value", REJECTED_IDS)
def test_unsafe_or_malformed_ids_are_refused_and_shown_with_repr(value: str) -> None:
    """A bad id never reaches a path or command; the message shows it with every character
    visible and says what an id may be."""
    with pytest.raises(InvalidInstanceIdError) as caught:
        validate_id(value, source="--instance")
    message = str(caught.value)
    assert caught.value.exit_code is ExitCode.CONFIG
    assert message.startswith(f"--instance: {repr(value)[:30]}")
    assert "\n  fix: an instance id is 1-30 characters: lowercase ASCII letters" in message
    assert "\n" not in message.split("\n  fix:", maxsplit=1)[0]


@pytest.mark.parametrize("value", ["staging", "production", "customer-42", "a", "a" * 30, "b2-c3"])
def test_short_lowercase_slugs_are_accepted(value: str) -> None:
    assert validate_id(value) == value


def test_an_id_is_checked_before_any_file_is_looked_up(config: Config) -> None:
    """`../x` is refused as an id, not looked up as a file outside the instances directory."""
    write(config, "../x.toml", 'profile = "testing"\nport = 8081\n')
    with pytest.raises(InvalidInstanceIdError, match=r"'\.\./x' is not a valid instance id"):
        load_instance(config, "../x")


# ----------------------------------------------------------- good files ---


def test_the_shipped_example_files_load(repo_config: Config) -> None:
    """The files users copy are valid and describe staging before production."""
    instances = load_all(repo_config)
    assert [instance.id for instance in instances] == ["staging", "production"]
    staging, production = instances
    assert (staging.profile, staging.port, staging.replicas, staging.worker_replicas) == (
        "testing",
        8081,
        1,
        1,
    )
    assert production.profile == "production"
    assert (production.port, production.replicas, production.worker_replicas) == (8082, 2, 2)
    assert production.resources == Resources(cpus="1.0", memory="512M")
    assert production.project_name(repo_config.project) == "tugboat-production"


def test_omitted_keys_take_their_defaults(config: Config) -> None:
    path = write(config, "acme.toml", 'profile = "production"\nport = 9001\n')
    assert load_instance(config, "acme") == Instance(
        id="acme",
        source=path,
        profile="production",
        port=9001,
        replicas=1,
        worker_replicas=2,
        image=None,
        resources=Resources(),
        order=100,
        bind="127.0.0.1",
    )


def test_a_json_file_is_read_like_a_toml_file(config: Config) -> None:
    write(
        config,
        "acme.json",
        '{"id": "acme", "profile": "testing", "port": 9002, "image": "1.4.0",'
        ' "resources": {"memory": "1G"}}',
    )
    instance = load_instance(config, "acme")
    assert (instance.port, instance.image, instance.resources.memory) == (9002, "1.4.0", "1G")


def test_every_instance_is_listed_in_order_then_id(config: Config) -> None:
    write(config, "zeta.toml", 'profile = "testing"\nport = 9001\norder = 5\n')
    write(config, "beta.toml", 'profile = "testing"\nport = 9002\n')
    write(config, "alpha.json", '{"profile": "testing", "port": 9003}')
    write(config, "gamma.toml", 'profile = "testing"\nport = 9004\norder = 5\n')
    write(config, "README.md", "not an instance\n")
    ids = [instance.id for instance in load_all(config)]
    assert ids == ["gamma", "zeta", "alpha", "beta"]


def test_no_instances_directory_means_no_instances(config: Config) -> None:
    assert load_all(config) == []
    config.path(config.instances_dir).mkdir(parents=True)
    assert load_all(config) == []


def test_compose_variables_carry_port_bind_replicas_and_set_limits_only() -> None:
    base = Instance(id="acme", source=Path("acme.toml"), profile="testing", port=9001)
    assert compose_variables(base) == {
        "PROXY_PORT": "9001",
        "PROXY_BIND": "127.0.0.1",
        "APP_REPLICAS": "1",
        "WORKER_REPLICAS": "2",
    }
    limited = Instance(
        id="acme",
        source=Path("acme.toml"),
        profile="testing",
        port=9001,
        bind="10.0.0.5",
        replicas=3,
        worker_replicas=0,
        resources=Resources(cpus="0.5", memory="256M"),
    )
    assert compose_variables(limited) == {
        "PROXY_PORT": "9001",
        "PROXY_BIND": "10.0.0.5",
        "APP_REPLICAS": "3",
        "WORKER_REPLICAS": "0",
        "APP_CPUS": "0.5",
        "APP_MEMORY": "256M",
    }
    assert base.project_name("tugboat") == "tugboat-acme"


# ------------------------------------------------------------ bad files ---


def test_an_unknown_instance_names_the_file_to_create_and_the_existing_ones(
    config: Config,
) -> None:
    write(config, "staging.toml", 'profile = "testing"\nport = 8081\n')
    write(config, "acme.json", '{"profile": "testing", "port": 8082}')
    with pytest.raises(UnknownNameError) as caught:
        load_instance(config, "prod")
    assert caught.value.exit_code is ExitCode.UNKNOWN_NAME
    assert caught.value.message == (
        "unknown instance 'prod': env/instances/prod.toml does not exist (instances: acme, staging)"
    )
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("create env/instances/prod.toml")


def test_bad_toml_is_reported_with_its_line_and_column(config: Config) -> None:
    write(config, "acme.toml", 'profile = "testing"\nport = \n')
    (problem,) = problems_of(config, "acme")
    assert problem.startswith("not valid TOML:")
    assert "line 2, column 8" in problem


def test_bad_json_is_reported_with_its_line_and_column(config: Config) -> None:
    write(config, "acme.json", '{"profile": "testing",\n "port": }')
    with pytest.raises(ConfigError) as caught:
        load_instance(config, "acme")
    assert caught.value.source == "env/instances/acme.json"
    assert caught.value.problems == [
        "not valid JSON: Expecting value (at line 2, column 10)",
    ]


def test_a_key_given_twice_in_json_is_refused(config: Config) -> None:
    write(config, "acme.json", '{"profile": "testing", "port": 9001, "port": 9002}')
    with pytest.raises(ConfigError, match="key 'port' is given more than once"):
        load_instance(config, "acme")


def test_unknown_keys_are_named_with_their_dotted_path_and_a_suggestion(config: Config) -> None:
    write(
        config,
        "acme.toml",
        'profile = "testing"\nport = 9001\nreplica = 2\n[resources]\nmemroy = "1G"\n',
    )
    assert problems_of(config, "acme") == [
        "replica: unknown key (did you mean 'replicas'?)",
        "resources.memroy: unknown key (did you mean 'memory'?)",
    ]


def test_every_wrong_value_in_a_file_is_reported_at_once(config: Config) -> None:
    """Each problem names the dotted key, the value found and what was expected."""
    write(
        config,
        "acme.toml",
        "\n".join(
            [
                'id = "other"',
                'profile = "prod"',
                "port = 80",
                "replicas = 0",
                'worker_replicas = "2"',
                'image = "1.4.0;rm"',
                "order = true",
                'bind = "localhost"',
                "[resources]",
                "cpus = 1.0",
                'memory = "512MB"',
            ]
        ),
    )
    assert problems_of(config, "acme") == [
        "id: expected 'acme' (the file's name), got 'other' (a string); "
        "remove the key or make it match the file name",
        "profile: expected one of the env profiles (development, testing, production), "
        "got 'prod' (a string)",
        "port: expected an integer 1025-65535, got 80 (int)",
        "replicas: expected an integer 1-8, got 0 (int)",
        "worker_replicas: expected an integer 0-16, got '2' (a string)",
        "image: expected an image tag like '1.4.0', got '1.4.0;rm' (a string)",
        "resources.cpus: expected a number of CPUs above 0 and at most 64, "
        'as a string like "1.0", got 1.0 (float)',
        "resources.memory: expected a size of at least 6M: a whole number and K, M or G, "
        "like \"512M\", got '512MB' (a string)",
        "order: expected an integer, got True (a boolean)",
        "bind: expected an IPv4 address like '127.0.0.1', got 'localhost' (a string)",
    ]


@pytest.mark.parametrize(
    ("cpus", "memory", "valid"),
    [
        ("0.25", "6M", True),
        ("64", "2G", True),
        ("0", "512M", False),
        ("64.5", "512M", False),
        ("1.0", "5M", False),
        ("1.0", "0M", False),
        ("-1", "512M", False),
    ],
)
def test_resource_limits_are_checked_beyond_their_form(
    config: Config, cpus: str, memory: str, valid: bool
) -> None:
    write(
        config,
        "acme.toml",
        f'profile = "testing"\nport = 9001\n[resources]\ncpus = "{cpus}"\nmemory = "{memory}"\n',
    )
    if valid:
        assert load_instance(config, "acme").resources == Resources(cpus=cpus, memory=memory)
    else:
        assert len(problems_of(config, "acme")) == 1


def test_required_keys_are_named_when_missing(config: Config) -> None:
    write(config, "acme.toml", "# nothing yet\n")
    assert problems_of(config, "acme") == [
        "profile: required key is missing; "
        "expected one of the env profiles (development, testing, production)",
        "port: required key is missing; expected an integer 1025-65535",
    ]


def test_two_files_for_one_id_are_refused_naming_both(config: Config) -> None:
    write(config, "acme.toml", 'profile = "testing"\nport = 9001\n')
    write(config, "acme.json", '{"profile": "testing", "port": 9001}')
    expected = "acme.toml and acme.json both describe instance 'acme'; keep one"
    with pytest.raises(ConfigError) as caught:
        load_instance(config, "acme")
    assert caught.value.problems == [expected]
    with pytest.raises(ConfigError) as caught:
        load_all(config)
    assert caught.value.problems == [
        expected.replace("acme.toml and acme.json", "acme.json and acme.toml")
    ]


# ------------------------------------------------- all instances together ---


def test_two_instances_on_one_port_are_refused_naming_both_files(config: Config) -> None:
    write(config, "alpha.toml", 'profile = "testing"\nport = 9001\n')
    reviewed = 'bind_exception = "reached from the front proxy on the LAN"\n'
    write(config, "beta.toml", 'profile = "testing"\nport = 9001\nbind = "0.0.0.0"\n' + reviewed)
    write(config, "gamma.toml", 'profile = "testing"\nport = 9002\nbind = "10.0.0.1"\n' + reviewed)
    write(config, "delta.toml", 'profile = "testing"\nport = 9002\nbind = "10.0.0.2"\n' + reviewed)
    with pytest.raises(ConfigError) as caught:
        load_all(config)
    assert caught.value.source == "env/instances"
    assert caught.value.problems == [
        "alpha.toml and beta.toml both publish port 9001 (on 127.0.0.1 and 0.0.0.0); "
        "give each instance its own port",
    ]


def test_an_instance_is_not_used_while_another_takes_its_port(config: Config) -> None:
    write(config, "staging.toml", 'profile = "testing"\nport = 8081\n')
    write(config, "acme.toml", 'profile = "testing"\nport = 8081\n')
    with pytest.raises(ConfigError) as caught:
        load_instance(config, "acme")
    assert caught.value.problems == [
        "acme.toml and staging.toml both publish port 8081 (on 127.0.0.1 and 127.0.0.1); "
        "give each instance its own port",
    ]


def test_an_instance_on_the_default_stacks_port_is_refused_naming_both_places(
    tmp_path: Path,
) -> None:
    config = parse_config(
        {"project": "tugboat", "image": "tugboat", "ports": {"proxy": 8080}}, root=tmp_path
    )
    write(config, "staging.toml", 'profile = "testing"\nport = 8080\n')
    with pytest.raises(ConfigError) as caught:
        load_instance(config, "staging")
    assert caught.value.problems == [
        "staging.toml: port 8080 is the default stack's proxy port ([tool.dockyard.ports] in "
        "pyproject.toml); give the instance a port of its own"
    ]


def test_a_bind_outside_the_publish_addresses_needs_a_reviewed_exception(
    config: Config,
) -> None:
    write(config, "acme.toml", 'profile = "testing"\nport = 9001\nbind = "0.0.0.0"\n')
    with pytest.raises(ConfigError) as caught:
        load_instance(config, "acme")
    assert caught.value.problems == [
        "acme.toml: bind 0.0.0.0 is not one of [tool.dockyard.hardening] publish_addresses "
        "(127.0.0.1); bind to one of them, or keep it with a reviewed reason in the file: "
        'bind_exception = "why this instance is published there"'
    ]
    write(
        config,
        "acme.toml",
        'profile = "testing"\nport = 9001\nbind = "0.0.0.0"\n'
        'bind_exception = "the load balancer on the LAN reaches it"\n',
    )
    found = load_instance(config, "acme")
    assert found.bind_exception == "the load balancer on the LAN reaches it"
    write(config, "acme.toml", 'profile = "testing"\nport = 9001\nbind_exception = " "\n')
    assert problems_of(config, "acme") == [
        "bind_exception: expected the reason, as a non-empty string, got ' ' (a string)"
    ]


def test_problems_of_every_file_are_reported_together(config: Config) -> None:
    write(config, "alpha.toml", 'profile = "testing"\nport = 9001\n')
    write(config, "beta.toml", 'profile = "testing"\nport = 1\n')
    write(config, "gamma.toml", "port = \n")
    write(config, "Prod.toml", 'profile = "testing"\nport = 9003\n')
    with pytest.raises(ConfigError) as caught:
        load_all(config)
    problems = caught.value.problems
    assert len(problems) == 3
    assert problems[0] == (
        "Prod.toml: the file name 'Prod' is not a valid instance id; "
        "rename it to an id of 1-30 characters: lowercase ASCII letters, digits and '-', "
        "starting with a letter, without '--' or a trailing '-' (e.g. 'staging', 'customer-42')"
    )
    assert problems[1] == "beta.toml: port: expected an integer 1025-65535, got 1 (int)"
    assert problems[2].startswith("gamma.toml: not valid TOML:")
