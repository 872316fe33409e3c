"""Benchmark the first slow command in a fresh process against the first `/ping`.

Each run starts a fresh interpreter that imports `lambda_function`, then calls
`lambda_handler` with a signed `/ping` (the baseline) and then with a signed
`/wait seconds:1`, for which the handler invokes the function with
`InvocationType="Event"` and returns type 5. The two calls are timed separately;
the second includes importing botocore, building the Lambda client and the
Invoke round trip. The Lambda API is a moto server that this script starts on
127.0.0.1: moto accepts the Event invocation but cannot run the function
without Docker, which is all this measurement needs.

Two client factories are compared, interleaved run by run: the shipped
`deferral.make_lambda_client` and `boto3.client("lambda")` with the same
configuration.

Run with `make bench` or `.venv/bin/python bench/bench_deferral.py --help`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from nacl.signing import SigningKey

REPO = Path(__file__).resolve().parent.parent
LAMBDA_DIR = REPO / "lambda"
HOST = "127.0.0.1"
REGION = "us-east-1"
FUNCTION_NAME = "discord-endpoint-bench"
SERVER_START_TIMEOUT_SECONDS = 30.0
CHILD_TIMEOUT_SECONDS = 60.0

PING_BODY = {
    "type": 2,
    "id": "1",
    "application_id": "2",
    "token": "bench-token",
    "version": 1,
    "data": {"id": "4", "name": "ping", "type": 1},
    "member": {"user": {"id": "5"}},
}
WAIT_BODY = {
    **PING_BODY,
    "data": {
        "id": "6",
        "name": "wait",
        "type": 1,
        "options": [{"name": "seconds", "type": 4, "value": 1}],
    },
}

# Code run in each fresh interpreter. It reads the variant and the two events
# from stdin and prints one JSON line of timings and response types.
CHILD = """
import json, sys, time
started = time.perf_counter()
request = json.loads(sys.stdin.read())
if request["variant"] == "boto3.client":
    from discord_endpoint import deferral

    def boto3_client():
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=deferral.INVOKE_CONNECT_TIMEOUT_SECONDS,
            read_timeout=deferral.INVOKE_READ_TIMEOUT_SECONDS,
            retries={"total_max_attempts": deferral.INVOKE_TOTAL_MAX_ATTEMPTS, "mode": "standard"},
        )
        return boto3.client("lambda", config=config)

    deferral.make_lambda_client = boto3_client

import lambda_function
imported = time.perf_counter()
ping = lambda_function.lambda_handler(request["ping"], None)
pinged = time.perf_counter()
slow = lambda_function.lambda_handler(request["slow"], None)
deferred = time.perf_counter()
print(json.dumps({
    "import_ms": (imported - started) * 1000,
    "ping_ms": (pinged - imported) * 1000,
    "slow_ms": (deferred - pinged) * 1000,
    "ping_type": json.loads(ping["body"])["type"],
    "slow_type": json.loads(slow["body"])["type"],
    "loaded": sorted(name for name in ("boto3", "botocore") if name in sys.modules),
}))
"""

VARIANTS = ("shipped", "boto3.client")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[str]:
    """Run a moto server on a free port of 127.0.0.1 and yield its URL."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/config", timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"moto server on {url} did not start") from None
                time.sleep(0.2)

        # Without Docker, moto accepts invocations without running the code.
        no_docker = json.dumps({"lambda": {"use_docker": False}}).encode()
        urllib.request.urlopen(
            urllib.request.Request(f"{url}/moto-api/config", data=no_docker, method="POST"),
            timeout=5,
        ).close()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def create_function(endpoint_url: str) -> None:
    options: dict[str, Any] = {
        "region_name": REGION,
        "endpoint_url": endpoint_url,
        "aws_access_key_id": "bench",
        "aws_secret_access_key": "bench",
    }
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = boto3.client("iam", **options).create_role(
        RoleName=FUNCTION_NAME, AssumeRolePolicyDocument=json.dumps(policy)
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("lambda_function.py", "def lambda_handler(event, context):\n    pass\n")
    boto3.client("lambda", **options).create_function(
        FunctionName=FUNCTION_NAME,
        Runtime="python3.11",
        Role=role["Role"]["Arn"],
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": archive.getvalue()},
    )


def signed_event(key: SigningKey, payload: dict[str, Any]) -> dict[str, Any]:
    """Return a Function URL event for `payload`, signed as Discord signs requests."""
    body = json.dumps(payload)
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode() + body.encode()).signature.hex()
    return {
        "version": "2.0",
        "rawPath": "/",
        "headers": {
            "content-type": "application/json",
            "x-signature-ed25519": signature,
            "x-signature-timestamp": timestamp,
        },
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "body": body,
        "isBase64Encoded": False,
    }


def run_fresh(variant: str, key: SigningKey, endpoint_url: str) -> dict[str, Any]:
    """Time the first /ping and the first /wait in a fresh interpreter."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(LAMBDA_DIR),
        "DISCORD_PUBLIC_KEY": key.verify_key.encode().hex(),
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL": endpoint_url,
    }
    request = {
        "variant": variant,
        "ping": signed_event(key, PING_BODY),
        "slow": signed_event(key, WAIT_BODY),
    }
    result = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=environment,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{variant} run failed:\n{result.stderr}")
    timings = json.loads(result.stdout.strip().splitlines()[-1])
    if timings["ping_type"] != 4 or timings["slow_type"] != 5:
        raise SystemExit(
            f"{variant} run returned type {timings['ping_type']} for /ping and type "
            f"{timings['slow_type']} for /wait, expected 4 and 5; its log:\n{result.stderr}"
        )
    return timings


def summarise(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"{name:<26} median {statistics.median(values):8.1f} ms   p90 {p90:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=int, default=15, help="fresh interpreters per variant (default: 15)"
    )
    options = parser.parse_args()
    if options.runs < 1:
        parser.error(f"--runs must be 1 or more, got {options.runs}")

    key = SigningKey.generate()
    load_before = os.getloadavg()
    with moto_server() as endpoint_url:
        create_function(endpoint_url)
        results: dict[str, list[dict[str, Any]]] = {variant: [] for variant in VARIANTS}
        for _ in range(options.runs):
            for variant in VARIANTS:
                results[variant].append(run_fresh(variant, key, endpoint_url))
    load_after = os.getloadavg()

    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"load average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    print(f"runs: {options.runs} fresh interpreters per variant, interleaved")
    for variant in VARIANTS:
        runs = results[variant]
        ping = [run["ping_ms"] for run in runs]
        slow = [run["slow_ms"] for run in runs]
        ratios = [run["slow_ms"] / run["ping_ms"] for run in runs]
        print(f"\n{variant} (loads {', '.join(runs[0]['loaded'])} for the first Invoke)")
        print(summarise("import lambda_function", [run["import_ms"] for run in runs]))
        print(summarise("first /ping (baseline)", ping))
        print(summarise("first /wait to type 5", slow))
        print(f"{'ratio /wait : /ping':<26} median {statistics.median(ratios):8.1f}x")

    shipped = statistics.median(run["slow_ms"] for run in results["shipped"])
    previous = statistics.median(run["slow_ms"] for run in results["boto3.client"])
    print(f"\nshipped : boto3.client first /wait, medians: {shipped / previous:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
