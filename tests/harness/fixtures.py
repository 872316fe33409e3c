"""pytest fixtures for the Terraform tests: one moto server and one scratch init per session.

A test module imports each fixture it uses by name, so pytest finds them
there without a shared conftest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from nacl.signing import SigningKey

from tests.harness import moto_server
from tests.harness.driver import TEST_CREDENTIALS
from tests.harness.session import Session, open_session

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[moto_server.MotoServer]:
    """A moto server on a free port of 127.0.0.1 for the whole session."""
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    server, process = moto_server.start(log_path)
    try:
        yield server
    finally:
        process.terminate()
        process.wait(timeout=moto_server.STOP_TIMEOUT_SECONDS)


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory, moto: moto_server.MotoServer) -> Session:
    """A scratch copy of the module, initialised once, pointed at the session's moto."""
    return open_session(tmp_path_factory.mktemp("terraform"), moto.url)


@pytest.fixture(scope="session")
def public_key() -> str:
    """The hex public key of a fresh Ed25519 key pair."""
    return SigningKey.generate().verify_key.encode().hex()


@pytest.fixture(scope="session")
def aws(moto: moto_server.MotoServer) -> Callable[[str], Any]:
    """Return a factory of boto3 clients that talk to the session's moto server."""

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=moto.url,
            region_name=REGION,
            aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    return client


@pytest.fixture(scope="session")
def dev_outputs(harness: Session, public_key: str) -> dict[str, Any]:
    """Apply workspace ``dev`` once per session and return its outputs."""
    harness.workspace.select("dev")
    harness.workspace.apply("environments/dev.tfvars", {"discord_public_key": public_key})
    return harness.workspace.outputs()
