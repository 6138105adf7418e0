"""Excel's error values, listed once.

`STORABLE` are those a cell may hold as a cached result (ECMA-376 ST_CellType "e"), written
with t="e"; `ALL` adds the dynamic-array errors of newer Excel, which a reader may find typed
into a cell as text or sent by a live workbook, but which cannot be stored as t="e"."""

from __future__ import annotations

__all__ = ["ALL", "STORABLE", "is_error"]

STORABLE = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"})
ALL = STORABLE | frozenset({"#SPILL!", "#CALC!"})


def is_error(value: object) -> bool:
    """Whether a value is one of Excel's error values (as text)."""
    return isinstance(value, str) and value in ALL
