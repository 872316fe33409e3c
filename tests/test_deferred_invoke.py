"""The self-invocation's Invoke request, checked against moto's Lambda API (in-process)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_support import create_test_function, set_fake_credentials
from botocore.stub import Stubber
from discord_endpoint.deferral import InvokeError, LambdaInvoker, make_lambda_client
from moto import mock_aws

REGION = "eu-west-1"
FUNCTION_NAME = "discord-endpoint-test"
EVENT = {
    "discord_deferred_interaction": {
        "version": 1,
        "timestamp": "1700000000",
        "signature": "ab" * 64,
        "body": "eyJ0eXBlIjogMn0=",
    }
}

# moto runs function code only in Docker, which this machine lacks; the simple
# backend accepts the invocation and echoes its payload instead.
NO_DOCKER = {"lambda": {"use_docker": False}}


@pytest.fixture
def aws_credentials(monkeypatch):
    set_fake_credentials(monkeypatch, REGION)


def create_function() -> None:
    create_test_function(
        boto3.client("iam", region_name=REGION),
        boto3.client("lambda", region_name=REGION),
        FUNCTION_NAME,
    )


@mock_aws(config=NO_DOCKER)
def test_invoke_request_is_well_formed(aws_credentials):
    """The Invoke call is an asynchronous (Event) invocation of the named function.

    moto cannot run the function without Docker, so this checks the request
    that botocore sends and moto's 202, not the second run itself.
    """
    create_function()
    sent: list[Any] = []

    def capture(request: Any, **kwargs: Any) -> None:
        sent.append(request)

    def capturing_client() -> Any:
        client = make_lambda_client()
        client.meta.events.register("before-send.lambda.Invoke", capture)
        return client

    LambdaInvoker(FUNCTION_NAME, client_factory=capturing_client)(EVENT)

    assert len(sent) == 1
    request = sent[0]
    assert request.method == "POST"
    assert request.url.endswith(f"/2015-03-31/functions/{FUNCTION_NAME}/invocations")
    assert request.headers["X-Amz-Invocation-Type"] == b"Event"
    assert json.loads(request.body) == EVENT


@mock_aws(config=NO_DOCKER)
def test_invoke_default_client_accepted(aws_credentials):
    create_function()

    # Raises InvokeError unless moto returns 202 Accepted.
    LambdaInvoker(FUNCTION_NAME)(EVENT)


def stubbed_client(stub: Callable[[Stubber], None]) -> Callable[[], Any]:
    """Return a client factory whose client returns the responses queued in botocore's Stubber."""

    def factory() -> Any:
        client = make_lambda_client()
        stubber = Stubber(client)
        stub(stubber)
        stubber.activate()
        return client

    return factory


def test_invoke_client_error_named(aws_credentials):
    def throttle(stubber: Stubber) -> None:
        stubber.add_client_error(
            "invoke", service_error_code="TooManyRequestsException", http_status_code=429
        )

    invoker = LambdaInvoker(FUNCTION_NAME, client_factory=stubbed_client(throttle))

    with pytest.raises(InvokeError, match=f"{FUNCTION_NAME} was rejected: TooManyRequests"):
        invoker(EVENT)


def test_invoke_unexpected_status_fails(aws_credentials):
    def synchronous(stubber: Stubber) -> None:
        stubber.add_response("invoke", {"StatusCode": 200})

    invoker = LambdaInvoker(FUNCTION_NAME, client_factory=stubbed_client(synchronous))

    with pytest.raises(InvokeError, match="returned status 200, not 202"):
        invoker(EVENT)


def test_client_timeouts_fit_discord_deadline(aws_credentials):
    config = make_lambda_client().meta.config

    assert config.retries["total_max_attempts"] == 1
    assert config.connect_timeout + config.read_timeout < 3


def test_invoke_without_boto3_fails_cleanly():
    """Outside Lambda (the local runner uses `python -I -S`), boto3 may be missing."""
    lambda_dir = Path(__file__).resolve().parent.parent / "lambda"
    code = (
        f"import sys; sys.path.insert(0, {str(lambda_dir)!r})\n"
        "from discord_endpoint.deferral import InvokeError, LambdaInvoker\n"
        "try:\n"
        "    LambdaInvoker('endpoint-test')({})\n"
        "except InvokeError as error:\n"
        "    print(error)\n"
    )

    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert "boto3 is not importable" in result.stdout
