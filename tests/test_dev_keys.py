"""Test key pairs for non-production environments (scripts/dev_keys.py)."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import dev_keys
import pytest
from nacl.signing import VerifyKey

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "dev_keys.py"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_key_generated_once(tmp_path: Path) -> None:
    first = dev_keys.public_key_hex("local", tmp_path)
    second = dev_keys.public_key_hex("local", tmp_path)

    assert first == second
    assert len(first) == 64
    VerifyKey(bytes.fromhex(first))


def test_key_per_environment(tmp_path: Path) -> None:
    assert dev_keys.public_key_hex("local", tmp_path) != dev_keys.public_key_hex("dev", tmp_path)


def test_key_file_mode_0600(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    dev_keys.load_or_create("local", keys_dir)

    path = keys_dir / "local.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    assert [p.name for p in keys_dir.iterdir()] == ["local.key"]


def test_key_file_created_private_despite_umask(tmp_path: Path) -> None:
    # A permissive umask must not widen the mode given at creation.
    code = (
        "import os, sys; os.umask(0); sys.path.insert(0, sys.argv[1]);"
        "import dev_keys, pathlib; dev_keys.load_or_create('local', pathlib.Path(sys.argv[2]))"
    )
    subprocess.run([sys.executable, "-c", code, str(SCRIPT.parent), str(tmp_path)], check=True)

    assert stat.S_IMODE((tmp_path / "local.key").stat().st_mode) == 0o600


def test_signature_verifies_with_public_key(tmp_path: Path) -> None:
    signing_key = dev_keys.load_or_create("dev", tmp_path)
    public = VerifyKey(bytes.fromhex(dev_keys.public_key_hex("dev", tmp_path)))

    signed = signing_key.sign(b"1700000000{}")

    assert public.verify(signed) == b"1700000000{}"


@pytest.mark.parametrize("env", ["prod", "PROD", "production"])
def test_production_rejected(tmp_path: Path, env: str) -> None:
    with pytest.raises(dev_keys.DevKeyError, match="Discord Developer Portal"):
        dev_keys.load_or_create(env, tmp_path)

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("env", ["../local", "a/b", "", "-x", "x" * 65])
def test_invalid_environment_name_rejected(tmp_path: Path, env: str) -> None:
    with pytest.raises(dev_keys.DevKeyError, match="invalid environment name"):
        dev_keys.load_or_create(env, tmp_path)


def test_world_readable_key_rejected(tmp_path: Path) -> None:
    dev_keys.load_or_create("local", tmp_path)
    (tmp_path / "local.key").chmod(0o644)

    with pytest.raises(dev_keys.DevKeyError, match="chmod 600"):
        dev_keys.load_or_create("local", tmp_path)


def test_corrupt_key_rejected_without_content(tmp_path: Path) -> None:
    path = tmp_path / "local.key"
    path.write_text("not-a-key-secretvalue\n")
    path.chmod(0o600)

    with pytest.raises(dev_keys.DevKeyError, match="64-hex-digit") as error:
        dev_keys.load_or_create("local", tmp_path)

    assert "secretvalue" not in str(error.value)


def test_cli_public_prints_only_key(tmp_path: Path) -> None:
    result = run_cli("public", "local", "--keys-dir", str(tmp_path))

    assert result.returncode == 0
    assert result.stdout.strip() == dev_keys.public_key_hex("local", tmp_path)


def test_cli_path_prints_key_file(tmp_path: Path) -> None:
    result = run_cli("path", "dev", "--keys-dir", str(tmp_path))

    assert result.returncode == 0
    assert result.stdout.strip() == str(tmp_path / "dev.key")


def test_cli_prod_fails_with_message(tmp_path: Path) -> None:
    result = run_cli("public", "prod", "--keys-dir", str(tmp_path))

    assert result.returncode == 1
    assert result.stdout == ""
    assert "Discord Developer Portal" in result.stderr
