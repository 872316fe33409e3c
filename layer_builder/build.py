"""The two builds that Terraform requests: the dependency layer and the function zip."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from layer_builder import BUILDER_VERSION, bytecode, pip_install
from layer_builder.archive import ArchiveInfo, list_tree, remove_stale_temporaries, write_zip
from layer_builder.cache import BuildCache, cache_key
from layer_builder.errors import LayerBuildError, missing_dependency
from layer_builder.policy import (
    Architecture,
    Runtime,
    get_architecture,
    get_runtime,
    platform_tags,
)
from layer_builder.protocol import FunctionQuery, LayerQuery
from layer_builder.redact import redact_url

if TYPE_CHECKING:
    from layer_builder.audit import AuditReport

log = logging.getLogger(__name__)

CACHE_DIRECTORY = ".cache"


def build_layer(query: LayerQuery, workdir: Path, index_url: str | None) -> dict[str, str]:
    """Build (or reuse) the layer zip for the query and return the protocol result.

    Everything that can be rejected without pip (runtime, architecture,
    requirements, output directory) is checked first, so bad input costs no
    download and leaves nothing behind. A cache hit writes nothing, so it also
    works in a read-only output directory.
    """
    runtime = get_runtime(query.runtime)
    architecture = get_architecture(query.architecture)
    requirements = read_requirements(workdir / query.requirements, query.requirements)
    output_dir = workdir / query.output_dir

    # NOTE: files that the requirements include with -r or -c are not part of
    # the key. Pin everything in the one file that the query names.
    inputs = {
        "requirements_sha256": _sha256_text(requirements),
        "runtime": runtime.name,
        "architecture": architecture.name,
        "pip": pip_install.pip_version(),
        "builder": BUILDER_VERSION,
        "bytecode": bytecode.bytecode_tag(runtime),
        # Credentials do not change what the index serves, and the key must not
        # be derived from a secret.
        "index_url": redact_url(index_url or ""),
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH", ""),
    }
    key = cache_key(inputs)
    cache = BuildCache(output_dir / CACHE_DIRECTORY, output_dir)

    cached = cache.lookup(key)
    if cached is None:
        prepare_output_dir(output_dir, query.output_dir)
        remove_stale_temporaries(output_dir)
        # A concurrent build of the same key may finish while we wait for the lock.
        # The first lookup has already logged why the cache missed.
        with cache.lock(key):
            cached = cache.lookup(key, quiet=True)
            if cached is None:
                log.info("cache miss for %s %s: building", runtime.name, architecture.name)
                result = _build_layer_zip(
                    workdir / query.requirements, runtime, architecture, output_dir, index_url
                )
                cache.store(key, result)
                return _finish(result, workdir, output_dir, cache_hit=False)
    else:
        remove_stale_temporaries(output_dir)

    log.info("cache hit: %s", cached["zip_name"])
    return _finish(cached, workdir, output_dir, cache_hit=True)


def _build_layer_zip(
    requirements: Path,
    runtime: Runtime,
    architecture: Architecture,
    output_dir: Path,
    index_url: str | None,
) -> dict[str, str]:
    """Install, compile, zip and audit in a temporary tree; return the cacheable result."""
    # pyelftools loads only for a build, which keeps cache hits fast.
    try:
        from layer_builder.audit import AuditReport, audit_zip
    except ImportError as error:
        raise missing_dependency(error) from None

    # NOTE: an error or SIGTERM removes this directory, but SIGKILL leaves it in
    # the system's temporary directory for the OS to clean up.
    build_root = Path(tempfile.mkdtemp(prefix="layer-build-"))
    try:
        # The zip's root: pip's log and other scratch files stay outside it.
        layer_root = build_root / "layer"
        target = layer_root / "python"
        pip_install.install(
            requirements.resolve(),
            target,
            runtime,
            architecture,
            index_url,
            log_file=build_root / "pip.log",
        )
        bytecode.compile_tree(target, runtime)

        report = AuditReport()

        def audit(zip_path: Path) -> None:
            nonlocal report
            report = audit_zip(zip_path, runtime, architecture, forbidden=str(build_root).encode())
            raise_for_findings(report, f"{runtime.name} {architecture.name}")

        def zip_name(digest: str) -> str:
            return f"layer-{runtime.name}-{architecture.name}-{digest[:12]}.zip"

        entries = list_tree(layer_root, keep_bytecode=True)
        info = write_zip(entries, output_dir, zip_name, verify=audit)
    finally:
        shutil.rmtree(build_root, ignore_errors=True)

    # A wheel's WHEEL file lists its whole tag set (for example manylinux_2_17
    # and manylinux_2_28); report only the tags that made pip select it.
    allowed = {"any", *platform_tags(runtime, architecture)}
    result = _archive_result(info)
    result.update(
        packages=",".join(report.packages),
        glibc_required=report.glibc_required_text,
        platform_tags=",".join(tag for tag in report.platform_tags if tag in allowed),
    )
    return result


def build_function(query: FunctionQuery, workdir: Path) -> dict[str, str]:
    """Zip the function source directory with its files at the zip's root."""
    source = workdir / query.function_source
    if not source.is_dir():
        raise LayerBuildError(
            f"function_source {query.function_source!r} is not a directory under {workdir}:"
            " set it to the folder that holds lambda_function.py, relative to the module"
        )
    entries = list_tree(source, keep_bytecode=False)
    if not any(path is not None for _, path in entries):
        raise LayerBuildError(
            f"function_source {query.function_source!r} contains no files: add the handler"
        )
    output_dir = prepare_output_dir(workdir / query.output_dir, query.output_dir)
    remove_stale_temporaries(output_dir)

    def zip_name(digest: str) -> str:
        return f"function-{digest[:12]}.zip"

    info = write_zip(entries, output_dir, zip_name)
    result = _archive_result(info)
    result.pop("zip_name")
    result["filename"] = relative_filename(info.path, workdir)
    return result


