"""Variable validation of the root module, checked by real `terraform plan` runs.

Each plan runs in workspace ``dev`` of the session's scratch copy and fails at
validation, so it changes nothing in moto and needs no earlier apply.
"""

# ruff: noqa: F811  (pytest fixtures are imported by name and then requested as arguments)

from __future__ import annotations

import json

import pytest

from tests.harness.fixtures import harness, moto, public_key  # noqa: F401
from tests.harness.session import Session

pytestmark = pytest.mark.terraform

DEV_VARS = "environments/dev.tfvars"
VALIDATION_FAILED = 1

NOT_A_PARAMETER_NAME = "is not an SSM parameter name"
NOT_A_SNOWFLAKE = "is not a Discord snowflake"


def plan_errors(harness: Session, variables: dict[str, str]) -> tuple[int, str]:
    """Plan ``dev`` with ``variables`` and return the exit status and the unwrapped stderr."""
    harness.workspace.select("dev")
    returncode, _, err = harness.workspace.plan(DEV_VARS, variables)
    return returncode, " ".join(err.split())  # Terraform wraps diagnostics at 80 columns


@pytest.mark.parametrize("bad_key", ["abc123", "g" * 64, "0" * 63, "0" * 65])
def test_invalid_public_key_rejected(harness: Session, bad_key: str) -> None:
    harness.workspace.select("dev")

    returncode, out, err = harness.workspace.plan(DEV_VARS, {"discord_public_key": bad_key})

    message = " ".join(err.split())
    assert returncode == 1, out
    assert "discord_public_key must be exactly 64 hexadecimal digits" in message


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bot token", NOT_A_PARAMETER_NAME),
        ("arn:aws:ssm:us-east-1:123456789012:parameter/bot-token", NOT_A_PARAMETER_NAME),
        ("discord-bot/prod/bot-token", NOT_A_PARAMETER_NAME),
        ("", NOT_A_PARAMETER_NAME),
        ("/aws/bot-token", "which AWS reserves"),
        ("SSM-bot-token", "which AWS reserves"),
    ],
)
def test_invalid_ssm_parameter_rejected(
    harness: Session, public_key: str, name: str, expected: str
) -> None:
    variables = {"discord_public_key": public_key, "discord_bot_token_ssm_parameter": name}

    returncode, message = plan_errors(harness, variables)

    assert returncode == VALIDATION_FAILED
    assert f"discord_bot_token_ssm_parameter {json.dumps(name)} " in message
    assert expected in message


def test_long_ssm_parameter_rejected(harness: Session, public_key: str) -> None:
    name = "/" + "a" * 1011
    variables = {"discord_public_key": public_key, "discord_bot_token_ssm_parameter": name}

    returncode, message = plan_errors(harness, variables)

    assert returncode == VALIDATION_FAILED
    assert "is 1012 characters long; SSM parameter names have at most 1011" in message


def test_invalid_snowflakes_rejected(harness: Session, public_key: str) -> None:
    # Both variables in one plan: Terraform reports every failed validation.
    variables = {
        "discord_public_key": public_key,
        "discord_application_id": "my-bot",
        "discord_guild_id": "12345x",
    }

    returncode, message = plan_errors(harness, variables)

    assert returncode == VALIDATION_FAILED
    assert f'discord_application_id "my-bot" {NOT_A_SNOWFLAKE}' in message
    assert f'discord_guild_id "12345x" {NOT_A_SNOWFLAKE}' in message


def test_long_snowflake_rejected(harness: Session, public_key: str) -> None:
    # 21 digits exceed an unsigned 64-bit integer.
    value = "1" * 21
    variables = {"discord_public_key": public_key, "discord_application_id": value}

    returncode, message = plan_errors(harness, variables)

    assert returncode == VALIDATION_FAILED
    assert f'discord_application_id "{value}" {NOT_A_SNOWFLAKE}' in message
