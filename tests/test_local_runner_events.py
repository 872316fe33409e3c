"""HTTP request to Function URL event, and function result to HTTP response (local runner)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from local_lambda.events import (
    HttpRequest,
    InvalidResponseError,
    is_text_content_type,
    request_to_event,
    result_to_response,
)

NOW = 1_700_000_000.25


def make_request(
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    method: str = "POST",
    target: str = "/",
) -> HttpRequest:
    return HttpRequest(
        method=method,
        target=target,
        headers=headers if headers is not None else [],
        body=body,
        source_ip="127.0.0.1",
        server_port=8080,
    )


def convert(request: HttpRequest) -> dict:
    return request_to_event(request, api_id="a" * 32, request_id="req-1", now=NOW)


def decoded_body(event: dict) -> bytes:
    if "body" not in event:
        return b""
    if event["isBase64Encoded"]:
        return base64.b64decode(event["body"])
    return event["body"].encode("utf-8")


def test_header_names_lowercased() -> None:
    event = convert(
        make_request(headers=[("X-Signature-Ed25519", "ab"), ("Content-TYPE", "application/json")])
    )

    assert event["headers"]["x-signature-ed25519"] == "ab"
    assert event["headers"]["content-type"] == "application/json"
    assert not any(name != name.lower() for name in event["headers"])


def test_repeated_headers_joined_with_commas() -> None:
    event = convert(make_request(headers=[("X-Tag", "a"), ("x-tag", "b"), ("X-TAG", "c")]))

    assert event["headers"]["x-tag"] == "a,b,c"


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/octet-stream",
        "application/x-www-form-urlencoded",
        "image/png",
        "multipart/form-data; boundary=x",
    ],
)
def test_binary_body_base64_encoded(content_type: str | None) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    body = b"\x00\xffkey=value"

    event = convert(make_request(body=body, headers=headers))

    assert event["isBase64Encoded"] is True
    assert event["body"] == base64.b64encode(body).decode("ascii")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "text/plain",
        "text/html; charset=utf-8",
        "application/xml",
        "application/vnd.api+json",
        "application/atom+xml",
    ],
)
def test_text_body_passed_as_text(content_type: str) -> None:
    body = '{"type": 1, "name": "caf\u00e9"}'.encode()

    event = convert(make_request(body=body, headers=[("Content-Type", content_type)]))

    assert event["isBase64Encoded"] is False
    assert event["body"] == body.decode("utf-8")


def test_text_type_with_invalid_utf8_base64_encoded() -> None:
    body = b"\xff\xfe not utf-8"

    event = convert(make_request(body=body, headers=[("Content-Type", "application/json")]))

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_empty_body_left_out() -> None:
    event = convert(make_request(method="GET", headers=[("Content-Type", "application/json")]))

    assert "body" not in event
    assert event["isBase64Encoded"] is False


def test_method_and_path_in_request_context() -> None:
    event = convert(make_request(method="post", target="/interactions/x%20y?a=1&a=2&b="))

    http = event["requestContext"]["http"]
    assert http["method"] == "POST"
    assert http["path"] == "/interactions/x%20y"
    assert event["rawPath"] == "/interactions/x%20y"
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}


def test_event_fixed_fields() -> None:
    event = convert(make_request(headers=[("User-Agent", "smoke"), ("Host", "h.example:1")]))

    context = event["requestContext"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert context["accountId"] == "anonymous"
    assert context["requestId"] == "req-1"
    assert context["domainName"] == "h.example:1"
    assert context["http"]["userAgent"] == "smoke"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["timeEpoch"] == 1_700_000_000_250
    assert context["time"] == "14/Nov/2023:22:13:20 +0000"
    assert "queryStringParameters" not in event
    assert "cookies" not in event


def test_cookies_moved_out_of_headers() -> None:
    event = convert(make_request(headers=[("Cookie", "a=1; b=2"), ("cookie", "c=3")]))

    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert "cookie" not in event["headers"]


@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(
        [None, "application/json", "text/plain", "application/octet-stream", "image/gif"]
    ),
)
def test_body_round_trips(body: bytes, content_type: str | None) -> None:
    headers = [("Content-Type", content_type)] if content_type else []

    event = convert(make_request(body=body, headers=headers))

    assert decoded_body(event) == body


def test_text_content_types_table() -> None:
    assert is_text_content_type("text/csv")
    assert is_text_content_type("application/problem+json")
    assert not is_text_content_type("application/javascript")
    assert not is_text_content_type("")
    assert not is_text_content_type(None)


def test_structured_response_used_as_given() -> None:
    response = result_to_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "text/plain", "X-Count": 3},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": "created",
        }
    )

    assert response.status == 201
    assert ("Content-Type", "text/plain") in response.headers
    assert ("X-Count", "3") in response.headers
    assert [v for n, v in response.headers if n == "Set-Cookie"] == ["a=1; Path=/", "b=2"]
    assert response.body == b"created"


def test_base64_response_body_decoded() -> None:
    payload = bytes(range(256))

    response = result_to_response(
        {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": base64.b64encode(payload).decode(),
            "isBase64Encoded": True,
        }
    )

    assert response.body == payload


def test_structured_response_defaults_to_json() -> None:
    response = result_to_response({"statusCode": 204})

    assert response.status == 204
    assert response.headers == [("Content-Type", "application/json")]
    assert response.body == b""


@pytest.mark.parametrize("result", [{"type": 1}, "Hello, world!", [1, 2], None])
def test_plain_result_becomes_json_200(result: object) -> None:
    response = result_to_response(result)

    assert response.status == 200
    assert response.headers == [("Content-Type", "application/json")]
    assert response.body.decode() == json.dumps(result)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"statusCode": "200"}, "statusCode '200'"),
        ({"statusCode": True}, "statusCode True"),
        ({"statusCode": 99}, "statusCode 99"),
        ({"statusCode": 200, "headers": ["x"]}, "headers is a list"),
        ({"statusCode": 200, "headers": {"X": None}}, "header 'X'"),
        ({"statusCode": 200, "cookies": "a=1"}, "cookies"),
        ({"statusCode": 200, "body": "%%%", "isBase64Encoded": True}, "not base64"),
        ({"statusCode": 200, "body": "a\ud800b"}, "not valid Unicode text"),
    ],
)
def test_invalid_response_rejected(result: dict, message: str) -> None:
    with pytest.raises(InvalidResponseError, match=message):
        result_to_response(result)
