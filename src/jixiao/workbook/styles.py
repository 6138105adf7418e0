"""The look of the workbook: which cells the accountant types in, which are computed."""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

FONT = "宋体"
THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)

TITLE_FONT = Font(name=FONT, size=14, bold=True)
HEADER_FONT = Font(name=FONT, size=10, bold=True)
BODY_FONT = Font(name=FONT, size=10)
NOTE_FONT = Font(name=FONT, size=9, color="595959")

HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")      # yellow: 请填写
COMPUTED_FILL = PatternFill("solid", fgColor="E2EFDA")   # green: 自动计算
SECTION_FILL = PatternFill("solid", fgColor="F2F2F2")

WRAP = Alignment(wrap_text=True, vertical="center")
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)

UNLOCKED = Protection(locked=False)
LOCKED = Protection(locked=True)

NUMBER_FORMATS = {
    "amount": "#,##0.00",
    "count": "0",
    "year": "0",
    "percent": "0.00%",
    "score": "0.00",
    "text": "@",
    "longtext": "@",
    "yesno": "@",
    "choice": "@",
}
