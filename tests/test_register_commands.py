"""Tests for scripts/register_commands.py against a Discord API stand-in on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_support import set_fake_credentials
from moto import mock_aws
from moto.server import ThreadedMotoServer
from pytest_httpserver import HTTPServer

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPTS_DIR = REPO_ROOT / "scripts"

# The script imports its sibling command_api the way `python scripts/register_commands.py`
# finds it: through the script's own directory on sys.path.
if str(SCRIPTS_DIR) not in sys.path:
    sys.path.insert(0, str(SCRIPTS_DIR))

import command_api  # noqa: E402
import register_commands  # noqa: E402

TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAw.Gx1yZz.test-token-never-printed"
APPLICATION_ID = "100000000000000000"
GUILD_ID = "200000000000000000"

DEFINITIONS: list[dict[str, Any]] = [
    {"name": "ping", "description": "Reply with Pong", "type": 1},
    {
        "name": "echo",
        "description": "Repeat the text",
        "type": 1,
        "options": [
            {"type": 3, "name": "text", "description": "Text to repeat", "required": True},
            {
                "type": 3,
                "name": "style",
                "description": "How to repeat it",
                "choices": [{"name": "plain", "value": "plain"}, {"name": "bold", "value": "bold"}],
            },
            {"type": 3, "name": "topic", "description": "A topic", "autocomplete": True},
        ],
    },
]

GLOBAL_PATH = f"/applications/{APPLICATION_ID}/commands"
GUILD_PATH = f"/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands"


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    discord = HTTPServer(host="127.0.0.1", port=0)
    discord.start()
    yield discord
    discord.stop()


@pytest.fixture
def discord(server: HTTPServer) -> Iterator[HTTPServer]:
    server.clear()
    yield server
    server.clear()


@pytest.fixture
def no_tfvars(tmp_path: Path) -> Path:
    """An empty tfvars file, so that settings come only from options and the environment."""
    path = tmp_path / "empty.tfvars"
    path.write_text("")
    return path


class Cli:
    """A main() runner with a given environment that records each requested sleep."""

    def __init__(self, discord: HTTPServer, tfvars: Path) -> None:
        self.base_url = discord.url_for("/").rstrip("/")
        self.tfvars = tfvars
        self.sleeps: list[float] = []

    def __call__(self, *argv: str, environ: dict[str, str] | None = None, sleep=None) -> int:
        environ = {"DISCORD_BOT_TOKEN": TOKEN} if environ is None else environ
        full_argv = ["--api-base-url", self.base_url, "--tfvars", str(self.tfvars), *argv]
        return register_commands.main(
            full_argv,
            load=lambda: DEFINITIONS,
            environ=environ,
            sleep=sleep or self.sleeps.append,
        )


@pytest.fixture
def cli(discord: HTTPServer, no_tfvars: Path) -> Cli:
    return Cli(discord, no_tfvars)


def assert_no_token(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    """Assert the token is in neither stdout, stderr nor the log; return stdout + stderr."""
    captured = capsys.readouterr()
    assert TOKEN not in captured.out
    assert TOKEN not in captured.err
    assert TOKEN not in caplog.text
    return captured.out + captured.err


# --- the PUT request ------------------------------------------------------------------------


def test_global_put_sends_definitions(cli, discord, capsys, caplog):
    discord.expect_oneshot_request(
        GLOBAL_PATH,
        method="PUT",
        headers={"Authorization": f"Bot {TOKEN}", "Content-Type": "application/json"},
        json=DEFINITIONS,
    ).respond_with_json(DEFINITIONS)

    status = cli("--application-id", APPLICATION_ID)

    assert status == 0
    discord.check_assertions()
    assert len(discord.log) == 1
    output = assert_no_token(capsys, caplog)
    assert f"Replaced the global commands of application {APPLICATION_ID}" in output
    assert "with 2 commands: ping, echo" in output


def test_user_agent_names_bot(cli, discord):
    discord.expect_oneshot_request(GLOBAL_PATH, method="PUT").respond_with_json([])

    cli("--application-id", APPLICATION_ID)

    request = discord.log[0][0]
    assert request.headers["User-Agent"].startswith("DiscordBot (")


def test_guild_put_uses_guild_path(cli, discord, capsys, caplog):
    discord.expect_oneshot_request(GUILD_PATH, method="PUT", json=DEFINITIONS).respond_with_json(
        DEFINITIONS
    )

    status = cli("--application-id", APPLICATION_ID, "--guild-id", GUILD_ID)

    assert status == 0
    discord.check_assertions()
    assert f"in guild {GUILD_ID} with 2 commands" in assert_no_token(capsys, caplog)


def test_global_flag_overrides_guild_env(cli, discord):
    discord.expect_oneshot_request(GLOBAL_PATH, method="PUT").respond_with_json([])
    environ = {"DISCORD_BOT_TOKEN": TOKEN, "DISCORD_GUILD_ID": GUILD_ID}

    status = cli("--application-id", APPLICATION_ID, "--global", environ=environ)

    assert status == 0
    discord.check_assertions()


def test_registry_definitions_are_sent(discord, no_tfvars):
    """The body is exactly what the handler's registry returns."""
    expected = register_commands.load_definitions()
    assert {definition["name"] for definition in expected} >= {"ping", "echo"}
    discord.expect_oneshot_request(GLOBAL_PATH, method="PUT", json=expected).respond_with_json([])

    status = register_commands.main(
        ["--api-base-url", discord.url_for("/"), "--tfvars", str(no_tfvars)],
        environ={"DISCORD_BOT_TOKEN": TOKEN, "DISCORD_APPLICATION_ID": APPLICATION_ID},
    )

    assert status == 0
    discord.check_assertions()


