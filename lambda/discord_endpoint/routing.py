"""Route a verified interaction to its handler and build the reply.

APPLICATION_COMMAND and AUTOCOMPLETE are routed by `data.name`,
MESSAGE_COMPONENT and MODAL_SUBMIT by the `data.custom_id` prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, NamedTuple

from . import responses
from .interaction import Interaction, shorten
from .protocol import InteractionType
from .registry import HANDLER_ERRORS, Handler, Registry, custom_id_prefix

logger = logging.getLogger(__name__)


class RouteResult(NamedTuple):
    """HTTP status, JSON payload, and an outcome word for the request log."""

    status: HTTPStatus
    payload: dict[str, Any]
    outcome: str


def route(registry: Registry, interaction: Interaction) -> RouteResult:
    """Return the reply to `interaction`; 400 for an unknown or incomplete one."""
    match interaction.type:
        case InteractionType.PING:
            return RouteResult(HTTPStatus.OK, responses.pong(), "pong")
        case InteractionType.APPLICATION_COMMAND:
            return _route_command(registry, interaction)
        case InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE:
            return _route_autocomplete(registry, interaction)
        case InteractionType.MESSAGE_COMPONENT:
            return _route_custom_id(registry.find_component, interaction, "component")
        case InteractionType.MODAL_SUBMIT:
            return _route_custom_id(registry.find_modal, interaction, "modal")
        case _:
            return _bad_request(f"unknown interaction type {shorten(str(interaction.type))}")


def _route_command(registry: Registry, interaction: Interaction) -> RouteResult:
    name = interaction.command_name
    if name is None:
        return _bad_request("application command interaction has no data.name")

    command = registry.commands.get(name)
    if command is None:
        reply = responses.message(f"Unknown command /{shorten(name)}.", ephemeral=True)
        return RouteResult(HTTPStatus.OK, reply, "unknown_command")

    # A slow command reaches this point only when the endpoint has no deferrer
    # (outside Lambda); it then runs inline, within Discord's 3 seconds.
    return _run(command.handler, interaction, f"/{name}")


def _route_autocomplete(registry: Registry, interaction: Interaction) -> RouteResult:
    # An autocomplete request only accepts a type 8 reply, so every failure
    # below still returns an empty choice list.
    command = registry.commands.get(interaction.command_name or "")
    focused = interaction.focused_option
    if command is None or command.autocomplete is None or focused is None:
        return RouteResult(HTTPStatus.OK, responses.autocomplete_result([]), "autocomplete_empty")

    option_name, partial_value = focused
    try:
        choices = responses.check_choices(
            command.autocomplete(interaction, option_name, partial_value)
        )
    except responses.InvalidReplyError as error:
        logger.error("autocomplete handler for /%s returned %s", command.name, error)
        return RouteResult(HTTPStatus.OK, responses.autocomplete_result([]), "handler_failed")
    except HANDLER_ERRORS:  # handler code is the application's, see _run
        logger.exception("autocomplete handler for /%s failed", command.name)
        return RouteResult(HTTPStatus.OK, responses.autocomplete_result([]), "handler_failed")

    if len(choices) > responses.MAX_AUTOCOMPLETE_CHOICES:
        logger.warning(
            "autocomplete handler for /%s returned more than %d choices; the rest are dropped",
            command.name,
            responses.MAX_AUTOCOMPLETE_CHOICES,
        )
    return RouteResult(HTTPStatus.OK, responses.autocomplete_result(choices), "autocomplete")


def _route_custom_id(
    find: Callable[[str], Handler | None], interaction: Interaction, kind: str
) -> RouteResult:
    custom_id = interaction.custom_id
    if custom_id is None:
        return _bad_request(f"{kind} interaction has no data.custom_id")

    handler = find(custom_id)
    if handler is None:
        reply = responses.message(f"This {kind} is no longer handled.", ephemeral=True)
        return RouteResult(HTTPStatus.OK, reply, f"unknown_{kind}")
    return _run(handler, interaction, _custom_id_label(kind, custom_id))


def _run(handler: Handler, interaction: Interaction, label: str) -> RouteResult:
    """Call an application handler; a failure becomes an ephemeral error message.

    Handlers are application code that may raise anything. Without this guard
    Discord would get a 500 and show "This interaction failed" with no hint.
    """
    # The reply is checked inside the guard too, because a dict subclass may raise
    # from any method that the check calls.
    try:
        payload = responses.check_reply(handler(interaction))
    except responses.InvalidReplyError as error:
        logger.error(
            "handler for %s returned %s; build the reply with discord_endpoint.responses",
            label,
            error,
        )
        return handler_failed(label)
    except HANDLER_ERRORS:  # the traceback is logged, the user gets a message
        logger.exception("handler for %s failed", label)
        return handler_failed(label)
    return RouteResult(HTTPStatus.OK, payload, "handled")


def handler_failed(label: str) -> RouteResult:
    """Return the ephemeral message that reports the failure of the handler for `label`."""
    reply = responses.message(f"Sorry, {label} failed. Try again later.", ephemeral=True)
    return RouteResult(HTTPStatus.OK, reply, "handler_failed")


def failed_reply(interaction: Interaction) -> RouteResult:
    """Return the reply that replaces a handler's reply that cannot be sent.

    Autocomplete gets an empty choice list, because Discord accepts only a
    type 8 reply to it. Other interactions get the ephemeral failure message.
    """
    if interaction.type == InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE:
        return RouteResult(HTTPStatus.OK, responses.autocomplete_result([]), "handler_failed")

    custom_id = interaction.custom_id
    if interaction.command_name is not None:
        label = f"/{shorten(interaction.command_name)}"
    elif custom_id is not None:
        kind = "modal" if interaction.type == InteractionType.MODAL_SUBMIT else "component"
        label = _custom_id_label(kind, custom_id)
    else:
        label = "this interaction"
    return handler_failed(label)


def _custom_id_label(kind: str, custom_id: str) -> str:
    # Only the prefix, because the rest of a custom_id is per-message data.
    return f"{kind} {shorten(custom_id_prefix(custom_id))!r}"


def _bad_request(message: str) -> RouteResult:
    return RouteResult(HTTPStatus.BAD_REQUEST, {"error": message}, "bad_request")
