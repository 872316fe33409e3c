"""pip's "No matching distribution" split into its three causes, each with its own fix."""

from __future__ import annotations

import pytest
from layer_fixtures import layer_query, make_workdir, run_layer_build

from layer_builder.pip_failure import classify_failure
from layer_builder.policy import ARCHITECTURES, RUNTIMES


def last_error_line(completed) -> str:
    assert completed.returncode == 1, completed.stderr
    assert completed.stdout == ""
    line = completed.stderr.strip().splitlines()[-1]
    assert line.startswith("layer_build: error: ")
    return line


@pytest.mark.pypi
def test_pins_need_newer_python_on_python310(tmp_path):
    # pycparser 3.12 declares Requires-Python >=3.11 on PyPI.
    make_workdir(tmp_path)
    completed = run_layer_build(stdin=layer_query(runtime="python3.10"), cwd=tmp_path)

    line = last_error_line(completed)

    assert "pycparser 3.12 requires Python >=3.11" in line
    assert "python3.10 runs Python 3.10" in line
    assert "pin pycparser to a release that supports Python 3.10" in line
    assert "choose python3.11 or newer" in line
    assert "no compatible wheel" not in line


@pytest.mark.pypi
def test_pins_need_newer_python_on_python39(tmp_path):
    # cffi 2.1.1 declares Requires-Python >=3.10 and publishes no cp39 wheel, so
    # pip reports a tag mismatch, not the Requires-Python one, for python3.9.
    make_workdir(tmp_path)
    completed = run_layer_build(stdin=layer_query(runtime="python3.9"), cwd=tmp_path)

    line = last_error_line(completed)

    assert "cffi 2.1.1 requires Python >=3.10" in line
    assert "python3.9 runs Python 3.9" in line
    assert "choose python3.10 or newer" in line
    assert "no compatible wheel" not in line


@pytest.mark.pypi
def test_version_not_on_index(tmp_path):
    make_workdir(tmp_path, requirements="pynacl==9.9.9\n")
    completed = run_layer_build(stdin=layer_query(), cwd=tmp_path)

    line = last_error_line(completed)

    assert "pynacl==9.9.9 not found on the package index" in line
    assert "1.6.2" in line
    assert "no compatible wheel" not in line


def test_mirror_without_requires_python_still_classified():
    # A mirror's links often lack requires-python; PyPI's links for the same
    # release carry it, and the release is still reported as too new.
    text = "\n".join(
        [
            "Skipping link: none of the wheel's tags (cp311-cp311-manylinux2014_x86_64) are"
            " compatible (run pip debug --verbose to show compatible tags):"
            " file:///mirror/files/demo-2.0-cp311-cp311-manylinux2014_x86_64.whl (from"
            " file:///mirror/simple/demo/)",
            "Skipping link: none of the wheel's tags (cp311-cp311-manylinux2014_x86_64) are"
            " compatible (run pip debug --verbose to show compatible tags):"
            " https://files.example/demo-2.0-cp311-cp311-manylinux2014_x86_64.whl (from"
            " https://index.example/simple/demo/) (requires-python:>=3.11)",
            "Found link https://files.example/demo-1.0-cp39-cp39-manylinux2014_x86_64.whl"
            " (from https://index.example/simple/demo/) (requires-python:>=3.8), version: 1.0",
            "ERROR: Could not find a version that satisfies the requirement demo==2.0 (from"
            " versions: 1.0)",
            "ERROR: No matching distribution found for demo==2.0",
        ]
    )
    runtime = RUNTIMES["python3.9"]

    error = classify_failure(text, runtime, ARCHITECTURES["x86_64"], ["manylinux2014_x86_64"])

    assert str(error) == (
        "demo 2.0 requires Python >=3.11, but python3.9 runs Python 3.9: pin demo to a"
        " release that supports Python 3.9 (for example demo==1.0), or choose python3.11"
        " or newer"
    )


def test_missing_platform_wheel_keeps_tag_message():
    text = "\n".join(
        [
            "Skipping link: none of the wheel's tags (cp311-cp311-win_amd64) are compatible"
            " (run pip debug --verbose to show compatible tags):"
            " https://files.example/demo-2.0-cp311-cp311-win_amd64.whl (from"
            " https://index.example/simple/demo/) (requires-python:>=3.8)",
            "ERROR: Could not find a version that satisfies the requirement demo==2.0 (from"
            " versions: none)",
            "ERROR: No matching distribution found for demo==2.0",
        ]
    )

    error = classify_failure(
        text, RUNTIMES["python3.11"], ARCHITECTURES["x86_64"], ["manylinux2014_x86_64"]
    )

    assert "no compatible wheel for demo==2.0 on python3.11 x86_64" in str(error)
    assert "manylinux2014_x86_64" in str(error)
