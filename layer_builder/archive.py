"""Byte-reproducible zip archives.

The same tree gives the same bytes on any machine, from any checkout path,
under any umask and at any time. Entries are sorted, every timestamp is one
fixed value, modes are normalised and paths use ``/``. Nothing from the
filesystem's metadata (owner, mtime, mode bits) reaches the archive.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from layer_builder.errors import LayerBuildError
from layer_builder.policy import MAX_DIRECT_UPLOAD_BYTES, MAX_UNZIPPED_BYTES

try:
    import fcntl
except ImportError:  # Windows
    # NOTE: without flock, stale temporary zips are never removed on Windows.
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# The earliest time a zip header can store. Used unless SOURCE_DATE_EPOCH is set.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

# The user's umask decides the mode bits on disk, so they are replaced: 0644
# for files and 0755 for directories. Lambda only needs read access to /opt.
FILE_MODE = 0o100644
DIRECTORY_MODE = 0o040755
MSDOS_DIRECTORY_FLAG = 0x10
UNIX_SYSTEM = 3
# NOTE: deflate output is fixed for one zlib build. CPython linked against a
# different implementation (zlib-ng, for example) may compress to other bytes.
COMPRESS_LEVEL = 9

# A zip is written as .tmp-XXXX.zip next to its final name. Its writer holds an
# exclusive flock on it until the rename, so a temporary zip that no process locks
# was left by a killed build. The age limit covers the moment between creating
# the file and locking it.
TEMPORARY_PREFIX = ".tmp-"
TEMPORARY_SUFFIX = ".zip"
STALE_AFTER_SECONDS = 60

SKIPPED_DIRECTORIES = frozenset({"__pycache__"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class ArchiveInfo:
    """Hashes and sizes of a finished zip, as the protocol reports them."""

    path: Path
    sha256: str
    base64sha256: str
    size_bytes: int
    unzipped_bytes: int


def zip_timestamp() -> tuple[int, int, int, int, int, int]:
    """Return the entry timestamp: SOURCE_DATE_EPOCH (UTC) clamped to 1980, or 1980-01-01."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return ZIP_EPOCH
    try:
        seconds = int(epoch)
    except ValueError:
        raise LayerBuildError(
            f"SOURCE_DATE_EPOCH={epoch!r} is not an integer:"
            " set it to seconds since 1970 or unset it"
        ) from None
    stamp = time.gmtime(max(seconds, 315_532_800))
    return stamp[:6]


def list_tree(root: Path, keep_bytecode: bool) -> list[tuple[str, Path | None]]:
    """List ``(archive name, file or None for a directory)`` pairs below ``root``, sorted.

    ``__pycache__`` directories and ``.pyc`` files are skipped unless
    ``keep_bytecode`` is set, which the layer uses for its own deterministic
    bytecode. Names are relative to ``root`` and always use ``/``.
    """
    entries: list[tuple[str, Path | None]] = []
    for directory, subdirectories, files in os.walk(root):
        if not keep_bytecode:
            subdirectories[:] = [d for d in subdirectories if d not in SKIPPED_DIRECTORIES]
        subdirectories.sort()

        base = Path(directory)
        relative = base.relative_to(root).as_posix()
        if relative != ".":
            entries.append((relative + "/", None))

        for name in sorted(files):
            if not keep_bytecode and name.endswith(SKIPPED_SUFFIXES):
                continue
            arcname = name if relative == "." else f"{relative}/{name}"
            entries.append((arcname, base / name))

    entries.sort(key=lambda entry: entry[0])
    return entries


