"""Excel-compatible numeric helpers shared by the workbook evaluator and the
scoring engine.

Excel (and LibreOffice / WPS) store IEEE doubles but treat a number as its
value rounded to 15 significant digits whenever it is rounded, formatted or
compared.  ``21.9/0.2`` is the double ``109.49999999999999`` yet Excel shows
``109.5`` and ``ROUND(21.9/0.2, 0)`` gives ``110``.  Python's ``round`` uses
binary values and banker's rounding, so it must not be used for scores.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

__all__ = [
    "SIGNIFICANT_DIGITS",
    "decimal15",
    "round15",
    "excel_round",
    "excel_roundup",
    "excel_rounddown",
    "same_cell_value",
]

#: Number of significant decimal digits Excel keeps when it looks at a double.
SIGNIFICANT_DIGITS = 15


def decimal15(x: float) -> Decimal:
    """Return ``x`` rounded to 15 significant digits as an exact Decimal.

    ``format(x, '.15g')`` rounds the exact binary value correctly, which is
    what Excel does before displaying, rounding or comparing a number.
    """
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {x!r}")
    return Decimal(format(x, f".{SIGNIFICANT_DIGITS}g"))


def round15(x: float) -> float:
    """``x`` rounded to 15 significant digits (e.g. ``0.1+0.2 -> 0.3``)."""
    return float(decimal15(x)) + 0.0  # "+ 0.0" turns -0.0 into 0.0


def _round(x: float, digits: int, rounding: str) -> float:
    d = decimal15(x)
    # Excel truncates the digits argument towards zero: ROUND(x, 1.9) == ROUND(x, 1)
    digits = int(digits)
    if d.as_tuple().exponent >= -digits:
        # already has no more than `digits` decimals (also avoids Decimal
        # precision overflow for huge numbers with many digits)
        return float(d) + 0.0
    return float(d.quantize(Decimal(1).scaleb(-digits), rounding=rounding)) + 0.0


def excel_round(x: float, digits: int) -> float:
    """Excel's ``ROUND``: 15 significant digits, then half away from zero.

    >>> excel_round(21.9 / 0.2, 0), excel_round(2.675, 2), excel_round(-1.005, 2)
    (110.0, 2.68, -1.01)
    >>> excel_round(1234.5, -1)
    1230.0
    """
    return _round(x, digits, ROUND_HALF_UP)  # decimal's HALF_UP is away from zero


def excel_roundup(x: float, digits: int) -> float:
    """Excel's ``ROUNDUP`` (away from zero) on the 15-significant-digit value.

    >>> excel_roundup(0.1 * 3, 1)   # 0.30000000000000004 -> 0.3, not 0.4
    0.3
    """
    return _round(x, digits, ROUND_UP)


def excel_rounddown(x: float, digits: int) -> float:
    """Excel's ``ROUNDDOWN`` (towards zero) on the 15-significant-digit value.

    >>> excel_rounddown(2.26 + 2.94, 2)  # 5.199999999999999 -> 5.2
    5.2
    """
    return _round(x, digits, ROUND_DOWN)


def same_cell_value(a: object, b: object) -> bool:
    """Two cell values as a spreadsheet shows them: numbers equal at 15 significant digits
    (Excel and LibreOffice save no more), an empty cell equal to empty text."""
    if (isinstance(a, (int, float)) and not isinstance(a, bool)
            and isinstance(b, (int, float)) and not isinstance(b, bool)):
        return f"{float(a):.15g}" == f"{float(b):.15g}"
    return (a if a is not None else "") == (b if b is not None else "")
