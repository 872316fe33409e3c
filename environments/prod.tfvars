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
