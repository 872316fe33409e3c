"""Event shapes, body validation and configuration of the Lambda handler."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from discord_endpoint.config import (
    DEFAULT_MAX_SKEW_SECONDS,
    ConfigurationError,
    load_settings,
)
from discord_endpoint.events import HttpEvent, MalformedEventError
from nacl.signing import SigningKey

LAMBDA_DIR = Path(__file__).resolve().parent.parent / "lambda"
KEY_HEX = SigningKey(bytes(range(32))).verify_key.encode().hex()

# 64 hex characters that libsodium will never verify against: the all-zero
# encoding (a point of order 4), the identity, y = p (non-canonical), and
# bytes that are not on the curve at all.
NOT_A_PUBLIC_KEY = {
    "all-zero": "00" * 32,
    "identity": "01" + "00" * 31,
    "non-canonical": "ed" + "ff" * 30 + "7f",
    "off-curve": "ab" * 32,
}


def status_and_body(response: dict) -> tuple[int, dict]:
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'"text"', "not a JSON object"),
        (b"{}", "no integer 'type'"),
        (b'{"type": "1"}', "no integer 'type'"),
        (b'{"type": true}', "no integer 'type'"),
        (b'{"type": 1.0}', "no integer 'type'"),
        (b'{"type": 99}', "unknown interaction type 99"),
        (b'{"type": 2}', "no data.name"),
        (b'{"type": 3, "data": {}}', "no data.custom_id"),
        (b"\xff\xfe{", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ],
    ids=[
        "not-json",
        "array",
        "string",
        "no-type",
        "string-type",
        "bool-type",
        "float-type",
        "unknown-type",
        "command-no-name",
        "component-no-custom-id",
        "invalid-utf8",
        "deeply-nested",
    ],
)
def test_signed_invalid_body_400(handler_module, sign_event, body, error):
    status, payload = status_and_body(
        handler_module.lambda_handler(sign_event(body, base64_body=True), None)
    )

    assert status == 400
    assert error in payload["error"]


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (None, "event must be an object, got NoneType"),
        ([], "event must be an object, got list"),
        ({}, "no HTTP method"),
        ({"requestContext": {"http": "POST"}}, "no HTTP method"),
        ({"httpMethod": 5}, "no HTTP method"),
        ({"httpMethod": "POST", "headers": ["x"]}, "headers must be an object, got list"),
        (
            {"httpMethod": "POST", "headers": {"x-signature-ed25519": 5}},
            "header 'x-signature-ed25519' must be a string, got int",
        ),
        (
            {"httpMethod": "POST", "multiValueHeaders": "x"},
            "multiValueHeaders must be an object, got str",
        ),
        (
            {"httpMethod": "POST", "multiValueHeaders": {"X-Signature-Timestamp": "1"}},
            "multiValueHeaders 'X-Signature-Timestamp' must be a list, got str",
        ),
    ],
    ids=[
        "none",
        "list",
        "empty",
        "http-not-object",
        "method-int",
        "headers-list",
        "header-int",
        "multi-str",
        "multi-value-str",
    ],
)
def test_malformed_event_400(handler_module, event, error):
    status, payload = status_and_body(handler_module.lambda_handler(event, None))

    assert status == 400
    assert error in payload["error"]


def test_invalid_base64_body_400(handler_module, sign_event):
    event = sign_event(b'{"type":1}', base64_body=True)
    event["body"] = "not base64!"

    status, payload = status_and_body(handler_module.lambda_handler(event, None))

    assert status == 400
    assert "base64" in payload["error"]


def test_non_string_body_400(handler_module, sign_event):
    event = sign_event(b'{"type":1}')
    event["body"] = {"type": 1}

    status, payload = status_and_body(handler_module.lambda_handler(event, None))

    assert status == 400
    assert payload["error"] == "event body must be a string, got dict"


def test_null_body_is_empty(sign_event):
    event = sign_event(b"")
    event["body"] = None

    assert HttpEvent(event).body == b""


def test_rest_headers_win_over_multi_value():
    event = {
        "httpMethod": "post",
        "headers": {"X-Signature-Timestamp": "2"},
        "multiValueHeaders": {"X-Signature-Timestamp": ["1", "3"], "X-Extra": ["a", "b"]},
    }
    request = HttpEvent(event)

    assert request.method == "POST"
    assert request.header("x-signature-timestamp") == "2"
    assert request.header("X-EXTRA") == "b"


def test_lower_case_header_wins_over_multi_value():
    # The direct lookup for lower-case names must keep the precedence of the
    # full header map: the single-value map first.
    event = {
        "httpMethod": "POST",
        "headers": {"x-signature-timestamp": "2"},
        "multiValueHeaders": {"x-signature-timestamp": ["1"], "x-signature-ed25519": ["ab"]},
    }
    request = HttpEvent(event)

    assert request.header("X-Signature-Timestamp") == "2"
    assert request.header("x-signature-ed25519") == "ab"
    assert request.header("x-missing") is None


@pytest.mark.parametrize(
    ("event", "text"),
    [
        ({"body": r'{"a":"\u00e9"}'}, r'{"a":"\u00e9"}'),
        ({"body": "caf\u00e9"}, "caf\u00e9"),
        ({"body": "Y2Fmw6k=", "isBase64Encoded": True}, "caf\u00e9"),
        ({"body": None}, ""),
        ({}, ""),
    ],
    ids=["json", "non-ascii", "base64", "null", "absent"],
)
def test_text_is_body_as_str(event, text):
    request = HttpEvent({"httpMethod": "POST", **event})

    assert request.text == text
    assert request.body == text.encode()


def test_text_of_non_utf8_base64_body_raises():
    request = HttpEvent({"httpMethod": "POST", "body": "//4=", "isBase64Encoded": True})

    assert request.body == b"\xff\xfe"
    with pytest.raises(UnicodeDecodeError):
        _ = request.text


def test_lone_surrogate_body_malformed():
    with pytest.raises(MalformedEventError, match="not valid Unicode"):
        _ = HttpEvent({"httpMethod": "POST", "body": "\ud800"}).body


def test_settings_defaults():
    settings = load_settings({"DISCORD_PUBLIC_KEY": KEY_HEX})

    assert settings.public_key == bytes.fromhex(KEY_HEX)
    assert settings.max_skew_seconds == DEFAULT_MAX_SKEW_SECONDS


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "DISCORD_PUBLIC_KEY is missing or empty"),
        ({"DISCORD_PUBLIC_KEY": "  "}, "DISCORD_PUBLIC_KEY is missing or empty"),
        ({"DISCORD_PUBLIC_KEY": "ab" * 31}, "64 hexadecimal characters, got 62"),
        ({"DISCORD_PUBLIC_KEY": "zz" * 32}, "non-hexadecimal"),
        (
            {"DISCORD_PUBLIC_KEY": KEY_HEX, "DISCORD_TIMESTAMP_MAX_SKEW_SECONDS": "5m"},
            "DISCORD_TIMESTAMP_MAX_SKEW_SECONDS='5m' is invalid",
        ),
        (
            {"DISCORD_PUBLIC_KEY": KEY_HEX, "DISCORD_TIMESTAMP_MAX_SKEW_SECONDS": "0"},
            "out of range",
        ),
        (
            {"DISCORD_PUBLIC_KEY": KEY_HEX, "DISCORD_TIMESTAMP_MAX_SKEW_SECONDS": "901"},
            "from 1 to 900",
        ),
    ],
    ids=["missing", "blank", "short", "non-hex", "skew-unit", "skew-zero", "skew-too-big"],
)
def test_settings_invalid(environ, message):
    with pytest.raises(ConfigurationError, match=message):
        load_settings(environ)


@pytest.mark.parametrize("bad_key", NOT_A_PUBLIC_KEY.values(), ids=NOT_A_PUBLIC_KEY.keys())
def test_settings_reject_key_that_is_no_point(bad_key):
    # libsodium would reject every signature against such a key, so the
    # function must fail at init rather than respond with 401 to every request.
    with pytest.raises(ConfigurationError) as raised:
        load_settings({"DISCORD_PUBLIC_KEY": bad_key})

    message = str(raised.value)
    assert message.startswith("DISCORD_PUBLIC_KEY is invalid")
    assert "not an Ed25519 public key" in message
    assert "Copy the Public Key" in message
    assert "Developer Portal" in message
    assert bad_key not in message


def test_settings_error_omits_key_value():
    bad_key = "ab" * 31 + "zz"

    with pytest.raises(ConfigurationError) as raised:
        load_settings({"DISCORD_PUBLIC_KEY": bad_key})

    assert bad_key not in str(raised.value)


def test_import_fails_without_key():
    # A fresh interpreter runs the same import as Lambda's init.
    result = subprocess.run(
        [sys.executable, "-c", "import lambda_function"],
        cwd=LAMBDA_DIR,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "ConfigurationError: DISCORD_PUBLIC_KEY is missing" in result.stderr


def test_handler_does_not_import_requests(public_key_hex):
    code = (
        "import sys, lambda_function\n"
        "assert 'requests' not in sys.modules, 'requests imported at init'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=LAMBDA_DIR,
        env={"PATH": "/usr/bin:/bin", "DISCORD_PUBLIC_KEY": public_key_hex},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr


def test_reload_keeps_registry(handler_module):
    reloaded = importlib.reload(handler_module)

    assert sorted(reloaded.registry.commands) == ["echo", "ping", "wait"]
