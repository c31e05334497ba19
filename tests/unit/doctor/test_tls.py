"""The CA bundle check against a real TLS-intercepting endpoint: a local server whose
certificate is signed by a private CA, as a corporate proxy's would be."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest

from dockyard.core.results import Status
from dockyard.doctor.checks import check_ca_bundle


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A private CA and a server certificate for 127.0.0.1 that it signed."""
    out = tmp_path_factory.mktemp("pki")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=out, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=Intercepting Proxy CA",
            "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (out / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.cnf",
            "-out", "server.pem")  # fmt: skip
    return {"ca": out / "ca.pem", "cert": out / "server.pem", "key": out / "server.key"}


@pytest.fixture
def intercepted(private_ca: dict[str, Path]) -> Iterator[str]:
    """A TLS endpoint on 127.0.0.1 presenting the privately signed certificate; yields HOST:PORT."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(private_ca["cert"], private_ca["key"])
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                try:
                    with context.wrap_socket(connection, server_side=True):
                        pass
                except (ssl.SSLError, OSError):
                    pass  # the client rejected our certificate: that is what some tests expect

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    server.join(timeout=5)
    listener.close()


def test_interception_without_a_bundle_fails_and_names_the_system_bundle_that_works(
    intercepted: str, private_ca: dict[str, Path]
) -> None:
    result = check_ca_bundle({}, intercepted, system_bundles=(str(private_ca["ca"]),))
    assert result.status is Status.FAIL
    assert result.summary == f"TLS to {intercepted} is intercepted and no CA bundle is set"
    assert (
        result.fix
        == f"export SSL_CERT_FILE={private_ca['ca']} (your system bundle trusts the proxy)"
    )


def test_interception_with_no_trusting_bundle_anywhere_says_how_to_make_one(
    intercepted: str,
) -> None:
    result = check_ca_bundle({}, intercepted, system_bundles=(certifi.where(),))
    assert result.status is Status.FAIL
    assert result.fix is not None
    assert "proxy's CA certificate" in result.fix


def test_interception_with_a_trusting_bundle_is_ok(
    intercepted: str, private_ca: dict[str, Path]
) -> None:
    result = check_ca_bundle({"SSL_CERT_FILE": str(private_ca["ca"])}, intercepted)
    assert result.status is Status.OK
    assert result.summary == (
        f"TLS to {intercepted} is intercepted; SSL_CERT_FILE={private_ca['ca']} trusts it "
        "and builds receive it as a BuildKit secret"
    )


def test_a_bundle_that_does_not_trust_the_proxy_fails(intercepted: str) -> None:
    result = check_ca_bundle({"REQUESTS_CA_BUNDLE": certifi.where()}, intercepted)
    assert result.status is Status.FAIL
    assert result.summary.startswith(f"TLS to {intercepted} is intercepted and {certifi.where()}")
    assert result.fix == "point REQUESTS_CA_BUNDLE at the bundle that holds your proxy's CA"


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("absent.pem", None, "file not found"),
        (".", None, "is a directory, not a PEM file"),
        ("notes.pem", "hello", "holds no PEM certificates"),
    ],
)
def test_a_bundle_variable_naming_a_bad_file_fails_before_any_network(
    tmp_path: Path, name: str, content: str | None, problem: str
) -> None:
    bundle = tmp_path / name
    if content is not None:
        bundle.write_text(content)
    result = check_ca_bundle({"SSL_CERT_FILE": str(bundle)}, "127.0.0.1:9")
    assert (result.status, result.summary) == (Status.FAIL, f"SSL_CERT_FILE={bundle}: {problem}")


def test_an_unreachable_probe_warns_instead_of_guessing() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = check_ca_bundle({}, f"127.0.0.1:{port}", timeout=2)
    assert result.status is Status.WARN
    assert result.summary.startswith(
        f"could not reach 127.0.0.1:{port} to test for TLS interception"
    )
