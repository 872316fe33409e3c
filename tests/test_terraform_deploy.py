"""The root module applied with real Terraform and the AWS provider to a local moto server.

One moto server and one scratch init serve the whole module. The tests run in
file order and share workspace ``dev``; workspace ``prod`` is applied once,
with a bot token parameter, by a fixture. The last test destroys both and
checks that moto is empty. The layer build downloads real wheels from PyPI
once; later plans hit the layer builder's cache.
"""

# ruff: noqa: F811  (pytest fixtures are imported by name and then requested as arguments)

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.harness.driver import Workspace
from tests.harness.fixtures import aws, dev_outputs, harness, moto, public_key  # noqa: F401
from tests.harness.scratch import REPO_ROOT
from tests.harness.session import Session

pytestmark = [pytest.mark.terraform, pytest.mark.pypi]

DEV_VARS = "environments/dev.tfvars"
PROD_VARS = "environments/prod.tfvars"
PROJECT = "discord-bot"

# Small, pure-Python and pinned, so the changed layer builds fast.
EXTRA_REQUIREMENT = "six==1.17.0"

NO_CHANGES = 0
CHANGES_PRESENT = 2

# moto's default account, and the region of environments/*.tfvars.
ACCOUNT = "123456789012"
REGION = "us-east-1"

PROD_PARAMETER = {"discord_bot_token_ssm_parameter": "/discord-bot/prod/bot-token"}


def plan_json(harness: Session, var_file: str, variables: dict[str, str]) -> dict[str, Any]:
    """Plan into a file and return ``terraform show -json`` of it."""
    plan_file = "harness.tfplan"
    returncode, _, err = harness.workspace.plan(var_file, variables, out=plan_file)
    assert returncode in (NO_CHANGES, CHANGES_PRESENT), err
    try:
        return harness.workspace.show_plan_json(plan_file)
    finally:
        (harness.module_dir / plan_file).unlink()


def actions_by_address(plan: dict[str, Any]) -> dict[str, list[str]]:
    return {change["address"]: change["change"]["actions"] for change in plan["resource_changes"]}


def as_list(value: str | list[str]) -> list[str]:
    """Return a policy's Action or Resource as a list: IAM allows a single string too."""
    return [value] if isinstance(value, str) else list(value)


def inline_policies(iam: Any, role_name: str) -> dict[str, list[dict[str, Any]]]:
    """Return the statements of each inline policy of ``role_name``, by policy name.

    Action and Resource are lists in every returned statement.
    """
    policies = {}
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        policies[name] = [
            {
                **statement,
                "Action": as_list(statement["Action"]),
                "Resource": as_list(statement["Resource"]),
            }
            for statement in document["Statement"]
        ]
    return policies


@pytest.fixture(scope="module")
def prod_outputs(harness: Session, public_key: str) -> dict[str, Any]:
    """Apply workspace ``prod`` once, with a bot token parameter, and return its outputs."""
    harness.workspace.select("prod")
    harness.workspace.apply(PROD_VARS, {"discord_public_key": public_key, **PROD_PARAMETER})
    return harness.workspace.outputs()


def test_fmt_check_passes(harness: Session) -> None:
    # The production files, not the scratch copy: the offline adaptation
    # removes a line, which leaves the copy's alignment off.
    production = Workspace(REPO_ROOT, harness.workspace.environment)

    returncode, out, err = production.fmt_check(".", "environments")

    assert returncode == 0, out + err


def test_validate_passes(harness: Session) -> None:
    returncode, out, err = harness.workspace.validate()
    assert returncode == 0, out + err
    assert "The configuration is valid" in out


def test_apply_dev_creates_endpoint(dev_outputs: dict[str, Any]) -> None:
    assert dev_outputs["function_name"] == f"{PROJECT}-dev"
    assert dev_outputs["log_group_name"] == f"/aws/lambda/{PROJECT}-dev"
    assert dev_outputs["function_url"].startswith("https://")
    assert dev_outputs["layer_version_arn"].endswith(f":layer:{PROJECT}-dev:1")
    assert dev_outputs["layer_zip"].startswith("./build/")


