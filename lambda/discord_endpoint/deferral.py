"""Deferral of slow commands to an asynchronous invocation of this function.

Discord drops an interaction that gets no response within 3 seconds. A
command registered with `slow=True` therefore gets type 5 at once
(DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: Discord shows "Bot is thinking..."),
after this function has invoked itself with `InvocationType="Event"`. That
second run (see `followup`) does the work and edits the original response.

The deferred event carries the request exactly as Discord signed it: the raw
body, the timestamp and the signature. The follow-up run verifies the Ed25519
signature again, so a caller who may invoke the function directly still cannot
make it run a command or post a message that Discord did not send. The event
also has none of the keys of an HTTP event, and any event that has one goes to
the HTTP path, so a Function URL request can never reach the follow-up path.

boto3 and botocore are part of the Lambda runtime, not the layer. botocore is
imported on first use so that the HTTP handler's init stays light.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any, NamedTuple

from . import responses
from .interaction import Interaction
from .protocol import InteractionResponseType, InteractionType
from .registry import Registry
from .routing import RouteResult
from .transport_logging import cap_transport_loggers

logger = logging.getLogger(__name__)

FUNCTION_NAME_VARIABLE = "AWS_LAMBDA_FUNCTION_NAME"

# The deferred event's only top-level key. Its object has a version number, so
# that a future format can coexist with events already queued for delivery.
DEFERRED_EVENT_KEY = "discord_deferred_interaction"
DEFERRED_EVENT_VERSION = 1

# Top-level keys of Lambda's HTTP events: Function URL and API Gateway payload
# formats 1.0 and 2.0. An event with any of them is handled as an HTTP request.
HTTP_EVENT_KEYS = frozenset(
    {
        "body",
        "headers",
        "httpMethod",
        "isBase64Encoded",
        "multiValueHeaders",
        "path",
        "rawPath",
        "rawQueryString",
        "requestContext",
        "resource",
        "routeKey",
        "version",
    }
)

# Invoke must return within Discord's 3-second limit, so a slow Lambda API
# fails the deferral (with a message to the user) instead of the interaction.
# An Event invocation is normally accepted in tens of milliseconds. There is
# one attempt: botocore's retry backoff alone can wait up to a second.
INVOKE_CONNECT_TIMEOUT_SECONDS = 0.5
INVOKE_READ_TIMEOUT_SECONDS = 1.5
INVOKE_TOTAL_MAX_ATTEMPTS = 1


# Unix time by which the follow-up run in progress must have its result; the
# follow-up run sets it around the handler call.
run_deadline: ContextVar[float | None] = ContextVar("deferred_run_deadline", default=None)


class InvokeError(Exception):
    """The asynchronous invocation could not be queued."""


class DeferredEventError(ValueError):
    """The event is not a well-formed deferred interaction."""


class SignedRequest(NamedTuple):
    """A request as Discord signed it: headers X-Signature-Timestamp and -Ed25519, raw body."""

    timestamp: str
    signature: str
    body: bytes

    def __repr__(self) -> str:
        # The body contains the interaction token, which must not reach a log.
        return f"SignedRequest(timestamp={self.timestamp!r}, body={len(self.body)} bytes)"


Invoker = Callable[[dict[str, Any]], None]
"""Queue an asynchronous invocation of this function with the given event; raise InvokeError."""


def seconds_left(clock: Callable[[], float] = time.time) -> float | None:
    """Return the seconds the running slow command has left, or None outside a follow-up run.

    The limit is the earlier of the interaction token's expiry and the Lambda
    function's timeout, minus the time kept back to send the result.
    """
    deadline = run_deadline.get()
    return None if deadline is None else deadline - clock()


def build_deferred_event(request: SignedRequest) -> dict[str, Any]:
    """Return the event that the follow-up run receives; the body is base64 to keep its bytes."""
    return {
        DEFERRED_EVENT_KEY: {
            "version": DEFERRED_EVENT_VERSION,
            "timestamp": request.timestamp,
            "signature": request.signature,
            "body": base64.b64encode(request.body).decode("ascii"),
        }
    }


def is_deferred_event(event: Any) -> bool:
    """Return True only for an event with the deferred-interaction key and no HTTP event key."""
    if not isinstance(event, Mapping) or DEFERRED_EVENT_KEY not in event:
        return False
    return HTTP_EVENT_KEYS.isdisjoint(event.keys())


def parse_deferred_event(event: Mapping[str, Any]) -> SignedRequest:
    """Return the signed request inside a deferred event; raise DeferredEventError."""
    content = event.get(DEFERRED_EVENT_KEY)
    if not isinstance(content, Mapping):
        raise DeferredEventError(f"deferred event has no {DEFERRED_EVENT_KEY!r} object")
    version = content.get("version")
    if version != DEFERRED_EVENT_VERSION or isinstance(version, bool):
        raise DeferredEventError(f"unsupported deferred event version {version!r}")

    timestamp = content.get("timestamp")
    signature = content.get("signature")
    body = content.get("body")
    if not all(isinstance(value, str) for value in (timestamp, signature, body)):
        raise DeferredEventError("deferred event needs string timestamp, signature and body")
    try:
        raw_body = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        raise DeferredEventError("deferred event body is not base64") from error
    return SignedRequest(timestamp, signature, raw_body)


def make_lambda_client() -> Any:
    """Return a Lambda client with timeouts that fit Discord's 3-second limit.

    The client comes from a plain botocore session. `boto3.client` would also
    import boto3 and build its default Session, which gives a Lambda client
    nothing and made the first slow command 9 to 15 percent slower
    (bench/bench_deferral.py). Credentials and region come from the same
    environment variables either way.
    """
    import botocore.session
    from botocore.config import Config

    config = Config(
        connect_timeout=INVOKE_CONNECT_TIMEOUT_SECONDS,
        read_timeout=INVOKE_READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": INVOKE_TOTAL_MAX_ATTEMPTS, "mode": "standard"},
    )
    return botocore.session.get_session().create_client("lambda", config=config)


class LambdaInvoker:
    """Invokes one function asynchronously (`InvocationType="Event"`) through botocore.

    NOTE: the first Invoke in a process imports botocore and builds the client
    before the type 5 reply can leave, all inside Discord's 3 seconds. That took
    0.23 s on an idle 2-core x86_64 host and 0.95 s with the cores overloaded
    (bench/bench_deferral.py, docs/BENCHMARKS.md). Lambda gives a function CPU
    in proportion to its memory size, so a small memory size slows it likewise.
    Only slow commands pay this; doing it at init would charge every cold start.
    """

    def __init__(self, function_name: str, client_factory: Callable[[], Any] | None = None) -> None:
        self.function_name = function_name
        # Looked up now, not at definition, so a benchmark can swap the module's factory.
        self._client_factory = make_lambda_client if client_factory is None else client_factory
        self._client: Any = None

    def __call__(self, event: dict[str, Any]) -> None:
        try:
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError as error:
            raise InvokeError(
                "boto3 is not importable; the Lambda runtime provides it, "
                "so this only happens outside Lambda"
            ) from error

        try:
            if self._client is None:
                # botocore logs the Invoke parameters, token included, at DEBUG.
                cap_transport_loggers()
                self._client = self._client_factory()
            response = self._client.invoke(
                FunctionName=self.function_name,
                InvocationType="Event",
                Payload=json.dumps(event).encode("utf-8"),
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise InvokeError(f"Invoke of {self.function_name} was rejected: {code}") from None
        except BotoCoreError as error:
            raise InvokeError(f"Invoke of {self.function_name} failed: {error}") from None

        status = response.get("StatusCode")
        if status != HTTPStatus.ACCEPTED:
            raise InvokeError(f"Invoke of {self.function_name} returned status {status}, not 202")


class Deferrer:
    """Replies to slow commands with type 5 after queuing their follow-up run."""

    def __init__(self, invoker: Invoker) -> None:
        self._invoker = invoker

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Deferrer | None:
        """Return a deferrer that invokes this function, or None outside Lambda.

        Lambda sets AWS_LAMBDA_FUNCTION_NAME. Without it, slow commands run
        inline and must finish within Discord's 3 seconds.
        """
        function_name = environ.get(FUNCTION_NAME_VARIABLE, "").strip()
        if not function_name:
            return None
        return cls(LambdaInvoker(function_name))

    def defer_if_slow(
        self, registry: Registry, interaction: Interaction, request: SignedRequest
    ) -> RouteResult | None:
        """Return the deferred reply for a slow command, or None for anything else."""
        if interaction.type != InteractionType.APPLICATION_COMMAND:
            return None
        command = registry.commands.get(interaction.command_name or "")
        if command is None or not command.slow:
            return None

        try:
            self._invoker(build_deferred_event(request))
        except InvokeError as error:
            logger.error(
                "Deferral of /%s for interaction %s failed: %s",
                command.name,
                interaction.id,
                error,
            )
            reply = responses.message(
                f"Sorry, /{command.name} could not be started. Try again later.",
                ephemeral=True,
            )
            return RouteResult(HTTPStatus.OK, reply, "defer_failed")

        deferred = {"type": InteractionResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE}
        return RouteResult(HTTPStatus.OK, deferred, "deferred")
