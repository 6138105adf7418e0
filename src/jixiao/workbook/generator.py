"""The workbook: the framework laid out for an accountant, every score a live formula.

Input cells are written with their defined name (= field id), data validation, a yellow fill and
unlocked; computed cells carry the formula of their expression from `engine.computed_cells` and,
as Excel would save it, their cached result evaluated by the engine.  Formulas are written after
the layout is known, so a formula may point at any sheet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from jixiao import __version__
from jixiao.engine import Cell, computed_cells, evaluate, measure_text_id, score_id, text_id, check_id, detail_id
from jixiao.framework import field_types
from jixiao.framework.model import Field, Framework, Table
from jixiao.measures import ratio_reading
from jixiao.workbook import print_layout as pl
from jixiao.workbook import styles as st
from jixiao.workbook.cached_values import save_with_cached_values
from jixiao.workbook.identity import (  # noqa: F401  (re-exported for callers of the generator)
    CHECK_SHEET, GUIDE_SHEET, JUDGEMENT_SHEET, MEASURE_SHEET, META_SHEET, SCORE_SHEET, TEMPLATE_ID, computed_names,
    layout_digest,
)



@dataclass
class Placement:
    sheet: str
    row: int
    col: int

    @property
    def coord(self) -> str:
        return f"{get_column_letter(self.col)}{self.row}"

    @property
    def absolute(self) -> str:
        return f"{quote_sheetname(self.sheet)}!${get_column_letter(self.col)}${self.row}"


@dataclass
class _State:
    fw: Framework
    wb: Workbook
    inputs: dict[str, Placement] = field(default_factory=dict)
    computed: dict[str, Placement] = field(default_factory=dict)
    validations: dict[tuple[str, str], DataValidation] = field(default_factory=dict)
    mirrors: list[tuple[Placement, str]] = field(default_factory=list)
    # printing: sheet → landscape?, and the row ranges (title..last row) that must share a page
    landscape: dict[str, bool] = field(default_factory=dict)
    blocks: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    print_cols: dict[str, int] = field(default_factory=dict)  # where a sheet keeps helpers beyond

    def ref(self, name: str) -> str:
        place = self.inputs.get(name) or self.computed.get(name)
        if place is None:
            raise KeyError(f"no cell for {name!r}")
        return place.absolute


def _cell(ws: Worksheet, row: int, col: int, value: Any = None, *, font=st.BODY_FONT, fill=None,
          align=st.WRAP, border: bool = True, fmt: str | None = None):
    c = ws.cell(row=row, column=col, value=value)
    c.font = font
    c.alignment = align
    if fill is not None:
        c.fill = fill
    if border:
        c.border = st.BORDER
    if fmt:
        c.number_format = fmt
    return c


def _header_row(ws: Worksheet, row: int, heads: tuple[str, ...]) -> None:
    for col, head in enumerate(heads, 1):
        _cell(ws, row, col, head, font=st.HEADER_FONT, fill=st.HEADER_FILL, align=st.CENTER)


def _title(ws: Worksheet, text: str, width: int, note: str = "") -> int:
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    _cell(ws, 1, 1, text, font=st.TITLE_FONT, align=st.CENTER, border=False)
    ws.row_dimensions[1].height = 28
    if note:
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
        _cell(ws, 2, 1, note, font=st.NOTE_FONT, border=False)
    return 3


def _input(s: _State, ws: Worksheet, row: int, col: int, f: Field, value: Any) -> None:
    c = _cell(ws, row, col, value, fill=st.INPUT_FILL, fmt=f.kind.number_format,
              align=st.WRAP if f.type == "text" else st.WRAP_TOP if f.type == "longtext" else st.CENTER)
    if isinstance(value, str) and c.data_type == "f":
        c.data_type = "s"  # a unit's text that begins with "=" is text, never a live formula
    c.protection = st.UNLOCKED
    s.inputs[f.id] = Placement(ws.title, row, col)
    _validate(s, ws, c.coordinate, f)


def _computed(s: _State, ws: Worksheet, row: int, col: int, cell_id: str, fmt: str | None = None,
              align=st.CENTER) -> None:
    _cell(ws, row, col, None, fill=st.COMPUTED_FILL, fmt=fmt, align=align).protection = st.LOCKED
    s.computed[cell_id] = Placement(ws.title, row, col)


def _mirror(s: _State, ws: Worksheet, row: int, col: int, cell_id: str) -> None:
    """A second view of a computed cell (=that cell), e.g. the 审核 summary on two sheets."""
    _cell(ws, row, col, None, fill=st.COMPUTED_FILL, align=st.CENTER).protection = st.LOCKED
    s.mirrors.append((Placement(ws.title, row, col), cell_id))


def _validate(s: _State, ws: Worksheet, coord: str, f: Field) -> None:
    """The field type's validation as a DataValidation: one object per (sheet, rule), so the
    file stays small."""
    v = f.kind.validation(f)
    dv = s.validations.get((ws.title, *v.rule))
    if dv is None:
        dv = DataValidation(type=v.type, operator=v.operator, formula1=v.formula1, formula2=v.formula2,
                            allow_blank=v.allow_blank)
        dv.showErrorMessage = True
        dv.errorTitle = v.error_title
        dv.error = v.error
        dv.showInputMessage = True
        dv.promptTitle = v.prompt_title
        dv.prompt = v.prompt
        ws.add_data_validation(dv)
        s.validations[(ws.title, *v.rule)] = dv
    dv.add(coord)


def _finish_sheet(ws: Worksheet, widths: list[float], landscape: bool = True, header_rows: str | None = None,
                  s: _State | None = None) -> None:
    if s is not None:
        s.landscape[ws.title] = landscape
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.protection.sheet = True  # no password: it prevents accidents, not determined edits
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.print_options.horizontalCentered = True
    pl.set_margins(ws)
    if header_rows:
        ws.print_title_rows = header_rows


# --------------------------------------------------------------------------- sheets

def _guide(s: _State, wb: Workbook) -> None:
    ws = wb.active
    ws.title = GUIDE_SHEET
    fw = s.fw
    form_sheets = [sheet.name for sheet in fw.form.sheets]
    warnings = [c for c in fw.checks if c.level == "警告"]
    # (heading, text) rows; a heading alone is a section title
    steps = [(f"第{i}步", f"填写“{name}”表" + ("（表1-1至表1-5）" if "预算" in name else "") + "。")
             for i, name in enumerate(form_sheets, 1)]
    n = len(steps)
    steps += [
        (f"第{n + 1}步", f"填写“{JUDGEMENT_SHEET}”表：对照每个三级指标的评分标准，逐项选择“是/否”、选择档次或填写数量、得分。"),
        (f"第{n + 2}步", f"查看“{SCORE_SHEET}”：得分和“扣分情况说明”自动生成；有扣分或有警告的指标，在最后一列"
                         "“扣分原因及整改情况说明”中写明原因和整改措施。文字较长、格子显示不全的，选中该行，"
                         "用“开始→格式→自动调整行高”（WPS：“行和列→最适合的行高”）加高，打印时才不会缺字。"),
        (f"第{n + 3}步", f"查看“{CHECK_SHEET}”表第一行的审核结论，按下文“审核”一节处理全部错误和警告。"),
        (f"第{n + 4}步", "保存并报送（见下文“报送”一节）。"),
    ]
    lines: list[tuple[str, str]] = [
        ("这份工作簿", ""),
        ("用途", f"{fw.title}部门整体支出绩效自评表。填入本单位的决算数据和自评判断后，评分表随填随算出各项得分、"
                 "总得分和评价等级，审核表随填随查数据是否前后一致。"),
        ("颜色", "黄色格子：由单位填写。绿色格子：自动计算，已锁定，不能也不必修改。"
                 "工作表保护没有密码，只为防止误改；请不要撤销保护去改绿色格子里的公式。"),
        ("填写顺序", ""),
        *steps,
        ("怎样填写", ""),
        ("金额", "所有金额均以“万元”为单位，保留两位小数。以“元”为单位的数据请除以10000，"
                 "例如“三公”经费12,311元填1.2311，固定资产2,132,611.2元填213.26112。"),
        ("人数、数量", "填写整数。表1-6“土地”“房屋”两行的数量栏填面积（平方米）。"),
        ("是/否、档次", "点击格子，从下拉列表中选择；不要自行输入其他文字。"),
        ("没有的数据", "报告中为“—”或本单位没有的项目，格子留空，不要填“—”“无”等文字。"
                       "留空的金额、人数按0计算；留空的评分要素（是/否、档次）不得分。"
                       "标有“（必填）”的项目以及各表合计行必须填写，留空会在审核表中列为错误。"),
        ("合计", "表1-1至表1-6的合计行照决算报表填写，审核表会逐项核对合计与各分项之和；"
                 "不一致时请检查是哪一项填错。"),
        ("计分规则", "得分按评分表中的“评分标准”计算。" + ratio_reading(fw.ratio_decimals)
                     + f"每个三级指标得分四舍五入保留{fw.score_decimals}位小数，"
                     "总得分为各三级指标得分之和。评分标准没有写明的情形按以下约定计分，并在“扣分情况说明”中注明："),
        *((ind.name, text) for ind in fw.indicators for text in ind.rule.readings()),
        *(("计算约定", text) for m in fw.measures for text in m.readings()),
        ("审核", ""),
        ("审核结论", f"“{CHECK_SHEET}”表第一行是审核结论，例如“错误 0 项，警告 2 项：可以报送”。"
                     "红色表示有错误，黄色表示只有警告，绿色表示全部通过。"),
        ("错误（红色）", "数据相互矛盾或必填项未填，必须改正后才能报送。按“审核内容”和“说明”栏找到填错的格子改正，"
                       "审核结果会立即更新。"),
        ("警告（黄色）", "数据可能有误，也可能有合理原因。先核对数字；确实无误的，不必修改，"
                       f"但须在“{SCORE_SHEET}”相关指标的“扣分原因及整改情况说明”中写明原因。本表的警告有："),
        *(("警告", f"{c.message}：核对两处数字；确有差异的，写明差异的原因。") for c in warnings),
        ("报送", ""),
        ("保存", "以 Excel 工作簿（.xlsx）格式保存，不要另存为 .xls、.et 或 .ods；不要删除、重命名工作表，"
                 "不要插入或删除行列。"),
        ("文件名", "“单位名称＋年度＋部门整体支出绩效自评表.xlsx”，例如“深圳市某某中心2021年度部门整体支出绩效自评表.xlsx”。"),
        ("发送", "审核结论为“可以报送”后，按财政部门通知的方式（电子邮件附件等）发送本文件，不要压缩加密。"
                 f"打印盖章的“{SCORE_SHEET}”为A4横向，每页有页码；打印前请在“{CHECK_SHEET}”表确认没有错误。"),
    ]
    row = _title(ws, "填表说明", 2)
    for head, body in lines:
        if not body:
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
            _cell(ws, row, 1, head, font=st.HEADER_FONT, fill=st.SECTION_FILL)
            _cell(ws, row, 2, None, fill=st.SECTION_FILL)
        else:
            _cell(ws, row, 1, head, font=st.HEADER_FONT, fill=st.HEADER_FILL, align=st.CENTER)
            _cell(ws, row, 2, body, align=st.WRAP)
        row += 1
    _finish_sheet(ws, [14, 90], landscape=False, s=s)


def _form_sheet(s: _State, wb: Workbook, sheet, data: Mapping[str, Any]) -> None:
    ws = wb.create_sheet(sheet.name)
    width = max([len(t.columns) + 1 for t in sheet.tables if t.is_grid] + [4])
    row = _title(ws, sheet.name, width, "黄色单元格为填写项，绿色单元格自动计算。金额单位见各表标题。")
    for table in sheet.tables:
        first = row
        row = _grid(s, ws, table, row, data) if table.is_grid else _list(s, ws, table, row, data)
        s.blocks.setdefault(ws.title, []).append((first, row - 1))
        row += 1
    _finish_sheet(ws, [34] + [18] * (width - 1), landscape=False, s=s)  # narrow tables: portrait saves pages


def _table_title(ws: Worksheet, table: Table, row: int, width: int) -> int:
    unit = f"（单位：{table.unit}）" if table.unit else ""
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    _cell(ws, row, 1, f"{table.title}{unit}", font=st.HEADER_FONT, border=False)
    return row + 1


def _list(s: _State, ws: Worksheet, table: Table, row: int, data: Mapping[str, Any]) -> int:
    row = _table_title(ws, table, row, 4)
    if table.fields and all(f.type == "longtext" for f in table.fields):
        _header_row(ws, row, ("项目", "填写内容（可分段）", None, None))
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=4)
    else:
        _header_row(ws, row, ("项目", "填报值", "单位", "填写要求"))
    row += 1
    for f in table.fields:
        _cell(ws, row, 1, f.label + ("（必填）" if f.required else ""))
        if f.type == "longtext":
            row = _longtext(s, ws, row, f, data.get(f.id))
            continue
        _input(s, ws, row, 2, f, data.get(f.id))
        _cell(ws, row, 3, f.unit, align=st.CENTER)
        _cell(ws, row, 4, f.allowed(), font=st.NOTE_FONT)
        row += 1
    for cf in table.computed:
        _cell(ws, row, 1, cf.label)
        _computed(s, ws, row, 2, cf.id, fmt=field_types.get("amount").number_format)
        _cell(ws, row, 3, cf.unit, align=st.CENTER)
        _cell(ws, row, 4, "自动计算", font=st.NOTE_FONT)
        row += 1
    return row


def _longtext(s: _State, ws: Worksheet, row: int, f: Field, value: Any) -> int:
    """A narrative for the 自评报告: one tall cell across the value, unit and hint columns."""
    ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=4)
    _input(s, ws, row, 2, f, value)
    for col in (3, 4):
        _cell(ws, row, col, None, fill=st.INPUT_FILL)
    lines = sum(1 + len(part) // 27 for part in str(value or "").split("\n"))
    ws.row_dimensions[row].height = min(409, max(90, 14 * lines))
    return row + 1


def _grid(s: _State, ws: Worksheet, table: Table, row: int, data: Mapping[str, Any]) -> int:
    row = _table_title(ws, table, row, len(table.columns) + 1)
    _cell(ws, row, 1, "项目", font=st.HEADER_FONT, fill=st.HEADER_FILL, align=st.CENTER)
    for col, c in enumerate(table.columns, 2):
        _cell(ws, row, col, c.label, font=st.HEADER_FONT, fill=st.HEADER_FILL, align=st.CENTER)
    row += 1
    for r in table.rows:
        _cell(ws, row, 1, r.label)
        for col, c in enumerate(table.columns, 2):
            fid = f"{r.id}_{c.id}"
            if c.computed:
                _computed(s, ws, row, col, fid, fmt="0.00%")
            else:
                _input(s, ws, row, col, s.fw.fields[fid], data.get(fid))
        row += 1
    return row


def _judgement_sheet(s: _State, wb: Workbook, data: Mapping[str, Any]) -> None:
    ws = wb.create_sheet(JUDGEMENT_SHEET)
    row = _title(ws, "评分要素（自评判断）", 4, "按评分标准逐项填写；每项得分由评分表自动计算。")
    _header_row(ws, row, ("评分要素", "填报值", "单位", "填写要求"))
    row += 1
    for ind in s.fw.indicators:
        if not ind.inputs:
            continue
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=4)
        _cell(ws, row, 1, f"{ind.level1} › {ind.level2} › {ind.name}（参考分值{ind.points:g}分）",
              font=st.HEADER_FONT, fill=st.SECTION_FILL)
        first = row
        row += 1
        for f in ind.inputs:
            _cell(ws, row, 1, f.label)
            _input(s, ws, row, 2, f, data.get(f.id))
            _cell(ws, row, 3, f.unit or ("分" if f.type == "score" else ""), align=st.CENTER)
            _cell(ws, row, 4, f.allowed(), font=st.NOTE_FONT)
            row += 1
        s.blocks.setdefault(ws.title, []).append((first, row - 1))
    _finish_sheet(ws, [60, 26, 8, 40], landscape=False, s=s)


def _measure_sheet(s: _State, wb: Workbook) -> None:
    ws = wb.create_sheet(MEASURE_SHEET)
    row = _title(ws, "指标计算（自动）", 4, "评分所用的比率和金额，由填报数据自动计算。")
    _header_row(ws, row, ("三级指标", "计算项", "计算结果", "计算过程"))
    row += 1
    for ind in s.fw.indicators:
        for m in ind.measures:
            _cell(ws, row, 1, ind.name)
            _cell(ws, row, 2, m.label)
            _computed(s, ws, row, 3, m.id, fmt="0.00%" if m.is_ratio else "#,##0.00")
            _computed(s, ws, row, 4, measure_text_id(m.id), align=st.WRAP)
            row += 1
    row += 1
    _header_row(ws, row, ("一级指标", "二级指标", "得分", "参考分值"))
    row += 1
    for l1 in s.fw.level1:
        for l2 in l1.children:
            _cell(ws, row, 1, l1.name)
            _cell(ws, row, 2, l2.name)
            _computed(s, ws, row, 3, f"level2.{l2.name}", fmt="0.00")
            _cell(ws, row, 4, l2.points, align=st.CENTER, fmt="0.##")
            row += 1
    _finish_sheet(ws, [24, 26, 14, 80], s=s)


def _score_sheet(s: _State, wb: Workbook, data: Mapping[str, Any]) -> None:
    fw = s.fw
    ws = wb.create_sheet(SCORE_SHEET)
    width = 11
    row = _title(ws, fw.title, width, "得分与扣分情况说明为自动计算；“扣分原因及整改情况说明”由单位填写。")
    heads = [("评价指标", 1, 6), ("指标说明", 7, 7), ("评分标准", 8, 8), ("得分", 9, 9),
             ("扣分情况说明", 10, 10), ("扣分原因及整改情况说明", 11, 11)]
    for text, c1, c2 in heads:
        if c1 != c2:
            ws.merge_cells(start_row=row, start_column=c1, end_row=row, end_column=c2)
        else:
            ws.merge_cells(start_row=row, start_column=c1, end_row=row + 2, end_column=c1)
        for c in range(c1, c2 + 1):
            _cell(ws, row, c, text if c == c1 else None, font=st.HEADER_FONT, fill=st.HEADER_FILL, align=st.CENTER)
    for i, level in enumerate(("一级指标", "二级指标", "三级指标")):
        ws.merge_cells(start_row=row + 1, start_column=2 * i + 1, end_row=row + 1, end_column=2 * i + 2)
        for j, sub in enumerate((level, None)):
            _cell(ws, row + 1, 2 * i + 1 + j, sub, font=st.HEADER_FONT, fill=st.HEADER_FILL, align=st.CENTER)
        _cell(ws, row + 2, 2 * i + 1, "名称", font=st.HEADER_FONT, fill=st.HEADER_FILL, align=st.CENTER)
        _cell(ws, row + 2, 2 * i + 2, "参考\n分值", font=st.HEADER_FONT, fill=st.HEADER_FILL, align=st.CENTER)
    for c in range(7, 12):
        for r in (row + 1, row + 2):
            _cell(ws, r, c, None, font=st.HEADER_FONT, fill=st.HEADER_FILL)
    header_rows = f"{row}:{row + 2}"
    row += 3
    for l1 in fw.level1:
        l1_start = row
        for l2 in l1.children:
            l2_start = row
            for ind in l2.indicators:
                _cell(ws, row, 1, l1.name, align=st.CENTER)
                _cell(ws, row, 2, l1.points, align=st.CENTER, fmt="0.##")
                _cell(ws, row, 3, l2.name, align=st.CENTER)
                _cell(ws, row, 4, l2.points, align=st.CENTER, fmt="0.##")
                _cell(ws, row, 5, ind.name, align=st.CENTER)
                _cell(ws, row, 6, ind.points, align=st.CENTER, fmt="0.##")
                _cell(ws, row, 7, ind.description, align=st.WRAP_TOP)
                _cell(ws, row, 8, ind.criteria, align=st.WRAP_TOP)
                _computed(s, ws, row, 9, score_id(ind.id), fmt="0.00")
                _computed(s, ws, row, 10, text_id(ind.id), align=st.WRAP_TOP)
                note = fw.fields[f"{ind.id}_note"]
                _input(s, ws, row, 11, note, data.get(note.id))
                row += 1
            for col in (3, 4):
                if row - 1 > l2_start:
                    ws.merge_cells(start_row=l2_start, start_column=col, end_row=row - 1, end_column=col)
        for col in (1, 2):
            if row - 1 > l1_start:
                ws.merge_cells(start_row=l1_start, start_column=col, end_row=row - 1, end_column=col)
    summary = [("总得分", "total", "0.00"), ("评价等级", "grade", None)]
    summary += [(f"其中：{l1.name}（{l1.points:g}分）", f"level1.{l1.name}", "0.00") for l1 in fw.level1]
    summary += [("审核结果", "checks.status", None)]
    for label, cid, fmt in summary:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=8)
        for c in range(1, 9):
            _cell(ws, row, c, label if c == 1 else None, font=st.HEADER_FONT, align=st.CENTER)
        _computed(s, ws, row, 9, cid, fmt=fmt)
        if cid == "checks.status":  # a sentence: it takes the two columns beside the score
            ws.merge_cells(start_row=row, start_column=9, end_row=row, end_column=11)
            st.colour_text(ws, f"I{row}")
        row += 1
    _finish_sheet(ws, [9, 6, 9, 6, 14, 6, 34, 50, 8, 36, 30], header_rows=header_rows, s=s)
    ws.freeze_panes = ws.cell(row=int(header_rows.split(":")[1]) + 1, column=1)


def _check_sheet(s: _State, wb: Workbook) -> None:
    ws = wb.create_sheet(CHECK_SHEET)
    row = _title(ws, "审核", 5, "“错误”须修正后方可报送；“警告”须在评分表中说明原因。审核结果随填随算。")
    _computed(s, ws, row, 1, "checks.status")
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=5)
    status = ws.cell(row=row, column=1)
    status.font = st.STATUS_FONT
    for c in range(2, 6):
        ws.cell(row=row, column=c).border = st.BORDER
    counts = [f"${get_column_letter(7 + i)}${row}" for i in range(2)]
    st.colour_status(ws, status.coordinate, errors=counts[0], warnings=counts[1])
    row += 2
    _header_row(ws, row, ("序号", "级别", "审核内容", "审核结果", "说明"))
    header = f"{row}:{row}"
    row += 1
    first = row
    for n, check in enumerate(s.fw.checks, 1):
        _cell(ws, row, 1, n, align=st.CENTER)
        _cell(ws, row, 2, check.level, align=st.CENTER)
        _cell(ws, row, 3, check.message)
        _computed(s, ws, row, 4, check_id(check.id))
        _computed(s, ws, row, 5, detail_id(check.id), align=st.WRAP)
        row += 1
    st.colour_levels(ws, f"D{first}:D{row - 1}")
    # the two counts the summary is made of live beside it, out of the print area
    for i, key in enumerate(("checks.errors", "checks.warnings", "checks.summary")):
        _computed(s, ws, 3, 7 + i, key, fmt="0")
    _finish_sheet(ws, [6, 8, 50, 10, 60, 2, 6, 6, 16], header_rows=header, s=s)
    s.print_cols[ws.title] = 5


def _meta_sheet(s: _State, wb: Workbook, cached: Mapping[str, Any]) -> None:
    fw = s.fw
    ws = wb.create_sheet(META_SHEET)
    ws.sheet_state = "hidden"
    positions = {i: (p.sheet, p.coord) for i, p in {**s.inputs, **s.computed}.items()}
    rows = [
        ("template_id", TEMPLATE_ID),
        ("framework_id", fw.id),
        ("framework_version", fw.version),
        ("framework_digest", fw.digest),
        ("generator", "jixiao"),
        ("generator_version", __version__),
        ("layout_digest", layout_digest(positions)),
    ]
    for r, (k, v) in enumerate(rows, 1):
        ws.cell(row=r, column=1, value=k)
        ws.cell(row=r, column=2, value=v)
    r = len(rows) + 2
    for col, head in enumerate(("kind", "id", "cell", "label", "type", "unit"), 1):
        ws.cell(row=r, column=col, value=head)
    for fid, p in s.inputs.items():
        f = fw.fields[fid]
        r += 1
        for col, v in enumerate(("input", fid, p.absolute, f.label, f.type, f.unit), 1):
            ws.cell(row=r, column=col, value=v)
    names = computed_names(fw)
    for cid, p in s.computed.items():
        r += 1
        for col, v in enumerate(("computed", cid, p.absolute, names[cid]), 1):
            ws.cell(row=r, column=col, value=v)
    ws.protection.sheet = True


def _print_setup(s: _State, wb: Workbook, cached: Mapping[str, Mapping[str, Any]], data: Mapping[str, Any]) -> None:
    """Last, when every cell's text is known: heights, zoom, page breaks, header and footer."""
    unit, year = data.get(s.fw.form.identity.unit), data.get(s.fw.form.identity.year)
    left = "".join(str(p) for p in (unit or "", f"  {year:g}年度" if isinstance(year, (int, float)) else ""))
    left = left.strip() or s.fw.title
    for title, landscape in s.landscape.items():
        ws = wb[title]
        pl.fit_row_heights(ws, cached.get(title, {}))
        ncols = s.print_cols.get(title, ws.max_column)
        ws.print_area = f"A1:{get_column_letter(ncols)}{ws.max_row}"
        scale = pl.print_scale(ws, ncols, landscape)
        # fit to width (the applications measure column widths differently); the zoom it comes
        # to is estimated to place the page breaks
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        pl.keep_blocks_together(ws, s.blocks.get(title, []), landscape, scale)
        tall = pl.taller_than_page(ws, s.blocks.get(title, []), landscape, scale)
        if tall and not ws.print_title_rows:
            # a table that must flow over pages repeats its title and header row on each
            ws.print_title_rows = f"{tall[0][0]}:{tall[0][0] + 1}"
        # &A is the sheet name; the unit is known only when jixiao fills the workbook
        pl.set_header_footer(ws, left.replace("&", "&&"), "&A")