# --- rate limits ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "body", "expected_sleep"),
    [
        pytest.param({"Retry-After": "0.25"}, "", 0.25, id="header"),
        pytest.param({}, json.dumps({"retry_after": 0.125, "global": False}), 0.125, id="json"),
        pytest.param({"Retry-After": "1"}, json.dumps({"retry_after": 0.5}), 0.5, id="json-first"),
    ],
)
def test_rate_limit_waits_retry_after(cli, discord, headers, body, expected_sleep):
    discord.expect_ordered_request(GLOBAL_PATH, method="PUT").respond_with_data(
        body, status=429, headers=headers, content_type="application/json"
    )
    discord.expect_ordered_request(GLOBAL_PATH, method="PUT").respond_with_json(DEFINITIONS)

    status = cli("--application-id", APPLICATION_ID)

    assert status == 0
    assert cli.sleeps == [expected_sleep]
    assert len(discord.log) == 2
    discord.check_assertions()


def test_rate_limit_real_sleep(cli, discord):
    discord.expect_ordered_request(GLOBAL_PATH, method="PUT").respond_with_json(
        {"message": "You are being rate limited.", "retry_after": 0.2, "global": False},
        status=429,
        headers={"Retry-After": "1"},
    )
    discord.expect_ordered_request(GLOBAL_PATH, method="PUT").respond_with_json([])

    started = time.monotonic()
    status = cli("--application-id", APPLICATION_ID, sleep=time.sleep)
    elapsed = time.monotonic() - started

    assert status == 0
    assert elapsed >= 0.2


def test_rate_limit_retries_are_bounded(cli, discord, capsys, caplog):
    discord.expect_request(GLOBAL_PATH, method="PUT").respond_with_json(
        {"retry_after": 0.01}, status=429
    )

    status = cli("--application-id", APPLICATION_ID, "--max-retries", "2")

    assert status == 1
    assert len(discord.log) == 3
    assert cli.sleeps == [0.01, 0.01]
    output = assert_no_token(capsys, caplog)
    assert "rate limited by Discord 3 times in a row" in output


def test_rate_limit_too_long_fails_at_once(cli, discord, capsys, caplog):
    discord.expect_request(GLOBAL_PATH, method="PUT").respond_with_json(
        {"retry_after": 3600}, status=429
    )

    status = cli("--application-id", APPLICATION_ID)

    assert status == 1
    assert len(discord.log) == 1
    assert cli.sleeps == []
    assert "3600.0 s" in assert_no_token(capsys, caplog)


# --- error reporting ------------------------------------------------------------------------


def test_401_names_token_source(cli, discord, capsys, caplog):
    discord.expect_request(GLOBAL_PATH, method="PUT").respond_with_json(
        {"message": "401: Unauthorized", "code": 0}, status=401
    )

    status = cli("--application-id", APPLICATION_ID)

    assert status == 1
    output = assert_no_token(capsys, caplog)
    assert "rejected the bot token" in output
    assert "environment variable DISCORD_BOT_TOKEN" in output
    assert len(output.strip().splitlines()) == 1


