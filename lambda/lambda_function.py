"""AWS Lambda entry point: handler string `lambda_function.lambda_handler`.

Init reads `DISCORD_PUBLIC_KEY` (64 hex characters) and, optionally,
`DISCORD_TIMESTAMP_MAX_SKEW_SECONDS` (default 300), builds the Ed25519 key once
and registers the commands. A missing or malformed variable raises
`ConfigurationError` here, so the function fails at init with a message
naming the variable.
"""

from __future__ import annotations

import os
from typing import Any

from discord_endpoint import commands  # noqa: F401 - registers the commands
from discord_endpoint.config import load_settings
from discord_endpoint.endpoint import Endpoint
from discord_endpoint.registry import registry

endpoint = Endpoint.from_settings(load_settings(os.environ), registry)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Return the response to one request from a Function URL or API Gateway."""
    return endpoint.handle(event)
