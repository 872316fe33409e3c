"""Worker that imports and invokes a Lambda handler inside the target interpreter.

The runner starts this file as ``python -I -S -B worker.py TASK_DIR OPT_DIR HANDLER``
with only the function's environment, so ``sys.path`` contains the standard
library and nothing of the developer's: no site-packages, no PYTHONPATH, not
even this file's directory. The worker then puts the task directory and the
layer's directories in front, in the order the Lambda Python runtime uses
(``/var/task``, ``/opt/python/lib/pythonX.Y/site-packages``, ``/opt/python``).

Protocol, one JSON object per line: the worker writes an ``init`` message once
the handler is imported (or has failed to import), then reads invocations
(``{"event": ..., "context": {...}}``) from stdin and writes one ``result`` or
``error`` message for each. The original stdout carries only this protocol:
the handler's prints go to stderr, which the runner logs.

Only the standard library is used, because nothing else is importable here.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The subset of the Lambda Python runtime's context object that handlers use."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.aws_request_id = fields["aws_request_id"]
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.invoked_function_arn = fields.get("invoked_function_arn", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = fields["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(int(self._deadline_ms - time.time() * 1000), 0)


def error_payload(error_type: str, message: str, error: BaseException | None) -> dict[str, Any]:
    """Return an error object shaped like the Lambda Python runtime's."""
    stack = traceback.format_tb(error.__traceback__) if error is not None else []
    return {"errorType": error_type, "errorMessage": message, "stackTrace": stack}


def load_handler(handler: str) -> Any:
    """Import the handler's module and return the function, or raise a coded error.

    Error types and messages follow the Lambda Python runtime (awslambdaric):
    Runtime.MalformedHandlerName, Runtime.ImportModuleError,
    Runtime.UserCodeSyntaxError and Runtime.HandlerNotFound.
    """
    module_name, dot, function_name = handler.rpartition(".")
    if not dot or not module_name or not function_name:
        raise CodedError(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)",
        )
    module_name = module_name.replace("/", ".")

    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise CodedError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
        ) from error
    except SyntaxError as error:
        raise CodedError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}"
        ) from error

    function = getattr(module, function_name, None)
    if function is None:
        raise CodedError(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return function


class CodedError(Exception):
    """An init failure with the Lambda runtime's error type."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def invoke(function: Any, message: dict[str, Any]) -> dict[str, Any]:
    """Call the handler once and return the protocol message for the outcome."""
    context = LambdaContext(message["context"])
    try:
        result = function(message["event"], context)
    except Exception as error:  # noqa: BLE001 - the runtime reports any handler exception
        logging.getLogger().error("%s: %s", type(error).__name__, error, exc_info=error)
        return {"type": "error", "error": error_payload(type(error).__name__, str(error), error)}

    try:
        json.dumps(result)
    except (TypeError, ValueError) as error:
        payload = error_payload(
            "Runtime.MarshalError", f"Unable to marshal response: {error}", None
        )
        return {"type": "error", "error": payload}
    return {"type": "result", "result": result}


def configure_logging() -> None:
    """Give the root logger a stderr handler, as the Lambda runtime does.

    The level comes from AWS_LAMBDA_LOG_LEVEL, which the runner sets from the
    function's logging configuration. Without it the level stays at WARNING.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    level = logging.getLevelName(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper())
    root.setLevel(level if isinstance(level, int) else logging.WARNING)


def main(argv: list[str]) -> int:
    task_dir, opt_dir, handler = argv[1:4]

    # Keep the protocol on a private copy of stdout and stdin; the handler's
    # own prints go to stderr.
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    protocol_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    os.dup2(2, 1)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    # Line buffering, so that prints reach the log as they happen, as on Lambda.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    def send(message: dict[str, Any]) -> None:
        protocol_out.write(json.dumps(message) + "\n")
        protocol_out.flush()

    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    layer_site_packages = os.path.join(opt_dir, "python", "lib", version, "site-packages")
    sys.path[:0] = [task_dir, layer_site_packages, os.path.join(opt_dir, "python")]
    os.chdir(task_dir)
    configure_logging()

    try:
        function = load_handler(handler)
    except CodedError as error:
        cause = error.__cause__
        send({"type": "init", "error": error_payload(error.error_type, error.message, cause)})
        return 1
    except Exception as error:  # noqa: BLE001 - any import-time failure is an init error
        send({"type": "init", "error": error_payload(type(error).__name__, str(error), error)})
        return 1
    send({"type": "init"})

    for line in protocol_in:
        send(invoke(function, json.loads(line)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