def test_second_plan_has_no_changes(
    harness: Session, dev_outputs: dict[str, Any], public_key: str
) -> None:
    harness.workspace.select("dev")
    returncode, out, err = harness.workspace.plan(DEV_VARS, {"discord_public_key": public_key})
    assert returncode == NO_CHANGES, out + err


def test_function_configuration_in_moto(
    aws: Any, dev_outputs: dict[str, Any], public_key: str
) -> None:
    config = aws("lambda").get_function_configuration(FunctionName=f"{PROJECT}-dev")

    assert config["Handler"] == "lambda_function.lambda_handler"
    assert config["Runtime"] == "python3.11"
    assert config["Architectures"] == ["x86_64"]
    assert config["MemorySize"] == 512
    assert config["Timeout"] == 30
    assert config["Environment"]["Variables"] == {"DISCORD_PUBLIC_KEY": public_key}
    assert config["LoggingConfig"]["LogFormat"] == "JSON"
    assert config["LoggingConfig"]["LogGroup"] == dev_outputs["log_group_name"]
    assert [layer["Arn"] for layer in config["Layers"]] == [dev_outputs["layer_version_arn"]]


def test_layer_matches_function_target(aws: Any, dev_outputs: dict[str, Any]) -> None:
    # moto fails GetLayerVersionByArn with a 500, so request it by name and number.
    version = int(dev_outputs["layer_version_arn"].rsplit(":", 1)[1])
    layer = aws("lambda").get_layer_version(LayerName=f"{PROJECT}-dev", VersionNumber=version)

    assert layer["CompatibleRuntimes"] == ["python3.11"]
    assert layer["CompatibleArchitectures"] == ["x86_64"]
    assert layer["Content"]["CodeSha256"] == dev_outputs["layer_base64sha256"]


def test_role_trust_and_policy_names(aws: Any, dev_outputs: dict[str, Any]) -> None:
    iam = aws("iam")
    role = iam.get_role(RoleName=f"{PROJECT}-dev")["Role"]
    attached = iam.list_attached_role_policies(RoleName=f"{PROJECT}-dev")["AttachedPolicies"]

    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }
    assert attached == []
    assert sorted(inline_policies(iam, f"{PROJECT}-dev")) == ["invoke-self", "write-logs"]


def test_role_writes_own_log_group_only(aws: Any, dev_outputs: dict[str, Any]) -> None:
    statements = inline_policies(aws("iam"), f"{PROJECT}-dev")["write-logs"]
    log_group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{dev_outputs['log_group_name']}"

    assert [sorted(statement["Action"]) for statement in statements] == [
        ["logs:CreateLogStream", "logs:PutLogEvents"]
    ]
    assert [statement["Resource"] for statement in statements] == [
        [f"{log_group_arn}:log-stream:*"]
    ]


def test_role_invokes_own_function_only(aws: Any, dev_outputs: dict[str, Any]) -> None:
    function_arn = aws("lambda").get_function_configuration(FunctionName=f"{PROJECT}-dev")[
        "FunctionArn"
    ]
    statements = inline_policies(aws("iam"), f"{PROJECT}-dev")["invoke-self"]

    # Unqualified: the function invokes itself by its bare name.
    assert function_arn == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{PROJECT}-dev"
    assert [statement["Effect"] for statement in statements] == ["Allow"]
    assert [statement["Action"] for statement in statements] == [["lambda:InvokeFunction"]]
    assert [statement["Resource"] for statement in statements] == [[function_arn]]


def test_role_has_no_wildcard_or_ssm_access(aws: Any, dev_outputs: dict[str, Any]) -> None:
    statements = [
        statement
        for policy in inline_policies(aws("iam"), f"{PROJECT}-dev").values()
        for statement in policy
    ]
    resources = [resource for statement in statements for resource in statement["Resource"]]
    actions = [action for statement in statements for action in statement["Action"]]

    assert statements
    assert "*" not in resources
    assert [action for action in actions if "*" in action] == []
    assert [action for action in actions if action.lower().startswith("ssm:")] == []


