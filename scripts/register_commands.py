#!/usr/bin/env python3
"""Register the endpoint's slash commands with Discord.

The definitions come from the handler's command registry, so the commands that Discord shows are
the ones the function routes. One PUT replaces the whole set (Discord's bulk overwrite): commands
missing from the registry are deleted, and the others are created or updated.

Each setting is read from a command-line option, then an environment variable, then the
workspace's `environments/<env>.tfvars` (see `SETTINGS`). The bot token comes from the
environment variable DISCORD_BOT_TOKEN or from an SSM SecureString parameter. The token is never
printed: not in output, logs, error messages or `--dry-run` output.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from command_api import (
    API_BASE_URL_ENV_VAR,
    BotToken,
    RegistrationError,
    Target,
    check_response,
    put_commands,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_DIR = REPO_ROOT / "lambda"

DEFAULT_API_BASE_URL = "https://discord.com/api/v10"
BOT_TOKEN_ENV_VAR = "DISCORD_BOT_TOKEN"  # noqa: S105 (a variable name, not a secret)
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_RETRY_AFTER_SECONDS = 60.0

# Snowflakes are unsigned 64-bit integers written in decimal. Checking the form keeps a typo
# from being pasted into the URL path.
SNOWFLAKE = re.compile(r"[0-9]{1,20}")

# The environment names a file under environments/, so it must not contain a path.
WORKSPACE = re.compile(r"[A-Za-z0-9_-]{1,90}")

# Bot tokens are printable ASCII without whitespace. Anything else (a curly quote or a line
# break pasted with the token) would fail inside http.client with a traceback or a misleading
# network error, because header values must be Latin-1 and must not contain a line break.
TOKEN_CHARACTERS = re.compile(r"[\x21-\x7e]+")

# Loggers whose INFO records the script prints. Libraries stay at WARNING, because botocore
# reports at INFO where it found credentials and endpoints.
SCRIPT_LOGGERS = ("register_commands",)


@dataclass(frozen=True)
class Setting:
    """One setting and the three places it is read from, in order of precedence."""

    label: str
    option: str
    env_var: str
    tfvars_key: str

    @property
    def dest(self) -> str:
        return self.option.removeprefix("--").replace("-", "_")


APPLICATION_ID = Setting(
    "application id", "--application-id", "DISCORD_APPLICATION_ID", "discord_application_id"
)
GUILD_ID = Setting("guild id", "--guild-id", "DISCORD_GUILD_ID", "discord_guild_id")
TOKEN_PARAMETER = Setting(
    "bot token SSM parameter",
    "--token-ssm-parameter",
    "DISCORD_BOT_TOKEN_SSM_PARAMETER",
    "discord_bot_token_ssm_parameter",
)
REGION = Setting("AWS region", "--region", "AWS_REGION", "aws_region")
SETTINGS = (APPLICATION_ID, GUILD_ID, TOKEN_PARAMETER, REGION)


@dataclass(frozen=True)
class Resolved:
    """A setting's value and a description of where it came from, for error messages."""

    value: str
    source: str


# --- settings: options, environment, tfvars -----------------------------------------------


def read_tfvars(path: Path, keys: Sequence[str]) -> dict[str, str]:
    """Read `key = "value"` lines for the given keys from a tfvars file.

    This is no HCL parser: it reads only single-line assignments of a quoted string, which is
    how these settings are written. A listed key assigned anything else raises, so a value is
    never silently ignored. A missing file yields no values.
    """
    if not path.is_file():
        return {}

    values: dict[str, str] = {}
    key_pattern = "|".join(re.escape(key) for key in keys)
    assignment = re.compile(rf"\s*({key_pattern})\s*=\s*(.*)")
    quoted = re.compile(r'"([^"\\$]*)"\s*(?:(?:#|//).*)?')

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = assignment.fullmatch(line)
        if match is None:
            continue
        key, raw_value = match.group(1), match.group(2).strip()
        value = quoted.fullmatch(raw_value)
        if value is None:
            raise RegistrationError(
                f"{path}:{number}: {key} must be a plain quoted string, "
                f'like {key} = "value"; got {raw_value!r}'
            )
        values[key] = value.group(1)
    return values


def resolve(
    setting: Setting,
    options: argparse.Namespace,
    environ: Mapping[str, str],
    tfvars: Mapping[str, str],
    tfvars_path: Path,
) -> Resolved | None:
    """Return the setting from the option, the environment or the tfvars file, in that order."""
    from_option = getattr(options, setting.dest, None)
    if from_option:
        return Resolved(from_option, f"option {setting.option}")
    if environ.get(setting.env_var):
        return Resolved(environ[setting.env_var], f"environment variable {setting.env_var}")
    if tfvars.get(setting.tfvars_key):
        return Resolved(tfvars[setting.tfvars_key], f"{tfvars_path} ({setting.tfvars_key})")
    return None


