"""Check that every file in a layer zip can load on the target Lambda runtime.

This is the check that a plain ``pip install`` on a developer machine skips:
it caught PyNaCl's manylinux_2_34 wheel, whose ``nacl/_sodium.abi3.so`` needs
GLIBC_2.33 while Lambda's python3.11 runtime has glibc 2.26.

NOTE: the shared libraries that a binary names in DT_NEEDED are not checked
against what the runtime image provides. Manylinux wheels bundle every library
outside the manylinux policy, so a layer built from manylinux tags only relies
on that. A hand-built zip given to ``--check`` may not bundle them.
"""

from __future__ import annotations

import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from layer_builder.elf import is_elf, is_foreign_binary, read_elf
from layer_builder.errors import LayerBuildError
from layer_builder.policy import (
    Architecture,
    Runtime,
    Version,
    format_version,
    suggest_newer_runtime,
)

log = logging.getLogger(__name__)

LAYER_PREFIX = "python/"
BITS_64 = 64

# _cffi_backend.cpython-311-x86_64-linux-gnu.so: interpreter tag, then platform.
_EXTENSION_SUFFIX = re.compile(
    r"\.cpython-(\d)(\d+)[a-z]*(?:-([A-Za-z0-9_]+-[A-Za-z0-9_-]+))?\.so$"
)
_FOREIGN_SUFFIXES = (".pyd", ".dll", ".dylib")
_METADATA_FIELD = re.compile(r"^(Name|Version): *(.+?)\s*$", re.MULTILINE)
_WHEEL_TAG = re.compile(r"^Tag: *\S+?-\S+?-(\S+)\s*$", re.MULTILINE)

# Used when no .dist-info RECORD lists a file and no package directory contains it.
UNKNOWN_OWNER = "package unknown: no .dist-info RECORD in the zip lists this file"
UNKNOWN_PACKAGE = "the package that installed this file"


@dataclass(frozen=True)
class Finding:
    """One reason the runtime cannot load the layer, with the fix."""

    path: str
    package: str | None
    problem: str
    fix: str

    def __str__(self) -> str:
        owner = f"package {self.package}" if self.package else UNKNOWN_OWNER
        return f"{self.path} ({owner}): {self.problem}. Fix: {self.fix}"


@dataclass
class AuditReport:
    findings: list[Finding] = field(default_factory=list)
    glibc_required: Version | None = None
    packages: list[str] = field(default_factory=list)
    platform_tags: list[str] = field(default_factory=list)

    @property
    def glibc_required_text(self) -> str:
        return format_version(self.glibc_required) if self.glibc_required else "none"


