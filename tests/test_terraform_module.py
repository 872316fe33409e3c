"""Static checks of the root module and the offline harness, no AWS API needed.

- The runtime validation lists exactly layer_build.py's runtime table.
- Production still declares ``invoked_via_function_url`` and requires a
  provider that has it; the scratch copy changes only what the offline
  provider needs.
- checkov passes, and every skip carries its reason.
- The hashicorp/external stand-in follows the external program protocol.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from layer_builder.policy import RUNTIMES
from tests.harness import providers, scratch
from tests.harness.driver import Workspace, local_environment

pytestmark = pytest.mark.terraform

REPO_ROOT = scratch.REPO_ROOT
OFFLINE_AWS_VERSION = "5.100.0"
REPO_TF_FILES = ("versions.tf", "main.tf", "variables.tf", "outputs.tf")
UNUSED_ENDPOINT = "http://127.0.0.1:9"


def resource_block(text: str, kind: str, name: str) -> str:
    """Return the body of ``resource "kind" "name" { ... }`` (top-level braces only)."""
    start = text.index(f'resource "{kind}" "{name}" {{')
    depth = 0
    for index in range(text.index("{", start), len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start : index + 1]
    raise AssertionError(f"unbalanced braces in {kind}.{name}")


def test_runtime_validation_matches_layer_builder() -> None:
    variables = (REPO_ROOT / "variables.tf").read_text()
    block = variables[variables.index('variable "runtime"') :]
    listed = re.search(r"contains\(\[([^\]]*)\], var\.runtime\)", block)

    assert listed is not None
    assert re.findall(r'"([^"]+)"', listed.group(1)) == list(RUNTIMES)


def test_production_declares_invoked_via_function_url() -> None:
    main_tf = (REPO_ROOT / "main.tf").read_text()
    block = resource_block(main_tf, "aws_lambda_permission", "invoke_via_function_url")

    assert re.search(r"^\s*invoked_via_function_url\s*=\s*true\s*$", block, re.M)
    assert re.search(r'^\s*action\s*=\s*"lambda:InvokeFunction"\s*$', block, re.M)
    assert re.search(r'^\s*principal\s*=\s*"\*"\s*$', block, re.M)


def test_every_public_invoke_is_conditioned() -> None:
    main_tf = (REPO_ROOT / "main.tf").read_text()
    names = re.findall(r'resource "aws_lambda_permission" "([^"]+)"', main_tf)
    blocks = [resource_block(main_tf, "aws_lambda_permission", name) for name in names]
    invoke_blocks = [block for block in blocks if '"lambda:InvokeFunction"' in block]

    assert invoke_blocks
    for block in invoke_blocks:
        assert "invoked_via_function_url = true" in " ".join(block.split())


def test_production_requires_provider_with_argument() -> None:
    versions_tf = (REPO_ROOT / "versions.tf").read_text()
    constraint = re.search(
        r'source\s*=\s*"hashicorp/aws"\s*\n\s*(?:#.*\n\s*)*version\s*=\s*"([^"]+)"', versions_tf
    )

    assert constraint is not None
    assert constraint.group(1).startswith(">= 6.29.0")


def test_scratch_adapts_only_constraint_and_argument(tmp_path: Path) -> None:
    adaptations = scratch.sync(tmp_path, OFFLINE_AWS_VERSION)
    production = {name: (REPO_ROOT / name).read_text() for name in REPO_TF_FILES}
    copied = {name: (tmp_path / name).read_text() for name in REPO_TF_FILES}
    argument_lines = re.findall(
        r"^ *invoked_via_function_url *= *true\n", production["main.tf"], re.M
    )
    constraints = re.findall(r'version = ">= 6\.29\.0[^"]*"', production["versions.tf"])

    assert sorted(adaptation.file for adaptation in adaptations) == ["main.tf", "versions.tf"]
    assert len(argument_lines) == 1
    assert copied["main.tf"] == production["main.tf"].replace(argument_lines[0], "")
    assert len(constraints) == 1
    assert copied["versions.tf"] == production["versions.tf"].replace(
        constraints[0], f'version = "{OFFLINE_AWS_VERSION}"'
    )
    assert copied["variables.tf"] == production["variables.tf"]
    assert copied["outputs.tf"] == production["outputs.tf"]


def test_scratch_copies_unchanged_for_new_provider(tmp_path: Path) -> None:
    adaptations = scratch.sync(tmp_path, "6.29.0")

    assert adaptations == []
    for name in ("versions.tf", "main.tf"):
        assert (tmp_path / name).read_text() == (REPO_ROOT / name).read_text()


def test_scratch_leaves_out_backend(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "__pycache__"))
    (source / "backend.tf").write_text('terraform {\n  backend "s3" {}\n}\n')

    scratch.sync(tmp_path / "copy", None, source=source)

    assert not (tmp_path / "copy" / "backend.tf").exists()
    assert (tmp_path / "copy" / "main.tf").is_file()


def test_checkov_passes_with_justified_skips(tmp_path: Path) -> None:
    for tf_file in REPO_ROOT.glob("*.tf"):
        shutil.copy(tf_file, tmp_path)

    # --skip-download keeps checkov off the network (it would fetch guidelines).
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "checkov.main",
            "-d",
            str(tmp_path),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(completed.stdout)
    skipped = report["results"]["skipped_checks"]

    assert report["summary"]["failed"] == 0, report["results"]["failed_checks"]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    for check in skipped:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason.split()) >= 5, f"{check['check_id']} on {check['resource']}: {reason!r}"


def test_auto_mode_picks_mirror_with_aws(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / providers.AWS_ADDRESS / "5.100.0" / providers.terraform_platform()).mkdir(
        parents=True
    )

    setup = providers.prepare(tmp_path / "run", {providers.MIRROR_VARIABLE: str(mirror)})
    config = setup.cli_config.read_text()

    assert setup.mode is providers.ProviderMode.MIRROR
    assert setup.aws_version == "5.100.0"
    assert setup.uses_standin
    assert json.dumps(str(mirror)) in config
    assert "direct" not in config


def test_auto_mode_picks_registry_without_mirror(tmp_path: Path) -> None:
    setup = providers.prepare(
        tmp_path / "run", {providers.MIRROR_VARIABLE: str(tmp_path / "missing")}
    )

    assert setup.mode is providers.ProviderMode.REGISTRY
    assert setup.aws_version is None
    assert not setup.uses_standin
    assert "direct {}" in setup.cli_config.read_text()


def test_invalid_provider_mode_rejected(tmp_path: Path) -> None:
    with pytest.raises(providers.ProviderSetupError, match="TF_HARNESS_PROVIDERS='offline'"):
        providers.prepare(tmp_path, {providers.MODE_VARIABLE: "offline"})


@pytest.fixture(scope="module")
def external_only(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A module that uses only hashicorp/external, initialised with the stand-in."""
    run_dir = tmp_path_factory.mktemp("external")
    setup = providers.prepare(run_dir)
    if not setup.uses_standin:
        pytest.skip("the real hashicorp/external provider is available, not the stand-in")

    module_dir = run_dir / "module"
    (module_dir / "work").mkdir(parents=True)
    (module_dir / "main.tf").write_text(
        'terraform {\n  required_providers {\n    external = { source = "hashicorp/external" }\n'
        "  }\n}\n\n"
        'variable "program" {\n  type = list(string)\n}\n\n'
        'data "external" "probe" {\n  program     = var.program\n  working_dir = "work"\n'
        '  query       = { greeting = "hello", number = "1" }\n}\n\n'
        'output "result" {\n  value = data.external.probe.result\n}\n'
    )
    workspace = Workspace(module_dir, local_environment(setup.cli_config, UNUSED_ENDPOINT))
    workspace.init()
    return workspace


