"""Explain a failed ``pip install`` in one actionable line.

pip reports "No matching distribution found for X" for three different
problems, each with its own fix: the release needs a newer Python than the
runtime, the version does not exist on the index, or no wheel fits the
runtime's platform tags. The debug log written with ``--log`` lists every file
that pip saw on the index with its ``Requires-Python``, and that list
distinguishes the three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from layer_builder.errors import LayerBuildError, missing_dependency
from layer_builder.pip_install import INDEX_URL_VARIABLE
from layer_builder.policy import RUNTIMES, Architecture, Runtime
from layer_builder.redact import redact_url

try:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        canonicalize_name,
        parse_sdist_filename,
        parse_wheel_filename,
    )
    from packaging.version import InvalidVersion, Version
except ImportError as error:
    raise missing_dependency(error) from None

# pip's own wording when it cannot reach an index (urllib3 and requests errors
# quoted in its "Retrying" warnings and its final error).
NETWORK_ERROR_MARKERS = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Connection refused",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Name or service not known",
    "ConnectTimeoutError",
    "Read timed out",
    "ProxyError",
    "SSLError",
    "Could not fetch URL",
    "connection broken by",
)
FETCH_FAILURE_PATTERN = re.compile(r"Could not fetch URL (\S+?):? ")
NO_MATCH_PATTERN = re.compile(r"No matching distribution found for (\S+)")
UNSATISFIED_PATTERN = re.compile(
    r"Could not find a version that satisfies the requirement (\S+)"
    r"(?: \(from versions: (?P<versions>[^)]*)\))?"
)
# pip 26: "Ignored the following versions that require a different python
# version: 3.12 Requires-Python >=3.11; 3.13 Requires-Python >=3.12"
IGNORED_PATTERN = re.compile(
    r"Ignored the following versions that require a different python version: (.*)$",
    re.MULTILINE,
)
IGNORED_ENTRY_PATTERN = re.compile(r"^\s*(\S+) Requires-Python (.+?)\s*$")
# Debug log lines "Found link URL (from PAGE) (requires-python:SPEC), version: V"
# and "Skipping link: REASON: URL (from PAGE) (requires-python:SPEC)".
LINK_PATTERN = re.compile(
    r"(?:Found link|Skipping link: .*?:) (?P<url>\S+) \(from [^)]*\)"
    r"(?: \(requires-python:(?P<requires>[^)]*)\))?"
)
SDIST_SUFFIXES = (".tar.gz", ".zip")


@dataclass
class _Release:
    """Requires-Python values of one version's files, as pip saw them on the index."""

    requires_python: list[str] = field(default_factory=list)


def classify_failure(
    text: str, runtime: Runtime, architecture: Architecture, tags: list[str]
) -> LayerBuildError:
    """Turn pip's console output and debug log into one error: network, resolution, or other."""
    if any(marker in text for marker in NETWORK_ERROR_MARKERS):
        url = FETCH_FAILURE_PATTERN.search(text)
        where = f" {redact_url(url.group(1))}" if url else ""
        return LayerBuildError(
            f"pip could not reach the package index{where} (network failure): check the"
            f" connection, proxy and index URL ({INDEX_URL_VARIABLE} or pip's configuration),"
            " then retry"
        )

    match = NO_MATCH_PATTERN.search(text) or UNSATISFIED_PATTERN.search(text)
    if match:
        requirement = redact_url(match.group(1).rstrip("."))
        return _unresolved(requirement, text, runtime, architecture, tags)

    return LayerBuildError(f"pip install failed: {redact_url(_last_error_line(text))}")


