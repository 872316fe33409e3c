"""Build cache: Terraform runs the program on every plan, refresh and destroy.

A hit must return in well under a second and without network. So the cache
maps a key of everything that decides the zip's bytes to a small manifest of
the result. The key never contains an absolute path, so checkouts in
different directories share hits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from layer_builder.archive import file_sha256
from layer_builder.errors import missing_dependency

if TYPE_CHECKING:
    from filelock import FileLock

log = logging.getLogger(__name__)

MANIFEST_SUFFIX = ".json"
LOCK_SUFFIX = ".lock"


def cache_key(inputs: dict[str, str]) -> str:
    """Hash the build inputs (requirements content, runtime, versions...) into a key."""
    encoded = json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


class BuildCache:
    """Manifests in ``directory``, one per key, pointing at zips in ``zip_dir``."""

    def __init__(self, directory: Path, zip_dir: Path) -> None:
        self.directory = directory
        self.zip_dir = zip_dir

    def lock(self, key: str) -> FileLock:
        """Return the lock that serialises builds of one key across processes."""
        try:
            from filelock import FileLock  # only a miss needs it, which keeps hits fast
        except ImportError as error:
            raise missing_dependency(error) from None

        self.directory.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.directory / f"{key}{LOCK_SUFFIX}"))

    def lookup(self, key: str, quiet: bool = False) -> dict[str, str] | None:
        """Return the cached result if its zip still exists with the recorded SHA-256.

        A missing, unreadable or stale manifest, or a zip that is gone or whose
        bytes changed, counts as a miss so that the caller rebuilds it. The
        reason is logged as a warning, or at debug level when ``quiet`` is set
        for a repeated lookup. Nothing is written, so a hit works read-only.
        """
        level = logging.DEBUG if quiet else logging.WARNING
        manifest = self.directory / f"{key}{MANIFEST_SUFFIX}"
        try:
            result = json.loads(manifest.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            log.log(level, "ignoring unreadable cache manifest %s: %s", manifest, error)
            return None

        if not isinstance(result, dict) or not all(
            isinstance(value, str) for value in result.values()
        ):
            log.log(level, "ignoring malformed cache manifest %s", manifest)
            return None

        zip_path = self.zip_dir / result.get("zip_name", "")
        if not result.get("zip_name") or not zip_path.is_file():
            log.log(level, "cached zip %s is missing: rebuilding", zip_path)
            return None
        if file_sha256(zip_path) != result.get("sha256"):
            log.log(level, "cached zip %s does not match its recorded sha256: rebuilding", zip_path)
            return None
        return result

    def store(self, key: str, result: dict[str, str]) -> None:
        """Write the manifest atomically: a reader sees the old one or the new one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(result, stream, sort_keys=True, indent=1)
            os.replace(temporary, self.directory / f"{key}{MANIFEST_SUFFIX}")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
