"""Fixtures for the per-kind tests: `kit(...)` builds a one-indicator framework (kinds_kit)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kinds_kit import Kit, refused


@pytest.fixture
def kit(tmp_path: Path) -> Callable[..., Kit]:
    return lambda **kw: Kit(tmp_path, **kw)


@pytest.fixture
def refuse(tmp_path: Path) -> Callable[..., Any]:
    """The FrameworkError of a snippet that must not load."""
    return lambda **kw: refused(tmp_path, **kw)
