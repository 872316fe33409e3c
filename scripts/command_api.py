"""PUT slash-command definitions to Discord's API v10, and explain its refusals.

Used by register_commands.py. The bot token travels only in the Authorization header: no message
or log line built here contains it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import requests

log = logging.getLogger("register_commands")

API_BASE_URL_ENV_VAR = "DISCORD_API_BASE_URL"

# Discord's API reference ("User Agent") requires the form "DiscordBot ($url, $versionNumber)".
USER_AGENT = "DiscordBot (scripts/register_commands.py, 1.0)"
REQUEST_TIMEOUT_SECONDS = 30.0


class RegistrationError(Exception):
    """A failure to report as one line, plus optional detail lines, with exit status 1."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


@dataclass(frozen=True)
class BotToken:
    """The bot token. `repr` leaves the value out, so logging the object does not leak it."""

    value: str = field(repr=False)
    source: str


@dataclass(frozen=True)
class Target:
    """The destination of a bulk overwrite: the global commands, or one guild's commands."""

    api_base_url: str
    application_id: str
    guild_id: str | None

    @property
    def url(self) -> str:
        base = f"{self.api_base_url.rstrip('/')}/applications/{self.application_id}"
        if self.guild_id is None:
            return f"{base}/commands"
        return f"{base}/guilds/{self.guild_id}/commands"

    def describe(self) -> str:
        if self.guild_id is None:
            return f"the global commands of application {self.application_id}"
        return f"the commands of application {self.application_id} in guild {self.guild_id}"


def retry_after_seconds(response: requests.Response) -> float:
    """Return the wait in seconds that a 429 requests: JSON `retry_after`, else Retry-After."""
    candidates: list[Any] = []
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        candidates.append(body.get("retry_after"))
    candidates.append(response.headers.get("Retry-After"))

    for candidate in candidates:
        try:
            seconds = float(candidate)
        except (TypeError, ValueError):
            continue
        if 0 <= seconds < float("inf"):
            return seconds
    return 1.0


def put_commands(
    session: requests.Session,
    target: Target,
    token: BotToken,
    definitions: list[dict[str, Any]],
    *,
    max_retries: int,
    max_retry_after: float,
    sleep: Callable[[float], None],
) -> requests.Response:
    """PUT the definitions, waiting out up to `max_retries` rate limits (HTTP 429)."""
    headers = {"Authorization": f"Bot {token.value}", "User-Agent": USER_AGENT}

    for attempt in range(max_retries + 1):
        try:
            response = session.put(
                target.url, json=definitions, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS
            )
        except requests.RequestException as error:
            raise RegistrationError(
                f"PUT {target.url} failed: {type(error).__name__}; check the network "
                f"and {API_BASE_URL_ENV_VAR}"
            ) from None

        if response.status_code != HTTPStatus.TOO_MANY_REQUESTS:
            return response

        delay = retry_after_seconds(response)
        if attempt == max_retries:
            raise RegistrationError(
                f"rate limited by Discord {max_retries + 1} times in a row; try again later"
            )
        if delay > max_retry_after:
            raise RegistrationError(
                f"rate limited by Discord for {delay:.1f} s, longer than --max-retry-after "
                f"{max_retry_after:g} s; try again later"
            )
        log.warning(
            "Rate limited; retrying in %.2f s (retry %d of %d)", delay, attempt + 1, max_retries
        )
        sleep(delay)

    raise AssertionError("unreachable: the loop returns or raises")


def flatten_errors(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Yield (path, message) for each leaf of Discord's nested `errors` object."""
    if not isinstance(tree, dict):
        return
    for key, value in tree.items():
        if key == "_errors" and isinstance(value, list):
            for error in value:
                if isinstance(error, dict):
                    yield path, f"{error.get('message', '?')} ({error.get('code', '?')})"
        else:
            yield from flatten_errors(value, (*path, str(key)))


def value_at(document: Any, path: Sequence[str]) -> Any:
    """Return the value that an error path points to in the request body, or None."""
    for key in path:
        if isinstance(document, list) and key.isdigit() and int(key) < len(document):
            document = document[int(key)]
        elif isinstance(document, dict) and key in document:
            document = document[key]
        else:
            return None
    return document


def describe_validation_errors(body: Any, definitions: list[dict[str, Any]]) -> list[str]:
    """Turn a 400 body into one line per error, naming the command by its index in the PUT."""
    lines = []
    errors = body.get("errors") if isinstance(body, dict) else None
    for path, message in flatten_errors(errors):
        if path and path[0].isdigit() and int(path[0]) < len(definitions):
            index = int(path[0])
            where = f'command "{definitions[index].get("name", "?")}" (index {index})'
            field_path = path[1:]
        else:
            where = "request"
            field_path = path

        value = value_at(definitions, path)
        if field_path and value is not None and not isinstance(value, dict | list):
            where += f": {'.'.join(field_path)} = {json.dumps(value)[:80]}"
        elif field_path:
            where += f": {'.'.join(field_path)}"
        lines.append(f"  {where}: {message}")
    return lines


def check_response(
    response: requests.Response, target: Target, token: BotToken, definitions: list[dict[str, Any]]
) -> None:
    """Raise RegistrationError with the cause and the fix for any 4xx or 5xx status."""
    if response.ok:
        return

    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    discord_error = f"code {code}: {message}" if code is not None else response.reason
    status = response.status_code

    if status == HTTPStatus.UNAUTHORIZED:
        raise RegistrationError(
            f"Discord rejected the bot token from {token.source} (HTTP 401, {discord_error}): "
            "it is invalid or was reset; copy a new one from the Bot page of the application "
            "in the Discord Developer Portal"
        )
    if status == HTTPStatus.FORBIDDEN:
        raise RegistrationError(
            f"Discord denied access to {target.describe()} (HTTP 403, {discord_error}): "
            "check that the application id belongs to the bot token, and for guild commands "
            "that the app is installed in the guild with the applications.commands scope"
        )
    if status == HTTPStatus.BAD_REQUEST:
        raise RegistrationError(
            f"Discord rejected the command definitions (HTTP 400, {discord_error}); "
            "fix them in the command registry",
            describe_validation_errors(body, definitions),
        )
    raise RegistrationError(f"PUT {target.url} failed with HTTP {status} ({discord_error})")
