"""Command line of the local main job: Terraform against a local AWS API (moto).

``make init``, ``make plan``, ``make deploy`` and ``make destroy`` with
``ENV=local`` call this module. It keeps everything under ``.local/``:

- ``.local/run/moto.pid``, ``moto.url``, ``moto.log``: the moto server, reused
  while it responds, started on a free port of 127.0.0.1 otherwise;
- ``.local/terraform/terraform.tfrc``: the generated Terraform CLI configuration;
- ``.local/terraform/module/``: the scratch copy of the root module, with its own
  ``.terraform/``, lock file and state. Its ``build/`` links to the repository's
  ``build/``, where the local runner looks for the deployed zips and where the
  layer builder keeps its cache.

The user's ``.terraform/``, lock file and state in the repository are never touched.

Usage::

    python -m tests.harness deploy local --var-file environments/local.tfvars \\
        --var discord_public_key=<64 hex digits>
    python -m tests.harness output local
    python -m tests.harness stop
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tests.harness import moto_server
from tests.harness.driver import TerraformError
from tests.harness.providers import ProviderSetupError
from tests.harness.scratch import ScratchError
from tests.harness.session import Session, open_session

log = logging.getLogger("tests.harness")

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = REPO_ROOT / ".local" / "run"
TERRAFORM_DIR = REPO_ROOT / ".local" / "terraform"
BUILD_DIR = REPO_ROOT / "build"

EXIT_FAILURE = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.harness",
        description="Run the root module against a local AWS API (moto) on 127.0.0.1.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    for name, help_text in (
        ("init", "prepare the scratch copy and run terraform init"),
        ("plan", "plan the workspace"),
        ("deploy", "apply the workspace and print its outputs"),
        ("destroy", "destroy everything in the workspace"),
        ("output", "print the workspace's outputs and the scratch module path as JSON"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("env", help="Terraform workspace, for example local")
        command.add_argument(
            "--var-file",
            help="tfvars file relative to the module (default: environments/ENV.tfvars)",
        )
        if name == "plan":
            command.add_argument(
                "--detailed-exitcode",
                action="store_true",
                help="exit 2 when changes are present, as terraform plan -detailed-exitcode",
            )
        command.add_argument(
            "--var",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="set a variable; repeat for more (later values win over the var file)",
        )

    commands.add_parser("stop", help="stop the recorded moto server")
    return parser


def parse_variables(pairs: list[str]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise ValueError(f"invalid --var {pair!r}: write NAME=VALUE")
        variables[name] = value
    return variables


def run(args: argparse.Namespace) -> int:
    if args.command == "stop":
        stopped = moto_server.stop_recorded(RUN_DIR)
        print("moto server stopped" if stopped else "no moto server was running")
        return 0

    variables = parse_variables(args.var)
    var_file = args.var_file or f"environments/{args.env}.tfvars"
    server = moto_server.ensure_recorded(RUN_DIR)
    session = open_session(TERRAFORM_DIR, server.url, init=True, build_dir=BUILD_DIR)
    session.workspace.select(args.env)

    if args.command == "init":
        print(f"initialised {session.module_dir} against {server.url}")
        return 0
    if args.command == "plan":
        returncode, out, err = session.workspace.plan(var_file, variables)
        sys.stdout.write(out)
        sys.stderr.write(err)
        if returncode == 2 and not args.detailed_exitcode:
            return 0
        return returncode
    if args.command == "deploy":
        sys.stdout.write(session.workspace.apply(var_file, variables))
        _print_outputs(session, server.url)
        print(
            "note: function_url is moto's made-up address and does not resolve; "
            "the local runner's URL follows when make deploy starts it",
            file=sys.stderr,
        )
        return 0
    if args.command == "destroy":
        sys.stdout.write(session.workspace.destroy(var_file, variables))
        return 0

    _print_outputs(session, server.url)
    return 0


def _print_outputs(session: Session, aws_endpoint: str) -> None:
    """Print the outputs with the scratch module path, for the local Function URL runner."""
    outputs = session.workspace.outputs()
    print(
        json.dumps(
            {"module_dir": str(session.module_dir), "aws_endpoint": aws_endpoint, **outputs},
            indent=2,
            sort_keys=True,
        )
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (
        TerraformError,
        moto_server.MotoServerError,
        ProviderSetupError,
        ScratchError,
        ValueError,
    ) as error:
        log.error("%s", error)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
