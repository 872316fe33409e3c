"""The interaction token stays out of every log record, even with the root logger at DEBUG.

urllib3 logs each request line at DEBUG (the PATCH path contains the token),
and botocore logs the Invoke parameters at DEBUG (the payload contains the
signed body, and with it the token). These tests run both paths with all
loggers at DEBUG and search every captured record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import boto3
import pytest
from aws_support import create_test_function, set_fake_credentials
from deferred_support import (  # noqa: F401 - fixtures
    INTERACTION_TOKEN,
    LambdaContext,
    command_body,
    discord_fixture,
    discord_server_fixture,
    edit_path,
)
from discord_endpoint import responses
from discord_endpoint.deferral import LambdaInvoker, SignedRequest, build_deferred_event
from discord_endpoint.followup import TOKEN_LIFETIME_SECONDS, FollowUpRunner
from discord_endpoint.registry import Registry
from discord_endpoint.signature import SignatureVerifier
from discord_endpoint.webhook import WebhookClient
from moto import mock_aws
from nacl.signing import SigningKey
from pytest_httpserver import HTTPServer

REGION = "eu-west-1"
FUNCTION_NAME = "discord-endpoint-logging-test"
TRANSPORT_LOGGERS = ("urllib3", "botocore", "boto3")


@pytest.fixture
def debug_everywhere(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every logger at DEBUG, starting from unset third-party levels.

    Earlier tests may have created clients that capped these loggers already;
    resetting them makes each test show the cap that its own code path sets.
    """
    saved = {name: logging.getLogger(name).level for name in (*TRANSPORT_LOGGERS, "werkzeug")}
    for name in TRANSPORT_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    # The stand-in server's access log contains the request path. It is the
    # test's server, not the function, so it is kept out of the capture.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    caplog.set_level(logging.DEBUG)

    yield caplog

    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def all_records(caplog: pytest.LogCaptureFixture) -> str:
    """Return every captured record: logger name, message and any traceback."""
    lines = []
    for record in caplog.records:
        lines.append(f"{record.name} {record.getMessage()}")
        if record.exc_text:
            lines.append(record.exc_text)
    return "\n".join(lines)


def signed_event(key: SigningKey, body: bytes) -> dict:
    """Return the deferred event for `body`, signed by `key` as Discord signs requests."""
    stamp = str(int(time.time()))
    signature = key.sign(stamp.encode() + body).signature.hex()
    return build_deferred_event(SignedRequest(stamp, signature, body))


def test_follow_up_at_debug_omits_token(signing_key, discord: HTTPServer, debug_everywhere):
    registry = Registry()

    @registry.command("later", "Reply later", slow=True)
    def later(interaction):
        return responses.message("done")

    verifier = SignatureVerifier(signing_key.verify_key.encode(), TOKEN_LIFETIME_SECONDS)
    runner = FollowUpRunner(verifier, registry, WebhookClient(discord.url_for("/").rstrip("/")))
    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({})

    result = runner.run(signed_event(signing_key, command_body("later")), LambdaContext())

    assert result == {"outcome": "edited"}
    discord.check_assertions()
    logged = all_records(debug_everywhere)
    assert "outcome=edited" in logged
    assert INTERACTION_TOKEN not in logged


@pytest.fixture
def aws_credentials(monkeypatch):
    set_fake_credentials(monkeypatch, REGION)


def create_function() -> None:
    create_test_function(
        boto3.client("iam", region_name=REGION),
        boto3.client("lambda", region_name=REGION),
        FUNCTION_NAME,
    )


# moto runs function code only in Docker, which this machine lacks; its simple
# backend accepts the Event invocation without running anything.
@mock_aws(config={"lambda": {"use_docker": False}})
def test_invoke_at_debug_omits_payload(aws_credentials, signing_key, debug_everywhere):
    create_function()
    # The body is plain JSON, so the token would appear verbatim in a logged
    # payload, and base64 in the deferred event; search for both forms.
    event = signed_event(signing_key, command_body("later"))
    encoded_body = event["discord_deferred_interaction"]["body"]
    debug_everywhere.clear()

    LambdaInvoker(FUNCTION_NAME)(event)

    logged = all_records(debug_everywhere)
    assert INTERACTION_TOKEN not in logged
    assert encoded_body[:40] not in logged
