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
import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

__all__ = [
    "SIGNIFICANT_DIGITS",
    "decimal15",
    "round15",
    "excel_round",
    "excel_round_decimal",
    "excel_roundup",
    "excel_rounddown",
    "same_cell_value",
    "same_number",
    "same_text",
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
    x, digits = float(x), int(digits)
    if digits >= 0 and x.is_integer() and -1e15 < x < 1e15:
        return x + 0.0  # a whole number below 10**15: its 15-digit text is itself (most scores)
    s = format(x, ".15g")  # the 15-digit text, as decimal15
    if "e" in s or "n" in s or digits < 0:  # an exponent, inf or nan, tens: by Decimal
        return _round(x, digits, ROUND_HALF_UP)  # decimal's HALF_UP is away from zero
    # the same, without Decimal (the engine rounds every score): half away from zero on the
    # digits of the text, in integers; n / 10**d is correctly rounded like float(Decimal), so
    # both give the double nearest to the same decimal
    dot = s.find(".")
    if dot < 0 or len(s) - dot - 1 <= digits:
        return float(s) + 0.0
    negative = s[0] == "-"
    n = int(s[negative:dot] + s[dot + 1:dot + 1 + digits])
    if s[dot + 1 + digits] >= "5":
        n += 1
    y = n / 10 ** digits
    return (-y if negative else y) + 0.0


def excel_round_decimal(x: float, digits: int) -> float:
    """`excel_round` by Decimal alone: the reference its integer path is tested against."""
    return _round(x, digits, ROUND_HALF_UP)


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


def same_number(a: float, b: float) -> bool:
    """Two numbers as spreadsheet applications store them: equal at 15 significant digits, or
    one unit apart in the 15th digit (LibreOffice 7.4 writes a number that needs more than 15
    digits with its 15th digit sometimes one off; no score or amount anybody types has 15)."""
    if a == b:
        return True
    try:
        x, y = decimal15(a), decimal15(b)
    except ValueError:
        return False
    if x == y:
        return True
    # one unit of the 15th digit of the smaller (99.9999999999999 and 100 are one apart; 0 and
    # 1E-300 are not)
    low = min(x.adjusted(), y.adjusted()) if x and y else (x or y).adjusted() - SIGNIFICANT_DIGITS
    return abs(x - y) <= Decimal(1).scaleb(low - SIGNIFICANT_DIGITS + 1)


# A number shown in a text: 55.97%, 1,317.55, 0.97.  A percentage shown with decimals may differ
# by one unit in its last decimal between applications when the value is half-way (LibreOffice
# rounds TEXT(0.559750000, "0.00%") the other way from Excel): that is display, not a result.
_SHOWN_NUMBER = re.compile(r"-?\d+(?:\.(\d+))?(%?)")


def same_text(a: str, b: str) -> bool:
    """Two texts of a formula result (an explanation), equal but for the tolerance above:
    the words identical, every number equal (as `same_number`), except a percentage with
    decimals which may be one unit of its last decimal apart."""
    if a == b:
        return True
    if _SHOWN_NUMBER.sub("#", a) != _SHOWN_NUMBER.sub("#", b):
        return False
    for ma, mb in zip(_SHOWN_NUMBER.finditer(a), _SHOWN_NUMBER.finditer(b)):
        ta, tb = ma.group(0), mb.group(0)
        if ta == tb:
            continue
        if ma.group(2) != mb.group(2):
            return False
        decimals = len(ma.group(1) or "")
        if ma.group(2) == "%":
            if not (decimals and decimals == len(mb.group(1) or "")
                    and abs(Decimal(ta[:-1]) - Decimal(tb[:-1])) == Decimal(1).scaleb(-decimals)):
                return False
        elif not same_number(float(ta), float(tb)):
            return False
    return True


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def same_cell_value(a: object, b: object) -> bool:
    """THE definition of "the same cell value", for every comparison of a cached formula
    result (checker, add-in, demo, tests): numbers as `same_number`, an empty cell equal to
    empty text, texts exactly equal.  Explanation texts may differ more (`same_text`); the
    checker reports such a difference as a 警告, never as a different result."""
    if _is_number(a) and _is_number(b):
        return same_number(float(a), float(b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return (a if a is not None else "") == (b if b is not None else "")
