"""The asynchronous run of deferred commands: verification, deadlines and the follow-up PATCH."""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

import pytest
from deferred_support import (  # noqa: F401 - fixtures
    APPLICATION_ID,
    INTERACTION_TOKEN,
    LambdaContext,
    command_body,
    discord_fixture,
    discord_server_fixture,
    edit_path,
    wait_options,
)
from discord_endpoint import commands, responses
from discord_endpoint.deferral import SignedRequest, build_deferred_event, seconds_left
from discord_endpoint.followup import (
    TOKEN_LIFETIME_SECONDS,
    FollowUpRunner,
    interaction_created_at,
    message_from_reply,
)
from discord_endpoint.registry import Registry
from discord_endpoint.signature import SignatureVerifier
from discord_endpoint.webhook import WebhookClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey
from pytest_httpserver import HTTPServer

OUR_LOGGERS = ("discord_endpoint",)


def signed_event(key: SigningKey, body: bytes, timestamp: float | None = None) -> dict[str, Any]:
    """Return the deferred event for `body`, signed by `key` as Discord signs requests."""
    stamp = str(int(time.time() if timestamp is None else timestamp))
    signature = key.sign(stamp.encode() + body).signature.hex()
    return build_deferred_event(SignedRequest(stamp, signature, body))


def our_log(caplog: pytest.LogCaptureFixture) -> str:
    """Return the text of this project's log records; the stand-in server logs its own URLs."""
    return "\n".join(
        record.getMessage() for record in caplog.records if record.name.startswith(OUR_LOGGERS)
    )


@pytest.fixture
def slow_registry() -> Registry:
    slow_commands = Registry()

    @slow_commands.command("slowpoke", "Report the time left", slow=True)
    def slowpoke(interaction):
        return responses.message(f"left={seconds_left():.0f}", ephemeral=True)

    @slow_commands.command("broken", "Raise", slow=True)
    def broken(interaction):
        raise RuntimeError("handler bug")

    @slow_commands.command("modal", "Return a reply that cannot follow a deferral", slow=True)
    def modal(interaction):
        return {"type": 9, "data": {"custom_id": "m", "title": "t", "components": []}}

    @slow_commands.command("unsendable", "Return a message that JSON cannot encode", slow=True)
    def unsendable(interaction):
        return responses.message("x", embeds={1})

    @slow_commands.command("raising", "Return a dict subclass that raises when encoded", slow=True)
    def raising(interaction):
        return responses.message("x", embeds=[RaisingDict(a=1)])

    @slow_commands.command("float-type", "Return a reply whose type is 4.0", slow=True)
    def float_type(interaction):
        return {"type": 4.0, "data": {"content": "x"}}

    @slow_commands.command("get-raises", "Return a dict subclass whose get() raises", slow=True)
    def get_raises(interaction):
        return RaisingDict(type=4)

    @slow_commands.command("copy-raises", "Return data that raises when copied", slow=True)
    def copy_raises(interaction):
        return {"type": 4, "data": RaisingDict(content="x")}

    @slow_commands.command("exits", "Call sys.exit, as argparse's parser.error() does", slow=True)
    def exits(interaction):
        raise SystemExit(2)

    @slow_commands.command("wordy", "Return a message longer than Discord accepts", slow=True)
    def wordy(interaction):
        return responses.message("x" * 2500)

    @slow_commands.command("exit-data", "Return a reply whose get() raises SystemExit", slow=True)
    def exit_data(interaction):
        return ExitingDict(type=4)

    @slow_commands.command(
        "shifty", "Return a dict subclass that fails when encoded twice", slow=True
    )
    def shifty(interaction):
        return responses.message("x", embeds=[FailsSecondTime(a=1)])

    @slow_commands.command("quick", "Not slow")
    def quick(interaction):
        return responses.message("quick")

    return slow_commands


@pytest.fixture
def runner_for(signing_key: SigningKey, discord: HTTPServer):
    def build(registry: Registry) -> FollowUpRunner:
        verifier = SignatureVerifier(signing_key.verify_key.encode(), TOKEN_LIFETIME_SECONDS)
        webhook = WebhookClient(discord.url_for("/").rstrip("/"))
        return FollowUpRunner(verifier, registry, webhook)

    return build


# --- running and editing --------------------------------------------------------------------


def test_slow_command_edits_original(runner_for, slow_registry, signing_key, discord, caplog):
    caplog.set_level(logging.INFO)
    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({})
    event = signed_event(signing_key, command_body("slowpoke"))

    result = runner_for(slow_registry).run(event, LambdaContext(remaining_seconds=60))

    assert result == {"outcome": "edited"}
    discord.check_assertions()
    sent = discord.log[0][0].get_json()
    # 60 s of function time minus the 5 s kept back for the edit.
    assert sent["content"] in {"left=55", "left=54"}
    assert "flags" not in sent
    assert sent["allowed_mentions"] == {"parse": []}
    assert INTERACTION_TOKEN not in our_log(caplog)
    assert "outcome=edited" in our_log(caplog)