def write_zip(
    entries: list[tuple[str, Path | None]],
    output_dir: Path,
    name_for: Callable[[str], str],
    verify: Callable[[Path], None] | None = None,
) -> ArchiveInfo:
    """Write ``entries`` to a zip in ``output_dir`` and move it into place atomically.

    The zip is written to a temporary file next to its final path, checked
    against Lambda's size limits and by ``verify``, hashed, and renamed to
    ``name_for(sha256)``. A failure, including a size over a limit or a
    rejection by ``verify``, leaves no zip behind.
    """
    timestamp = zip_timestamp()
    unzipped_bytes = 0

    handle, temporary_name = tempfile.mkstemp(
        prefix=TEMPORARY_PREFIX, suffix=TEMPORARY_SUFFIX, dir=output_dir
    )
    temporary = Path(temporary_name)
    # A second descriptor holds the lock: the writing one closes before the audit.
    lock_handle = os.open(temporary, os.O_RDONLY)
    try:
        _lock(lock_handle, blocking=True)
        with os.fdopen(handle, "wb") as stream, zipfile.ZipFile(stream, "w") as archive:
            for arcname, source in entries:
                info = zipfile.ZipInfo(arcname, date_time=timestamp)
                info.create_system = UNIX_SYSTEM
                if source is None:
                    info.external_attr = (DIRECTORY_MODE << 16) | MSDOS_DIRECTORY_FLAG
                    archive.writestr(info, b"")
                    continue
                data = source.read_bytes()
                unzipped_bytes += len(data)
                info.external_attr = FILE_MODE << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data, compresslevel=COMPRESS_LEVEL)

        size = temporary.stat().st_size
        check_lambda_limits(size, unzipped_bytes)
        if verify is not None:
            verify(temporary)
        digest = file_sha256(temporary)
        final = output_dir / name_for(digest)
        os.chmod(temporary, 0o644)
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        os.close(lock_handle)

    log.info("wrote %s (%d bytes, %d unzipped)", final, size, unzipped_bytes)
    return ArchiveInfo(
        path=final,
        sha256=digest,
        base64sha256=base64.b64encode(bytes.fromhex(digest)).decode("ascii"),
        size_bytes=size,
        unzipped_bytes=unzipped_bytes,
    )


def remove_stale_temporaries(output_dir: Path) -> None:
    """Delete the temporary zips that killed builds left in ``output_dir``.

    A temporary zip is stale when no process holds its lock and it is older
    than STALE_AFTER_SECONDS. Failures (a read-only directory on a cache hit,
    for example) are logged at debug level and skipped.
    """
    if fcntl is None:
        return
    try:
        candidates = sorted(output_dir.glob(f"{TEMPORARY_PREFIX}*{TEMPORARY_SUFFIX}"))
    except OSError:
        return

    now = time.time()
    for path in candidates:
        try:
            if now - path.stat().st_mtime < STALE_AFTER_SECONDS:
                continue
            handle = os.open(path, os.O_RDONLY)
            try:
                if not _lock(handle, blocking=False):
                    continue
                path.unlink()
            finally:
                os.close(handle)
        except OSError as error:
            log.debug("cannot remove stale temporary zip %s: %s", path, error)
            continue
        log.info("removed stale temporary zip %s left by an interrupted build", path)


def _lock(handle: int, blocking: bool) -> bool:
    """Take an exclusive flock on ``handle``; return False if another process holds it."""
    if fcntl is None:
        return True
    flags = fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB
    try:
        fcntl.flock(handle, flags)
    except BlockingIOError:
        return False
    return True


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_zip(path: Path) -> ArchiveInfo:
    """Hash an existing zip and sum its entries' uncompressed sizes."""
    try:
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except (OSError, zipfile.BadZipFile) as error:
        raise LayerBuildError(f"cannot read zip {path}: {error}") from None
    digest = file_sha256(path)
    return ArchiveInfo(
        path=path,
        sha256=digest,
        base64sha256=base64.b64encode(bytes.fromhex(digest)).decode("ascii"),
        size_bytes=path.stat().st_size,
        unzipped_bytes=unzipped,
    )


def check_lambda_limits(size_bytes: int, unzipped_bytes: int) -> None:
    """Reject a zip that Lambda would refuse, before Terraform tries to upload it."""
    if unzipped_bytes > MAX_UNZIPPED_BYTES:
        raise LayerBuildError(
            f"unzipped size {unzipped_bytes} bytes exceeds Lambda's limit of"
            f" {MAX_UNZIPPED_BYTES} bytes for a function and its layers: remove packages"
            " from the requirements or split them into several layers"
        )
    if size_bytes > MAX_DIRECT_UPLOAD_BYTES:
        raise LayerBuildError(
            f"zip size {size_bytes} bytes exceeds the {MAX_DIRECT_UPLOAD_BYTES}-byte limit for a"
            " direct upload: upload the zip to S3 (aws_s3_object) and publish it with s3_bucket"
            " and s3_key on aws_lambda_layer_version instead of filename"
        )