def test_event_invoke_config_disables_retries(aws: Any, dev_outputs: dict[str, Any]) -> None:
    config = aws("lambda").get_function_event_invoke_config(FunctionName=f"{PROJECT}-dev")

    assert config["MaximumRetryAttempts"] == 0
    assert config["MaximumEventAgeInSeconds"] == 900
    assert config["FunctionArn"].endswith(f":function:{PROJECT}-dev")


def test_bot_token_parameter_plans_one_policy(
    harness: Session, dev_outputs: dict[str, Any], public_key: str
) -> None:
    # A name without a leading "/" gets one "/" after "parameter" in the ARN;
    # the prod apply below covers a hierarchical name.
    harness.workspace.select("dev")
    variables = {"discord_public_key": public_key, "discord_bot_token_ssm_parameter": "bot-token"}

    plan = plan_json(harness, DEV_VARS, variables)
    changes = {
        change["address"]: change["change"]
        for change in plan["resource_changes"]
        if change["change"]["actions"] != ["no-op"]
    }
    policy = json.loads(changes["aws_iam_role_policy.read_bot_token[0]"]["after"]["policy"])

    assert {address: change["actions"] for address, change in changes.items()} == {
        "aws_iam_role_policy.read_bot_token[0]": ["create"]
    }
    assert [statement["Action"] for statement in policy["Statement"]] == ["ssm:GetParameter"]
    assert [statement["Resource"] for statement in policy["Statement"]] == [
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/bot-token"
    ]


def test_log_group_retention_from_tfvars(aws: Any, dev_outputs: dict[str, Any]) -> None:
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=dev_outputs["log_group_name"])

    assert [group["retentionInDays"] for group in groups["logGroups"]] == [14]


def test_public_access_statements(aws: Any, dev_outputs: dict[str, Any]) -> None:
    policy = json.loads(aws("lambda").get_policy(FunctionName=f"{PROJECT}-dev")["Policy"])
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}
    url_config = aws("lambda").get_function_url_config(FunctionName=f"{PROJECT}-dev")

    assert url_config["AuthType"] == "NONE"
    assert statements["AllowPublicFunctionUrl"]["Action"] == "lambda:InvokeFunctionUrl"
    assert statements["AllowInvokeViaFunctionUrl"]["Action"] == "lambda:InvokeFunction"


def test_unchanged_rebuild_plans_nothing(
    harness: Session, dev_outputs: dict[str, Any], public_key: str
) -> None:
    # Remove every zip and the builder's cache: the plan must rebuild from PyPI
    # and still produce byte-identical zips.
    shutil.rmtree(harness.module_dir / "build")
    harness.workspace.select("dev")

    returncode, out, err = harness.workspace.plan(DEV_VARS, {"discord_public_key": public_key})

    assert returncode == NO_CHANGES, out + err
    assert (harness.module_dir / dev_outputs["layer_zip"]).is_file()
    assert (harness.module_dir / dev_outputs["function_zip"]).is_file()


def test_requirements_change_publishes_one_layer_version(
    harness: Session, aws: Any, dev_outputs: dict[str, Any], public_key: str
) -> None:
    requirements = harness.module_dir / "lambda-requirements.txt"
    requirements.write_text(requirements.read_text() + f"{EXTRA_REQUIREMENT}\n")
    harness.workspace.select("dev")
    variables = {"discord_public_key": public_key}

    actions = actions_by_address(plan_json(harness, DEV_VARS, variables))
    changed = {address: action for address, action in actions.items() if action != ["no-op"]}
    harness.workspace.apply(DEV_VARS, variables)
    versions = aws("lambda").list_layer_versions(LayerName=f"{PROJECT}-dev")["LayerVersions"]
    config = aws("lambda").get_function_configuration(FunctionName=f"{PROJECT}-dev")

    assert changed == {
        "aws_lambda_layer_version.dependencies": ["create", "delete"],
        "aws_lambda_function.this": ["update"],
    }
    assert [version["Version"] for version in versions] == [2]
    assert [layer["Arn"] for layer in config["Layers"]] == [versions[0]["LayerVersionArn"]]


