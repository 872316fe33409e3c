"""Benchmark layer_build.py: build wall time, zip sizes, and import time from the layer.

Build: ``python layer_build.py`` with the query on stdin, as Terraform runs
it. Cold builds run in fresh module directories with an empty build cache,
while pip's own download cache is left as it is. Cached calls run again in
the directory of the last cold build.

Sizes: the zip and the sum of its entries' uncompressed sizes.

Import: ``import nacl.signing`` and ``import requests`` timed with
``time.perf_counter`` inside fresh ``python -I -S -B`` interpreters whose
sys.path holds only the standard library and the extracted layer. The layer is
measured as built (with .pyc when this interpreter matches the runtime) and
with every ``__pycache__`` removed; ``-B`` keeps the second case from writing
bytecode, as Lambda's read-only /opt does. Ratios are against the no-.pyc
baseline of the same run.

Run with ``make bench`` or ``.venv/bin/python bench/bench_layer.py --help``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
LAYER_BUILD = REPOSITORY / "layer_build.py"
REQUIREMENTS = REPOSITORY / "lambda-requirements.txt"
RUNTIME = "python3.11"

TARGET_CACHED_SECONDS = 0.3
TARGET_COLD_SECONDS = 15.0
MODULES = ("nacl.signing", "requests")

IMPORT_SCRIPT = """
import sys, time
sys.path.insert(0, sys.argv[1])
start = time.perf_counter()
__import__(sys.argv[2])
print(time.perf_counter() - start)
"""


def run_build(workdir: Path, architecture: str) -> tuple[float, dict[str, str]]:
    query = json.dumps(
        {"requirements": "requirements.txt", "runtime": RUNTIME, "architecture": architecture}
    )
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(LAYER_BUILD)],
        input=query,
        capture_output=True,
        text=True,
        cwd=workdir,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"layer_build.py failed:\n{completed.stderr}")
    return elapsed, json.loads(completed.stdout)


def time_import(layer: Path, module: str) -> float:
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", IMPORT_SCRIPT, str(layer), module],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(completed.stdout)


def remove_bytecode(root: Path) -> None:
    for cache in sorted(root.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=3, help="cold builds (default: 3)")
    parser.add_argument("--cached-runs", type=int, default=20, help="cached calls (default: 20)")
    parser.add_argument(
        "--import-runs", type=int, default=15, help="imports per module and case (default: 15)"
    )
    options = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="bench-layer-"))
    try:
        cold, cached, results = [], [], {}
        for architecture in ("x86_64", "arm64"):
            for run in range(options.cold_runs):
                workdir = scratch / f"{architecture}-{run}"
                workdir.mkdir()
                shutil.copyfile(REQUIREMENTS, workdir / "requirements.txt")
                elapsed, result = run_build(workdir, architecture)
                assert result["cache_hit"] == "false"
                if architecture == "x86_64":
                    cold.append(elapsed)
                results[architecture] = (workdir, result)

        workdir, result = results["x86_64"]
        for _ in range(options.cached_runs):
            elapsed, hit = run_build(workdir, "x86_64")
            assert hit["cache_hit"] == "true"
            cached.append(elapsed)

        with_pyc = scratch / "with-pyc"
        with zipfile.ZipFile(workdir / result["filename"]) as archive:
            archive.extractall(with_pyc)
        without_pyc = scratch / "without-pyc"
        shutil.copytree(with_pyc, without_pyc)
        remove_bytecode(without_pyc)
        has_pyc = any(with_pyc.rglob("*.pyc"))

        imports = {}
        for module in MODULES:
            samples = {"pyc": [], "source": []}
            # Interleave the two cases so that drift in machine load hits both alike.
            for _ in range(options.import_runs):
                samples["pyc"].append(time_import(with_pyc / "python", module))
                samples["source"].append(time_import(without_pyc / "python", module))
            imports[module] = {case: statistics.median(values) for case, values in samples.items()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(
        f"machine: {platform.machine()}, {platform.platform()}, Python {platform.python_version()}"
    )
    print(f"runtime {RUNTIME}; layer .pyc files: {'yes' if has_pyc else 'no (host differs)'}")
    print()
    print("| measure | value | target |")
    print("| --- | --- | --- |")
    print(
        f"| cold build, x86_64 (median of {len(cold)}) | {statistics.median(cold):.2f} s"
        f" | < {TARGET_COLD_SECONDS:.0f} s |"
    )
    print(
        f"| cached call (median / max of {len(cached)}) | {statistics.median(cached):.3f} s /"
        f" {max(cached):.3f} s | < {TARGET_CACHED_SECONDS} s |"
    )
    for architecture, (_, built) in results.items():
        print(
            f"| zip size, {architecture} | {int(built['size_bytes']):,} bytes"
            f" ({int(built['unzipped_bytes']):,} unzipped) | 52,428,800 (262,144,000) |"
        )
    print()
    print(f"| import (median of {options.import_runs}) | no .pyc (baseline) | with .pyc | ratio |")
    print("| --- | --- | --- | --- |")
    for module, times in imports.items():
        ratio = times["pyc"] / times["source"]
        print(
            f"| `import {module}` | {times['source'] * 1000:.1f} ms |"
            f" {times['pyc'] * 1000:.1f} ms | {ratio:.2f} |"
        )

    failed = (
        statistics.median(cached) >= TARGET_CACHED_SECONDS
        or statistics.median(cold) >= TARGET_COLD_SECONDS
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