def test_handler_failure_edits_error(runner_for, slow_registry, signing_key, discord, caplog):
    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({})
    event = signed_event(signing_key, command_body("broken"))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "edited_error"}
    sent = discord.log[0][0].get_json()
    assert sent["content"] == "Sorry, /broken failed. Try again later."
    assert "handler for /broken failed" in our_log(caplog)
    assert INTERACTION_TOKEN not in our_log(caplog)


def test_non_message_reply_edits_error(runner_for, slow_registry, signing_key, discord, caplog):
    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({})
    event = signed_event(signing_key, command_body("modal"))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "edited_error"}
    assert discord.log[0][0].get_json()["content"] == "Sorry, /modal failed. Try again later."
    assert "cannot follow a deferral" in our_log(caplog)


@pytest.mark.parametrize("command", ["unsendable", "raising"])
def test_unsendable_reply_edits_error(
    runner_for, slow_registry, signing_key, discord, caplog, command
):
    # Raising would make Lambda retry the event, so the user gets the error
    # message instead.
    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({})
    event = signed_event(signing_key, command_body(command))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "edited_error"}
    assert discord.log[0][0].get_json()["content"] == f"Sorry, /{command} failed. Try again later."
    assert "is not JSON-serialisable" in our_log(caplog)


class RaisingDict(dict):
    """A dict whose methods raise, as a broken mapping in application code might."""

    def items(self):
        raise RuntimeError("broken mapping")

    def get(self, key, default=None):
        raise RuntimeError("broken mapping")

    def keys(self):
        raise RuntimeError("broken mapping")

    def __iter__(self):
        raise RuntimeError("broken mapping")


class FailsSecondTime(dict):
    """A dict whose items() works once, so a check before sending cannot catch its failure."""

    calls = 0

    def items(self):
        FailsSecondTime.calls += 1
        if FailsSecondTime.calls > 1:
            raise SystemExit(3)
        return super().items()


def test_reply_sent_as_checked(runner_for, slow_registry, signing_key, discord):
    # The message is sent as it was encoded for the check; a second encoding
    # in the HTTP client would raise and leave "thinking" on screen.
    FailsSecondTime.calls = 0
    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({})
    event = signed_event(signing_key, command_body("shifty"))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "edited"}
    assert discord.log[0][0].get_json()["embeds"] == [{"a": 1}]
    assert FailsSecondTime.calls == 1


class ExitingDict(dict):
    def get(self, key, default=None):
        raise SystemExit(3)


@pytest.mark.parametrize(
    ("command", "logged"),
    [
        ("exit-data", "reply of /exit-data could not be read"),
        ("float-type", "cannot follow a deferral"),
        ("get-raises", "reply of /get-raises could not be read"),
        ("copy-raises", "reply of /copy-raises could not be read"),
    ],
)
def test_unreadable_reply_edits_error(
    runner_for, slow_registry, signing_key, discord, caplog, command, logged
):
    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({})
    event = signed_event(signing_key, command_body(command))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "edited_error"}
    assert discord.log[0][0].get_json()["content"] == f"Sorry, /{command} failed. Try again later."
    assert logged in our_log(caplog)


def test_handler_exit_edits_error(runner_for, slow_registry, signing_key, discord, caplog):
    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({})
    event = signed_event(signing_key, command_body("exits"))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "edited_error"}
    assert discord.log[0][0].get_json()["content"] == "Sorry, /exits failed. Try again later."
    assert "handler for /exits failed" in our_log(caplog)


def test_rejected_message_replaced_by_error(
    runner_for, slow_registry, signing_key, discord, caplog
):
    # Discord's response to content over 2000 characters. The user then gets
    # the error message instead of "Bot is thinking..." until the token expires.
    discord.expect_ordered_request(edit_path(), method="PATCH").respond_with_json(
        {"message": "Invalid Form Body", "code": 50035}, status=400
    )
    discord.expect_ordered_request(edit_path(), method="PATCH").respond_with_json({})
    event = signed_event(signing_key, command_body("wordy"))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "edited_error"}
    edits = [request.get_json()["content"] for request, _ in discord.log]
    assert edits == ["x" * 2500, "Sorry, /wordy failed. Try again later."]
    assert "code 50035: Invalid Form Body" in our_log(caplog)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"message": "Internal Server Error", "code": 0}),
        (404, {"message": "Unknown Webhook", "code": 10015}),
    ],
)
def test_failed_edit_not_overwritten(runner_for, slow_registry, signing_key, discord, status, body):
    # A 5xx may still have applied the edit, and an unknown webhook would
    # reject a second edit too, so neither gets the error message.
    discord.expect_request(edit_path(), method="PATCH").respond_with_json(body, status=status)
    event = signed_event(signing_key, command_body("wordy"))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "edit_failed"}
    contents = {request.get_json()["content"] for request, _ in discord.log}
    assert contents == {"x" * 2500}


