"""Convert HTTP requests to Function URL events and function results to HTTP responses.

Both directions follow payload format 2.0, which Lambda Function URLs share
with API Gateway HTTP APIs (AWS Lambda Developer Guide, "Invoking Lambda
function URLs", request and response payload formats).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

# Media types whose request bodies a Function URL passes as text. Every other
# body, including one without a Content-Type, arrives base64-encoded with
# `isBase64Encoded: true`. Sources: the AWS Lambda Developer Guide states only
# that binary content types are base64-encoded; AWS's own Function URL launch
# slides (2022, https://speakerdeck.com/player/bf528d4f49d948b1b89ba21f3e262629,
# slide 15) state that a body is base64-encoded unless Content-Type is
# application/json or text/*; LocalStack's Function URL emulation
# (localstack-core/localstack/services/lambda_/urlrouter.py) treats any type
# containing "text", "json" or "xml" as text. This table takes the union, so
# application/x-www-form-urlencoded is base64-encoded, as on AWS.
TEXT_TYPES = frozenset({"text"})
TEXT_SUBTYPES = frozenset({"json", "xml"})
TEXT_SUBTYPE_SUFFIXES = ("+json", "+xml")

# Values that a real Function URL fills in from its own settings.
ACCOUNT_ID_FOR_AUTH_NONE = "anonymous"
ROUTE_KEY = "$default"

# Request headers that do not go into `headers`: cookies travel in `cookies`.
COOKIE_HEADER = "cookie"


class InvalidResponseError(ValueError):
    """A function result that a Function URL cannot turn into an HTTP response."""


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request as received, before conversion."""

    method: str
    target: str  # the request target: path and optional query, still percent-encoded
    headers: list[tuple[str, str]]  # in arrival order, repeated names kept
    body: bytes
    source_ip: str
    server_port: int


@dataclass(frozen=True)
class HttpResponse:
    """An HTTP response to send: status, headers in order, body bytes."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def is_text_content_type(content_type: str | None) -> bool:
    """Return whether a Function URL passes a body of this Content-Type as text."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    main_type, _, subtype = media_type.partition("/")
    return (
        main_type in TEXT_TYPES
        or subtype in TEXT_SUBTYPES
        or subtype.endswith(TEXT_SUBTYPE_SUFFIXES)
    )


def request_to_event(
    request: HttpRequest, *, api_id: str, request_id: str, now: float | None = None
) -> dict[str, Any]:
    """Build the Function URL event (payload format 2.0) for `request`.

    Header names are lower-cased and repeated headers joined with commas.
    The body is base64-encoded unless its Content-Type is text and its bytes
    are valid UTF-8, since a JSON string cannot carry other bytes.
    """
    now = time.time() if now is None else now
    raw_path, _, raw_query = request.target.partition("?")
    headers, cookies = _event_headers(request.headers)
    domain_name = headers.get("host", f"{api_id}.lambda-url.localhost")

    headers["x-forwarded-for"] = request.source_ip
    headers["x-forwarded-proto"] = "http"
    headers["x-forwarded-port"] = str(request.server_port)
    headers.setdefault("x-amzn-trace-id", _trace_id(now))

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": ROUTE_KEY,
        "rawPath": raw_path or "/",
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID_FOR_AUTH_NONE,
            "apiId": api_id,
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".", 1)[0],
            "http": {
                "method": request.method.upper(),
                "path": raw_path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": ROUTE_KEY,
            "stage": ROUTE_KEY,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }

    # A Function URL leaves out `cookies`, `queryStringParameters` and `body`
    # when the request has none.
    if cookies:
        event["cookies"] = cookies
    if raw_query:
        event["queryStringParameters"] = _query_parameters(raw_query)
    if request.body:
        event["body"], event["isBase64Encoded"] = _event_body(
            request.body, headers.get("content-type")
        )
    return event


def _event_headers(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in pairs:
        key = name.lower()
        if key == COOKIE_HEADER:
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        elif key in headers:
            headers[key] = f"{headers[key]},{value}"
        else:
            headers[key] = value
    return headers, cookies


def _query_parameters(raw_query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def _event_body(body: bytes, content_type: str | None) -> tuple[str, bool]:
    # NOTE: LocalStack also base64-encodes text bodies that are not ASCII. Which
    # rule AWS applies to non-ASCII UTF-8 text is not documented; handlers
    # must honour isBase64Encoded either way.
    if is_text_content_type(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def _trace_id(now: float) -> str:
    return f"Root=1-{int(now):08x}-{secrets.token_hex(12)}"


def result_to_response(result: Any) -> HttpResponse:
    """Turn a function's return value into the HTTP response a Function URL sends.

    A dict with `statusCode` is a structured response: its headers, cookies
    and body (base64-decoded when `isBase64Encoded` is true) are used as given.
    Any other JSON value becomes a 200 `application/json` response whose body
    is that value serialised, as Lambda infers it.
    """
    if not (isinstance(result, Mapping) and "statusCode" in result):
        body = json.dumps(result).encode("utf-8")
        return HttpResponse(200, [("Content-Type", "application/json")], body)

    status = result["statusCode"]
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise InvalidResponseError(f"statusCode {status!r} is not an HTTP status code (100-599)")

    headers = _response_headers(result.get("headers"))
    if not any(name.lower() == "content-type" for name, _ in headers):
        # NOTE: the AWS guide documents this default only for responses without
        # statusCode; LocalStack applies it to every response, and so does this.
        headers.append(("Content-Type", "application/json"))
    headers.extend(("Set-Cookie", cookie) for cookie in _response_cookies(result.get("cookies")))

    body = _response_body(result.get("body"), result.get("isBase64Encoded") is True)
    return HttpResponse(status, headers, body)


def _response_headers(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise InvalidResponseError(f"headers is a {type(value).__name__}, not an object")
    headers: list[tuple[str, str]] = []
    for name, header_value in value.items():
        if not isinstance(header_value, str | int | float) or isinstance(header_value, bool):
            raise InvalidResponseError(
                f"header {name!r} is a {type(header_value).__name__}, not a string"
            )
        headers.append((str(name), str(header_value)))
    return headers


def _response_cookies(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(cookie, str) for cookie in value):
        raise InvalidResponseError("cookies is not a list of strings")
    return value


def _response_body(value: Any, is_base64: bool) -> bytes:
    if value is None:
        return b""
    if not isinstance(value, str):
        # Lambda serialises a non-string body, as in the guide's JSON example.
        return json.dumps(value).encode("utf-8")
    if not is_base64:
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise InvalidResponseError("body is not valid Unicode text") from error
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidResponseError("body is marked isBase64Encoded but is not base64") from error
