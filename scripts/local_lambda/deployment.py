"""Find what was deployed: the function's configuration and its exact artifacts.

The configuration (runtime, handler, environment variables, timeout, layers)
comes from the Lambda API, or from a saved GetFunctionConfiguration response.
The artifacts are the zips in the build directory whose SHA-256 matches the
`CodeSha256` that Lambda recorded for the function and for each layer
version. A rebuilt zip that was never applied therefore never runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"


class DeploymentError(Exception):
    """The deployed configuration or artifacts cannot be found or do not match."""


@dataclass(frozen=True)
class Deployment:
    """A deployed function, as much of it as the local runner needs."""

    function_name: str
    function_arn: str
    region: str
    runtime: str  # e.g. python3.11
    handler: str  # module.function
    architecture: str  # x86_64 or arm64
    timeout_seconds: int
    memory_mb: int
    log_group: str
    log_format: str  # Text or JSON
    application_log_level: str | None
    # Values may be secrets, so they stay out of repr and logs.
    environment: Mapping[str, str] = field(repr=False)
    function_zip: Path
    layer_zips: tuple[Path, ...]


def zip_code_sha256(path: Path) -> str:
    """Return a file's SHA-256 in base64, the form of Lambda's `CodeSha256`."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode("ascii")


def from_configuration(
    config: Mapping[str, Any],
    function_zip: Path,
    layer_zips: Sequence[Path],
    region: str,
) -> Deployment:
    """Build a Deployment from a GetFunctionConfiguration response and its zips."""
    runtime = str(config.get("Runtime", ""))
    if not runtime.startswith("python"):
        raise DeploymentError(
            f"function {config.get('FunctionName')!r} has runtime {runtime!r}; "
            "the local runner runs only Python runtimes (python3.x) from zip packages"
        )

    name = str(config["FunctionName"])
    logging_config = config.get("LoggingConfig") or {}
    architectures = config.get("Architectures") or ["x86_64"]
    environment = (config.get("Environment") or {}).get("Variables") or {}

    return Deployment(
        function_name=name,
        function_arn=str(config.get("FunctionArn", name)),
        region=region,
        runtime=runtime,
        handler=str(config.get("Handler", "")),
        architecture=str(architectures[0]),
        timeout_seconds=int(config.get("Timeout", 3)),
        memory_mb=int(config.get("MemorySize", 128)),
        log_group=str(logging_config.get("LogGroup") or f"/aws/lambda/{name}"),
        log_format=str(logging_config.get("LogFormat") or "Text"),
        application_log_level=logging_config.get("ApplicationLogLevel"),
        environment={str(key): str(value) for key, value in environment.items()},
        function_zip=function_zip,
        layer_zips=tuple(layer_zips),
    )


def find_function_name(client: Any, env: str) -> str:
    """Return the one deployed function named `<project>-<env>`, as Terraform names it."""
    suffix = f"-{env}"
    names = [
        function["FunctionName"]
        for page in client.get_paginator("list_functions").paginate()
        for function in page["Functions"]
        if function["FunctionName"].endswith(suffix)
    ]
    if len(names) != 1:
        found = ", ".join(sorted(names)) or "none"
        raise DeploymentError(
            f"expected one function named *{suffix} for environment {env!r}, found {found}; "
            "pass --function-name (the Terraform output function_name)"
        )
    return names[0]


