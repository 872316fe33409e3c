"""AWS Lambda entry point: handler string `lambda_function.lambda_handler`.

Init reads `DISCORD_PUBLIC_KEY` (64 hex characters) and, optionally,
`DISCORD_TIMESTAMP_MAX_SKEW_SECONDS` (default 300), builds the Ed25519 key once
and registers the commands. A missing or malformed variable raises
`ConfigurationError` here, so the function fails at init with a message
naming the variable. `DISCORD_API_BASE_URL` (optional) is the API that the
asynchronous run of a slow command edits its response through, and Lambda's
own `AWS_LAMBDA_FUNCTION_NAME` names the function that slow commands invoke.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import TYPE_CHECKING, Any

from discord_endpoint import commands  # noqa: F401 - registers the commands
from discord_endpoint.config import load_settings
from discord_endpoint.deferral import Deferrer, is_deferred_event
from discord_endpoint.endpoint import Endpoint
from discord_endpoint.registry import registry
from discord_endpoint.webhook import WebhookClient

if TYPE_CHECKING:
    from discord_endpoint.followup import FollowUpRunner

# Every request writes one INFO record. Filling in its thread and process
# fields costs about a microsecond, and the logging HOWTO ("Optimization")
# names these switches to skip them. Lambda prints none of these fields: its
# JSON formatter excludes them (`_RESERVED_FIELDS` in awslambdaric's
# lambda_runtime_log_utils.py), and its text format in bootstrap.py is level,
# time, request id and message.
logging.logThreads = False
logging.logProcesses = False
logging.logMultiprocessing = False

settings = load_settings(os.environ)
endpoint = Endpoint.from_settings(settings, registry, Deferrer.from_environ(os.environ))
# Built now so that a bad DISCORD_API_BASE_URL fails init like any other setting.
webhook = WebhookClient.from_environ(os.environ)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Return the response to one request from a Function URL or API Gateway.

    A deferred-command event, which this function sends itself and which has
    no HTTP event key, runs the command instead (see `deferral`).
    """
    if is_deferred_event(event):
        return follow_up_runner().run(event, context)
    return endpoint.handle(event)


@functools.cache
def follow_up_runner() -> FollowUpRunner:
    """Return the runner of deferred commands, importing it on first use.

    Only the asynchronous runs need it, so HTTP requests never pay for its import.
    """
    from discord_endpoint.followup import FollowUpRunner

    return FollowUpRunner.from_settings(settings, registry, webhook)
