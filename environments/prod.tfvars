# Workspace "prod": the endpoint that Discord calls.
# Set discord_public_key to the Public Key under General Information in the
# Discord Developer Portal. `make deploy ENV=prod` never uses a test key pair
# and stops if the key is missing here.

aws_region         = "us-east-1"
runtime            = "python3.11"
architecture       = "x86_64"
memory_size        = 512
timeout            = 30
log_retention_days = 365

# discord_public_key = "<64 hex digits from the Discord Developer Portal>"

# Read by `make register-commands ENV=prod` (scripts/register_commands.py).
# Terraform validates these but does not use the ids. Leave discord_guild_id
# unset to register global commands. A bot token parameter also lets the
# function's role read that one parameter.
# discord_application_id          = "<Application ID from General Information, digits>"
# discord_bot_token_ssm_parameter = "/discord-bot/prod/bot-token"
