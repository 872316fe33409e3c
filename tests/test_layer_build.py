"""Real layer builds from PyPI: contents, reproducibility, bytecode and imports."""

from __future__ import annotations

import json
import marshal
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from layer_fixtures import (
    TARGET_RUNTIME,
    BuiltLayer,
    built_layer,
    layer_query,
    make_workdir,
    run_layer_build,
)

from layer_builder.audit import audit_zip
from layer_builder.elf import is_elf, read_elf
from layer_builder.policy import ARCHITECTURES, RUNTIMES, parse_version, platform_tags

pytestmark = pytest.mark.pypi

PACKAGES = [
    "certifi==2026.10.19.post1",
    "cffi==2.1.1",
    "charset-normalizer==3.5.3",
    "idna==3.20",
    "pycparser==3.12",
    "PyNaCl==1.6.2",
    "requests==2.34.2",
    "urllib3==2.8.0",
]
HOST_MATCHES_TARGET = sys.version_info[:2] == RUNTIMES[TARGET_RUNTIME].python

# Runs in a fresh interpreter to move the clock ten years ahead for the build.
CLOCK_SHIFT = """
import sys, time
_OFFSET = 10 * 365 * 86400
_time, _time_ns = time.time, time.time_ns
time.time = lambda: _time() + _OFFSET
time.time_ns = lambda: _time_ns() + _OFFSET * 10**9
sys.stderr.write("sitecustomize: clock shifted\\n")
"""


@pytest.fixture(scope="session")
def layer_x86_64(tmp_path_factory: pytest.TempPathFactory) -> BuiltLayer:
    return built_layer("x86_64", tmp_path_factory)


@pytest.fixture(scope="session")
def layer_arm64(tmp_path_factory: pytest.TempPathFactory) -> BuiltLayer:
    return built_layer("arm64", tmp_path_factory)


