"""The ELF audit: binaries compiled here with gcc, and the zip that broke production."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from layer_fixtures import compile_shared, run_layer_build, write_zip

from layer_builder.audit import audit_zip
from layer_builder.elf import read_elf
from layer_builder.policy import ARCHITECTURES, RUNTIMES

X86_64 = ARCHITECTURES["x86_64"]
ARM64 = ARCHITECTURES["arm64"]
PYTHON311 = RUNTIMES["python3.11"]
PYTHON312 = RUNTIMES["python3.12"]

# pthread_create moved into libc in glibc 2.34 and got the GLIBC_2.34 version,
# so a library that calls it needs glibc 2.34 when built on this glibc 2.36 host.
NEEDS_GLIBC_2_34 = """
#include <pthread.h>
static void *run(void *argument) { return argument; }
int start(void) { pthread_t thread; return pthread_create(&thread, 0, run, 0); }
"""
# arc4random first appeared in glibc 2.36.
NEEDS_GLIBC_2_36 = """
#include <stdlib.h>
unsigned int pick(void) { return arc4random(); }
"""
PLAIN_C = "int add(int a, int b) { return a + b; }\n"
# std::__throw_bad_array_new_length is GLIBCXX_3.4.29, new in GCC 11.
NEEDS_GLIBCXX_3_4_29 = """
#include <bits/functexcept.h>
extern "C" void fail(void) { std::__throw_bad_array_new_length(); }
"""


def glibc_needs(data: bytes) -> set[str]:
    info = read_elf(data)
    assert info is not None
    return {need.label for need in info.needs if need.family == "GLIBC"}


def layer_with(tmp_path, name: str, data: bytes) -> Path:
    return write_zip(tmp_path / "layer.zip", {"python/": b"", name: data})


def test_glibc_2_34_library_rejected_for_python311(tmp_path):
    library = compile_shared(tmp_path, NEEDS_GLIBC_2_34, "threads")
    assert "GLIBC_2.34" in glibc_needs(library)
    zip_path = layer_with(tmp_path, "python/threads/_threads.abi3.so", library)

    report = audit_zip(zip_path, PYTHON311, X86_64)

    assert len(report.findings) == 1
    finding = report.findings[0]
    assert finding.path == "python/threads/_threads.abi3.so"
    assert finding.package == "threads"
    assert "GLIBC_2.34" in finding.problem
    assert "GLIBC_2.26" in finding.problem
    assert "target python3.12" in finding.fix
    assert report.glibc_required_text == "2.34"


def test_unowned_library_names_no_package(tmp_path):
    # Directly under python/ and listed in no RECORD: no package to name.
    library = compile_shared(tmp_path, NEEDS_GLIBC_2_34, "threads")
    zip_path = layer_with(tmp_path, "python/_threads.abi3.so", library)

    report = audit_zip(zip_path, PYTHON311, X86_64)

    assert len(report.findings) == 1
    finding = report.findings[0]
    assert finding.package is None
    assert "(package unknown: no .dist-info RECORD" in str(finding)
    assert "package python" not in str(finding)
    assert "pin python" not in finding.fix
    assert finding.fix.startswith("pin the package that installed this file to a release")


def test_glibc_2_34_library_accepted_for_python312(tmp_path):
    library = compile_shared(tmp_path, NEEDS_GLIBC_2_34, "threads")
    zip_path = layer_with(tmp_path, "python/threads/_threads.abi3.so", library)

    report = audit_zip(zip_path, PYTHON312, X86_64)

    assert report.findings == []
    assert report.glibc_required_text == "2.34"


def test_glibc_2_36_library_rejected_for_python312(tmp_path):
    library = compile_shared(tmp_path, NEEDS_GLIBC_2_36, "random")
    assert "GLIBC_2.36" in glibc_needs(library)
    zip_path = layer_with(tmp_path, "python/random_ext/_random.abi3.so", library)

    report = audit_zip(zip_path, PYTHON312, X86_64)

    assert len(report.findings) == 1
    assert "GLIBC_2.36" in report.findings[0].problem
    assert "GLIBC_2.34" in report.findings[0].problem
    assert "target python" not in report.findings[0].fix


def test_glibcxx_checked_against_runtime(tmp_path):
    library = compile_shared(tmp_path, NEEDS_GLIBCXX_3_4_29, "cxx", compiler="g++")
    zip_path = layer_with(tmp_path, "python/cxx/_cxx.abi3.so", library)

    rejected = audit_zip(zip_path, PYTHON311, X86_64)
    accepted = audit_zip(zip_path, PYTHON312, X86_64)

    assert [f for f in rejected.findings if "GLIBCXX_3.4.29" in f.problem]
    assert "GLIBCXX_3.4.24" in rejected.findings[0].problem
    assert accepted.findings == []


def test_x86_64_library_rejected_in_arm64_layer(tmp_path):
    library = compile_shared(tmp_path, PLAIN_C, "plain")
    zip_path = layer_with(tmp_path, "python/plain/_plain.abi3.so", library)

    report = audit_zip(zip_path, PYTHON311, ARM64)

    assert len(report.findings) == 1
    assert "EM_X86_64" in report.findings[0].problem
    assert "arm64" in report.findings[0].problem
    assert audit_zip(zip_path, PYTHON311, X86_64).findings == []


def test_32_bit_library_rejected(tmp_path):
    if subprocess.run(["which", "objcopy"], capture_output=True).returncode != 0:
        pytest.skip("objcopy is not installed")
    source = tmp_path / "plain.c"
    source.write_text(PLAIN_C)
    subprocess.run(["gcc", "-c", "-fPIC", "-o", tmp_path / "plain.o", source], check=True)
    subprocess.run(
        ["objcopy", "-O", "elf32-i386", tmp_path / "plain.o", tmp_path / "plain32.o"],
        check=True,
    )
    zip_path = layer_with(tmp_path, "python/plain32.o", (tmp_path / "plain32.o").read_bytes())

    problems = [finding.problem for finding in audit_zip(zip_path, PYTHON311, X86_64).findings]

    assert any("32-bit" in problem for problem in problems)
    assert any("EM_386" in problem for problem in problems)


def test_cpython_312_extension_rejected_for_python311(tmp_path):
    library = compile_shared(tmp_path, PLAIN_C, "plain")
    name = "python/plain/_plain.cpython-312-x86_64-linux-gnu.so"
    zip_path = layer_with(tmp_path, name, library)

    report = audit_zip(zip_path, PYTHON311, X86_64)

    assert len(report.findings) == 1
    assert report.findings[0].path == name
    assert "CPython 3.12" in report.findings[0].problem
    assert "python3.11" in report.findings[0].problem
    assert audit_zip(zip_path, PYTHON312, X86_64).findings == []


def test_aarch64_extension_name_rejected_for_x86_64(tmp_path):
    library = compile_shared(tmp_path, PLAIN_C, "plain")
    zip_path = layer_with(tmp_path, "python/_plain.cpython-311-aarch64-linux-gnu.so", library)

    problems = [finding.problem for finding in audit_zip(zip_path, PYTHON311, X86_64).findings]

    assert any("aarch64-linux-gnu" in problem for problem in problems)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("python/ext/_speedups.cp311-win_amd64.pyd", b"MZ\x90\x00"),
        ("python/ext/_speedups.cpython-311-darwin.so", b"\xcf\xfa\xed\xfe\x07\x00"),
        ("python/ext/libthing.dylib", b"\xcf\xfa\xed\xfe\x07\x00"),
        ("python/ext/hidden.so", b"\xca\xfe\xba\xbe\x00\x00"),
    ],
)
def test_foreign_binaries_rejected(tmp_path, name, data):
    zip_path = layer_with(tmp_path, name, data)

    report = audit_zip(zip_path, PYTHON311, X86_64)

    assert [finding.path for finding in report.findings] == [name]
    assert "Windows or macOS" in report.findings[0].problem


def test_entry_outside_python_rejected(tmp_path):
    zip_path = write_zip(tmp_path / "layer.zip", {"requests/__init__.py": b""})

    report = audit_zip(zip_path, PYTHON311, X86_64)

    assert len(report.findings) == 1
    assert "outside python/" in report.findings[0].problem


def test_owner_read_from_record(tmp_path):
    library = compile_shared(tmp_path, NEEDS_GLIBC_2_34, "threads")
    record = b"fastthing/_core.abi3.so,sha256=x,1\nfastthing-1.0.dist-info/RECORD,,\n"
    zip_path = write_zip(
        tmp_path / "layer.zip",
        {
            "python/fastthing/_core.abi3.so": library,
            "python/fastthing-1.0.dist-info/RECORD": record,
            "python/fastthing-1.0.dist-info/METADATA": b"Name: FastThing\nVersion: 1.0\n\n",
        },
    )

    report = audit_zip(zip_path, PYTHON311, X86_64)

    assert report.findings[0].package == "fastthing"
    assert "pin fastthing" in report.findings[0].fix
    assert report.packages == ["FastThing==1.0"]


def test_check_rejects_non_zip(tmp_path):
    bogus = tmp_path / "layer.zip"
    bogus.write_text("not a zip")
    completed = run_layer_build(
        ["--check", str(bogus), "--runtime", "python3.11", "--architecture", "x86_64"],
        cwd=tmp_path,
    )
    assert completed.returncode == 1
    assert "cannot read zip" in completed.stderr


def test_check_needs_runtime(tmp_path):
    zip_path = write_zip(tmp_path / "layer.zip", {"python/a.py": b""})
    completed = run_layer_build(["--check", str(zip_path)], cwd=tmp_path)
    assert completed.returncode == 1
    assert "--check needs --runtime and --architecture" in completed.stderr


def test_check_accepts_clean_zip(tmp_path):
    library = compile_shared(tmp_path, PLAIN_C, "plain")
    zip_path = layer_with(tmp_path, "python/plain/_plain.cpython-311-x86_64-linux-gnu.so", library)
    completed = run_layer_build(
        ["--check", str(zip_path), "--runtime", "python3.11", "--architecture", "x86_64"],
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["problems"] == []


@pytest.fixture(scope="module")
def production_zip(tmp_path_factory) -> Path:
    """Build the layer the way that broke production: plain ``pip install pynacl`` here.

    On this glibc 2.36 host pip prefers PyNaCl's manylinux_2_34 wheel.
    """
    directory = tmp_path_factory.mktemp("production")
    target = directory / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", target, "pynacl==1.6.2"],
        check=True,
        capture_output=True,
    )
    entries = {}
    for folder, _, files in os.walk(target):
        for name in files:
            path = os.path.join(folder, name)
            entries[os.path.relpath(path, directory)] = Path(path).read_bytes()
    return write_zip(directory / "production.zip", entries)


@pytest.mark.pypi
def test_check_rejects_production_zip(production_zip, tmp_path):
    completed = run_layer_build(
        ["--check", str(production_zip), "--runtime", "python3.11", "--architecture", "x86_64"],
        cwd=tmp_path,
    )

    assert completed.returncode == 1
    report = json.loads(completed.stdout)
    assert report["glibc_required"] == "2.33"
    assert any(
        "python/nacl/_sodium.abi3.so" in problem and "GLIBC_2.33" in problem
        for problem in report["problems"]
    )
    last_line = completed.stderr.strip().splitlines()[-1]
    assert "nacl/_sodium.abi3.so" in last_line
    assert "GLIBC_2.33" in last_line


@pytest.mark.pypi
def test_production_zip_glibc_fits_python312(production_zip):
    # cffi's extension is still cp311, so only the glibc needs pass on python3.12.
    report = audit_zip(production_zip, PYTHON312, X86_64)
    assert not [finding for finding in report.findings if "GLIBC" in finding.problem]
    assert [finding.package for finding in report.findings] == ["cffi"]
