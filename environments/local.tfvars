# Workspace "local": a local AWS API (moto) on 127.0.0.1, started by `make deploy`.
# discord_public_key comes from the environment's test key pair
# (`python scripts/dev_keys.py public local`), which `make deploy` passes with -var.

aws_region         = "us-east-1"
runtime            = "python3.11"
architecture       = "x86_64"
memory_size        = 512
timeout            = 30
log_retention_days = 1

# Read by `make register-commands ENV=local` (scripts/register_commands.py).
# Terraform validates these but does not use the ids.
# discord_application_id = "<Application ID from General Information, digits>"
# discord_guild_id       = "<ID of a test server, digits>"
