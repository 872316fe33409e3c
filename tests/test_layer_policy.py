"""The runtime table and the platform tags handed to pip."""

from __future__ import annotations

import pytest
from pip._internal.utils.compatibility_tags import get_supported

from layer_builder.errors import LayerBuildError
from layer_builder.policy import (
    ARCHITECTURES,
    RUNTIMES,
    get_architecture,
    get_runtime,
    platform_tags,
    suggest_newer_runtime,
)

X86_64_GLIBC_2_26 = [
    "manylinux_2_26_x86_64",
    "manylinux_2_25_x86_64",
    "manylinux_2_24_x86_64",
    "manylinux_2_23_x86_64",
    "manylinux_2_22_x86_64",
    "manylinux_2_21_x86_64",
    "manylinux_2_20_x86_64",
    "manylinux_2_19_x86_64",
    "manylinux_2_18_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux_2_16_x86_64",
    "manylinux_2_15_x86_64",
    "manylinux_2_14_x86_64",
    "manylinux_2_13_x86_64",
    "manylinux_2_12_x86_64",
    "manylinux2010_x86_64",
    "manylinux_2_11_x86_64",
    "manylinux_2_10_x86_64",
    "manylinux_2_9_x86_64",
    "manylinux_2_8_x86_64",
    "manylinux_2_7_x86_64",
    "manylinux_2_6_x86_64",
    "manylinux_2_5_x86_64",
    "manylinux1_x86_64",
]


def test_runtime_table_operating_systems():
    for name in ("python3.9", "python3.10", "python3.11"):
        assert RUNTIMES[name].os.glibc == (2, 26)
        assert RUNTIMES[name].os.glibcxx == (3, 4, 24)
        assert RUNTIMES[name].os.cxxabi == (1, 3, 11)
    for name in ("python3.12", "python3.13", "python3.14"):
        assert RUNTIMES[name].os.glibc == (2, 34)
        assert RUNTIMES[name].os.glibcxx == (3, 4, 29)
        assert RUNTIMES[name].os.cxxabi == (1, 3, 13)


def test_platform_tags_amazon_linux_2_x86_64():
    tags = platform_tags(RUNTIMES["python3.11"], ARCHITECTURES["x86_64"])
    assert tags == X86_64_GLIBC_2_26


def test_platform_tags_arm64_start_at_2_17():
    tags = platform_tags(RUNTIMES["python3.11"], ARCHITECTURES["arm64"])
    assert tags[0] == "manylinux_2_26_aarch64"
    assert tags[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert len(tags) == 11


def test_platform_tags_amazon_linux_2023():
    tags = platform_tags(RUNTIMES["python3.12"], ARCHITECTURES["x86_64"])
    assert tags[0] == "manylinux_2_34_x86_64"
    assert "manylinux_2_28_x86_64" in tags
    assert "manylinux_2_35_x86_64" not in tags
    assert tags[-1] == "manylinux1_x86_64"


def test_pip_does_not_expand_manylinux2014():
    # The reason the tag list is explicit: pip 26.3 maps manylinux2014 only to
    # the older aliases, never to manylinux_2_17, and manylinux_2_26 to nothing.
    platforms = {
        tag.platform
        for tag in get_supported(version="311", platforms=["manylinux2014_x86_64"], impl="cp")
    }
    assert "manylinux_2_17_x86_64" not in platforms
    assert "manylinux2010_x86_64" in platforms

    platforms = {
        tag.platform
        for tag in get_supported(version="311", platforms=["manylinux_2_26_x86_64"], impl="cp")
    }
    assert platforms == {"manylinux_2_26_x86_64", "any"}


def test_pip_accepts_every_listed_tag():
    platforms = {
        tag.platform for tag in get_supported(version="311", platforms=X86_64_GLIBC_2_26, impl="cp")
    }
    assert set(X86_64_GLIBC_2_26) <= platforms


def test_unknown_runtime_lists_valid_values():
    with pytest.raises(LayerBuildError) as raised:
        get_runtime("python2.7")
    message = str(raised.value)
    assert "'python2.7'" in message
    assert "python3.9" in message
    assert "python3.14" in message


def test_unknown_architecture_lists_valid_values():
    with pytest.raises(LayerBuildError) as raised:
        get_architecture("aarch64")
    message = str(raised.value)
    assert "'aarch64'" in message
    assert "x86_64, arm64" in message


def test_newer_runtime_suggestion():
    assert suggest_newer_runtime(RUNTIMES["python3.11"], (2, 33)).name == "python3.12"
    assert suggest_newer_runtime(RUNTIMES["python3.11"], (2, 36)) is None
