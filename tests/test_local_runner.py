"""Local Function URL runner: real CLI, real HTTP on 127.0.0.1, real isolated python3.11."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from local_runner_fixtures import (
    RUNNER,
    RunningRunner,
    StartRunner,
    empty_layer_zip,
    runner_factory,
    write_config,
    write_zip,
)

# A handler whose behaviour depends on the request path.
PROBE_HANDLER = """
import base64, importlib.util, json, os, sys, time

def lambda_handler(event, context):
    path = event["rawPath"]
    if path == "/raise":
        raise ValueError("boom from handler")
    if path == "/sleep":
        time.sleep(30)
    if path == "/exit":
        os._exit(3)
    if path == "/print":
        print("printed by the handler")
        return {"printed": True}
    if path == "/binary":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                "body": base64.b64encode(bytes(range(256))).decode(), "isBase64Encoded": True}
    if path == "/invalid":
        return {"statusCode": "ok"}
    if path == "/unserializable":
        return {"value": object()}
    probe = {
        "event": event,
        "environ": dict(os.environ),
        "sys_path": sys.path,
        "requests_importable": importlib.util.find_spec("requests") is not None,
        "nacl_importable": importlib.util.find_spec("nacl") is not None,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
    }
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(probe)}
"""


@pytest.fixture
def start_runner(tmp_path: Path) -> Iterator[StartRunner]:
    yield from runner_factory(tmp_path)


CONFIG_VARIABLES = {"DISCORD_PUBLIC_KEY": "ab" * 32, "FROM_CONFIG": "deployed value"}


@pytest.fixture(scope="module")
def probe_args(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Runner options for the probe handler with an empty layer and a 2 s timeout."""
    workdir = tmp_path_factory.mktemp("probe")
    function_zip = write_zip(workdir / "function.zip", {"lambda_function.py": PROBE_HANDLER})
    layer_zip = empty_layer_zip(workdir / "layer.zip")
    config = write_config(workdir / "config.json", CONFIG_VARIABLES, timeout=2)
    return [
        "--function-config",
        str(config),
        "--function-zip",
        str(function_zip),
        "--layer-zip",
        str(layer_zip),
    ]


# The developer's shell as the probe runner sees it: the runner's own
# site-packages (with requests and PyNaCl) on PYTHONPATH, a different
# DISCORD_PUBLIC_KEY and a variable the deployment does not have.
SITE_PACKAGES = next(entry for entry in sys.path if entry.endswith("site-packages"))
SHELL_ENVIRONMENT = {
    **os.environ,
    "PYTHONPATH": SITE_PACKAGES,
    "DISCORD_PUBLIC_KEY": "from the shell",
    "SHELL_ONLY": "1",
}


@pytest.fixture(scope="module")
def runner(
    tmp_path_factory: pytest.TempPathFactory, probe_args: list[str]
) -> Iterator[RunningRunner]:
    """One runner of the probe handler shared by the module's tests."""
    factory = runner_factory(tmp_path_factory.mktemp("probe-runner"))
    start = next(factory)
    yield start(*probe_args, env=SHELL_ENVIRONMENT)
    next(factory, None)


def probe(url: str, **kwargs: object) -> dict:
    response = requests.post(url, timeout=30, **kwargs)
    assert response.status_code == 200, response.text
    return json.loads(response.text)


