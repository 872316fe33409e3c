"""Serve the deployed Lambda function locally, behind a Function URL look-alike.

The runner reads the function's configuration from the Lambda API (the local
AWS API for ENV=local), picks the zips in build/ whose hashes match what was
deployed, lays them out as /var/task and /opt, and runs the handler with the
runtime's interpreter in isolated mode. Requests to http://127.0.0.1:PORT/
become Function URL events (payload format 2.0).

Typical use, after `make deploy` (which runs it through `make serve`):

    python scripts/local_runner.py --env local    # serves the only function named *-local
    python scripts/local_runner.py --env dev --function-name discord-bot-dev   # AWS credentials

Without a Lambda API, give a saved GetFunctionConfiguration response and the zips:

    python scripts/local_runner.py --function-config config.json \\
        --function-zip build/function.zip --layer-zip build/layer.zip
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from local_lambda import deployment, process
from local_lambda.server import FunctionUrlServer

log = logging.getLogger("local_runner")

REPO_ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = REPO_ROOT / ".local" / "run"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

# Terraform writes the zips to build/ next to the module. The local job's
# scratch copy links its build/ to this one, so one directory serves every ENV.
DEFAULT_BUILD_DIRS = [REPO_ROOT / "build"]


class UsageError(Exception):
    """Options that do not identify one deployed function."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Serve the deployed Lambda function on 127.0.0.1 as a Function URL.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--env", default="local", help="environment (default: %(default)s)")

    source = parser.add_argument_group("deployed configuration")
    source.add_argument(
        "--function-name",
        help="name of the deployed function (default: the only function named *-ENV)",
    )
    source.add_argument(
        "--terraform-outputs",
        type=Path,
        help="`terraform output -json` file; its function_name output names the function",
    )
    source.add_argument(
        "--aws-endpoint-url",
        help="Lambda API endpoint (default for ENV=local: the URL in .local/run/moto.url; "
        "otherwise AWS itself, with your credentials)",
    )
    source.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        help=f"AWS region (default: $AWS_REGION, else {deployment.DEFAULT_REGION})",
    )
    source.add_argument(
        "--function-config",
        type=Path,
        help="saved GetFunctionConfiguration JSON, used instead of a Lambda API",
    )

    artifacts = parser.add_argument_group("artifacts")
    artifacts.add_argument(
        "--build-dir",
        type=Path,
        action="append",
        help="directory to search for the deployed zips by hash; repeatable "
        f"(default: {DEFAULT_BUILD_DIRS[0]})",
    )
    artifacts.add_argument("--function-zip", type=Path, help="function zip (checked by hash)")
    artifacts.add_argument(
        "--layer-zip",
        type=Path,
        action="append",
        default=[],
        help="layer zip, in the function's layer order; repeat for several layers",
    )

    serving = parser.add_argument_group("serving")
    serving.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    serving.add_argument(
        "--port", type=int, default=0, help="port; 0 picks a free one (default: %(default)s)"
    )
    serving.add_argument("--url-file", type=Path, help="write the URL to this file once listening")
    serving.add_argument(
        "--python", help="interpreter to run the function (default: the runtime's, python3.x)"
    )
    return parser.parse_args(argv)


def load_deployment(args: argparse.Namespace) -> deployment.Deployment:
    """Resolve the deployed function from the options."""
    region = args.region or deployment.DEFAULT_REGION

    if args.function_config is not None:
        if args.function_zip is None:
            raise UsageError("--function-config needs --function-zip (and each --layer-zip)")
        return deployment.from_file(args.function_config, args.function_zip, args.layer_zip, region)

    endpoint = args.aws_endpoint_url or _local_endpoint(args.env)
    client = _lambda_client(endpoint, region)
    function_name = args.function_name or _function_name_from_outputs(args.terraform_outputs)
    build_dirs = args.build_dir or DEFAULT_BUILD_DIRS
    try:
        if not function_name:
            function_name = deployment.find_function_name(client, args.env)
        return deployment.from_aws(
            client, function_name, build_dirs, region, args.function_zip, args.layer_zip
        )
    except (BotoCoreError, ClientError) as error:
        where = endpoint or f"AWS region {region}"
        raise deployment.DeploymentError(
            f"cannot read function {function_name or '(any)'!r} from {where}: {error}. "
            "Check that the deployment for this environment exists (make deploy)"
        ) from error


def _function_name_from_outputs(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        outputs = json.loads(path.read_text(encoding="utf-8"))
        return str(outputs["function_name"]["value"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UsageError(
            f"cannot read output function_name from {path}: {error}; "
            "create the file with `terraform output -json`"
        ) from error


def _local_endpoint(env: str) -> str | None:
    url_file = RUN_DIR / "moto.url"
    if env != "local":
        return None
    if not url_file.is_file():
        raise UsageError(
            f"ENV=local needs the local AWS API, but {url_file} does not exist; "
            "run `make deploy` first or pass --aws-endpoint-url"
        )
    return url_file.read_text(encoding="utf-8").strip()


def _lambda_client(endpoint: str | None, region: str) -> Any:
    options: dict[str, Any] = {"region_name": region}
    if endpoint:
        options["endpoint_url"] = endpoint
        if urlsplit(endpoint).hostname in LOCAL_HOSTS:
            # The local AWS API accepts any credentials; these never reach AWS.
            options["aws_access_key_id"] = "testing"
            options["aws_secret_access_key"] = "testing"  # noqa: S105 - not a secret
    return boto3.client("lambda", **options)


def serve(args: argparse.Namespace, target: deployment.Deployment) -> None:
    """Unpack, start the function and serve until SIGTERM or SIGINT."""
    process.check_architecture(target)
    interpreter = process.resolve_interpreter(target, args.python)

    with tempfile.TemporaryDirectory(prefix="local-runner-") as scratch:
        layout = process.unpack(target, Path(scratch))
        function = process.LocalFunction(target, layout, interpreter)
        try:
            server = FunctionUrlServer((args.host, args.port), function)
        except OSError as error:
            raise process.RuntimeSetupError(
                f"cannot listen on {args.host}:{args.port}: {error}; pass another --port"
            ) from error

        def request_shutdown(signum: int, _frame: object) -> None:
            log.info("received signal %s, stopping", signum)
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, request_shutdown)
        signal.signal(signal.SIGINT, request_shutdown)

        function.start()
        log.info("serving %s (%s) at %s", target.function_name, interpreter, server.url)
        print(server.url, flush=True)
        if args.url_file is not None:
            _write_atomically(args.url_file, server.url + "\n")

        try:
            server.serve_forever()
        finally:
            server.server_close()
            function.stop()
            if args.url_file is not None:
                args.url_file.unlink(missing_ok=True)
            log.info("stopped")


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        target = load_deployment(args)
        serve(args, target)
    except (UsageError, deployment.DeploymentError, process.RuntimeSetupError) as error:
        log.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
