"""Benchmark the Lambda handler: request latency against a bare verify, and import time.

Latency: p50 and p99 of `lambda_function.lambda_handler` for a signed PING and
a signed `/ping` (Function URL events), next to a bare PyNaCl verify of the
same signed message, measured in the same run with the cases interleaved. The
handler runs twice: with its request log dropped by level, and with the log
line formatted and written to /dev/null at INFO, as a Lambda logging set-up
would. A last case writes one record like a PING's through the handler's own
request-log function and the same logging set-up, to show what the log line
alone costs. `AWS_LAMBDA_FUNCTION_NAME` is set as in Lambda, so commands pass
through the deferrer (which never invokes anything for `/ping`).

Import: `python -I -S -B -X importtime -c "import lambda_function"` in fresh
interpreters whose sys.path contains only the standard library, the function
directory and the layer's `python/` directory. The layer comes from
`layer_build.py` (with .pyc files when this interpreter matches the runtime).
The function code is measured as the function zip ships it (source only) and
precompiled.

Run with `make bench` or `.venv/bin/python bench/bench_handler.py --help`.
"""

from __future__ import annotations

import argparse
import compileall
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

REPO = Path(__file__).resolve().parent.parent
LAMBDA_DIR = REPO / "lambda"
RUNTIME = "python3.11"

TARGET_LATENCY_RATIO = 1.3
TARGET_IMPORT_MS = 50.0

PING_BODY = b'{"type":1,"id":"1","application_id":"2","token":"t","version":1}'
COMMAND_BODY = (
    b'{"type":2,"id":"3","application_id":"2","token":"t","version":1,'
    b'"data":{"id":"4","name":"ping","type":1},"member":{"user":{"id":"5"}}}'
)