def test_crafted_id_logged_cut(runner_for, slow_registry, signing_key, discord, caplog):
    # A signed request may carry any id; the log repeats 100 characters of it.
    discord.expect_request(edit_path(), method="PATCH").respond_with_json(
        {"message": "Invalid Webhook Token", "code": 50027}, status=401
    )
    event = signed_event(signing_key, command_body("slowpoke", id="9" * 1_000_000))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "edit_failed"}
    assert "9" * 100 in our_log(caplog)
    assert "9" * 101 not in our_log(caplog)


def test_edit_failure_logged(runner_for, slow_registry, signing_key, discord, caplog):
    discord.expect_request(edit_path(), method="PATCH").respond_with_json(
        {"message": "Invalid Webhook Token", "code": 50027}, status=401
    )
    event = signed_event(signing_key, command_body("slowpoke"))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "edit_failed"}
    log_text = our_log(caplog)
    assert "code 50027: Invalid Webhook Token" in log_text
    assert INTERACTION_TOKEN not in log_text


# --- the 15-minute token --------------------------------------------------------------------


def test_expired_interaction_not_run(runner_for, slow_registry, signing_key, discord, caplog):
    created = time.time() - TOKEN_LIFETIME_SECONDS - 1
    event = signed_event(signing_key, command_body("broken", created=created))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "expired"}
    assert discord.log == []
    assert "too old to respond to" in our_log(caplog)
    assert "handler for /broken failed" not in our_log(caplog)


def test_token_expiring_soon_not_run(runner_for, slow_registry, signing_key, discord):
    created = time.time() - TOKEN_LIFETIME_SECONDS + 2
    event = signed_event(signing_key, command_body("slowpoke", created=created))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "expired"}
    assert discord.log == []


def test_token_expiry_bounds_time_left(runner_for, slow_registry, signing_key, discord):
    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({})
    created = time.time() - TOKEN_LIFETIME_SECONDS + 100
    event = signed_event(signing_key, command_body("slowpoke", created=created))

    runner_for(slow_registry).run(event, LambdaContext(remaining_seconds=800))

    # The token expires in 100 s, well before the function would time out.
    assert discord.log[0][0].get_json()["content"] in {"left=95", "left=94"}


def test_finishing_after_expiry_drops_result(signing_key, discord, caplog):
    slow_commands = Registry()
    clock = {"now": time.time()}

    @slow_commands.command("sleepy", "Outlive the token", slow=True)
    def sleepy(interaction):
        clock["now"] += TOKEN_LIFETIME_SECONDS
        return responses.message("too late")

    verifier = SignatureVerifier(signing_key.verify_key.encode(), TOKEN_LIFETIME_SECONDS)
    webhook = WebhookClient(discord.url_for("/").rstrip("/"))
    runner = FollowUpRunner(verifier, slow_commands, webhook, clock=lambda: clock["now"])
    # The interaction is created at the fake clock's start, so the handler's
    # jump lands exactly on the token's expiry. A snowflake from the real
    # clock could be a millisecond later than the fake clock's start.
    body = command_body("sleepy", created=clock["now"])
    event = signed_event(signing_key, body, timestamp=clock["now"])

    result = runner.run(event, LambdaContext())

    assert result == {"outcome": "expired"}
    assert discord.log == []
    assert "finished after its token expired" in our_log(caplog)


def test_created_at_from_snowflake():
    # The example id of Discord's "Snowflakes" reference: 2016-04-30 11:18:25.796 UTC.
    assert interaction_created_at("175928847299117063", 0.0) == 1462015105.796


@pytest.mark.parametrize(
    "interaction_id", [None, "", "abc", "١٢٣", "9" * 318, "9" * 5000, str(1 << 64)]
)
def test_created_at_falls_back(interaction_id):
    assert interaction_created_at(interaction_id, 1234.0) == 1234.0


def test_seconds_left_outside_run():
    assert seconds_left() is None


# --- rejected events ------------------------------------------------------------------------


def test_forged_signature_rejected(runner_for, slow_registry, discord, caplog):
    forger = SigningKey.generate()
    event = signed_event(forger, command_body("slowpoke"))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "rejected_event"}
    assert discord.log == []
    assert "Deferred event rejected" in our_log(caplog)


