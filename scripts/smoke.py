"""Check an interactions endpoint the way Discord's endpoint verification does.

Usage:

    python scripts/smoke.py URL                          # invalid signature only
    python scripts/smoke.py URL --env local              # plus signed requests, dev key
    python scripts/smoke.py URL --private-key-file FILE  # plus signed requests, given key

Checks, one output line each:

1. A PING with an invalid signature must get 401. Discord sends such a request
   before it accepts an endpoint URL, and rejects an endpoint that accepts it.
2. With the environment's private key: a signed PING must get 200 with
   `{"type": 1}` and `Content-Type: application/json`.
3. With the private key: a signed `/ping` command must get a channel message
   (callback type 4) with text content.

Exit status: 0 when every check passes, 1 when one fails, 2 for invalid options.
Production has no private key outside Discord, so only check 1 runs there.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dev_keys
import requests
from nacl.signing import SigningKey

REQUEST_TIMEOUT_SECONDS = 10.0
EXIT_FAILED = 1
EXIT_USAGE = 2


class InteractionType(IntEnum):
    PING = 1
    APPLICATION_COMMAND = 2


class CallbackType(IntEnum):
    PONG = 1
    CHANNEL_MESSAGE_WITH_SOURCE = 4


class ApplicationCommandType(IntEnum):
    CHAT_INPUT = 1


# Likely causes and fixes for the Lambda error types that a 502 body can name.
ERROR_HINTS = {
    "Runtime.ImportModuleError": (
        "the function cannot import a module: the layer lacks a package or contains one built "
        "for another platform; rebuild the layer with layer_build.py and deploy again"
    ),
    "Runtime.UserCodeSyntaxError": "the function code does not compile on the runtime's Python",
    "Runtime.HandlerNotFound": "the handler setting names a function the module lacks",
    "Runtime.MalformedHandlerName": "the handler setting is not module.function",
    "Sandbox.Timedout": "the function ran past its timeout",
    "Runtime.ExitError": "the function's process exited",
}
UNKNOWN_502_HINT = (
    "the function failed; its error is in the function's CloudWatch log group "
    "(Terraform output log_group_name), or in the local runner's log"
)


class SmokeError(Exception):
    """A check failed; the message names the cause."""


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[], str]  # returns a detail for the PASS line, raises SmokeError


def snowflake() -> str:
    """Return a random id in Discord's snowflake format (a decimal 64-bit integer)."""
    return str(secrets.randbits(63))


def ping_payload() -> dict[str, Any]:
    return {
        "id": snowflake(),
        "application_id": snowflake(),
        "type": InteractionType.PING,
        "token": secrets.token_urlsafe(32),
        "version": 1,
    }


def ping_command_payload() -> dict[str, Any]:
    user = {"id": snowflake(), "username": "smoke-check", "discriminator": "0"}
    return {
        "id": snowflake(),
        "application_id": snowflake(),
        "type": InteractionType.APPLICATION_COMMAND,
        "data": {"id": snowflake(), "name": "ping", "type": ApplicationCommandType.CHAT_INPUT},
        "guild_id": snowflake(),
        "channel_id": snowflake(),
        "member": {"user": user, "roles": [], "permissions": "0"},
        "token": secrets.token_urlsafe(32),
        "locale": "en-US",
        "version": 1,
    }


