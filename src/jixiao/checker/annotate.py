"""`jixiao check --annotate OUT.xlsx`: a copy of the workbook fit to be emailed back to the
unit — every cell with a message coloured and commented, and a 校验结果 sheet listing all
messages with a link to each cell (the add-in's sheet: `layout.result_sheet`).  The unit's data and formulas are kept as they were."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from jixiao.checker.result import ERROR, NOTE, WARNING, CheckResult
from jixiao.layout import result_sheet
from jixiao.layout.names import RESULT_SHEET
from jixiao.xlsx.cached_values import save_with_cached_values
from jixiao.xlsx.reader import read_workbook
from jixiao.xlsx.safe import open_xlsx

FILLS = {ERROR: PatternFill("solid", fgColor="FFC7CE"), WARNING: PatternFill("solid", fgColor="FFEB9C"),
         NOTE: PatternFill("solid", fgColor="DDEBF7")}


def annotate(source: str | Path, result: CheckResult, target: str | Path) -> None:
    wb = load_workbook(source)
    by_cell: dict[tuple[str, str], list] = {}
    for m in result.messages:
        if m.sheet in wb.sheetnames and m.cell:
            by_cell.setdefault((m.sheet, m.cell), []).append(m)
    for (sheet, coord), messages in by_cell.items():
        messages.sort(key=lambda m: result_sheet.LEVEL_ORDER[m.level])
        cell = wb[sheet][coord]
        cell.fill = FILLS[messages[0].level]
        text = "\n".join(f"【{m.level}】{m.text}" for m in messages)
        cell.comment = Comment(text[:30000], "jixiao 校验")
        cell.comment.width, cell.comment.height = 420, 60 + 40 * len(messages)

    if RESULT_SHEET in wb.sheetnames:
        del wb[RESULT_SHEET]
    ws = wb.create_sheet(RESULT_SHEET, 0)  # first: the copy opens at the listing
    for row in result_sheet.rows(result):
        ws.append(row)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str) and cell.data_type == "f":
                cell.data_type = "s"  # a unit's text or a message that begins with "=" stays text
    ws["A1"].font = Font(bold=True, size=13)
    for n, m in enumerate(result_sheet.ordered(result), result_sheet.TABLE_ROW + 1):
        ws.cell(row=n, column=2).fill = FILLS[m.level]
        jump = result_sheet.link(m)
        if jump and m.sheet in wb.sheetnames:
            where = ws.cell(row=n, column=result_sheet.WHERE_COL)
            where.hyperlink = jump
            where.font = Font(color="0563C1", underline="single")
    for col, width in zip("ABCDEF", (8, 8, 16, 100, 18, 18)):
        ws.column_dimensions[col].width = width
    wb.active = 0

    # keep the cached results the unit's workbook had, so a preview still shows them
    book = read_workbook(open_xlsx(source))
    cached = {name: {coord: c.value for coord, c in sheet.cells.items() if c.formula and c.value is not None}
              for name, sheet in book.sheets.items() if name in wb.sheetnames}
    save_with_cached_values(wb, target, cached)
