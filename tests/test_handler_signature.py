"""Signature, header and method checks of the Lambda handler.

Every event goes through `lambda_function.lambda_handler`, initialised from
DISCORD_PUBLIC_KEY with a real Ed25519 key pair.
"""

from __future__ import annotations

import json
import time
from types import ModuleType

import pytest
from discord_endpoint.signature import SignatureError, SignatureVerifier
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey

PING = b'{"type":1,"id":"100","application_id":"200","token":"secret-token","version":1}'


def call(handler_module: ModuleType, event: dict) -> tuple[int, dict]:
    response = handler_module.lambda_handler(event, None)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def test_ping_valid_signature(handler_module, sign_event):
    status, body = call(handler_module, sign_event(PING))

    assert status == 200
    assert body == {"type": 1}


def test_ping_reply_not_shared_between_requests(handler_module, sign_event):
    # The PONG body is encoded once; each response still gets its own headers,
    # so a caller that adds a header changes only that response.
    first = handler_module.lambda_handler(sign_event(PING), None)
    first["headers"]["X-Added"] = "1"

    second = handler_module.lambda_handler(sign_event(PING), None)

    assert second == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": '{"type":1}',
    }


@pytest.mark.parametrize("payload_format", ["function_url", "http_api", "rest_api"])
def test_ping_every_payload_format(handler_module, sign_event, payload_format):
    status, body = call(handler_module, sign_event(PING, payload_format=payload_format))

    assert status == 200
    assert body == {"type": 1}


def test_tampered_body_rejected(handler_module, sign_event):
    event = sign_event(PING.replace(b'"100"', b'"101"'), signed_body=PING)

    status, body = call(handler_module, event)

    assert status == 401
    assert "does not match" in body["error"]


def test_tampered_timestamp_rejected(handler_module, sign_event):
    now = int(time.time())
    event = sign_event(PING, timestamp=str(now), signed_timestamp=str(now - 1))

    status, _ = call(handler_module, event)

    assert status == 401


def test_wrong_key_rejected(handler_module, sign_event):
    status, _ = call(handler_module, sign_event(PING, key=SigningKey.generate()))

    assert status == 401


@pytest.mark.parametrize(
    "header_case",
    [str.upper, str.title, lambda name: name.replace("signature", "SiGnAtUrE")],
    ids=["upper", "title", "mixed"],
)
@pytest.mark.parametrize("payload_format", ["function_url", "rest_api"])
def test_header_names_any_case(handler_module, sign_event, header_case, payload_format):
    event = sign_event(PING, header_case=header_case, payload_format=payload_format)

    status, body = call(handler_module, event)

    assert status == 200
    assert body == {"type": 1}


@pytest.mark.parametrize("payload_format", ["function_url", "rest_api"])
def test_base64_body_verified_decoded(handler_module, sign_event, payload_format):
    event = sign_event(PING, base64_body=True, payload_format=payload_format)

    status, body = call(handler_module, event)

    assert event["isBase64Encoded"] is True
    assert status == 200
    assert body == {"type": 1}


def test_raw_bytes_verified_not_reserialised(handler_module, sign_event, signing_key):
    # Non-ASCII text, a \u escape, a float written as 1.0 and an escaped
    # slash: json.dumps(json.loads(raw)) writes every one of them differently.
    raw = (
        '{"type":2,"id":"7","token":"t","data":{"name":"echo","options":'
        '[{"name":"text","type":3,"value":"caf\u00e9 \\u00e9 a\\/b \\"a/b\\""}],'
        '"n":1.0},"version":1}'
    ).encode("utf-8")
    reserialised = json.dumps(json.loads(raw)).encode()
    timestamp = str(int(time.time()))

    status, body = call(handler_module, sign_event(raw, timestamp=timestamp))

    assert reserialised != raw
    with pytest.raises(BadSignatureError):
        signing_key.verify_key.verify(
            timestamp.encode() + reserialised,
            signing_key.sign(timestamp.encode() + raw).signature,
        )
    assert status == 200
    assert body["data"]["content"] == 'café é a/b "a/b"'


