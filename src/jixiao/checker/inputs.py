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
from jixiao.framework import field_types
from jixiao.framework.field_types import GENERAL
from jixiao.framework.model import Field, Framework
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
    sheets = book.sheets
    shown, ws = None, None
    for fid, field, quick, numeric, reported in _plan(fw):
        sheet, coord = positions[fid]
        if sheet != shown:  # the fields come sheet by sheet
            shown, ws = sheet, sheets.get(sheet)
        raw = ws.cell(coord) if ws else None
        if raw is None:
            found = None
        else:
            if raw.formula or getattr(raw, "date", False):
                _read_cell(fid, field, numeric, sheet, coord, raw, values, r)
                continue
            found = raw.value
        # the usual cell: a value as typed that needs no note (the field type's shortcut)
        value = quick(found)
        if value is GENERAL:
            _read_value(fid, field, numeric, sheet, coord, found, values, r)
        elif value is None:
            if reported:
                _missing(fid, field, sheet, coord, r)
        else:
            values[fid] = value
    return values


def _plan(fw: Framework) -> list[tuple[str, Field, Any, bool, bool]]:
    """Per input field (in the framework's order): its id, the field, its type's shortcut,
    whether it is numeric and whether leaving it empty is reported (`_missing`); built once
    per framework and registry of field types."""
    known = _PLANS.get(fw)
    if known is not None and known[0] == field_types.generation():
        return known[1]
    if len(_PLANS) >= 16:
        _PLANS.clear()
    plan = [(fid, field, field.kind.lax_shortcut(field), field.numeric, field.required or field.type == "longtext")
            for fid, field in fw.fields.items()]
    _PLANS[fw] = (field_types.generation(), plan)
    return plan


_PLANS: dict[Framework, tuple[int, list[tuple[str, Field, Any, bool, bool]]]] = {}


def _where(fid: str, field: Field, sheet: str, coord: str) -> dict[str, Any]:
    return {"sheet": sheet, "cell": coord, "field": fid, "label": field.label}


def _read_cell(fid: str, field: Field, numeric: bool, sheet: str, coord: str, raw: Any, values: dict[str, Any],
               r: CheckResult) -> None:
    """A cell holding a formula or a date: what it says about them, then its value."""
    if raw.formula and _EXTERNAL_REF.search(raw.formula):
        # what the external_link warning promises: external data is not counted
        r.add(ERROR, "external_input",
              f"{sheet}!{coord}“{field.label}”的值取自外部链接（={clip(raw.formula, 120)}）：外部数据不计入评分，"
              "按未填写处理；请直接填写数值", **_where(fid, field, sheet, coord))
        return
    if raw.formula:
        r.add(NOTE, "input_formula", f"“{field.label}”填写的是公式（={clip(raw.formula, 120)}），按其计算结果读取",
              **_where(fid, field, sheet, coord))
    found = raw.value
    if getattr(raw, "date", False):
        found = _serial_date(found)  # a date typed into the cell: never read as its serial number
    _read_value(fid, field, numeric, sheet, coord, found, values, r)


def _read_value(fid: str, field: Field, numeric: bool, sheet: str, coord: str, found: Any, values: dict[str, Any],
                r: CheckResult) -> None:
    """The general path: the field type's lax reading, and a message for what it changed or
    could not use."""
    where = _where(fid, field, sheet, coord)
    outcome = normalise(field, found)
    if isinstance(outcome, Invalid):
        r.add(ERROR, "invalid_value", f"{sheet}!{coord}“{field.label}”：{outcome.message}",
              expected=outcome.expected, found=outcome.found, **where)
        return
    if outcome.note:
        r.add(NOTE, "normalised", f"{sheet}!{coord}“{field.label}”：{outcome.note}", **where)
    if numeric and isinstance(found, str) and outcome.value is not None and text_number(found) is None:
        # read here, but the workbook's own formulas cannot compute with it: its 审核
        # sheet says 错误 (usable_numbers) and its scores show #VALUE!; so must we
        r.add(ERROR, "not_a_number",
              f"{sheet}!{coord}“{field.label}”：填写的是文本“{found.strip()}”，工作簿的公式不能将其作为数值计算"
              f"（得分显示 #VALUE!，审核表报错误）；请改为只填写数字 {general_text(float(outcome.value))}",
              **where)
    if outcome.value is None:
        _missing(fid, field, sheet, coord, r)
        return
    values[fid] = outcome.value


def _missing(fid: str, field: Field, sheet: str, coord: str, r: CheckResult) -> None:
    if field.required:
        r.add(ERROR, "required", f"{sheet}!{coord}“{field.label}”为必填项，尚未填写", **_where(fid, field, sheet, coord))
    elif field.type == "longtext":
        r.add(WARNING, "report_text_missing",
              f"{sheet}!{coord}“{field.label}”尚未填写：自评报告中此处将显示“【待填写】”", **_where(fid, field, sheet, coord))


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
