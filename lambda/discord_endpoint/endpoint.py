"""The HTTP side of the endpoint: method, signature, body, then routing.

Order matters: nothing in the body is looked at before the signature has
been verified, and every client error maps to 400, 401 or 405, never to an
exception. Discord sends requests with bad signatures on purpose and removes
endpoints that accept them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from . import responses
from .config import Settings
from .deferral import Deferrer, SignedRequest
from .events import HttpEvent, MalformedEventError
from .interaction import Interaction, InvalidInteractionError, shorten
from .protocol import InteractionType
from .registry import HANDLER_ERRORS, Registry, custom_id_prefix
from .request_log import log_request
from .routing import failed_reply, route
from .signature import SignatureError, SignatureVerifier

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-signature-ed25519"
TIMESTAMP_HEADER = "x-signature-timestamp"

# Enum members are bound once here. In Python 3.11 each `HTTPStatus.OK` in a
# function body is an attribute lookup on the enum class.
_OK = HTTPStatus.OK
_PING = InteractionType.PING

_DECODER = json.JSONDecoder()

# The maximum length of a client's HTTP method that an error message repeats.
MAX_ECHOED_METHOD_CHARS = 40


class Endpoint:
    """Turns one Lambda HTTP event into one proxy response."""

    def __init__(
        self,
        verifier: SignatureVerifier,
        registry: Registry,
        clock: Callable[[], float] = time.time,
        *,
        deferrer: Deferrer | None = None,
    ) -> None:
        self._verifier = verifier
        self._registry = registry
        self._deferrer = deferrer
        self._clock = clock

    @classmethod
    def from_settings(
        cls, settings: Settings, registry: Registry, deferrer: Deferrer | None = None
    ) -> Endpoint:
        verifier = SignatureVerifier(settings.public_key, settings.max_skew_seconds)
        return cls(verifier, registry, deferrer=deferrer)

    def handle(self, event: Any) -> dict[str, Any]:
        """Return the proxy response for `event` and log one line about it.

        The log line contains the interaction id, type, command name, outcome,
        status, latency and the reason for a rejection, never the signature,
        the token or the body.
        """
        started = time.perf_counter_ns()
        log_fields: dict[str, Any] = {
            "interaction_id": None,
            "interaction_type": None,
            "command": None,  # the custom_id prefix for components and modals
            "error": None,
        }

        response, outcome = self._respond(event, log_fields)

        log_fields["outcome"] = outcome
        log_fields["status"] = response["statusCode"]
        # Milliseconds to the whole microsecond. Integer division is cheaper
        # than round(x, 3) on a float.
        log_fields["latency_ms"] = (time.perf_counter_ns() - started) // 1000 / 1000

        log_request(logger, log_fields)
        return response

    def _respond(self, event: Any, log_fields: dict[str, Any]) -> tuple[dict[str, Any], str]:
        def reject(status: HTTPStatus, message: str, outcome: str) -> tuple[dict[str, Any], str]:
            # The reason goes to the log as well, so a rejected request can be
            # diagnosed from the function's logs alone. It never contains a
            # header value or the body.
            log_fields["error"] = message
            return responses.http_error(status, message), outcome

        try:
            request = HttpEvent(event)
            method = request.method
        except MalformedEventError as error:
            return reject(HTTPStatus.BAD_REQUEST, str(error), "malformed_event")

        if method != "POST":
            response, outcome = reject(
                HTTPStatus.METHOD_NOT_ALLOWED,
                f"only POST is allowed, got {method[:MAX_ECHOED_METHOD_CHARS]}",
                "method_not_allowed",
            )
            response["headers"]["Allow"] = "POST"
            return response, outcome

        try:
            signature = request.header(SIGNATURE_HEADER)
            timestamp = request.header(TIMESTAMP_HEADER)
        except MalformedEventError as error:
            return reject(HTTPStatus.BAD_REQUEST, str(error), "malformed_event")

        if signature is None or timestamp is None:
            missing = SIGNATURE_HEADER if signature is None else TIMESTAMP_HEADER
            return reject(HTTPStatus.UNAUTHORIZED, f"missing header {missing}", "missing_signature")

        try:
            body = request.body
        except MalformedEventError as error:
            return reject(HTTPStatus.BAD_REQUEST, str(error), "malformed_event")

        try:
            self._verifier.verify(signature, timestamp, body, self._clock())
        except SignatureError as error:
            return reject(HTTPStatus.UNAUTHORIZED, str(error), "bad_signature")

        try:
            interaction = Interaction(_parse_json(request.text))
        except InvalidInteractionError as error:
            return reject(HTTPStatus.BAD_REQUEST, str(error), "invalid_body")
        except (ValueError, RecursionError):
            # ValueError covers JSONDecodeError and UnicodeDecodeError, and
            # RecursionError comes from deeply nested arrays.
            return reject(HTTPStatus.BAD_REQUEST, "the body is not valid JSON", "invalid_body")

        log_fields["interaction_id"] = interaction.id
        log_fields["interaction_type"] = interaction.type

        # PING is how Discord checks the endpoint. Its reply never changes, and
        # it has no command to log.
        if interaction.type == _PING:
            return responses.pong_http_response(), "pong"

        # For components and modals, log the custom_id's routing prefix only.
        # The rest is per-message data, which may contain user input.
        custom_id = interaction.custom_id
        command = interaction.command_name or (
            custom_id_prefix(custom_id) if custom_id is not None else None
        )
        log_fields["command"] = shorten(command) if command is not None else None

        # A slow command gets type 5 now and runs in an asynchronous invocation,
        # which verifies the same signed request again (see `deferral`).
        result = None
        if self._deferrer is not None:
            signed = SignedRequest(timestamp, signature, body)
            result = self._deferrer.defer_if_slow(self._registry, interaction, signed)
        if result is None:
            result = route(self._registry, interaction)
        if result.status != _OK:
            log_fields["error"] = result.payload.get("error")

        # A handler's reply is application code's output, so it may hold a
        # value that JSON cannot encode, or be too long for Lambda to return.
        # That is the handler's failure, not a 500.
        try:
            response = responses.http_response(result.status, result.payload)
            if len(response["body"]) > responses.MAX_BODY_CHARS:
                raise responses.InvalidReplyError(
                    f"a reply of {len(response['body'])} characters "
                    f"(the maximum is {responses.MAX_BODY_CHARS})"
                )
            return response, result.outcome
        except HANDLER_ERRORS:  # a dict subclass in the reply may raise anything
            logger.exception(
                "reply to interaction %s (%s) cannot be sent as JSON",
                interaction.id,
                log_fields["command"],
            )
            failed = failed_reply(interaction)
            return responses.http_response(failed.status, failed.payload), failed.outcome


def _parse_json(text: str) -> Any:
    """Return the JSON value in `text`, raising ValueError as `json.loads` does.

    Discord's bodies are compact JSON with no surrounding whitespace, which
    `raw_decode` alone parses in under half the time of `json.loads`. Anything
    it does not consume whole (whitespace around the value, trailing data, or
    an error) goes to the full parser, which accepts or rejects it exactly as
    `json.loads` would for a str.
    """
    try:
        value, end = _DECODER.raw_decode(text)
    except ValueError:
        return _DECODER.decode(text)
    if end != len(text):
        return _DECODER.decode(text)
    return value