def test_403_names_scope_and_application(cli, discord, capsys, caplog):
    discord.expect_request(GUILD_PATH, method="PUT").respond_with_json(
        {"message": "Missing Access", "code": 50001}, status=403
    )

    status = cli("--application-id", APPLICATION_ID, "--guild-id", GUILD_ID)

    assert status == 1
    output = assert_no_token(capsys, caplog)
    assert "HTTP 403, code 50001: Missing Access" in output
    assert "applications.commands" in output
    assert APPLICATION_ID in output
    assert GUILD_ID in output


def test_400_maps_error_tree_to_command(cli, discord, capsys, caplog):
    errors = {
        "1": {
            "options": {
                "0": {
                    "name": {
                        "_errors": [
                            {
                                "code": "APPLICATION_COMMAND_INVALID_NAME",
                                "message": "Command name is invalid",
                            }
                        ]
                    }
                }
            }
        }
    }
    discord.expect_request(GLOBAL_PATH, method="PUT").respond_with_json(
        {"code": 50035, "message": "Invalid Form Body", "errors": errors}, status=400
    )

    status = cli("--application-id", APPLICATION_ID)

    assert status == 1
    lines = assert_no_token(capsys, caplog).strip().splitlines()
    assert lines[0].startswith("error: Discord rejected the command definitions")
    assert "code 50035: Invalid Form Body" in lines[0]
    assert lines[1] == (
        '  command "echo" (index 1): options.0.name = "text": '
        "Command name is invalid (APPLICATION_COMMAND_INVALID_NAME)"
    )


def test_400_request_level_errors(cli, discord, capsys, caplog):
    errors = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Too many commands"}]}
    discord.expect_request(GLOBAL_PATH, method="PUT").respond_with_json(
        {"code": 50035, "message": "Invalid Form Body", "errors": errors}, status=400
    )

    cli("--application-id", APPLICATION_ID)

    lines = assert_no_token(capsys, caplog).strip().splitlines()
    assert lines[1] == "  request: Too many commands (BASE_TYPE_MAX_LENGTH)"


def test_server_error_reports_status(cli, discord, capsys, caplog):
    discord.expect_request(GLOBAL_PATH, method="PUT").respond_with_data("oops", status=502)

    status = cli("--application-id", APPLICATION_ID)

    assert status == 1
    assert "HTTP 502" in assert_no_token(capsys, caplog)


def test_unreachable_api_reports_url(cli, capsys, caplog):
    closed = HTTPServer(host="127.0.0.1", port=0)
    closed.start()
    base_url = closed.url_for("/").rstrip("/")
    closed.stop()

    status = cli("--application-id", APPLICATION_ID, "--api-base-url", base_url)

    assert status == 1
    output = assert_no_token(capsys, caplog)
    assert f"PUT {base_url}{GLOBAL_PATH} failed: ConnectionError" in output


# --- settings -------------------------------------------------------------------------------


def test_dry_run_prints_without_sending(cli, discord, capsys, caplog):
    status = cli("--application-id", APPLICATION_ID, "--guild-id", GUILD_ID, "--dry-run")

    assert status == 0
    assert discord.log == []
    output = assert_no_token(capsys, caplog)
    first_line, body = output.split("\n", 1)
    assert first_line == f"PUT {discord.url_for('/').rstrip('/')}{GUILD_PATH}"
    assert json.loads(body) == DEFINITIONS


def test_dry_run_without_application_id(cli, capsys, caplog):
    status = cli("--dry-run", environ={})

    assert status == 0
    assert "/applications/{application_id}/commands" in assert_no_token(capsys, caplog)


def test_missing_application_id_says_where(cli, discord, capsys, caplog):
    status = cli()

    assert status == 1
    assert discord.log == []
    output = assert_no_token(capsys, caplog)
    assert "missing application id" in output
    assert "--application-id" in output
    assert "DISCORD_APPLICATION_ID" in output
    assert "discord_application_id" in output


def test_missing_token_says_where(cli, discord, capsys, caplog):
    status = cli("--application-id", APPLICATION_ID, environ={})

    assert status == 1
    assert discord.log == []
    output = capsys.readouterr().err
    assert "missing bot token" in output
    assert "DISCORD_BOT_TOKEN" in output
    assert "discord_bot_token_ssm_parameter" in output


@pytest.mark.parametrize("bad", ["12ab", "../../users/@me", "1" * 21, " "])
def test_invalid_guild_id_rejected(cli, discord, capsys, bad):
    status = cli("--application-id", APPLICATION_ID, "--guild-id", bad)

    assert status == 1
    assert discord.log == []
    assert f"invalid guild id {bad!r} from option --guild-id" in capsys.readouterr().err


