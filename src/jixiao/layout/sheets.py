"""The sheets an accountant fills and reads, laid out from the framework and its form: the form
sheets (表1-1 …), 评分要素, 指标计算, 评分表 and 审核.  Pure data: `render` draws them."""

from __future__ import annotations

from jixiao.cell_ids import (
    ERRORS, GRADE, STATUS, SUMMARY, TOTAL, WARNINGS, check_id, detail_id, grid_id, level1_id, level2_id,
    measure_text_id, note_id, score_id, text_id,
)
from jixiao.framework import field_types
from jixiao.framework.model import Field, Framework, Table
from jixiao.layout.model import Conditional, SheetLayout
from jixiao.xlsx.refs import col_letter
from jixiao.layout.names import CHECK_SHEET, JUDGEMENT_SHEET, MEASURE_SHEET, SCORE_SHEET

LONGTEXT_MIN_HEIGHT = 90  # a narrative's cell before its text is known


# --------------------------------------------------------------------------- form sheets

def form_sheet(fw: Framework, sheet) -> SheetLayout:
    width = max([len(t.columns) + 1 for t in sheet.tables if t.is_grid] + [4])
    ws = SheetLayout(sheet.name, landscape=False, widths=[34] + [18] * (width - 1))  # narrow: portrait
    row = ws.title(sheet.name, width, "黄色单元格为填写项，绿色单元格自动计算。金额单位见各表标题。")
    for table in sheet.tables:
        first = row
        row = _grid(fw, ws, table, row) if table.is_grid else _list(ws, table, row)
        ws.blocks.append((first, row - 1))
        row += 1
    return ws


def _table_title(ws: SheetLayout, table: Table, row: int, width: int) -> int:
    unit = f"（单位：{table.unit}）" if table.unit else ""
    ws.merge(row, 1, row, width)
    ws.put(row, 1, f"{table.title}{unit}", font="header", border=False)
    return row + 1


def _list(ws: SheetLayout, table: Table, row: int) -> int:
    row = _table_title(ws, table, row, 4)
    if table.fields and all(f.type == "longtext" for f in table.fields):
        ws.header_row(row, ("项目", "填写内容（可分段）", None, None))
        ws.merge(row, 2, row, 4)
    else:
        ws.header_row(row, ("项目", "填报值", "单位", "填写要求"))
    row += 1
    for f in table.fields:
        ws.put(row, 1, f.label + ("（必填）" if f.required else ""))
        if f.type == "longtext":
            row = _longtext(ws, row, f)
            continue
        ws.input(row, 2, f)
        ws.put(row, 3, f.unit, align="center")
        ws.put(row, 4, f.allowed(), font="note")
        row += 1
    for cf in table.computed:
        ws.put(row, 1, cf.label)
        ws.computed(row, 2, cf.id, fmt=field_types.get("amount").number_format)
        ws.put(row, 3, cf.unit, align="center")
        ws.put(row, 4, "自动计算", font="note")
        row += 1
    return row


def _longtext(ws: SheetLayout, row: int, f: Field) -> int:
    """A narrative for the 自评报告: one tall cell across the value, unit and hint columns."""
    ws.merge(row, 2, row, 4)
    ws.input(row, 2, f)
    for col in (3, 4):
        ws.put(row, col, None, fill="input")
    ws.heights[row] = LONGTEXT_MIN_HEIGHT
    return row + 1


def _grid(fw: Framework, ws: SheetLayout, table: Table, row: int) -> int:
    row = _table_title(ws, table, row, len(table.columns) + 1)
    ws.put(row, 1, "项目", font="header", fill="header", align="center")
    for col, c in enumerate(table.columns, 2):
        ws.put(row, col, c.label, font="header", fill="header", align="center")
    row += 1
    for r in table.rows:
        ws.put(row, 1, r.label)
        for col, c in enumerate(table.columns, 2):
            fid = grid_id(r.id, c.id)
            if c.computed:
                ws.computed(row, col, fid, fmt="0.00%")
            else:
                ws.input(row, col, fw.fields[fid])
        row += 1
    return row


# --------------------------------------------------------------------------- 评分要素, 指标计算

def judgement_sheet(fw: Framework) -> SheetLayout:
    ws = SheetLayout(JUDGEMENT_SHEET, landscape=False, widths=[60, 26, 8, 40])
    row = ws.title("评分要素（自评判断）", 4, "按评分标准逐项填写；每项得分由评分表自动计算。")
    ws.header_row(row, ("评分要素", "填报值", "单位", "填写要求"))
    row += 1
    for ind in fw.indicators:
        if not ind.inputs:
            continue
        ws.merge(row, 1, row, 4)
        ws.put(row, 1, f"{ind.level1} › {ind.level2} › {ind.name}（参考分值{ind.points:g}分）",
               font="header", fill="section")
        first = row
        row += 1
        for f in ind.inputs:
            ws.put(row, 1, f.label)
            ws.input(row, 2, f)
            ws.put(row, 3, f.unit or ("分" if f.type == "score" else ""), align="center")
            ws.put(row, 4, f.allowed(), font="note")
            row += 1
        ws.blocks.append((first, row - 1))
    return ws


