"""One cell-value model: what a cell holds, decoded from its XML, and a value encoded for
writing as a cached result.

Reading (`decode`): a cell's parts -- its t attribute (n, s, str, inlineStr, b, e, d), its
formula, its <v> text, its inline string and style -- become a `RawCell`: numbers float,
booleans bool, text and error values str, shared strings looked up, a number in a date
style flagged `date` (Excel stores dates as serial numbers).  Writing (`encode`): a Python
value becomes the t attribute and <v> text Excel would store.  `from_live` takes a value as a
live workbook (xlwings, Office.js) gives it to the same model."""

from __future__ import annotations

import datetime as _dt
import math
import numbers
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from jixiao.xlsx import errors

__all__ = ["SHARED", "RawCell", "cell_type", "decode", "encode", "from_live", "number_text", "xml_text"]

SHARED = "<shared>"  # a shared-formula child: a formula is there, its text lives elsewhere
EXCEL_EPOCH = _dt.datetime(1899, 12, 30)
# a date as the Office.js client sends it when the cell is formatted as a date or time
# (JavaScript's Date.toISOString)
_ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# (type attribute, <f> element or None, <v> text or None, inline string or None, style index s
# or None); the f element as (its text or None, its t attribute)
RawTuple = tuple[str, "tuple[str | None, str | None] | None", "str | None", "str | None", "str | None"]


@dataclass
class RawCell:
    value: Any  # cached value: float, str, bool, error text, or None
    formula: str | None
    type: str
    date: bool = False  # a number shown in a date or time format (Excel stores dates as serials)


# --------------------------------------------------------------------------- reading

def decode(raw: RawTuple, shared: Callable[[str], str] | None,
           date_styles: frozenset[str] = frozenset()) -> RawCell | None:
    """The cell of a raw tuple, or None for a cell with neither value nor formula; `shared`
    looks up a shared string by its index text (needed only for a t="s" cell)."""
    t, f, text, inline, style = raw  # the style index: for telling dates from numbers
    formula = None
    if f is not None:
        formula = f[0] if f[0] else (SHARED if f[1] == "shared" else "")
    value: Any = None
    if t == "inlineStr":
        value = inline
    elif text is None or (text == "" and t != "str"):
        value = None
    elif t == "s":
        if shared is None:
            raise ValueError(f"a shared-string cell ({text!r}) without the shared strings")
        value = shared(text)
    elif t in ("str", "e"):
        value = text
    elif t == "b":
        value = text == "1"
    else:  # "n"; "d" (an ISO date, never written by Excel) stays text
        try:
            value = float(text)
        except ValueError:
            value = text
    if value is None and formula is None:
        return None
    return RawCell(value, formula, t, t == "n" and isinstance(value, float) and style in date_styles)


def from_live(raw: Any) -> Any:
    """What the file reader would give for a live workbook's value: floats for numbers and
    dates (Excel serial numbers), None for empty, strings and booleans as they are."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, _dt.datetime):
        return (raw.replace(tzinfo=None) - EXCEL_EPOCH).total_seconds() / 86400
    if isinstance(raw, _dt.date):
        return float((raw - EXCEL_EPOCH.date()).days)
    if isinstance(raw, _dt.time):
        return (raw.hour * 3600 + raw.minute * 60 + raw.second + raw.microsecond / 1e6) / 86400
    if isinstance(raw, str) and _ISO_DATE.match(raw):
        return from_live(_dt.datetime.fromisoformat(raw.rstrip("Z")))
    return raw


def cell_type(value: Any, formula: str | None) -> str:
    """The t a file would give a cell holding this value (a live workbook does not say)."""
    if isinstance(value, bool):
        return "b"
    if isinstance(value, float):
        return "n"
    if errors.is_error(value):
        return "e"
    return "str" if formula is not None else "s"


# --------------------------------------------------------------------------- writing

# Characters that are not allowed in XML 1.0 text.  Excel stores them as _xHHHH_ and escapes
# the underscore of a literal "_xHHHH_" as _x005F_; Excel and calamine decode this (openpyxl's
# reader does not decode t="str" values).
_XML_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_OOXML_ESCAPE_LIKE_RE = re.compile("_(?=x[0-9A-Fa-f]{4}_)")


def xml_text(text: str) -> bytes:
    """Escape ``text`` for use as XML element content (UTF-8 bytes)."""
    if "_x" in text:  # keep literal "_x0041_" literal for readers that unescape
        text = _OOXML_ESCAPE_LIKE_RE.sub("_x005F_", text)
    if _XML_ILLEGAL_RE.search(text):
        text = _XML_ILLEGAL_RE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A literal CR would be normalised to LF by every XML parser.
    text = text.replace("\r", "&#13;")
    return text.encode("utf-8")


def number_text(value: float) -> bytes | None:
    """Shortest round-trip text for a double, or None if not finite."""
    if not math.isfinite(value):
        return None
    if value == 0:
        return b"0"  # also normalises -0.0
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value)).encode("ascii")
    return repr(value).encode("ascii")


def encode(value: object, epoch: _dt.datetime) -> tuple[bytes | None, bytes] | None:
    """``(t attribute or None, <v> content)`` of a cached result, or None for "no cache":
    numbers plain, nan/inf as #NUM!, bools t="b", Excel's error values t="e", other text
    t="str", dates as serials from `epoch`."""
    kind = type(value)
    if kind is float:  # fast paths for the common cases
        text = number_text(value)
        return (None, text) if text is not None else (b"e", b"#NUM!")
    if kind is int and -10**15 < value < 10**15:
        return None, str(value).encode("ascii")
    if value is None:
        return None
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
        return b"b", b"1" if value else b"0"
    if isinstance(value, str):  # includes formulas' XlError (a str subclass)
        text = str(value)
        if text in errors.STORABLE:
            return b"e", text.encode("ascii")
        return b"str", xml_text(text)
    if isinstance(value, numbers.Integral):
        try:
            number = float(value)
        except OverflowError:
            return b"e", b"#NUM!"
        if abs(value) < 10**15:
            return None, str(int(value)).encode("ascii")
    elif isinstance(value, (numbers.Real, Decimal)):
        number = float(value)
    elif isinstance(value, (_dt.datetime, _dt.date, _dt.time, _dt.timedelta)):
        from openpyxl.utils.datetime import to_excel

        number = float(to_excel(value, epoch))
    else:
        raise TypeError(f"unsupported cached value type {type(value).__name__}: {value!r}")
    text = number_text(number)
    if text is None:  # nan / inf: Excel would show #NUM!
        return b"e", b"#NUM!"
    return None, text
