locals {
  # One environment per workspace: every name carries the workspace.
  name           = "${var.project_name}-${terraform.workspace}"
  log_group_name = "/aws/lambda/${local.name}"

  # Absolute, so the program is found whatever directory Terraform runs from.
  module_dir   = abspath(path.module)
  build_python = coalesce(var.build_python, "${local.module_dir}/.venv/bin/python")
  build_output = "build"

  # layer_build.py returns paths relative to path.module, which keeps state
  # equal across checkouts, unless the output directory resolves outside the
  # module (a symbolic link); then the path is absolute.
  layer_zip    = startswith(data.external.layer.result.filename, "/") ? data.external.layer.result.filename : "${path.module}/${data.external.layer.result.filename}"
  function_zip = startswith(data.external.function_zip.result.filename, "/") ? data.external.function_zip.result.filename : "${path.module}/${data.external.function_zip.result.filename}"

  # ARNs for the execution role, built from names so that the role's policies
  # can exist before the function does. The region is var.aws_region, which
  # the provider block uses, rather than data "aws_region": hashicorp/aws 6
  # deprecates its `name` (and `id` from 6.47), and the 5.x provider that the
  # offline harness runs has no `region` attribute.
  arn_prefix   = "arn:${data.aws_partition.current.partition}"
  account_id   = data.aws_caller_identity.current.account_id
  function_arn = "${local.arn_prefix}:lambda:${var.aws_region}:${local.account_id}:function:${local.name}"

  # A parameter's ARN has exactly one "/" after "parameter", whether the name
  # is hierarchical (/discord/bot-token) or not (bot-token).
  bot_token_parameter_arn = (
    var.discord_bot_token_ssm_parameter == null
    ? null
    : "${local.arn_prefix}:ssm:${var.aws_region}:${local.account_id}:parameter/${trimprefix(var.discord_bot_token_ssm_parameter, "/")}"
  )
}

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

################################################################################
# Build: layer and function zips
################################################################################

# layer_build.py builds the layer with manylinux wheels for the target runtime,
# audits its native libraries against the runtime's glibc and returns the zip's
# path and SHA-256. Byte-identical rebuilds keep the hash, and so the layer
# version, stable. It runs on every plan, refresh and destroy; a cache makes
# unchanged rebuilds fast.
data "external" "layer" {
  program     = [local.build_python, "${local.module_dir}/layer_build.py"]
  working_dir = path.module

  query = {
    requirements = "lambda-requirements.txt"
    runtime      = var.runtime
    architecture = var.architecture
    output_dir   = local.build_output
  }

  lifecycle {
    precondition {
      condition     = terraform.workspace != "default"
      error_message = "The \"default\" workspace is not an environment. Select one with `terraform workspace select -or-create=true dev` and pass -var-file=environments/dev.tfvars, or run `make deploy ENV=dev`."
    }

    precondition {
      condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", local.name))
      error_message = "The name \"${local.name}\" (project_name-workspace) must be at most 64 letters, digits, '-' or '_' to be a Lambda function and IAM role name. Use a shorter workspace or project_name."
    }
  }
}

# The function zip comes from the same builder rather than the archive
# provider: its entries have fixed timestamps and modes, so the hash depends on
# the code only and a fresh checkout plans no change. It also saves a provider
# that offline machines would have to mirror.
data "external" "function_zip" {
  program     = [local.build_python, "${local.module_dir}/layer_build.py"]
  working_dir = path.module

  query = {
    function_source = "lambda"
    output_dir      = local.build_output
  }
}

################################################################################
# Layer
################################################################################

resource "aws_lambda_layer_version" "dependencies" {
  layer_name  = local.name
  description = "Python packages from lambda-requirements.txt for ${var.runtime} on ${var.architecture}"

  filename         = local.layer_zip
  source_code_hash = data.external.layer.result.base64sha256

  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]

  # Superseded versions are deleted. Functions keep running on a deleted
  # version, and a rollback redeploys the older commit, whose reproducible
  # build gives the same bytes again. Keeping every version (skip_destroy)
  # would leave them behind after `terraform destroy` and fill the account's
  # code storage.
  skip_destroy = false

  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# IAM
################################################################################

data "aws_iam_policy_document" "assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# Inline, not the AWSLambdaBasicExecutionRole managed policy: that one allows
# every log group in the account.
data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:log-stream:*"]
  }
}

resource "aws_iam_role" "lambda" {
  name               = local.name
  description        = "Execution role of the ${local.name} Discord endpoint"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
}

resource "aws_iam_role_policy" "logs" {
  name   = "write-logs"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.logs.json
}

# Slow commands answer Discord at once and invoke the function again with
# InvocationType Event, by the bare name in AWS_LAMBDA_FUNCTION_NAME, so the
# unqualified ARN is the only resource.
data "aws_iam_policy_document" "invoke_self" {
  statement {
    sid       = "InvokeSelfForSlowCommands"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.function_arn]
  }
}

