"""The audit gate: Dockerfile lint, hardening rules, secret scan and dependency audit, each an
honest verdict.

A gate that could not do its job says so and fails; it never reports a pass it
did not earn. pip-audit, for one, exits 0 and prints "No known vulnerabilities
found" when it could not reach any advisory data, so its JSON is read instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import json
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dockyard.audit.hardening.compose import compose_findings, source_findings
from dockyard.audit.hardening.dockerfile import dockerfile_findings
from dockyard.audit.hardening.findings import Finding, exempted, stale, verdict
from dockyard.audit.instances import InstanceChecks, instance_findings, stale_binds
from dockyard.core import proc
from dockyard.core.config import Audit, Config
from dockyard.core.errors import DockyardError, MissingFileError
from dockyard.core.files import git_files
from dockyard.core.results import CheckResult, fail, ok, warn
from dockyard.image.hadolint import hadolint_gate
from dockyard.stack.compose import ComposeProject
from dockyard.stack.proxyconf import exemptions as proxy_exemptions

SECRETS_BASELINE = ".secrets.baseline"


# ------------------------------------------------------------------- files ---


def project_files(root: Path, environ: Mapping[str, str], exclude: Iterable[str]) -> list[str]:
    """Files git tracks or would add (untracked, not ignored), minus the `exclude` globs."""
    patterns = list(exclude)
    return [
        name
        for name in git_files(root, environ)
        if (root / name).is_file() and not any(fnmatch.fnmatch(name, p) for p in patterns)
    ]


def dockerfiles(files: Iterable[str]) -> list[str]:
    return [
        name
        for name in files
        if (base := Path(name).name).startswith("Dockerfile") or base.endswith(".Dockerfile")
    ]


# ---------------------------------------------------------------- hadolint ---


# ---------------------------------------------------------------- hardening ---


def hardening_gate(config: Config, environ: Mapping[str, str], files: list[str]) -> CheckResult:
    """The CHECKLIST's static rules on the rendered compose configuration and every Dockerfile.

    Compose renders the files with the hardening profile's committed example env file, so
    the verdict depends on what is committed, not on the shell or a local env file.
    """
    policy = config.hardening
    findings: list[Finding] = []
    subjects: set[str] = set()
    services = 0
    instance_checks = InstanceChecks()
    try:
        project = hardening_project(config, environ)
        rendered = compose_document(project, environ)
        source = compose_document(project, environ, interpolate=False)
    except DockyardError as error:
        # A file or tool that is missing (BAD-06), or compose's own refusal (BAD-05).
        rule = "BAD-06" if isinstance(error, MissingFileError) else "BAD-05"
        label = ", ".join(config.compose_files)
        findings.append(Finding(rule, label, str(error).replace("\n", " "), label))
    else:
        services = len(rendered.get("services") or {})
        subjects.update(rendered.get("services") or {})
        findings += compose_findings(rendered, policy, config.services, str(config.root))
        findings += source_findings(source)
        instance_checks = instance_findings(
            config,
            lambda variables: compose_document(
                hardening_project(config, environ, variables), environ
            ),
            findings,
        )
        findings += instance_checks.findings
    findings += _env_example_findings(config)
    for name in dockerfiles(files):
        try:
            text = (config.root / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            findings.append(Finding("BAD-06", name, f"cannot be read: {error}", name))
            continue
        subjects.add(name)
        findings += dockerfile_findings(text, name, policy, config.images.local_prefix)
    reviewed = [*policy.exempt, *instance_checks.exemptions, *proxy_exemptions(config)]
    rest, used = exempted(findings, reviewed)
    unused = [e for e in policy.exempt if e not in used and (services or e.subject in subjects)]
    unused_binds = [e for e in instance_checks.exemptions if e not in used]
    examined = (
        f"{services} compose service(s), {instance_checks.count} instance file(s) and "
        f"{len(dockerfiles(files))} Dockerfile(s)"
    )
    return verdict([*rest, *stale(unused), *stale_binds(unused_binds)], used, examined)


def hardening_project(
    config: Config, environ: Mapping[str, str], variables: Mapping[str, str] | None = None
) -> ComposeProject:
    """The compose project as the stack runs it (or, with an instance's `variables`, as that
    instance runs it), dockyard's proxy included, with the hardening profile's example env
    file."""
    from dockyard.stack.lifecycle import project_for

    profile = config.hardening.profile
    example = config.path(config.env_dir) / f".env.{profile}.example"
    if not example.is_file():
        raise MissingFileError(
            f"cannot be rendered without {config.env_dir}/{example.name}; "
            "run `invoke env.render` and commit it"
        )
    return project_for(config, profile, variables, environ=_cli_only(environ), env_file=example)


def compose_document(
    project: ComposeProject, environ: Mapping[str, str], *, interpolate: bool = True
) -> dict[str, Any]:
    """What `docker compose config --format json` renders (`--no-interpolate`: `${...}` kept
    as written). Compose validates as `config -q` does; its own message when it refuses."""
    kept = _cli_only(environ)
    extra = [] if interpolate else ["--no-interpolate"]
    found = proc.run(
        project.command("config", "--format", "json", *extra),
        env=project.environ(kept),
        check=False,
        timeout=60,
    )
    if not found.ok:
        said = " ".join(line.strip() for line in found.tail(10).splitlines())
        raise DockyardError(f"docker compose rejected it (with {project.env_file.name}): {said}")
    document = json.loads(found.stdout)
    return document if isinstance(document, dict) else {}


def _cli_only(environ: Mapping[str, str]) -> dict[str, str]:
    """Only what finds and drives the Docker CLI: the committed files decide, not the shell."""
    return {k: v for k, v in environ.items() if k in {"PATH", "HOME"} or k.startswith("DOCKER_")}


def _env_example_findings(config: Config) -> list[Finding]:
    """SEC-04's second half: the committed examples are what the schema generates, secrets as
    placeholders only (`dockyard.envaudit` knows how)."""
    from dockyard.env.gate import shipped_problems

    try:
        problems = shipped_problems(config)
    except DockyardError as error:
        problems = [str(error).replace("\n", " ")]
    return [Finding("SEC-04", config.env_dir, problem, config.env_dir) for problem in problems]


# ------------------------------------------------------------ secret scan ---


def secrets_gate(root: Path, environ: Mapping[str, str], files: list[str]) -> CheckResult:
    """detect-secrets over the tree, compared with the reviewed baseline (never rewriting it)."""
    name = "secrets"
    baseline_path = root / SECRETS_BASELINE
    fix_baseline = (
        "remove the secret (and rotate it); if it is a false positive, add it to "
        f"{SECRETS_BASELINE} with `detect-secrets scan --baseline {SECRETS_BASELINE}` "
        f"then mark it reviewed with `detect-secrets audit {SECRETS_BASELINE}`"
    )
    try:
        baseline = json.loads(baseline_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return fail(name, f"{SECRETS_BASELINE} is missing", fix_baseline)
    except json.JSONDecodeError as error:
        return fail(name, f"{SECRETS_BASELINE} is not valid JSON: {error}", fix_baseline)
    scanned = [each for each in files if each != SECRETS_BASELINE]
    found = proc.run(["detect-secrets", "scan", *scanned], cwd=root, env=environ, timeout=300)
    return compare_secret_scan(json.loads(found.stdout), baseline, len(scanned))


def compare_secret_scan(
    scan: Mapping[str, Any], baseline: Mapping[str, Any], file_count: int
) -> CheckResult:
    """Findings not in the baseline, or in it but not reviewed as false positives, fail the gate."""
    name = "secrets"
    known = {
        (filename, entry["hashed_secret"]): entry
        for filename, entries in baseline.get("results", {}).items()
        for entry in entries
    }
    problems = []
    for filename, entries in sorted(scan.get("results", {}).items()):
        for entry in entries:
            reviewed = known.get((filename, entry["hashed_secret"]))
            where = f"{filename}:{entry['line_number']}: {entry['type']}"
            if reviewed is None:
                problems.append(f"{where} (new, not in {SECRETS_BASELINE})")
            elif reviewed.get("is_secret") is not False:
                problems.append(f"{where} (in {SECRETS_BASELINE} but not reviewed as safe)")
    if problems:
        return fail(
            name,
            f"{len(problems)} possible secret(s) in the tree",
            "remove and rotate real secrets; review false positives with "
            f"`detect-secrets audit {SECRETS_BASELINE}`",
            tuple(problems),
        )
    return ok(name, f"{file_count} files scanned, nothing beyond the reviewed baseline")


# -------------------------------------------------------- dependency audit ---


def dependency_gate(
    config: Config, environ: Mapping[str, str], today: dt.date | None = None
) -> CheckResult:
    """pip-audit on every package of the service's lock (`find_lock`), read from its JSON
    report. A lock that cannot be found or read fails the gate: nothing passes unaudited."""
    from dockyard.core.dependencies import LockKind, find_lock, poetry_requirements

    try:
        lock = find_lock(config)
        poetry = poetry_requirements(lock.files[0]) if lock.kind is LockKind.POETRY else None
    except DockyardError as error:
        return fail(
            "dependencies", f"{error.message}; the dependencies were NOT audited", error.hint or ""
        )
    shown = ", ".join(lock.relative(config.root))
    with tempfile.TemporaryDirectory(prefix="dockyard-audit-") as scratch:
        requirements = [Path(scratch) / "requirements.txt"]
        if lock.kind is LockKind.UV:
            exported = proc.run(
                [
                    "uv", "export", "--locked", "--all-groups", "--no-emit-workspace", "--quiet",
                    "--format", "requirements-txt", "--output-file", str(requirements[0]),
                ],
                cwd=lock.directory,
                env=environ,
                timeout=120,
                check=False,
            )  # fmt: skip
            if not exported.ok:
                return fail(
                    "dependencies",
                    f"`uv export` of {shown} failed (exit {exported.returncode}): "
                    f"{exported.tail(5)}",
                    "run `uv lock` beside it; the dependencies were NOT audited",
                )
        elif poetry is not None:
            requirements[0].write_text(poetry, encoding="utf-8")
        else:
            requirements = list(lock.files)
        report_path = Path(scratch) / "report.json"
        ran = proc.run(
            [
                "pip-audit", *(f"--requirement={path}" for path in requirements),
                "--disable-pip", "--require-hashes", "--progress-spinner", "off",
                "--format", "json", "--output", str(report_path),
            ],
            cwd=config.root,
            env=environ,
            check=False,
            timeout=600,
        )  # fmt: skip
        try:
            report = json.loads(report_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return fail(
                "dependencies",
                f"pip-audit did not produce a report for {shown} (exit {ran.returncode}): "
                f"{ran.tail(5)}",
                "run `pip-audit` by hand to see why; the dependencies were NOT audited",
            )
    result = classify_dependency_audit(report, config.audit, today or dt.date.today())
    return dataclasses.replace(result, summary=f"{shown}: {result.summary}")


def classify_dependency_audit(
    report: Mapping[str, Any], policy: Audit, today: dt.date
) -> CheckResult:
    """Tell "vulnerable" from "could not audit" from "clean", applying the reviewed policy."""
    name = "dependencies"
    dependencies = report.get("dependencies", [])
    expired = [entry for entry in policy.ignore if today > entry.until]
    ignored = {entry.id for entry in policy.ignore if today <= entry.until}
    findings = [
        f"{dep['name']} {dep.get('version', '?')}: {vuln['id']}"
        + (f" (fixed in {', '.join(vuln['fix_versions'])})" if vuln.get("fix_versions") else "")
        for dep in dependencies
        for vuln in dep.get("vulns", [])
        if not ignored & {vuln["id"], *vuln.get("aliases", [])}
    ]
    unaudited = [dep for dep in dependencies if dep.get("skip_reason")]
    if expired:
        return fail(
            name,
            f"{len(expired)} ignored advisory(ies) past their review date",
            "review each one: upgrade, or extend `until` in [tool.dockyard.audit] ignore",
            tuple(f"{entry.id}: expired {entry.until} ({entry.reason})" for entry in expired),
        )
    if findings:
        return fail(
            name,
            f"{len(findings)} known vulnerability(ies) in the locked dependencies",
            "upgrade (`uv lock --upgrade-package NAME`) or add a reviewed entry to "
            "[tool.dockyard.audit] ignore with a reason and an expiry date",
            tuple(findings),
        )
    if not unaudited:
        return ok(name, f"{len(dependencies)} packages audited, no known vulnerabilities")
    reason = unaudited[0]["skip_reason"]
    summary = f"NOT AUDITED: {len(unaudited)} of {len(dependencies)} packages could not be checked"
    details = (f"pip-audit: {reason}",)
    acceptance = policy.accept_unaudited
    if acceptance is None:
        return fail(
            name,
            summary,
            "run the audit where PyPI's or OSV's advisory data can be reached, or accept this "
            "explicitly: [tool.dockyard.audit] accept_unaudited = { reason = ..., until = ... }",
            details,
        )
    if acceptance.expired(today):
        return fail(
            name,
            f"{summary}; the acceptance expired on {acceptance.until}",
            "review [tool.dockyard.audit] accept_unaudited: audit for real, or extend `until`",
            details,
        )
    until = f" until {acceptance.until}" if acceptance.until else ""
    return warn(
        name,
        f"{summary} (accepted{until}: {acceptance.reason})",
        "audit where the advisory data can be reached before relying on this build",
        details,
    )


def run_audit(config: Config, environ: Mapping[str, str]) -> list[CheckResult]:
    """Every audit gate, in order; each runs even when an earlier one fails."""
    files = project_files(config.root, environ, config.audit.exclude)
    return [
        hadolint_gate(config.root, environ, dockerfiles(files)),
        hardening_gate(config, environ, files),
        secrets_gate(config.root, environ, files),
        dependency_gate(config, environ),
    ]
