"""Lambda targets as data: runtimes, architectures, glibc and libstdc++ limits.

Sources for the limits:

- Runtime operating systems: the AWS Lambda runtimes page
  (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html) pairs python3.9
  to python3.11 with Amazon Linux 2 and python3.12 and later with Amazon Linux
  2023. Their glibc versions, 2.26 and 2.34, are as quoted in apache/arrow
  issue 38373 and aws/aws-lambda-rust-runtime issue 932.
- libstdc++ symbol versions: the libstdc++ manual, "ABI Policy and Guidelines"
  (gcc.gnu.org/onlinedocs/libstdc++/manual/abi.html), which lists
  "GCC 7.2.0: GLIBCXX_3.4.24, CXXABI_1.3.11" (Amazon Linux 2 ships GCC 7.3, which
  adds no label) and "GCC 11.1.0: GLIBCXX_3.4.29, CXXABI_1.3.13" (Amazon Linux
  2023 ships GCC 11), the latter added by GCC commit ed255fd5.
"""

from __future__ import annotations

from dataclasses import dataclass

from layer_builder.errors import LayerBuildError

Version = tuple[int, ...]


def parse_version(text: str) -> Version:
    """Parse ``"2.17"`` into ``(2, 17)`` so that versions compare as integers."""
    return tuple(int(part) for part in text.split("."))


def format_version(version: Version) -> str:
    return ".".join(str(part) for part in version)


@dataclass(frozen=True)
class OperatingSystem:
    """The limits of one Lambda base image that native code must respect."""

    name: str
    glibc: Version
    glibcxx: Version
    cxxabi: Version


@dataclass(frozen=True)
class Runtime:
    name: str
    python: tuple[int, int]
    os: OperatingSystem

    @property
    def python_version(self) -> str:
        """The ``X.Y`` form that pip's ``--python-version`` takes."""
        return f"{self.python[0]}.{self.python[1]}"


@dataclass(frozen=True)
class Architecture:
    """A Lambda architecture and the names other tools use for it."""

    name: str
    manylinux_arch: str
    elf_machine: str
    multiarch: str
    # The lowest glibc that any manylinux wheel for this CPU targets.
    min_glibc: Version


AMAZON_LINUX_2 = OperatingSystem(
    name="Amazon Linux 2", glibc=(2, 26), glibcxx=(3, 4, 24), cxxabi=(1, 3, 11)
)
AMAZON_LINUX_2023 = OperatingSystem(
    name="Amazon Linux 2023", glibc=(2, 34), glibcxx=(3, 4, 29), cxxabi=(1, 3, 13)
)

RUNTIMES: dict[str, Runtime] = {
    runtime.name: runtime
    for runtime in (
        Runtime("python3.9", (3, 9), AMAZON_LINUX_2),
        Runtime("python3.10", (3, 10), AMAZON_LINUX_2),
        Runtime("python3.11", (3, 11), AMAZON_LINUX_2),
        Runtime("python3.12", (3, 12), AMAZON_LINUX_2023),
        Runtime("python3.13", (3, 13), AMAZON_LINUX_2023),
        Runtime("python3.14", (3, 14), AMAZON_LINUX_2023),
    )
}

ARCHITECTURES: dict[str, Architecture] = {
    architecture.name: architecture
    for architecture in (
        Architecture("x86_64", "x86_64", "EM_X86_64", "x86_64-linux-gnu", (2, 5)),
        Architecture("arm64", "aarch64", "EM_AARCH64", "aarch64-linux-gnu", (2, 17)),
    )
}

# Legacy manylinux aliases (PEP 513, 571, 599) and the glibc each one means.
# pip 26.3 only expands manylinux2014 to manylinux2010 and manylinux1, and only
# for x86_64 and i686. It never maps an alias to its manylinux_2_X spelling, nor
# manylinux_2_X to lower levels, so every allowed tag is passed explicitly.
LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
LEGACY_ARCHES = {
    "manylinux2014": ("x86_64", "aarch64"),
    "manylinux2010": ("x86_64",),
    "manylinux1": ("x86_64",),
}

# Lambda's default CodeSizeUnzipped (250 MB, the function and all its layers
# extracted) and CodeSizeZipped (50 MB for a zip uploaded directly; larger zips
# go through S3), from the AccountLimit type of the Lambda API reference.
MAX_UNZIPPED_BYTES = 262_144_000
MAX_DIRECT_UPLOAD_BYTES = 52_428_800


def get_runtime(name: str) -> Runtime:
    try:
        return RUNTIMES[name]
    except KeyError:
        valid = ", ".join(RUNTIMES)
        raise LayerBuildError(f"unknown runtime {name!r}: use one of {valid}") from None


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        valid = ", ".join(ARCHITECTURES)
        raise LayerBuildError(f"unknown architecture {name!r}: use one of {valid}") from None


def platform_tags(runtime: Runtime, architecture: Architecture) -> list[str]:
    """List every manylinux platform tag that the runtime's glibc can load, newest first.

    Tags run from ``manylinux_<glibc>`` down to the architecture's lowest level,
    with each legacy alias after the ``manylinux_2_X`` tag it equals.
    """
    arch = architecture.manylinux_arch
    major, newest_minor = runtime.os.glibc
    tags = []
    for minor in range(newest_minor, architecture.min_glibc[1] - 1, -1):
        tags.append(f"manylinux_{major}_{minor}_{arch}")
        alias = LEGACY_MANYLINUX.get((major, minor))
        if alias is not None and arch in LEGACY_ARCHES[alias]:
            tags.append(f"{alias}_{arch}")
    return tags


def suggest_newer_runtime(runtime: Runtime, glibc_needed: Version) -> Runtime | None:
    """Return the oldest runtime from ``runtime`` on whose glibc covers ``glibc_needed``."""
    for candidate in RUNTIMES.values():
        if candidate.python >= runtime.python and candidate.os.glibc >= glibc_needed:
            return candidate
    return None