def measure_sheet(fw: Framework) -> SheetLayout:
    ws = SheetLayout(MEASURE_SHEET, widths=[24, 26, 14, 80])
    row = ws.title("指标计算（自动）", 4, "评分所用的比率和金额，由填报数据自动计算。")
    ws.header_row(row, ("三级指标", "计算项", "计算结果", "计算过程"))
    row += 1
    for ind in fw.indicators:
        for m in ind.measures:
            ws.put(row, 1, ind.name)
            ws.put(row, 2, m.label)
            ws.computed(row, 3, m.id, fmt="0.00%" if m.is_ratio else "#,##0.00")
            ws.computed(row, 4, measure_text_id(m.id), align="wrap")
            row += 1
    row += 1
    ws.header_row(row, ("一级指标", "二级指标", "得分", "参考分值"))
    row += 1
    for l1 in fw.level1:
        for l2 in l1.children:
            ws.put(row, 1, l1.name)
            ws.put(row, 2, l2.name)
            ws.computed(row, 3, level2_id(l2.name), fmt="0.00")
            ws.put(row, 4, l2.points, align="center", fmt="0.##")
            row += 1
    return ws


# --------------------------------------------------------------------------- 评分表

def score_sheet(fw: Framework) -> SheetLayout:
    ws = SheetLayout(SCORE_SHEET, widths=[9, 6, 9, 6, 14, 6, 34, 50, 8, 36, 30])
    width = 11
    row = ws.title(fw.title, width, "得分与扣分情况说明为自动计算；“扣分原因及整改情况说明”由单位填写。")
    heads = [("评价指标", 1, 6), ("指标说明", 7, 7), ("评分标准", 8, 8), ("得分", 9, 9),
             ("扣分情况说明", 10, 10), ("扣分原因及整改情况说明", 11, 11)]
    header = {"font": "header", "fill": "header", "align": "center"}
    for text, c1, c2 in heads:
        if c1 != c2:
            ws.merge(row, c1, row, c2)
        else:
            ws.merge(row, c1, row + 2, c1)
        for c in range(c1, c2 + 1):
            ws.put(row, c, text if c == c1 else None, **header)
    for i, level in enumerate(("一级指标", "二级指标", "三级指标")):
        ws.merge(row + 1, 2 * i + 1, row + 1, 2 * i + 2)
        for j, sub in enumerate((level, None)):
            ws.put(row + 1, 2 * i + 1 + j, sub, **header)
        ws.put(row + 2, 2 * i + 1, "名称", **header)
        ws.put(row + 2, 2 * i + 2, "参考\n分值", **header)
    for c in range(7, 12):
        for r in (row + 1, row + 2):
            ws.put(r, c, None, font="header", fill="header")
    ws.header_rows = f"{row}:{row + 2}"
    ws.freeze_row = row + 3
    row += 3
    for l1 in fw.level1:
        l1_start = row
        for l2 in l1.children:
            l2_start = row
            for ind in l2.indicators:
                for col, value in enumerate((l1.name, l1.points, l2.name, l2.points, ind.name, ind.points), 1):
                    ws.put(row, col, value, align="center", fmt=None if col % 2 else "0.##")
                ws.put(row, 7, ind.description, align="wrap_top")
                ws.put(row, 8, ind.criteria, align="wrap_top")
                ws.computed(row, 9, score_id(ind.id), fmt="0.00")
                ws.computed(row, 10, text_id(ind.id), align="wrap_top")
                ws.input(row, 11, fw.fields[note_id(ind.id)])
                row += 1
            for col in (3, 4):
                if row - 1 > l2_start:
                    ws.merge(l2_start, col, row - 1, col)
        for col in (1, 2):
            if row - 1 > l1_start:
                ws.merge(l1_start, col, row - 1, col)
    summary = [("总得分", TOTAL, "0.00"), ("评价等级", GRADE, None)]
    summary += [(f"其中：{l1.name}（{l1.points:g}分）", level1_id(l1.name), "0.00") for l1 in fw.level1]
    summary += [("审核结果", STATUS, None)]
    for label, cid, fmt in summary:
        ws.merge(row, 1, row, 8)
        for c in range(1, 9):
            ws.put(row, c, label if c == 1 else None, font="header", align="center")
        if cid == STATUS:  # a sentence: it takes the two columns beside the score
            ws.mirror(row, 9, cid)
            ws.merge(row, 9, row, 11)
            ws.conditionals.append(Conditional("status_text", f"I{row}"))
        else:
            ws.computed(row, 9, cid, fmt=fmt)
        row += 1
    return ws


# --------------------------------------------------------------------------- 审核

def check_sheet(fw: Framework) -> SheetLayout:
    ws = SheetLayout(CHECK_SHEET, widths=[6, 8, 50, 10, 60, 2, 6, 6, 16], print_cols=5)
    row = ws.title("审核", 5, "“错误”须修正后方可报送；“警告”须在评分表中说明原因。审核结果随填随算。")
    ws.computed(row, 1, STATUS, font="status")
    ws.merge(row, 1, row, 5)
    for c in range(2, 6):
        ws.put(row, c, None, font=None, align=None)  # the status line's border
    counts = [f"${col_letter(7 + i)}${row}" for i in range(2)]
    ws.conditionals.append(Conditional("status", f"A{row}", errors=counts[0], warnings=counts[1]))
    row += 2
    ws.header_row(row, ("序号", "级别", "审核内容", "审核结果", "说明"))
    ws.header_rows = f"{row}:{row}"
    row += 1
    first = row
    for n, check in enumerate(fw.checks, 1):
        ws.put(row, 1, n, align="center")
        ws.put(row, 2, check.level, align="center")
        ws.put(row, 3, check.message)
        ws.computed(row, 4, check_id(check.id))
        ws.computed(row, 5, detail_id(check.id), align="wrap")
        row += 1
    ws.conditionals.append(Conditional("levels", f"D{first}:D{row - 1}"))
    # the counts the status line is made of live beside it, out of the print area
    for i, key in enumerate((ERRORS, WARNINGS, SUMMARY)):
        ws.computed(3, 7 + i, key, fmt="0")
    return ws
