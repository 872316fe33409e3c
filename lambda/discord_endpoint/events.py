"""Read-only view of the Lambda HTTP events that can carry an interaction.

Supported payloads:

- Lambda Function URL and API Gateway HTTP API, payload format 2.0:
  `requestContext.http.method`, lower-case `headers`, repeated headers joined
  with commas.
- API Gateway REST API, payload format 1.0: `httpMethod`, `headers` in the
  caller's casing, and `multiValueHeaders`. Either header map may be null.

In both, `body` is a string or null, base64-encoded when `isBase64Encoded` is
true. Function URLs encode bodies whose content type they do not treat as text.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

# The maximum length of a header name that an error message repeats.
MAX_NAME_CHARS = 64


class MalformedEventError(ValueError):
    """The Lambda event does not have the shape of an HTTP event."""


class HttpEvent:
    """Wrap a Lambda HTTP event without copying it.

    Properties are computed on first access and cached. They raise
    `MalformedEventError` for a value of the wrong type, so the caller can
    return 400 instead of failing.
    """

    # Plain attributes instead of functools.cached_property: in Python 3.11 its
    # lock costs more than the rest of a PING request apart from verification.
    def __init__(self, event: Any) -> None:
        if not isinstance(event, dict):
            raise MalformedEventError(f"event must be an object, got {type(event).__name__}")
        self._event = event
        self._method: str | None = None
        self._headers: dict[str, str] | None = None
        self._body: bytes | None = None

    @property
    def method(self) -> str:
        """HTTP method in upper case."""
        if self._method is None:
            self._method = self._read_method()
        return self._method

    @property
    def headers(self) -> dict[str, str]:
        """Request headers keyed by lower-case name."""
        if self._headers is None:
            self._headers = self._read_headers()
        return self._headers

    def header(self, name: str) -> str | None:
        """Return the value of header `name` (any casing), or None if absent.

        A value found directly under the lower-case name is returned without
        checking the types of the other headers.
        """
        name = name.lower()

        # Function URLs and HTTP APIs send every header name in lower case, so
        # a direct lookup in `headers` finds a header that is there without
        # building the case-insensitive map. That map is built on a miss, and
        # for REST API events, whose names keep the caller's casing.
        if self._headers is None:
            single = self._event.get("headers")
            if isinstance(single, dict):
                value = single.get(name)
                if isinstance(value, str):
                    return value
        return self.headers.get(name)

    @property
    def body(self) -> bytes:
        """Raw request body: base64-decoded when `isBase64Encoded` is true, else UTF-8."""
        if self._body is None:
            self._body = self._read_body()
        return self._body

    @property
    def text(self) -> str:
        """Body as text for the JSON parser: the event's string as it is, or the decoded bytes.

        A base64 body is decoded as UTF-8 here, so this raises UnicodeDecodeError
        for bytes that are not UTF-8. This property does not validate the
        `body` field, so read `body` first, as signature verification does.
        """
        if self._event.get("isBase64Encoded") is True:
            return self.body.decode("utf-8")
        text = self._event.get("body")
        return text if isinstance(text, str) else ""

    def _read_method(self) -> str:
        # Payload format 1.0 (REST API) has `httpMethod`, format 2.0 has
        # `requestContext.http.method`.
        method = self._event.get("httpMethod")
        if method is None:
            context = self._event.get("requestContext")
            http = context.get("http") if isinstance(context, dict) else None
            method = http.get("method") if isinstance(http, dict) else None
        if not isinstance(method, str):
            raise MalformedEventError("event has no HTTP method")
        return method.upper()

    def _read_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}

        # `multiValueHeaders` (format 1.0) repeats every header of `headers`;
        # the single-value map wins, and for a repeated header it contains the
        # last value, as API Gateway does.
        multi = self._event.get("multiValueHeaders")
        if multi is not None:
            for name, values in _mapping_items(multi, "multiValueHeaders"):
                if not isinstance(values, list):
                    raise MalformedEventError(
                        f"event multiValueHeaders {name[:MAX_NAME_CHARS]!r} must be a list, "
                        f"got {type(values).__name__}"
                    )
                if values:
                    headers[name.lower()] = _header_value(name, values[-1])

        # This loop runs on every request, so it checks the types inline
        # instead of calling the helpers above for each header.
        single = self._event.get("headers")
        if single is not None:
            if not isinstance(single, dict):
                raise _not_an_object("headers", single)
            for name, value in single.items():
                if not isinstance(name, str):
                    raise MalformedEventError("event headers has a non-string name")
                if not isinstance(value, str):
                    raise _not_a_string_header(name, value)
                headers[name.lower()] = value

        return headers

    def _read_body(self) -> bytes:
        body = self._event.get("body")
        if body is None:  # the key is null for a request without a body
            return b""
        if not isinstance(body, str):
            raise MalformedEventError(f"event body must be a string, got {type(body).__name__}")

        if self._event.get("isBase64Encoded") is True:
            try:
                return base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError) as error:
                raise MalformedEventError("event body is marked base64 but is not") from error

        try:
            return body.encode("utf-8")
        except UnicodeEncodeError as error:
            raise MalformedEventError("event body is not valid Unicode text") from error


def _mapping_items(value: Any, field: str) -> list[tuple[str, Any]]:
    if not isinstance(value, dict):
        raise _not_an_object(field, value)
    items = list(value.items())
    for name, _ in items:
        if not isinstance(name, str):
            raise MalformedEventError(f"event {field} has a non-string name")
    return items


def _header_value(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _not_a_string_header(name, value)
    return value


def _not_an_object(field: str, value: Any) -> MalformedEventError:
    return MalformedEventError(f"event {field} must be an object, got {type(value).__name__}")


def _not_a_string_header(name: str, value: Any) -> MalformedEventError:
    return MalformedEventError(
        f"event header {name[:MAX_NAME_CHARS]!r} must be a string, got {type(value).__name__}"
    )
