"""The commands this endpoint ships with; add new commands here or in a sibling module.

A module that registers commands must be imported by `lambda_function`,
because registration happens when the decorator runs.
"""

from __future__ import annotations

from typing import Any

from . import responses
from .interaction import Interaction
from .protocol import OptionType
from .registry import Option, registry

# Discord's limit on a message's `content`.
MAX_MESSAGE_LENGTH = 2000


@registry.command("ping", "Check that the bot answers")
def ping(interaction: Interaction) -> dict[str, Any]:
    return responses.message("Pong")


@registry.command(
    "echo",
    "Repeat your text back without pinging anyone",
    options=[
        Option(
            OptionType.STRING,
            "text",
            "Text to repeat",
            required=True,
            max_length=MAX_MESSAGE_LENGTH,
        ),
    ],
)
def echo(interaction: Interaction) -> dict[str, Any]:
    # The text is user input: "@everyone" or "<@&role>" in it must stay text,
    # so no mention type is allowed to ping.
    text = interaction.options.get("text")
    if not isinstance(text, str) or not text:
        return responses.message("Give me some text to repeat.", ephemeral=True)
    return responses.message(text[:MAX_MESSAGE_LENGTH], allowed_mentions=responses.NO_MENTIONS)
