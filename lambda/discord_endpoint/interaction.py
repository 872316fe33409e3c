"""Read-only view of a verified interaction payload.

Discord documents most fields as optional, depending on the interaction type,
so accessors fall back to None or empty values instead of raising. Only `type`
is checked when the view is built, because routing depends on it.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

# Discord's ids have at most 20 digits, its command names at most 32 characters
# and its custom_ids at most 100. Only crafted requests have longer ones, and
# those are cut to this length wherever a log line or a reply repeats them.
MAX_ECHOED_CHARS = 100


def shorten(value: str) -> str:
    """Return at most MAX_ECHOED_CHARS characters of a client-sent id or name."""
    return value[:MAX_ECHOED_CHARS]


class InvalidInteractionError(ValueError):
    """The payload is not an interaction object with an integer `type`."""


class Interaction:
    """Wrap the decoded interaction JSON without copying it.

    `token` is kept out of `repr` because it lets anyone reply as the bot for
    15 minutes.
    """

    def __init__(self, payload: Any) -> None:
        if not isinstance(payload, dict):
            raise InvalidInteractionError("the body is not a JSON object")
        interaction_type = payload.get("type")
        # bool is an int subclass, but `true` is not an interaction type.
        if not isinstance(interaction_type, int) or isinstance(interaction_type, bool):
            raise InvalidInteractionError("the body has no integer 'type'")
        self.raw = payload
        self.type = interaction_type

        # The `data` object, or an empty dict when absent (PING has none).
        data = payload.get("data")
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}

    def __repr__(self) -> str:
        return f"Interaction(id={self.id!r}, type={self.type}, name={self.command_name!r})"

    @property
    def id(self) -> str | None:
        """Interaction id, cut by `shorten` so that every log line that repeats it stays small."""
        value = _str_or_none(self.raw.get("id"))
        return shorten(value) if value is not None else None

    @property
    def token(self) -> str | None:
        """Interaction token for follow-up messages; never log it."""
        return _str_or_none(self.raw.get("token"))

    @property
    def command_name(self) -> str | None:
        """Command name for APPLICATION_COMMAND and AUTOCOMPLETE."""
        return _str_or_none(self.data.get("name"))

    @property
    def custom_id(self) -> str | None:
        """Developer-set id for MESSAGE_COMPONENT and MODAL_SUBMIT."""
        return _str_or_none(self.data.get("custom_id"))

    @cached_property
    def options(self) -> dict[str, Any]:
        """Option values by name, with subcommand options flattened in.

        NOTE: the subcommand's own name is not exposed; a command with
        subcommands reads `data["options"]` itself.
        """
        values: dict[str, Any] = {}
        for option in _walk_options(self.data.get("options")):
            if "value" in option:
                values[option["name"]] = option["value"]
        return values

    @cached_property
    def focused_option(self) -> tuple[str, Any] | None:
        """Name and partial value of the option an AUTOCOMPLETE request is for."""
        for option in _walk_options(self.data.get("options")):
            if option.get("focused") is True:
                return option["name"], option.get("value")
        return None

    @property
    def user_id(self) -> str | None:
        """Id of the invoking user, in a guild (`member.user`) or a DM (`user`)."""
        member = self.raw.get("member")
        user = member.get("user") if isinstance(member, dict) else self.raw.get("user")
        return _str_or_none(user.get("id")) if isinstance(user, dict) else None


def _walk_options(options: Any) -> list[dict[str, Any]]:
    """Flatten nested subcommand options into one list of well-formed options."""
    found: list[dict[str, Any]] = []
    pending = [options]
    while pending:
        current = pending.pop()
        if not isinstance(current, list):
            continue
        for option in current:
            if not isinstance(option, dict) or not isinstance(option.get("name"), str):
                continue
            found.append(option)
            pending.append(option.get("options"))
    return found


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
