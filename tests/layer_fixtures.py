"""Shared helpers for the layer builder tests: subprocess runs, zips, gcc, real builds.

The real PyPI builds are slow enough that every test module shares one build
per architecture per session: each module's session fixture calls
``built_layer``, which builds on the first call and returns that build after.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
LAYER_BUILD = REPOSITORY / "layer_build.py"
REQUIREMENTS = REPOSITORY / "lambda-requirements.txt"
TARGET_RUNTIME = "python3.11"


@dataclass(frozen=True)
class BuiltLayer:
    workdir: Path
    result: dict[str, str]

    @property
    def zip_path(self) -> Path:
        return self.workdir / self.result["filename"]


def run_layer_build(
    args: list[str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    umask: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python layer_build.py`` as Terraform does, with the given working directory."""

    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [sys.executable, str(LAYER_BUILD), *(args or [])],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        preexec_fn=set_umask,
        timeout=300,
        check=False,
    )


def layer_query(architecture: str = "x86_64", **overrides: str) -> str:
    query = {
        "requirements": "requirements.txt",
        "runtime": TARGET_RUNTIME,
        "architecture": architecture,
        "output_dir": "build",
    }
    query.update(overrides)
    return json.dumps(query)


def make_workdir(path: Path, requirements: str | None = None) -> Path:
    """Create a module-like directory with the layer's requirements file."""
    path.mkdir(parents=True, exist_ok=True)
    target = path / "requirements.txt"
    if requirements is None:
        shutil.copyfile(REQUIREMENTS, target)
    else:
        target.write_text(requirements, encoding="utf-8")
    return path


def offline_pip_environment(port: int) -> dict[str, str]:
    """Point pip at a closed 127.0.0.1 port with every other source switched off."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PIP_") and key != "LAYER_BUILD_INDEX_URL"
    }
    environment.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_RETRIES="0",
        PIP_TIMEOUT="5",
        LAYER_BUILD_INDEX_URL=f"http://127.0.0.1:{port}/simple",
    )
    return environment


def closed_port() -> int:
    """Return a 127.0.0.1 port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def build_wheel(directory: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """Write a pure-Python ``py3-none-any`` wheel with a RECORD of real hashes."""
    dist_info = f"{name}-{version}.dist-info"
    contents = dict(files)
    contents[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    )
    contents[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: layer-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record_lines = []
    for path, data in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{path},sha256={digest},{len(data)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    contents[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()

    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as archive:
        for path, data in contents.items():
            archive.writestr(path, data)
    return wheel


def compile_shared(directory: Path, source: str, name: str, compiler: str = "gcc") -> bytes:
    """Compile ``source`` into a shared library with the host's gcc and return its bytes."""
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed")
    suffix = ".cc" if compiler == "g++" else ".c"
    source_path = directory / f"{name}{suffix}"
    source_path.write_text(source, encoding="utf-8")
    output = directory / f"{name}.so"
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(output), str(source_path)],
        check=True,
        capture_output=True,
    )
    return output.read_bytes()


_BUILDS: dict[str, BuiltLayer] = {}


def built_layer(architecture: str, factory: pytest.TempPathFactory) -> BuiltLayer:
    """Build the project's layer once per session per architecture, through stdin/stdout."""
    if architecture in _BUILDS:
        return _BUILDS[architecture]

    workdir = make_workdir(factory.mktemp(f"layer-{architecture}"))
    completed = run_layer_build(stdin=layer_query(architecture), cwd=workdir)
    assert completed.returncode == 0, completed.stderr
    build = BuiltLayer(workdir, json.loads(completed.stdout))
    _BUILDS[architecture] = build
    return build
