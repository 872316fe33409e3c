"""Smoke client (scripts/smoke.py) against the real handler served by the local runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import dev_keys
import pytest
from layer_fixtures import built_layer, closed_port, run_layer_build
from local_runner_fixtures import (
    LAMBDA_SOURCE,
    RunningRunner,
    StartRunner,
    empty_layer_zip,
    run_smoke,
    runner_factory,
    write_config,
)
from pytest_httpserver import HTTPServer


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def function_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The function zip as Terraform deploys it: built by layer_build.py from lambda/."""
    output_dir = tmp_path_factory.mktemp("function")
    completed = run_layer_build(
        ["--function-source", str(LAMBDA_SOURCE), "--output-dir", str(output_dir)]
    )
    assert completed.returncode == 0, completed.stderr
    return Path(json.loads(completed.stdout)["filename"])


@pytest.fixture(scope="module")
def start_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartRunner]:
    yield from runner_factory(tmp_path_factory.mktemp("runners"))


def serve_handler(
    start_runner: StartRunner, workdir: Path, function_zip: Path, layer_zip: Path, public_key: str
) -> RunningRunner:
    config = write_config(workdir / "config.json", {"DISCORD_PUBLIC_KEY": public_key})
    return start_runner(
        "--function-config",
        str(config),
        "--function-zip",
        str(function_zip),
        "--layer-zip",
        str(layer_zip),
    )


@pytest.fixture(scope="module")
def deployed_runner(
    start_runner: StartRunner,
    tmp_path_factory: pytest.TempPathFactory,
    function_zip: Path,
    keys_dir: Path,
) -> RunningRunner:
    """The real handler and the real layer, trusting the test key of environment local."""
    layer = built_layer("x86_64", tmp_path_factory)
    public_key = dev_keys.public_key_hex("local", keys_dir)
    workdir = tmp_path_factory.mktemp("deployed")
    return serve_handler(start_runner, workdir, function_zip, layer.zip_path, public_key)


@pytest.mark.pypi
def test_smoke_passes_with_env_key(deployed_runner: RunningRunner, keys_dir: Path) -> None:
    result = run_smoke(deployed_runner.url, "--env", "local", "--keys-dir", str(keys_dir))

    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines[0] == "PASS invalid signature: 401 as Discord requires"
    assert lines[1] == 'PASS signed PING: 200 {"type": 1}'
    assert lines[2].startswith("PASS /ping command: channel message ")
    assert "Pong" in lines[2]
    assert len(lines) == 3


@pytest.mark.pypi
def test_smoke_passes_with_key_file(deployed_runner: RunningRunner, keys_dir: Path) -> None:
    key_file = dev_keys.key_path("local", keys_dir)

    result = run_smoke(deployed_runner.url, "--private-key-file", str(key_file))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASS") == 3


@pytest.mark.pypi
def test_smoke_without_key_skips_signed(deployed_runner: RunningRunner) -> None:
    result = run_smoke(deployed_runner.url)

    assert result.returncode == 0
    assert "PASS invalid signature" in result.stdout
    assert "SKIP signed PING and /ping command: no private key" in result.stdout


@pytest.mark.pypi
def test_smoke_wrong_key_fails(deployed_runner: RunningRunner, keys_dir: Path) -> None:
    dev_keys.load_or_create("dev", keys_dir)

    result = run_smoke(deployed_runner.url, "--env", "dev", "--keys-dir", str(keys_dir))

    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert lines[0].startswith("PASS invalid signature")
    assert lines[1].startswith("FAIL signed PING: expected 200, got HTTP 401")
    assert lines[2].startswith("FAIL /ping command: expected 200, got HTTP 401")


def test_smoke_names_missing_pynacl(
    start_runner: StartRunner, tmp_path: Path, function_zip: Path, keys_dir: Path
) -> None:
    public_key = dev_keys.public_key_hex("local", keys_dir)
    layer_zip = empty_layer_zip(tmp_path / "layer.zip")
    runner = serve_handler(start_runner, tmp_path, function_zip, layer_zip, public_key)

    result = run_smoke(runner.url, "--env", "local", "--keys-dir", str(keys_dir))

    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert len(lines) == 3
    for line in lines:
        assert line.startswith("FAIL ")
        assert "got HTTP 502: Runtime.ImportModuleError" in line
        assert "Unable to import module 'lambda_function': No module named 'nacl'" in line
        assert "the layer lacks a package" in line


def test_smoke_rejects_endpoint_accepting_anything(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_json({"type": 1})

    result = run_smoke(httpserver.url_for("/"))

    assert result.returncode == 1
    assert "FAIL invalid signature: expected 401 for an invalid signature, got HTTP 200" in (
        result.stdout
    )


def test_smoke_explains_bare_502(httpserver: HTTPServer) -> None:
    # A real Function URL hides the function's error behind a bare 502.
    httpserver.expect_request("/").respond_with_data("Internal Server Error", status=502)

    result = run_smoke(httpserver.url_for("/"))

    assert result.returncode == 1
    assert "got HTTP 502" in result.stdout
    assert "CloudWatch log group" in result.stdout


def test_smoke_reports_unreachable_endpoint() -> None:
    url = f"http://127.0.0.1:{closed_port()}/"

    result = run_smoke(url)

    assert result.returncode == 1
    assert f"FAIL invalid signature: request to {url} failed" in result.stdout


def test_smoke_prod_key_rejected() -> None:
    result = run_smoke("https://example.invalid/", "--env", "prod")

    assert result.returncode == 2
    assert "Discord Developer Portal" in result.stderr
    assert result.stdout == ""


def test_smoke_missing_key_file(tmp_path: Path) -> None:
    result = run_smoke("http://127.0.0.1:9/", "--env", "local", "--keys-dir", str(tmp_path))

    assert result.returncode == 2
    assert f"no test key for environment 'local' at {tmp_path / 'local.key'}" in result.stderr
    assert not (tmp_path / "local.key").exists()


@pytest.mark.parametrize("url", ["example.com", "ftp://example.com/", "http:///path"])
def test_smoke_invalid_url(url: str) -> None:
    result = run_smoke(url)

    assert result.returncode == 2
    assert f"invalid URL {url!r}" in result.stderr
