"""Shared fixtures."""

from __future__ import annotations

import os

import pytest

from jixiao.office import find_soffice


@pytest.fixture(scope="session")
def soffice() -> str:
    """The LibreOffice executable.  Missing: skip locally, but FAIL when the CI environment
    variable is set, so that CI cannot go green without ever running these tests."""
    found = find_soffice()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required when CI is set")
        pytest.skip("LibreOffice (soffice) not installed")
    return found