@pytest.mark.parametrize("header", ["x-signature-ed25519", "x-signature-timestamp"])
def test_missing_header_rejected(handler_module, sign_event, header):
    status, body = call(handler_module, sign_event(PING, drop_headers=(header,)))

    assert status == 401
    assert header in body["error"]


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("zz" * 64, "not hexadecimal"),
        ("ab" * 32, "128 hexadecimal characters"),
        ("", "128 hexadecimal characters"),
        ("ab " * 42 + "ab", "not hexadecimal"),
        ("é" * 128, "not hexadecimal"),
    ],
    ids=["non-hex", "short", "empty", "spaces", "non-ascii"],
)
def test_malformed_signature_rejected(handler_module, sign_event, signature, reason):
    status, body = call(handler_module, sign_event(PING, signature=signature))

    assert status == 401
    assert reason in body["error"]


def test_empty_body_rejected_after_verification(handler_module, sign_event):
    status, body = call(handler_module, sign_event(b""))

    assert status == 400
    assert "JSON" in body["error"]


def test_empty_body_bad_signature_401(handler_module, sign_event):
    status, _ = call(handler_module, sign_event(b"", signed_body=b"{}"))

    assert status == 401


@pytest.mark.parametrize("method", ["GET", "PUT", "OPTIONS"])
@pytest.mark.parametrize("payload_format", ["function_url", "rest_api"])
def test_non_post_method_405(handler_module, sign_event, method, payload_format):
    response = handler_module.lambda_handler(
        sign_event(PING, method=method, payload_format=payload_format), None
    )

    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "POST"
    assert method in json.loads(response["body"])["error"]


def test_huge_method_echo_truncated(handler_module):
    response = handler_module.lambda_handler({"httpMethod": "G" * 3_000_000}, None)

    assert response["statusCode"] == 405
    assert json.loads(response["body"])["error"] == "only POST is allowed, got " + "G" * 40


def test_huge_header_name_echo_truncated(handler_module):
    event = {"httpMethod": "POST", "headers": {"X" * 3_000_000: 5}}

    response = handler_module.lambda_handler(event, None)

    assert response["statusCode"] == 400
    assert len(response["body"]) < 200


def test_method_checked_before_headers(handler_module):
    # The README lists the method check before the header checks.
    event = {"httpMethod": "GET", "headers": {"X-Signature-Ed25519": 5}}

    response = handler_module.lambda_handler(event, None)

    assert response["statusCode"] == 405


@pytest.mark.parametrize("offset", [-301, 301, -(10**6)])
def test_timestamp_outside_skew_rejected(handler_module, sign_event, offset):
    timestamp = str(int(time.time()) + offset) if offset > -(10**6) else "0"

    status, body = call(handler_module, sign_event(PING, timestamp=timestamp))

    assert status == 401
    assert "maximum is 300 s" in body["error"]


@pytest.mark.parametrize(("now", "accepted"), [(1060.9, True), (1061.0, False), (939.0, False)])
def test_skew_compared_in_whole_seconds(signing_key, now, accepted):
    # The message states the skew that was compared, so a request rejected
    # with a 60 s window never reads "60 s from the current time".
    verifier = SignatureVerifier(signing_key.verify_key.encode(), 60)
    signature = signing_key.sign(b"1000{}").signature.hex()

    if accepted:
        verifier.verify(signature, "1000", b"{}", now)
        return
    with pytest.raises(SignatureError) as raised:
        verifier.verify(signature, "1000", b"{}", now)
    assert str(raised.value) == (
        "X-Signature-Timestamp is 61 s from the current time (the maximum is 60 s)"
    )


@pytest.mark.parametrize("timestamp", ["", "12.5", "-5", "+1700000000", " 1700000000", "1" * 40])
def test_timestamp_not_integer_rejected(handler_module, sign_event, timestamp):
    status, body = call(handler_module, sign_event(PING, timestamp=timestamp))

    assert status == 401
    assert "Unix time" in body["error"]


def test_skew_setting_from_environment(monkeypatch, handler_module, sign_event):
    monkeypatch.setenv("DISCORD_TIMESTAMP_MAX_SKEW_SECONDS", "30")
    module = __import__("importlib").reload(handler_module)
    stale = str(int(time.time()) - 60)

    status, body = call(module, sign_event(PING, timestamp=stale))

    assert status == 401
    assert "maximum is 30 s" in body["error"]


def test_rest_event_multi_value_headers_only(handler_module, sign_event):
    event = sign_event(PING, payload_format="rest_api", header_case=str.title)
    event["headers"] = None

    status, body = call(handler_module, event)

    assert status == 200
    assert body == {"type": 1}
