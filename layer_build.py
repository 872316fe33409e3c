"""Build the Lambda dependency layer (or the function zip) reproducibly, and audit it.

Terraform runs this file as an ``external`` data source program: with no
arguments it reads one JSON query object from stdin and writes one JSON result
object to stdout, all values strings. The same builds are available as a CLI,
plus ``--check`` to audit a layer zip built elsewhere. See ``--help``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from layer_builder.errors import BuildInterrupted, LayerBuildError, missing_dependency
from layer_builder.pip_install import INDEX_URL_VARIABLE
from layer_builder.policy import ARCHITECTURES, RUNTIMES
from layer_builder.protocol import (
    DEFAULT_OUTPUT_DIR,
    FunctionQuery,
    LayerQuery,
    read_query,
    write_result,
)
from layer_builder.redact import RedactingFormatter, redact_url

log = logging.getLogger("layer_build")

EXIT_FAILURE = 1
# A shell reports death by signal N as 128 + N; an interrupted build exits the same way.
EXIT_SIGNAL_BASE = 128


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="layer_build.py",
        description=(
            "Build a byte-reproducible AWS Lambda layer zip for a Lambda runtime and"
            " architecture, audit every native library against the runtime's glibc and"
            " libstdc++, and print the result as one JSON object. Without arguments, read"
            " the query from stdin as Terraform's external data source does."
        ),
        epilog=(
            f"Runtimes: {', '.join(RUNTIMES)}. Architectures: {', '.join(ARCHITECTURES)}."
            f" Environment: {INDEX_URL_VARIABLE} replaces pip's index URL; SOURCE_DATE_EPOCH"
            " sets the zip timestamp (default 1980-01-01)."
        ),
    )
    parser.add_argument(
        "--requirements",
        metavar="FILE",
        help="pinned requirements file for the layer, relative to the working directory",
    )
    parser.add_argument(
        "--runtime", choices=list(RUNTIMES), help="Lambda runtime the layer targets"
    )
    parser.add_argument(
        "--architecture",
        choices=list(ARCHITECTURES),
        help="Lambda architecture the layer targets",
    )
    parser.add_argument(
        "--output-dir",
        metavar="DIR",
        default=DEFAULT_OUTPUT_DIR,
        help="directory for the zips and the build cache (default: %(default)s)",
    )
    parser.add_argument(
        "--function-source",
        metavar="DIR",
        help="zip this function source directory instead of building a layer",
    )
    parser.add_argument(
        "--check",
        metavar="ZIP",
        help="audit an existing layer zip for --runtime and --architecture; exit 1 if rejected",
    )
    parser.add_argument(
        "--index-url",
        metavar="URL",
        default=os.environ.get(INDEX_URL_VARIABLE) or None,
        help=f"pip index URL (default: ${INDEX_URL_VARIABLE}, else pip's configuration)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one build or check; return the process exit status."""
    arguments = sys.argv[1:] if argv is None else argv
    options = build_parser().parse_args(arguments)
    configure_logging(options.verbose)
    # Terraform stops a cancelled plan with SIGINT, then SIGTERM.
    signal.signal(signal.SIGTERM, raise_interrupted)

    try:
        if options.check:
            return run_check(options)
        query = read_query(sys.stdin) if not arguments else query_from_options(options)
        result = run_query(query, options.index_url)
    except LayerBuildError as error:
        sys.stderr.write(f"layer_build: error: {redact_url(str(error))}\n")
        return EXIT_FAILURE
    except (BuildInterrupted, KeyboardInterrupt) as error:
        number = error.signal_number if isinstance(error, BuildInterrupted) else signal.SIGINT
        name = signal.Signals(number).name
        sys.stderr.write(
            f"layer_build: error: interrupted by {name}: the partial build was removed,"
            " so run it again\n"
        )
        return EXIT_SIGNAL_BASE + number

    write_result(result, sys.stdout)
    return 0


def configure_logging(verbose: bool) -> None:
    """Log to stderr, with the credentials of any URL masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("layer_build: %(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])


def raise_interrupted(signal_number: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into an exception: ``finally`` blocks then remove temporary files."""
    raise BuildInterrupted(signal_number)


def query_from_options(options: argparse.Namespace) -> LayerQuery | FunctionQuery:
    """Build the same query object that Terraform would send on stdin."""
    if options.function_source:
        mixed = [
            flag
            for flag, value in (
                ("--requirements", options.requirements),
                ("--runtime", options.runtime),
                ("--architecture", options.architecture),
            )
            if value
        ]
        if mixed:
            raise LayerBuildError(
                f"--function-source cannot be combined with {', '.join(mixed)}: build the"
                " function zip and the layer in separate runs"
            )
        return FunctionQuery(options.function_source, options.output_dir)

    missing = [
        flag
        for flag, value in (
            ("--requirements", options.requirements),
            ("--runtime", options.runtime),
            ("--architecture", options.architecture),
        )
        if not value
    ]
    if missing:
        raise LayerBuildError(
            f"missing {', '.join(missing)}: a layer build needs --requirements, --runtime"
            " and --architecture (or --function-source DIR for the function zip)"
        )
    return LayerQuery(
        options.requirements, options.runtime, options.architecture, options.output_dir
    )


def run_query(query: LayerQuery | FunctionQuery, index_url: str | None) -> dict[str, str]:
    # Imported here so that a malformed query fails before pyelftools loads.
    from layer_builder.build import build_function, build_layer

    workdir = Path.cwd()
    if isinstance(query, FunctionQuery):
        return build_function(query, workdir)
    return build_layer(query, workdir, index_url)


def run_check(options: argparse.Namespace) -> int:
    """Audit an existing zip and print a report; exit 1 when the runtime cannot load it."""
    from layer_builder.policy import get_architecture, get_runtime

    try:
        from layer_builder.audit import audit_zip
    except ImportError as error:
        raise missing_dependency(error) from None

    if not options.runtime or not options.architecture:
        raise LayerBuildError(
            "--check needs --runtime and --architecture: the audit compares the zip against"
            " that runtime's glibc and that CPU"
        )
    runtime = get_runtime(options.runtime)
    architecture = get_architecture(options.architecture)
    path = Path(options.check)
    if not path.is_file():
        raise LayerBuildError(f"--check {options.check!r}: file not found")

    report = audit_zip(path, runtime, architecture)
    summary = {
        "zip": str(path),
        "runtime": runtime.name,
        "architecture": architecture.name,
        "packages": ",".join(report.packages),
        "glibc_required": report.glibc_required_text,
        "platform_tags": ",".join(report.platform_tags),
        "problems": [str(finding) for finding in report.findings],
    }
    print(json.dumps(summary, indent=2))
    if report.findings:
        sys.stderr.write(
            f"layer_build: error: {path} is rejected for {runtime.name} {architecture.name}:"
            f" {len(report.findings)} problem(s): {report.findings[0]}. Rebuild it with"
            " layer_build.py, which picks wheels for the runtime's platform.\n"
        )
        return EXIT_FAILURE
    return 0


if __name__ == "__main__":
    sys.exit(main())
