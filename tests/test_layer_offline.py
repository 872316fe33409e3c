"""Builds from a wheel made in the test, with pip offline.

Each build installs one local ``py3-none-any`` wheel named by its path in the
requirements file, so pip never contacts an index and a build takes about a
second. Covered here: index credentials in logs, SIGTERM in the middle of a
build, temporary zips left by killed builds, and what a cache hit writes.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from layer_fixtures import (
    LAYER_BUILD,
    build_wheel,
    closed_port,
    layer_query,
    make_workdir,
    offline_pip_environment,
    run_layer_build,
)

SECRET = "S3CRETTOKEN"
# Random bytes do not compress, so zipping 40 MB takes seconds at level 9 and
# stays under Lambda's 50 MB direct-upload limit.
BULK_PAYLOAD_BYTES = 40 * 1024 * 1024


def local_wheel_workdir(path: Path, payload: bytes = b"VALUE = 1\n") -> Path:
    """Create a module directory whose requirements file names one local wheel."""
    path.mkdir(parents=True, exist_ok=True)
    files = {"localpkg/__init__.py": b"VALUE = 1\n"}
    if len(payload) > 16:
        files["localpkg/payload.bin"] = payload
    wheel = build_wheel(path, "localpkg", "1.0", files)
    return make_workdir(path, requirements=f"{wheel}\n")


def offline_environment(**extra: str) -> dict[str, str]:
    environment = offline_pip_environment(closed_port())
    environment.update(extra)
    return environment


def test_index_credentials_masked_in_build(tmp_path):
    workdir = local_wheel_workdir(tmp_path / "module")
    index_url = f"http://user:{SECRET}@127.0.0.1:{closed_port()}/simple"
    arguments = [
        "--requirements",
        "requirements.txt",
        "--runtime",
        "python3.11",
        "--architecture",
        "x86_64",
        "--index-url",
        index_url,
    ]

    completed = run_layer_build(arguments, cwd=workdir, env=offline_environment())

    assert completed.returncode == 0, completed.stderr
    assert SECRET not in completed.stderr
    assert "user:" not in completed.stderr
    assert "--index-url http://****@127.0.0.1" in completed.stderr
    assert "Looking in indexes: http://****@127.0.0.1" in completed.stderr
    assert SECRET not in completed.stdout
    cache_files = list((workdir / "build" / ".cache").iterdir())
    assert cache_files
    for path in cache_files:
        assert SECRET not in path.name
        assert SECRET not in path.read_text(encoding="utf-8")


def test_index_credentials_masked_in_network_error(tmp_path):
    make_workdir(tmp_path, requirements="pynacl==1.6.2\n")
    environment = offline_environment(
        LAYER_BUILD_INDEX_URL=f"http://user:{SECRET}@127.0.0.1:{closed_port()}/simple"
    )

    completed = run_layer_build(stdin=layer_query(), cwd=tmp_path, env=environment)

    assert completed.returncode == 1
    assert "network failure" in completed.stderr.splitlines()[-1]
    assert SECRET not in completed.stderr
    assert "user:" not in completed.stderr


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def test_sigterm_while_zipping_cleans_up(tmp_path):
    workdir = local_wheel_workdir(tmp_path / "module", payload=os.urandom(BULK_PAYLOAD_BYTES))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    output_dir = workdir / "build"
    environment = offline_environment(TMPDIR=str(scratch))
    query = tmp_path / "query.json"
    query.write_text(layer_query(), encoding="utf-8")

    with (
        query.open("rb") as stdin,
        subprocess.Popen(
            [sys.executable, str(LAYER_BUILD)],
            cwd=workdir,
            env=environment,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process,
    ):
        # The temporary zip exists only while the zip is written and audited.
        zipping = wait_for(lambda: any(output_dir.glob(".tmp-*.zip")), timeout=120)
        if zipping:
            process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)

    assert zipping, stderr
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert stdout == ""
    assert "interrupted by SIGTERM" in stderr.splitlines()[-1]
    assert list(output_dir.glob(".tmp-*")) == []
    assert list(output_dir.glob("*.zip")) == []
    assert list(scratch.glob("layer-build-*")) == []


def test_stale_temporary_zips_removed(tmp_path):
    workdir = local_wheel_workdir(tmp_path / "module")
    output_dir = workdir / "build"
    output_dir.mkdir()
    an_hour_ago = time.time() - 3600

    abandoned = output_dir / ".tmp-abandoned.zip"
    abandoned.write_bytes(b"partial zip of a killed build")
    os.utime(abandoned, (an_hour_ago, an_hour_ago))
    just_created = output_dir / ".tmp-just-created.zip"
    just_created.write_bytes(b"")
    in_use = output_dir / ".tmp-in-use.zip"
    in_use.write_bytes(b"")
    os.utime(in_use, (an_hour_ago, an_hour_ago))

    with in_use.open("rb") as held:
        # The lock that a live build holds on its temporary zip.
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        completed = run_layer_build(stdin=layer_query(), cwd=workdir, env=offline_environment())

    assert completed.returncode == 0, completed.stderr
    assert not abandoned.exists()
    assert just_created.exists()
    assert in_use.exists()


def test_missing_cached_zip_warned_once(tmp_path):
    workdir = local_wheel_workdir(tmp_path / "module")
    environment = offline_environment()
    first = run_layer_build(stdin=layer_query(), cwd=workdir, env=environment)
    assert first.returncode == 0, first.stderr
    (workdir / json.loads(first.stdout)["filename"]).unlink()

    second = run_layer_build(stdin=layer_query(), cwd=workdir, env=environment)

    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["cache_hit"] == "false"
    assert second.stderr.count("is missing: rebuilding") == 1


def test_cache_hit_writes_nothing(tmp_path):
    workdir = local_wheel_workdir(tmp_path / "module")
    environment = offline_environment()
    first = run_layer_build(stdin=layer_query(), cwd=workdir, env=environment)
    assert first.returncode == 0, first.stderr
    output_dir = workdir / "build"
    directories = (output_dir, output_dir / ".cache")
    # Creating or deleting a file, even a write probe, changes a directory's mtime.
    before = [directory.stat().st_mtime_ns for directory in directories]
    for directory in directories:
        directory.chmod(0o555)

    try:
        second = run_layer_build(stdin=layer_query(), cwd=workdir, env=environment)
    finally:
        for directory in directories:
            directory.chmod(0o755)

    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["cache_hit"] == "true"
    assert [directory.stat().st_mtime_ns for directory in directories] == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_cache_hit_in_read_only_directory(tmp_path):
    workdir = local_wheel_workdir(tmp_path / "module")
    environment = offline_environment()
    first = run_layer_build(stdin=layer_query(), cwd=workdir, env=environment)
    assert first.returncode == 0, first.stderr
    output_dir = workdir / "build"
    output_dir.chmod(0o555)

    try:
        second = run_layer_build(stdin=layer_query(), cwd=workdir, env=environment)
    finally:
        output_dir.chmod(0o755)

    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["cache_hit"] == "true"
