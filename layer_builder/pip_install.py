"""Install the requirements' wheels for the Lambda platform, not the host's.

pip runs with ``--platform`` for every tag the runtime's glibc allows,
``--only-binary=:all:`` so that nothing is compiled on the host, and
``--no-compile`` so that no host-specific bytecode lands in the tree. The
host-dependent parts that ``pip install --target`` still writes are removed
afterwards.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from layer_builder.errors import LayerBuildError
from layer_builder.policy import Architecture, Runtime, platform_tags
from layer_builder.redact import redact_url

log = logging.getLogger(__name__)

# Environment variable that replaces pip's index URL, for a mirror or a test.
INDEX_URL_VARIABLE = "LAYER_BUILD_INDEX_URL"

# Files that pip writes with host-dependent content: direct_url.json records
# the absolute path or URL a package came from.
HOST_DEPENDENT_METADATA = ("direct_url.json",)


def pip_version() -> str:
    """Return the version of the pip that builds run, for the cache key.

    ``pip.__version__`` is read instead of ``importlib.metadata``, which scans
    every installed distribution and would slow down each cache hit.
    """
    try:
        import pip
    except ImportError:
        raise LayerBuildError(
            f"pip is not installed for {sys.executable}: run it with an interpreter that has pip"
        ) from None
    return pip.__version__


def install(
    requirements: Path,
    target: Path,
    runtime: Runtime,
    architecture: Architecture,
    index_url: str | None,
    log_file: Path,
) -> None:
    """Install the wheels listed in ``requirements`` into ``target`` for the Lambda platform.

    pip's debug log goes to ``log_file``. With retries off, an unreachable index
    shows up only there ("Could not fetch URL ..."), while the console prints
    only "No matching distribution".
    """
    tags = platform_tags(runtime, architecture)
    command = [sys.executable, "-m", "pip", "install"]
    for tag in tags:
        command += ["--platform", tag]
    command += [
        "--implementation",
        "cp",
        "--python-version",
        runtime.python_version,
        "--only-binary=:all:",
        "--no-compile",
        "--no-input",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "--log",
        str(log_file),
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]
    if index_url:
        command += ["--index-url", index_url]

    log.info(
        "pip install for %s on %s: %s",
        runtime.name,
        architecture.name,
        redact_url(" ".join(command)),
    )
    output = _run_streaming(command)

    if output.returncode != 0:
        # Loaded only on failure: packaging's import would slow down every cache hit.
        from layer_builder.pip_failure import classify_failure

        try:
            debug_log = log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            debug_log = ""
        raise classify_failure(output.text + debug_log, runtime, architecture, tags)

    remove_host_dependent_files(target)


class _PipOutput:
    def __init__(self, returncode: int, text: str) -> None:
        self.returncode = returncode
        self.text = text


def _run_streaming(command: list[str]) -> _PipOutput:
    """Run pip with its output copied to our stderr, URL credentials masked, and keep the text.

    pip masks an index password itself but prints the user name, which some
    indexes use as the token. An exception here (SIGTERM turned into one by
    the entry point, Ctrl-C) stops pip before it propagates.
    """
    environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    lines: list[str] = []
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        env=environment,
    ) as process:
        assert process.stdout is not None
        try:
            for line in process.stdout:
                lines.append(line)
                sys.stderr.write(redact_url(line))
        except BaseException:
            process.terminate()
            raise
    return _PipOutput(process.returncode, "".join(lines))


def remove_host_dependent_files(target: Path) -> None:
    """Remove what ``pip install --target`` writes for the host rather than the layer.

    ``bin/`` contains console scripts whose shebang is the host interpreter's path,
    and each wheel's RECORD lists them as ``../../bin/NAME``. Lambda never runs
    them, so both go. ``direct_url.json`` records where a package was installed
    from, which can be an absolute path.
    """
    scripts = target / "bin"
    if scripts.is_dir():
        shutil.rmtree(scripts)

    for pycache in sorted(target.rglob("__pycache__")):
        shutil.rmtree(pycache)

    for dist_info in sorted(target.glob("*.dist-info")):
        removed = []
        for name in HOST_DEPENDENT_METADATA:
            path = dist_info / name
            if path.exists():
                path.unlink()
                removed.append(f"{dist_info.name}/{name}")

        record = dist_info / "RECORD"
        if record.is_file():
            _rewrite_record(record, removed)


def _rewrite_record(record: Path, removed: list[str]) -> None:
    """Drop RECORD rows for files outside the target and for files removed here."""
    rows = list(csv.reader(io.StringIO(record.read_text(encoding="utf-8"))))
    kept = [row for row in rows if row and not row[0].startswith("../") and row[0] not in removed]
    if len(kept) == len(rows):
        return

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(kept)
    record.write_text(buffer.getvalue(), encoding="utf-8")