def run_probe(workspace: Workspace, source: str) -> tuple[int, str, str]:
    variables_file = workspace.module_dir / "probe.auto.tfvars.json"
    variables_file.write_text(json.dumps({"program": [sys.executable, "-c", source]}))
    return workspace.terraform.apply(skip_plan=True)


def test_standin_passes_query_and_returns_result(external_only: Workspace) -> None:
    source = (
        "import json, os, sys; query = json.load(sys.stdin);"
        " print(json.dumps({**query, 'cwd': os.path.basename(os.getcwd())}))"
    )

    returncode, out, err = run_probe(external_only, source)
    outputs = external_only.outputs()

    assert returncode == 0, err
    assert outputs["result"] == {"greeting": "hello", "number": "1", "cwd": "work"}


def test_standin_reports_program_stderr(external_only: Workspace) -> None:
    source = "import sys; sys.stderr.write('layer rejected: GLIBC_2.33'); sys.exit(3)"

    returncode, out, err = run_probe(external_only, source)
    message = " ".join(err.split())

    assert returncode == 1
    assert "External Program Execution Failed" in message
    assert "layer rejected: GLIBC_2.33" in message


def test_standin_rejects_non_string_result(external_only: Workspace) -> None:
    source = "import json; print(json.dumps({'size': 3}))"

    returncode, out, err = run_probe(external_only, source)

    assert returncode == 1
    assert "Unexpected External Program Results" in " ".join(err.split())