def signed_event(key: SigningKey, body: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    """Return a Function URL event for `body`, the signed message and the signature."""
    timestamp = str(int(time.time()))
    message = timestamp.encode() + body
    signature = key.sign(message).signature
    event = {
        "version": "2.0",
        "rawPath": "/",
        "headers": {
            "content-type": "application/json",
            "user-agent": "Discord-Interactions/1.0 (+https://discord.com)",
            "x-signature-ed25519": signature.hex(),
            "x-signature-timestamp": timestamp,
        },
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "body": body.decode(),
        "isBase64Encoded": False,
    }
    return event, message, signature


def sample(call: Callable[[], object], count: int, into: list[int]) -> None:
    for _ in range(count):
        started = time.perf_counter_ns()
        call()
        into.append(time.perf_counter_ns() - started)


def handler_call(module: Any, event: dict[str, Any]) -> Callable[[], object]:
    return lambda: module.lambda_handler(event, None)


def log_request_line(module: Any) -> None:
    """Write a record like a PING's through the handler's own request-log function."""
    fields = {
        "interaction_id": "1",
        "interaction_type": 1,
        "command": None,
        "error": None,
        "outcome": "pong",
        "status": 200,
        "latency_ms": 0.012,
    }
    module.log_request(module.logger, fields)


def percentile(samples: list[int], fraction: float) -> float:
    """Return the `fraction` quantile of `samples` in microseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000


def measure_latency(key: SigningKey, requests: int, rounds: int) -> dict[str, list[int]]:
    """Time each case `requests` times, interleaved in `rounds` blocks to share drift."""
    os.environ["DISCORD_PUBLIC_KEY"] = key.verify_key.encode().hex()
    # Lambda sets the function name, so the handler builds the deferrer that
    # every command passes through. `/ping` is not slow, so nothing is invoked.
    os.environ.setdefault("AWS_LAMBDA_FUNCTION_NAME", "bench-handler")
    sys.path.insert(0, str(LAMBDA_DIR))
    import lambda_function
    from discord_endpoint import endpoint

    ping_event, ping_message, ping_signature = signed_event(key, PING_BODY)
    command_event, _, _ = signed_event(key, COMMAND_BODY)
    verify_key = key.verify_key
    check_accepted(lambda_function, (ping_event, command_event))

    quiet = logging.getLogger("discord_endpoint")
    root = logging.getLogger()
    cases: dict[str, tuple[Callable[[], object], bool]] = {
        "bare verify": (lambda: verify_key.verify(ping_message, ping_signature), False),
        "PING, log dropped": (handler_call(lambda_function, ping_event), False),
        "/ping, log dropped": (handler_call(lambda_function, command_event), False),
        "PING, log at INFO": (handler_call(lambda_function, ping_event), True),
        "/ping, log at INFO": (handler_call(lambda_function, command_event), True),
        "INFO record alone": (lambda: log_request_line(endpoint), True),
    }
    samples: dict[str, list[int]] = {name: [] for name in cases}
    per_round = max(1, requests // rounds)

    with open(os.devnull, "w") as devnull:
        info_handler = logging.StreamHandler(devnull)
        info_handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
        for _ in range(rounds):
            for name, (call, log_info) in cases.items():
                if log_info:
                    quiet.setLevel(logging.NOTSET)
                    root.setLevel(logging.INFO)
                    root.addHandler(info_handler)
                else:
                    quiet.setLevel(logging.WARNING)
                sample(call, per_round // 10, [])  # warm-up, discarded
                sample(call, per_round, samples[name])
                root.removeHandler(info_handler)

    # The events are signed once. A run longer than the timestamp window
    # would have timed the cheap 401 path instead.
    check_accepted(lambda_function, (ping_event, command_event))
    return samples


def check_accepted(module: Any, events: tuple[dict[str, Any], ...]) -> None:
    """Exit unless the handler still returns 200 for each signed benchmark event."""
    for event in events:
        status = module.lambda_handler(event, None)["statusCode"]
        if status != 200:
            raise SystemExit(
                f"handler returned {status} for a signed benchmark event; if the run took "
                "longer than DISCORD_TIMESTAMP_MAX_SKEW_SECONDS, lower --requests"
            )


def build_layer(workdir: Path, layer_zip: Path | None) -> Path:
    """Return the extracted layer's `python/` directory, building the zip if needed."""
    if layer_zip is None:
        result = subprocess.run(
            [
                sys.executable,
                str(REPO / "layer_build.py"),
                "--requirements",
                "lambda-requirements.txt",
                "--runtime",
                RUNTIME,
                "--architecture",
                "x86_64",
                "--output-dir",
                str(workdir / "build"),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"layer_build.py failed (exit {result.returncode}):\n{result.stderr}")
        layer_zip = Path(json.loads(result.stdout)["filename"])

    target = workdir / "layer"
    with zipfile.ZipFile(layer_zip) as archive:
        archive.extractall(target)
    return target / "python"


def time_import(function_dir: Path, layer_dir: Path, public_key: str) -> float:
    """Return the cumulative import time of `lambda_function` in ms, from a fresh interpreter."""
    code = f"import sys; sys.path[:0] = [{str(function_dir)!r}, {str(layer_dir)!r}]; " + (
        "import lambda_function"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-X", "importtime", "-c", code],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DISCORD_PUBLIC_KEY": public_key},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"importing lambda_function failed:\n{result.stderr}")

    # Lines read "import time: self [us] | cumulative | name". The top-level
    # module's cumulative time includes everything it imported and its init.
    for line in result.stderr.splitlines():
        fields = [field.strip() for field in line.split("|")]
        if len(fields) == 3 and fields[2] == "lambda_function":
            return int(fields[1]) / 1000
    raise SystemExit("no importtime line for lambda_function in the interpreter's output")


def measure_imports(workdir: Path, layer_dir: Path, runs: int) -> dict[str, list[float]]:
    public_key = SigningKey.generate().verify_key.encode().hex()
    source_dir = workdir / "function-source"
    compiled_dir = workdir / "function-compiled"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(LAMBDA_DIR, source_dir, ignore=ignore)
    shutil.copytree(LAMBDA_DIR, compiled_dir, ignore=ignore)
    compileall.compile_dir(
        compiled_dir,
        quiet=1,
        invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )

    times: dict[str, list[float]] = {"function source": [], "function precompiled": []}
    for _ in range(runs):
        times["function source"].append(time_import(source_dir, layer_dir, public_key))
        times["function precompiled"].append(time_import(compiled_dir, layer_dir, public_key))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=20000, help="timed calls per case (default: 20000)"
    )
    parser.add_argument(
        "--rounds", type=int, default=10, help="interleaved blocks per case (default: 10)"
    )
    parser.add_argument(
        "--imports", type=int, default=20, help="fresh interpreters per variant (default: 20)"
    )
    parser.add_argument(
        "--layer-zip", type=Path, help="layer zip to use instead of running layer_build.py"
    )
    args = parser.parse_args(argv)

    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load}")
    samples = measure_latency(SigningKey.generate(), args.requests, args.rounds)
    print(f"\nlatency, {len(samples['bare verify'])} calls per case:")
    print(f"  {'case':<20} {'p50 us':>8} {'p99 us':>8} {'p50 / bare':>10}")
    bare_p50 = percentile(samples["bare verify"], 0.5)
    for name, values in samples.items():
        p50 = percentile(values, 0.5)
        print(f"  {name:<20} {p50:>8.1f} {percentile(values, 0.99):>8.1f} {p50 / bare_p50:>10.2f}")
    for name in ("PING, log dropped", "PING, log at INFO"):
        ratio = percentile(samples[name], 0.5) / bare_p50
        verdict = "met" if ratio <= TARGET_LATENCY_RATIO else "missed"
        print(f"  target p50 {name} <= {TARGET_LATENCY_RATIO} x bare verify: {verdict}")

    with tempfile.TemporaryDirectory(prefix="bench-handler-") as tmp:
        workdir = Path(tmp)
        layer_dir = build_layer(workdir, args.layer_zip)
        pyc_count = sum(1 for _ in layer_dir.rglob("*.pyc"))
        print(f"\nimport time of lambda_function, {args.imports} fresh interpreters each:")
        print(f"  layer .pyc files: {pyc_count}")
        imports = measure_imports(workdir, layer_dir, args.imports)

    print(f"  {'variant':<22} {'median ms':>9} {'min ms':>7} {'max ms':>7}")
    for name, values in imports.items():
        median = statistics.median(values)
        print(f"  {name:<22} {median:>9.1f} {min(values):>7.1f} {max(values):>7.1f}")
    median = statistics.median(imports["function source"])
    verdict = "met" if median <= TARGET_IMPORT_MS and pyc_count else "missed"
    print(f"  target median (function source) <= {TARGET_IMPORT_MS:.0f} ms: {verdict}")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\nload average at the end: {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
