"""Interaction routing, the example commands, the registry and request logging."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from discord_endpoint import responses
from discord_endpoint.interaction import Interaction
from discord_endpoint.protocol import OptionType
from discord_endpoint.registry import Choice, Option, Registry


def command_body(name: str, options: list[dict] | None = None, **extra: Any) -> bytes:
    data: dict[str, Any] = {"id": "300", "name": name, "type": 1}
    if options is not None:
        data["options"] = options
    payload = {"type": 2, "id": "400", "token": "interaction-token-xyz", "data": data, **extra}
    return json.dumps(payload).encode()


def reply(response: dict) -> dict:
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    return json.loads(response["body"])


def test_ping_command_pong(handler_module, sign_event):
    body = reply(handler_module.lambda_handler(sign_event(command_body("ping")), None))

    assert body["type"] == 4
    assert body["data"]["content"] == "Pong"
    assert "flags" not in body["data"]


def test_echo_cannot_mention(handler_module, sign_event):
    text = "@everyone @here <@123> <@&456> hi"
    options = [{"name": "text", "type": 3, "value": text}]

    body = reply(handler_module.lambda_handler(sign_event(command_body("echo", options)), None))

    assert body["type"] == 4
    assert body["data"]["content"] == text
    assert body["data"]["allowed_mentions"] == {"parse": []}


def test_echo_truncates_to_message_limit(handler_module, sign_event):
    options = [{"name": "text", "type": 3, "value": "x" * 2500}]

    body = reply(handler_module.lambda_handler(sign_event(command_body("echo", options)), None))

    assert len(body["data"]["content"]) == 2000


def test_unknown_command_ephemeral(handler_module, sign_event):
    body = reply(handler_module.lambda_handler(sign_event(command_body("nope")), None))

    assert body["type"] == 4
    assert body["data"]["flags"] == 64
    assert "Unknown command /nope" in body["data"]["content"]


@pytest.fixture
def color_registry() -> Registry:
    """A registry with an autocompleted command, a component and a modal."""
    registry = Registry()

    @registry.command(
        "color",
        "Pick a color",
        options=[Option(OptionType.STRING, "name", "Color name", required=True, autocomplete=True)],
    )
    def color(interaction):
        return responses.message(f"You picked {interaction.options['name']}")

    @registry.autocomplete("color")
    def suggest(interaction, option_name, typed):
        names = ["red", "green", "blue"] + [f"gray{i}" for i in range(40)]
        return [{"name": n, "value": n} for n in names if n.startswith(typed)]

    @registry.command(
        "size",
        "Pick a size",
        options=[Option(OptionType.STRING, "size", "Size", choices=(Choice("Small", "s"),))],
    )
    def size(interaction):
        return responses.message("ok")

    @registry.component("vote")
    def vote(interaction):
        return responses.message(f"vote {interaction.custom_id.partition(':')[2]}")

    @registry.modal("feedback")
    def feedback(interaction):
        return responses.message("thanks", ephemeral=True)

    @registry.command("broken", "Always fails")
    def broken(interaction):
        raise RuntimeError("bug in the command")

    return registry


def autocomplete_body(name: str, typed: str | None) -> bytes:
    options = (
        [] if typed is None else [{"name": "name", "type": 3, "value": typed, "focused": True}]
    )
    payload = {"type": 4, "id": "500", "token": "t", "data": {"name": name, "options": options}}
    return json.dumps(payload).encode()


def test_autocomplete_choices(make_endpoint, color_registry, sign_event):
    endpoint = make_endpoint(color_registry)

    body = reply(endpoint.handle(sign_event(autocomplete_body("color", "gr"))))

    assert body["type"] == 8
    assert body["data"]["choices"][0] == {"name": "green", "value": "green"}
    assert len(body["data"]["choices"]) == 25


@pytest.mark.parametrize(
    ("name", "typed"),
    [("color", None), ("size", "s"), ("ping", "x"), ("missing", "x")],
    ids=["no-focused-option", "no-handler", "no-autocomplete-option", "unknown-command"],
)
def test_autocomplete_empty(make_endpoint, color_registry, sign_event, name, typed):
    endpoint = make_endpoint(color_registry)

    body = reply(endpoint.handle(sign_event(autocomplete_body(name, typed))))

    assert body == {"type": 8, "data": {"choices": []}}


def test_autocomplete_subcommand_focus(make_endpoint, color_registry, sign_event):
    nested = [
        {
            "name": "sub",
            "type": 1,
            "options": [{"name": "name", "type": 3, "value": "bl", "focused": True}],
        }
    ]
    payload = {"type": 4, "id": "1", "data": {"name": "color", "options": nested}}

    body = reply(make_endpoint(color_registry).handle(sign_event(json.dumps(payload))))

    assert body["data"]["choices"] == [{"name": "blue", "value": "blue"}]


def test_autocomplete_handler_failure_empty(make_endpoint, sign_event):
    registry = Registry()
    option = Option(OptionType.STRING, "name", "Name", autocomplete=True)
    registry.command("color", "Pick", options=[option])(lambda interaction: {})
    registry.autocomplete("color")(lambda *args: 1 / 0)

    body = reply(make_endpoint(registry).handle(sign_event(autocomplete_body("color", "r"))))

    assert body == {"type": 8, "data": {"choices": []}}


@pytest.mark.parametrize(
    ("interaction_type", "custom_id", "content"),
    [(3, "vote:42", "vote 42"), (3, "vote", "vote "), (5, "feedback:x", "thanks")],
    ids=["component-with-data", "component-bare", "modal"],
)
def test_custom_id_routing(
    make_endpoint, color_registry, sign_event, interaction_type, custom_id, content
):
    payload = {"type": interaction_type, "id": "1", "data": {"custom_id": custom_id}}

    body = reply(make_endpoint(color_registry).handle(sign_event(json.dumps(payload))))

    assert body["type"] == 4
    assert body["data"]["content"] == content


@pytest.mark.parametrize(("interaction_type", "kind"), [(3, "component"), (5, "modal")])
def test_unknown_custom_id_ephemeral(
    make_endpoint, color_registry, sign_event, interaction_type, kind
):
    payload = {"type": interaction_type, "id": "1", "data": {"custom_id": "votes:1"}}

    body = reply(make_endpoint(color_registry).handle(sign_event(json.dumps(payload))))

    assert body["data"]["flags"] == 64
    assert f"This {kind} is no longer handled" in body["data"]["content"]


def test_command_failure_ephemeral(make_endpoint, color_registry, sign_event, caplog):
    with caplog.at_level(logging.ERROR, logger="discord_endpoint"):
        body = reply(make_endpoint(color_registry).handle(sign_event(command_body("broken"))))

    assert body["data"]["flags"] == 64
    assert "/broken failed" in body["data"]["content"]
    assert "bug in the command" in caplog.text


def test_request_log_fields_without_secrets(handler_module, sign_event, caplog):
    event = sign_event(command_body("ping"))
    signature = event["headers"]["x-signature-ed25519"]

    with caplog.at_level(logging.INFO, logger="discord_endpoint"):
        handler_module.lambda_handler(event, None)

    [record] = [r for r in caplog.records if r.name == "discord_endpoint.endpoint"]
    assert record.interaction_id == "400"
    assert record.interaction_type == 2
    assert record.command == "ping"
    assert record.outcome == "handled"
    assert record.status == 200
    assert record.latency_ms >= 0
    assert record.error is None
    assert "interaction-token-xyz" not in caplog.text
    assert signature not in caplog.text
    assert event["body"] not in caplog.text


def test_rejected_request_logged(handler_module, sign_event, caplog):
    event = sign_event(command_body("ping"), signed_body=b"{}")

    with caplog.at_level(logging.INFO, logger="discord_endpoint"):
        handler_module.lambda_handler(event, None)

    [record] = [r for r in caplog.records if r.name == "discord_endpoint.endpoint"]
    assert record.outcome == "bad_signature"
    assert record.status == 401
    assert record.interaction_id is None
    assert "does not match" in record.error
    assert event["headers"]["x-signature-ed25519"] not in caplog.text


def test_ping_logged_without_thread_fields(handler_module, sign_event, caplog):
    # Init switches off the thread and process fields, which Lambda's log
    # formatters do not print, and keeps the PING line at INFO with every field.
    with caplog.at_level(logging.INFO, logger="discord_endpoint"):
        handler_module.lambda_handler(sign_event(b'{"type":1,"id":"77"}'), None)

    [record] = [r for r in caplog.records if r.name == "discord_endpoint.endpoint"]
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("interaction 77 type=1 command=None outcome=pong")
    assert record.status == 200
    assert record.thread is None
    assert record.threadName is None
    assert record.process is None
    assert record.processName is None


def test_interaction_id_cut():
    interaction = Interaction({"type": 2, "id": "9" * 5000})

    assert interaction.id == "9" * 100


def test_interaction_repr_omits_token():
    interaction = Interaction({"type": 2, "id": "9", "token": "secret-token", "data": {}})

    assert "secret-token" not in repr(interaction)
    assert "9" in repr(interaction)


def test_definitions_shipped_commands(handler_module):
    definitions = handler_module.registry.definitions()

    assert [d["name"] for d in definitions] == ["echo", "ping", "wait"]
    assert definitions[0]["options"] == [
        {
            "type": 3,
            "name": "text",
            "description": "Text to repeat",
            "required": True,
            "max_length": 2000,
        }
    ]
    assert definitions[1] == {
        "type": 1,
        "name": "ping",
        "description": "Check that the bot answers",
        "options": [],
    }
    json.dumps(definitions)


def test_definitions_choices_and_autocomplete(color_registry):
    by_name = {d["name"]: d for d in color_registry.definitions()}

    assert by_name["color"]["options"][0]["autocomplete"] is True
    assert "choices" not in by_name["color"]["options"][0]
    assert by_name["size"]["options"][0]["choices"] == [{"name": "Small", "value": "s"}]
    assert "autocomplete" not in by_name["size"]["options"][0]


def test_command_slow_flag_stored():
    registry = Registry()
    registry.command("report", "Build a report", slow=True)(lambda interaction: {})

    assert registry.commands["report"].slow is True


STRING = OptionType.STRING


@pytest.mark.parametrize(
    ("name", "description", "options", "message"),
    [
        ("Ping", "d", [], "name 'Ping' is invalid"),
        ("has space", "d", [], "is invalid"),
        ("x" * 33, "d", [], "is invalid"),
        ("ok", "", [], "description must be 1 to 100"),
        ("ok", "d" * 101, [], "description must be 1 to 100"),
        ("ok", "d", [Option(STRING, "a", "d")] * 26, "maximum is 25"),
        ("ok", "d", [Option(STRING, "a", "d"), Option(STRING, "a", "d")], "declared twice"),
        (
            "ok",
            "d",
            [Option(STRING, "a", "d"), Option(STRING, "b", "d", required=True)],
            "follows an optional option",
        ),
        (
            "ok",
            "d",
            [Option(STRING, "a", "d", choices=(Choice("x", "x"),), autocomplete=True)],
            "choices together with autocomplete",
        ),
        (
            "ok",
            "d",
            [Option(OptionType.BOOLEAN, "a", "d", autocomplete=True)],
            "need a STRING, INTEGER or NUMBER",
        ),
        ("ok", "d", [Option(STRING, "a", "d", choices=(Choice("x", "x"),) * 26)], "maximum is 25"),
        ("ok", "d", [Option(OptionType.INTEGER, "a", "d", max_length=5)], "max_length"),
    ],
    ids=[
        "upper-case",
        "space",
        "too-long",
        "no-description",
        "long-description",
        "too-many-options",
        "duplicate-option",
        "required-after-optional",
        "choices-and-autocomplete",
        "autocomplete-boolean",
        "too-many-choices",
        "max-length-integer",
    ],
)
def test_registry_rejects_invalid_command(name, description, options, message):
    with pytest.raises(ValueError, match=message):
        Registry().command(name, description, options=options)


def test_registry_rejects_duplicate_command():
    registry = Registry()
    registry.command("ping", "d")(lambda interaction: {})

    with pytest.raises(ValueError, match="already registered"):
        registry.command("ping", "d")


def test_registry_accepts_unicode_name():
    registry = Registry()
    registry.command("café_2", "d")(lambda interaction: {})

    assert registry.definitions()[0]["name"] == "café_2"


@pytest.mark.parametrize("custom_id", ["", "a:b", "x" * 100])
def test_registry_rejects_invalid_custom_id(custom_id):
    with pytest.raises(ValueError, match="custom_id"):
        Registry().component(custom_id)


def test_registry_autocomplete_needs_option():
    registry = Registry()
    registry.command("ping", "d")(lambda interaction: {})

    with pytest.raises(ValueError, match="no option with autocomplete=True"):
        registry.autocomplete("ping")
    with pytest.raises(ValueError, match="register the command first"):
        registry.autocomplete("missing")
