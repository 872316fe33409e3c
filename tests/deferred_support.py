"""Helpers for the deferred-response tests: interaction bodies, invokers, Lambda contexts."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from discord_endpoint.deferral import InvokeError
from pytest_httpserver import HTTPServer

APPLICATION_ID = "500000000000000000"
# Interaction tokens are long opaque strings; this one is easy to search for in output.
INTERACTION_TOKEN = "aW50ZXJhY3Rpb24.deferred-token-never-logged_" + "x" * 40

DISCORD_EPOCH_MS = 1_420_070_400_000


def snowflake(created: float) -> str:
    """Return a snowflake id whose timestamp is `created` (Unix seconds)."""
    milliseconds = int(created * 1000) - DISCORD_EPOCH_MS
    return str((milliseconds << 22) | secrets.randbelow(1 << 22))


def command_body(
    name: str,
    options: list[dict[str, Any]] | None = None,
    *,
    created: float | None = None,
    **extra: Any,
) -> bytes:
    """Return the JSON body of an APPLICATION_COMMAND interaction as Discord sends it."""
    created = time.time() if created is None else created
    payload: dict[str, Any] = {
        "type": 2,
        "id": snowflake(created),
        "application_id": APPLICATION_ID,
        "token": INTERACTION_TOKEN,
        "version": 1,
        "guild_id": "600000000000000000",
        "channel_id": "700000000000000000",
        "member": {"user": {"id": "800000000000000000", "username": "tester"}},
        "data": {"id": "900000000000000000", "name": name, "type": 1},
        **extra,
    }
    if options is not None:
        payload["data"]["options"] = options
    return json.dumps(payload).encode()


def wait_options(seconds: Any) -> list[dict[str, Any]]:
    return [{"name": "seconds", "type": 4, "value": seconds}]


class RecordingInvoker:
    """An invoker that stores each event, or raises InvokeError when `fail` is set."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail

    def __call__(self, event: dict[str, Any]) -> None:
        if self.fail:
            raise InvokeError("Invoke of test-function was rejected: TooManyRequestsException")
        # A real Invoke sends the event as JSON, so it must survive a round trip.
        self.events.append(json.loads(json.dumps(event)))


class LambdaContext:
    """The part of Lambda's context object that the follow-up run reads."""

    def __init__(self, remaining_seconds: float = 300.0) -> None:
        self.deadline = time.monotonic() + remaining_seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


def edit_path(token: str = INTERACTION_TOKEN) -> str:
    return f"/webhooks/{APPLICATION_ID}/{token}/messages/@original"


# Fixtures get a `_fixture` suffix so that test modules can import them without the
# import clashing with the parameter names.
@pytest.fixture(scope="module", name="discord_server")
def discord_server_fixture() -> Iterator[HTTPServer]:
    """A Discord API stand-in on 127.0.0.1 for one test module."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="discord")
def discord_fixture(discord_server: HTTPServer) -> Iterator[HTTPServer]:
    discord_server.clear()
    yield discord_server
    discord_server.clear()
