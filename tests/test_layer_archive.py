"""The reproducible zip writer, the function zip and Lambda's size limits."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from layer_fixtures import run_layer_build

from layer_builder import archive
from layer_builder.archive import check_lambda_limits, list_tree, write_zip
from layer_builder.errors import LayerBuildError


def make_tree(root: Path, umask: int, mtime: int) -> Path:
    """Create the same files with a given umask and modification time."""
    previous = os.umask(umask)
    try:
        (root / "python" / "pkg" / "sub").mkdir(parents=True)
        (root / "python" / "pkg" / "__pycache__").mkdir()
        (root / "python" / "pkg" / "__init__.py").write_text("VALUE = 1\n")
        (root / "python" / "pkg" / "sub" / "data.bin").write_bytes(bytes(range(256)) * 10)
        (root / "python" / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"x")
        (root / "python" / "B.txt").write_text("upper case sorts first\n")
        script = root / "python" / "run.sh"
        script.write_text("#!/bin/sh\n")
        script.chmod(0o700)
    finally:
        os.umask(previous)
    for folder, _, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(folder, name), (mtime, mtime))
    return root


def zip_tree(root: Path, output: Path, keep_bytecode: bool = False) -> archive.ArchiveInfo:
    output.mkdir(exist_ok=True)
    entries = list_tree(root, keep_bytecode=keep_bytecode)
    return write_zip(entries, output, lambda digest: f"test-{digest[:12]}.zip")


def test_same_bytes_across_umask_mtime_and_path(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = zip_tree(make_tree(tmp_path / "a", 0o022, 1_000_000_000), tmp_path / "out-a")
    second = zip_tree(
        make_tree(tmp_path / "b" / "deeper", 0o077, 1_900_000_000), tmp_path / "out-b"
    )

    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.path.name == f"test-{first.sha256[:12]}.zip"


def test_entries_sorted_with_fixed_metadata(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    info = zip_tree(make_tree(tmp_path / "tree", 0o077, 1_700_000_000), tmp_path / "out")

    with zipfile.ZipFile(info.path) as archive_file:
        entries = archive_file.infolist()
    names = [entry.filename for entry in entries]

    assert names == sorted(names)
    assert names == [
        "python/",
        "python/B.txt",
        "python/pkg/",
        "python/pkg/__init__.py",
        "python/pkg/sub/",
        "python/pkg/sub/data.bin",
        "python/run.sh",
    ]
    for entry in entries:
        assert entry.date_time == (1980, 1, 1, 0, 0, 0)
        assert "\\" not in entry.filename
        mode = entry.external_attr >> 16
        if entry.is_dir():
            assert mode == stat.S_IFDIR | 0o755
        else:
            assert mode == stat.S_IFREG | 0o644
    assert info.unzipped_bytes == sum(entry.file_size for entry in entries)
    assert oct(info.path.stat().st_mode & 0o777) == oct(0o644)


def test_bytecode_kept_only_on_request(tmp_path):
    tree = make_tree(tmp_path / "tree", 0o022, 1_700_000_000)
    names = [name for name, _ in list_tree(tree, keep_bytecode=True)]
    assert "python/pkg/__pycache__/__init__.cpython-311.pyc" in names


def test_source_date_epoch_sets_timestamps(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    info = zip_tree(make_tree(tmp_path / "tree", 0o022, 1), tmp_path / "out")
    with zipfile.ZipFile(info.path) as archive_file:
        assert {entry.date_time for entry in archive_file.infolist()} == {
            (2023, 11, 14, 22, 13, 20)
        }


def test_source_date_epoch_clamped_to_1980(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert archive.zip_timestamp() == (1980, 1, 1, 0, 0, 0)


def test_source_date_epoch_invalid(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(LayerBuildError, match="SOURCE_DATE_EPOCH='yesterday'"):
        archive.zip_timestamp()


def test_unzipped_limit():
    check_lambda_limits(52_428_800, 262_144_000)
    with pytest.raises(LayerBuildError, match="262144001 bytes exceeds") as raised:
        check_lambda_limits(1, 262_144_001)
    assert "262144000" in str(raised.value)


def test_zip_size_limit_explains_s3_route():
    with pytest.raises(LayerBuildError) as raised:
        check_lambda_limits(52_428_801, 100_000_000)
    message = str(raised.value)
    assert "52428801" in message
    assert "s3_bucket" in message
    assert "s3_key" in message
    assert "aws_lambda_layer_version" in message


def test_oversized_zip_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_DIRECT_UPLOAD_BYTES", 100)
    tree = make_tree(tmp_path / "tree", 0o022, 1)
    with pytest.raises(LayerBuildError, match="S3"):
        zip_tree(tree, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_rejected_zip_leaves_nothing(tmp_path):
    tree = make_tree(tmp_path / "tree", 0o022, 1)
    output = tmp_path / "out"
    output.mkdir()

    def reject(path: Path) -> None:
        raise LayerBuildError("rejected")

    with pytest.raises(LayerBuildError, match="rejected"):
        write_zip(list_tree(tree, keep_bytecode=False), output, lambda d: "x.zip", verify=reject)
    assert list(output.iterdir()) == []


def make_function_source(root: Path) -> Path:
    source = root / "lambda"
    (source / "discord_endpoint" / "__pycache__").mkdir(parents=True)
    (source / "lambda_function.py").write_text("def lambda_handler(event, context):\n    pass\n")
    (source / "discord_endpoint" / "__init__.py").write_text("")
    (source / "discord_endpoint" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"x")
    (source / "stale.pyc").write_bytes(b"x")
    return source


def test_function_zip_files_at_root(tmp_path):
    make_function_source(tmp_path)
    completed = run_layer_build(["--function-source", "lambda"], cwd=tmp_path)

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert set(result) == {"filename", "base64sha256", "sha256", "size_bytes", "unzipped_bytes"}
    assert result["filename"].startswith("build/function-")
    with zipfile.ZipFile(tmp_path / result["filename"]) as archive_file:
        names = archive_file.namelist()
    assert names == ["discord_endpoint/", "discord_endpoint/__init__.py", "lambda_function.py"]


def test_function_zip_reproducible_across_checkouts(tmp_path):
    results = []
    for checkout, umask in (("one", 0o022), ("two/nested", 0o077)):
        workdir = tmp_path / checkout
        workdir.mkdir(parents=True)
        make_function_source(workdir)
        query = json.dumps({"function_source": "lambda", "output_dir": "out"})
        completed = run_layer_build(stdin=query, cwd=workdir, umask=umask)
        assert completed.returncode == 0, completed.stderr
        results.append(json.loads(completed.stdout))

    assert results[0] == results[1]
    assert results[0]["filename"].startswith("out/function-")