def test_binary_body_reaches_handler_base64(runner: RunningRunner) -> None:
    body = b"\x00\x01binary\xff"

    result = probe(runner.url, data=body, headers={"Content-Type": "application/octet-stream"})

    event = result["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_json_body_reaches_handler_as_text(runner: RunningRunner) -> None:
    result = probe(runner.url, data=b'{"type":1}', headers={"Content-Type": "application/json"})

    assert result["event"]["isBase64Encoded"] is False
    assert result["event"]["body"] == '{"type":1}'


def test_header_case_and_method(runner: RunningRunner) -> None:
    result = probe(
        runner.url + "some/path?x=1",
        data=b"{}",
        headers={"X-Signature-Ed25519": "SIG", "X-Signature-Timestamp": "123"},
    )

    event = result["event"]
    assert event["headers"]["x-signature-ed25519"] == "SIG"
    assert event["headers"]["x-signature-timestamp"] == "123"
    assert all(name == name.lower() for name in event["headers"])
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["http"]["path"] == "/some/path"
    assert event["queryStringParameters"] == {"x": "1"}
    assert event["requestContext"]["requestId"] == result["request_id"]


def test_developer_packages_invisible(runner: RunningRunner) -> None:
    # requests and PyNaCl are installed for the runner itself; the function
    # must not see them, even through PYTHONPATH (see SHELL_ENVIRONMENT).
    result = probe(runner.url)

    assert result["requests_importable"] is False
    assert result["nacl_importable"] is False
    assert not any(
        "site-packages" in entry and "/opt/" not in entry for entry in result["sys_path"]
    )
    assert result["sys_path"][0].endswith("/task")
    assert result["sys_path"][1].endswith("/opt/python/lib/python3.11/site-packages")
    assert result["sys_path"][2].endswith("/opt/python")


def test_environment_from_deployment_only(runner: RunningRunner) -> None:
    environ = probe(runner.url)["environ"]

    assert environ["DISCORD_PUBLIC_KEY"] == CONFIG_VARIABLES["DISCORD_PUBLIC_KEY"]
    assert environ["FROM_CONFIG"] == "deployed value"
    assert "SHELL_ONLY" not in environ
    assert "HOME" not in environ
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == "runner-test"
    assert environ["_HANDLER"] == "lambda_function.lambda_handler"


def test_context_deadline_from_timeout(runner: RunningRunner) -> None:
    remaining = probe(runner.url)["remaining_ms"]

    assert 0 < remaining <= 2000


def test_handler_exception_gives_502(runner: RunningRunner) -> None:
    failed = requests.get(runner.url + "raise", timeout=30)
    after = requests.get(runner.url, timeout=30)

    assert failed.status_code == 502
    assert failed.json() == {"errorType": "ValueError", "errorMessage": "boom from handler"}
    assert failed.headers["X-Amzn-ErrorType"] == "ValueError"
    assert after.status_code == 200
    assert "boom from handler" in runner.wait_for_log("boom from handler")


def test_import_error_gives_502_and_keeps_serving(start_runner: StartRunner, tmp_path) -> None:
    handler = "import nacl.signing\n\ndef lambda_handler(event, context):\n    return {}\n"
    function_zip = write_zip(tmp_path / "f.zip", {"lambda_function.py": handler})
    layer_zip = empty_layer_zip(tmp_path / "l.zip")
    config = write_config(tmp_path / "c.json")
    runner = start_runner(
        "--function-config",
        str(config),
        "--function-zip",
        str(function_zip),
        "--layer-zip",
        str(layer_zip),
    )

    responses = [requests.post(runner.url, data=b"{}", timeout=30) for _ in range(2)]

    for response in responses:
        assert response.status_code == 502
        assert response.json()["errorType"] == "Runtime.ImportModuleError"
        assert response.json()["errorMessage"] == (
            "Unable to import module 'lambda_function': No module named 'nacl'"
        )
    assert runner.process.poll() is None
    assert "Runtime.ImportModuleError" in runner.log()


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"lambda_function.py": "def f(:\n"}, "lambda_function.f", "Runtime.UserCodeSyntaxError",
         "Syntax error in module 'lambda_function'"),
        ({"lambda_function.py": "x = 1\n"}, "lambda_function.lambda_handler",
         "Runtime.HandlerNotFound", "Handler 'lambda_handler' missing on module 'lambda_function'"),
        ({"lambda_function.py": "x = 1\n"}, "lambda_function", "Runtime.MalformedHandlerName",
         "Bad handler 'lambda_function'"),
        ({"lambda_function.py": "raise KeyError('SETTING')\n"}, "lambda_function.h", "KeyError",
         "SETTING"),
    ],
)  # fmt: skip
def test_init_errors_reported_as_lambda(
    start_runner: StartRunner, tmp_path: Path, files, handler, error_type, message
) -> None:
    runner = start_runner(
        "--function-config",
        str(write_config(tmp_path / "c.json", handler=handler, layers=0)),
        "--function-zip",
        str(write_zip(tmp_path / "f.zip", files)),
    )

    response = requests.get(runner.url, timeout=30)

    assert response.status_code == 502
    assert response.json()["errorType"] == error_type
    assert message in response.json()["errorMessage"]


def test_timeout_gives_502_then_recovers(runner: RunningRunner) -> None:
    timed_out = requests.get(runner.url + "sleep", timeout=30)
    after = requests.get(runner.url, timeout=30)

    assert timed_out.status_code == 502
    assert timed_out.json() == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "Task timed out after 2.00 seconds",
    }
    assert after.status_code == 200


