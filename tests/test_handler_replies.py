"""Replies built by application handlers: shared state, flags, and replies that cannot be sent."""

from __future__ import annotations

import itertools
import json
import logging
import math
import sys

import pytest
from discord_endpoint import responses
from discord_endpoint.protocol import OptionType
from discord_endpoint.registry import Option, Registry


def reply(response: dict) -> dict:
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    return json.loads(response["body"])


def command_body(name: str) -> str:
    return json.dumps({"type": 2, "id": "600", "data": {"name": name, "type": 1}})


def autocomplete_body(name: str, typed: str = "") -> str:
    options = [{"name": "name", "type": 3, "value": typed, "focused": True}]
    return json.dumps({"type": 4, "id": "1", "data": {"name": name, "options": options}})


def autocomplete_registry(name: str, suggest) -> Registry:
    """Return a registry with one command `name` whose option is completed by `suggest`."""
    registry = Registry()
    option = Option(OptionType.STRING, "name", "Name", autocomplete=True)
    registry.command(name, "Autocompleted", options=[option])(lambda interaction: {})
    registry.autocomplete(name)(suggest)
    return registry


@pytest.fixture
def faulty_registry() -> Registry:
    """Commands, a component and an autocomplete handler whose replies cannot be sent as is."""
    registry = Registry()

    @registry.command("none", "Returns nothing")
    def returns_none(interaction):
        return None

    @registry.command("text", "Returns a bare string")
    def returns_text(interaction):
        return "hello"

    @registry.command("set", "Returns a set in the message")
    def returns_set(interaction):
        return responses.message("x", embeds={1, 2})

    @registry.command("nan", "Returns NaN in the message")
    def returns_nan(interaction):
        return responses.message("x", embeds=[{"value": math.nan}])

    @registry.command("untyped", "Returns a dict without a type")
    def returns_untyped(interaction):
        return {"content": "x"}

    @registry.command("bool-type", "Returns a reply whose type is a bool")
    def returns_bool_type(interaction):
        return {"type": True}

    @registry.command("text-data", "Returns a reply whose data is a str")
    def returns_text_data(interaction):
        return {"type": 4, "data": "x"}

    @registry.command("get-raises", "Returns a dict subclass whose get() raises")
    def returns_get_raises(interaction):
        return RaisingDict(type=4)

    @registry.command("exits", "Calls sys.exit, as argparse's parser.error() does")
    def exits(interaction):
        raise SystemExit(2)

    @registry.command("exit-data", "Returns data whose encoding raises SystemExit")
    def returns_exit_data(interaction):
        return responses.message("x", embeds=[ExitDict(a=1)])

    @registry.command("huge", "Returns a reply longer than Lambda can return")
    def returns_huge(interaction):
        return responses.message("x" * (responses.MAX_BODY_CHARS + 1))

    @registry.command("raising", "Returns a dict subclass that raises when encoded")
    def returns_raising(interaction):
        return responses.message("x", embeds=[RaisingDict(a=1)])

    @registry.component("knob")
    def knob(interaction):
        return responses.message("x", components=[object()])

    option = Option(OptionType.STRING, "name", "Name", autocomplete=True)

    @registry.command("pick", "Autocompleted", options=[option])
    def pick(interaction):
        return responses.message("picked")

    @registry.autocomplete("pick")
    def suggest(interaction, option_name, typed):
        returned = AUTOCOMPLETE_RETURNS[typed]
        return returned() if callable(returned) else returned

    return registry


class RaisingDict(dict):
    """A dict whose methods raise, as a broken mapping in application code might."""

    def items(self):
        raise RuntimeError("broken mapping")

    def get(self, key, default=None):
        raise RuntimeError("broken mapping")

    def __contains__(self, key):
        raise RuntimeError("broken mapping")


class ExitDict(dict):
    def items(self):
        raise SystemExit(3)


def raising_generator():
    yield {"name": "a", "value": "a"}
    raise RuntimeError("broken generator")


# What the "pick" autocomplete handler returns for each typed value. A
# callable is called, and its result returned.
AUTOCOMPLETE_RETURNS = {
    "object": [{"name": "a", "value": object()}],
    "str": "abc",
    "dict": {"name": "a", "value": "b"},
    "ints": [1, 2],
    "no-value": [{"name": "a"}],
    "none": None,
    "int": 5,
    "contains-raises": [RaisingDict(name="a", value="a")],
    "exits": lambda: sys.exit(2),
    "26th-bad": [{"name": str(i), "value": str(i)} for i in range(25)] + ["bad"],
    "generator-raises": raising_generator,  # called per request: a generator runs once
}


def test_echo_mentions_not_shared(handler_module, sign_event):
    # A handler that enables mentions on its own reply must not enable them
    # on the replies that follow in the same process.
    responses.message("first")["data"]["allowed_mentions"]["parse"].append("everyone")
    options = [{"name": "text", "type": 3, "value": "@everyone"}]
    body = json.dumps({"type": 2, "id": "1", "data": {"name": "echo", "options": options}})

    echoed = reply(handler_module.lambda_handler(sign_event(body), None))

    assert echoed["data"]["allowed_mentions"] == {"parse": []}
    assert responses.no_mentions() == {"parse": []}


def test_ephemeral_keeps_other_flags():
    message = responses.message("x", ephemeral=True, flags=4)

    assert message["data"]["flags"] == 68
    assert type(message["data"]["flags"]) is int


