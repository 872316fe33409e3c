"""Fixtures for the Lambda handler tests: Ed25519 keys and signed events.

Events are signed with a real key pair generated once per test session, over
`timestamp + raw body bytes`, exactly as Discord signs them.
"""

from __future__ import annotations

import base64
import importlib
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from discord_endpoint.endpoint import Endpoint
from discord_endpoint.registry import Registry
from discord_endpoint.signature import SignatureVerifier
from nacl.signing import SigningKey

SignEvent = Callable[..., dict[str, Any]]

PAYLOAD_FORMATS = ("function_url", "http_api", "rest_api")


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="session")
def public_key_hex(signing_key: SigningKey) -> str:
    return signing_key.verify_key.encode().hex()


@pytest.fixture
def handler_module(monkeypatch: pytest.MonkeyPatch, public_key_hex: str) -> ModuleType:
    """`lambda_function`, initialised with the session key as DISCORD_PUBLIC_KEY."""
    monkeypatch.setenv("DISCORD_PUBLIC_KEY", public_key_hex)
    monkeypatch.delenv("DISCORD_TIMESTAMP_MAX_SKEW_SECONDS", raising=False)
    if "lambda_function" in sys.modules:
        return importlib.reload(sys.modules["lambda_function"])
    return importlib.import_module("lambda_function")


@pytest.fixture
def make_endpoint(signing_key: SigningKey) -> Callable[[Registry], Endpoint]:
    """Build an `Endpoint` that trusts the session key and serves `registry`."""

    def build(registry: Registry, max_skew_seconds: int = 300) -> Endpoint:
        verifier = SignatureVerifier(signing_key.verify_key.encode(), max_skew_seconds)
        return Endpoint(verifier, registry)

    return build


@pytest.fixture
def sign_event(signing_key: SigningKey) -> SignEvent:
    """Return a builder of signed Lambda HTTP events; see `build_event`."""

    def sign(body: bytes | str, **kwargs: Any) -> dict[str, Any]:
        return build_event(body, key=kwargs.pop("key", signing_key), **kwargs)

    return sign


def build_event(
    body: bytes | str,
    *,
    key: SigningKey,
    payload_format: str = "function_url",
    method: str = "POST",
    timestamp: str | None = None,
    base64_body: bool = False,
    header_case: Callable[[str], str] = str.lower,
    signed_body: bytes | None = None,
    signed_timestamp: str | None = None,
    drop_headers: tuple[str, ...] = (),
    signature: str | None = None,
) -> dict[str, Any]:
    """Build a Lambda HTTP event carrying `body`, signed by `key`.

    `signed_body` and `signed_timestamp` sign other values than the ones sent,
    `signature` replaces the header value, and `drop_headers` names headers
    (lower case) to leave out, so tests can produce each kind of bad request.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    timestamp = str(int(time.time())) if timestamp is None else timestamp

    message = (signed_timestamp or timestamp).encode() + (
        raw if signed_body is None else signed_body
    )
    if signature is None:
        signature = key.sign(message).signature.hex()

    headers = {
        "content-type": "application/json",
        "user-agent": "Discord-Interactions/1.0 (+https://discord.com)",
        "x-signature-ed25519": signature,
        "x-signature-timestamp": timestamp,
    }
    headers = {
        header_case(name): value for name, value in headers.items() if name not in drop_headers
    }
    event_body = base64.b64encode(raw).decode("ascii") if base64_body else raw.decode("utf-8")

    if payload_format == "rest_api":
        return {
            "resource": "/interactions",
            "path": "/interactions",
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "queryStringParameters": None,
            "requestContext": {"httpMethod": method, "stage": "prod", "requestId": "req-1"},
            "body": event_body,
            "isBase64Encoded": base64_body,
        }

    if payload_format not in PAYLOAD_FORMATS:
        raise ValueError(f"payload_format {payload_format!r} is not one of {PAYLOAD_FORMATS}")
    # Function URLs and HTTP APIs share payload format 2.0.
    return {
        "version": "2.0",
        "routeKey": "$default" if payload_format == "function_url" else "POST /interactions",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "http": {
                "method": method,
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
        },
        "body": event_body,
        "isBase64Encoded": base64_body,
    }
