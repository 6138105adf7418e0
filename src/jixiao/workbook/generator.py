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
from jixiao.framework.model import Field, Framework, Table
from jixiao.measures import ratio_reading
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
    c = _cell(ws, row, col, value, fill=st.INPUT_FILL, fmt=st.NUMBER_FORMATS[f.type],
              align=st.WRAP if f.type == "text" else st.CENTER)
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
    """One DataValidation object per (sheet, rule), so the file stays small."""
    if f.type in ("yesno", "choice"):
        options = ("是", "否") if f.type == "yesno" else f.options
        key = ("list", "|".join(options))
        make = lambda: DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True)  # noqa: E731
    elif f.type in ("count", "year"):
        low, high = (2000, 2100) if f.type == "year" else (0, 1_000_000)
        key = ("whole", f"{low}-{high}")
        make = lambda: DataValidation(type="whole", operator="between", formula1=str(low), formula2=str(high),  # noqa: E731
                                      allow_blank=True)
    elif f.numeric:
        low = 0 if f.minimum is None else f.minimum
        high = 1e12 if f.maximum is None else f.maximum
        key = ("decimal", f"{low:g}-{high:g}")
        make = lambda: DataValidation(type="decimal", operator="between", formula1=f"{low:g}", formula2=f"{high:g}",  # noqa: E731
                                      allow_blank=True)
    else:
        key = ("text", "200")
        make = lambda: DataValidation(type="textLength", operator="lessThanOrEqual", formula1="500", allow_blank=True)  # noqa: E731
    dv = s.validations.get((ws.title,) + key)
    if dv is None:
        dv = make()
        dv.showErrorMessage = True
        dv.errorTitle = "输入有误"
        dv.error = f"此处应填写{f.allowed()}。"
        dv.showInputMessage = True
        dv.promptTitle = "填写要求"
        dv.prompt = f.allowed()[:250]
        ws.add_data_validation(dv)
        s.validations[(ws.title,) + key] = dv
    dv.add(coord)


def _finish_sheet(ws: Worksheet, widths: list[float], landscape: bool = True, header_rows: str | None = None) -> None:
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.protection.sheet = True  # no password: it prevents accidents, not determined edits
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    if header_rows:
        ws.print_title_rows = header_rows


# --------------------------------------------------------------------------- sheets

