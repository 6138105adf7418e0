"""`jixiao check`: read a filled workbook, validate its inputs, recompute every score in Python,
compare with the workbook's own formula results, and check that the template is intact.

One code path for the command line, the add-in and the bulk importer: `check_file` (a path)
and `check_xlsx` (an already opened file) return a `CheckResult`; nothing here prints."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from jixiao import __version__
from jixiao.checker.inputs import read_inputs
from jixiao.checker.result import ACCEPTED, ERROR, NOTE, UNREADABLE, WARNING, CheckResult, IndicatorCheck
from jixiao.xlsx.reader import SHARED, RawWorkbook, WorkbookView, normalise_formula, read_workbook
from jixiao.xlsx.refs import absolute_ref
from jixiao.xlsx.safe import SafeXlsx, UnreadableWorkbook, open_xlsx
from jixiao.names import clip, display_name
from jixiao.numeric import same_cell_value, same_text
from jixiao.cell_ids import GRADE, TOTAL, check_id, detail_id, score_id, text_id
from jixiao.engine import computed_cells, evaluate
from jixiao.framework.loader import load_framework
from jixiao.framework.model import Framework
from jixiao.layout import layout_for
from jixiao.layout import meta_sheet
from jixiao.layout.model import layout_digest
from jixiao.layout.names import GUIDE_SHEET, META_SHEET, RESULT_SHEET, TEMPLATE_ID, computed_names

Position = tuple[str, str]  # (sheet, coordinate)
# Below this share of intact formulas at the template's positions, the layout is not "verifiably
# unchanged" and reading by position would risk reading the wrong cells.
LAYOUT_VERIFIED = 0.9
# Computed cells that only explain (扣分情况说明, 计算过程, 审核 detail): a difference there is
# display (an application rounding a half-way percentage its own way), at most a 警告.
EXPLANATIONS = frozenset({"text", "measure_text", "detail"})


# --------------------------------------------------------------------------- entry points

def check_file(path: str | Path, frameworks: Iterable[Framework] = ()) -> CheckResult:
    shown = display_name(path)  # a GBK file name must not break a UTF-8 terminal or JSON
    result = CheckResult(file=shown)
    try:
        xlsx = open_xlsx(path)
    except UnreadableWorkbook as exc:
        result.add(ERROR, exc.kind, exc.message)
        return result
    return check_xlsx(xlsx, shown, frameworks, result)


def check_xlsx(xlsx: SafeXlsx, name: str, frameworks: Iterable[Framework] = (),
               result: CheckResult | None = None) -> CheckResult:
    result = result or CheckResult(file=name)
    result.sha256 = xlsx.sha256
    try:
        # a DTD in any part, also those only other libraries (--annotate) would parse, refused
        # before any part is parsed: a parser must never see one
        xlsx.refuse_dtd()
        book = read_workbook(xlsx)
    except UnreadableWorkbook as exc:
        result.add(ERROR, exc.kind, exc.message)
        return result
    except Exception as exc:  # noqa: BLE001
        # a zip that passed the safety checks but whose parts are not what Excel writes
        result.add(ERROR, "malformed", f"工作簿结构不完整或已损坏（{type(exc).__name__}: {exc}），请在 Excel 或 WPS 中打开后重新保存")
        return result
    result.status = ACCEPTED  # readable: settle() decides from the messages
    if xlsx.macro_enabled:
        result.add(WARNING, "macro_enabled", "工作簿包含宏（VBA 代码）：宏未被执行，请提交不含宏的 .xlsx 文件")
    for target in xlsx.external_links:
        result.add(WARNING, "external_link", f"工作簿含有外部链接（{target}）：未读取、未跟随，外部数据不计入评分")
    return check_book(book, result, frameworks)


def check_book(book: WorkbookView, result: CheckResult, frameworks: Iterable[Framework] = ()) -> CheckResult:
    """The check proper, on any workbook view: the file reader's `RawWorkbook`, or an adapter
    over a live workbook (the add-in's xlwings Book) offering the same few methods."""
    result.status = ACCEPTED
    try:
        _Check(book, result, list(frameworks)).run()
    except UnreadableWorkbook as exc:  # a part found damaged when it was read
        _refused(result, exc.kind, exc.message)
    except Exception as exc:  # noqa: BLE001 - hostile input must end in a verdict, not a traceback
        _refused(result, "internal_error",
                 f"检查时发生内部错误（{type(exc).__name__}: {clip(str(exc), 200)}），请将此文件反馈给开发者")
    return result.settle()


def _refused(result: CheckResult, kind: str, message: str) -> None:
    """Unreadable after all: nothing read before the damage was found is kept (no unit name,
    no score), only why."""
    file, sha256 = result.file, result.sha256
    result.__init__(file=file, sha256=sha256)  # type: ignore[misc]
    result.status = UNREADABLE
    result.add(ERROR, kind, message)


# --------------------------------------------------------------------------- the check

class _Check:
    def __init__(self, book: RawWorkbook, result: CheckResult, frameworks: list[Framework]):
        self.book, self.result, self.frameworks = book, result, frameworks
        self.status_set = False

    def run(self) -> None:
        meta = meta_sheet.read_head(self.book)
        fw = self._framework(meta)
        if fw is None:
            return
        self.fw = fw
        positions = self._locate(meta)
        if positions is None:
            return
        self.positions = positions
        inputs = self._read_inputs()
        identity = fw.form.identity
        self.blank = not (set(inputs) - set(identity.fields))
        if self.blank:
            # one message, not one per required field
            self.result.messages = [m for m in self.result.messages
                                    if m.code not in ("required", "report_text_missing")]
            self.result.add(ERROR, "blank_template", "这是空白模板：尚未填写任何数据")
        values = evaluate(fw, inputs)
        self.values = values
        self.result.inputs = inputs
        self.result.unit_name = inputs.get(identity.unit)
        self.result.year = inputs.get(identity.year)
        self.result.unit_code = inputs.get(identity.code) if identity.code else None
        if not self.blank:
            self._cross_checks()
        self._plausibility(inputs)
        self._compare()
        self._sheets(meta)

    # --- which framework and template --------------------------------------------------

    def _framework(self, meta: dict[str, Any]) -> Framework | None:
        r = self.result
        if not meta:
            r.add(WARNING, "metadata_missing",
                  f"缺少模板元数据工作表（{META_SHEET}）：可能已被其他软件另存；按内置框架核对版式")
        elif meta.get("template_id") != TEMPLATE_ID:
            r.add(ERROR, "not_jixiao_template", f"不是 jixiao 自评表模板（模板标识为 “{meta.get('template_id')}”）")
            return None
        r.template_id = meta.get("template_id")
        r.generator_version = meta.get("generator_version")
        known = self.frameworks + [load_framework()]
        fw = None
        if meta:
            fw = next((f for f in known if f.digest == meta.get("framework_digest")), None)
            if fw is None:
                same = [f for f in known if f.id == meta.get("framework_id")]
                if not same:
                    r.add(ERROR, "unknown_framework",
                          f"工作簿使用的框架 “{meta.get('framework_id')}”（版本 {meta.get('framework_version')}）未知，"
                          "无法重新计算：请用 --framework 指定该框架文件")
                    return None
                fw = same[0]
                r.add(WARNING, "framework_changed",
                      f"工作簿的框架 {meta.get('framework_id')} 版本 {meta.get('framework_version')} 与已知版本 "
                      f"{fw.version} 内容不同（摘要不一致）：按版本 {fw.version} 重新计算，得分差异见下")
            if meta.get("generator_version") and meta["generator_version"] != __version__:
                r.add(NOTE, "older_template", f"工作簿由 jixiao {meta['generator_version']} 生成（当前 {__version__}），已按其框架读取")
        else:
            fw = known[0]
        r.framework_id, r.framework_version = fw.id, fw.version
        return fw

    # --- where every cell is -----------------------------------------------------------

    def _locate(self, meta: dict[str, Any]) -> dict[str, Position] | None:
        """Every input and computed cell: by defined name; where names are missing, by the
        template's positions, but only if the layout there is verifiably unchanged."""
        fw, book, r = self.fw, self.book, self.result
        named = _named(fw, book.defined_names)
        pos, missing = dict(named.positions), list(named.missing)
        template_layout = layout_for(fw)
        # the usual case costs a dict comparison: the digest of the layout's own positions is
        # computed once per framework, not once per file
        self.unmoved = not missing and (
            meta.get("layout_digest") == template_layout.digest if named.as_template(template_layout)
            else meta.get("layout_digest") == layout_digest(pos))
        if self.unmoved:
            self.sheet_names = named.sheets
            return pos  # the usual case: every cell where the template put it
        template = _metadata_map(book) or layout_for(fw).positions
        if missing:
            share, worst = self._intact_share(template)
            gone = sorted({template[i][0] for i in missing if i in template} - set(book.sheets))
            if gone:
                sheets = "、".join(f"“{g}”" for g in gone)
                r.add(ERROR, "layout_changed",
                      f"工作簿缺少 {len(missing)} 个单元格名称：工作表{sheets}已被删除，无法读取其中的数据："
                      "请在原模板中填报，不要删除工作表", sheet=gone[0])
                return None
            if share < LAYOUT_VERIFIED:
                r.add(ERROR, "layout_changed",
                      f"工作簿缺少 {len(missing)} 个单元格名称，且版式与模板不同（工作表“{worst}”仅 {share:.0%} 的内容位于模板位置），"
                      "无法可靠读取：请在原模板中填报，不要另存为其他格式或删除、移动行列", sheet=worst)
                return None
            for i in missing:
                pos[i] = template[i]
            r.add(WARNING, "names_missing",
                  f"工作簿缺少 {len(missing)} 个单元格名称（可能被其他软件另存）：版式与模板一致（已核实），按模板位置读取")
        moved = sum(1 for i, p in pos.items() if i in template and template[i][1] != p[1])
        if moved and not missing:
            r.add(NOTE, "cells_moved", f"{moved} 个单元格的位置与模板不同（插入或删除了行列）：已按名称读取，不影响评分")
        return pos

    def _intact_share(self, template: dict[str, Position]) -> tuple[float, str]:
        """How much of the template is where the template put it, on the worst sheet:
        formulas (rebuilt for those positions) and the row label beside every input.  Both,
        because a row inserted on an input sheet moves inputs but no formula; per sheet,
        because one shifted sheet among many must not pass on average."""
        refs = _refs(template)
        tally: dict[str, list[int]] = {}

        def count(sheet: str, good: bool) -> None:
            t = tally.setdefault(sheet, [0, 0])
            t[0] += good
            t[1] += 1

        for (sheet, coord), label in layout_for(self.fw).row_labels.items():
            raw = self.book.cell(sheet, coord)
            count(sheet, raw is not None and raw.value == label)
        for cell in computed_cells(self.fw):
            where = template.get(cell.id)
            if where is None:
                continue
            raw = self.book.cell(*where)
            count(where[0], raw is not None and bool(raw.formula)
                  and normalise_formula(raw.formula) == normalise_formula(cell.expr.excel(refs)))
        return min(((ok / n, sheet) for sheet, (ok, n) in tally.items()), default=(0.0, ""))

    # --- inputs ------------------------------------------------------------------------

    def _read_inputs(self) -> dict[str, Any]:
        return read_inputs(self.fw, self.book, self.positions, self.result)

    # --- 审核 and plausibility ---------------------------------------------------------

    def _cross_checks(self) -> None:
        for check in self.fw.checks:
            if check.kind in ("required", "usable_numbers"):
                continue  # reported per field, with its cell, by _read_inputs
            result = self.values[check_id(check.id)]
            if result in (ERROR, WARNING):
                sheet, coord = self.positions[check_id(check.id)]
                detail = self.values.get(detail_id(check.id), "")
                self.result.add(result, "cross_check", f"{check.message}：{detail}", sheet=sheet, cell=coord,
                                field=check.id, label=check.message)

    def _plausibility(self, inputs: dict[str, Any]) -> None:
        """Beyond the framework's checks: amounts that look like 元 in a 万元 field (the form
        declares which amounts are the budget total, and the bounds)."""
        rule = self.fw.form.plausibility
        if rule is None:
            return
        budget = max((inputs.get(k) or 0) for k in rule.budget)
        if not budget:
            return
        for fid, field in _amounts(self.fw):
            value = inputs.get(fid)
            if (isinstance(value, float) and value > rule.times * budget
                    and value >= rule.at_least):
                sheet, coord = self.positions[fid]
                self.result.add(
                    WARNING, "looks_like_yuan",
                    f"{sheet}!{coord}“{field.label}”为 {value:g} 万元，超过部门预算总额 {budget:g} 万元的{rule.times:g}倍："
                    f"是否误以“元”填报？（应为 {value / 10000:g} 万元）",
                    sheet=sheet, cell=coord, field=fid, label=field.label)

    # --- the workbook's own results against the recomputation ----------------------------

    def _compare(self) -> None:
        fw, book, r = self.fw, self.book, self.result
        plan = _comparison_plan(fw, self.positions)
        cached = book.has_cached_values(plan.positions)
        self.invalid = any(m.code in ("invalid_value", "external_input", "not_a_number") for m in r.messages)
        if cached and self.invalid:
            r.add(NOTE, "comparison_skipped", "存在无效输入：修正后再比对工作簿结果与重新计算结果（各指标的重新计算按该项未填写计）")
        if not cached:
            r.add(NOTE, "no_cached_values",
                  "工作簿未保存公式计算结果（由程序写入、未在 Excel/WPS 中打开过）：已按模板公式（编译一次）重新计算")
        values, results = self.values, cached and not self.invalid
        broken: set[str] = set()  # computed cells whose formula is not the template's
        sheets, shown, ws = book.sheets, _NO_SHEET, None
        for cid, kind, sheet, coord, expected, expected_norm in plan.cells:
            if sheet != shown:  # the cells come sheet by sheet
                shown, ws = sheet, sheets.get(sheet)
            raw = ws.cell(coord) if ws else None
            formula = raw.formula if raw is not None else None
            # the usual case first: the formula exactly as the template wrote it, the same result
            if formula != expected:
                if not formula:
                    self._overwritten(raw, cid, sheet, coord, expected)
                    broken.add(cid)
                    continue
                if formula != SHARED and normalise_formula(formula) != expected_norm:
                    r.add(ERROR, "formula_edited",
                          f"{sheet}!{coord} 的公式被修改：应为 ={expected[:80]}，实际为 ={formula[:80]}",
                          sheet=sheet, cell=coord, field=cid)
                    broken.add(cid)
                    continue
            if results:
                found, computed = raw.value, values[cid]
                # equal as they are, or an empty text result (saved as no value): the same
                if (not (type(found) is type(computed) and found == computed)
                        and not (found is None and computed == "") and not same_cell_value(found, computed)):
                    self._mismatch(kind, found, computed, cid, sheet, coord)
        def intact(cid: str) -> bool:
            return cid in plan.ids and cid not in broken

        for ind, sid, tid in plan.indicators:
            raw = book.cell(*self.positions[sid])
            workbook_score = raw.value if raw is not None and isinstance(raw.value, float) else None
            if not cached and intact(sid):
                workbook_score = self.values[sid]  # its formula is the template's: same result
            r.indicators.append(IndicatorCheck(ind.id, ind.name, ind.points, workbook_score, self.values[sid],
                                               self.values[tid]))
        raw_total = book.cell(*self.positions[TOTAL])
        r.workbook_total = raw_total.value if raw_total is not None and isinstance(raw_total.value, float) else (
            self.values[TOTAL] if not cached and intact(TOTAL) else None)
        r.recomputed_total = self.values[TOTAL]
        r.grade = self.values[GRADE]

    def _overwritten(self, raw: Any, cid: str, sheet: str, coord: str, expected: str) -> None:
        shown = "" if raw is None or raw.value is None else f" {raw.value!r}"
        self.result.add(ERROR, "formula_overwritten",
                        f"{sheet}!{coord} 的公式被改为常量{shown}（应为 ={expected[:80]}{'…' if len(expected) > 80 else ''}）",
                        sheet=sheet, cell=coord, field=cid)

    def _mismatch(self, kind: str, found: Any, computed: Any, cid: str, sheet: str, coord: str) -> None:
        r, where = self.result, {"sheet": sheet, "cell": coord, "field": cid}
        if kind in EXPLANATIONS and isinstance(found, str) and isinstance(computed, str):
            if not same_text(found, computed):
                r.add(WARNING, "text_mismatch",
                      f"{sheet}!{coord} 的说明文字与重新计算的不同（得分不受影响）：工作簿为“{found}”，"
                      f"重新计算为“{computed}”", **where)
        elif self.book.calc_mode == "manual":
            r.add(ERROR, "stale_result",
                  f"{sheet}!{coord} 的结果未更新（工作簿设为手动计算）：显示 {found!r}，应为 {computed!r}；"
                  "请在 Excel 中按 F9 重新计算（或设为自动计算）后保存", **where)
        else:
            r.add(ERROR, "result_mismatch", f"{sheet}!{coord} 的结果 {found!r} 与重新计算的 {computed!r} 不一致", **where)

    # --- sheets, protection ------------------------------------------------------------

    def template_sheets(self) -> dict[str, Position]:
        """Template positions, cheaply: from the workbook's own cells when its layout digest
        says nothing moved, else from the metadata map or the built-in template."""
        if self.unmoved:
            return self.positions
        return _metadata_map(self.book) or layout_for(self.fw).positions

    def _sheets(self, meta: dict[str, Any]) -> None:
        """Sheets against the template's: renamed (cells found by name on another sheet),
        deleted, added; and sheet protection."""
        template = self.template_sheets()
        # (unmoved: the template's sheets are those of the cells found, known per set of names)
        expected = (self.sheet_names if self.unmoved else {s for s, _ in template.values()}) | {GUIDE_SHEET}
        present = set(self.book.sheets)
        missing, added = expected - present, present - expected - {META_SHEET, RESULT_SHEET}
        renamed = {template[i][0]: p[0] for i, p in self.positions.items()
                   if i in template and template[i][0] in missing and p[0] in added} if missing and added else {}
        for old, new in sorted(renamed.items()):
            self.result.add(WARNING, "sheet_renamed", f"工作表“{old}”已改名为“{new}”：已按名称读取，请改回原名", sheet=new)
        for name in sorted(missing - set(renamed)):
            level = WARNING if name == GUIDE_SHEET else ERROR
            self.result.add(level, "sheet_missing", f"工作表“{name}”被删除", sheet=name)
        for name in sorted(added - set(renamed.values())):
            self.result.add(WARNING, "sheet_added", f"新增了模板中没有的工作表“{name}”：其内容不参与评分", sheet=name)
        for name in sorted((expected & present) | set(renamed.values())):
            if not self.book.sheets[name].protected:
                self.result.add(WARNING, "protection_removed",
                                f"工作表“{name}”的保护已被取消：请核实公式未被改动（已逐一核对）", sheet=name)


# --------------------------------------------------------------------------- helpers

def _metadata_map(book: RawWorkbook) -> dict[str, Position]:
    return meta_sheet.read_map(book)


@lru_cache(maxsize=64)
def _expected_formulas(fw: Framework, positions: tuple[tuple[str, Position], ...]) -> dict[str, tuple[str, str]]:
    """What each formula should say at these positions, as written and normalised: built once
    per layout (in practice once per template version), not once per file."""
    refs = _refs(dict(positions))
    out = {}
    for cell in computed_cells(fw):
        text = cell.expr.excel(refs)
        out[cell.id] = (text, normalise_formula(text))
    return out


_NO_SHEET = object()


class _Named:
    """Where a workbook's defined names put every cell of a framework, and which cells have
    none: the same for every workbook of one template version, so worked out once per set of
    names (the names are compared, a dict comparison in C), not once per file."""

    __slots__ = ("names", "positions", "missing", "sheets", "_template")

    def __init__(self, fw: Framework, defined_names: dict[str, Position]):
        self.names = dict(defined_names)
        pos: dict[str, Position] = {}
        for fid in fw.fields:
            if fid in defined_names:
                pos[fid] = defined_names[fid]
        cnames = computed_names(fw)
        for cid, name in cnames.items():
            if name in defined_names:
                pos[cid] = defined_names[name]
        self.positions = pos
        self.missing = tuple(i for i in (*fw.fields, *cnames) if i not in pos)
        self.sheets = frozenset(s for s, _ in pos.values())
        self._template: tuple[Any, bool] | None = None

    def as_template(self, layout: Any) -> bool:
        """Whether the cells are where `layout` puts them."""
        if self._template is None or self._template[0] is not layout:
            self._template = (layout, self.positions == layout.positions)
        return self._template[1]


_NAMED: dict[Framework, _Named] = {}


def _named(fw: Framework, defined_names: dict[str, Position]) -> _Named:
    known = _NAMED.get(fw)
    if known is None or known.names != defined_names:
        if len(_NAMED) >= 16:
            _NAMED.clear()
        known = _NAMED[fw] = _Named(fw, defined_names)
    return known


_AMOUNTS: dict[Framework, list[tuple[str, Any]]] = {}


def _amounts(fw: Framework) -> list[tuple[str, Any]]:
    """The amount fields (the plausibility check's), once per framework."""
    known = _AMOUNTS.get(fw)
    if known is None:
        if len(_AMOUNTS) >= 16:
            _AMOUNTS.clear()
        known = _AMOUNTS[fw] = [(fid, f) for fid, f in fw.fields.items() if f.type == "amount"]
    return known


class _Plan:
    """What `_compare` walks for one layout: per computed cell its id, kind, position and the
    formula expected there (as written, and normalised)."""

    __slots__ = ("cells", "positions", "ids", "indicators")

    def __init__(self, fw: Framework, positions: dict[str, Position]):
        expected = _expected_formulas(fw, tuple(sorted(positions.items())))
        cells = computed_cells(fw)
        self.positions = [positions[c.id] for c in cells]
        self.cells = [(c.id, c.kind, *positions[c.id], *expected[c.id]) for c in cells]
        self.ids = frozenset(c.id for c in cells)
        # per indicator: the indicator, its score cell and its 扣分情况说明
        self.indicators = [(ind, score_id(ind.id), text_id(ind.id)) for ind in fw.indicators]


_PLANS: dict[Framework, list[tuple[dict[str, Position], _Plan]]] = {}


def _comparison_plan(fw: Framework, positions: dict[str, Position]) -> _Plan:
    """The plan for these positions, built once per layout: found again by comparing the
    positions (a dict comparison in C) with the few layouts seen, not by sorting and hashing
    them for every file."""
    seen = _PLANS.get(fw)
    if seen is None:
        if len(_PLANS) >= 16:
            _PLANS.clear()
        seen = _PLANS[fw] = []
    for known, plan in seen:
        if known == positions:
            return plan
    plan = _Plan(fw, positions)
    if len(seen) >= 16:
        del seen[0]
    seen.append((dict(positions), plan))
    return plan


def _refs(positions: dict[str, Position]):
    return lambda name: absolute_ref(*positions[name])



__all__ = ["UNREADABLE", "check_book", "check_file", "check_xlsx"]
