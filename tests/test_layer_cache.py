"""The build cache: hits without pip, rebuilds of damaged entries, concurrent builds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from layer_fixtures import (
    LAYER_BUILD,
    BuiltLayer,
    built_layer,
    closed_port,
    layer_query,
    make_workdir,
    offline_pip_environment,
    run_layer_build,
)

pytestmark = pytest.mark.pypi


@pytest.fixture(scope="session")
def layer_x86_64(tmp_path_factory: pytest.TempPathFactory) -> BuiltLayer:
    return built_layer("x86_64", tmp_path_factory)


def copy_workdir(build, destination):
    """Copy a built module directory, cache included, to another absolute path."""
    shutil.copytree(build.workdir, destination)
    return destination


def test_cache_hit_needs_no_pip(layer_x86_64, tmp_path):
    workdir = copy_workdir(layer_x86_64, tmp_path / "other-checkout")
    environment = offline_pip_environment(closed_port())
    # The index URL is part of the key, so only the rest of pip's sources go offline.
    environment.pop("LAYER_BUILD_INDEX_URL")
    environment["PIP_INDEX_URL"] = f"http://127.0.0.1:{closed_port()}/simple"

    completed = run_layer_build(stdin=layer_query(), cwd=workdir, env=environment)

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["cache_hit"] == "true"
    expected = dict(layer_x86_64.result, cache_hit="true")
    assert result == expected
    assert "pip install" not in completed.stderr


def test_changed_requirements_miss(layer_x86_64, tmp_path):
    workdir = copy_workdir(layer_x86_64, tmp_path / "edited")
    requirements = workdir / "requirements.txt"
    requirements.write_text(requirements.read_text() + "# a comment changes the key\n")
    environment = offline_pip_environment(closed_port())

    completed = run_layer_build(stdin=layer_query(), cwd=workdir, env=environment)

    assert completed.returncode != 0
    assert "network failure" in completed.stderr


@pytest.mark.parametrize("damage", ["corrupt_zip", "delete_zip", "corrupt_manifest"])
def test_damaged_cache_rebuilt(layer_x86_64, tmp_path, damage):
    workdir = copy_workdir(layer_x86_64, tmp_path / "damaged")
    zip_path = workdir / layer_x86_64.result["filename"]
    manifests = list((workdir / "build" / ".cache").glob("*.json"))
    assert len(manifests) == 1
    if damage == "corrupt_zip":
        zip_path.write_bytes(zip_path.read_bytes()[:-100] + b"\0" * 100)
    elif damage == "delete_zip":
        zip_path.unlink()
    else:
        manifests[0].write_text('{"zip_name": ')

    completed = run_layer_build(stdin=layer_query(), cwd=workdir)

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["cache_hit"] == "false"
    assert result["sha256"] == layer_x86_64.result["sha256"]
    assert zip_path.read_bytes() == layer_x86_64.zip_path.read_bytes()
    assert json.loads(manifests[0].read_text())["sha256"] == result["sha256"]


def test_concurrent_builds_share_one_zip(tmp_path):
    workdir = make_workdir(tmp_path / "module")
    processes = [
        subprocess.Popen(
            [sys.executable, str(LAYER_BUILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=workdir,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(layer_query(), timeout=300) for process in processes]

    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    results = [json.loads(stdout) for stdout, _ in outputs]
    assert results[0]["sha256"] == results[1]["sha256"]
    assert sorted(result["cache_hit"] for result in results) == ["false", "true"]
    assert [path.name for path in (workdir / "build").glob("*.zip")] == [
        results[0]["filename"].removeprefix("build/")
    ]
    assert not list((workdir / "build").glob(".tmp-*"))