def where_to_set(setting: Setting, tfvars_path: Path) -> str:
    return (
        f"pass {setting.option}, set {setting.env_var}, "
        f'or add {setting.tfvars_key} = "..." to {tfvars_path}'
    )


def check_snowflake(resolved: Resolved, setting: Setting) -> str:
    value = resolved.value.strip()
    if SNOWFLAKE.fullmatch(value) is None:
        raise RegistrationError(
            f"invalid {setting.label} {resolved.value!r} from {resolved.source}: expected a "
            "Discord id of decimal digits, as shown by Copy ID in Discord's developer mode"
        )
    return value


# --- bot token: environment or SSM --------------------------------------------------------


def check_token(token: BotToken) -> BotToken:
    """Return the token if its characters can be a bot token; raise RegistrationError.

    The message names the first bad character by its code point only, never the token.
    """
    if TOKEN_CHARACTERS.fullmatch(token.value) is not None:
        return token

    bad = next(character for character in token.value if not "\x21" <= character <= "\x7e")
    kind = "whitespace or a control character" if bad.isascii() else "a non-ASCII character"
    raise RegistrationError(
        f"invalid bot token from {token.source}: it contains {kind} (U+{ord(bad):04X}), but "
        "bot tokens are printable ASCII without spaces; copy it again from the Bot page of the "
        "application in the Discord Developer Portal"
    )


def fetch_ssm_token(parameter: Resolved, region: str | None) -> BotToken:
    """Read the bot token from an SSM SecureString parameter, decrypted.

    boto3 is imported here so that `--dry-run` and tokens from the environment work without
    AWS libraries or credentials.
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    source = f"SSM parameter {parameter.value} (named by {parameter.source})"
    try:
        client = boto3.client("ssm", region_name=region)
        response = client.get_parameter(Name=parameter.value, WithDecryption=True)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        if code == "ParameterNotFound":
            raise RegistrationError(
                f"{source} not found; create it as a SecureString or fix the name"
            ) from None
        raise RegistrationError(f"reading {source} failed: {code}") from None
    except BotoCoreError as error:
        raise RegistrationError(f"reading {source} failed: {error}") from None

    value = response["Parameter"]["Value"].strip()
    if not value:
        raise RegistrationError(f"{source} is empty; store the bot token in it")
    return check_token(BotToken(value, source))


def resolve_token(
    options: argparse.Namespace,
    environ: Mapping[str, str],
    tfvars: Mapping[str, str],
    tfvars_path: Path,
) -> BotToken:
    """Return the bot token.

    An explicit --token-ssm-parameter wins, then DISCORD_BOT_TOKEN, then a parameter named by
    the environment or the tfvars file.
    """
    region = resolve(REGION, options, environ, tfvars, tfvars_path)
    region_name = region.value if region else None

    if options.token_ssm_parameter:
        parameter = Resolved(options.token_ssm_parameter, f"option {TOKEN_PARAMETER.option}")
        return fetch_ssm_token(parameter, region_name)

    from_env = environ.get(BOT_TOKEN_ENV_VAR, "").strip()
    if from_env:
        return check_token(BotToken(from_env, f"environment variable {BOT_TOKEN_ENV_VAR}"))

    parameter = resolve(TOKEN_PARAMETER, options, environ, tfvars, tfvars_path)
    if parameter is not None:
        return fetch_ssm_token(parameter, region_name)

    raise RegistrationError(
        f"missing bot token: set {BOT_TOKEN_ENV_VAR}, or name an SSM SecureString parameter "
        f"that holds it ({where_to_set(TOKEN_PARAMETER, tfvars_path)})"
    )


# --- command line -------------------------------------------------------------------------


def load_definitions() -> list[dict[str, Any]]:
    """Return the Discord API v10 definitions of every command in the handler's registry."""
    if str(LAMBDA_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_DIR))
    from discord_endpoint import commands

    return commands.registry.definitions()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=(
            "Each setting is read from its option, then its environment variable, then "
            f"environments/<env>.tfvars. The bot token comes from {BOT_TOKEN_ENV_VAR} or from "
            "the SSM SecureString parameter named by --token-ssm-parameter, "
            f"{TOKEN_PARAMETER.env_var} or {TOKEN_PARAMETER.tfvars_key} in the tfvars file."
        ),
    )
    parser.add_argument(
        "--env",
        help="Terraform workspace whose environments/<env>.tfvars supplies settings "
        "(default: $ENV or local)",
    )
    parser.add_argument(
        "--tfvars",
        type=Path,
        help="tfvars file to read settings from (default: environments/<env>.tfvars)",
    )
    for setting in SETTINGS:
        parser.add_argument(
            setting.option,
            help=f"{setting.label} (else ${setting.env_var}, else {setting.tfvars_key} in tfvars)",
        )
    parser.add_argument(
        "--global",
        dest="force_global",
        action="store_true",
        help="register global commands even if a guild id is set in the environment or tfvars",
    )
    parser.add_argument(
        "--api-base-url",
        help=f"Discord API base URL (else ${API_BASE_URL_ENV_VAR}, else {DEFAULT_API_BASE_URL})",
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        default=DEFAULT_MAX_RETRIES,
        help=f"rate-limited (HTTP 429) requests to retry (default: {DEFAULT_MAX_RETRIES})",
    )
    parser.add_argument(
        "--max-retry-after",
        type=float,
        default=DEFAULT_MAX_RETRY_AFTER_SECONDS,
        help="longest Retry-After to wait, in seconds; a longer one fails at once "
        f"(default: {DEFAULT_MAX_RETRY_AFTER_SECONDS:g})",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the URL and the JSON body instead of sending them; needs no bot token",
    )
    options = parser.parse_args(argv)

    if options.force_global and options.guild_id:
        parser.error("--global and --guild-id exclude each other; pass one of them")
    if options.max_retries < 0:
        parser.error(f"--max-retries must be 0 or more, got {options.max_retries}")
    if not 0 <= options.max_retry_after < float("inf"):
        parser.error(f"--max-retry-after must be 0 or more seconds, got {options.max_retry_after}")
    return options


