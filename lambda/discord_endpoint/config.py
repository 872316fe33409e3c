"""Endpoint settings read from the environment once, at Lambda init.

A missing or malformed value raises `ConfigurationError` at import, so a bad
deployment fails Discord's endpoint check at once instead of rejecting every
interaction later.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from typing import NamedTuple

PUBLIC_KEY_VARIABLE = "DISCORD_PUBLIC_KEY"
MAX_SKEW_VARIABLE = "DISCORD_TIMESTAMP_MAX_SKEW_SECONDS"

PUBLIC_KEY_BYTES = 32
DEFAULT_MAX_SKEW_SECONDS = 300

# An interaction token expires 15 minutes after Discord sends the request.
# Accepting older requests could never produce a reply and would only widen
# the replay window.
MAX_SKEW_LIMIT_SECONDS = 900


class ConfigurationError(RuntimeError):
    """An environment variable is missing or has an invalid value."""


class Settings(NamedTuple):
    """Validated endpoint settings."""

    public_key: bytes
    max_skew_seconds: int


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and validate the settings from `environ` (normally `os.environ`)."""
    return Settings(
        public_key=_read_public_key(environ),
        max_skew_seconds=_read_max_skew(environ),
    )


def _read_public_key(environ: Mapping[str, str]) -> bytes:
    expected = (
        f"expected the application's public key from the Discord Developer Portal, "
        f"{PUBLIC_KEY_BYTES * 2} hexadecimal characters"
    )
    value = environ.get(PUBLIC_KEY_VARIABLE, "").strip()
    if not value:
        raise ConfigurationError(f"{PUBLIC_KEY_VARIABLE} is missing or empty: {expected}.")

    # The value is public, but only its length goes into the message: the
    # error lands in the function's logs.
    if len(value) != PUBLIC_KEY_BYTES * 2:
        raise ConfigurationError(
            f"{PUBLIC_KEY_VARIABLE} is invalid: {expected}, got {len(value)} characters."
        )
    try:
        return binascii.unhexlify(value)
    except ValueError as error:  # binascii.Error is a ValueError subclass
        raise ConfigurationError(
            f"{PUBLIC_KEY_VARIABLE} is invalid: {expected}, got non-hexadecimal characters."
        ) from error


def _read_max_skew(environ: Mapping[str, str]) -> int:
    raw = environ.get(MAX_SKEW_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MAX_SKEW_SECONDS

    expected = f"expected a whole number of seconds from 1 to {MAX_SKEW_LIMIT_SECONDS}"
    if not (raw.isascii() and raw.isdigit()):
        raise ConfigurationError(f"{MAX_SKEW_VARIABLE}={raw!r} is invalid: {expected}.")
    seconds = int(raw)
    if not 1 <= seconds <= MAX_SKEW_LIMIT_SECONDS:
        raise ConfigurationError(f"{MAX_SKEW_VARIABLE}={raw!r} is out of range: {expected}.")
    return seconds
