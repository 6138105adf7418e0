"""Values as a spreadsheet sees them: error values, and how a cell's value reads as a number,
as text and as a truth value, and how two values compare (Excel's and LibreOffice's rules,
where they differ from plain Python).  The expression tree (`expr`), the generated engine code
(`expr_codegen`) and the checker all read values this way."""

from __future__ import annotations

import math
import re
from typing import Any

from jixiao.numeric import round15
from jixiao.textformat import general_text

class FormulaError(Exception):
    """An Excel error value (#DIV/0!, #VALUE!) raised while evaluating."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class ErrorValue(str):
    """A cell holding an error value (#VALUE!): equal to its code as text (as a saved workbook
    shows it), but a reference to it passes the error on, as in Excel: SUM over a #VALUE!
    score is #VALUE!, not the sum of the others."""

    __slots__ = ()


# --------------------------------------------------------------------------- value semantics

# A number stored as text that the applications convert in arithmetic ("437.35"+0, "1,317.55"+0
# in a Chinese or English locale, "96.42%"+0 = 0.9642): ASCII digits, thousands separators in
# threes, one point, an exponent or a percent sign, spaces around.  Full-width digits or a unit
# (55人, 437.35万元) are #VALUE! in LibreOffice (and in Excel).
_PLAIN_NUMBER = re.compile(
    r"[ ]*[+-]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?(%?)[ ]*")


def text_number(value: str) -> float | None:
    """The number a text cell holds as every application reads it in arithmetic, or None."""
    m = _PLAIN_NUMBER.fullmatch(value)
    if m is None:
        return None
    x = float(value.replace(",", "").replace("%", ""))
    if m.group(1):
        x /= 100
    return x if math.isfinite(x) else None


def as_number(value: Any) -> float:
    """A cell value used in arithmetic, as Excel does: empty is 0, TRUE is 1, a number stored
    as text is its number, other text is #VALUE!."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    x = text_number(str(value))
    if x is None:
        raise FormulaError("#VALUE!")
    return x


def as_text(value: Any) -> str:
    """A cell value joined with &: empty is "", numbers in the General format."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return general_text(float(value))
    return str(value)


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        if value.upper() in ("TRUE", "FALSE"):
            return value.upper() == "TRUE"
        raise FormulaError("#VALUE!")
    return as_number(value) != 0


def _r15(x: float) -> float:
    return float(f"{x:.15g}")


def _rank(v: Any) -> int:
    return 2 if isinstance(v, bool) else 1 if isinstance(v, str) else 0


def compare(a: Any, b: Any) -> int:
    """Excel's ordering: numbers < text < booleans; empty counts as 0 or "" as the other side."""
    ta, tb = type(a), type(b)
    if ta is tb and ta is float or ta is tb and ta is int:  # the common case, fast
        if a == b:
            return 0
        a, b = _r15(a), _r15(b)
        return (a > b) - (a < b)
    if ta is str and tb is str:
        a, b = a.lower(), b.lower()
        return (a > b) - (a < b)
    if a is None:
        a = "" if isinstance(b, str) else 0.0
    if b is None:
        b = "" if isinstance(a, str) else 0.0
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == 1:
        a, b = a.lower(), b.lower()
    else:
        a, b = round15(float(a)), round15(float(b))
    return (a > b) - (a < b)
