"""Discord interaction protocol numbers (API v10).

Source: Discord developer documentation, "Receiving and Responding" and
"Application Commands" (interaction types, callback types, option types).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class InteractionType(IntEnum):
    """The `type` field of an incoming interaction."""

    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    APPLICATION_COMMAND_AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class InteractionResponseType(IntEnum):
    """The `type` field of the endpoint's reply (interaction callback type)."""

    PONG = 1
    CHANNEL_MESSAGE_WITH_SOURCE = 4
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8
    MODAL = 9


class ApplicationCommandType(IntEnum):
    """Kind of command: slash command, or user or message context menu entry."""

    CHAT_INPUT = 1
    USER = 2
    MESSAGE = 3


class OptionType(IntEnum):
    """The `type` of an application command option."""

    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10
    ATTACHMENT = 11


class MessageFlags(IntFlag):
    """Bit flags of a message; only the ones this endpoint sets."""

    EPHEMERAL = 1 << 6


# Option types whose values a user types in, so they may carry `choices` or
# `autocomplete`.
CHOICE_OPTION_TYPES = frozenset({OptionType.STRING, OptionType.INTEGER, OptionType.NUMBER})