def audit_zip(
    path: Path,
    runtime: Runtime,
    architecture: Architecture,
    forbidden: bytes | None = None,
) -> AuditReport:
    """Inspect every entry of the zip at ``path`` against the runtime's limits.

    ``forbidden`` is a byte string (the absolute build directory) that no entry
    may contain. Findings are collected, not raised, so one run reports them all.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise LayerBuildError(f"cannot read zip {path}: {error}: pass a layer .zip file") from None

    report = AuditReport()
    with archive:
        names = [info.filename for info in archive.infolist()]
        owners = _map_owners(archive, names)
        report.packages, report.platform_tags = _read_distributions(archive, names)

        for info in archive.infolist():
            name = info.filename
            package = owners.get(name) or _top_level(name)
            if not name.startswith(LAYER_PREFIX):
                report.findings.append(
                    Finding(
                        name,
                        package,
                        "entry is outside python/, and Lambda only adds /opt/python to sys.path",
                        "put every file under python/ in the zip",
                    )
                )
            if info.is_dir():
                continue

            data = archive.read(info)
            if forbidden and forbidden in data:
                report.findings.append(
                    Finding(
                        name,
                        package,
                        f"contains the absolute build path {forbidden.decode(errors='replace')}",
                        "report this file to the layer builder's maintainers; the zip is"
                        " not reproducible",
                    )
                )
            _check_file(name, package, data, runtime, architecture, report)

    for finding in report.findings:
        log.debug("rejected %s", finding)
    return report


def _check_file(
    name: str,
    package: str | None,
    data: bytes,
    runtime: Runtime,
    architecture: Architecture,
    report: AuditReport,
) -> None:
    subject = package or UNKNOWN_PACKAGE
    lower = name.lower()
    if lower.endswith(_FOREIGN_SUFFIXES) or "-darwin.so" in lower or is_foreign_binary(data):
        report.findings.append(
            Finding(
                name,
                package,
                "is a Windows or macOS binary, and Lambda runs Linux",
                f"install the manylinux wheel of {subject}: build the layer with layer_build.py",
            )
        )
        return

    _check_extension_name(name, package, runtime, architecture, report)

    if not is_elf(data):
        return
    elf = read_elf(data)
    if elf is None:
        report.findings.append(
            Finding(name, package, "is a malformed ELF file", f"reinstall {subject}")
        )
        return

    if elf.elf_class != BITS_64:
        report.findings.append(
            Finding(
                name,
                package,
                f"is a {elf.elf_class}-bit ELF file, and Lambda loads only 64-bit code",
                f"install the 64-bit {architecture.manylinux_arch} wheel of {subject}",
            )
        )
    if elf.machine != architecture.elf_machine:
        report.findings.append(
            Finding(
                name,
                package,
                f"is built for {elf.machine}, but the layer targets {architecture.name}"
                f" ({architecture.elf_machine})",
                f"build the layer with architecture {architecture.name} so that pip picks"
                f" {architecture.manylinux_arch} wheels, or set the function's architecture"
                " to match",
            )
        )

    limits = {
        "GLIBC": runtime.os.glibc,
        "GLIBCXX": runtime.os.glibcxx,
        "CXXABI": runtime.os.cxxabi,
    }
    for need in elf.needs:
        if need.family == "GLIBC" and (
            report.glibc_required is None or need.version > report.glibc_required
        ):
            report.glibc_required = need.version
        limit = limits[need.family]
        if need.version > limit:
            report.findings.append(
                Finding(
                    name,
                    package,
                    f"needs {need.label} from {need.library}, above {runtime.name}'s limit"
                    f" {need.family}_{format_version(limit)} ({runtime.os.name})",
                    _fix_for_symbol(subject, need.family, need.version, runtime),
                )
            )


def _check_extension_name(
    name: str,
    package: str | None,
    runtime: Runtime,
    architecture: Architecture,
    report: AuditReport,
) -> None:
    match = _EXTENSION_SUFFIX.search(name)
    if match is None:
        return
    python = (int(match.group(1)), int(match.group(2)))
    if python != runtime.python:
        report.findings.append(
            Finding(
                name,
                package,
                f"is an extension for CPython {python[0]}.{python[1]}, but the runtime is"
                f" {runtime.name}",
                f"install the cp{runtime.python[0]}{runtime.python[1]} wheel of"
                f" {package or UNKNOWN_PACKAGE} (build the"
                f" layer for {runtime.name}), or set the runtime to python{python[0]}.{python[1]}",
            )
        )
    platform = match.group(3)
    if platform is not None and platform != architecture.multiarch:
        report.findings.append(
            Finding(
                name,
                package,
                f"is an extension for {platform}, but the layer targets {architecture.multiarch}",
                f"build the layer with architecture {architecture.name}",
            )
        )


def _fix_for_symbol(package: str, family: str, needed: Version, runtime: Runtime) -> str:
    if family == "GLIBC":
        major, minor = runtime.os.glibc
        fix = (
            f"pin {package} to a release with a manylinux_{major}_{minor} or older wheel"
            " (manylinux2014 fits every runtime)"
        )
        newer = suggest_newer_runtime(runtime, needed)
        if newer is not None and newer.os != runtime.os:
            fix += f", or target {newer.name}, which runs on {newer.os.name} (glibc"
            fix += f" {format_version(newer.os.glibc)})"
        return fix
    return (
        f"pin {package} to a release built with an older GCC (its {family} needs must not"
        f" exceed {runtime.os.name}'s libstdc++), or target a runtime on a newer Amazon Linux"
    )


def _map_owners(archive: zipfile.ZipFile, names: list[str]) -> dict[str, str]:
    """Map each file to its distribution, from the RECORD of every ``.dist-info``."""
    owners: dict[str, str] = {}
    for name in names:
        parts = name.split("/")
        if len(parts) != 3 or not parts[1].endswith(".dist-info") or parts[2] != "RECORD":
            continue
        distribution = parts[1].removesuffix(".dist-info").rsplit("-", 1)[0]
        record = archive.read(name).decode("utf-8", errors="replace")
        for line in record.splitlines():
            path = line.split(",", 1)[0]
            if path:
                owners[f"{parts[0]}/{path}"] = distribution
    return owners


def _read_distributions(archive: zipfile.ZipFile, names: list[str]) -> tuple[list[str], list[str]]:
    """Return the ``name==version`` list and the wheels' platform tags, both sorted."""
    packages = []
    platforms = set()
    for name in names:
        parts = name.split("/")
        if len(parts) != 3 or not parts[1].endswith(".dist-info"):
            continue
        if parts[2] == "METADATA":
            text = archive.read(name).decode("utf-8", errors="replace")
            header = text.split("\n\n", 1)[0]
            fields = dict(_METADATA_FIELD.findall(header))
            if "Name" in fields and "Version" in fields:
                packages.append(f"{fields['Name']}=={fields['Version']}")
        elif parts[2] == "WHEEL":
            text = archive.read(name).decode("utf-8", errors="replace")
            for platform in _WHEEL_TAG.findall(text):
                platforms.add(platform)
    packages.sort(key=str.lower)
    return packages, sorted(platforms)


def _top_level(name: str) -> str | None:
    """Guess the owner from the top directory: ``python/nacl/x.so`` gives ``nacl``.

    A file directly under ``python/`` or at the zip's root has no such
    directory, so its owner is unknown (None).
    """
    parts = name.split("/")
    if parts[0] == "python":
        return parts[1] if len(parts) > 2 else None
    return parts[0] if len(parts) > 1 else None
