################################################################################
# Environment
################################################################################

variable "project_name" {
  description = "Prefix of every resource name. Resources are named <project_name>-<workspace>, so the name must leave room for the workspace within Lambda's 64-character limit."
  type        = string
  default     = "discord-bot"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", var.project_name))
    error_message = "The project_name must be 1 to 40 letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "aws_region" {
  description = "AWS Region for every resource, for example eu-west-1."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2,4}(-[a-z]+)+-[0-9]+$", var.aws_region))
    error_message = "The aws_region must be an AWS Region code such as us-east-1 or eu-west-1."
  }
}

variable "tags" {
  description = "Extra tags for every resource. Project, Environment and ManagedBy are always set and take precedence."
  type        = map(string)
  default     = {}
}

################################################################################
# Discord
################################################################################

variable "discord_public_key" {
  description = "Public key of the Discord application (Developer Portal > General Information > Public Key), 64 hex digits. The function verifies every request's Ed25519 signature with it."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-fA-F]{64}$", var.discord_public_key))
    error_message = "The discord_public_key must be exactly 64 hexadecimal digits: copy the Public Key from the Discord Developer Portal (General Information)."
  }
}

# Terraform does not use the two ids below. scripts/register_commands.py reads
# them from the same environments/<workspace>.tfvars, and declaring them keeps
# Terraform from warning about undeclared variables in that file. The checks
# match the script's: a snowflake is an unsigned 64-bit integer in decimal.
variable "discord_application_id" {
  description = "Application ID of the Discord application (Developer Portal > General Information > Application ID), in decimal digits. Read only by scripts/register_commands.py; null means the script needs --application-id or DISCORD_APPLICATION_ID."
  type        = string
  default     = null

  validation {
    condition     = var.discord_application_id == null || can(regex("^[0-9]{1,20}$", var.discord_application_id))
    error_message = "The discord_application_id ${jsonencode(var.discord_application_id)} is not a Discord snowflake: copy the Application ID, which has only digits, from General Information in the Discord Developer Portal."
  }
}

variable "discord_guild_id" {
  description = "ID of the Discord server (guild) for guild commands, in decimal digits; guild commands appear at once, so it suits development. Read only by scripts/register_commands.py; null registers global commands."
  type        = string
  default     = null

  validation {
    condition     = var.discord_guild_id == null || can(regex("^[0-9]{1,20}$", var.discord_guild_id))
    error_message = "The discord_guild_id ${jsonencode(var.discord_guild_id)} is not a Discord snowflake: in Discord, enable Developer Mode, right-click the server and choose Copy Server ID."
  }
}

variable "discord_bot_token_ssm_parameter" {
  description = "Name of the SSM SecureString parameter that holds the bot token, such as /discord-bot/prod/bot-token, or null for none. When set, the function's role may call ssm:GetParameter on that one parameter, and scripts/register_commands.py reads the token from it unless DISCORD_BOT_TOKEN is set. The default aws/ssm key needs no extra grant; a customer managed key needs kms:Decrypt, which this module does not grant."
  type        = string
  default     = null

  validation {
    condition     = var.discord_bot_token_ssm_parameter == null || can(regex("^([A-Za-z0-9_.-]+|(/[A-Za-z0-9_.-]+)+)$", var.discord_bot_token_ssm_parameter))
    error_message = "The discord_bot_token_ssm_parameter ${jsonencode(var.discord_bot_token_ssm_parameter)} is not an SSM parameter name. Use letters, digits, '_', '.' and '-', start a hierarchical name with '/' (as in /discord-bot/prod/bot-token), and give the name, not the ARN. Leave it unset for no parameter."
  }

  # SSM's naming rules (PutParameter API reference) reserve names that start
  # with "aws" or "ssm" in any case. The check also applies after a leading
  # "/", because AWS publishes its own public parameters under /aws/.
  validation {
    condition     = var.discord_bot_token_ssm_parameter == null || !can(regex("^/?(?i:aws|ssm)", var.discord_bot_token_ssm_parameter))
    error_message = "The discord_bot_token_ssm_parameter ${jsonencode(var.discord_bot_token_ssm_parameter)} starts with \"aws\" or \"ssm\", which AWS reserves. Store the bot token under another name, such as /discord-bot/prod/bot-token."
  }

  # AWS allows 1011 characters for the name and the ARN prefix before it
  # together. The prefix's length depends on the partition and region, so
  # only the outer bound is checked here.
  validation {
    condition     = var.discord_bot_token_ssm_parameter == null || try(length(var.discord_bot_token_ssm_parameter) <= 1011, false)
    error_message = "The discord_bot_token_ssm_parameter is ${try(length(var.discord_bot_token_ssm_parameter), 0)} characters long; SSM parameter names have at most 1011."
  }
}

################################################################################
# Function
################################################################################

variable "runtime" {
  description = "Lambda Python runtime of the function and of the layer build. One of python3.9, python3.10, python3.11, python3.12, python3.13, python3.14."
  type        = string
  default     = "python3.11"

  # Keep this list equal to the runtime table in layer_builder/policy.py; a test compares them.
  validation {
    condition     = contains(["python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14"], var.runtime)
    error_message = "The runtime must be one that layer_build.py can target: python3.9, python3.10, python3.11, python3.12, python3.13 or python3.14."
  }
}

variable "architecture" {
  description = "Instruction set of the function and of the layer's native code: x86_64 or arm64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "The architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB, 128 to 10240. CPU share grows with it, which shortens cold starts."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "The memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Maximum run time of one invocation in seconds, 1 to 900. Discord drops an interaction that is not answered within 3 seconds."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "The timeout must be a whole number of seconds from 1 to 900."
  }
}

################################################################################
# Logs
################################################################################

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs. One of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  type        = number
  default     = 365

  # CloudWatch Logs also accepts 0 (never expire); it is left out on purpose,
  # because logs kept forever are billed forever.
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be a retention CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

################################################################################
# Build
################################################################################

variable "build_python" {
  description = "Python interpreter that runs layer_build.py, with its packages (pyelftools, filelock) installed. Null means .venv/bin/python in this module's directory, which `make venv` creates."
  type        = string
  default     = null

  validation {
    condition     = var.build_python == null || try(length(trimspace(var.build_python)) > 0, false)
    error_message = "The build_python must be null (use .venv/bin/python) or the path of a Python interpreter."
  }
}
