"""The static hardening rules: every rule catches a fixture that breaks it, and this repository's
own compose file and Dockerfiles pass them all.

Compose fixtures are rendered for real by `docker compose config --format json` (no engine
needed); Dockerfile fixtures are read as text.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dockyard.audit.gates import compose_document, dockerfiles, hardening_gate, project_files
from dockyard.audit.hardening.compose import compose_findings, source_findings
from dockyard.audit.hardening.dockerfile import dockerfile_findings, parse
from dockyard.audit.hardening.findings import Finding, exempted, stale, verdict
from dockyard.core.config import Config, Exemption, Hardening, Services, parse_config
from dockyard.core.errors import ConfigError
from dockyard.core.invocation import toolchain_environ
from dockyard.core.results import Status
from dockyard.core.secrets import Where, looks_secret
from dockyard.stack.lifecycle import project_for
from dockyard.stack.proxyconf import exemptions as proxy_exemptions

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "hardening"
COMPOSE = FIXTURES / "compose"
DOCKERFILES = FIXTURES / "dockerfiles"
ENVIRON = toolchain_environ(os.environ)
# The compliant fixture adds NET_BIND_SERVICE back: the allowlist is what lets it.
POLICY = Hardening(allowed_capabilities={"NET_BIND_SERVICE": "serves port 80 inside"})
# Values for the compliant fixture's `${VAR:?...}` references; made per run, never a literal.
FIXTURE_VARIABLES = {"POSTGRES_PASSWORD": secrets.token_hex(8), "API_TOKEN": secrets.token_hex(8)}


def render(fixture: Path, *, interpolate: bool = True) -> dict[str, Any]:
    """`docker compose config --format json` of a fixture, as compose itself renders it."""
    args = ["docker", "compose", "--project-name", "hardening-fixture", "--file", str(fixture)]
    args += ["config", "--format", "json", *([] if interpolate else ["--no-interpolate"])]
    environ = {"PATH": ENVIRON["PATH"], "HOME": ENVIRON.get("HOME", "/"), **FIXTURE_VARIABLES}
    done = subprocess.run(args, env=environ, capture_output=True, text=True, check=True)
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def compose_messages(fixture: str, policy: Hardening = POLICY) -> list[str]:
    document = render(COMPOSE / fixture)
    return [str(f) for f in compose_findings(document, policy, Services(), str(COMPOSE))]


def dockerfile_messages(fixture: str) -> list[str]:
    text = (DOCKERFILES / fixture).read_text(encoding="utf-8")
    return [str(f) for f in dockerfile_findings(text, fixture, Hardening(), "dockyard-base")]


# ----------------------------------------------------------- compose rules ---


def test_a_compliant_compose_file_passes_every_rule() -> None:
    """One-shot job, allowlisted capability, loopback port and a bind inside the project."""
    assert compose_messages("compliant.yml") == []
    assert source_findings(render(COMPOSE / "compliant.yml", interpolate=False)) == []


COMPOSE_VIOLATIONS = {
    "rt01_host_privileges.yml": [
        "RT-01 services.web: privileged: true gives the container every capability and device "
        "of the host",
        "RT-01 services.web: network_mode: host shares the host's namespace with the container",
        "RT-01 services.web: pid: host shares the host's namespace with the container",
        "RT-01 services.web: ipc: host shares the host's namespace with the container",
        "RT-01 services.web: uts: host shares the host's namespace with the container",
        "RT-01 services.web: userns_mode: host shares the host's namespace with the container",
    ],
    "rt02_capabilities.yml": [
        "RT-02 services.web: cap_drop does not contain ALL",
        "RT-02 services.web: cap_add NET_ADMIN is not on the allowlist "
        "([tool.dockyard.hardening] allowed_capabilities, with a reason)",
        "RT-02 services.web: cap_add SYS_ADMIN is not on the allowlist "
        "([tool.dockyard.hardening] allowed_capabilities, with a reason)",
    ],
    "rt03_writable.yml": [
        "RT-03 services.web: read_only is not true (give writable paths a tmpfs or a volume)",
    ],
    "rt04_privilege_escalation.yml": [
        'RT-04 services.web: security_opt does not contain "no-new-privileges:true"',
        "RT-04 services.web: security_opt seccomp=unconfined turns off a kernel confinement "
        "profile",
        "RT-04 services.web: security_opt apparmor:unconfined turns off a kernel confinement "
        "profile",
    ],
    "rt05_no_cpu_memory.yml": [
        "RT-05 services.web: no memory limit (deploy.resources.limits.memory)",
        "RT-05 services.web: no CPU limit (deploy.resources.limits.cpus)",
    ],
    "rt06_no_pids.yml": [
        "RT-06 services.web: no PIDs limit (deploy.resources.limits.pids or pids_limit)",
    ],
    "rt07_restart.yml": [
        "RT-07 services.always: restart always: use unless-stopped, or on-failure:N with N <= 5",
        "RT-07 services.forever: restart on-failure retries without bound; use on-failure:N "
        "with N <= 5",
        "RT-07 services.too_many: restart on-failure:10 retries more than 5 times; use "
        "on-failure:N with N <= 5",
        'RT-07 services.unwatched_job: restart "no" is for one-shots another service waits for '
        "with condition service_completed_successfully, and none does",
    ],
    "rt08_ports.yml": [
        "RT-08 services.redis: publishes ports; the database and cache are reached only on "
        "compose networks",
        "RT-08 services.web: port 8080 is published on 0.0.0.0; bind it to 127.0.0.1 "
        "([tool.dockyard.hardening] publish_addresses)",
        "RT-08 services.web: port 8081 is published on host port 80, below 1025 "
        "([tool.dockyard.hardening] min_host_port)",
    ],
    "rt09_host_mounts.yml": [
        "RT-09 services.web: mounts the Docker socket (/var/run/docker.sock): that is root on "
        "the host",
        "RT-09 services.web: bind-mounts the host's /etc at /host/etc",
        "RT-09 services.web: bind-mounts the host's / at /host",
    ],
    "rt10_healthchecks.yml": [
        'RT-10 services.unchecked: has no healthcheck (only a one-shot with restart "no" may '
        "disable it)",
        "RT-10 services.web: depends_on db with condition service_started; use service_healthy",
        "RT-10 services.web: depends_on job with condition service_healthy; use "
        "service_completed_successfully",
    ],
}


@pytest.mark.parametrize("fixture", sorted(COMPOSE_VIOLATIONS))
def test_a_compose_file_that_breaks_a_rule_is_caught(fixture: str) -> None:
    assert compose_messages(fixture) == COMPOSE_VIOLATIONS[fixture]


def test_an_added_capability_needs_an_allowlist_entry() -> None:
    assert compose_messages("compliant.yml", Hardening()) == [
        "RT-02 services.web: cap_add NET_BIND_SERVICE is not on the allowlist "
        "([tool.dockyard.hardening] allowed_capabilities, with a reason)",
    ]


def test_a_configured_address_and_port_floor_are_honoured() -> None:
    addresses = ["0.0.0.0", "127.0.0.1"]  # noqa: S104 - a policy under test, nothing listens
    policy = dataclasses.replace(POLICY, publish_addresses=addresses, min_host_port=80)
    assert compose_messages("rt08_ports.yml", policy) == [
        "RT-08 services.redis: publishes ports; the database and cache are reached only on "
        "compose networks",
    ]


def test_secret_values_must_stop_compose_when_missing() -> None:
    """SEC-04 reads the file as written (`--no-interpolate`), never printing a value."""
    findings = source_findings(render(COMPOSE / "sec04_secrets.yml", interpolate=False))
    use = "; use ${VAR:?message}"
    assert [str(f) for f in findings] == [
        "SEC-04 services.web: environment ACCESS_KEY is passed through from the shell that "
        "runs compose" + use,
        "SEC-04 services.web: environment API_TOKEN is a literal value in the compose file" + use,
        "SEC-04 services.web: environment DB_PASSWORD is empty, not an error, when DB_PASSWORD "
        "is unset" + use,
        "SEC-04 services.web: environment SESSION_SECRET falls back to a default when "
        "SESSION_SECRET is unset" + use,
        "SEC-04 services.web: environment SIGNING_KEY may be empty: ${SIGNING_KEY?...} only "
        "stops compose when SIGNING_KEY is unset" + use,
        "SEC-04 services.worker: environment CACHE_SECRET mixes a literal with the variable" + use,
        "SEC-04 services.worker: environment OTHER_PASSWORD is empty, not an error, when "
        "OTHER_PASSWORD is unset" + use,
        "SEC-04 services.worker: environment QUEUE_KEY gives no message for when QUEUE_KEY is "
        "missing" + use,
        "SEC-04 services.worker: environment REFRESH_TOKEN is replaced by a literal when "
        "REFRESH_TOKEN is set" + use,
    ]
    assert "plain-text" not in "\n".join(str(f) for f in findings)


# -------------------------------------------------------- Dockerfile rules ---


def test_a_compliant_dockerfile_passes_every_rule() -> None:
    """Multi-stage, a compiler in the build stage only, cache and secret mounts, a heredoc."""
    assert dockerfile_messages("Dockerfile.compliant") == []


DOCKERFILE_VIOLATIONS = {
    "Dockerfile.img01_no_user": [
        "IMG-01 Dockerfile.img01_no_user:4: the final stage sets no USER, so it runs as root",
    ],
    "Dockerfile.img01_root": [
        "IMG-01 Dockerfile.img01_root:5: USER ${RUN_AS}:0 runs the final stage as root",
    ],
    "Dockerfile.img02_none": [
        "IMG-02 Dockerfile.img02_none:6: HEALTHCHECK NONE in the final stage: the image reports "
        "no health",
    ],
    "Dockerfile.img02_options": [
        "IMG-02 Dockerfile.img02_options:6: 2 HEALTHCHECKs in the final stage (lines 5, 6)",
        "IMG-02 Dockerfile.img02_options:6: HEALTHCHECK without an explicit --timeout, "
        "--start-period, --retries",
    ],
    "Dockerfile.img03_add": [
        "IMG-03 Dockerfile.img03_add:3: ADD instruction; use COPY (and fetch URLs in a checked "
        "RUN)",
        "IMG-03 Dockerfile.img03_add:5: ADD instruction; use COPY (and fetch URLs in a checked "
        "RUN)",
    ],
    "Dockerfile.img04_apt": [
        "IMG-04 Dockerfile.img04_apt:3: apt-get update without apt-get install in the same RUN",
        "IMG-04 Dockerfile.img04_apt:3: apt-get update without `rm -rf /var/lib/apt/lists/*` "
        "in the same RUN",
        "IMG-04 Dockerfile.img04_apt:4: apt-get install without --no-install-recommends",
        "IMG-04 Dockerfile.img04_apt:4: apt-get update without `rm -rf /var/lib/apt/lists/*` "
        "in the same RUN",
    ],
    "Dockerfile.img05_from": [
        "IMG-05 Dockerfile.img05_from:5: FROM python has no tag",
        "IMG-05 Dockerfile.img05_from:6: FROM python:latest uses the latest tag",
        "IMG-05 Dockerfile.img05_from:7: FROM ghcr.io/acme/base:1.0 is not from a configured "
        "registry (docker.io/library, dockyard-base/)",
        "IMG-05 Dockerfile.img05_from:8: FROM ${LATEST_BASE} (debian:latest) uses the latest tag",
        "IMG-05 Dockerfile.img05_from:9: FROM ${UNSET_BASE}: UNSET_BASE has no default in an "
        "ARG before the first FROM",
        "IMG-05 Dockerfile.img05_from:10: FROM acme/tool:2.0 is not from a configured registry "
        "(docker.io/library, dockyard-base/)",
    ],
    "Dockerfile.img08_runtime": [
        "IMG-08 Dockerfile.img08_runtime:7: --trusted-host turns off pip's certificate checks",
        "IMG-08 Dockerfile.img08_runtime:7: pip install without --no-cache-dir or a cache mount",
        "IMG-08 Dockerfile.img08_runtime:9: installs the compiler g++ in the final stage; build "
        "in an earlier stage and copy the result",
        "IMG-08 Dockerfile.img08_runtime:9: installs the compiler build-essential in the final "
        "stage; build in an earlier stage and copy the result",
    ],
    "Dockerfile.sec02_secrets": [
        f"SEC-02 Dockerfile.sec02_secrets:{line}: {what} looks like a secret and stays in the "
        "image's history; pass it with RUN --mount=type=secret"
        for line, what in [
            (2, "ARG GITHUB_TOKEN"),
            (4, "ARG DB_PASSWORD"),
            (5, "ENV APP_SECRET"),
            (6, "ENV API_KEY"),
        ]
    ]
    + [
        "SEC-02 Dockerfile.sec02_secrets:7: COPY id_rsa puts a credential file in a layer; use "
        "RUN --mount=type=secret",
    ],
}


@pytest.mark.parametrize("fixture", sorted(DOCKERFILE_VIOLATIONS))
def test_a_dockerfile_that_breaks_a_rule_is_caught(fixture: str) -> None:
    assert dockerfile_messages(fixture) == DOCKERFILE_VIOLATIONS[fixture]


def test_every_rule_has_a_fixture_that_breaks_it() -> None:
    caught = {
        message.split()[0]
        for expected in (*COMPOSE_VIOLATIONS.values(), *DOCKERFILE_VIOLATIONS.values())
        for message in expected
    }
    rules = {f"RT-{n:02}" for n in range(1, 11)} | {"SEC-02"}
    rules |= {"IMG-01", "IMG-02", "IMG-03", "IMG-04", "IMG-05", "IMG-08"}
    assert caught == rules  # SEC-04 has its own test above


def test_the_parser_reads_continuations_comments_heredocs_and_stages() -> None:
    text = (DOCKERFILES / "Dockerfile.compliant").read_text(encoding="utf-8")
    dockerfile = parse(text, "Dockerfile.compliant")
    assert [(s.line, s.base, s.name) for s in dockerfile.stages] == [
        (4, "${BASE_IMAGE}", "builder"),
        (22, "dockyard-base/python:3.11-bookworm", "runtime"),
    ]
    first_run = dockerfile.stages[0].instructions[1]
    assert first_run.line == 7
    assert "rm -rf /var/lib/apt/lists/*" in first_run.arguments
    heredoc = dockerfile.stages[0].instructions[4]
    assert (heredoc.keyword, heredoc.arguments.splitlines()[1]) == ("RUN", "apt-get update")


# ------------------------------------------------- this repository's files ---


def test_the_repositorys_compose_file_passes_when_rendered_for_real(
    repo_config: Config, tmp_path: Path
) -> None:
    """Rendered with an env file made for this run; only reviewed exemptions remain."""
    env_file = tmp_path / ".env.production"
    values = {"POSTGRES_DB": "tugboat", "POSTGRES_USER": "tugboat"}
    values |= {"POSTGRES_PASSWORD": secrets.token_hex(16), "REDIS_PASSWORD": secrets.token_hex(16)}
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    project = project_for(repo_config, "production", environ=ENVIRON, env_file=env_file)
    rendered = compose_document(project, ENVIRON)
    assert set(rendered["services"]) == {"app", "migrate", "postgres", "proxy", "redis", "worker"}
    policy = repo_config.hardening
    found = compose_findings(rendered, policy, repo_config.services, str(REPO))
    found += source_findings(compose_document(project, ENVIRON, interpolate=False))
    rest, used = exempted(found, [*policy.exempt, *proxy_exemptions(repo_config)])
    assert rest == []
    assert [(e.rule, e.subject) for e in used] == [("RT-10", "proxy")]
    assert not any(e.subject == "proxy" for e in policy.exempt)  # dockyard's own, not the team's


def test_the_repositorys_dockerfiles_pass(repo_config: Config) -> None:
    names = [
        "Dockerfile.production",
        *sorted(str(p.relative_to(REPO)) for p in REPO.glob("src/dockyard/data/base/*/Dockerfile")),
    ]
    policy = repo_config.hardening
    found = [
        finding
        for name in names
        for finding in dockerfile_findings(
            (REPO / name).read_text(encoding="utf-8"), name, policy, repo_config.images.local_prefix
        )
    ]
    rest, used = exempted(found, policy.exempt)
    assert rest == []
    assert sorted((e.rule, e.subject) for e in used) == [
        ("IMG-01", "src/dockyard/data/base/python/Dockerfile"),
        ("IMG-02", "src/dockyard/data/base/python/Dockerfile"),
    ]


def test_the_audit_gate_passes_the_repository_and_lists_its_exemptions(
    repo_config: Config,
) -> None:
    files = project_files(REPO, ENVIRON, repo_config.audit.exclude)
    result = hardening_gate(repo_config, ENVIRON, files)
    assert result.status is Status.OK, result.details
    assert result.summary == (
        f"6 compose service(s), 2 instance file(s) and {len(dockerfiles(files))} Dockerfile(s) "
        "pass the hardening rules"
    )
    assert [d.split(" (")[0] for d in result.details] == [
        "exempt: RT-10 proxy",
        "exempt: IMG-01 src/dockyard/data/base/python/Dockerfile",
        "exempt: IMG-02 src/dockyard/data/base/python/Dockerfile",
    ]


# ----------------------------------------------------------------- the gate ---


@pytest.fixture
def project(repo_config: Config, tmp_path: Path) -> Config:
    """A copy of this project's compose file, env files and Dockerfile in a temporary tree."""
    for name in [*repo_config.compose_files, "Dockerfile.production"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    # The committed schema and examples, not a developer's real env files (.env.development).
    shutil.copytree(REPO / "env", tmp_path / "env", ignore=shutil.ignore_patterns(".env.*[!e]"))
    (tmp_path / "docs").mkdir()
    shutil.copy(REPO / repo_config.env_docs, tmp_path / repo_config.env_docs)
    hardening = dataclasses.replace(repo_config.hardening, exempt=[])
    return dataclasses.replace(repo_config, root=tmp_path, hardening=hardening)


def test_the_gate_fails_with_composes_own_message_when_it_rejects_the_file(
    project: Config,
) -> None:
    compose_file = project.root / project.compose_files[0]
    text = compose_file.read_text(encoding="utf-8")
    compose_file.write_text(text.replace("  worker:\n", "  worker:\n    privilegd: true\n", 1))
    result = hardening_gate(project, ENVIRON, ["Dockerfile.production"])
    assert result.status is Status.FAIL
    [bad] = [d for d in result.details if d.startswith("BAD")]
    assert bad.startswith(
        "BAD-05 docker-compose.production.yml: docker compose rejected "
        "docker-compose.production.yml (with .env.production.example): validating "
        f"{compose_file}: services.worker Additional property privilegd is not allowed"
    )


def test_the_gate_names_a_missing_compose_file_and_a_missing_example(project: Config) -> None:
    compose_file = project.root / project.compose_files[0]
    compose_file.rename(project.root / "elsewhere.yml")
    result = hardening_gate(project, ENVIRON, [])
    assert result.details[0] == (
        f"BAD-06 docker-compose.production.yml: {compose_file}: compose file not found   "
        "fix: check [tool.dockyard] compose_files in pyproject.toml"
    )
    (project.root / "elsewhere.yml").rename(compose_file)
    (project.root / "env" / ".env.production.example").unlink()
    result = hardening_gate(project, ENVIRON, [])
    assert result.details[0] == (
        "BAD-06 docker-compose.production.yml: cannot be rendered without "
        "env/.env.production.example; run `invoke env.render` and commit it"
    )


def test_the_gate_reports_findings_of_the_compose_file_and_the_dockerfiles(
    project: Config,
) -> None:
    compose_file = project.root / project.compose_files[0]
    text = compose_file.read_text(encoding="utf-8")
    compose_file.write_text(text.replace("cap_drop: [ALL]", "cap_drop: [NET_RAW]"))
    (project.root / "Dockerfile.production").write_text("FROM python:latest\n")
    result = hardening_gate(project, ENVIRON, ["Dockerfile.production"])
    assert result.status is Status.FAIL
    assert result.fix is not None
    assert "[[tool.dockyard.hardening.exempt]]" in result.fix
    details = set(result.details)
    for service in ("app", "migrate", "postgres", "redis", "worker"):
        assert f"RT-02 services.{service}: cap_drop does not contain ALL" in details
    assert "IMG-05 Dockerfile.production:1: FROM python:latest uses the latest tag" in details
    # dockyard's own proxy keeps its hardening, and its one reviewed exception, whatever the
    # project's file does
    assert not any(d.startswith("RT-02 services.proxy") for d in details)
    assert not any(d.startswith("RT-10 services.proxy") for d in details)


def test_every_instance_file_is_held_to_the_published_address_rule(
    project: Config, repo_config: Config
) -> None:
    edge = project.root / "env" / "instances" / "edge.toml"
    edge.write_text('profile = "production"\nport = 9443\nbind = "0.0.0.0"\n')
    result = hardening_gate(project, ENVIRON, [])
    assert result.status is Status.FAIL
    assert result.details == (
        "RT-08 env/instances/edge.toml services.proxy: port 8080 is published on 0.0.0.0; "
        "bind it to 127.0.0.1 ([tool.dockyard.hardening] publish_addresses)",
    )
    edge.write_text(
        'profile = "production"\nport = 9443\nbind = "0.0.0.0"\n'
        'bind_exception = "the load balancer on the LAN reaches it"\n'
    )
    result = hardening_gate(project, ENVIRON, [])
    assert result.status is Status.OK, result.details
    assert "3 instance file(s)" in result.summary
    assert (
        "exempt: RT-08 env/instances/edge.toml "
        "(bind_exception: the load balancer on the LAN reaches it)" in result.details
    )
    edge.write_text('profile = "production"\nport = 8082\nbind_exception = "no longer needed"\n')
    result = hardening_gate(project, ENVIRON, [])
    assert result.status is Status.FAIL
    assert sorted(result.details) == [
        "BAD-05 env/instances: edge.toml and production.toml both publish port 8082 "
        "(on 127.0.0.1 and 127.0.0.1); give each instance its own port",
        "RT-08 env/instances/edge.toml: bind_exception is set, but the instance publishes where "
        "it may; remove it",
    ]


# -------------------------------------------------------------- exemptions ---


def test_an_exemption_covers_its_rule_and_subject_only() -> None:
    findings = [
        Finding("RT-03", "services.app", "read_only is not true", "app"),
        Finding("RT-03", "services.worker", "read_only is not true", "worker"),
    ]
    exemption = Exemption("RT-03", "app", "writes its uploads in place")
    rest, used = exempted(findings, [exemption])
    assert (rest, used) == ([findings[1]], [exemption])
    result = verdict([], used, "1 compose service(s)")
    assert result.details == ("exempt: RT-03 app (writes its uploads in place)",)


def test_an_exemption_that_matches_nothing_fails_the_gate() -> None:
    leftover = Exemption("RT-03", "app", "no longer needed")
    result = verdict(stale([leftover]), [], "1 compose service(s)")
    assert result.status is Status.FAIL
    assert result.details == (
        "RT-03 app: exempted in [tool.dockyard.hardening] but nothing fails the rule; remove it",
    )


def test_the_hardening_configuration_is_validated(tmp_path: Path) -> None:
    table = {
        "project": "x",
        "image": "x",
        "hardening": {
            "profile": "staging",
            "allowed_capabilities": {"CAP_NET_ADMIN": "", "NET_RAW": "ping"},
            "min_host_port": 0,
            "exempt": [{"rule": "RT3", "subject": "app", "reason": " "}],
        },
    }
    with pytest.raises(ConfigError) as raised:
        parse_config(table, root=tmp_path)
    path = "tool.dockyard.hardening"
    assert raised.value.problems == [
        f"{path}.profile: expected one of the env profiles (development, testing, production), "
        "got 'staging'",
        f"{path}.allowed_capabilities.CAP_NET_ADMIN: expected a capability name like "
        "NET_BIND_SERVICE (without CAP_)",
        f"{path}.allowed_capabilities.CAP_NET_ADMIN: expected the reason it is needed",
        f"{path}.min_host_port: expected a port 1-65535, got 0",
        f"{path}.exempt[0].rule: expected a checklist id like RT-03, got 'RT3'",
        f"{path}.exempt[0].reason: expected why the rule does not apply",
    ]


@pytest.mark.parametrize(
    ("name", "shown", "service", "build"),
    [
        ("DB_PASSWORD", True, True, True),
        ("API_KEY", True, True, True),
        ("SIGNING_KEY", True, True, False),
        ("GPG_KEY", True, True, False),
        ("SESSION_TIMEOUT", True, False, False),
        ("LOG_LEVEL", False, False, False),
    ],
)
def test_secret_names_are_judged_as_widely_as_each_place_affords(
    name: str, shown: bool, service: bool, build: bool
) -> None:
    """Output masks every hint of a credential; SEC-04 takes any KEY; SEC-02 API and private
    keys only, since other build-time keys (GPG_KEY) are public."""
    judged = [looks_secret(name, where) for where in (Where.OUTPUT, Where.SERVICE, Where.BUILD)]
    assert judged == [shown, service, build]
