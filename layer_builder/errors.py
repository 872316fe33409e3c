"""The one exception type that the entry point turns into a one-line message."""

from __future__ import annotations


class LayerBuildError(Exception):
    """A failure the user can fix: the message names the value and the fix.

    The entry point prints ``str(error)`` as a single line on stderr and exits
    with status 1, which Terraform's external data source shows verbatim.
    """
