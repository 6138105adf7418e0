"""The look of the workbook: which cells the accountant types in, which are computed."""

from __future__ import annotations

from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

FONT = "宋体"
THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)

TITLE_FONT = Font(name=FONT, size=14, bold=True)
HEADER_FONT = Font(name=FONT, size=10, bold=True)
BODY_FONT = Font(name=FONT, size=10)
NOTE_FONT = Font(name=FONT, size=9, color="595959")
STATUS_FONT = Font(name=FONT, size=12, bold=True)

HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")      # yellow: 请填写
COMPUTED_FILL = PatternFill("solid", fgColor="E2EFDA")   # green: 自动计算
SECTION_FILL = PatternFill("solid", fgColor="F2F2F2")

WRAP = Alignment(wrap_text=True, vertical="center")
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)

UNLOCKED = Protection(locked=False)
LOCKED = Protection(locked=True)

# 审核 colours: plain cellIs / expression rules with a dxf fill, the kind Excel 2010, WPS and
# LibreOffice all read (no icon sets, data bars or 2010 extensions).
ERROR_FILL, ERROR_FONT = PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE"), Font(color="9C0006", bold=True)
WARNING_FILL, WARNING_FONT = PatternFill("solid", fgColor="FFEB9C", bgColor="FFEB9C"), Font(color="9C5700", bold=True)
PASSED_FILL = PatternFill("solid", fgColor="C6EFCE", bgColor="C6EFCE")

def colour_levels(ws, cells: str) -> None:
    """错误 red, 警告 amber, in the 审核结果 column."""
    ws.conditional_formatting.add(cells, CellIsRule(operator="equal", formula=['"错误"'], fill=ERROR_FILL, font=ERROR_FONT))
    ws.conditional_formatting.add(cells, CellIsRule(operator="equal", formula=['"警告"'], fill=WARNING_FILL,
                                                    font=WARNING_FONT))

def colour_status(ws, cell: str, errors: str, warnings: str) -> None:
    """The status line: red with errors, amber with warnings only, green when clean."""
    ws.conditional_formatting.add(cell, FormulaRule(formula=[f"{errors}>0"], fill=ERROR_FILL, font=ERROR_FONT,
                                                    stopIfTrue=True))
    ws.conditional_formatting.add(cell, FormulaRule(formula=[f"{warnings}>0"], fill=WARNING_FILL, font=WARNING_FONT,
                                                    stopIfTrue=True))
    ws.conditional_formatting.add(cell, FormulaRule(formula=[f"{errors}+{warnings}=0"], fill=PASSED_FILL))

def colour_text(ws, cell: str) -> None:
    """The same colours for a copy of the status line elsewhere, read from its words."""
    plain = cell.replace("$", "")
    ws.conditional_formatting.add(cell, FormulaRule(formula=[f'COUNTIF({plain},"错误 0 项*")=0'], fill=ERROR_FILL,
                                                    font=ERROR_FONT, stopIfTrue=True))
    ws.conditional_formatting.add(cell, FormulaRule(formula=[f'COUNTIF({plain},"*警告 0 项*")=0'],
                                                    fill=WARNING_FILL, font=WARNING_FONT, stopIfTrue=True))
    ws.conditional_formatting.add(cell, FormulaRule(formula=[f'COUNTIF({plain},"*警告 0 项*")=1'], fill=PASSED_FILL))
