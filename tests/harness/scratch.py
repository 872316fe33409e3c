"""Scratch copies of the root module, so the harness never touches the user's files.

Terraform keeps its lock file next to the configuration and its plugins in
``.terraform/``. The harness therefore runs in a copy: the ``*.tf`` files,
``environments/``, ``lambda/`` and ``lambda-requirements.txt`` are copied
(tests edit the copy), and the layer builder is linked. Terraform's state,
lock file, ``.terraform/`` and ``build/`` in the copy survive a refresh.

When the AWS provider available offline predates ``invoked_via_function_url``
(hashicorp/aws 5.100.0 on the offline machine), the copy adapts exactly two
things and nothing else: the aws version constraint, and that one argument,
which is removed. Every adaptation is returned so tests can assert the list.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]

# The first hashicorp/aws release that versions.tf accepts.
PRODUCTION_AWS_FLOOR = (6, 29, 0)

# The function source is copied too: a snapshot keeps the function zip stable
# for the whole session while the working tree changes.
COPIED_DIRECTORIES = ("environments", "lambda")
COPIED_FILES = ("lambda-requirements.txt",)
LINKED_INPUTS = ("layer_build.py", "layer_builder")
IGNORED_IN_COPIES = shutil.ignore_patterns("__pycache__", "*.pyc")

# Backend settings stay out of the copy: its state is local and belongs to the
# local AWS API, never to the S3 bucket of a real environment.
EXCLUDED_TF_FILES = re.compile(r"^(backend\.tf|.*_override\.tf)$")

PERMISSION_ARGUMENT = re.compile(r"^[ \t]*invoked_via_function_url[ \t]*=[ \t]*true[ \t]*\n", re.M)
AWS_CONSTRAINT = re.compile(
    r'(aws\s*=\s*\{[^}]*?source\s*=\s*"hashicorp/aws"[^}]*?version\s*=\s*)"[^"]*"', re.S
)


class ScratchError(RuntimeError):
    """The module cannot be copied or adapted as expected."""


@dataclass(frozen=True)
class Adaptation:
    """One change the copy makes to a production file."""

    file: str
    description: str


def needs_adaptation(aws_version: str | None) -> bool:
    """Return whether the given provider version lacks ``invoked_via_function_url``."""
    if aws_version is None:
        return False
    return tuple(int(part) for part in aws_version.split(".")) < PRODUCTION_AWS_FLOOR


def sync(
    target: Path,
    aws_version: str | None,
    source: Path = REPO_ROOT,
    build_dir: Path | None = None,
) -> list[Adaptation]:
    """Create or refresh the scratch copy of ``source`` in ``target``; return its adaptations.

    With ``build_dir``, the copy's ``build/`` is a link to it, so the zips
    (and the layer builder's cache) land there instead of inside the copy.
    """
    target.mkdir(parents=True, exist_ok=True)
    _remove_stale_tf_files(source, target)

    adaptations: list[Adaptation] = []
    for tf_file in sorted(source.glob("*.tf")):
        if EXCLUDED_TF_FILES.match(tf_file.name):
            continue
        text = tf_file.read_text()
        if needs_adaptation(aws_version):
            text, changes = adapt(tf_file.name, text, aws_version)
            adaptations.extend(changes)
        (target / tf_file.name).write_text(text)

    for name in COPIED_DIRECTORIES:
        destination = target / name
        if destination.is_symlink():
            destination.unlink()
        elif destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(source / name, destination, ignore=IGNORED_IN_COPIES)

    for name in COPIED_FILES:
        shutil.copyfile(source / name, target / name)

    for name in LINKED_INPUTS:
        _link(source / name, target / name)
    if build_dir is not None:
        build_dir.mkdir(parents=True, exist_ok=True)
        _link(build_dir, target / "build")

    if needs_adaptation(aws_version) and len(adaptations) != 2:
        raise ScratchError(
            f"expected 2 adaptations for hashicorp/aws {aws_version}, made {len(adaptations)}:"
            f" {adaptations}. Update tests/harness/scratch.py to match versions.tf and main.tf."
        )
    return adaptations


def adapt(file_name: str, text: str, aws_version: str) -> tuple[str, list[Adaptation]]:
    """Apply the offline adaptations to one file's text."""
    changes = []

    text, count = AWS_CONSTRAINT.subn(rf'\1"{aws_version}"', text)
    if count:
        changes.append(
            Adaptation(file_name, f"hashicorp/aws version constraint set to {aws_version}")
        )

    # NOTE: without this argument the copy's lambda:InvokeFunction statement
    # has no condition. That only ever reaches the local AWS API; the test
    # suite asserts that the production main.tf still declares it.
    text, count = PERMISSION_ARGUMENT.subn("", text)
    if count:
        changes.append(
            Adaptation(file_name, "invoked_via_function_url removed from aws_lambda_permission")
        )
    return text, changes


def _link(source: Path, destination: Path) -> None:
    if destination.is_symlink() and destination.resolve() == source.resolve():
        return
    if destination.is_symlink() or destination.is_file():
        destination.unlink()
    elif destination.is_dir():
        shutil.rmtree(destination)
    destination.symlink_to(source)


def _remove_stale_tf_files(source: Path, target: Path) -> None:
    """Delete copied ``*.tf`` files whose original is gone, so removed resources plan a destroy."""
    for copied in target.glob("*.tf"):
        if not (source / copied.name).exists() or EXCLUDED_TF_FILES.match(copied.name):
            copied.unlink()