@pytest.fixture
def deploy_script(tmp_path: Path) -> Path:
    """A copy of scripts/terraform_env.sh with the environments, and a Terraform that records.

    The recorder appends its arguments to terraform.log and exits 0, so the
    tests see every command the script would run without running Terraform.
    """
    (tmp_path / "scripts").mkdir()
    for name in ("terraform_env.sh", "dev_keys.py"):
        shutil.copy2(REPO_ROOT / "scripts" / name, tmp_path / "scripts" / name)
    shutil.copytree(REPO_ROOT / "environments", tmp_path / "environments")
    recorder = tmp_path / "terraform"
    recorder.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "terraform.log"}\n')
    recorder.chmod(0o755)
    return tmp_path


def run_deploy_script(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": "/usr/bin:/bin",
        "TERRAFORM": str(root / "terraform"),
        "KEYS_PYTHON": sys.executable,
    }
    return subprocess.run(
        ["bash", str(root / "scripts" / "terraform_env.sh"), *args],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )


def recorded_commands(root: Path) -> list[str]:
    log_file = root / "terraform.log"
    return log_file.read_text().splitlines() if log_file.exists() else []


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("default", "the 'default' workspace is not an environment"),
        ("staging", "environments/staging.tfvars not found"),
        ("../prod", "invalid environment name '../prod'"),
        ("prod", "does not set discord_public_key"),
    ],
)
def test_deploy_script_rejects_environment(deploy_script: Path, env: str, expected: str) -> None:
    completed = run_deploy_script(deploy_script, "plan", env)

    assert completed.returncode == 1
    assert expected in completed.stderr
    assert recorded_commands(deploy_script) == []


def test_deploy_script_passes_dev_test_key(deploy_script: Path) -> None:
    completed = run_deploy_script(deploy_script, "plan", "dev")
    commands = recorded_commands(deploy_script)
    key_file = deploy_script / ".local" / "keys" / "dev.key"

    assert completed.returncode == 0, completed.stderr
    assert commands[0] == "init -input=false"
    assert commands[1] == "workspace select -or-create=true dev"
    assert commands[2].startswith("plan -input=false -var-file=environments/dev.tfvars ")
    assert re.fullmatch(r".* -var=discord_public_key=[0-9a-f]{64}", commands[2])
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_deploy_script_applies_saved_plan(deploy_script: Path) -> None:
    (deploy_script / ".terraform").mkdir()
    completed = subprocess.run(
        ["bash", str(deploy_script / "scripts" / "terraform_env.sh"), "deploy", "prod"],
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "TERRAFORM": str(deploy_script / "terraform"),
            "PLAN": "build/prod.tfplan",
        },
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert recorded_commands(deploy_script) == [
        "workspace select -or-create=true prod",
        "apply -input=false build/prod.tfplan",
        "output function_url",
    ]
