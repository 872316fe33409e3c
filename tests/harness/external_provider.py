"""Test-only stand-in for the hashicorp/external provider, written with the `tf` framework.

The real provider cannot be downloaded on an offline machine, so the offline
harness installs this one under the same source address. It implements the
documented protocol of the `external` data source:

- the program runs in `working_dir` (default: Terraform's working directory);
- the query is written to its stdin as one JSON object of strings;
- its stdout must be one JSON object of strings, which becomes `result`;
- a non-zero exit fails the read and shows the program's stderr.

Nothing outside tests/ may reference this module. Deployments to real AWS use
the real provider from the Terraform Registry.

NOTE: the `tf` runner caches a self-signed TLS certificate for the plugin
connection in ~/.cache/tf-python-provider, outside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

from tf import runner
from tf.iface import Config, DataSource, Provider, ReadDataContext, State
from tf.schema import Attribute, Schema
from tf.types import List, Map, String
from tf.utils import Diagnostics

SOURCE_ADDRESS = "registry.terraform.io/hashicorp/external"


class ExternalDataSource(DataSource):
    """The `external` data source: runs a program and returns its JSON object as `result`."""

    def __init__(self, provider: ExternalProvider) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return ""

    @classmethod
    def get_schema(cls) -> Schema:
        return Schema(
            attributes=[
                Attribute("program", List(String()), required=True),
                Attribute("query", Map(String()), optional=True),
                Attribute("working_dir", String(), optional=True),
                Attribute("result", Map(String()), computed=True),
                Attribute("id", String(), computed=True),
            ]
        )

    def read(self, ctx: ReadDataContext, config: Config) -> State | None:
        program = config.get("program") or []
        query = config.get("query") or {}
        working_dir = config.get("working_dir") or None

        if not program:
            ctx.diagnostics.add_error(
                "External Program Missing",
                "The data source received an empty program list: give the executable first.",
                path=["program"],
            )
            return None

        executable = _find_executable(program[0])
        if executable is None:
            ctx.diagnostics.add_error(
                "External Program Lookup Failed",
                f"The program {program[0]!r} was not found or is not executable.",
                path=["program"],
            )
            return None

        completed = _run(ctx.diagnostics, [executable, *program[1:]], query, working_dir)
        if completed is None:
            return None

        result = _parse_result(ctx.diagnostics, program[0], completed.stdout)
        if result is None:
            return None

        return {**config, "result": result, "id": "-"}


class ExternalProvider(Provider):
    """A provider with no configuration and the single data source `external`."""

    def get_model_prefix(self) -> str:
        return "external"

    def full_name(self) -> str:
        return SOURCE_ADDRESS

    def get_provider_schema(self, diags: Diagnostics) -> Schema:
        return Schema(attributes=[])

    def validate_config(self, diags: Diagnostics, config: Config) -> None:
        pass

    def configure_provider(self, diags: Diagnostics, config: Config) -> None:
        pass

    def get_data_sources(self) -> list[type[DataSource]]:
        return [ExternalDataSource]

    def get_resources(self) -> list[Any]:
        return []


def _find_executable(program: str) -> str | None:
    """Resolve the program through PATH unless it contains a "/", as Go's exec.LookPath does."""
    if os.sep in program:
        return program if os.access(program, os.X_OK) else None
    return shutil.which(program)


def _run(
    diags: Diagnostics, argv: list[str], query: dict[str, str], working_dir: str | None
) -> subprocess.CompletedProcess[bytes] | None:
    try:
        completed = subprocess.run(
            argv,
            input=json.dumps(query).encode(),
            capture_output=True,
            cwd=working_dir,
            check=False,
        )
    except OSError as error:
        diags.add_error("External Program Execution Failed", f"{argv[0]}: {error}")
        return None

    if completed.returncode != 0:
        stderr = completed.stderr.decode(errors="replace").strip()
        diags.add_error(
            "External Program Execution Failed",
            f"The data source received an unexpected error while attempting to execute the"
            f" program.\n\nProgram: {argv[0]}\nError Message: {stderr}\n"
            f"State: exit status {completed.returncode}",
        )
        return None
    return completed


def _parse_result(diags: Diagnostics, program: str, stdout: bytes) -> dict[str, str] | None:
    try:
        result = json.loads(stdout)
    except json.JSONDecodeError as error:
        diags.add_error(
            "Unexpected External Program Results",
            f"The program {program!r} must print one JSON object of strings to stdout: {error}",
        )
        return None

    if not isinstance(result, dict) or not all(isinstance(v, str) for v in result.values()):
        diags.add_error(
            "Unexpected External Program Results",
            f"The program {program!r} printed JSON that is not an object of strings.",
        )
        return None
    return result


def main() -> None:
    """Serve the provider over Terraform's plugin protocol (Terraform starts this process)."""
    runner.run_provider(ExternalProvider(), sys.argv)


if __name__ == "__main__":
    main()
