"""Ed25519 test key pairs for non-production environments.

A Discord application signs every interaction with its own private key and the
endpoint verifies it with the public key from the Discord Developer Portal.
Environments that Discord never calls (``local``, and ``dev`` before it is
registered) need a key pair whose private half the smoke client can use. This
module generates one per environment, once, and stores it in a git-ignored
file with mode 0600.

Usage::

    python scripts/dev_keys.py public local   # 64 hex digits, for DISCORD_PUBLIC_KEY
    python scripts/dev_keys.py path local     # the private key file, for scripts/smoke.py

Production is rejected: its public key comes from the Discord Developer Portal,
and its private key never leaves Discord.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import stat
import sys
from pathlib import Path

from nacl.signing import SigningKey

log = logging.getLogger(__name__)

DEFAULT_KEYS_DIR = Path(__file__).resolve().parent.parent / ".local" / "keys"

# Environment names that must use the Developer Portal key instead of a test key.
PRODUCTION_ENVIRONMENTS = frozenset({"prod", "production"})

# Same alphabet as a Terraform workspace name that is also safe as a file name.
ENVIRONMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

SEED_HEX_LENGTH = 64


class DevKeyError(Exception):
    """An environment or key file that cannot supply a test key pair."""


def key_path(env: str, keys_dir: Path = DEFAULT_KEYS_DIR) -> Path:
    """Return the key file for ``env``, after checking that it may have a test key."""
    if env.lower() in PRODUCTION_ENVIRONMENTS:
        raise DevKeyError(
            f"environment {env!r} is production: it uses the public key of the Discord "
            "application from the Discord Developer Portal (General Information > Public Key), "
            "written in its tfvars file, so no test key pair is generated for it"
        )
    if not ENVIRONMENT_NAME.match(env):
        raise DevKeyError(
            f"invalid environment name {env!r}: use letters, digits, '-' and '_' "
            "(at most 64 characters), as in a Terraform workspace name"
        )
    return keys_dir / f"{env}.key"


def load_or_create(env: str, keys_dir: Path = DEFAULT_KEYS_DIR) -> SigningKey:
    """Return the environment's signing key, generating and storing it on first use.

    The file contains the 32-byte seed as 64 hex digits. It is written to a
    temporary file created with mode 0600 and then hard-linked to its final
    name, so the key is never readable by others, never half-written, and two
    concurrent first calls agree on one key (the second link fails and that
    caller reads the winner's file).
    """
    path = key_path(env, keys_dir)
    if not path.exists():
        _create(path)
    return _read(path)


def _create(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    seed_hex = SigningKey.generate().encode().hex()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")

    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(seed_hex + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
            log.info("generated a test key pair in %s", path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path) -> SigningKey:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise DevKeyError(
            f"key file {path} has mode {mode:04o} and is readable by other users; "
            f"run `chmod 600 {path}` (or delete it to generate a new key pair)"
        )
    return read_key_file(path)


def read_key_file(path: Path) -> SigningKey:
    """Read a private key file: the 32-byte Ed25519 seed as 64 hex digits."""
    text = path.read_text(encoding="ascii").strip()
    if len(text) != SEED_HEX_LENGTH or not all(c in "0123456789abcdefABCDEF" for c in text):
        # The content is a secret, so the message gives only its length.
        raise DevKeyError(
            f"key file {path} does not contain a {SEED_HEX_LENGTH}-hex-digit Ed25519 seed "
            f"({len(text)} characters found); delete it to generate a new key pair"
        )
    return SigningKey(bytes.fromhex(text))


def public_key_hex(env: str, keys_dir: Path = DEFAULT_KEYS_DIR) -> str:
    """Return the environment's public key as 64 hex digits (DISCORD_PUBLIC_KEY)."""
    return load_or_create(env, keys_dir).verify_key.encode().hex()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command",
        choices=["public", "path"],
        help="public: print the public key (64 hex digits); "
        "path: print the private key file, for scripts/smoke.py --private-key-file",
    )
    parser.add_argument("env", help="environment (Terraform workspace), e.g. local or dev")
    parser.add_argument(
        "--keys-dir",
        type=Path,
        default=DEFAULT_KEYS_DIR,
        help="directory of the key files (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="dev_keys: %(message)s")

    try:
        if args.command == "public":
            print(public_key_hex(args.env, args.keys_dir))
        else:
            load_or_create(args.env, args.keys_dir)
            print(key_path(args.env, args.keys_dir))
    except (DevKeyError, OSError) as error:
        print(f"dev_keys: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
