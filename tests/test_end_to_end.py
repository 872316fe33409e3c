"""End to end: build and apply with real Terraform to moto, serve the deployed zips, smoke-check.

Workspace ``local`` is applied with the public key of a real test key pair,
the runner reads the function's configuration back from moto and serves the
zips Terraform deployed, and the smoke client signs with the private key.
The workspace is destroyed at the end of the module, because the Terraform
tests that share this moto server expect it empty after their own destroy.
"""

# ruff: noqa: F811  (pytest fixtures are imported by name and then requested as arguments)

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dev_keys
import pytest
import requests
from local_lambda import background
from local_runner_fixtures import RUNNER, RunningRunner, StartRunner, run_smoke, runner_factory

from tests.harness.fixtures import aws, harness, moto  # noqa: F401
from tests.harness.moto_server import MotoServer
from tests.harness.session import Session

pytestmark = [pytest.mark.terraform, pytest.mark.pypi]

WORKSPACE = "local"
VAR_FILE = "environments/local.tfvars"


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def local_outputs(harness: Session, keys_dir: Path) -> Iterator[dict[str, Any]]:
    """Apply workspace local with the test key's public half; destroy it afterwards."""
    variables = {"discord_public_key": dev_keys.public_key_hex(WORKSPACE, keys_dir)}
    harness.workspace.select(WORKSPACE)
    harness.workspace.apply(VAR_FILE, variables)
    try:
        yield harness.workspace.outputs()
    finally:
        harness.workspace.select(WORKSPACE)
        harness.workspace.destroy(VAR_FILE, variables)


@pytest.fixture(scope="module")
def start_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartRunner]:
    yield from runner_factory(tmp_path_factory.mktemp("runners"))


def runner_options(moto: MotoServer, harness: Session, outputs: dict[str, Any]) -> list[str]:
    return [
        "--env",
        WORKSPACE,
        "--aws-endpoint-url",
        moto.url,
        "--build-dir",
        str(harness.module_dir / "build"),
        "--function-name",
        str(outputs["function_name"]),
    ]


@pytest.fixture(scope="module")
def deployed_runner(
    start_runner: StartRunner, moto: MotoServer, harness: Session, local_outputs: dict[str, Any]
) -> RunningRunner:
    return start_runner(*runner_options(moto, harness, local_outputs))


def test_runner_serves_deployed_zips(
    deployed_runner: RunningRunner, harness: Session, local_outputs: dict[str, Any]
) -> None:
    log = deployed_runner.log()

    function_zip = (harness.module_dir / local_outputs["function_zip"]).resolve()
    layer_zip = (harness.module_dir / local_outputs["layer_zip"]).resolve()
    assert f"is {function_zip}" in log
    assert f"is {layer_zip}" in log
    assert f"serving {local_outputs['function_name']}" in log


def test_smoke_passes_against_local_url(deployed_runner: RunningRunner, keys_dir: Path) -> None:
    result = run_smoke(deployed_runner.url, "--env", WORKSPACE, "--keys-dir", str(keys_dir))

    assert result.returncode == 0, result.stdout + result.stderr + deployed_runner.log()
    assert result.stdout.count("PASS") == 3


def test_environment_read_from_moto(
    deployed_runner: RunningRunner, aws: Any, local_outputs: dict[str, Any], keys_dir: Path
) -> None:
    # The smoke check above passes only with the deployed key; this ties the
    # key the handler trusts to the one in the function's configuration.
    config = aws("lambda").get_function_configuration(FunctionName=local_outputs["function_name"])

    deployed_key = config["Environment"]["Variables"]["DISCORD_PUBLIC_KEY"]
    assert deployed_key == dev_keys.public_key_hex(WORKSPACE, keys_dir)


def test_runner_finds_function_by_environment(
    start_runner: StartRunner, moto: MotoServer, harness: Session, local_outputs: dict[str, Any]
) -> None:
    options = runner_options(moto, harness, local_outputs)[:-2]  # without --function-name

    runner = start_runner(*options)

    assert f"serving {local_outputs['function_name']}" in runner.log()
    assert requests.post(runner.url, data=b"{}", timeout=30).status_code == 401


def test_background_start_and_stop(
    tmp_path: Path, moto: MotoServer, harness: Session, local_outputs: dict[str, Any]
) -> None:
    run_dir = tmp_path / "run"
    options = runner_options(moto, harness, local_outputs)[2:]  # start_runner passes --env

    started = background.start_runner(WORKSPACE, options, run_dir, tmp_path / "log")
    answered = requests.post(started.url, data=b"{}", timeout=30).status_code
    stopped = background.stop_service(background.RUNNER, run_dir)

    assert answered == 401
    assert (run_dir / "runner.pid").exists() is False
    assert (run_dir / "runner.url").exists() is False
    assert stopped == started.pid
    assert started.log_path == tmp_path / "log" / "runner-local.log"
    with pytest.raises(requests.ConnectionError):
        requests.post(started.url, data=b"{}", timeout=5)


def test_runner_rejects_undeployed_build(
    tmp_path: Path, moto: MotoServer, harness: Session, local_outputs: dict[str, Any]
) -> None:
    # An empty build directory contains none of the deployed zips.
    options = runner_options(moto, harness, local_outputs)
    options[options.index("--build-dir") + 1] = str(tmp_path)

    with pytest.raises(background.BackgroundError) as error:
        background.start_runner(WORKSPACE, options[2:], tmp_path / "run", tmp_path / "log")

    assert "exited with status 2 before serving" in str(error.value)
    assert "no zip in" in str(error.value)
    assert "matches the deployed code of function" in str(error.value)


def test_runner_reads_terraform_outputs(
    start_runner: StartRunner,
    tmp_path: Path,
    moto: MotoServer,
    harness: Session,
    local_outputs: dict[str, Any],
) -> None:
    # The shape of `terraform output -json`: each output is {"value": ...}.
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps({n: {"value": v} for n, v in local_outputs.items()}))
    options = runner_options(moto, harness, local_outputs)[:-2]  # without --function-name

    runner = start_runner(*options, "--terraform-outputs", str(outputs_file))

    assert f"serving {local_outputs['function_name']}" in runner.log()


def test_runner_reports_missing_function(
    tmp_path: Path, moto: MotoServer, harness: Session, local_outputs: dict[str, Any]
) -> None:
    options = runner_options(moto, harness, local_outputs)
    options[-1] = "discord-bot-missing"

    result = subprocess.run(
        [sys.executable, str(RUNNER), *options], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 2
    assert f"cannot read function 'discord-bot-missing' from {moto.url}" in result.stderr
    assert "ResourceNotFoundException" in result.stderr
