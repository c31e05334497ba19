"""Talking to a registry: its HTTP API (requests) for what it holds, the engine for pushes.

The registry's own answer is the truth: `manifest_digest` asks `HEAD /v2/<name>/manifests/<tag>`
for `Docker-Content-Digest` (the docker CLI's `manifest inspect` is unreliable against an
insecure registry). Every request has a timeout, and any answer — refused, HTML, garbage — is
a RegistryError naming the URL, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import requests

from dockyard.registry.plan import (
    MANIFEST_TYPES,
    Credentials,
    RegistryError,
    Target,
    bearer_challenge,
    check_digests,
    is_digest,
    split_ref,
    target,
)

if TYPE_CHECKING:
    import docker

UP_HINT = "start one with `invoke registry.up`, or set [tool.dockyard.registry] url to yours"


class RegistryClient:
    """The HTTP API of one registry."""

    def __init__(
        self, where: Target, *, timeout: float = 10.0, credentials: Credentials | None = None
    ) -> None:
        self.where = where
        self.timeout = timeout
        self.credentials = credentials
        self.session = requests.Session()
        self.session.trust_env = True  # a corporate CA bundle (REQUESTS_CA_BUNDLE) applies

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def ping(self) -> int:
        """The status of `GET /v2/`: 200, or 401 from a registry that wants credentials."""
        url = f"{self.where.api}/v2/"
        answer = self._request("GET", url)
        if answer.status_code not in (200, 401):
            raise RegistryError(
                f"{url} answered HTTP {answer.status_code}{_kind(answer)}: not a registry's API",
                hint=UP_HINT,
            )
        return answer.status_code

    def manifest_digest(self, name: str, tag: str) -> str | None:
        """The digest the registry gives for `name:tag`; None when it has no such manifest."""
        url = f"{self.where.api}/v2/{name}/manifests/{tag}"
        answer = self._request("HEAD", url, headers={"Accept": ", ".join(MANIFEST_TYPES)})
        if answer.status_code == 404:
            return None
        if answer.status_code in (401, 403):
            raise RegistryError(
                f"{url} answered HTTP {answer.status_code}: access denied",
                hint="set [tool.dockyard.registry] username_variable and password_variable, "
                "and export those variables",
            )
        if answer.status_code != 200:
            raise RegistryError(
                f"{url} answered HTTP {answer.status_code}{_kind(answer)}", hint=UP_HINT
            )
        digest = answer.headers.get("Docker-Content-Digest", "")
        if not is_digest(digest):
            raise RegistryError(
                f"{url} answered without a Docker-Content-Digest (got {digest[:80]!r})",
                hint="the server is not a Docker registry (v2 API), or a proxy strips the header",
            )
        return digest

    def delete_manifest(self, name: str, digest: str) -> bool:
        """Delete the manifest `digest` of `name` (and so every tag naming it): True once the
        registry has none, False when the registry refuses deletes (HTTP 405: a registry's
        default unless `REGISTRY_STORAGE_DELETE_ENABLED=true`)."""
        if not is_digest(digest):
            raise RegistryError(f"{digest!r} is not a digest: only a digest can be deleted")
        url = f"{self.where.api}/v2/{name}/manifests/{digest}"
        answer = self._request("DELETE", url)
        if answer.status_code in (200, 202, 404):
            return True
        if answer.status_code == 405:
            return False
        raise RegistryError(
            f"DELETE {url} answered HTTP {answer.status_code}{_kind(answer)}", hint=UP_HINT
        )

    def _request(
        self, method: str, url: str, headers: dict[str, str] | None = None
    ) -> requests.Response:
        auth = (self.credentials.username, self.credentials.password) if self.credentials else None
        answer = self._send(method, url, headers or {}, auth)
        challenge = bearer_challenge(answer.headers.get("WWW-Authenticate", ""))
        if answer.status_code == 401 and challenge is not None and not url.endswith("/v2/"):
            token = self._token(challenge)
            bearer = {**(headers or {}), "Authorization": f"Bearer {token}"}
            answer = self._send(method, url, bearer, None)
        return answer

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        auth: tuple[str, str] | None,
    ) -> requests.Response:
        try:
            return self.session.request(
                method,
                url,
                headers=headers,
                auth=auth,
                timeout=(self.timeout, self.timeout),
                allow_redirects=True,
            )
        except requests.ConnectionError as error:
            raise RegistryError(
                f"no registry answers at {url}: {_reason(error)}", hint=UP_HINT
            ) from None
        except requests.Timeout:
            raise RegistryError(
                f"{url} did not answer within {self.timeout:.0f} s", hint=UP_HINT
            ) from None
        except requests.RequestException as error:
            raise RegistryError(f"{url}: {_reason(error)}", hint=UP_HINT) from None

    def _token(self, challenge: dict[str, str]) -> str:
        """A bearer token from the registry's token service, for the credentials we have."""
        params = {key: challenge[key] for key in ("service", "scope") if key in challenge}
        auth = (self.credentials.username, self.credentials.password) if self.credentials else None
        realm = challenge["realm"]
        try:
            answer = self.session.get(
                realm, params=params, auth=auth, timeout=(self.timeout, self.timeout)
            )
            document = answer.json() if answer.status_code == 200 else {}
        except (requests.RequestException, ValueError) as error:
            raise RegistryError(f"token service {realm}: {_reason(error)}") from None
        token = (
            document.get("token") or document.get("access_token")
            if isinstance(document, dict)
            else None
        )
        if not isinstance(token, str) or not token:
            raise RegistryError(
                f"token service {realm} gave no token (HTTP {answer.status_code})",
                hint="check the registry credentials' variables",
            )
        return token