def test_tfvars_supplies_ids(discord, tmp_path, capsys):
    tfvars = tmp_path / "dev.tfvars"
    tfvars.write_text(
        f'# Discord settings\ndiscord_application_id = "{APPLICATION_ID}"  # from the portal\n'
        f'discord_guild_id="{GUILD_ID}"\nunrelated = ["a", "b"]\n'
    )
    discord.expect_oneshot_request(GUILD_PATH, method="PUT").respond_with_json([])
    cli = Cli(discord, tfvars)

    status = cli()

    assert status == 0
    discord.check_assertions()


def test_option_beats_environment_and_tfvars(discord, tmp_path):
    tfvars = tmp_path / "dev.tfvars"
    tfvars.write_text('discord_application_id = "300000000000000000"\n')
    discord.expect_oneshot_request(GLOBAL_PATH, method="PUT").respond_with_json([])
    environ = {"DISCORD_BOT_TOKEN": TOKEN, "DISCORD_APPLICATION_ID": "400000000000000000"}

    status = Cli(discord, tfvars)("--application-id", APPLICATION_ID, environ=environ)

    assert status == 0
    discord.check_assertions()


def test_environment_beats_tfvars(discord, tmp_path):
    tfvars = tmp_path / "dev.tfvars"
    tfvars.write_text('discord_application_id = "300000000000000000"\n')
    discord.expect_oneshot_request(GLOBAL_PATH, method="PUT").respond_with_json([])
    environ = {"DISCORD_BOT_TOKEN": TOKEN, "DISCORD_APPLICATION_ID": APPLICATION_ID}

    status = Cli(discord, tfvars)(environ=environ)

    assert status == 0
    discord.check_assertions()


def test_tfvars_non_string_value_rejected(discord, tmp_path, capsys):
    tfvars = tmp_path / "dev.tfvars"
    tfvars.write_text(f"\n\ndiscord_application_id = {APPLICATION_ID}\n")

    status = Cli(discord, tfvars)()

    assert status == 1
    error = capsys.readouterr().err
    assert f"{tfvars}:3: discord_application_id must be a plain quoted string" in error


def test_missing_tfvars_option_rejected(discord, tmp_path, capsys):
    status = Cli(discord, tmp_path / "absent.tfvars")("--application-id", APPLICATION_ID)

    assert status == 1
    assert discord.log == []
    assert "absent.tfvars not found; fix --tfvars" in capsys.readouterr().err


@pytest.mark.parametrize("env", ["../../etc/passwd", "dev/x", " "])
def test_invalid_env_rejected(capsys, env):
    status = register_commands.main(
        ["--env", env, "--application-id", APPLICATION_ID, "--dry-run"],
        load=lambda: DEFINITIONS,
        environ={},
    )

    assert status == 1
    assert f"invalid environment {env!r}" in capsys.readouterr().err


def test_tfvars_hash_inside_string_kept(tmp_path):
    tfvars = tmp_path / "dev.tfvars"
    tfvars.write_text('discord_bot_token_ssm_parameter = "/bot#1/token" # comment\n')

    values = register_commands.read_tfvars(tfvars, ["discord_bot_token_ssm_parameter"])

    assert values == {"discord_bot_token_ssm_parameter": "/bot#1/token"}


# --- the token's characters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_token", "named"),
    [
        (TOKEN.replace(".", "\u2019", 1), "U+2019"),
        (TOKEN.replace(".", "\n", 1), "U+000A"),
        (TOKEN.replace(".", " ", 1), "U+0020"),
        (TOKEN.replace(".", "\u00e9", 1), "U+00E9"),
    ],
)
def test_token_bad_character_rejected(cli, discord, capsys, caplog, bad_token, named):
    status = cli("--application-id", APPLICATION_ID, environ={"DISCORD_BOT_TOKEN": bad_token})

    assert status == 1
    assert discord.log == []
    captured = capsys.readouterr()
    assert bad_token not in captured.err
    assert TOKEN.split(".")[0] not in captured.err
    error_lines = captured.err.splitlines()
    assert len(error_lines) == 1
    assert "invalid bot token from environment variable DISCORD_BOT_TOKEN" in error_lines[0]
    assert named in error_lines[0]
    assert "copy it again from the Bot page" in error_lines[0]


# --- token from SSM -------------------------------------------------------------------------


@pytest.fixture
def aws_credentials(monkeypatch):
    set_fake_credentials(monkeypatch)


