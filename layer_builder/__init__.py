"""Reproducible, runtime-checked AWS Lambda layer builds.

``layer_build.py`` at the repository root is the entry point. This package has
one concept per module: the runtime policy table, the pip step, the reproducible
archive, the ELF audit, the build cache and Terraform's external-program protocol.
"""

from __future__ import annotations

# Part of the cache key: bump it whenever a change here alters the bytes of a zip.
BUILDER_VERSION = "1"
