"""Edits of an interaction's original response through Discord's webhook API (v10).

`PATCH /webhooks/{application_id}/{interaction_token}/messages/@original` needs
no bot token: the interaction token in the path authorises it, for 15 minutes
after Discord created the interaction. That token is a secret, so neither the
URL nor an exception text that may contain it goes into a log or an error.
urllib3 would log the URL at DEBUG, so the client caps its logger at WARNING
(see `transport_logging`).

`requests` and `urllib.parse` are imported on first use, not at module load,
to keep the init path of the HTTP handler light.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from .config import ConfigurationError
from .transport_logging import cap_transport_loggers

logger = logging.getLogger(__name__)

API_BASE_URL_VARIABLE = "DISCORD_API_BASE_URL"
DEFAULT_API_BASE_URL = "https://discord.com/api/v10"

REQUEST_TIMEOUT_SECONDS = 10.0
MAX_RETRIES = 3

# Discord error code 10008: the original response does not exist (yet). The
# asynchronous run can start before Discord has stored the type 5 reply that
# the HTTP run is still returning, so the edit waits and tries again.
UNKNOWN_MESSAGE_CODE = 10008
UNKNOWN_MESSAGE_RETRY_SECONDS = 1.0

# Discord's API reference ("User Agent") requires the form "DiscordBot ($url, $versionNumber)".
USER_AGENT = "DiscordBot (discord_endpoint, 1.0)"

_SNOWFLAKE = re.compile(r"[0-9]{1,20}")


class WebhookError(Exception):
    """An edit failed; the message never contains the interaction token.

    `status` is the HTTP status of Discord's last response, or None when no
    response arrived.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WebhookClient:
    """Edits original interaction responses, honouring rate limits within a deadline."""

    def __init__(
        self,
        api_base_url: str = DEFAULT_API_BASE_URL,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api_base_url = api_base_url.rstrip("/")
        self._sleep = sleep
        self._clock = clock
        self._session: Any = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> WebhookClient:
        """Build a client for DISCORD_API_BASE_URL, default Discord's own API."""
        base_url = environ.get(API_BASE_URL_VARIABLE, "").strip() or DEFAULT_API_BASE_URL
        if not base_url.startswith(("https://", "http://")):
            raise ConfigurationError(
                f"{API_BASE_URL_VARIABLE}={base_url!r} is invalid: expected an http(s) URL "
                f"such as {DEFAULT_API_BASE_URL}."
            )
        return cls(base_url)

    def edit_original(
        self, application_id: str, token: str, message: dict[str, Any] | str, deadline: float
    ) -> None:
        """Replace the original response's content with `message`.

        `message` is a message object (`content`, `embeds`, `allowed_mentions`,
        ...), or its JSON text, which is sent as it is. `deadline` is a Unix
        time: a retry (after a rate limit, or while the original response does
        not exist yet) that would end after it fails the edit instead of
        waiting. Raises WebhookError.
        """
        from urllib.parse import quote

        if _SNOWFLAKE.fullmatch(application_id) is None:
            raise WebhookError(f"application id {application_id!r} is not a Discord id")
        url = (
            f"{self._api_base_url}/webhooks/{application_id}/"
            f"{quote(token, safe='')}/messages/@original"
        )

        for attempt in range(MAX_RETRIES + 1):
            response = self._patch(url, message)
            delay = _retry_delay(response)
            if delay is None:
                break

            if attempt == MAX_RETRIES or self._clock() + delay >= deadline:
                raise WebhookError(
                    f"editing the response failed with HTTP {response.status_code} "
                    f"({_describe_error(response)}) after {attempt + 1} attempts, and a "
                    f"retry after {delay:.2f} s would exceed the retries or the token's lifetime",
                    response.status_code,
                )
            logger.warning("Edit got HTTP %s; retrying in %.2f s", response.status_code, delay)
            self._sleep(delay)

        if not response.ok:
            raise WebhookError(
                f"editing the response failed with HTTP {response.status_code} "
                f"({_describe_error(response)})",
                response.status_code,
            )

    def _patch(self, url: str, message: dict[str, Any] | str) -> Any:
        import requests

        if self._session is None:
            # urllib3 logs the request line, token included, at DEBUG.
            cap_transport_loggers()
            self._session = requests.Session()
        headers = {"User-Agent": USER_AGENT}
        if isinstance(message, str):
            body = {"data": message.encode("utf-8")}
            headers["Content-Type"] = "application/json"
        else:
            body = {"json": message}
        try:
            return self._session.patch(
                url, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS, **body
            )
        except requests.RequestException as error:
            # The exception text can contain the URL, and with it the token.
            raise WebhookError(
                f"editing the response failed: {type(error).__name__} "
                f"(check the network and {API_BASE_URL_VARIABLE})"
            ) from None


def _retry_delay(response: Any) -> float | None:
    """Return the seconds to wait before retrying `response`'s request, or None for no retry."""
    if response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
        return _retry_after_seconds(response)
    if response.status_code == HTTPStatus.NOT_FOUND and _error_code(response) == (
        UNKNOWN_MESSAGE_CODE
    ):
        return UNKNOWN_MESSAGE_RETRY_SECONDS
    return None


def _error_code(response: Any) -> Any:
    body = _json_or_none(response)
    return body.get("code") if isinstance(body, dict) else None


def _json_or_none(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after_seconds(response: Any) -> float:
    """Return the wait that a 429 requests: JSON `retry_after`, else Retry-After, else 1 s."""
    body = _json_or_none(response)
    candidates = [body.get("retry_after") if isinstance(body, dict) else None]
    candidates.append(response.headers.get("Retry-After"))

    for candidate in candidates:
        try:
            seconds = float(candidate)
        except (TypeError, ValueError):
            continue
        if 0 <= seconds < float("inf"):
            return seconds
    return 1.0


def _describe_error(response: Any) -> str:
    body = _json_or_none(response)
    if not isinstance(body, dict):
        return response.reason or "no details"
    return f"code {body.get('code')}: {body.get('message')}"
