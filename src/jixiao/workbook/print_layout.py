"""How a sheet prints: row heights that hold their wrapped text, page breaks that keep each
table with its header, headers and footers.

openpyxl cannot measure text and neither Excel nor LibreOffice re-fits a row whose height is
stored, so heights are estimated here: a CJK character is about two column-width units wide
(a column's width is counted in '0' digits of the default font), other characters one; the
estimate errs on the generous side, because a clipped 评分标准 is lost from the printed page."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

# A4 in points and the margins set below (inches → points).
A4_SHORT, A4_LONG = 595.0, 842.0
MARGIN_SIDE, MARGIN_TOP, MARGIN_BOTTOM, MARGIN_HEADER = 0.5, 0.75, 0.75, 0.3
DEFAULT_ROW = 15.0
_SLACK = 1.0  # CJK counted as 2 units is already wider than 宋体 10 pt (about 1.9) in Excel


def char_units(ch: str) -> float:
    """Width of one character in column-width units at 10 pt."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2.0
    return 1.0 if ch.isascii() else 1.2


def text_units(text: str) -> float:
    return sum(char_units(ch) for ch in text)


def wrapped_lines(text: str, width: float, font_size: float = 10.0) -> int:
    """Lines `text` takes when wrapped in a column `width` units wide (at `font_size` pt)."""
    usable = max(width - 1.2, 1.0) * 10.0 / font_size  # cell padding; bigger fonts fill faster
    lines = 0
    for paragraph in str(text).split("\n"):
        lines += max(1, math.ceil(text_units(paragraph) * _SLACK / usable))
    return lines


def line_height(font_size: float) -> float:
    return font_size * 1.35


def column_width(ws: Worksheet, col: int) -> float:
    dim = ws.column_dimensions.get(get_column_letter(col))
    return float(dim.width) if dim is not None and dim.width else 8.43


def fit_row_heights(ws: Worksheet, shown: Mapping[str, Any] | None = None, minimum: float = DEFAULT_ROW) -> None:
    """Set each row's height to hold its wrapped text.  `shown` gives what a formula cell
    displays (its cached result); merged ranges count their whole width, and a range merged
    over several rows shares its lines among them."""
    shown = shown or {}
    spans: dict[str, tuple[float, int]] = {}
    covered: set[str] = set()
    for rng in ws.merged_cells.ranges:
        width = sum(column_width(ws, c) for c in range(rng.min_col, rng.max_col + 1))
        spans[f"{get_column_letter(rng.min_col)}{rng.min_row}"] = (width, rng.max_row - rng.min_row + 1)
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                if (r, c) != (rng.min_row, rng.min_col):
                    covered.add(f"{get_column_letter(c)}{r}")
    for row in ws.iter_rows():
        need = minimum
        for cell in row:
            if cell.coordinate in covered:
                continue
            value = shown.get(cell.coordinate, cell.value)
            if value is None or (isinstance(value, str) and value.startswith("=")):
                continue
            # numbers print in their short number format (#,##0.00 or 0.00%), never as 17 digits
            text = value if isinstance(value, str) else f"{value:,.2f}" if isinstance(value, (int, float)) else f"{value}"
            width, nrows = spans.get(cell.coordinate, (column_width(ws, cell.column), 1))
            size = float(cell.font.sz or 10) if cell.font is not None else 10.0
            if cell.alignment is not None and cell.alignment.wrap_text:
                lines = wrapped_lines(text, width, size)
            else:
                lines = text.count("\n") + 1
            need = max(need, (lines * line_height(size) + 3) / nrows)
        ws.row_dimensions[row[0].row].height = round(need, 1)


def print_scale(ws: Worksheet, ncols: int, landscape: bool) -> int:
    """The zoom (percent) that fits the sheet's columns to the page width."""
    page = (A4_LONG if landscape else A4_SHORT) - 2 * MARGIN_SIDE * 72
    # Excel: a width of w units is w*7+5 pixels at 96 dpi
    content = sum((column_width(ws, c) * 7 + 5) * 0.75 for c in range(1, ncols + 1))
    return max(10, min(100, int(page / content * 100)))


def page_height(landscape: bool, scale: int) -> float:
    """Printable height in sheet points at `scale`."""
    paper = A4_SHORT if landscape else A4_LONG
    return (paper - (MARGIN_TOP + MARGIN_BOTTOM) * 72) * 100 / scale


def row_height(ws: Worksheet, row: int) -> float:
    dim = ws.row_dimensions.get(row)
    return float(dim.height) if dim is not None and dim.height else DEFAULT_ROW


def keep_blocks_together(ws: Worksheet, blocks: Iterable[tuple[int, int]], landscape: bool, scale: int) -> list[int]:
    """Manual page breaks so that no block (a table: title, header and rows) starts on one page
    and ends on the next, unless it is taller than a page.  Returns the rows a page ends after."""
    height = page_height(landscape, scale)
    blocks = sorted(blocks)
    if not blocks:
        return []
    used = sum(row_height(ws, r) for r in range(1, blocks[0][0]))
    last, breaks = blocks[0][0] - 1, []
    for first, end in blocks:
        between = sum(row_height(ws, r) for r in range(last + 1, first))
        block = sum(row_height(ws, r) for r in range(first, end + 1))
        if used + between + block > height and used + between > 0 and block <= height:
            breaks.append(first - 1)
            ws.row_breaks.append(Break(id=first - 1))
            used = 0.0
        else:
            used += between
        used += block
        while used > height:  # a block taller than a page flows on
            used -= height
        last = end
    return breaks


def taller_than_page(ws: Worksheet, blocks: Iterable[tuple[int, int]], landscape: bool, scale: int) -> list[tuple[int, int]]:
    """The blocks that cannot keep together on one page (e.g. a table of long narratives)."""
    height = page_height(landscape, scale)
    return [(first, end) for first, end in sorted(blocks)
            if sum(row_height(ws, r) for r in range(first, end + 1)) > height]


def set_header_footer(ws: Worksheet, left: str, right: str) -> None:
    """The same header and footer on every page (odd, even and first)."""
    for hf in (ws.oddHeader, ws.evenHeader, ws.firstHeader):
        hf.left.text, hf.right.text = left, right
        hf.left.size = hf.right.size = 9
    for hf in (ws.oddFooter, ws.evenFooter, ws.firstFooter):
        hf.center.text = "第 &P 页 共 &N 页"
        hf.center.size = 9


def set_margins(ws: Worksheet) -> None:
    m = ws.page_margins
    m.left = m.right = MARGIN_SIDE
    m.top, m.bottom = MARGIN_TOP, MARGIN_BOTTOM
    m.header = m.footer = MARGIN_HEADER


__all__ = ["fit_row_heights", "keep_blocks_together", "print_scale", "set_header_footer",
           "set_margins", "wrapped_lines"]