def client_for(url: str, *, timeout: float, credentials: Credentials | None) -> RegistryClient:
    return RegistryClient(target(url), timeout=timeout, credentials=credentials)


# -------------------------------------------------------------- the engine ---


def tag(client: docker.DockerClient, source: str, ref: str) -> None:
    """Give the local image `source` the registry reference `ref` too."""
    from docker.errors import DockerException

    split_ref(ref)
    repository, _, tag_ = ref.rpartition(":")
    try:
        client.images.get(source).tag(repository, tag_)
    except DockerException as error:
        raise RegistryError(f"cannot tag {source} as {ref}: {_reason(error)}") from None


def push(
    client: docker.DockerClient,
    ref: str,
    credentials: Credentials | None = None,
    on_status: Callable[[str], None] | None = None,
) -> str:
    """Push `ref` (HOST/NAME:TAG) through the engine; the digest the registry accepted."""
    from docker.errors import DockerException

    split_ref(ref)
    repository, _, tag_ = ref.rpartition(":")
    auth = (
        {"username": credentials.username, "password": credentials.password}
        if credentials
        else None
    )
    digest = ""
    try:
        for chunk in client.images.push(
            repository, tag=tag_, stream=True, decode=True, auth_config=auth
        ):
            if not isinstance(chunk, dict):
                continue
            if chunk.get("error"):
                raise RegistryError(
                    f"push of {ref} failed: {str(chunk['error']).splitlines()[0]}",
                    hint=UP_HINT,
                )
            aux = chunk.get("aux")
            if isinstance(aux, dict) and isinstance(aux.get("Digest"), str):
                digest = aux["Digest"]
            status = chunk.get("status")
            if on_status is not None and isinstance(status, str) and "id" not in chunk:
                on_status(status)
    except DockerException as error:
        raise RegistryError(f"push of {ref} failed: {_reason(error)}", hint=UP_HINT) from None
    if not is_digest(digest):
        raise RegistryError(f"push of {ref} ended without the registry's digest")
    return digest


def local_digest(client: docker.DockerClient, ref: str) -> str | None:
    """The repo digest the engine recorded for `ref` when it was pushed or pulled."""
    from docker.errors import ImageNotFound

    host, name, _ = split_ref(ref)
    try:
        image = client.images.get(ref)
    except ImageNotFound:
        return None
    prefix = f"{host}/{name}@"
    for entry in image.attrs.get("RepoDigests") or []:
        if isinstance(entry, str) and entry.startswith(prefix):
            return entry.removeprefix(prefix)
    return None


def verify_pushed(
    registry: RegistryClient,
    client: docker.DockerClient,
    ref: str,
    pushed: str | None = None,
) -> str:
    """The digest of `ref` once the registry's answer matches the local image's repo digest
    (and the digest the push reported, when given); a RegistryError naming both otherwise."""
    _, name, tag_ = split_ref(ref)
    local = local_digest(client, ref)
    if pushed is not None and local is not None and pushed != local:
        raise RegistryError(
            f"{ref}: the push reported {pushed}, but the local image is {local}",
            hint="push again and compare",
        )
    return check_digests(ref, local or pushed, registry.manifest_digest(name, tag_))


def _kind(answer: requests.Response) -> str:
    kind = answer.headers.get("Content-Type", "").split(";")[0].strip()
    return f" ({kind})" if kind else ""


def _reason(error: BaseException) -> str:
    text = str(error)
    for marker, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("No route to host", "no route to host"),
        ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted"),
        ("wrong version number", "TLS asked of a server that speaks plain HTTP"),
    ):
        if marker in text:
            return reason
    first = text.splitlines()[0] if text else type(error).__name__
    return first[:200]
