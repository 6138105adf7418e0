"""Reading the input cells of a workbook: each value read the way the accountant meant it
(`normalize`), with a message naming the cell for every value the check or the workbook's own
formulas cannot use."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from jixiao.checker.normalize import Invalid, normalise
from jixiao.checker.result import ERROR, NOTE, WARNING, CheckResult
from jixiao.excel_values import text_number
from jixiao.framework.model import Framework
from jixiao.names import clip
from jixiao.textformat import general_text
from jixiao.xlsx.reader import WorkbookView

Position = tuple[str, str]  # (sheet, coordinate)
# a reference into another workbook as Excel stores it ([1]Sheet!A1, '[1]Sheet'!A1) or as typed
# ([book.xlsx]Sheet!A1, 'C:\\dir\\[book.xlsx]Sheet'!A1); outside string literals
_EXTERNAL_REF = re.compile(r"""^(?:[^"]|"[^"]*")*?\[[^\]]+\][^!]*!""")


def read_inputs(fw: Framework, book: WorkbookView, positions: dict[str, Position], r: CheckResult) -> dict[str, Any]:
    """Every input cell's value as the engine takes it, and a message for each cell that is not
    usable as it stands (external link, invalid, text the workbook cannot compute with, missing)."""
    values: dict[str, Any] = {}
    for fid, field in fw.fields.items():
        sheet, coord = positions[fid]
        raw = book.cell(sheet, coord)
        where = {"sheet": sheet, "cell": coord, "field": fid, "label": field.label}
        if raw is not None and raw.formula and _EXTERNAL_REF.search(raw.formula):
            # what the external_link warning promises: external data is not counted
            r.add(ERROR, "external_input",
                  f"{sheet}!{coord}“{field.label}”的值取自外部链接（={clip(raw.formula, 120)}）：外部数据不计入评分，"
                  "按未填写处理；请直接填写数值", **where)
            continue
        if raw is not None and raw.formula:
            r.add(NOTE, "input_formula", f"“{field.label}”填写的是公式（={clip(raw.formula, 120)}），按其计算结果读取", **where)
        found = raw.value if raw is not None else None
        if raw is not None and getattr(raw, "date", False):
            found = _serial_date(found)  # a date typed into the cell: never read as its serial number
        outcome = normalise(field, found)
        if isinstance(outcome, Invalid):
            r.add(ERROR, "invalid_value", f"{sheet}!{coord}“{field.label}”：{outcome.message}",
                  expected=outcome.expected, found=outcome.found, **where)
            continue
        if outcome.note:
            r.add(NOTE, "normalised", f"{sheet}!{coord}“{field.label}”：{outcome.note}", **where)
        if field.numeric and isinstance(found, str) and outcome.value is not None and text_number(found) is None:
            # read here, but the workbook's own formulas cannot compute with it: its 审核
            # sheet says 错误 (usable_numbers) and its scores show #VALUE!; so must we
            r.add(ERROR, "not_a_number",
                  f"{sheet}!{coord}“{field.label}”：填写的是文本“{found.strip()}”，工作簿的公式不能将其作为数值计算"
                  f"（得分显示 #VALUE!，审核表报错误）；请改为只填写数字 {general_text(float(outcome.value))}",
                  **where)
        if outcome.value is None:
            if field.required:
                r.add(ERROR, "required", f"{sheet}!{coord}“{field.label}”为必填项，尚未填写", **where)
            elif field.type == "longtext":
                r.add(WARNING, "report_text_missing",
                      f"{sheet}!{coord}“{field.label}”尚未填写：自评报告中此处将显示“【待填写】”", **where)
            continue
        values[fid] = outcome.value
    return values


def _serial_date(serial: Any) -> Any:
    """Excel's serial day number (1900 date system) as the date or time it shows."""
    try:
        moment = _dt.datetime(1899, 12, 30) + _dt.timedelta(days=float(serial))
    except (OverflowError, ValueError, TypeError):
        return serial
    moment = moment.replace(microsecond=0) if moment.microsecond < 500_000 else moment
    if 0 <= float(serial) < 1:
        return moment.time()
    return moment
