"""Smoke client against an HTTPS endpoint, as a deployed Function URL is.

The server is a TLS listener on 127.0.0.1 with a self-signed certificate made
by openssl for this test. It converts each request into a Function URL event
with the local runner's converter and passes it to the real handler
in-process, so the smoke client's checks run over real TLS against the real
signature verification.
"""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from local_lambda.events import HttpRequest, request_to_event, result_to_response
from local_runner_fixtures import run_smoke
from nacl.signing import SigningKey

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """Create a one-day self-signed certificate for IP 127.0.0.1 and return (cert, key) paths."""
    certificate = directory / "cert.pem"
    private_key = directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-nodes", "-days", "1",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", str(private_key), "-out", str(certificate),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return certificate, private_key


def handler_request_class(handler_module: ModuleType) -> type[http.server.BaseHTTPRequestHandler]:
    """Build a request handler class that runs `lambda_handler` for every POST and GET."""

    class FunctionUrlHandler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = HttpRequest(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=self.rfile.read(length),
                source_ip=self.client_address[0],
                server_port=self.server.server_address[1],
            )
            event = request_to_event(request, api_id="httpstest", request_id="1")
            response = result_to_response(handler_module.lambda_handler(event, None))

            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST

        def log_message(self, format: str, *args: object) -> None:
            """Drop the access log line. The handler logs each request through `logging`."""

    return FunctionUrlHandler


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return make_certificate(tmp_path)


@pytest.fixture
def https_url(handler_module: ModuleType, certificate: tuple[Path, Path]) -> Iterator[str]:
    cert_file, key_file = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), handler_request_class(handler_module)
    )
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def write_key_file(directory: Path, key: SigningKey) -> Path:
    path = directory / "endpoint.key"
    path.write_text(key.encode().hex(), encoding="ascii")
    path.chmod(0o600)
    return path


def test_smoke_passes_over_https(
    https_url: str,
    certificate: tuple[Path, Path],
    signing_key: SigningKey,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    key_file = write_key_file(tmp_path, signing_key)

    result = run_smoke(https_url, "--private-key-file", str(key_file))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASS") == 3
    assert key_file.read_text(encoding="ascii") not in result.stdout + result.stderr


def test_smoke_rejects_untrusted_certificate(
    https_url: str, signing_key: SigningKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TLS is verified: a certificate that no trusted CA signed fails every check."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    key_file = write_key_file(tmp_path, signing_key)

    result = run_smoke(https_url, "--private-key-file", str(key_file))

    assert result.returncode == 1
    assert "PASS" not in result.stdout
    assert "certificate" in (result.stdout + result.stderr).lower()


def test_smoke_https_wrong_key_fails(
    https_url: str, certificate: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    key_file = write_key_file(tmp_path, SigningKey.generate())

    result = run_smoke(https_url, "--private-key-file", str(key_file))

    assert result.returncode == 1
    assert result.stdout.count("FAIL") == 2
