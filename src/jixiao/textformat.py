"""How a number becomes text, defined once: the General format (a number joined with &), the
few TEXT() format codes the template uses, and the plain decimal a note to the accountant
shows.  All round at 15 significant digits, as Excel and LibreOffice do, so the Python
explanation texts match the workbook's."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from jixiao.numeric import decimal15, excel_round


def general_text(x: float) -> str:
    """A number in the General format, as ="" & x shows it (15 significant digits)."""
    if x == 0:
        return "0"
    text = f"{x:.15g}"
    if "e" in text and 1e-9 <= abs(float(text)) < 1e15:  # the bounds apply to the rounded number
        # Excel and LibreOffice write these as plain decimals (0.00001, not 1E-05)
        text = format(Decimal(text), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        return f"{mantissa}E{sign}{abs(int(exp)):02d}"
    return text


def plain_text(x: float) -> str:
    """A number as a note shows it: 15 significant digits, no trailing zeros, and no exponent
    below 1E+21 (a 16-digit amount is shown whole, not as 1.23456789012346E+15)."""
    if x == 0:
        return "0"
    if not 1e-9 <= abs(x) < 1e21:
        return general_text(x)
    return format(decimal15(x).normalize(), "f")


@lru_cache(maxsize=64)
def _format_code(fmt: str) -> tuple[bool, bool, int]:
    """(percent, thousands separators, decimals) of a TEXT format code: read once per code."""
    percent = fmt.endswith("%")
    body = fmt[:-1] if percent else fmt
    grouping = body.startswith("#,##")
    if grouping:
        body = body[len("#,##"):]
    if body.count(".") > 1 or body.replace(".", "").strip("0") != "" or not body.startswith("0"):
        raise ValueError(f"unsupported TEXT format {fmt!r}")
    return percent, grouping, len(body.split(".")[1]) if "." in body else 0


def text_format(x: float, fmt: str) -> str:
    """TEXT(x, fmt) for the format codes the template writes: 0, 0.0…, with an optional %,
    and #,##0 / #,##0.00 with thousands separators."""
    percent, grouping, decimals = _format_code(fmt)
    value = excel_round(x * 100 if percent else x, decimals)
    text = f"{abs(value):,.{decimals}f}" if grouping else f"{abs(value):.{decimals}f}"
    if value < 0:
        text = "-" + text
    return text + ("%" if percent else "")
