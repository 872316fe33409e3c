"""Shared helpers for the local runner and smoke client tests.

The runner always runs as the real CLI (`scripts/local_runner.py`) in a child
process, serving on a free port of 127.0.0.1, with the function executed by
the python3.11 interpreter in isolated mode.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNNER = REPO_ROOT / "scripts" / "local_runner.py"
SMOKE = REPO_ROOT / "scripts" / "smoke.py"
LAMBDA_SOURCE = REPO_ROOT / "lambda"
STARTUP_TIMEOUT_SECONDS = 60.0


def write_zip(path: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write a zip with the given members (name to text or bytes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def empty_layer_zip(path: Path) -> Path:
    """A layer with an empty python/ directory: no PyNaCl, no requests."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("python/", b"")
    return path


def write_config(
    path: Path,
    variables: Mapping[str, str] | None = None,
    *,
    name: str = "runner-test",
    handler: str = "lambda_function.lambda_handler",
    runtime: str = "python3.11",
    timeout: int = 10,
    layers: int = 1,
    architecture: str = "x86_64",
) -> Path:
    """Write a GetFunctionConfiguration response, as `aws lambda` would save it."""
    config = {
        "FunctionName": name,
        "FunctionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        "Runtime": runtime,
        "Handler": handler,
        "Timeout": timeout,
        "MemorySize": 512,
        "Architectures": [architecture],
        "Environment": {"Variables": dict(variables or {})},
        "Layers": [
            {"Arn": f"arn:aws:lambda:us-east-1:123456789012:layer:deps:{index + 1}"}
            for index in range(layers)
        ],
    }
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


@dataclass
class RunningRunner:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """Return the log once it contains `text`; the worker's output arrives asynchronously."""
        deadline = time.monotonic() + timeout
        while text not in self.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.log()


def run_runner(args: Sequence[str], workdir: Path, env: Mapping[str, str] | None = None):
    """Start the runner CLI; return (process, url_file, log_path) without waiting."""
    url_file = workdir / "runner.url"
    log_path = workdir / "runner.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, str(RUNNER), "--url-file", str(url_file), *args],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
        )
    return process, url_file, log_path


def wait_until_serving(
    process: subprocess.Popen[bytes], url_file: Path, log_path: Path
) -> RunningRunner:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if url_file.is_file():
            return RunningRunner(url_file.read_text().strip(), process, log_path)
        if process.poll() is not None:
            raise AssertionError(
                f"runner exited with {process.returncode}:\n{log_path.read_text()}"
            )
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"runner did not serve in time:\n{log_path.read_text()}")


def stop_runner(runner: RunningRunner) -> None:
    if runner.process.poll() is None:
        runner.process.terminate()
        try:
            runner.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            runner.process.kill()
            runner.process.wait()


StartRunner = Callable[..., RunningRunner]


def runner_factory(tmp_path: Path) -> Iterator[StartRunner]:
    """Yield a function that starts runners, and stop them all afterwards.

    Test modules wrap it in their own `start_runner` fixture.
    """
    started: list[RunningRunner] = []

    def start(*args: str, env: Mapping[str, str] | None = None) -> RunningRunner:
        workdir = tmp_path / f"runner-{len(started)}"
        workdir.mkdir()
        process, url_file, log_path = run_runner(args, workdir, env)
        runner = wait_until_serving(process, url_file, log_path)
        started.append(runner)
        return runner

    yield start
    for runner in started:
        stop_runner(runner)


def run_smoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SMOKE), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": ""},
    )
