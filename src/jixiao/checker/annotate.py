"""`jixiao check --annotate OUT.xlsx`: a copy of the workbook fit to be emailed back to the
unit — every cell with a message coloured and commented, and a 校验结果 sheet listing all
messages with a link to each cell.  The unit's data and formulas are kept as they were."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from jixiao.checker.result import ERROR, NOTE, WARNING, CheckResult, STATUS_TEXT
from jixiao.xlsx.safe import open_xlsx
from jixiao.xlsx.reader import read_workbook
from jixiao.xlsx.cached_values import save_with_cached_values
from jixiao.workbook.identity import RESULT_SHEET

FILLS = {ERROR: PatternFill("solid", fgColor="FFC7CE"), WARNING: PatternFill("solid", fgColor="FFEB9C"),
         NOTE: PatternFill("solid", fgColor="DDEBF7")}
RANK = {ERROR: 0, WARNING: 1, NOTE: 2}


def annotate(source: str | Path, result: CheckResult, target: str | Path) -> None:
    wb = load_workbook(source)
    by_cell: dict[tuple[str, str], list] = {}
    for m in result.messages:
        if m.sheet in wb.sheetnames and m.cell:
            by_cell.setdefault((m.sheet, m.cell), []).append(m)
    for (sheet, coord), messages in by_cell.items():
        messages.sort(key=lambda m: RANK[m.level])
        cell = wb[sheet][coord]
        cell.fill = FILLS[messages[0].level]
        text = "\n".join(f"【{m.level}】{m.text}" for m in messages)
        cell.comment = Comment(text[:30000], "jixiao 校验")
        cell.comment.width, cell.comment.height = 420, 60 + 40 * len(messages)

    if RESULT_SHEET in wb.sheetnames:
        del wb[RESULT_SHEET]
    ws = wb.create_sheet(RESULT_SHEET, 0)
    ws.append([f"校验结果：{STATUS_TEXT[result.status]}（错误 {len(result.errors)} 项，警告 {len(result.warnings)} 项）"])
    ws["A1"].font = Font(bold=True, size=13)
    if result.recomputed_total is not None:
        ws.append([f"重新计算总得分 {result.recomputed_total:.2f}（{result.grade}）；工作簿显示 "
                   + (f"{result.workbook_total:.2f}" if result.workbook_total is not None else "无")])
    ws.append([])
    ws.append(["级别", "位置", "说明"])
    for m in sorted(result.messages, key=lambda m: RANK[m.level]):
        ws.append([m.level, m.where, m.text])
        if m.sheet in wb.sheetnames and m.cell:
            link = ws.cell(row=ws.max_row, column=2)
            link.hyperlink = f"#'{m.sheet}'!{m.cell}"
            link.font = Font(color="0563C1", underline="single")
        ws.cell(row=ws.max_row, column=1).fill = FILLS[m.level]
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width, ws.column_dimensions["C"].width = 8, 16, 110
    wb.active = 0

    # keep the cached results the unit's workbook had, so a preview still shows them
    book = read_workbook(open_xlsx(source))
    cached = {name: {coord: c.value for coord, c in sheet.cells.items() if c.formula and c.value is not None}
              for name, sheet in book.sheets.items() if name in wb.sheetnames}
    save_with_cached_values(wb, target, cached)
