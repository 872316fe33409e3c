# Workspace "dev": a real AWS account, for trying changes before production.
# Leave discord_public_key unset to use this environment's test key pair
# (`python scripts/dev_keys.py public dev`); set it to a development Discord
# application's public key to let Discord call this endpoint.

aws_region         = "us-east-1"
runtime            = "python3.11"
architecture       = "x86_64"
memory_size        = 512
timeout            = 30
log_retention_days = 14

# discord_public_key = "<64 hex digits from the Discord Developer Portal>"

# Read by `make register-commands ENV=dev` (scripts/register_commands.py).
# Terraform validates these but does not use the ids. A bot token parameter
# also lets the function's role read that one parameter.
# discord_application_id          = "<Application ID from General Information, digits>"
# discord_guild_id                = "<ID of a test server, digits; its commands appear at once>"
# discord_bot_token_ssm_parameter = "/discord-bot/dev/bot-token"
