"""Registry of slash commands, message components and modals.

The registry is the one source of truth for commands: routing reads it, and
`Registry.definitions()` turns it into the JSON list that Discord's command
registration API (`PUT /applications/{id}/commands`, API v10) expects.

Adding a command is one decorated function::

    @registry.command("roll", "Roll a die", options=[
        Option(OptionType.INTEGER, "sides", "Number of sides", required=True),
    ])
    def roll(interaction: Interaction) -> dict[str, Any]:
        return responses.message(str(random.randint(1, interaction.options["sides"])))

Definitions are checked against Discord's limits when a function is
registered, so a bad name fails at import rather than at registration time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from .interaction import Interaction
from .protocol import CHOICE_OPTION_TYPES, ApplicationCommandType, OptionType

Handler = Callable[[Interaction], dict[str, Any]]
"""Turn an interaction into a reply payload (see `responses`)."""

AutocompleteHandler = Callable[[Interaction, str, Any], list[dict[str, Any]]]
"""Return choices `{"name", "value"}` for (interaction, focused option, typed value)."""

# Discord's limits for chat input commands (API v10, "Application Commands").
MAX_NAME_LENGTH = 32
MAX_DESCRIPTION_LENGTH = 100
MAX_OPTIONS = 25
MAX_CHOICES = 25
MAX_STRING_LENGTH = 6000
MAX_CUSTOM_ID_LENGTH = 100

# Lower-case letters of any script, digits, "-" and "_"; Discord's own pattern
# also admits Devanagari and Thai marks, which `\w` does not cover.
_NAME_PATTERN = re.compile(rf"[-_\w]{{1,{MAX_NAME_LENGTH}}}")

# A component's custom_id is routed by its text before the first ":", so
# "vote:42" reaches the handler registered for "vote".
CUSTOM_ID_SEPARATOR = ":"


# Exceptions from application handler code that still get the user an error
# message. SystemExit is included because argparse's parser.error() raises
# it. KeyboardInterrupt and GeneratorExit are not.
HANDLER_ERRORS = (Exception, SystemExit)


def custom_id_prefix(custom_id: str) -> str:
    """Return the part of `custom_id` that routing matches: the text before the first ":"."""
    return custom_id.partition(CUSTOM_ID_SEPARATOR)[0]


class Choice(NamedTuple):
    """A fixed value a user picks from instead of typing."""

    name: str
    value: str | int | float

    def definition(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value}


class Option(NamedTuple):
    """A command parameter.

    NOTE: subcommands and subcommand groups (which nest options) are not
    modelled; register them as separate commands.
    """

    type: OptionType
    name: str
    description: str
    required: bool = False
    choices: tuple[Choice, ...] = ()
    autocomplete: bool = False
    max_length: int | None = None  # STRING only, 1 to 6000
    min_value: int | float | None = None  # INTEGER and NUMBER only
    max_value: int | float | None = None  # INTEGER and NUMBER only

    def definition(self) -> dict[str, Any]:
        definition: dict[str, Any] = {
            "type": int(self.type),
            "name": self.name,
            "description": self.description,
            "required": self.required,
        }
        if self.choices:
            definition["choices"] = [choice.definition() for choice in self.choices]
        if self.autocomplete:
            definition["autocomplete"] = True
        if self.max_length is not None:
            definition["max_length"] = self.max_length
        if self.min_value is not None:
            definition["min_value"] = self.min_value
        if self.max_value is not None:
            definition["max_value"] = self.max_value
        return definition


class Command(NamedTuple):
    """A registered slash command (CHAT_INPUT)."""

    name: str
    description: str
    handler: Handler
    options: tuple[Option, ...] = ()
    autocomplete: AutocompleteHandler | None = None
    # A slow command gets a deferred reply (type 5) and runs in an asynchronous
    # invocation of the function, which then edits the reply (see `deferral`).
    slow: bool = False

    def definition(self) -> dict[str, Any]:
        return {
            "type": int(ApplicationCommandType.CHAT_INPUT),
            "name": self.name,
            "description": self.description,
            "options": [option.definition() for option in self.options],
        }


class Registry:
    """Commands by name, and component and modal handlers by custom_id prefix."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self.components: dict[str, Handler] = {}
        self.modals: dict[str, Handler] = {}

    def command(
        self,
        name: str,
        description: str,
        *,
        options: Iterable[Option] = (),
        slow: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register the decorated function as the handler of `/name`."""
        command_options = tuple(options)
        _check_command(name, description, command_options)
        if name in self.commands:
            raise ValueError(f"command {name!r} is already registered; pick another name")

        def register(handler: Handler) -> Handler:
            self.commands[name] = Command(name, description, handler, command_options, slow=slow)
            return handler

        return register

    def autocomplete(self, command_name: str) -> Callable[[AutocompleteHandler], Any]:
        """Register the decorated function as the autocomplete source of a command.

        The command must be registered first and have an option with
        `autocomplete=True`.
        """
        command = self.commands.get(command_name)
        if command is None:
            raise ValueError(
                f"autocomplete for unknown command {command_name!r}: register the command first"
            )
        if not any(option.autocomplete for option in command.options):
            raise ValueError(
                f"command {command_name!r} has no option with autocomplete=True, "
                "so Discord never sends it autocomplete requests"
            )

        def register(handler: AutocompleteHandler) -> AutocompleteHandler:
            self.commands[command_name] = command._replace(autocomplete=handler)
            return handler

        return register

    def component(self, custom_id: str) -> Callable[[Handler], Handler]:
        """Register a handler for message components whose custom_id starts with `custom_id`."""
        return self._register_custom_id(self.components, "component", custom_id)

    def modal(self, custom_id: str) -> Callable[[Handler], Handler]:
        """Register a handler for modal submissions whose custom_id starts with `custom_id`."""
        return self._register_custom_id(self.modals, "modal", custom_id)

    def find_component(self, custom_id: str) -> Handler | None:
        return self.components.get(custom_id_prefix(custom_id))

    def find_modal(self, custom_id: str) -> Handler | None:
        return self.modals.get(custom_id_prefix(custom_id))

    def definitions(self) -> list[dict[str, Any]]:
        """Return the command definitions for Discord's bulk-overwrite API, sorted by name."""
        return [self.commands[name].definition() for name in sorted(self.commands)]

    def _register_custom_id(
        self, table: dict[str, Handler], kind: str, custom_id: str
    ) -> Callable[[Handler], Handler]:
        if not custom_id or CUSTOM_ID_SEPARATOR in custom_id:
            raise ValueError(
                f"{kind} custom_id prefix {custom_id!r} must be non-empty and contain no "
                f"{CUSTOM_ID_SEPARATOR!r}; put per-message data after the separator"
            )
        if len(custom_id) >= MAX_CUSTOM_ID_LENGTH:
            raise ValueError(f"{kind} custom_id {custom_id!r} must be under 100 characters")
        if custom_id in table:
            raise ValueError(f"{kind} custom_id {custom_id!r} is already registered")

        def register(handler: Handler) -> Handler:
            table[custom_id] = handler
            return handler

        return register


def _check_command(name: str, description: str, options: tuple[Option, ...]) -> None:
    """Raise ValueError if Discord would reject this command definition."""
    _check_name("command", name)
    _check_description(f"command {name!r}", description)
    if len(options) > MAX_OPTIONS:
        raise ValueError(f"command {name!r} has {len(options)} options; the maximum is 25")

    seen: set[str] = set()
    optional_seen = False
    for option in options:
        where = f"option {option.name!r} of command {name!r}"
        _check_name(where, option.name)
        _check_description(where, option.description)
        if option.name in seen:
            raise ValueError(f"{where} is declared twice")
        seen.add(option.name)

        if option.required and optional_seen:
            raise ValueError(f"{where} is required but follows an optional option; move it up")
        optional_seen = optional_seen or not option.required

        if (option.choices or option.autocomplete) and option.type not in CHOICE_OPTION_TYPES:
            raise ValueError(f"{where}: choices and autocomplete need a STRING, INTEGER or NUMBER")
        if option.choices and option.autocomplete:
            raise ValueError(f"{where}: Discord rejects choices together with autocomplete")
        if len(option.choices) > MAX_CHOICES:
            raise ValueError(f"{where} has {len(option.choices)} choices; the maximum is 25")
        if option.max_length is not None and (
            option.type != OptionType.STRING or not 1 <= option.max_length <= MAX_STRING_LENGTH
        ):
            raise ValueError(f"{where}: max_length needs a STRING option and 1 to 6000")
        _check_bounds(where, option)


def _check_bounds(where: str, option: Option) -> None:
    if option.min_value is None and option.max_value is None:
        return
    if option.type not in (OptionType.INTEGER, OptionType.NUMBER):
        raise ValueError(f"{where}: min_value and max_value need an INTEGER or NUMBER option")
    if (
        option.min_value is not None
        and option.max_value is not None
        and option.min_value > option.max_value
    ):
        raise ValueError(
            f"{where}: min_value {option.min_value} is greater than max_value {option.max_value}"
        )


def _check_name(where: str, name: str) -> None:
    if not _NAME_PATTERN.fullmatch(name) or name != name.lower():
        raise ValueError(
            f"{where}: name {name!r} is invalid; use 1 to {MAX_NAME_LENGTH} lower-case "
            "letters, digits, '-' or '_'"
        )


def _check_description(where: str, description: str) -> None:
    if not 1 <= len(description) <= MAX_DESCRIPTION_LENGTH:
        raise ValueError(
            f"{where}: description must be 1 to {MAX_DESCRIPTION_LENGTH} characters, "
            f"got {len(description)}"
        )


# The registry that `lambda_function` serves and that command modules decorate.
registry = Registry()