def test_dev_and_prod_coexist(
    aws: Any, dev_outputs: dict[str, Any], prod_outputs: dict[str, Any]
) -> None:
    functions = {
        function["FunctionName"] for function in aws("lambda").list_functions()["Functions"]
    }
    roles = {role["RoleName"] for role in aws("iam").list_roles()["Roles"]}

    assert prod_outputs["function_name"] == f"{PROJECT}-prod"
    assert prod_outputs["function_url"] != dev_outputs["function_url"]
    assert {f"{PROJECT}-dev", f"{PROJECT}-prod"} <= functions
    assert {f"{PROJECT}-dev", f"{PROJECT}-prod"} <= roles


def test_prod_role_reads_one_parameter(aws: Any, prod_outputs: dict[str, Any]) -> None:
    policies = inline_policies(aws("iam"), f"{PROJECT}-prod")
    ssm_statements = [
        statement
        for policy in policies.values()
        for statement in policy
        if any(action.lower().startswith("ssm:") for action in statement["Action"])
    ]

    assert sorted(policies) == ["invoke-self", "read-bot-token", "write-logs"]
    assert ssm_statements == policies["read-bot-token"]
    assert [statement["Action"] for statement in ssm_statements] == [["ssm:GetParameter"]]
    assert [statement["Resource"] for statement in ssm_statements] == [
        [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/discord-bot/prod/bot-token"]
    ]


def test_default_workspace_rejected(harness: Session, public_key: str) -> None:
    harness.workspace.select("default")

    returncode, out, err = harness.workspace.plan(DEV_VARS, {"discord_public_key": public_key})

    message = " ".join(err.split())  # Terraform wraps diagnostics at 80 columns
    assert returncode == 1, out
    assert 'The "default" workspace is not an environment' in message
    assert "terraform workspace select -or-create=true dev" in message


def test_s3_backend_keeps_state_per_workspace(harness: Session, aws: Any, tmp_path: Path) -> None:
    # The documented backend set-up, against moto's S3: backend.tf.example as
    # backend.tf, environments/backend-s3.hcl, and a built-in resource only.
    shutil.copy(REPO_ROOT / "backend.tf.example", tmp_path / "backend.tf")
    (tmp_path / "main.tf").write_text(
        'resource "terraform_data" "probe" {\n  input = terraform.workspace\n}\n'
    )
    aws("s3").create_bucket(Bucket="state-bucket")
    workspace = Workspace(tmp_path, harness.workspace.environment)
    init = workspace.terraform.cmd(
        "init",
        input=False,
        backend_config=[
            str(REPO_ROOT / "environments" / "backend-s3.hcl"),
            "bucket=state-bucket",
            "use_path_style=true",
        ],
    )
    assert init[0] == 0, init[2]

    for name in ("dev", "prod"):
        workspace.select(name)
        workspace.apply(None)
    keys = [
        item["Key"] for item in aws("s3").list_objects_v2(Bucket="state-bucket").get("Contents", [])
    ]

    assert keys == ["discord-bot/dev/terraform.tfstate", "discord-bot/prod/terraform.tfstate"]


def test_destroy_leaves_nothing(
    harness: Session, aws: Any, dev_outputs: dict[str, Any], public_key: str
) -> None:
    for workspace, var_file, extra in (("dev", DEV_VARS, {}), ("prod", PROD_VARS, PROD_PARAMETER)):
        harness.workspace.select(workspace)
        harness.workspace.destroy(var_file, {"discord_public_key": public_key, **extra})

    lambda_client = aws("lambda")
    functions = lambda_client.list_functions()["Functions"]
    layers = lambda_client.list_layers()["Layers"]
    roles = [role["RoleName"] for role in aws("iam").list_roles()["Roles"]]
    log_groups = aws("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]

    assert functions == []
    assert layers == []
    assert [role for role in roles if role.startswith(PROJECT)] == []
    assert log_groups == []
