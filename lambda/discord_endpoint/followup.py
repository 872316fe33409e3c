"""The asynchronous run of a deferred command: verify, run, edit the original response.

The HTTP run replied to Discord with type 5 and queued this run (see `deferral`).
Here the signed request is verified again, the command's handler runs, and its
message replaces "Bot is thinking..." through the webhook API. A failing
handler turns into an error message, so the user is never left waiting.

The interaction token works for 15 minutes after Discord created the
interaction. This run gives up, with a logged error, when too little of that
remains; a slow handler can read its remaining time from
`deferral.seconds_left()`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from .config import Settings
from .deferral import DeferredEventError, parse_deferred_event, run_deadline
from .interaction import Interaction, shorten
from .protocol import InteractionResponseType, InteractionType, MessageFlags
from .registry import HANDLER_ERRORS, Command, Registry
from .responses import encode, no_mentions
from .signature import SignatureError, SignatureVerifier
from .webhook import WebhookClient, WebhookError

logger = logging.getLogger(__name__)

TOKEN_LIFETIME_SECONDS = 15 * 60

# Snowflake ids carry their creation time: milliseconds since 2015-01-01 UTC
# in the bits above bit 22 (Discord API reference, "Snowflakes").
DISCORD_EPOCH_MS = 1_420_070_400_000
SNOWFLAKE_TIMESTAMP_SHIFT = 22

# Time kept back from every deadline for the PATCH that reports the result.
EDIT_RESERVE_SECONDS = 5.0


def interaction_created_at(interaction_id: str | None, fallback: float) -> float:
    """Return the Unix time in an interaction's snowflake id, or `fallback` if it has none.

    A snowflake is an unsigned 64-bit integer, so at most 20 digits. A longer
    id is not one, and would overflow the conversion to float.
    """
    if interaction_id is None or not (interaction_id.isascii() and interaction_id.isdigit()):
        return fallback
    if len(interaction_id) > 20 or int(interaction_id) >= 1 << 64:
        return fallback
    milliseconds = (int(interaction_id) >> SNOWFLAKE_TIMESTAMP_SHIFT) + DISCORD_EPOCH_MS
    return milliseconds / 1000


def message_from_reply(reply: Any) -> dict[str, Any] | None:
    """Return the message of a type 4 reply for an edit, or None for any other reply.

    An edit cannot make a message ephemeral: the type 5 reply already made it
    public, so the EPHEMERAL flag is dropped.
    """
    if not isinstance(reply, dict):
        return None
    reply_type = reply.get("type")
    # 4.0 == 4 in Python, and the HTTP path rejects a type that is not an int.
    if not isinstance(reply_type, int) or isinstance(reply_type, bool):
        return None
    if reply_type != InteractionResponseType.CHANNEL_MESSAGE_WITH_SOURCE:
        return None
    data = reply.get("data")
    if not isinstance(data, dict):
        return None

    message = dict(data)
    flags = message.pop("flags", 0)
    if isinstance(flags, int) and flags & ~MessageFlags.EPHEMERAL:
        message["flags"] = flags & ~MessageFlags.EPHEMERAL
    return message


def error_message(command_name: str) -> dict[str, Any]:
    return {
        "content": f"Sorry, /{command_name} failed. Try again later.",
        "allowed_mentions": no_mentions(),
    }


class FollowUpRunner:
    """Runs deferred commands from their asynchronous events."""

    def __init__(
        self,
        verifier: SignatureVerifier,
        registry: Registry,
        webhook: WebhookClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = verifier
        self._registry = registry
        self._webhook = webhook
        self._clock = clock

    @classmethod
    def from_settings(
        cls, settings: Settings, registry: Registry, webhook: WebhookClient
    ) -> FollowUpRunner:
        # Discord's signature stays valid for as long as the token it carries.
        verifier = SignatureVerifier(settings.public_key, TOKEN_LIFETIME_SECONDS)
        return cls(verifier, registry, webhook)

    def run(self, event: Mapping[str, Any], context: Any) -> dict[str, str]:
        """Run one deferred command and log one line about it.

        Expected failures are logged and returned as the outcome instead of
        raised, because Lambda retries an asynchronous event that raised.
        """
        started = time.perf_counter()
        log_fields: dict[str, Any] = {"interaction_id": None, "command": None}

        outcome = self._run(event, context, log_fields)

        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        logger.info(
            "deferred interaction %s command=%s outcome=%s latency_ms=%s",
            log_fields["interaction_id"],
            log_fields["command"],
            outcome,
            latency_ms,
            extra={**log_fields, "outcome": outcome, "latency_ms": latency_ms},
        )
        return {"outcome": outcome}

    def _run(self, event: Mapping[str, Any], context: Any, log_fields: dict[str, Any]) -> str:
        try:
            request = parse_deferred_event(event)
            self._verifier.verify(request.signature, request.timestamp, request.body, self._clock())
            interaction = Interaction(json.loads(request.body))
        except (DeferredEventError, SignatureError, ValueError, RecursionError) as error:
            logger.error("Deferred event rejected: %s", error)
            return "rejected_event"

        log_fields["interaction_id"] = interaction.id
        command_name = interaction.command_name
        log_fields["command"] = shorten(command_name) if command_name is not None else None
        command = self._slow_command(interaction)
        application_id = interaction.raw.get("application_id")
        token = interaction.token
        if command is None or not isinstance(application_id, str) or token is None:
            logger.error(
                "Deferred event for interaction %s is not a slow command with an "
                "application id and a token",
                interaction.id,
            )
            return "rejected_event"

        now = self._clock()
        expires = interaction_created_at(interaction.id, int(request.timestamp))
        expires += TOKEN_LIFETIME_SECONDS
        if now >= expires - EDIT_RESERVE_SECONDS:
            logger.error(
                "Interaction %s is too old to respond to: its token expired or expires in under "
                "%.0f s, so /%s was not run",
                interaction.id,
                EDIT_RESERVE_SECONDS,
                command.name,
            )
            return "expired"

        deadline = expires - EDIT_RESERVE_SECONDS
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        if callable(remaining_ms):
            deadline = min(deadline, now + remaining_ms() / 1000 - EDIT_RESERVE_SECONDS)

        reset = run_deadline.set(deadline)
        try:
            message, succeeded = self._execute(command, interaction)
        finally:
            run_deadline.reset(reset)

        if self._clock() >= expires:
            logger.error(
                "/%s for interaction %s finished after its token expired; the result is lost",
                command.name,
                interaction.id,
            )
            return "expired"

        try:
            self._webhook.edit_original(application_id, token, message, expires)
        except WebhookError as error:
            logger.error("Editing the response to interaction %s failed: %s", interaction.id, error)
            if not succeeded or error.status != HTTPStatus.BAD_REQUEST:
                return "edit_failed"
        else:
            return "edited" if succeeded else "edited_error"

        # Discord answers 400 to a message it cannot show (content over 2000
        # characters, for example). Without a second edit, the user would see
        # "Bot is thinking..." until the token expires. Other failures (a
        # timeout, a 5xx, an unknown webhook) may have applied the edit or
        # would fail again, so they get no second edit.
        try:
            self._webhook.edit_original(application_id, token, error_message(command.name), expires)
        except WebhookError as error:
            logger.error(
                "Editing the response to interaction %s with the error message failed: %s",
                interaction.id,
                error,
            )
            return "edit_failed"
        return "edited_error"

    def _slow_command(self, interaction: Interaction) -> Command | None:
        if interaction.type != InteractionType.APPLICATION_COMMAND:
            return None
        command = self._registry.commands.get(interaction.command_name or "")
        return command if command is not None and command.slow else None

    def _execute(
        self, command: Command, interaction: Interaction
    ) -> tuple[dict[str, Any] | str, bool]:
        """Return the message to show and whether the handler succeeded.

        The handler's message is returned as its JSON text, the error message
        as a dict.
        """
        try:
            reply = command.handler(interaction)
        except HANDLER_ERRORS:  # application code; the user gets an error message
            logger.exception("handler for /%s failed", command.name)
            return error_message(command.name), False

        # A dict subclass in the reply may raise from any method that is called.
        try:
            message = message_from_reply(reply)
        except HANDLER_ERRORS:  # application data; the user gets an error message
            logger.exception("reply of /%s could not be read", command.name)
            return error_message(command.name), False
        if message is None:
            logger.error(
                "handler for /%s returned a reply that cannot follow a deferral; "
                "return responses.message(...)",
                command.name,
            )
            return error_message(command.name), False

        # Encoded once, here, and sent as this text: an error in the HTTP
        # client's own encoding would raise, and Lambda retries an event that
        # raised. A dict subclass could also encode differently a second time.
        try:
            encoded = encode(message)
        except HANDLER_ERRORS:  # a dict subclass in the reply may raise anything
            logger.exception("reply of /%s is not JSON-serialisable", command.name)
            return error_message(command.name), False
        return encoded, True
