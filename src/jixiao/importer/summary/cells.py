"""The 汇总表's cells and sheet setup.

Every string (unit names, file names, sources, message texts: all of them are supplied by the
units) is stored as a literal text cell: a name like ``=HYPERLINK(...)`` or ``+1-2`` is never a
formula, and one starting with = + - @ also gets Excel's quote prefix, so it stays text when a
user edits the cell or exports the sheet to CSV."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

# times stored with a zone are shown in the bureau's (China Standard Time); naive ones as stored
DISPLAY_TZ = timezone(timedelta(hours=8))

SCORE_FORMAT = "0.00"
CHANGE_FORMAT = "+0.00;-0.00;0.00"
SHARE_FORMAT = "0.0%"
TIME_FORMAT = "yyyy-mm-dd hh:mm"

_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")  # characters XML 1.0 cannot carry
_RISKY_START = ("=", "+", "-", "@", "\t", "\r", "\n")  # what spreadsheets read as a formula
_MAX_CELL = 32767

_THIN = Side(style="thin", color="BFBFBF")
_HEAD_FONT, _BOLD = Font(bold=True), Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_HEAD_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_HEAD_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")


class Cells:
    """Cell factories for one write-only worksheet: strings always text."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    def text(self, value: Any, *, bold: bool = False, wrap: bool = False, header: bool = False) -> WriteOnlyCell | None:
        if value is None:
            return None
        text = _ILLEGAL.sub("\ufffd", str(value))[:_MAX_CELL]
        cell = WriteOnlyCell(self.ws, value=text)
        cell.data_type = "s"  # never a formula ("=…") nor an error value ("#N/A")
        if text.startswith(_RISKY_START):
            cell.quotePrefix = True
        if header:
            self._header(cell)
        else:
            if bold:
                cell.font = _BOLD
            if wrap:
                cell.alignment = _WRAP
        return cell

    def number(self, value: float | int | None, fmt: str | None = SCORE_FORMAT, *,
               header: bool = False) -> WriteOnlyCell | None:
        if value is None:
            return None
        cell = WriteOnlyCell(self.ws, value=value)
        if fmt:
            cell.number_format = fmt
        if header:
            self._header(cell)
        return cell

    def time(self, value: datetime | None) -> WriteOnlyCell | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)  # the importer stores UTC; SQLite drops the zone
        value = value.astimezone(DISPLAY_TZ).replace(tzinfo=None)
        cell = WriteOnlyCell(self.ws, value=value)
        cell.number_format = TIME_FORMAT
        return cell

    def _header(self, cell: WriteOnlyCell) -> None:
        cell.font = _HEAD_FONT
        cell.fill = _HEAD_FILL
        cell.alignment = _HEAD_ALIGN
        cell.border = _HEAD_BORDER

    def headers(self, labels: list[str]) -> list[WriteOnlyCell | None]:
        return [self.text(label, header=True) for label in labels]


def sheet(wb: Workbook, title: str, widths: list[float], *, freeze: str | None = None,
          landscape: bool = True) -> tuple[Any, Cells]:
    ws = wb.create_sheet(title)
    for n, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(n)].width = width
    if freeze:
        ws.freeze_panes = freeze
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    return ws, Cells(ws)


def add_filter(ws: Any, first_row: int, ncols: int, last_row: int) -> None:
    ws.auto_filter.ref = f"A{first_row}:{get_column_letter(ncols)}{max(last_row, first_row)}"