def test_tampered_body_rejected(runner_for, slow_registry, signing_key, discord):
    event = signed_event(signing_key, command_body("broken"))
    forged = signed_event(signing_key, command_body("slowpoke"))
    forged["discord_deferred_interaction"]["body"] = event["discord_deferred_interaction"]["body"]

    result = runner_for(slow_registry).run(forged, LambdaContext())

    assert result == {"outcome": "rejected_event"}
    assert discord.log == []


def test_non_slow_command_rejected(runner_for, slow_registry, signing_key, discord, caplog):
    event = signed_event(signing_key, command_body("quick"))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "rejected_event"}
    assert discord.log == []
    assert "is not a slow command" in our_log(caplog)


@pytest.mark.parametrize(
    "change",
    [
        {"version": 2},
        {"version": True},
        {"body": "not base64!"},
        {"signature": None},
        {"timestamp": 12},
    ],
)
def test_malformed_event_rejected(runner_for, slow_registry, signing_key, discord, change):
    event = signed_event(signing_key, command_body("slowpoke"))
    event["discord_deferred_interaction"].update(change)

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "rejected_event"}
    assert discord.log == []


@pytest.mark.parametrize("content", [None, "x", [], {}])
def test_event_without_object_rejected(runner_for, slow_registry, discord, content):
    result = runner_for(slow_registry).run({"discord_deferred_interaction": content}, None)

    assert result == {"outcome": "rejected_event"}
    assert discord.log == []


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
deferred_contents = st.dictionaries(
    st.sampled_from(["version", "timestamp", "signature", "body"]) | st.text(max_size=10),
    json_scalars | st.binary(max_size=40).map(lambda raw: base64.b64encode(raw).decode()),
    max_size=6,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=deferred_contents | json_scalars)
def test_arbitrary_deferred_event_rejected(runner_for, slow_registry, discord, content):
    """No unsigned content under the deferred-event key raises or reaches Discord."""
    result = runner_for(slow_registry).run({"discord_deferred_interaction": content}, None)

    assert result == {"outcome": "rejected_event"}
    assert discord.log == []


def test_missing_application_id_rejected(runner_for, slow_registry, signing_key, discord):
    event = signed_event(signing_key, command_body("slowpoke", application_id=None))

    result = runner_for(slow_registry).run(event, LambdaContext())

    assert result == {"outcome": "rejected_event"}
    assert discord.log == []


# --- replies and the /wait command ----------------------------------------------------------


def test_message_from_reply_drops_ephemeral():
    reply = responses.message("hi", ephemeral=True)

    assert message_from_reply(reply) == {"content": "hi", "allowed_mentions": {"parse": []}}


def test_message_from_reply_keeps_other_flags():
    reply = responses.message("hi", flags=64 | 4)

    assert message_from_reply(reply)["flags"] == 4


def test_wait_command_reports(runner_for, signing_key, discord):
    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({})
    event = signed_event(signing_key, command_body("wait", wait_options(1)))

    started = time.monotonic()
    result = runner_for(commands.registry).run(event, LambdaContext())
    elapsed = time.monotonic() - started

    assert result == {"outcome": "edited"}
    assert discord.log[0][0].get_json()["content"] == "Waited 1 s."
    assert elapsed >= 1.0


def test_wait_longer_than_timeout_refused(runner_for, signing_key, discord):
    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({})
    event = signed_event(signing_key, command_body("wait", wait_options(600)))

    started = time.monotonic()
    result = runner_for(commands.registry).run(event, LambdaContext(remaining_seconds=30))

    assert time.monotonic() - started < 5
    assert result == {"outcome": "edited"}
    content = discord.log[0][0].get_json()["content"]
    assert content.startswith("Cannot wait 600 s")
    assert "timeout" in content


@pytest.mark.parametrize("seconds", [0, 601, -1, 1.5, "10", True, None])
def test_wait_invalid_seconds(runner_for, signing_key, discord, seconds):
    discord.expect_oneshot_request(edit_path(), method="PATCH").respond_with_json({})
    options = None if seconds is None else wait_options(seconds)
    event = signed_event(signing_key, command_body("wait", options))

    runner_for(commands.registry).run(event, LambdaContext())

    content = discord.log[0][0].get_json()["content"]
    assert content == "seconds must be a whole number from 1 to 600."


def test_wait_definition_bounds():
    definition = next(item for item in commands.registry.definitions() if item["name"] == "wait")

    option = definition["options"][0]
    assert option["name"] == "seconds"
    assert option["type"] == 4
    assert option["required"] is True
    assert option["min_value"] == 1
    assert option["max_value"] == 600
    assert commands.registry.commands["wait"].slow is True
