"""What the add-in does to the workbook, each function taking an `xlwings.Book` and nothing else:
the desktop ribbon add-in (xlwings' COM/AppleScript engine) and the server add-in (xlwings'
remote engine behind the Office.js task pane) run the same code.

* `validate` (校验): `check_book` on the live workbook (the same check as `jixiao check`),
  input cells with an error or warning filled red / orange (the marks of the previous 校验 are
  taken back first), a 校验结果 sheet listing every message with a link to its cell, an alert.
* `recompute` (重算核对): every 评分表 score and the total recomputed in Python and compared with
  the workbook's own formula results; differing cells red, agreeing ones back to the computed
  green; an alert naming the differences.
* `finalise` (定稿): the sha256 of the normalised inputs and the time written to the metadata
  sheet (`finalised_digest`, `finalised_at`), so that the bureau can tell whether the data
  changed after the workbook was finalised (`verify_finalisation`).  Refused while the check
  finds errors.
* `validate_and_recompute`: both, with one alert: the desktop ribbon button.

Writing to the template's protected sheets (cell fills, the metadata sheet) needs the sheet
unprotected for a moment: on the desktop through the object model, on the server through
the task pane's `jixiaoUnprotect` / `jixiaoProtect` JavaScript callbacks (addin/taskpane.html),
which re-protect only what they unprotected."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from jixiao.addin.book_view import RESULT_SHEET, LiveBook, book_view, is_remote
from jixiao.xlsx.refs import split_coord
from jixiao.checker.check import check_book
from jixiao.checker.result import ERROR, NOTE, STATUS_TEXT, WARNING, CheckResult
from jixiao.cell_ids import TOTAL, score_id
from jixiao.framework.loader import load_framework
from jixiao.framework.model import Framework
from jixiao.layout.meta_sheet import FINALISED_AT, FINALISED_DIGEST, finalisation_rows, read_finalisation
from jixiao.layout import result_sheet
from jixiao.layout.names import META_SHEET, computed_names
from jixiao.layout.result_sheet import HEADER as RESULT_HEADER, TITLE, stamp as _stamp, where as _where  # noqa: F401
from jixiao.numeric import same_cell_value

ERROR_FILL = "#FFC7CE"     # red: an error in this input / a score that differs
WARNING_FILL = "#F8CBAD"   # orange: a warning on this input
INPUT_FILL = "#FFF2CC"     # the template's input yellow (jixiao.workbook.styles.INPUT_FILL)
COMPUTED_FILL = "#E2EFDA"  # the template's computed green (jixiao.workbook.styles.COMPUTED_FILL)

# Sheets whose template protection allows formatting rows and columns (all but the metadata)
_FORMAT_ROWS_COLUMNS_LOCKED = {META_SHEET}


@dataclass
class Outcome:
    """What an action did, for the caller (tests, the desktop entry point)."""

    result: CheckResult
    alert: str
    marked: dict[tuple[str, str], str]  # (sheet, cell) → fill colour written
    digest: str | None = None


# --------------------------------------------------------------------------- the check

def run_check(book: Any, frameworks: Iterable[Framework] = ()) -> tuple[LiveBook, CheckResult]:
    """The checker's verdict on the live workbook (plus a note on what this engine cannot see)."""
    view = book_view(book)
    result = check_book(view, CheckResult(file=str(book.name)), list(frameworks))
    missing = [w for w, known in (("公式文本", view.formulas_known), ("工作表保护状态", view.protection_known)) if not known]
    if missing:
        result.add(NOTE, "addin_limits",
                   f"此处（服务器加载项 / Excel 网页版）读不到{'和'.join(missing)}：公式被改为与原结果相同的数值、"
                   "公式被改写而结果未变、取消工作表保护等情况，请将工作簿保存后用 jixiao check 核对")
    return view, result


def _framework(result: CheckResult, frameworks: Iterable[Framework] = ()) -> Framework | None:
    if result.framework_id is None:
        return None
    known = list(frameworks) + [load_framework()]
    return next((f for f in known if f.id == result.framework_id and f.version == result.framework_version),
                next((f for f in known if f.id == result.framework_id), None))


