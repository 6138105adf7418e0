"""A one-indicator framework built from a YAML snippet, for testing one rule kind, measure or
审核 check on its own: the formula text it renders, its value in the engine, and the same value
from the rendered formula evaluated by the `formulas` oracle.

Formula text is the generator's: the kit's framework is built into a workbook, saved, read back,
and each cell address in a formula replaced by the id its defined name gives it, so the
expected strings read like the framework file.  The oracle renders the same trees with the cell
addresses of a one-sheet workbook of its own (inputs in column A, computed cells in column B)
and compiles that with `formulas`: independent of where the generator puts things."""

from __future__ import annotations

import itertools
import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml

from jixiao.engine import Cell, computed_cells, evaluate, score_id, text_id
from jixiao.expr import ErrorValue
from jixiao.framework.loader import load_framework
from jixiao.framework.model import Framework
from jixiao.framework.spec import FrameworkError
from jixiao.numeric import same_number
from jixiao.workbook.generator import build_workbook
from jixiao.layout.names import computed_names


def oracle_module():
    """The module holding the `formulas` oracle (CompiledWorkbook): the one place that knows where."""
    from jixiao.verify import formulas_oracle

    return formulas_oracle


IID = "k"  # the one indicator's id
_FRAMEWORK_FILE = "kit.yaml"
_FORM_FILE = "kit-form.yaml"
_counter = itertools.count()


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _snippet(value: str | dict | list) -> Any:
    return yaml.safe_load(textwrap.dedent(value)) if isinstance(value, str) else value


def write_files(directory: Path, *, rule: str | dict, points: float = 5, fields: str | list = (),
                inputs: str | list = (), measures: str | list = (), checks: str | list = (),
                form_checks: str | list = (), **top: Any) -> Path:
    """A form with one table of `fields` (万元) and a framework with one indicator `k`; 审核
    checks in the framework file (`checks`) or in the form file (`form_checks`)."""
    # every form names the fields that identify a submission (unit and year)
    identity = {"title": "单位", "fields": [{"id": "unit_name", "label": "单位名称", "type": "text"},
                                            {"id": "year", "label": "评价年度", "type": "year"}]}
    form = {"id": "kit-form", "title": "测试表", "identity": {"unit": "unit_name", "year": "year"}, "sheets": [
        {"name": "基础数据", "tables": [{"title": "基础", "unit": "万元", "fields": list(_snippet(fields) or [])}]},
        {"name": "单位", "tables": [identity]}]}  # last: the kinds' own sheets keep their numbers
    if form_checks:
        form["checks"] = _snippet(form_checks)
    indicator: dict[str, Any] = {"id": IID, "name": "测试指标", "points": points, "description": "测试。",
                                 "criteria": "测试。"}
    if inputs:
        indicator["inputs"] = _snippet(inputs)
    if measures:
        indicator["measures"] = _snippet(measures)
    indicator["rule"] = _snippet(rule)
    framework = {"id": "kit", "title": "测试框架", "version": "t", "form": "kit-form", "total_points": points,
                 "grades": [{"name": "合格", "min": 0}], **top,
                 "level1": [{"name": "一级", "points": points, "level2": [
                     {"name": "二级", "points": points, "indicators": [indicator]}]}]}
    if checks:
        framework["checks"] = _snippet(checks)
    directory = directory / f"fw{next(_counter)}"  # each framework its own file (the loader caches)
    directory.mkdir(parents=True)
    (directory / _FORM_FILE).write_text(_dump(form), encoding="utf-8")
    path = directory / _FRAMEWORK_FILE
    path.write_text(_dump(framework), encoding="utf-8")
    return path


def refused(directory: Path, **kw: Any) -> FrameworkError:
    """The validation error of a framework that must not load."""
    with pytest.raises(FrameworkError) as info:
        load_framework(write_files(directory, **kw))
    return info.value


#: where the one indicator's rule is, as validation messages name it
RULE_AT = f"{_FRAMEWORK_FILE}.level1[0].level2[0].indicators[0] 指标 {IID}（测试指标）.rule"


def same_value(a: Any, b: Any) -> bool:
    """Equal as a saved cell: numbers at 15 digits, "" as an empty cell, errors by code."""
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return same_number(float(a), float(b))
    return str(a) == str(b)


