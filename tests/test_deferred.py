"""Deferral of slow commands on the HTTP side, and the isolation of the asynchronous path."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest
from conftest import PAYLOAD_FORMATS
from deferred_support import (  # noqa: F401 - fixtures
    INTERACTION_TOKEN,
    LambdaContext,
    RecordingInvoker,
    command_body,
    discord_fixture,
    discord_server_fixture,
    edit_path,
    wait_options,
)
from discord_endpoint import responses
from discord_endpoint.deferral import (
    HTTP_EVENT_KEYS,
    Deferrer,
    is_deferred_event,
    parse_deferred_event,
)
from discord_endpoint.endpoint import Endpoint
from discord_endpoint.registry import Option, Registry
from discord_endpoint.signature import SignatureVerifier
from nacl.signing import SigningKey
from pytest_httpserver import HTTPServer

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def reply(response: dict[str, Any]) -> dict[str, Any]:
    assert response["statusCode"] == 200
    return json.loads(response["body"])


@pytest.fixture
def slow_registry() -> Registry:
    commands = Registry()

    @commands.command(
        "slowpoke",
        "A slow command",
        options=[Option(4, "n", "A number", autocomplete=True)],
        slow=True,
    )
    def slowpoke(interaction):
        return responses.message("slow result")

    @commands.autocomplete("slowpoke")
    def slowpoke_choices(interaction, option, value):
        return [{"name": "one", "value": 1}]

    @commands.command("quick", "A quick command")
    def quick(interaction):
        return responses.message("quick result")

    return commands


@pytest.fixture
def deferring_endpoint(signing_key: SigningKey):
    """Build an Endpoint that trusts the session key and defers through `invoker`."""

    def build(commands: Registry, invoker: RecordingInvoker) -> Endpoint:
        verifier = SignatureVerifier(signing_key.verify_key.encode(), 300)
        return Endpoint(verifier, commands, deferrer=Deferrer(invoker))

    return build


@pytest.fixture
def entry_point(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, discord: HTTPServer
) -> ModuleType:
    """`lambda_function`, initialised to send its webhook edits to the stand-in."""
    monkeypatch.setenv("DISCORD_API_BASE_URL", discord.url_for("/").rstrip("/"))
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    return request.getfixturevalue("handler_module")


# --- the HTTP run ---------------------------------------------------------------------------


def test_slow_command_answers_type_5(deferring_endpoint, slow_registry, sign_event):
    invoker = RecordingInvoker()
    body = command_body("slowpoke")
    http_event = sign_event(body)

    response = deferring_endpoint(slow_registry, invoker).handle(http_event)

    assert reply(response) == {"type": 5}
    assert len(invoker.events) == 1
    event = invoker.events[0]
    assert is_deferred_event(event)
    signed = parse_deferred_event(event)
    assert signed.body == body
    assert signed.timestamp == http_event["headers"]["x-signature-timestamp"]
    assert signed.signature == http_event["headers"]["x-signature-ed25519"]


def test_deferral_keeps_base64_body_bytes(deferring_endpoint, slow_registry, sign_event):
    invoker = RecordingInvoker()
    body = command_body("slowpoke", locale="fr", note="caf\u00e9 \\u00e9 1.0 a/b")

    response = deferring_endpoint(slow_registry, invoker).handle(sign_event(body, base64_body=True))

    assert reply(response) == {"type": 5}
    assert parse_deferred_event(invoker.events[0]).body == body


def test_deferral_logged_without_token(deferring_endpoint, slow_registry, sign_event, caplog):
    caplog.set_level(logging.INFO)

    deferring_endpoint(slow_registry, RecordingInvoker()).handle(
        sign_event(command_body("slowpoke"))
    )

    assert "outcome=deferred" in caplog.text
    assert INTERACTION_TOKEN not in caplog.text


def test_quick_command_not_deferred(deferring_endpoint, slow_registry, sign_event):
    invoker = RecordingInvoker()

    response = deferring_endpoint(slow_registry, invoker).handle(sign_event(command_body("quick")))

    assert reply(response)["data"]["content"] == "quick result"
    assert invoker.events == []


def test_autocomplete_of_slow_not_deferred(deferring_endpoint, slow_registry, sign_event):
    invoker = RecordingInvoker()
    options = [{"name": "n", "type": 4, "value": 1, "focused": True}]
    body = command_body("slowpoke", options, type=4)

    response = deferring_endpoint(slow_registry, invoker).handle(sign_event(body))

    assert reply(response) == {"type": 8, "data": {"choices": [{"name": "one", "value": 1}]}}
    assert invoker.events == []


def test_invoke_failure_answers_ephemeral(deferring_endpoint, slow_registry, sign_event, caplog):
    invoker = RecordingInvoker(fail=True)

    response = deferring_endpoint(slow_registry, invoker).handle(
        sign_event(command_body("slowpoke"))
    )

    body = reply(response)
    assert body["type"] == 4
    assert body["data"]["content"] == "Sorry, /slowpoke could not be started. Try again later."
    assert body["data"]["flags"] == 64
    assert "TooManyRequestsException" in caplog.text


def test_without_deferrer_runs_inline(make_endpoint, slow_registry, sign_event):
    response = make_endpoint(slow_registry).handle(sign_event(command_body("slowpoke")))

    assert reply(response)["data"]["content"] == "slow result"


def test_unsigned_slow_command_not_deferred(deferring_endpoint, slow_registry, sign_event):
    invoker = RecordingInvoker()
    event = sign_event(command_body("slowpoke"), key=SigningKey.generate())

    response = deferring_endpoint(slow_registry, invoker).handle(event)

    assert response["statusCode"] == 401
    assert invoker.events == []


def test_deferrer_needs_function_name():
    assert Deferrer.from_environ({}) is None
    assert Deferrer.from_environ({"AWS_LAMBDA_FUNCTION_NAME": " "}) is None
    assert Deferrer.from_environ({"AWS_LAMBDA_FUNCTION_NAME": "endpoint-dev"}) is not None


# --- round trip through the entry point -----------------------------------------------------


def test_wait_round_trip(entry_point, deferring_endpoint, sign_event, discord, caplog):
    """/wait: type 5 from the HTTP run, then the asynchronous run edits the response."""
    from discord_endpoint.registry import registry

    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({})
    invoker = RecordingInvoker()
    http_event = sign_event(command_body("wait", wait_options(1)))

    http_response = deferring_endpoint(registry, invoker).handle(http_event)
    result = entry_point.lambda_handler(invoker.events[0], LambdaContext())

    assert reply(http_response) == {"type": 5}
    assert result == {"outcome": "edited"}
    assert discord.log[0][0].get_json()["content"] == "Waited 1 s."
    ours = [record.getMessage() for record in caplog.records if record.name != "werkzeug"]
    assert not any(INTERACTION_TOKEN in message for message in ours)


# --- the asynchronous path is not reachable over HTTP ---------------------------------------


@pytest.fixture
def deferred_event(deferring_endpoint, slow_registry, sign_event) -> dict[str, Any]:
    """A genuine deferred event for /wait, as the HTTP run would queue it."""
    from discord_endpoint.registry import registry

    invoker = RecordingInvoker()
    deferring_endpoint(registry, invoker).handle(sign_event(command_body("wait", wait_options(1))))
    return invoker.events[0]


@pytest.mark.parametrize("payload_format", PAYLOAD_FORMATS)
def test_signed_http_body_mimicking_event(
    entry_point, sign_event, deferred_event, discord, payload_format
):
    """A Function URL request whose body is the deferred event gets the HTTP treatment."""
    body = json.dumps(deferred_event)

    signed = entry_point.lambda_handler(sign_event(body, payload_format=payload_format), None)
    unsigned = entry_point.lambda_handler(
        sign_event(body, payload_format=payload_format, key=SigningKey.generate()), None
    )

    assert signed["statusCode"] == 400
    assert unsigned["statusCode"] == 401
    assert discord.log == []


@pytest.mark.parametrize("payload_format", PAYLOAD_FORMATS)
def test_http_event_with_marker_not_deferred(
    entry_point, sign_event, deferred_event, discord, payload_format
):
    """The deferred-event key added to a real HTTP event never diverts it from verification."""
    http_event = {**sign_event(b"{}", payload_format=payload_format), **deferred_event}

    response = entry_point.lambda_handler(http_event, None)

    assert not is_deferred_event(http_event)
    assert response["statusCode"] in {400, 401}
    assert discord.log == []


@pytest.mark.parametrize("key", sorted(HTTP_EVENT_KEYS))
def test_any_http_key_disables_async_path(entry_point, deferred_event, discord, key):
    event = {**deferred_event, key: None}

    response = entry_point.lambda_handler(event, None)

    assert not is_deferred_event(event)
    assert "statusCode" in response
    assert response["statusCode"] != 200
    assert discord.log == []


@pytest.mark.parametrize("event", [None, [], "text", 7, {}, {"discord": 1}])
def test_non_marker_events_not_deferred(event):
    assert not is_deferred_event(event)


# --- init stays light -----------------------------------------------------------------------


def test_init_imports_no_deferred_only_modules(public_key_hex):
    code = (
        "import sys, lambda_function\n"
        "names = ('boto3', 'botocore', 'requests', 'discord_endpoint.followup')\n"
        "print(','.join(sorted(name for name in names if name in sys.modules)))\n"
    )
    environment = {
        "PATH": "/usr/bin:/bin",
        "DISCORD_PUBLIC_KEY": public_key_hex,
        "AWS_LAMBDA_FUNCTION_NAME": "endpoint-test",
        "PYTHONPATH": os.path.join(REPO_ROOT, "lambda"),
    }

    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=True,
    )

    assert result.stdout.strip() == ""


# --- option bounds in the registry ----------------------------------------------------------


def test_option_bounds_in_definition():
    commands = Registry()
    commands.command("roll", "Roll", options=[Option(10, "p", "P", min_value=0.5, max_value=2)])(
        lambda interaction: responses.message("x")
    )

    option = commands.definitions()[0]["options"][0]
    assert option["min_value"] == 0.5
    assert option["max_value"] == 2


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (Option(3, "text", "Text", min_value=1), "need an INTEGER or NUMBER option"),
        (Option(4, "n", "N", min_value=5, max_value=1), "min_value 5 is greater than max_value 1"),
    ],
)
def test_option_bounds_checked(option, message):
    with pytest.raises(ValueError, match=message):
        Registry().command("bad", "Bad", options=[option])