@mock_aws
def test_token_from_ssm_parameter_in_tfvars(aws_credentials, discord, tmp_path, capsys, caplog):
    ssm = boto3.client("ssm", region_name="eu-west-1")
    ssm.put_parameter(Name="/discord/dev/bot-token", Value=TOKEN, Type="SecureString")
    tfvars = tmp_path / "dev.tfvars"
    tfvars.write_text(
        f'aws_region = "eu-west-1"\ndiscord_application_id = "{APPLICATION_ID}"\n'
        'discord_bot_token_ssm_parameter = "/discord/dev/bot-token"\n'
    )
    discord.expect_oneshot_request(
        GLOBAL_PATH, method="PUT", headers={"Authorization": f"Bot {TOKEN}"}
    ).respond_with_json({"message": "401: Unauthorized", "code": 0}, status=401)

    status = Cli(discord, tfvars)(environ={})

    assert status == 1
    discord.check_assertions()
    output = assert_no_token(capsys, caplog)
    assert "SSM parameter /discord/dev/bot-token" in output
    assert f"{tfvars} (discord_bot_token_ssm_parameter)" in output


@mock_aws
def test_ssm_parameter_not_found(aws_credentials, discord, no_tfvars, capsys):
    status = Cli(discord, no_tfvars)(
        "--application-id", APPLICATION_ID, "--token-ssm-parameter", "/missing", environ={}
    )

    assert status == 1
    assert discord.log == []
    error = capsys.readouterr().err
    assert "SSM parameter /missing (named by option --token-ssm-parameter) not found" in error


@mock_aws
def test_ssm_token_bad_character_names_parameter(aws_credentials, discord, tmp_path, capsys):
    ssm = boto3.client("ssm", region_name="eu-west-1")
    ssm.put_parameter(
        Name="/discord/dev/bot-token", Value=f"\u201c{TOKEN}\u201d", Type="SecureString"
    )
    tfvars = tmp_path / "dev.tfvars"
    tfvars.write_text('discord_bot_token_ssm_parameter = "/discord/dev/bot-token"\n')

    status = Cli(discord, tfvars)("--application-id", APPLICATION_ID, environ={})

    assert status == 1
    assert discord.log == []
    error = capsys.readouterr().err
    assert TOKEN not in error
    assert "invalid bot token from SSM parameter /discord/dev/bot-token" in error
    assert f"{tfvars} (discord_bot_token_ssm_parameter)" in error
    assert "U+201C" in error


# --- the script as a program ----------------------------------------------------------------


def test_script_dry_run_subprocess(tmp_path):
    """The script runs as a program and finds the registry and its sibling module itself."""
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS_DIR / "register_commands.py"),
            "--dry-run",
            "--env",
            "no-such-environment",
            "--application-id",
            APPLICATION_ID,
            "--api-base-url",
            "http://127.0.0.1:9",
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DISCORD_BOT_TOKEN": TOKEN},
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    first_line, body = result.stdout.split("\n", 1)
    assert first_line == f"PUT http://127.0.0.1:9{GLOBAL_PATH}"
    names = [definition["name"] for definition in json.loads(body)]
    assert "ping" in names


def test_script_keeps_botocore_quiet(discord, no_tfvars):
    """A successful SSM read prints no INFO line from botocore (such as "Found credentials")."""
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    environment = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_REGION": "eu-west-1",
    }
    try:
        boto3.client(
            "ssm",
            region_name="eu-west-1",
            endpoint_url=environment["AWS_ENDPOINT_URL"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).put_parameter(Name="/discord/quiet/bot-token", Value=TOKEN, Type="SecureString")
        discord.expect_oneshot_request(GLOBAL_PATH, method="PUT").respond_with_json([])

        result = subprocess.run(
            [
                sys.executable,
                str(SCRIPTS_DIR / "register_commands.py"),
                "--tfvars",
                str(no_tfvars),
                "--application-id",
                APPLICATION_ID,
                "--token-ssm-parameter",
                "/discord/quiet/bot-token",
                "--api-base-url",
                discord.url_for("/").rstrip("/"),
            ],
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
        )
    finally:
        moto.stop()

    assert result.returncode == 0, result.stderr
    discord.check_assertions()
    assert "Replaced the global commands" in result.stdout
    assert result.stderr == ""


def test_bot_token_repr_hides_value():
    token = command_api.BotToken("Mz.secret-token-value", "environment variable DISCORD_BOT_TOKEN")

    assert "Mz.secret-token-value" not in repr(token)
    assert "DISCORD_BOT_TOKEN" in repr(token)