def test_worker_exit_gives_502_then_recovers(runner: RunningRunner) -> None:
    exited = requests.get(runner.url + "exit", timeout=30)
    after = requests.get(runner.url, timeout=30)

    assert exited.status_code == 502
    assert exited.json()["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in exited.json()["errorMessage"]
    assert after.status_code == 200


def test_handler_print_goes_to_log(runner: RunningRunner) -> None:
    response = requests.get(runner.url + "print", timeout=30)

    assert response.status_code == 200
    assert response.json() == {"printed": True}
    assert "printed by the handler" in runner.wait_for_log("printed by the handler")


def test_binary_response_decoded(runner: RunningRunner) -> None:
    response = requests.get(runner.url + "binary", timeout=30)
    head = requests.head(runner.url + "binary", timeout=30)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.content == bytes(range(256))
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == "256"


@pytest.mark.parametrize(
    ("path", "error_type"),
    [("invalid", "Runtime.InvalidResponse"), ("unserializable", "Runtime.MarshalError")],
)
def test_bad_result_gives_502(runner: RunningRunner, path, error_type) -> None:
    response = requests.get(runner.url + path, timeout=30)

    assert response.status_code == 502
    assert response.json()["errorType"] == error_type


def raw_request(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        return connection.recv(65536)


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (b"Content-Length: abc", b"400"),
        (b"Content-Length: -5", b"400"),
        (b"Content-Length: 7000000", b"413"),
        (b"Transfer-Encoding: chunked", b"411"),
    ],
)
def test_malformed_request_rejected(runner: RunningRunner, header, status) -> None:
    reply = raw_request(runner.url, b"POST / HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n\r\n")

    assert reply.split(b" ", 2)[1] == status
    assert requests.get(runner.url, timeout=30).status_code == 200


def run_runner_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUNNER), *args], capture_output=True, text=True, timeout=60
    )


def other_python() -> tuple[str, str]:
    """Return (path, "X.Y") of an installed interpreter that is not Python 3.11."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for version in ("3.12", "3.13", "3.10"):
        found = shutil.which(f"python{version}")
        candidates = [found] if found else []
        candidates += sorted(
            str(p) for p in pyenv_root.glob(f"versions/{version}*/bin/python{version}")
        )
        for candidate in candidates:
            if subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
                return candidate, version
    pytest.skip("no Python other than 3.11 is installed")


def test_wrong_interpreter_rejected(probe_args) -> None:
    interpreter, version = other_python()

    result = run_runner_cli(*probe_args, "--python", interpreter)

    assert result.returncode == 2
    assert f"is Python {version}, but the function's runtime is python3.11" in result.stderr


def test_missing_interpreter_rejected(probe_args) -> None:
    result = run_runner_cli(*probe_args, "--python", "/nonexistent/python3.11")

    assert result.returncode == 2
    assert (
        "cannot run interpreter '/nonexistent/python3.11' for runtime python3.11" in result.stderr
    )
    assert "pass --python with its path" in result.stderr


def test_foreign_architecture_rejected(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.json", architecture="arm64", layers=0)
    function_zip = write_zip(tmp_path / "f.zip", {"lambda_function.py": PROBE_HANDLER})

    result = run_runner_cli("--function-config", str(config), "--function-zip", str(function_zip))

    assert result.returncode == 2
    assert "is built for arm64, but this machine is x86_64" in result.stderr


def test_undeployed_zip_rejected(tmp_path: Path) -> None:
    deployed = write_zip(tmp_path / "deployed.zip", {"lambda_function.py": "x = 1\n"})
    rebuilt = write_zip(tmp_path / "rebuilt.zip", {"lambda_function.py": "x = 2\n"})
    config_path = write_config(tmp_path / "c.json", layers=0)
    config = json.loads(config_path.read_text())
    config["CodeSha256"] = base64.b64encode(hashlib.sha256(deployed.read_bytes()).digest()).decode()
    config_path.write_text(json.dumps(config))

    result = run_runner_cli("--function-config", str(config_path), "--function-zip", str(rebuilt))

    assert result.returncode == 2
    assert f"{rebuilt} (CodeSha256" in result.stderr
    assert "is not the deployed function code" in result.stderr


def test_busy_port_rejected(runner: RunningRunner, probe_args) -> None:
    port = runner.url.rstrip("/").rsplit(":", 1)[1]

    result = run_runner_cli(*probe_args, "--port", port)

    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "pass another --port" in result.stderr