def post_signed(
    session: requests.Session, url: str, payload: dict[str, Any], key: SigningKey
) -> requests.Response:
    """POST `payload` signed over timestamp + body, as Discord signs interactions."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode("ascii") + body).signature.hex()
    headers = {
        "Content-Type": "application/json",
        "X-Signature-Ed25519": signature,
        "X-Signature-Timestamp": timestamp,
    }
    try:
        return session.post(url, data=body, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise SmokeError(f"request to {url} failed: {error}") from error


def describe_failure(response: requests.Response, expected: str) -> str:
    """Explain an unexpected response, naming the Lambda error when the body has one."""
    message = f"expected {expected}, got HTTP {response.status_code}"
    error = _lambda_error(response)
    if error is not None:
        error_type, error_message = error
        hint = ERROR_HINTS.get(error_type, "")
        message += f": {error_type}: {error_message}"
        return f"{message} ({hint})" if hint else message
    if response.status_code == 502:
        return f"{message} ({UNKNOWN_502_HINT})"
    return f"{message}: {_body_excerpt(response)}"


def _lambda_error(response: requests.Response) -> tuple[str, str] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("errorType"), str):
        return body["errorType"], str(body.get("errorMessage", ""))
    return None


def _body_excerpt(response: requests.Response, limit: int = 200) -> str:
    text = response.text.strip().replace("\n", " ")
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def check_invalid_signature(session: requests.Session, url: str) -> str:
    # A real signature by the wrong key: well-formed, but not the application's.
    response = post_signed(session, url, ping_payload(), SigningKey.generate())
    if response.status_code != 401:
        raise SmokeError(describe_failure(response, "401 for an invalid signature"))
    return "401 as Discord requires"


def check_signed_ping(session: requests.Session, url: str, key: SigningKey) -> str:
    response = post_signed(session, url, ping_payload(), key)
    if response.status_code != 200:
        raise SmokeError(describe_failure(response, "200"))

    content_type = response.headers.get("Content-Type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise SmokeError(f"expected Content-Type application/json, got {content_type!r}")
    body = _json_body(response)
    if body != {"type": CallbackType.PONG}:
        raise SmokeError(f'expected body {{"type": 1}}, got {_body_excerpt(response)}')
    return '200 {"type": 1}'


def check_ping_command(session: requests.Session, url: str, key: SigningKey) -> str:
    response = post_signed(session, url, ping_command_payload(), key)
    if response.status_code != 200:
        raise SmokeError(describe_failure(response, "200"))

    body = _json_body(response)
    if not isinstance(body, dict) or body.get("type") != CallbackType.CHANNEL_MESSAGE_WITH_SOURCE:
        raise SmokeError(f"expected a channel message (type 4), got {_body_excerpt(response)}")
    data = body.get("data")
    content = data.get("content") if isinstance(data, dict) else None
    if not isinstance(content, str) or not content:
        raise SmokeError(f"expected a message with text content, got {_body_excerpt(response)}")
    return f"channel message {content!r}"


def _json_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as error:
        raise SmokeError(f"response is not JSON: {_body_excerpt(response)}") from error


def load_private_key(args: argparse.Namespace) -> SigningKey | None:
    """Return the signing key from --private-key-file or --env, or None for neither."""
    if args.private_key_file is not None:
        return dev_keys.read_key_file(args.private_key_file)
    if args.env is None:
        return None

    # Read only: a key generated now would not match the deployed public key.
    path = dev_keys.key_path(args.env, args.keys_dir)
    if not path.is_file():
        raise dev_keys.DevKeyError(
            f"no test key for environment {args.env!r} at {path}; deploy the environment "
            "first (make deploy ENV=...), which generates it"
        )
    return dev_keys.read_key_file(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Check a Discord interactions endpoint as Discord's verification does."
    )
    parser.add_argument("url", help="endpoint URL, e.g. the Terraform output function_url")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument(
        "--env", help="sign with the test key of this environment (from scripts/dev_keys.py)"
    )
    keys.add_argument(
        "--private-key-file",
        type=Path,
        help="sign with this Ed25519 private key: a file with the 32-byte seed as 64 hex digits",
    )
    parser.add_argument(
        "--keys-dir",
        type=Path,
        default=dev_keys.DEFAULT_KEYS_DIR,
        help="directory of the test keys for --env (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        print(f"smoke: invalid URL {args.url!r}: expected http(s)://host/...", file=sys.stderr)
        return EXIT_USAGE
    try:
        key = load_private_key(args)
    except (dev_keys.DevKeyError, OSError) as error:
        print(f"smoke: {error}", file=sys.stderr)
        return EXIT_USAGE

    with requests.Session() as session:
        checks = [Check("invalid signature", lambda: check_invalid_signature(session, args.url))]
        if key is not None:
            checks.append(Check("signed PING", lambda: check_signed_ping(session, args.url, key)))
            checks.append(
                Check("/ping command", lambda: check_ping_command(session, args.url, key))
            )

        failures = 0
        for check in checks:
            try:
                print(f"PASS {check.name}: {check.run()}", flush=True)
            except SmokeError as error:
                failures += 1
                print(f"FAIL {check.name}: {error}", flush=True)

    if key is None:
        print("SKIP signed PING and /ping command: no private key (--env or --private-key-file)")
    return EXIT_FAILED if failures else 0


if __name__ == "__main__":
    sys.exit(main())
