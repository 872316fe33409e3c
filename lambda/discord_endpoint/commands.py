"""The commands this endpoint ships with; add new commands here or in a sibling module.

A module that registers commands must be imported by `lambda_function`,
because registration happens when the decorator runs.
"""

from __future__ import annotations

import time
from typing import Any

from . import responses
from .deferral import seconds_left
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
    return responses.message(text[:MAX_MESSAGE_LENGTH], allowed_mentions=responses.no_mentions())


# The token that edits a deferred reply expires after 15 minutes; 10 leaves room.
MAX_WAIT_SECONDS = 600


@registry.command(
    "wait",
    "Wait some seconds, then say so (an example of a slow command)",
    options=[
        Option(
            OptionType.INTEGER,
            "seconds",
            f"How long to wait, 1 to {MAX_WAIT_SECONDS}",
            required=True,
            min_value=1,
            max_value=MAX_WAIT_SECONDS,
        ),
    ],
    slow=True,
)
def wait(interaction: Interaction) -> dict[str, Any]:
    seconds = interaction.options.get("seconds")
    if (
        not isinstance(seconds, int)
        or isinstance(seconds, bool)
        or not 1 <= seconds <= MAX_WAIT_SECONDS
    ):
        return responses.message(f"seconds must be a whole number from 1 to {MAX_WAIT_SECONDS}.")

    # The function's timeout can end this run before the token expires.
    left = seconds_left()
    if left is not None and seconds > left:
        return responses.message(
            f"Cannot wait {seconds} s: this run has {max(left, 0):.0f} s left before the "
            "function times out. Ask for less, or raise the function's timeout."
        )

    time.sleep(seconds)
    return responses.message(f"Waited {seconds} s.")
