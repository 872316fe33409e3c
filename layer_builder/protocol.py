"""Terraform's external data source protocol: one JSON object in, one out.

Terraform writes the query as a JSON object whose values are all strings and
reads exactly one JSON object of strings from stdout. Anything else on stdout
breaks the plan, so logs and pip's output go to stderr.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO

from layer_builder.errors import LayerBuildError

LAYER_KEYS = ("requirements", "runtime", "architecture", "output_dir")
FUNCTION_KEYS = ("function_source", "output_dir")
DEFAULT_OUTPUT_DIR = "build"

# JSON's names for the types that json.loads returns, for error messages.
JSON_TYPE_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


@dataclass(frozen=True)
class LayerQuery:
    requirements: str
    runtime: str
    architecture: str
    output_dir: str = DEFAULT_OUTPUT_DIR


@dataclass(frozen=True)
class FunctionQuery:
    function_source: str
    output_dir: str = DEFAULT_OUTPUT_DIR


def read_query(stream: IO[str]) -> LayerQuery | FunctionQuery:
    """Parse and validate the query object that Terraform writes to stdin."""
    text = stream.read()
    try:
        query = json.loads(text)
    except json.JSONDecodeError as error:
        raise LayerBuildError(
            f"invalid JSON on stdin ({error.msg} at line {error.lineno} column {error.colno}):"
            ' pass one object such as {"requirements": "lambda-requirements.txt",'
            ' "runtime": "python3.11", "architecture": "x86_64"}'
        ) from None
    return parse_query(query)


def parse_query(query: object) -> LayerQuery | FunctionQuery:
    """Validate a decoded query and pick the layer or the function-zip mode."""
    if not isinstance(query, dict):
        raise LayerBuildError(
            f"the query must be a JSON object, got {_with_article(json_type_name(query))}:"
            " pass the keys as an object of strings"
        )

    for key, value in query.items():
        if not isinstance(value, str):
            raise LayerBuildError(
                f"query value {key}={json.dumps(value)} is {_with_article(json_type_name(value))},"
                " not a string: Terraform's external data source passes strings only, so quote"
                " it"
            )

    accepted = set(LAYER_KEYS) | set(FUNCTION_KEYS)
    unknown = sorted(set(query) - accepted)
    if unknown:
        raise LayerBuildError(
            f"unknown query key(s) {', '.join(unknown)}: accepted keys are"
            f" {', '.join(LAYER_KEYS)} (layer) or {', '.join(FUNCTION_KEYS)} (function zip)"
        )

    if "function_source" in query:
        mixed = sorted(set(query) & {"requirements", "runtime", "architecture"})
        if mixed:
            raise LayerBuildError(
                f"function_source cannot be combined with {', '.join(mixed)}: query either"
                f" {', '.join(FUNCTION_KEYS)} for the function zip or"
                f" {', '.join(LAYER_KEYS)} for the layer"
            )
        return FunctionQuery(
            function_source=_required(query, "function_source"),
            output_dir=_output_dir(query),
        )

    return LayerQuery(
        requirements=_required(query, "requirements"),
        runtime=_required(query, "runtime"),
        architecture=_required(query, "architecture"),
        output_dir=_output_dir(query),
    )


def json_type_name(value: object) -> str:
    """Name the JSON type of a decoded value: ``null`` rather than Python's ``NoneType``."""
    return JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _with_article(name: str) -> str:
    if name == "null":
        return name
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _required(query: dict[str, str], key: str) -> str:
    value = query.get(key, "")
    if not value.strip():
        raise LayerBuildError(f"query key {key!r} is missing or empty: set it in the query")
    return value


def _output_dir(query: dict[str, str]) -> str:
    value = query.get("output_dir", DEFAULT_OUTPUT_DIR)
    if not value.strip():
        raise LayerBuildError(
            f"query key 'output_dir' is empty: set it or leave it out for {DEFAULT_OUTPUT_DIR!r}"
        )
    return value


def write_result(result: dict[str, str], stream: IO[str]) -> None:
    """Write the result object, checking the every-value-a-string contract first."""
    for key, value in result.items():
        if not isinstance(value, str):
            raise TypeError(f"result value {key!r} is {type(value).__name__}, not str")
    stream.write(json.dumps(result, sort_keys=True) + "\n")
    stream.flush()
