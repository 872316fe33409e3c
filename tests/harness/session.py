"""One harness session: a run directory, its providers, its scratch module and moto.

The local main job (``make deploy`` with ``ENV=local``) and the test suite
both build a session: the job in ``.local/terraform`` with a recorded moto
server that outlives it, the tests in a temporary directory with a server of
their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from tests.harness import providers, scratch
from tests.harness.driver import Workspace, default_build_python, local_environment

log = logging.getLogger(__name__)


@dataclass
class Session:
    run_dir: Path
    aws_endpoint: str
    setup: providers.ProviderSetup
    adaptations: list[scratch.Adaptation]
    workspace: Workspace

    @property
    def module_dir(self) -> Path:
        return self.workspace.module_dir


def open_session(
    run_dir: Path, aws_endpoint: str, init: bool = True, build_dir: Path | None = None
) -> Session:
    """Prepare providers and the scratch copy in ``run_dir``, then run ``terraform init``.

    ``build_dir`` replaces the copy's own ``build/`` (see scratch.sync).
    """
    setup = providers.prepare(run_dir)
    module_dir = run_dir / "module"
    adaptations = scratch.sync(module_dir, setup.aws_version, build_dir=build_dir)
    for adaptation in adaptations:
        log.info("offline adaptation in %s: %s", adaptation.file, adaptation.description)

    workspace = Workspace(
        module_dir=module_dir,
        environment=local_environment(setup.cli_config, aws_endpoint),
        variables={"build_python": default_build_python()},
    )
    if init:
        workspace.init()
    return Session(run_dir, aws_endpoint, setup, adaptations, workspace)
