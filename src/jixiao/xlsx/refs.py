"""Cell references, spelled one way: column letters and numbers, A1 coordinates and
(row, column), sheet names quoted as Excel quotes them, and "Sheet!$A$1" parsed back.

Pure string work with no openpyxl: the checker reads workbooks in milliseconds and must not
pay for openpyxl's import.  The rules are Excel's (and openpyxl's, whose `quote_sheetname`
and `absolute_coordinate` agree with these)."""

from __future__ import annotations

import re

__all__ = [
    "COORD", "MAX_COL", "MAX_ROW", "absolute_ref", "col_letter", "col_number", "coord", "coord_order",
    "normalise_coord", "parse_ref", "quote_sheetname", "row_of", "split_coord",
]

MAX_ROW = 1_048_576
MAX_COL = 16_384  # XFD

#: an A1 coordinate, "$" anchors allowed: group 1 the column letters, group 2 the row
COORD = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]+)")
# a sheet-qualified single cell: 'my sheet'!$A$1 or Sheet1!A1 (quotes doubled inside quotes)
_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?([0-9]+)$")
# a sheet name Excel writes without quotes: a plain identifier that cannot be read as a cell
_PLAIN_NAME = re.compile(r"^[A-Za-z_\u0080-\uffff][\w.\u0080-\uffff]*$")
_LOOKS_LIKE_CELL = re.compile(r"^(?:[A-Za-z]{1,3}[0-9]+|[Rr][0-9]*(?:[Cc][0-9]*)?|[Cc][0-9]*)$")


def col_number(letters: str) -> int:
    """"A" → 1, "AA" → 27."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def col_letter(n: int) -> str:
    """1 → "A", 27 → "AA"."""
    if n < 1:
        raise ValueError(f"column number must be at least 1, not {n}")
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def coord(row: int, col: int) -> str:
    """(5, 3) → "C5"."""
    return f"{col_letter(col)}{row}"


def split_coord(text: str) -> tuple[int, int]:
    """"I27" (or "$I$27") → (27, 9); ValueError for anything else."""
    m = COORD.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not a cell coordinate: {text!r}")
    return int(m.group(2)), col_number(m.group(1))


def row_of(text: str) -> int:
    """"C17" → 17."""
    return split_coord(text)[0]


def coord_order(text: str) -> tuple[int, int]:
    """The sort key of a coordinate in document (row-major) order; (0, 0) for a non-coordinate."""
    m = COORD.fullmatch(text)
    return (int(m.group(2)), col_number(m.group(1))) if m else (0, 0)


def normalise_coord(text: str) -> str:
    """" $b$2 " → "B2": the form cells are keyed by."""
    return text.replace("$", "").strip().upper()


def quote_sheetname(name: str, always: bool = False) -> str:
    """A sheet name as a formula writes it: quoted (inner apostrophes doubled) unless it is a
    plain identifier that could not be read as a cell reference; `always` quotes every name,
    as the template's defined names do."""
    if not always and _PLAIN_NAME.match(name) and not _LOOKS_LIKE_CELL.match(name):
        return name
    return "'" + name.replace("'", "''") + "'"


def absolute_ref(sheet: str, cell: str) -> str:
    """'Sheet'!$C$5, the sheet name always quoted (the form the template's names use)."""
    m = COORD.fullmatch(cell.strip())  # (one match, not split + col_letter: a check spells ~450 of these)
    if m is None:
        raise ValueError(f"not a cell coordinate: {cell!r}")
    return f"{quote_sheetname(sheet, always=True)}!${m.group(1)}${m.group(2)}"


def parse_ref(text: str) -> tuple[str, str] | None:
    """'Sheet'!$C$5 or =Sheet!C5 → ("Sheet", "C5"); None for ranges, formulas or #REF!."""
    m = _REF.match(text.strip().lstrip("="))
    if not m:
        return None
    sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
    return sheet, f"{m.group(3)}{m.group(4)}"
