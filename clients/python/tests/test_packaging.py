"""The installed distribution and the package agree on what they are."""

from __future__ import annotations

from importlib import metadata

import pytest

import leasegate


def test_the_installed_distribution_has_the_packages_version_and_no_runtime_dependency() -> None:
    try:
        installed = metadata.metadata("leasegate")
    except metadata.PackageNotFoundError:
        pytest.skip("leasegate is imported from source, not installed")
    assert installed["Version"] == leasegate.__version__
    assert installed.get_all("Requires-Dist") is None
    assert installed["Requires-Python"] == ">=3.9"