def read_requirements(path: Path, query_value: str) -> str:
    """Read the requirements file and reject one that names no package."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LayerBuildError(
            f"requirements file {query_value!r} not found (looked in {path.parent}): set"
            " requirements to a path relative to the module directory"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise LayerBuildError(f"cannot read requirements file {query_value!r}: {error}") from None

    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    if not any(lines):
        raise LayerBuildError(
            f"requirements file {query_value!r} is empty: list the layer's packages as pinned"
            " name==version lines"
        )
    return text


def prepare_output_dir(path: Path, query_value: str) -> Path:
    """Create the output directory and prove it is writable before any work starts."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write-test-", dir=path)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        reason = error.strerror or str(error)
        raise LayerBuildError(
            f"output directory {query_value!r} is not writable ({reason}): set output_dir to a"
            " writable directory"
        ) from None
    return path


def raise_for_findings(report: AuditReport, target: str) -> None:
    """Log every finding and raise one line that names the first."""
    if not report.findings:
        return
    for finding in report.findings:
        log.error("%s", finding)
    more = len(report.findings) - 1
    suffix = f" (and {more} more problem(s) listed above)" if more else ""
    raise LayerBuildError(f"layer rejected for {target}: {report.findings[0]}{suffix}")


def relative_filename(path: Path, workdir: Path) -> str:
    """Return ``path`` relative to ``workdir`` when inside it, so Terraform state stays stable."""
    try:
        return path.resolve().relative_to(workdir.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _archive_result(info: ArchiveInfo) -> dict[str, str]:
    return {
        "zip_name": info.path.name,
        "base64sha256": info.base64sha256,
        "sha256": info.sha256,
        "size_bytes": str(info.size_bytes),
        "unzipped_bytes": str(info.unzipped_bytes),
    }


def _finish(
    result: dict[str, str], workdir: Path, output_dir: Path, cache_hit: bool
) -> dict[str, str]:
    finished = {key: value for key, value in result.items() if key != "zip_name"}
    finished["filename"] = relative_filename(output_dir / result["zip_name"], workdir)
    finished["cache_hit"] = "true" if cache_hit else "false"
    return finished


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
