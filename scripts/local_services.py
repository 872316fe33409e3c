"""Start the local runner in the background, or stop the local services (`make serve`, `make stop`).

    python scripts/local_services.py start --env local [-- RUNNER OPTIONS]
    python scripts/local_services.py stop
    python scripts/local_services.py stop-runner --env local

`start` records the runner's process id in .local/run/runner.pid and prints its
URL and log file. `stop` ends the runner and the local AWS API (moto) by the
process ids recorded in .local/run/. `stop-runner` (run by `make destroy`)
ends the runner only if it serves the given environment, whose function is gone.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import dev_keys
from local_lambda import background

LOCAL_DIR = Path(__file__).resolve().parent.parent / ".local"
RUN_DIR = LOCAL_DIR / "run"
LOG_DIR = LOCAL_DIR / "log"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start the runner in the background")
    start.add_argument("--env", default="local", help="environment (default: %(default)s)")
    start.add_argument(
        "runner_args", nargs=argparse.REMAINDER, help="options for local_runner.py, after --"
    )
    commands.add_parser("stop", help="stop the runner and the local AWS API")
    stop_runner = commands.add_parser("stop-runner", help="stop the runner if it serves --env")
    stop_runner.add_argument("--env", required=True, help="environment that was destroyed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    try:
        if args.command == "start":
            runner_args = [arg for arg in args.runner_args if arg != "--"]
            started = background.start_runner(args.env, runner_args, RUN_DIR, LOG_DIR)
            print(f"Runner for ENV={args.env} serving at {started.url} (pid {started.pid})")
            print(f"Log: {started.log_path}")
            # Production has no test key, so its check covers the invalid signature only.
            has_key = args.env not in dev_keys.PRODUCTION_ENVIRONMENTS
            key_option = f" --env {args.env}" if has_key else ""
            print(f"Check it: .venv/bin/python scripts/smoke.py {started.url}{key_option}")
            return 0

        if args.command == "stop-runner":
            pid = background.stop_runner_for(args.env, RUN_DIR)
            print(f"Stopped runner (pid {pid})" if pid else f"No runner serving ENV={args.env}")
            return 0

        for service in background.SERVICES:
            pid = background.stop_service(service, RUN_DIR)
            print(f"Stopped {service.name} (pid {pid})" if pid else f"No {service.name} running")
    except (background.BackgroundError, OSError) as error:
        print(f"local_services: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