resource "aws_iam_role_policy" "invoke_self" {
  name   = "invoke-self"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.invoke_self.json
}

# Read access to the bot token's SSM parameter, so that function code can call
# Discord's bot API. The shipped handler does not read it: edits of a deferred
# reply need only the interaction token, and scripts/register_commands.py reads
# the parameter with the developer's own credentials.
# NOTE: no kms:Decrypt. A SecureString under the default aws/ssm key needs none;
# one under a customer managed key needs a grant that this module does not add.
data "aws_iam_policy_document" "read_bot_token" {
  count = var.discord_bot_token_ssm_parameter == null ? 0 : 1

  statement {
    sid       = "ReadBotToken"
    actions   = ["ssm:GetParameter"]
    resources = [local.bot_token_parameter_arn]
  }
}

resource "aws_iam_role_policy" "read_bot_token" {
  count = var.discord_bot_token_ssm_parameter == null ? 0 : 1

  name   = "read-bot-token"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.read_bot_token[0].json
}

################################################################################
# Logs
################################################################################

resource "aws_cloudwatch_log_group" "lambda" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest with service keys; a customer-managed KMS key adds a key policy and monthly cost for logs that hold no secrets.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
}

################################################################################
# Function
################################################################################

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_50:X-Ray has no resource-level permissions, so tracing would need a Resource "*" statement in the execution role.
  #checkov:skip=CKV_AWS_115:New accounts have 10 concurrent executions and AWS rejects reservations that leave fewer than 10 unreserved.
  #checkov:skip=CKV_AWS_116:The only asynchronous events are the function's own slow-command runs. Each carries a Discord interaction token, so a dead-letter queue would store live tokens, and a replay fails once the token expires after 15 minutes. A handler error already edits the reply to an error message.
  #checkov:skip=CKV_AWS_117:The function only answers Discord over HTTPS and needs no private network; a VPC would add a NAT gateway to reach Discord's API.
  #checkov:skip=CKV_AWS_173:The only environment variable is the Discord public key, which is not a secret.
  #checkov:skip=CKV_AWS_272:The zips are built reproducibly from this repository and checked by hash; AWS Signer profiles are not part of this module.
  function_name = local.name
  description   = "Discord interactions endpoint (${terraform.workspace})"
  role          = aws_iam_role.lambda.arn

  filename         = local.function_zip
  source_code_hash = data.external.function_zip.result.base64sha256
  handler          = "lambda_function.lambda_handler"
  runtime          = var.runtime
  architectures    = [var.architecture]
  layers           = [aws_lambda_layer_version.dependencies.arn]

  memory_size = var.memory_size
  timeout     = var.timeout

  environment {
    variables = {
      DISCORD_PUBLIC_KEY = var.discord_public_key
    }
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.lambda.name
    application_log_level = "INFO"
    system_log_level      = "WARN"
  }

  # The log group and its write permission must exist before the first cold
  # start, or Lambda creates an unmanaged log group with no retention. The
  # other policies come first too, so that a slow command may invoke the
  # function from its first request.
  depends_on = [
    aws_cloudwatch_log_group.lambda,
    aws_iam_role_policy.logs,
    aws_iam_role_policy.invoke_self,
    aws_iam_role_policy.read_bot_token,
  ]
}

# Applies to the asynchronous self-invocations of slow commands.
resource "aws_lambda_function_event_invoke_config" "this" {
  function_name = aws_lambda_function.this.function_name

  # A retry would run the slow command a second time and edit its reply twice.
  maximum_retry_attempts = 0

  # The interaction token expires 15 minutes after Discord created the
  # interaction, so an event queued longer can no longer edit the reply.
  maximum_event_age_in_seconds = 900
}

################################################################################
# Function URL and public access
################################################################################

resource "aws_lambda_function_url" "this" {
  #checkov:skip=CKV_AWS_258:Discord must reach the URL without AWS credentials; the handler rejects every request without a valid Ed25519 signature.
  function_name      = aws_lambda_function.this.function_name
  authorization_type = "NONE"
}

# Since October 2025 a Function URL with authorization NONE needs both
# statements below. Both are tracked in state, unlike the statements the
# provider adds on its own when it creates a URL with authorization NONE.
resource "aws_lambda_permission" "function_url" {
  #checkov:skip=CKV_AWS_301:Public by design and limited to the Function URL with authorization NONE; Discord calls it without AWS credentials.
  statement_id           = "AllowPublicFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

# Conditioned on lambda:InvokedViaFunctionUrl: without the condition, any AWS
# account could invoke the function directly with the Invoke API.
resource "aws_lambda_permission" "invoke_via_function_url" {
  #checkov:skip=CKV_AWS_301:Public only through the Function URL: the statement carries the lambda:InvokedViaFunctionUrl condition.
  statement_id             = "AllowInvokeViaFunctionUrl"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.this.function_name
  principal                = "*"
  invoked_via_function_url = true
}
