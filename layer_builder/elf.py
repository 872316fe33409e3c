"""Read what an ELF file needs from the C and C++ runtimes, with pyelftools."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from layer_builder.policy import Version, parse_version

ELF_MAGIC = b"\x7fELF"
# Mach-O (32/64-bit, both byte orders, and universal) and PE/COFF headers.
MACHO_MAGICS = (
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
PE_MAGIC = b"MZ"

# Symbol-version families that the runtime table limits, e.g. GLIBC_2.33.
_VERSION_NAME = re.compile(r"^(GLIBC|GLIBCXX|CXXABI)_(\d+(?:\.\d+)*)$")


@dataclass(frozen=True)
class SymbolVersion:
    """One ``Elf_Vernaux`` entry: a library and the version label it must provide."""

    library: str
    family: str
    version: Version

    @property
    def label(self) -> str:
        return f"{self.family}_{'.'.join(str(part) for part in self.version)}"


@dataclass(frozen=True)
class ElfInfo:
    elf_class: int
    machine: str
    needs: tuple[SymbolVersion, ...]


def is_elf(data: bytes) -> bool:
    return data[:4] == ELF_MAGIC


def is_foreign_binary(data: bytes) -> bool:
    """Return whether ``data`` starts like a macOS or Windows binary."""
    return data[:4] in MACHO_MAGICS or data[:2] == PE_MAGIC


def read_elf(data: bytes) -> ElfInfo | None:
    """Parse an ELF image; return None for a truncated or malformed one."""
    try:
        elf = ELFFile(io.BytesIO(data))
        return ElfInfo(
            elf_class=elf.elfclass,
            machine=elf["e_machine"],
            needs=tuple(_iter_needs(elf)),
        )
    except ELFError:
        return None


def _iter_needs(elf: ELFFile) -> Iterator[SymbolVersion]:
    """Yield the GLIBC, GLIBCXX and CXXABI versions from ``.gnu.version_r``.

    Labels without a number (``GLIBC_PRIVATE``, ``CXXABI_TM_1``) are not part
    of any runtime table and are skipped.
    """
    for section in elf.iter_sections():
        if not isinstance(section, GNUVerNeedSection):
            continue
        for verneed, auxiliaries in section.iter_versions():
            for auxiliary in auxiliaries:
                match = _VERSION_NAME.match(auxiliary.name)
                if match is None:
                    continue
                yield SymbolVersion(
                    library=verneed.name,
                    family=match.group(1),
                    version=parse_version(match.group(2)),
                )