class Kit:
    """A loaded one-indicator framework and its formulas oracle (compiled on first use)."""

    def __init__(self, directory: Path, **kw: Any):
        self.dir = directory
        self.fw: Framework = load_framework(write_files(directory, **kw))
        self.cells: dict[str, Cell] = {c.id: c for c in computed_cells(self.fw)}
        self._compiled = None
        self._generated: dict[str, str] | None = None

    @property
    def indicator(self):
        return self.fw.indicators[0]

    @property
    def rule(self):
        return self.indicator.rule

    # formula text as the generator writes it, references by id
    def formula(self, cell_id: str) -> str:
        text = self.generated(cell_id)
        assert text == self.cells[cell_id].expr.excel(lambda name: name)  # the tree, rendered
        return text

    @property
    def score_formula(self) -> str:
        return self.formula(score_id(IID))

    @property
    def text_formula(self) -> str:
        return self.formula(text_id(IID))

    # the engine
    def values(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return evaluate(self.fw, inputs)

    def score(self, inputs: Mapping[str, Any]) -> Any:
        return self.values(inputs)[score_id(IID)]

    def text(self, inputs: Mapping[str, Any]) -> Any:
        return self.values(inputs)[text_id(IID)]

    # the oracle: every input a column-A cell, every computed cell a column-B formula
    def _workbook(self):
        if self._compiled is None:
            inputs = sorted(self.fw.fields)
            self._addr = {fid: ("A", n) for n, fid in enumerate(inputs, 1)}
            self._addr.update({cid: ("B", n) for n, cid in enumerate(self.cells, 1)})
            wb = openpyxl.Workbook()
            ws = wb.active
            ws.title = "K"
            for cid, cell in self.cells.items():
                col, row = self._addr[cid]
                ws[f"{col}{row}"] = "=" + cell.expr.excel(self._absolute)
            path = self.dir / f"oracle{next(_counter)}.xlsx"
            wb.save(path)
            self._compiled = oracle_module().CompiledWorkbook(path)
        return self._compiled

    def _absolute(self, name: str) -> str:
        col, row = self._addr[name]
        return f"K!${col}${row}"

    def oracle(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        cw = self._workbook()
        given = {f"'K'!{self._addr[k][0]}{self._addr[k][1]}": v for k, v in inputs.items()}
        out = cw.calculate(given)
        return {cid: out[f"'K'!B{self._addr[cid][1]}"] for cid in self.cells}

    def generated(self, cell_id: str) -> str:
        """The formula the workbook generator writes for `cell_id`, read back from the saved
        file with every cell address replaced by the id its defined name gives it."""
        if self._generated is None:
            path = self.dir / f"generated{next(_counter)}.xlsx"
            build_workbook(self.fw).save(path)
            wb = openpyxl.load_workbook(path)
            by_name = {name: cid for cid, name in computed_names(self.fw).items()} | {f: f for f in self.fw.fields}
            at = {dn.attr_text: by_name[name] for name, dn in wb.defined_names.items() if name in by_name}
            self._generated = {}
            for ws in wb.worksheets:
                for row in ws.iter_rows():
                    for c in row:
                        if isinstance(c.value, str) and c.value.startswith("="):
                            here = f"'{ws.title}'!${c.column_letter}${c.row}"
                            if here in at:
                                self._generated[at[here]] = _ADDRESS.sub(lambda m: at[m.group(0)], c.value[1:])
        return self._generated[cell_id]

    def agree(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Engine and oracle give the same value for every computed cell; the engine's values."""
        engine, formulas = self.values(inputs), self.oracle(inputs)
        apart = {cid: (engine[cid], formulas[cid]) for cid in self.cells
                 if not same_value(_plain(engine[cid]), formulas[cid])}
        assert not apart, f"engine ≠ formulas for {inputs}: {apart}"
        return engine


_ADDRESS = re.compile(r"'(?:[^']|'')+'!\$[A-Z]+\$[0-9]+")


def _plain(v: Any) -> Any:
    return str(v) if isinstance(v, ErrorValue) else v


def assert_cases(k: Kit, cases: list[tuple[Mapping[str, Any], Any, str]]) -> None:
    """Each (inputs, score, explanation): the engine's values, which the oracle must share."""
    for inputs, score, explanation in cases:
        values = k.agree(inputs)
        got = _plain(values[score_id(IID)]), values[text_id(IID)]
        assert same_value(got[0], score) and got[1] == explanation, f"{inputs}: {got} ≠ {(score, explanation)}"


def typed_number(places: int, high: float) -> Any:
    """A hypothesis strategy: a blank, or a number as a unit types it (at most `places` decimals)."""
    from hypothesis import strategies as st

    return st.one_of(st.none(), st.just(0.0), st.decimals(min_value=0, max_value=high, places=places,
                                                          allow_nan=False, allow_infinity=False).map(float))


def agree_on_random_inputs(k: Kit, inputs: Any, examples: int = 25) -> None:
    """Engine == formulas oracle on `examples` drawn input sets (derandomized: the same in every run)."""
    from hypothesis import given, settings

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None)
    @given(inputs)
    def check(drawn: dict) -> None:
        k.agree({name: v for name, v in drawn.items() if v is not None})

    check()
