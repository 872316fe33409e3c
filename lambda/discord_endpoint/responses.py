"""HTTP responses in the Lambda proxy format, and interaction reply payloads.

Every HTTP response is JSON with `Content-Type: application/json`. Function
URLs and API Gateway (payload formats 1.0 and 2.0) all accept this shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from itertools import islice
from typing import Any

from .protocol import InteractionResponseType, MessageFlags

# Discord's limit on choices in one autocomplete reply.
MAX_AUTOCOMPLETE_CHOICES = 25

_JSON_HEADERS = {"Content-Type": "application/json"}

# The maximum length of a reply body. Lambda returns at most 6 MB from a
# synchronous invocation. The runtime's JSON encoding of the proxy response
# can double the body's length (for a body of quotes and backslashes), so
# 2 MiB leaves room. Discord's own limits on a message are far lower.
MAX_BODY_CHARS = 2 * 1024 * 1024


class InvalidReplyError(ValueError):
    """A handler's return value that Discord would not accept. The message describes it."""


# One encoder for every response: json.dumps with options builds a new one
# per call. NaN and Infinity are rejected because they are not JSON. ASCII
# output escapes a lone surrogate from user input, which UTF-8 cannot encode.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def no_mentions() -> dict[str, list[str]]:
    """Return an `allowed_mentions` object that allows no pings.

    A reply that repeats user text must not turn "@everyone" into a ping of
    the whole server. Each call returns a new dict, so code that changes one
    reply's mentions cannot enable pings in later replies of the same process.
    """
    return {"parse": []}


def encode(payload: Any) -> str:
    """Return `payload` as compact JSON text.

    Raises TypeError for a value that JSON cannot represent, and ValueError
    for NaN, Infinity or a circular reference.
    """
    return _ENCODER.encode(payload)


def http_response(
    status: HTTPStatus, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Return a proxy response with `payload` serialised as the JSON body.

    Raises TypeError for a value that JSON cannot represent, and ValueError
    for NaN, Infinity or a circular reference. The caller checks the body's
    length against MAX_BODY_CHARS.
    """
    body = encode(payload)
    response_headers = _JSON_HEADERS.copy()
    if headers:
        response_headers.update(headers)
    return {"statusCode": int(status), "headers": response_headers, "body": body}


def pong_http_response() -> dict[str, Any]:
    """Return the proxy response to Discord's PING: 200 with the body `{"type":1}`.

    Discord checks the endpoint with PINGs, and the reply never changes, so
    its JSON is encoded once, when this module is imported.
    """
    return {"statusCode": 200, "headers": _JSON_HEADERS.copy(), "body": _PONG_BODY}


def http_error(
    status: HTTPStatus, message: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Return a proxy response with the body `{"error": message}`."""
    return http_response(status, {"error": message}, headers)


def pong() -> dict[str, Any]:
    """Return the reply to Discord's PING."""
    return {"type": InteractionResponseType.PONG}


def message(
    content: str,
    *,
    ephemeral: bool = False,
    allowed_mentions: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Return a CHANNEL_MESSAGE_WITH_SOURCE reply.

    Mentions are off unless `allowed_mentions` is given. An ephemeral message
    is visible only to the invoking user, and `ephemeral=True` adds its bit to
    any `flags` given. `fields` adds message fields such as `components` or
    `embeds`.
    """
    data: dict[str, Any] = {
        "content": content,
        "allowed_mentions": no_mentions() if allowed_mentions is None else allowed_mentions,
        **fields,
    }
    if ephemeral:
        data["flags"] = int(MessageFlags.EPHEMERAL | fields.get("flags", 0))
    return {"type": InteractionResponseType.CHANNEL_MESSAGE_WITH_SOURCE, "data": data}


def check_reply(reply: Any) -> dict[str, Any]:
    """Return `reply` if it has the shape of an interaction response, else raise InvalidReplyError.

    The shape is a dict with an integer `type` and, when present, an object
    `data`. Unknown type numbers pass, so a callback type newer than this
    module still works. Discord checks the rest.
    """
    if not isinstance(reply, dict):
        raise InvalidReplyError(f"{type(reply).__name__}, not a reply dict")
    reply_type = reply.get("type")
    if not isinstance(reply_type, int) or isinstance(reply_type, bool):
        raise InvalidReplyError(f"a reply whose type is {type(reply_type).__name__}, not int")
    if "data" in reply and not isinstance(reply["data"], dict):
        raise InvalidReplyError(f"a reply whose data is {type(reply['data']).__name__}, not dict")
    return reply


CHOICE_SHAPE = '{"name", "value"} dict'


def check_choices(returned: Any) -> list[dict[str, Any]]:
    """Return the autocomplete choices in `returned` as a list, else raise InvalidReplyError.

    `returned` must be an iterable, other than a str, bytes or a mapping, of
    dicts with "name" and "value". list() alone would turn a str or a dict
    into its characters or keys. At most 26 items are read, so a caller can
    tell that there were more than the 25 that Discord accepts.
    """
    if isinstance(returned, (str, bytes, Mapping)) or not isinstance(returned, Iterable):
        raise InvalidReplyError(f"{type(returned).__name__}, not a list of {CHOICE_SHAPE}s")
    # One more than Discord takes, so an endless generator cannot hang the
    # request. The extra one only shows that there were more, and is not checked.
    choices = list(islice(returned, MAX_AUTOCOMPLETE_CHOICES + 1))
    for choice in choices[:MAX_AUTOCOMPLETE_CHOICES]:
        if not (isinstance(choice, dict) and "name" in choice and "value" in choice):
            raise InvalidReplyError(f"a choice that is not a {CHOICE_SHAPE}")
    return choices


def autocomplete_result(choices: list[dict[str, Any]]) -> dict[str, Any]:
    """Return an autocomplete reply (type 8) with at most 25 choices."""
    return {
        "type": InteractionResponseType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT,
        "data": {"choices": choices[:MAX_AUTOCOMPLETE_CHOICES]},
    }


_PONG_BODY = _ENCODER.encode(pong())