# --------------------------------------------------------------------------- public API

@dataclass
class BuiltWorkbook:
    workbook: Workbook
    cached: dict[str, dict[str, Any]]  # sheet → coordinate → cached formula result
    inputs: dict[str, Placement]
    computed: dict[str, Placement]
    values: dict[str, Any]

    def save(self, target: str | Path | IO[bytes]) -> None:
        save_with_cached_values(self.workbook, target, self.cached)


def build_workbook(framework: Framework, data: Mapping[str, Any] | None = None) -> BuiltWorkbook:
    """The workbook for `framework`, filled with `data` (field id → value; none for a template)."""
    data = data or {}
    wb = Workbook()
    s = _State(framework, wb)
    _guide(s, wb)
    for sheet in framework.form.sheets:
        _form_sheet(s, wb, sheet, data)
    _judgement_sheet(s, wb, data)
    _measure_sheet(s, wb)
    _score_sheet(s, wb, data)
    _check_sheet(s, wb)

    values = evaluate(framework, data)
    cached: dict[str, dict[str, Any]] = {}
    cells: tuple[Cell, ...] = computed_cells(framework)
    for cell in cells:
        place = s.computed[cell.id]
        ws = wb[place.sheet]
        ws.cell(row=place.row, column=place.col).value = "=" + cell.expr.excel(s.ref)
        cached.setdefault(place.sheet, {})[place.coord] = values[cell.id]
    for place, cell_id in s.mirrors:
        wb[place.sheet].cell(row=place.row, column=place.col).value = "=" + s.ref(cell_id)
        cached.setdefault(place.sheet, {})[place.coord] = values[cell_id]
    for fid, place in s.inputs.items():
        wb.defined_names[fid] = DefinedName(fid, attr_text=place.absolute)
    # Computed cells are named too: after a row is inserted Excel moves the names with the
    # cells, so the checker still finds every formula and can rebuild what it should say.
    for cid, name in computed_names(framework).items():
        wb.defined_names[name] = DefinedName(name, attr_text=s.computed[cid].absolute)
    for name in ("total", "grade"):
        wb.defined_names[name] = DefinedName(name, attr_text=s.computed[name].absolute)
    _meta_sheet(s, wb, cached)
    _print_setup(s, wb, cached, data)
    wb.active = wb.sheetnames.index(SCORE_SHEET if data else framework.form.sheets[0].name)
    wb.calculation.fullCalcOnLoad = True
    return BuiltWorkbook(wb, cached, s.inputs, s.computed, values)