def resolve_target(
    options: argparse.Namespace,
    environ: Mapping[str, str],
    tfvars: Mapping[str, str],
    tfvars_path: Path,
) -> Target:
    api_base_url = options.api_base_url or environ.get(API_BASE_URL_ENV_VAR) or DEFAULT_API_BASE_URL

    application = resolve(APPLICATION_ID, options, environ, tfvars, tfvars_path)
    if application is not None:
        application_id = check_snowflake(application, APPLICATION_ID)
    elif options.dry_run:
        application_id = "{application_id}"
    else:
        raise RegistrationError(
            f"missing application id: {where_to_set(APPLICATION_ID, tfvars_path)}; "
            "it is on the General Information page of the Discord Developer Portal"
        )

    guild = None
    if not options.force_global:
        guild = resolve(GUILD_ID, options, environ, tfvars, tfvars_path)
    guild_id = check_snowflake(guild, GUILD_ID) if guild is not None else None
    return Target(api_base_url, application_id, guild_id)


def run(
    options: argparse.Namespace,
    definitions: list[dict[str, Any]],
    *,
    environ: Mapping[str, str],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Send (or with --dry-run, print) the definitions; raise RegistrationError on failure."""
    env = options.env or environ.get("ENV") or "local"
    if WORKSPACE.fullmatch(env) is None:
        raise RegistrationError(
            f"invalid environment {env!r}: expected a Terraform workspace name of letters, "
            "digits, '-' and '_', such as dev or prod"
        )
    if options.tfvars is not None and not options.tfvars.is_file():
        raise RegistrationError(f"tfvars file {options.tfvars} not found; fix --tfvars")
    tfvars_path = options.tfvars or REPO_ROOT / "environments" / f"{env}.tfvars"
    tfvars = read_tfvars(tfvars_path, [setting.tfvars_key for setting in SETTINGS])
    target = resolve_target(options, environ, tfvars, tfvars_path)

    if options.dry_run:
        print(f"PUT {target.url}")
        print(json.dumps(definitions, indent=2, ensure_ascii=False))
        return

    token = resolve_token(options, environ, tfvars, tfvars_path)
    with requests.Session() as session:
        response = put_commands(
            session,
            target,
            token,
            definitions,
            max_retries=options.max_retries,
            max_retry_after=options.max_retry_after,
            sleep=sleep,
        )
    check_response(response, target, token, definitions)

    names = ", ".join(definition["name"] for definition in definitions) or "none"
    print(f"Replaced {target.describe()} with {len(definitions)} commands: {names}")


def main(
    argv: Sequence[str] | None = None,
    *,
    load: Callable[[], list[dict[str, Any]]] = load_definitions,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run the command line; `load`, `environ` and `sleep` are seams for tests."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in SCRIPT_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    options = parse_args(argv)
    try:
        run(options, load(), environ=os.environ if environ is None else environ, sleep=sleep)
    except RegistrationError as error:
        print(f"error: {error}", file=sys.stderr)
        for line in error.details:
            print(line, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
