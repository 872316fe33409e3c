"""The one exception type that the entry point turns into a one-line message."""

from __future__ import annotations

import sys


class LayerBuildError(Exception):
    """A failure the user can fix: the message names the value and the fix.

    The entry point prints ``str(error)`` as a single line on stderr and exits
    with status 1, which Terraform's external data source shows verbatim.
    """


class BuildInterrupted(BaseException):
    """SIGTERM raised as an exception, so that it runs the same cleanup as an error.

    It derives from BaseException like KeyboardInterrupt, so that no
    ``except Exception`` handler swallows it.
    """

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number


def missing_dependency(error: ImportError) -> LayerBuildError:
    """Describe a missing builder dependency (pyelftools, filelock) and how to get it."""
    return LayerBuildError(
        f"{error.name or 'a dependency'} is not installed for {sys.executable}: run"
        " layer_build.py with the project's virtual environment (make venv, then"
        " .venv/bin/python) or pip install -r requirements-dev.txt"
    )