def zip_entries(zip_path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(zip_path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
def test_build_result(request, architecture):
    build = request.getfixturevalue(f"layer_{architecture}")
    result = build.result

    assert all(isinstance(value, str) for value in result.values())
    assert re.fullmatch(
        rf"build/layer-python3\.11-{architecture}-[0-9a-f]{{12}}\.zip", result["filename"]
    )
    assert result["filename"].endswith(f"-{result['sha256'][:12]}.zip")
    assert result["cache_hit"] == "false"
    assert result["packages"].split(",") == PACKAGES
    assert int(result["size_bytes"]) == build.zip_path.stat().st_size
    assert int(result["unzipped_bytes"]) > int(result["size_bytes"])
    assert parse_version(result["glibc_required"]) <= (2, 26)

    allowed = set(platform_tags(RUNTIMES[TARGET_RUNTIME], ARCHITECTURES[architecture]))
    tags = set(result["platform_tags"].split(","))
    assert "any" in tags
    assert tags - {"any"} <= allowed


@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
def test_build_passes_audit(request, architecture):
    build = request.getfixturevalue(f"layer_{architecture}")
    completed = run_layer_build(
        [
            "--check",
            str(build.zip_path),
            "--runtime",
            TARGET_RUNTIME,
            "--architecture",
            architecture,
        ]
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert json.loads(completed.stdout)["problems"] == []


def test_arm64_binaries_are_aarch64(layer_arm64):
    machines = set()
    for name, data in zip_entries(layer_arm64.zip_path).items():
        if is_elf(data):
            machines.add(read_elf(data).machine)
            assert "x86_64" not in name
    assert machines == {"EM_AARCH64"}


def test_arm64_layer_rejected_for_x86_64(layer_arm64):
    report = audit_zip(layer_arm64.zip_path, RUNTIMES[TARGET_RUNTIME], ARCHITECTURES["x86_64"])
    assert any("EM_AARCH64" in finding.problem for finding in report.findings)


@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
def test_zip_has_no_host_traces(request, architecture):
    build = request.getfixturevalue(f"layer_{architecture}")
    entries = zip_entries(build.zip_path)

    assert all(name.startswith("python/") for name in entries)
    assert not [name for name in entries if name.startswith("python/bin/")]
    assert not [name for name in entries if name.endswith("/direct_url.json")]
    for name, data in entries.items():
        assert b"/layer-build-" not in data, name
        assert str(build.workdir).encode() not in data, name
        assert sys.prefix.encode() not in data, name
        if name.endswith(".dist-info/RECORD"):
            assert b"../" not in data, name
            assert b"bin/" not in data, name


def test_zip_metadata_normalised(layer_x86_64):
    with zipfile.ZipFile(layer_x86_64.zip_path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644, 0o040755}


@pytest.mark.skipif(not HOST_MATCHES_TARGET, reason="the host cannot compile python3.11 bytecode")
def test_bytecode_is_deterministic_and_relocated(layer_x86_64):
    entries = zip_entries(layer_x86_64.zip_path)
    bytecode = {name: data for name, data in entries.items() if name.endswith(".pyc")}
    sources = [name for name in entries if name.endswith(".py")]

    assert len(bytecode) >= len(sources) * 0.9
    assert all("/__pycache__/" in name and ".cpython-311." in name for name in bytecode)
    for name, data in bytecode.items():
        flags = int.from_bytes(data[4:8], "little")
        assert flags == 0b01, f"{name} is not an unchecked-hash pyc"
        code = marshal.loads(data[16:])
        assert code.co_filename.startswith("/opt/python/"), name

    api = marshal.loads(entries["python/requests/__pycache__/api.cpython-311.pyc"][16:])
    assert api.co_filename == "/opt/python/requests/api.py"


def test_rebuild_is_byte_identical(layer_x86_64, tmp_path):
    workdir = make_workdir(tmp_path / "elsewhere" / "checkout")
    os.utime(workdir / "requirements.txt", (2_000_000_000, 2_000_000_000))
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(CLOCK_SHIFT)
    environment = dict(os.environ, PYTHONPATH=str(shim), TZ="Asia/Kathmandu")
    environment.pop("SOURCE_DATE_EPOCH", None)

    completed = run_layer_build(
        stdin=layer_query("x86_64", output_dir="out"),
        cwd=workdir,
        env=environment,
        umask=0o077,
    )

    assert completed.returncode == 0, completed.stderr
    assert "clock shifted" in completed.stderr
    result = json.loads(completed.stdout)
    assert result["cache_hit"] == "false"
    assert result["sha256"] == layer_x86_64.result["sha256"]
    assert (workdir / result["filename"]).read_bytes() == layer_x86_64.zip_path.read_bytes()


@pytest.mark.skipif(not HOST_MATCHES_TARGET, reason="the layer targets python3.11")
def test_import_from_layer_in_isolated_interpreter(layer_x86_64, tmp_path):
    layer = tmp_path / "opt"
    with zipfile.ZipFile(layer_x86_64.zip_path) as archive:
        archive.extractall(layer)
    # Unchecked-hash .pyc files are used without reading the source: break one
    # module's source, and the import must still work from its bytecode.
    version_source = layer / "python" / "requests" / "__version__.py"
    version_source.write_text("raise RuntimeError('source was compiled instead of the .pyc')\n")

    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import nacl.signing, requests;"
        "key = nacl.signing.SigningKey.generate();"
        "key.verify_key.verify(key.sign(b'ping'));"
        "print(nacl.__file__); print(requests.__version__)"
    )
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, str(layer / "python")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    nacl_file, requests_version = completed.stdout.split()
    assert nacl_file.startswith(str(layer / "python"))
    assert requests_version == "2.34.2"


def test_no_bytecode_when_host_differs(tmp_path):
    runtime = "python3.13" if sys.version_info[:2] == (3, 12) else "python3.12"
    workdir = make_workdir(tmp_path, requirements="idna==3.20\n")

    completed = run_layer_build(stdin=layer_query(runtime=runtime), cwd=workdir)

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["filename"].startswith(f"build/layer-{runtime}-x86_64-")
    assert result["packages"] == "idna==3.20"
    assert result["glibc_required"] == "none"
    assert result["platform_tags"] == "any"
    names = list(zip_entries(workdir / result["filename"]))
    assert "python/idna/__init__.py" in names
    assert not [name for name in names if name.endswith(".pyc") or "__pycache__" in name]
