"""Run Terraform in a scratch copy against the local AWS API, through python-terraform.

Every Terraform process gets its environment from here:

- ``CHECKPOINT_DISABLE=1`` and the generated CLI configuration;
- ``AWS_ENDPOINT_URL`` pointing at moto, with fixed test credentials. The
  user's AWS profile, session token, config files and the instance metadata
  service are hidden, so the provider never picks up real credentials.

The provider block in versions.tf is unchanged: moto implements STS
GetCallerIdentity, so the provider's credential and account checks pass
without any ``skip_*`` setting.

python-terraform 0.10.1 on Terraform 1.11 needs care: ``apply`` takes
``skip_plan=True`` (which becomes ``-auto-approve``), ``destroy`` adds the
removed ``-force`` flag unless ``force=IsNotFlagged``, and ``plan`` with
``-detailed-exitcode`` returns 2 when there are changes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from python_terraform import IsFlagged, IsNotFlagged, Terraform

log = logging.getLogger(__name__)

TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
HIDDEN_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "TF_WORKSPACE",
)


class TerraformError(RuntimeError):
    """A Terraform command failed; the message carries its stderr."""

    def __init__(self, command: str, returncode: int, stderr: str) -> None:
        super().__init__(f"terraform {command} failed with exit status {returncode}:\n{stderr}")
        self.returncode = returncode
        self.stderr = stderr


def local_environment(cli_config: Path, aws_endpoint: str) -> dict[str, str | None]:
    """Return the variables to set (str) or remove (None) for Terraform against moto."""
    environment: dict[str, str | None] = {
        "CHECKPOINT_DISABLE": "1",
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_IN_AUTOMATION": "1",
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **TEST_CREDENTIALS,
    }
    environment.update(dict.fromkeys(HIDDEN_VARIABLES))
    return environment


@contextlib.contextmanager
def patched_environ(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Apply ``changes`` to os.environ for the duration of the block, then restore it.

    python-terraform copies os.environ for every command and takes no env
    argument, so this is the only way to give Terraform its environment.
    """
    saved = {name: os.environ.get(name) for name in changes}
    try:
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class HarnessTerraform(Terraform):
    """python-terraform's wrapper with a fixed environment for every command."""

    def __init__(self, environment: Mapping[str, str | None], **kwargs: object) -> None:
        self.environment = dict(environment)
        super().__init__(**kwargs)

    def cmd(self, cmd: str, *args: object, **kwargs: object):  # type: ignore[override]
        with patched_environ(self.environment):
            return super().cmd(cmd, *args, **kwargs)


@dataclass
class Workspace:
    """One scratch module directory and the Terraform commands run in it."""

    module_dir: Path
    environment: Mapping[str, str | None]
    variables: dict[str, str] = field(default_factory=dict)
    terraform: HarnessTerraform = field(init=False)

    def __post_init__(self) -> None:
        self.terraform = HarnessTerraform(self.environment, working_dir=str(self.module_dir))

    def init(self) -> None:
        """Install providers and write the copy's lock file (idempotent)."""
        self._check(
            "init", self.terraform.init(reconfigure=IsNotFlagged, backend=True, upgrade=False)
        )

    def select(self, name: str) -> None:
        """Select workspace ``name``, creating it if it does not exist."""
        self._check(
            "workspace select", self.terraform.cmd("workspace select -or-create=true", name)
        )

    def fmt_check(self, *paths: str) -> tuple[int, str, str]:
        """Run ``fmt -check -diff`` on ``paths``, relative to the module directory."""
        return self.terraform.cmd("fmt -check -diff", *paths)

    def validate(self) -> tuple[int, str, str]:
        return self.terraform.cmd("validate", no_color=IsFlagged)

    def plan(
        self,
        var_file: str | None,
        variables: Mapping[str, str] | None = None,
        out: str | None = None,
    ) -> tuple[int, str, str]:
        """Run ``plan -detailed-exitcode``: 0 no changes, 1 error, 2 changes present."""
        with self._var_files(var_file, variables) as var_files:
            return self.terraform.plan(var_file=var_files, out=out, input=False)

    def apply(self, var_file: str | None, variables: Mapping[str, str] | None = None) -> str:
        with self._var_files(var_file, variables) as var_files:
            result = self.terraform.apply(var_file=var_files, skip_plan=True)
        self._check("apply", result)
        return result[1]

    def destroy(self, var_file: str | None, variables: Mapping[str, str] | None = None) -> str:
        with self._var_files(var_file, variables) as var_files:
            result = self.terraform.destroy(
                var_file=var_files, force=IsNotFlagged, auto_approve=IsFlagged
            )
        self._check("destroy", result)
        return result[1]

    def outputs(self) -> dict[str, object]:
        returncode, out, err = self.terraform.cmd("output", json=IsFlagged)
        self._check("output", (returncode, out, err))
        return {name: entry["value"] for name, entry in json.loads(out).items()}

    def show_plan_json(self, plan_file: str) -> dict:
        returncode, out, err = self.terraform.cmd("show", plan_file, json=IsFlagged)
        self._check("show", (returncode, out, err))
        return json.loads(out)

    @contextlib.contextmanager
    def _var_files(
        self, var_file: str | None, variables: Mapping[str, str] | None
    ) -> Iterator[list[str]]:
        """Yield -var-file arguments: the environment's file, then the harness's variables.

        The variables go into a temporary JSON file after the environment's
        file, so they take precedence as -var would. python-terraform would
        put a -var dictionary before -var-file, the other way round.
        """
        files = [var_file] if var_file else []
        merged = {**self.variables, **(variables or {})}
        if not merged:
            yield files
            return

        handle, name = tempfile.mkstemp(
            prefix=".harness-", suffix=".tfvars.json", dir=self.module_dir
        )
        try:
            with os.fdopen(handle, "w") as stream:
                json.dump(merged, stream)
            yield [*files, name]
        finally:
            os.unlink(name)

    @staticmethod
    def _check(command: str, result: tuple[int, str | None, str | None]) -> None:
        returncode, _, err = result
        if returncode != 0:
            raise TerraformError(command, returncode, err or "")


def default_build_python() -> str:
    """The interpreter for layer_build.py in a scratch copy: the harness's own."""
    return sys.executable