def _guide(s: _State, wb: Workbook) -> None:
    ws = wb.active
    ws.title = GUIDE_SHEET
    fw = s.fw
    lines = [
        ("本工作簿", f"{fw.title}（版本 {fw.version}）部门整体支出绩效自评表。"),
        ("怎样填写", "只需填写黄色单元格；绿色单元格为自动计算，已锁定。工作表保护未设密码，仅防误改。"),
        ("填写顺序", "基本信息 → 预算与执行 → 采购与经费 → 资产与人员 → 评分要素；评分表、审核随填随算。"),
        ("金额单位", "所有金额均以“万元”填写，保留两位小数；以“元”计的数据（如“三公”经费、固定资产）请除以10000。"),
        # the readings below come from the framework itself, so another framework file gets its own
        ("比率", ratio_reading(fw.ratio_decimals)),
        ("得分", f"每个三级指标得分四舍五入保留{fw.score_decimals}位小数（与 Excel ROUND 相同，逢五进一），"
                 "总得分为各三级指标得分之和。"),
        ("计算项", "比率的分母为0等情况按下列约定计算，并在“扣分情况说明”中注明：\n"
                  + "\n".join(text for m in fw.measures for text in m.readings())),
        *((ind.name, text) for ind in fw.indicators for text in ind.rule.readings()),
        ("审核", "“审核”工作表列出全部校验：“错误”须修正后方可报送；“警告”须在评分表“扣分原因及整改情况说明”中说明。"),
        ("报送前", "可运行 jixiao check 文件名.xlsx 复核：它重新计算全部得分并与本表公式结果比对。"),
    ]
    row = _title(ws, "填表说明", 2)
    for head, body in lines:
        _cell(ws, row, 1, head, font=st.HEADER_FONT, fill=st.HEADER_FILL, align=st.CENTER)
        _cell(ws, row, 2, body, align=st.WRAP)
        ws.row_dimensions[row].height = 15 * (1 + len(body) // 60)
        row += 1
    _finish_sheet(ws, [14, 100], landscape=False)


def _form_sheet(s: _State, wb: Workbook, sheet, data: Mapping[str, Any]) -> None:
    ws = wb.create_sheet(sheet.name)
    width = max([len(t.columns) + 1 for t in sheet.tables if t.is_grid] + [4])
    row = _title(ws, sheet.name, width, "黄色单元格为填写项，绿色单元格自动计算。金额单位见各表标题。")
    for table in sheet.tables:
        row = _grid(s, ws, table, row, data) if table.is_grid else _list(s, ws, table, row, data)
        row += 1
    _finish_sheet(ws, [34] + [18] * (width - 1))


def _table_title(ws: Worksheet, table: Table, row: int, width: int) -> int:
    unit = f"（单位：{table.unit}）" if table.unit else ""
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    _cell(ws, row, 1, f"{table.title}{unit}", font=st.HEADER_FONT, border=False)
    return row + 1


def _list(s: _State, ws: Worksheet, table: Table, row: int, data: Mapping[str, Any]) -> int:
    row = _table_title(ws, table, row, 4)
    _header_row(ws, row, ("项目", "填报值", "单位", "填写要求"))
    row += 1
    for f in table.fields:
        _cell(ws, row, 1, f.label + ("（必填）" if f.required else ""))
        _input(s, ws, row, 2, f, data.get(f.id))
        _cell(ws, row, 3, f.unit, align=st.CENTER)
        _cell(ws, row, 4, f.allowed(), font=st.NOTE_FONT)
        row += 1
    return row


def _grid(s: _State, ws: Worksheet, table: Table, row: int, data: Mapping[str, Any]) -> int:
    row = _table_title(ws, table, row, len(table.columns) + 1)
    _cell(ws, row, 1, "项目", font=st.HEADER_FONT, fill=st.HEADER_FILL, align=st.CENTER)
    for col, c in enumerate(table.columns, 2):
        _cell(ws, row, col, c.label, font=st.HEADER_FONT, fill=st.HEADER_FILL, align=st.CENTER)
    ws.row_dimensions[row].height = 30
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
        row += 1
        for f in ind.inputs:
            _cell(ws, row, 1, f.label)
            _input(s, ws, row, 2, f, data.get(f.id))
            _cell(ws, row, 3, f.unit or ("分" if f.type == "score" else ""), align=st.CENTER)
            _cell(ws, row, 4, f.allowed(), font=st.NOTE_FONT)
            ws.row_dimensions[row].height = 30 if len(f.label) > 30 else 18
            row += 1
    _finish_sheet(ws, [60, 26, 8, 40], landscape=False)


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
    _finish_sheet(ws, [24, 26, 14, 80])


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
        _cell(ws, row + 2, 2 * i + 2, "参考分值", font=st.HEADER_FONT, fill=st.HEADER_FILL, align=st.CENTER)
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
                ws.row_dimensions[row].height = max(45, 13.5 * (1 + len(ind.criteria) // 38))
                row += 1
            for col in (3, 4):
                if row - 1 > l2_start:
                    ws.merge_cells(start_row=l2_start, start_column=col, end_row=row - 1, end_column=col)
        for col in (1, 2):
            if row - 1 > l1_start:
                ws.merge_cells(start_row=l1_start, start_column=col, end_row=row - 1, end_column=col)
    summary = [("总得分", "total", "0.00"), ("评价等级", "grade", None)]
    summary += [(f"其中：{l1.name}（{l1.points:g}分）", f"level1.{l1.name}", "0.00") for l1 in fw.level1]
    summary += [("审核结果", "checks.summary", None)]
    for label, cid, fmt in summary:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=8)
        for c in range(1, 9):
            _cell(ws, row, c, label if c == 1 else None, font=st.HEADER_FONT, align=st.CENTER)
        _computed(s, ws, row, 9, cid, fmt=fmt)
        row += 1
    _finish_sheet(ws, [9, 6, 9, 6, 14, 6, 34, 50, 8, 36, 30], header_rows=header_rows)
    ws.freeze_panes = ws.cell(row=int(header_rows.split(":")[1]) + 1, column=1)


def _check_sheet(s: _State, wb: Workbook) -> None:
    ws = wb.create_sheet(CHECK_SHEET)
    row = _title(ws, "审核", 5, "“错误”须修正后方可报送；“警告”须在评分表中说明原因。审核结果随填随算。")
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
    _cell(ws, row, 1, "审核汇总", font=st.HEADER_FONT, align=st.CENTER)
    _mirror(s, ws, row, 4, "checks.summary")
    row += 2
    _header_row(ws, row, ("序号", "级别", "审核内容", "审核结果", "说明"))
    header = f"{row}:{row}"
    row += 1
    for n, check in enumerate(s.fw.checks, 1):
        _cell(ws, row, 1, n, align=st.CENTER)
        _cell(ws, row, 2, check.level, align=st.CENTER)
        _cell(ws, row, 3, check.message)
        _computed(s, ws, row, 4, check_id(check.id))
        _computed(s, ws, row, 5, detail_id(check.id), align=st.WRAP)
        row += 1
    # the two counts the summary is made of live beside it, out of the print area
    for i, key in enumerate(("checks.errors", "checks.warnings")):
        _computed(s, ws, 3, 7 + i, key, fmt="0")
    _finish_sheet(ws, [6, 8, 50, 10, 60, 2, 6, 6], header_rows=header)
    ws.print_area = f"A1:E{row - 1}"


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
    wb.active = wb.sheetnames.index(SCORE_SHEET if data else framework.form.sheets[0].name)
    wb.calculation.fullCalcOnLoad = True
    return BuiltWorkbook(wb, cached, s.inputs, s.computed, values)
