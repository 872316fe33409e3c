"""Reuse of the recorded moto server, the path every ENV=local make target takes.

Each test records its server in its own run directory through
``moto_server.ensure_recorded``, as ``python -m tests.harness`` does with
``.local/run/``, and stops whatever it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_support import create_test_function

from tests.harness import moto_server
from tests.harness.driver import TEST_CREDENTIALS

REGION = "us-east-1"
FUNCTION_NAME = "discord-bot-local"


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[Path]:
    """A run directory whose recorded server is stopped at the end of the test."""
    directory = tmp_path / "run"
    yield directory
    moto_server.stop_recorded(directory)


def client(server: moto_server.MotoServer, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def create_function(server: moto_server.MotoServer) -> None:
    create_test_function(client(server, "iam"), client(server, "lambda"), FUNCTION_NAME)


def function_names(server: moto_server.MotoServer) -> list[str]:
    functions = client(server, "lambda").list_functions()["Functions"]
    return [function["FunctionName"] for function in functions]


def is_gone(pid: int) -> bool:
    """Return whether ``pid`` has exited (a zombie that is not yet reaped counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return status.rsplit(")", 1)[1].split()[0] == "Z"


def test_server_with_a_function_is_reused(run_dir: Path) -> None:
    server = moto_server.ensure_recorded(run_dir)
    create_function(server)

    again = moto_server.ensure_recorded(run_dir)

    assert again == server
    assert moto_server.read_recorded(run_dir) == server
    assert function_names(again) == [FUNCTION_NAME]


def test_dead_recorded_pid_is_replaced(run_dir: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run_dir.mkdir()
    (run_dir / moto_server.PID_FILE).write_text(f"{dead.pid}\n")
    (run_dir / moto_server.URL_FILE).write_text(f"http://127.0.0.1:{moto_server.free_port()}\n")

    server = moto_server.ensure_recorded(run_dir)
    stopped = moto_server.stop_recorded(run_dir)

    assert server.pid != dead.pid
    assert stopped
    assert is_gone(server.pid)
    assert not (run_dir / moto_server.PID_FILE).exists()


def test_unresponsive_recorded_server_is_stopped_first(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(moto_server, "REUSE_PROBE_SECONDS", 1.0)
    hung = moto_server.ensure_recorded(run_dir)
    os.kill(hung.pid, signal.SIGSTOP)  # alive and recorded, but responds to nothing

    try:
        replacement = moto_server.ensure_recorded(run_dir)
    finally:
        if not is_gone(hung.pid):
            os.kill(hung.pid, signal.SIGKILL)

    assert replacement.pid != hung.pid
    assert is_gone(hung.pid)
    assert moto_server.read_recorded(run_dir) == replacement
    assert moto_server.is_responding(replacement.url)


def test_recorded_pid_of_another_program_is_left_alone(run_dir: Path) -> None:
    # A recycled pid: the recorded process is not moto, so it gets no signal.
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    run_dir.mkdir()
    (run_dir / moto_server.PID_FILE).write_text(f"{unrelated.pid}\n")
    (run_dir / moto_server.URL_FILE).write_text(f"http://127.0.0.1:{moto_server.free_port()}\n")

    try:
        server = moto_server.ensure_recorded(run_dir)
        alive = unrelated.poll() is None
    finally:
        unrelated.kill()
        unrelated.wait()

    assert alive
    assert server.pid != unrelated.pid
    assert moto_server.read_recorded(run_dir) == server


def test_probe_ignores_other_http_servers(tmp_path: Path) -> None:
    # Anything on a reused port that is not moto's management API fails the probe.
    (tmp_path / "moto-api").mkdir()
    (tmp_path / "moto-api" / "config").write_text("<html>not moto</html>")
    port = moto_server.free_port()
    other = subprocess.Popen(
        [sys.executable, "-m", "http.server", "-b", "127.0.0.1", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        answered = _wait_for_http(f"http://127.0.0.1:{port}/moto-api/config")
        probed = moto_server.is_responding(f"http://127.0.0.1:{port}")
    finally:
        other.terminate()
        other.wait()

    assert answered
    assert not probed


def _wait_for_http(url: str) -> bool:
    """Poll ``url`` until it returns 200, for up to 10 seconds."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    return False
