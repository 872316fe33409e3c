"""Deterministic ``.pyc`` files for the layer, compiled as they will run under /opt.

Lambda mounts layers read-only under ``/opt``, so CPython cannot cache
bytecode there and compiles every imported module again on each cold start.
Shipping ``.pyc`` files avoids that, but only when they are bit-identical on
every build:

- unchecked-hash invalidation (PEP 552) stores no source mtime, and the
  runtime never rereads the source to validate them;
- the recorded source path is the one under ``/opt/python``, not the build
  directory;
- ``PYTHONHASHSEED=0`` fixes the order of constant frozensets, which
  otherwise follows the per-process string hash seed.

Bytecode is tied to one CPython minor version, so it is compiled only when the
host interpreter's major.minor equals the target runtime's.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from layer_builder.errors import LayerBuildError
from layer_builder.policy import Runtime

log = logging.getLogger(__name__)

LAYER_MOUNT = "/opt/python"

_COMPILE_SCRIPT = """
import compileall, py_compile, sys
compileall.compile_dir(
    sys.argv[1],
    ddir=sys.argv[2],
    quiet=1,
    optimize=0,
    workers=1,
    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
)
"""


def host_matches(runtime: Runtime) -> bool:
    return sys.version_info[:2] == runtime.python


def bytecode_tag(runtime: Runtime) -> str:
    """Describe the bytecode a build ships, for the cache key: a version or ``none``."""
    return runtime.python_version if host_matches(runtime) else "none"


def compile_tree(root: Path, runtime: Runtime) -> bool:
    """Compile every ``.py`` below ``root`` if the host can; return whether it did.

    Files that do not compile (for example Python 2 leftovers in a wheel) get no
    ``.pyc`` and are imported from source, as CPython would do anyway.
    """
    if not host_matches(runtime):
        log.info(
            "no .pyc files: host Python %d.%d differs from %s",
            sys.version_info[0],
            sys.version_info[1],
            runtime.name,
        )
        return False

    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPYCACHEPREFIX"}
    environment["PYTHONHASHSEED"] = "0"
    completed = subprocess.run(
        [sys.executable, "-c", _COMPILE_SCRIPT, str(root), LAYER_MOUNT],
        stdout=sys.stderr,
        stderr=sys.stderr,
        stdin=subprocess.DEVNULL,
        env=environment,
        check=False,
    )
    if completed.returncode != 0:
        raise LayerBuildError(
            f"compiling .pyc files with {sys.executable} failed (exit {completed.returncode}):"
            " see the messages above"
        )
    return True