@pytest.mark.parametrize(
    ("command", "logged"),
    [
        ("none", "returned NoneType, not a reply dict"),
        ("text", "returned str, not a reply dict"),
        ("untyped", "returned a reply whose type is NoneType, not int"),
        ("bool-type", "returned a reply whose type is bool, not int"),
        ("text-data", "returned a reply whose data is str, not dict"),
        ("get-raises", "handler for /get-raises failed"),
        ("exits", "handler for /exits failed"),
        ("exit-data", "cannot be sent as JSON"),
        ("huge", "cannot be sent as JSON"),
        ("set", "cannot be sent as JSON"),
        ("nan", "cannot be sent as JSON"),
        ("raising", "cannot be sent as JSON"),
    ],
)
def test_unsendable_reply_ephemeral(
    make_endpoint, faulty_registry, sign_event, caplog, command, logged
):
    with caplog.at_level(logging.INFO, logger="discord_endpoint"):
        body = reply(make_endpoint(faulty_registry).handle(sign_event(command_body(command))))

    assert body["type"] == 4
    assert body["data"]["flags"] == 64
    assert body["data"]["content"] == f"Sorry, /{command} failed. Try again later."
    assert logged in caplog.text
    [request] = [r for r in caplog.records if hasattr(r, "outcome")]
    assert request.outcome == "handler_failed"


def test_unsendable_component_reply(make_endpoint, faulty_registry, sign_event):
    payload = json.dumps({"type": 3, "id": "1", "data": {"custom_id": "knob:secret-state"}})

    body = reply(make_endpoint(faulty_registry).handle(sign_event(payload)))

    assert body["data"]["content"] == "Sorry, component 'knob' failed. Try again later."


def test_bad_choice_after_25th_dropped(make_endpoint, faulty_registry, sign_event):
    # Only the first 25 choices are sent, so only they are checked.
    payload = autocomplete_body("pick", "26th-bad")

    body = reply(make_endpoint(faulty_registry).handle(sign_event(payload)))

    assert len(body["data"]["choices"]) == 25


@pytest.mark.parametrize("returned", sorted(set(AUTOCOMPLETE_RETURNS) - {"26th-bad"}))
def test_unsendable_autocomplete_empty(make_endpoint, faulty_registry, sign_event, returned):
    # Autocomplete accepts only type 8, even when the choices cannot be sent.
    payload = autocomplete_body("pick", returned)

    body = reply(make_endpoint(faulty_registry).handle(sign_event(payload)))

    assert body == {"type": 8, "data": {"choices": []}}


def test_autocomplete_generator_accepted(make_endpoint, sign_event):
    registry = autocomplete_registry("gen", lambda *args: ({"name": n, "value": n} for n in "ab"))
    payload = autocomplete_body("gen")

    body = reply(make_endpoint(registry).handle(sign_event(payload)))

    assert body["data"]["choices"] == [{"name": "a", "value": "a"}, {"name": "b", "value": "b"}]


def test_endless_choices_cut(make_endpoint, sign_event, caplog):
    registry = autocomplete_registry(
        "endless", lambda *args: ({"name": str(i), "value": str(i)} for i in itertools.count())
    )
    payload = autocomplete_body("endless")

    with caplog.at_level(logging.WARNING, logger="discord_endpoint"):
        body = reply(make_endpoint(registry).handle(sign_event(payload)))

    assert len(body["data"]["choices"]) == 25
    assert "returned more than 25 choices" in caplog.text


QUOTE = '"'


def test_crafted_command_name_cut(make_endpoint, faulty_registry, sign_event, caplog):
    # Discord's names have at most 32 characters, so only a crafted request
    # has a longer one. Repeating it whole could exceed Lambda's response limit.
    data = {"name": QUOTE * 1_600_000, "type": 1}
    body = json.dumps({"type": 2, "id": "9" * 1_000, "data": data})

    with caplog.at_level(logging.INFO, logger="discord_endpoint"):
        response = make_endpoint(faulty_registry).handle(sign_event(body))

    assert response["statusCode"] == 200
    assert len(response["body"]) < 1000
    content = json.loads(response["body"])["data"]["content"]
    assert content == "Unknown command /" + QUOTE * 100 + "."
    [request] = [r for r in caplog.records if hasattr(r, "outcome")]
    assert request.command == QUOTE * 100
    assert request.interaction_id == "9" * 100


def test_lone_surrogate_echo_is_ascii(handler_module, sign_event):
    # JSON may carry a lone surrogate escape, which UTF-8 cannot encode; the
    # reply must stay encodable for the runtime and the local runner.
    options = [{"name": "text", "type": 3, "value": "a\ud800b"}]
    body = json.dumps({"type": 2, "id": "1", "data": {"name": "echo", "options": options}})

    response = handler_module.lambda_handler(sign_event(body), None)

    assert response["body"].isascii()
    assert json.loads(response["body"])["data"]["content"] == "a\ud800b"


def test_excess_choices_logged(make_endpoint, sign_event, caplog):
    registry = autocomplete_registry(
        "many", lambda *args: [{"name": str(i), "value": str(i)} for i in range(30)]
    )
    payload = autocomplete_body("many")

    with caplog.at_level(logging.WARNING, logger="discord_endpoint"):
        body = reply(make_endpoint(registry).handle(sign_event(payload)))

    assert len(body["data"]["choices"]) == 25
    assert "returned more than 25 choices; the rest are dropped" in caplog.text


def test_component_logged_by_prefix(make_endpoint, faulty_registry, sign_event, caplog):
    # The text after ":" is per-message data and stays out of the log.
    payload = json.dumps({"type": 3, "id": "1", "data": {"custom_id": "knob:secret-state"}})

    with caplog.at_level(logging.INFO, logger="discord_endpoint"):
        make_endpoint(faulty_registry).handle(sign_event(payload))

    [request] = [r for r in caplog.records if hasattr(r, "outcome")]
    assert request.command == "knob"
    assert "secret-state" not in caplog.text