def from_aws(
    client: Any,
    function_name: str,
    build_dirs: Sequence[Path],
    region: str,
    function_zip: Path | None = None,
    layer_zips: Sequence[Path] = (),
) -> Deployment:
    """Read the deployed configuration through a boto3 Lambda client.

    Explicit zips are checked against the deployed `CodeSha256`; otherwise
    the matching zips are looked up in `build_dirs`.
    """
    config = client.get_function_configuration(FunctionName=function_name)
    if config.get("PackageType", "Zip") != "Zip":
        raise DeploymentError(f"function {function_name!r} is not a zip package")

    finder = ArtifactFinder(build_dirs)
    code = finder.match(function_zip, config["CodeSha256"], f"code of function {function_name}")

    layer_arns = [layer["Arn"] for layer in config.get("Layers") or []]
    if layer_zips and len(layer_zips) != len(layer_arns):
        raise DeploymentError(
            f"{len(layer_zips)} layer zips given, but function {function_name!r} "
            f"has {len(layer_arns)} layers"
        )
    layers = []
    for index, arn in enumerate(layer_arns):
        content = _layer_content(client, arn)
        given_zip = layer_zips[index] if layer_zips else None
        layers.append(finder.match(given_zip, content["CodeSha256"], f"layer {arn}"))

    return from_configuration(config, code, layers, region)


def _layer_content(client: Any, layer_version_arn: str) -> Mapping[str, Any]:
    # GetLayerVersion rather than GetLayerVersionByArn, which moto 5.2 does not
    # implement. A layer version ARN ends with ":<layer name>:<version>".
    layer_arn, _, version = layer_version_arn.rpartition(":")
    if not version.isdigit():
        raise DeploymentError(f"layer ARN {layer_version_arn!r} does not end with a version")
    response = client.get_layer_version(LayerName=layer_arn, VersionNumber=int(version))
    return response["Content"]


def from_file(
    path: Path, function_zip: Path, layer_zips: Sequence[Path], region: str
) -> Deployment:
    """Read a saved GetFunctionConfiguration (or GetFunction) response.

    This is the runner's configuration when no Lambda API is reachable, for
    example `aws lambda get-function-configuration` output saved in CI.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DeploymentError(f"cannot read function configuration {path}: {error}") from error
    config = document.get("Configuration", document) if isinstance(document, dict) else None
    if not isinstance(config, dict) or "FunctionName" not in config:
        raise DeploymentError(f"{path} is not a GetFunctionConfiguration response: no FunctionName")

    expected = config.get("CodeSha256")
    if expected:
        ArtifactFinder([function_zip.parent]).match(function_zip, expected, "function code")
    layer_count = len(config.get("Layers") or [])
    if "Layers" in config and layer_count != len(layer_zips):
        raise DeploymentError(
            f"{path} lists {layer_count} layers, but {len(layer_zips)} layer zips were given"
        )
    return from_configuration(config, function_zip, layer_zips, region)


class ArtifactFinder:
    """Find or check zips by their `CodeSha256`, hashing each file once."""

    def __init__(self, build_dirs: Sequence[Path]) -> None:
        self.build_dirs = list(build_dirs)
        self._hashes: dict[Path, str] = {}

    def match(self, given_zip: Path | None, expected: str, artifact: str) -> Path:
        """Return `given_zip` if it has the expected hash, else the build zip that has it.

        `artifact` names the deployed artifact in messages, e.g. "layer <ARN>".
        """
        if given_zip is not None:
            actual = self._hash(given_zip)
            if actual != expected:
                raise DeploymentError(
                    f"{given_zip} (CodeSha256 {actual}) is not the deployed {artifact} "
                    f"(CodeSha256 {expected}); deploy it first, or pass the zip that was deployed"
                )
            return given_zip

        candidates = [
            candidate
            for directory in self.build_dirs
            if directory.is_dir()
            for candidate in sorted(directory.glob("*.zip"))
        ]
        for candidate in candidates:
            if self._hash(candidate) == expected:
                log.info("deployed %s is %s", artifact, candidate)
                return candidate
        searched = ", ".join(str(directory) for directory in self.build_dirs)
        raise DeploymentError(
            f"no zip in {searched} matches the deployed {artifact} (CodeSha256 {expected}, "
            f"{len(candidates)} zips checked); run the deployment again so that the build "
            "directory and the deployed function agree, or pass --build-dir"
        )

    def _hash(self, path: Path) -> str:
        if path not in self._hashes:
            try:
                self._hashes[path] = zip_code_sha256(path)
            except OSError as error:
                raise DeploymentError(f"cannot read {path}: {error}") from error
        return self._hashes[path]
