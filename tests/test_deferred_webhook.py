"""The webhook client that edits original responses, against a Discord stand-in on 127.0.0.1."""

from __future__ import annotations

import re
import time

import pytest
from deferred_support import (  # noqa: F401 - fixtures
    APPLICATION_ID,
    INTERACTION_TOKEN,
    discord_fixture,
    discord_server_fixture,
    edit_path,
)
from discord_endpoint.config import ConfigurationError
from discord_endpoint.webhook import WebhookClient, WebhookError
from pytest_httpserver import HTTPServer

MESSAGE = {"content": "Waited 3 s.", "allowed_mentions": {"parse": []}}


def client_for(server: HTTPServer, sleeps: list[float] | None = None) -> WebhookClient:
    recorded = [] if sleeps is None else sleeps
    return WebhookClient(server.url_for("/").rstrip("/"), sleep=recorded.append)


def later(seconds: float = 600.0) -> float:
    return time.time() + seconds


def test_edit_patches_original(discord):
    discord.expect_oneshot_request(edit_path(), method="PATCH", json=MESSAGE).respond_with_json(
        {"id": "1", "content": MESSAGE["content"]}
    )

    client_for(discord).edit_original(APPLICATION_ID, INTERACTION_TOKEN, MESSAGE, later())

    discord.check_assertions()
    request = discord.log[0][0]
    assert "Authorization" not in request.headers
    assert request.headers["User-Agent"].startswith("DiscordBot (")


def test_edit_sends_json_text_unchanged(discord):
    # The follow-up run passes the text it has already encoded, so that the
    # HTTP client never encodes the handler's reply a second time.
    text = '{"content":"caf\\u00e9","allowed_mentions":{"parse":[]}}'
    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({"id": "1"})

    client_for(discord).edit_original(APPLICATION_ID, INTERACTION_TOKEN, text, later())

    request = discord.log[0][0]
    assert request.get_data(as_text=True) == text
    assert request.headers["Content-Type"] == "application/json"
    assert request.get_json()["content"] == "caf\u00e9"


def test_edit_quotes_token_in_path(discord):
    token = "abc/def?x#y"
    discord.expect_oneshot_request(re.compile("/webhooks/.*"), method="PATCH").respond_with_json({})

    client_for(discord).edit_original(APPLICATION_ID, token, MESSAGE, later())

    raw_uri = discord.log[0][0].environ["REQUEST_URI"]
    assert raw_uri == f"/webhooks/{APPLICATION_ID}/abc%2Fdef%3Fx%23y/messages/@original"


def test_edit_retries_after_429(discord):
    sleeps: list[float] = []
    discord.expect_ordered_request(edit_path(), method="PATCH").respond_with_json(
        {"message": "You are being rate limited.", "retry_after": 0.3, "global": False},
        status=429,
    )
    discord.expect_ordered_request(edit_path(), method="PATCH").respond_with_json({})

    client_for(discord, sleeps).edit_original(APPLICATION_ID, INTERACTION_TOKEN, MESSAGE, later())

    assert sleeps == [0.3]
    assert len(discord.log) == 2
    discord.check_assertions()


def test_edit_429_past_deadline_fails(discord):
    sleeps: list[float] = []
    discord.expect_request(edit_path(), method="PATCH").respond_with_json(
        {"retry_after": 30}, status=429, headers={"Retry-After": "30"}
    )

    with pytest.raises(WebhookError, match="HTTP 429") as raised:
        client_for(discord, sleeps).edit_original(
            APPLICATION_ID, INTERACTION_TOKEN, MESSAGE, later(10)
        )

    assert sleeps == []
    assert INTERACTION_TOKEN not in str(raised.value)


def test_edit_429_retries_bounded(discord):
    sleeps: list[float] = []
    discord.expect_request(edit_path(), method="PATCH").respond_with_json(
        {"retry_after": 0.01}, status=429
    )

    with pytest.raises(WebhookError):
        client_for(discord, sleeps).edit_original(
            APPLICATION_ID, INTERACTION_TOKEN, MESSAGE, later()
        )

    assert len(discord.log) == 4
    assert sleeps == [0.01, 0.01, 0.01]


def test_edit_waits_for_original(discord):
    sleeps: list[float] = []
    discord.expect_ordered_request(edit_path(), method="PATCH").respond_with_json(
        {"message": "Unknown Message", "code": 10008}, status=404
    )
    discord.expect_ordered_request(edit_path(), method="PATCH").respond_with_json({})

    client_for(discord, sleeps).edit_original(APPLICATION_ID, INTERACTION_TOKEN, MESSAGE, later())

    assert sleeps == [1.0]
    assert len(discord.log) == 2
    discord.check_assertions()


def test_edit_404_reports_discord_error(discord):
    discord.expect_request(edit_path(), method="PATCH").respond_with_json(
        {"message": "Unknown Webhook", "code": 10015}, status=404
    )

    with pytest.raises(WebhookError) as raised:
        client_for(discord).edit_original(APPLICATION_ID, INTERACTION_TOKEN, MESSAGE, later())

    message = str(raised.value)
    assert len(discord.log) == 1
    assert "HTTP 404" in message
    assert "code 10015: Unknown Webhook" in message
    assert INTERACTION_TOKEN not in message


def test_edit_connection_error_hides_token():
    closed = HTTPServer(host="127.0.0.1", port=0)
    closed.start()
    base_url = closed.url_for("/").rstrip("/")
    closed.stop()

    with pytest.raises(WebhookError, match="ConnectionError") as raised:
        WebhookClient(base_url).edit_original(APPLICATION_ID, INTERACTION_TOKEN, MESSAGE, later())

    assert INTERACTION_TOKEN not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_edit_rejects_bad_application_id(discord):
    with pytest.raises(WebhookError, match="is not a Discord id"):
        client_for(discord).edit_original("../../x", INTERACTION_TOKEN, MESSAGE, later())

    assert discord.log == []


def test_base_url_from_environment():
    client = WebhookClient.from_environ({"DISCORD_API_BASE_URL": "http://127.0.0.1:9/api/"})

    assert client._api_base_url == "http://127.0.0.1:9/api"


@pytest.mark.parametrize("value", ["discord.com/api/v10", "ftp://127.0.0.1/"])
def test_invalid_base_url_rejected(value):
    with pytest.raises(ConfigurationError, match="DISCORD_API_BASE_URL"):
        WebhookClient.from_environ({"DISCORD_API_BASE_URL": value})
