"""The two seed reports as data files (福田 94.79, 龙岗 96.94): the demo's embedded defaults."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SAMPLES = {"futian": "futian-2021.yaml", "longgang": "longgang-2021.yaml"}
REPORTED_TOTALS = {"futian": 94.79, "longgang": 96.94}


def sample_path(name: str) -> Path:
    return Path(str(resources.files(__package__) / SAMPLES[name]))
