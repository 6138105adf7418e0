"""The ids of computed cells: one spelling, used by the engine, the layout, the checker and the
add-in (a literal such as "checks.status" written in two modules drifts apart)."""

from __future__ import annotations

TOTAL = "total"
GRADE = "grade"
ERRORS = "checks.errors"
WARNINGS = "checks.warnings"
SUMMARY = "checks.summary"
STATUS = "checks.status"  # the sentence an accountant reads before sending the file


def score_id(indicator_id: str) -> str:
    return f"score.{indicator_id}"


def text_id(indicator_id: str) -> str:
    return f"text.{indicator_id}"


def measure_text_id(mid: str) -> str:
    return f"explain.{mid}"


def check_id(cid: str) -> str:
    return f"check.{cid}"


def detail_id(cid: str) -> str:
    return f"detail.{cid}"


def level1_id(name: str) -> str:
    return f"level1.{name}"


def level2_id(name: str) -> str:
    return f"level2.{name}"


def note_id(indicator_id: str) -> str:
    """The input beside each indicator's score: 扣分原因及整改情况说明."""
    return f"{indicator_id}_note"


def grid_id(row_id: str, column_id: str) -> str:
    """One cell of a form table (row × column)."""
    return f"{row_id}_{column_id}"