def _unresolved(
    requirement: str, text: str, runtime: Runtime, architecture: Architecture, tags: list[str]
) -> LayerBuildError:
    no_wheel = LayerBuildError(
        f"no compatible wheel for {requirement} on {runtime.name} {architecture.name}"
        f" (CPython {runtime.python_version}, platform tags {', '.join(tags)}, or any):"
        f" pin {requirement} to a release that publishes such a wheel, or choose another"
        " runtime"
    )
    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return no_wheel

    name = canonicalize_name(parsed.name)
    releases = _releases_on_index(text, name)
    usable = _usable_versions(text)
    for version in usable:
        releases.setdefault(version, _Release())

    matching = sorted(
        (version for version in releases if parsed.specifier.contains(version, prereleases=True)),
        reverse=True,
    )
    if not matching:
        listed = ", ".join(str(version) for version in sorted(releases)) or "none"
        return LayerBuildError(
            f"{requirement} not found on the package index (releases of {parsed.name}:"
            f" {listed}): fix the version in the requirements file"
        )

    python = Version(f"{runtime.python_version}.0")
    if all(_excludes(releases[version], python) for version in matching):
        newest = matching[0]
        requires = next(value for value in releases[newest].requires_python if value)
        supported = [version for version in usable if version not in matching]
        example = f" (for example {parsed.name}=={max(supported)})" if supported else ""
        newer = _first_runtime_for(requires)
        choice = f" or choose {newer.name} or newer" if newer else " or choose a newer runtime"
        return LayerBuildError(
            f"{parsed.name} {newest} requires Python {requires}, but {runtime.name} runs"
            f" Python {runtime.python_version}: pin {parsed.name} to a release that supports"
            f" Python {runtime.python_version}{example},{choice}"
        )
    return no_wheel


def _releases_on_index(text: str, name: str) -> dict[Version, _Release]:
    """Collect every version of ``name`` that pip saw, with each file's Requires-Python."""
    releases: dict[Version, _Release] = {}
    for link in LINK_PATTERN.finditer(text):
        version = _file_version(link.group("url"), name)
        if version is None:
            continue
        release = releases.setdefault(version, _Release())
        release.requires_python.append(link.group("requires") or "")

    for line in IGNORED_PATTERN.findall(text):
        for entry in line.split(";"):
            ignored = IGNORED_ENTRY_PATTERN.match(entry)
            if ignored is None:
                continue
            try:
                version = Version(ignored.group(1))
            except InvalidVersion:
                continue
            releases.setdefault(version, _Release()).requires_python.append(ignored.group(2))
    return releases


def _usable_versions(text: str) -> list[Version]:
    """Versions in pip's "(from versions: ...)" list: they fit the runtime and its tags."""
    match = UNSATISFIED_PATTERN.search(text)
    if match is None or not match.group("versions"):
        return []
    versions = []
    for item in match.group("versions").split(","):
        try:
            versions.append(Version(item.strip()))
        except InvalidVersion:
            continue
    return versions


def _file_version(url: str, name: str) -> Version | None:
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    try:
        if filename.endswith(".whl"):
            project, version, _, _ = parse_wheel_filename(filename)
        elif filename.endswith(SDIST_SUFFIXES):
            project, version = parse_sdist_filename(filename)
        else:
            return None
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return version if project == name else None


def _excludes(release: _Release, python: Version) -> bool:
    """Tell whether the release's declared Requires-Python values all exclude ``python``.

    Files without the field (mirrors often drop it) carry no information, so
    only the declared values count, and a release with none is not excluded.
    """
    declared = [requires for requires in release.requires_python if requires]
    if not declared:
        return False
    for requires in declared:
        try:
            if python in SpecifierSet(requires):
                return False
        except InvalidSpecifier:
            return False
    return True


def _first_runtime_for(requires: str) -> Runtime | None:
    try:
        specifier = SpecifierSet(requires)
    except InvalidSpecifier:
        return None
    for runtime in RUNTIMES.values():
        if Version(f"{runtime.python_version}.0") in specifier:
            return runtime
    return None


def _last_error_line(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.startswith("ERROR:"):
            return line.removeprefix("ERROR:").strip()
    stripped = [line for line in text.splitlines() if line.strip()]
    return stripped[-1].strip() if stripped else "no output"
