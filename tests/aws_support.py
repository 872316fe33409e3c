"""Helpers for tests that talk to moto's AWS API, in-process or as a server."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

TEST_REGION = "eu-west-1"

LAMBDA_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def set_fake_credentials(monkeypatch: pytest.MonkeyPatch, region: str = TEST_REGION) -> None:
    """Set test credentials and a region, so that no call can reach a real AWS account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }.items():
        monkeypatch.setenv(name, value)


def create_test_function(iam: Any, lambda_client: Any, name: str) -> None:
    """Create a role and a python3.11 function with a one-file zip.

    moto stores the code and never runs it, so the handler only has to exist.
    """
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("lambda_function.py", "def lambda_handler(event, context):\n    pass\n")
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role["Role"]["Arn"],
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": code.getvalue()},
    )