def input_digest(inputs: dict[str, Any]) -> str:
    """sha256 of the normalised inputs (`CheckResult.inputs`): field ids sorted, values as
    JSON.  `jixiao check` computes the same from the saved file."""
    text = json.dumps(inputs, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_finalisation(view: LiveBook | Any, result: CheckResult) -> str | None:
    """None if the workbook was never finalised; "unchanged" if its inputs still have the
    finalised digest; "changed" otherwise.  `view` is any WorkbookView (the file reader's too)."""
    recorded = read_finalisation(view).get(FINALISED_DIGEST)
    if recorded is None:
        return None
    return "unchanged" if recorded == input_digest(result.inputs) else "changed"


# --------------------------------------------------------------------------- 校验

def validate(book: Any, frameworks: Iterable[Framework] = ()) -> Outcome:
    """校验: check, mark the input cells, write the 校验结果 sheet, alert."""
    outcome = _validate(book, frameworks)
    book.app.alert(outcome.alert, title=f"{TITLE}：校验")
    return outcome


def _validate(book: Any, frameworks: Iterable[Framework], checked: tuple[LiveBook, CheckResult] | None = None) -> Outcome:
    view, result = checked or run_check(book, frameworks)
    fw = _framework(result, frameworks)
    inputs = {view.defined_names[f] for f in (fw.fields if fw else ()) if f in view.defined_names}
    marks: dict[tuple[str, str], str] = {}
    for m in result.messages:
        if m.level in (ERROR, WARNING) and m.sheet and m.cell and (m.sheet, m.cell) in inputs:
            if marks.get((m.sheet, m.cell)) != ERROR_FILL:
                marks[(m.sheet, m.cell)] = ERROR_FILL if m.level == ERROR else WARNING_FILL
    for where in _previous_marks(book) & inputs - set(marks):
        marks[where] = INPUT_FILL  # fixed since the last 校验: back to the input yellow
    failed = _fill(book, marks)
    _write_results(book, result)
    problems = sum(1 for colour in marks.values() if colour != INPUT_FILL)
    return Outcome(result, _summary(result, problems) + _not_coloured(failed), marks)


def _previous_marks(book: Any) -> set[tuple[str, str]]:
    """The cells listed on the 校验结果 sheet of the previous run."""
    sheet = _sheet(book, RESULT_SHEET)
    if sheet is None:
        return set()
    return result_sheet.listed_cells(_values(book, sheet))


def _values(book: Any, sheet: Any) -> list[list[Any]]:
    rng = sheet.used_range
    if is_remote(book):
        return [list(r) for r in rng.raw_value]  # as sent: no date guessing on text
    return rng.options(ndim=2).value or []


def _write_results(book: Any, result: CheckResult) -> None:
    sheet = _sheet(book, RESULT_SHEET)
    previous_rows = 0
    if sheet is None:
        sheet = book.sheets.add(RESULT_SHEET, after=book.sheets[len(book.sheets) - 1])
    elif is_remote(book):
        # overwrite the previous listing with blanks: the oldest Office.js clients have no
        # "clear sheet" action, and an unknown action would abort the whole reply
        previous_rows = sheet.used_range.last_cell.row
    else:
        sheet.clear()
    rows = [[result_sheet.as_text(v) for v in row] for row in result_sheet.rows(result, _stamp())]
    rows += [[None] * 6 for _ in range(previous_rows - len(rows))]
    sheet["A1"].value = rows
    messages = result_sheet.ordered(result)
    for n, m in enumerate(messages):
        target = result_sheet.link(m)
        if target:
            sheet.range((result_sheet.TABLE_ROW + 1 + n, result_sheet.WHERE_COL)).add_hyperlink(
                target, _where(m), f"跳到 {m.sheet}!{m.cell}")
    sheet.range((result_sheet.TABLE_ROW, 1), (result_sheet.TABLE_ROW + len(messages), 3)).columns.autofit()
    sheet.activate()


def _summary(result: CheckResult, marked: int) -> str:
    counts = {level: sum(1 for m in result.messages if m.level == level) for level in (ERROR, WARNING, NOTE)}
    lines = [f"校验结论：{STATUS_TEXT[result.status]}",
             f"错误 {counts[ERROR]} 项，警告 {counts[WARNING]} 项，提示 {counts[NOTE]} 项"]
    if result.recomputed_total is not None:
        lines.append(f"总得分（重新计算）{result.recomputed_total:.2f}（{result.grade}）")
    for m in [m for m in result.messages if m.level == ERROR][:5]:
        lines.append(f"· {m.text}")
    lines.append(f"全部问题见“{RESULT_SHEET}”工作表（点击“位置”可跳到该单元格）。")
    if marked:
        lines.append(f"有问题的填报单元格（{marked} 个）已标为红色（错误）或橙色（警告）。")
    return "\n".join(lines)


# --------------------------------------------------------------------------- 重算核对

def recompute(book: Any, frameworks: Iterable[Framework] = ()) -> Outcome:
    """重算核对: recompute every score, mark those that differ from the workbook's, alert."""
    outcome = _recompute(book, frameworks)
    book.app.alert(outcome.alert, title=f"{TITLE}：重算核对")
    return outcome


def _recompute(book: Any, frameworks: Iterable[Framework], checked: tuple[LiveBook, CheckResult] | None = None) -> Outcome:
    view, result = checked or run_check(book, frameworks)
    fw = _framework(result, frameworks)
    if fw is None or not result.indicators:
        text = "无法重算核对：" + "；".join(m.text for m in result.errors[:3])
        return Outcome(result, text, {})
    invalid = [m for m in result.messages if m.code == "invalid_value"]
    if invalid:  # as jixiao check does (comparison_skipped): the recomputation reads them as blank
        text = (f"重算核对未进行：{len(invalid)} 项填报无效（如 {_where(invalid[0])}），重新计算会按未填写计算，"
                "与工作簿结果的差异没有意义。请先按“校验”的提示改正，再重算核对。")
        return Outcome(result, text, {})
    names = computed_names(fw)
    marks: dict[tuple[str, str], str] = {}
    lines = []
    differing = 0
    for ind in result.indicators:
        where = view.defined_names.get(names[score_id(ind.id)])
        if where is None:
            continue
        marks[where] = COMPUTED_FILL if ind.agrees else ERROR_FILL
        if not ind.agrees:
            differing += 1
            shown = "（非数值或空）" if ind.workbook_score is None else f"{ind.workbook_score:g}"
            lines.append(f"· {ind.name}（{where[0]}!{where[1]}）：工作簿 {shown}，重新计算 {ind.recomputed_score:g}")
    total_at = view.defined_names.get(names[TOTAL])
    total_agrees = result.workbook_total is not None and same_cell_value(result.workbook_total, result.recomputed_total)
    if total_at is not None:
        marks[total_at] = COMPUTED_FILL if total_agrees else ERROR_FILL
    failed = _fill(book, marks)
    head = (f"重算核对：{len(result.indicators)} 个三级指标得分与 Python 重新计算一致。" if not differing else
            f"重算核对：{len(result.indicators)} 个三级指标中 {differing} 个得分与 Python 重新计算不一致（已标红）：")
    shown_total = "（非数值或空）" if result.workbook_total is None else f"{result.workbook_total:.2f}"
    tail = f"总得分：工作簿 {shown_total}，重新计算 {result.recomputed_total:.2f}（{result.grade}）" + (
        "" if total_agrees else "，不一致（已标红）")
    return Outcome(result, "\n".join([head, *lines, tail]) + _not_coloured(failed), marks)


def validate_and_recompute(book: Any, frameworks: Iterable[Framework] = ()) -> Outcome:
    """The desktop ribbon button: 校验 and 重算核对 with one alert."""
    checked = run_check(book, frameworks)
    first = _validate(book, frameworks, checked)
    again = _recompute(book, frameworks, checked)
    text = first.alert + "\n\n" + again.alert
    book.app.alert(text, title=TITLE)
    return Outcome(first.result, text, {**first.marked, **again.marked})


# --------------------------------------------------------------------------- 定稿

def finalise(book: Any, frameworks: Iterable[Framework] = (), now: _dt.datetime | None = None) -> Outcome:
    """定稿: stamp the inputs' digest and the time in the metadata sheet (not while errors remain)."""
    view, result = run_check(book, frameworks)
    if result.errors or META_SHEET not in view.sheets:
        reason = (f"校验发现 {len(result.errors)} 项错误" if result.errors else f"缺少模板元数据工作表（{META_SHEET}）")
        text = f"未定稿：{reason}。请先“校验”并改正后再定稿。"
        book.app.alert(text, title=f"{TITLE}：定稿")
        return Outcome(result, text, {})
    digest = input_digest(result.inputs)
    stamp = _stamp(now)
    meta = view.sheets[META_SHEET]
    rows = finalisation_rows(meta.cells)
    first = rows.get(FINALISED_DIGEST) or meta.last_row + 2
    sheet = _sheet(book, META_SHEET)
    with _unprotected(book, [META_SHEET]):
        sheet.range((rows.get(FINALISED_DIGEST, first), 1)).value = [[FINALISED_DIGEST, digest]]
        sheet.range((rows.get(FINALISED_AT, first + 1), 1)).value = [[FINALISED_AT, stamp]]
    text = (f"已定稿（{stamp}）。\n填报数据摘要 sha256：{digest[:16]}…（已记入 {META_SHEET} 工作表）。\n"
            f"总得分 {result.recomputed_total:.2f}（{result.grade}）。定稿后修改任何填报数据，主管部门核对时摘要将不一致。")
    book.app.alert(text, title=f"{TITLE}：定稿")
    return Outcome(result, text, {}, digest)


# --------------------------------------------------------------------------- writing

def _sheet(book: Any, name: str) -> Any | None:
    for sheet in book.sheets:
        if sheet.name == name:
            return sheet
    return None


def _fill(book: Any, marks: dict[tuple[str, str], str]) -> int:
    """Colour the cells; the number that could not be coloured (desktop: a sheet protected with
    a password; on the server the client reports such failures itself)."""
    by_sheet: dict[str, list[tuple[str, str]]] = {}
    for (sheet, cell), colour in sorted(marks.items()):
        by_sheet.setdefault(sheet, []).append((cell, colour))
    failed = 0
    for name, cells in by_sheet.items():
        sheet = _sheet(book, name)
        if sheet is None:
            continue
        with _unprotected(book, [name]):
            for cell, colour in cells:
                try:
                    sheet.range(split_coord(cell)).color = colour
                except Exception:  # noqa: BLE001 - Excel refused (protected sheet): say so, go on
                    failed += 1
    return failed


def _not_coloured(failed: int) -> str:
    return f"\n（{failed} 个单元格所在工作表受密码保护，未能标色。）" if failed else ""


@contextmanager
def _unprotected(book: Any, names: list[str]) -> Iterator[None]:
    """Sheets unprotected for the writes inside, protected again after (as before: only the
    sheets that were protected, with the template's options)."""
    if is_remote(book):
        for name in names:
            book.app.macro("jixiaoUnprotect")(name)
        yield
        for name in names:
            book.app.macro("jixiaoProtect")(name, name not in _FORMAT_ROWS_COLUMNS_LOCKED)
        return
    undone = [name for name in names if _desktop_unprotect(_sheet(book, name))]
    try:
        yield
    finally:
        for name in undone:
            _desktop_protect(_sheet(book, name), name not in _FORMAT_ROWS_COLUMNS_LOCKED)


def _desktop_unprotect(sheet: Any) -> bool:
    """Unprotect (the template sets no password); True if the sheet was protected."""
    if sheet is None:
        return False
    api = sheet.api
    if sys.platform.startswith("win"):
        if not api.ProtectContents:
            return False
        try:
            api.Unprotect()
        except Exception:  # noqa: BLE001 - a password the template does not set: leave it protected
            return False
        return True
    try:  # macOS (appscript): not verifiable without Excel for Mac
        if not api.protect_contents.get():
            return False
        api.unprotect()
        return True
    except Exception:  # noqa: BLE001 - leave it; a write may then fail with Excel's own message
        return False


def _desktop_protect(sheet: Any, allow_format_rows_columns: bool) -> None:
    api = sheet.api
    if sys.platform.startswith("win"):
        api.Protect(DrawingObjects=False, Contents=True, Scenarios=False,
                    AllowFormattingColumns=allow_format_rows_columns, AllowFormattingRows=allow_format_rows_columns)
        return
    try:
        api.protect_worksheet(drawing_objects=False, contents=True, scenarios=False,
                              allow_formatting_columns=allow_format_rows_columns,
                              allow_formatting_rows=allow_format_rows_columns)
    except Exception:  # noqa: BLE001 - see _desktop_unprotect
        pass


__all__ = ["Outcome", "finalise", "input_digest", "recompute", "run_check", "validate",
           "validate_and_recompute", "verify_finalisation"]
