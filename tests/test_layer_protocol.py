"""Terraform's external-program protocol and the bad inputs it must reject clearly."""

from __future__ import annotations

import json
import os

import pytest
from layer_fixtures import (
    closed_port,
    layer_query,
    make_workdir,
    offline_pip_environment,
    run_layer_build,
)


def assert_one_line_error(completed, *fragments: str) -> str:
    assert completed.returncode != 0
    assert completed.stdout == ""
    last_line = completed.stderr.strip().splitlines()[-1]
    assert last_line.startswith("layer_build: error: ")
    for fragment in fragments:
        assert fragment in last_line
    return last_line


def test_invalid_json_on_stdin(tmp_path):
    completed = run_layer_build(stdin="{requirements: x", cwd=tmp_path)
    assert_one_line_error(completed, "invalid JSON on stdin", '"requirements"')


def test_query_not_an_object(tmp_path):
    completed = run_layer_build(stdin='["python3.11"]', cwd=tmp_path)
    assert_one_line_error(completed, "must be a JSON object, got an array")


@pytest.mark.parametrize("value", [3.11, True, None, ["x"]])
def test_non_string_query_value(tmp_path, value):
    query = json.loads(layer_query())
    query["runtime"] = value
    completed = run_layer_build(stdin=json.dumps(query), cwd=tmp_path)
    assert_one_line_error(completed, f"runtime={json.dumps(value)}", "not a string")


@pytest.mark.parametrize(
    ("value", "name"), [(None, "null"), (3.11, "a number"), (True, "a boolean"), ([], "an array")]
)
def test_non_string_value_named_in_json_terms(tmp_path, value, name):
    query = json.loads(layer_query())
    query["output_dir"] = value
    completed = run_layer_build(stdin=json.dumps(query), cwd=tmp_path)
    line = assert_one_line_error(completed, f"is {name}, not a string")
    assert "NoneType" not in line


def test_unknown_key_lists_accepted(tmp_path):
    query = json.loads(layer_query())
    query["python_version"] = "3.11"
    completed = run_layer_build(stdin=json.dumps(query), cwd=tmp_path)
    line = assert_one_line_error(completed, "python_version")
    for key in ("requirements", "runtime", "architecture", "output_dir", "function_source"):
        assert key in line


def test_mixed_modes_name_the_keys(tmp_path):
    query = {"function_source": "lambda", "runtime": "python3.11", "requirements": "r.txt"}
    completed = run_layer_build(stdin=json.dumps(query), cwd=tmp_path)
    assert_one_line_error(completed, "function_source", "requirements, runtime")


def test_missing_key(tmp_path):
    query = json.loads(layer_query())
    del query["architecture"]
    completed = run_layer_build(stdin=json.dumps(query), cwd=tmp_path)
    assert_one_line_error(completed, "'architecture' is missing")


def test_unknown_runtime(tmp_path):
    make_workdir(tmp_path)
    completed = run_layer_build(stdin=layer_query(runtime="python3.8"), cwd=tmp_path)
    assert_one_line_error(completed, "'python3.8'", "python3.11", "python3.14")


def test_unknown_architecture(tmp_path):
    make_workdir(tmp_path)
    completed = run_layer_build(stdin=layer_query(architecture="aarch64"), cwd=tmp_path)
    assert_one_line_error(completed, "'aarch64'", "x86_64, arm64")


def test_missing_requirements_file(tmp_path):
    completed = run_layer_build(stdin=layer_query(requirements="nope.txt"), cwd=tmp_path)
    assert_one_line_error(completed, "'nope.txt' not found", "relative to the module")
    assert not (tmp_path / "build").exists()


def test_empty_requirements_file(tmp_path):
    make_workdir(tmp_path, requirements="# nothing pinned yet\n\n")
    completed = run_layer_build(stdin=layer_query(), cwd=tmp_path)
    assert_one_line_error(completed, "'requirements.txt' is empty")


def test_output_dir_under_a_file(tmp_path):
    make_workdir(tmp_path)
    (tmp_path / "blocker").write_text("a file, not a directory")
    completed = run_layer_build(stdin=layer_query(output_dir="blocker/build"), cwd=tmp_path)
    assert_one_line_error(completed, "'blocker/build' is not writable", "set output_dir")


def test_output_dir_without_write_permission(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes to read-only directories")
    make_workdir(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    completed = run_layer_build(stdin=layer_query(output_dir="locked"), cwd=tmp_path)
    assert_one_line_error(completed, "'locked' is not writable")


def test_pip_network_failure(tmp_path):
    make_workdir(tmp_path)
    environment = offline_pip_environment(closed_port())
    completed = run_layer_build(stdin=layer_query(), cwd=tmp_path, env=environment)
    assert_one_line_error(completed, "network failure", "LAYER_BUILD_INDEX_URL")
    assert list((tmp_path / "build").glob("*.zip")) == []


def test_function_source_missing(tmp_path):
    completed = run_layer_build(stdin=json.dumps({"function_source": "lambda"}), cwd=tmp_path)
    assert_one_line_error(completed, "'lambda' is not a directory")


def test_cli_requires_all_layer_options(tmp_path):
    completed = run_layer_build(["--runtime", "python3.11"], cwd=tmp_path)
    assert_one_line_error(completed, "--requirements", "--architecture")


def test_help_documents_every_option(tmp_path):
    environment = dict(os.environ, COLUMNS="200")
    completed = run_layer_build(["--help"], cwd=tmp_path, env=environment)
    assert completed.returncode == 0
    for option in (
        "--requirements",
        "--runtime",
        "--architecture",
        "--output-dir",
        "--function-source",
        "--check",
        "--index-url",
    ):
        assert option in completed.stdout
    assert "(default: build)" in completed.stdout
    assert "python3.11" in completed.stdout


@pytest.mark.pypi
def test_no_compatible_wheel_names_package_and_tags(tmp_path):
    # pywin32 publishes Windows wheels only.
    make_workdir(tmp_path, requirements="pywin32==311\n")
    completed = run_layer_build(stdin=layer_query(), cwd=tmp_path)
    assert_one_line_error(
        completed,
        "no compatible wheel for pywin32",
        "python3.11 x86_64",
        "manylinux2014_x86_64",
        "manylinux_2_26_x86_64",
    )


@pytest.mark.pypi
def test_stdout_parses_when_pip_is_chatty(tmp_path):
    make_workdir(tmp_path)
    environment = dict(os.environ, PIP_VERBOSE="2")
    completed = run_layer_build(stdin=layer_query(), cwd=tmp_path, env=environment)
    assert completed.returncode == 0, completed.stderr
    assert "Collecting" in completed.stderr or "Processing" in completed.stderr
    result = json.loads(completed.stdout)
    assert completed.stdout.count("\n") == 1
    assert all(isinstance(value, str) for value in result.values())
    assert set(result) == {
        "filename",
        "base64sha256",
        "sha256",
        "size_bytes",
        "unzipped_bytes",
        "packages",
        "glibc_required",
        "platform_tags",
        "cache_hit",
    }
