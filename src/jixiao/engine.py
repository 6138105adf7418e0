"""The scoring engine: inputs → scorecard.

`computed_cells(framework)` is the single list of everything the workbook computes (measures,
table ratios, indicator scores and explanations, subtotals, total, grade, 审核 results), each an
expression with an id.  The engine evaluates that list in Python; the workbook generator writes
the very same list as formulas.  Nothing is computed one way only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jixiao.cell_ids import (  # noqa: F401  (the id helpers are the engine's vocabulary)
    ERRORS, GRADE, STATUS, SUMMARY, TOTAL, WARNINGS, check_id, detail_id, grid_id, level1_id, level2_id, measure_text_id,
    score_id, text_id,
)
from jixiao.checks import ERROR, PASSED, WARNING
from jixiao.expr_codegen import compile_cells, run_closures, run_tree
from jixiao.expr import Expr, choose, clip, concat, if_, lift, ref, round_, sum_
from jixiao.framework.model import Framework
from jixiao.measures import Names


@dataclass(frozen=True)
class Cell:
    id: str
    expr: Expr
    kind: str  # measure | table | score | text | level2 | level1 | total | grade | check | detail | count

    @property
    def run(self) -> Callable[[Mapping[str, Any]], Any]:
        return _compiled(self.expr)


@lru_cache(maxsize=None)
def _compiled(expr: Expr) -> Callable[[Mapping[str, Any]], Any]:
    return expr.compile()


def _names(fw: Framework) -> Names:
    return Names(fw.fields, {m.id: m for m in fw.measures})


@lru_cache(maxsize=16)
def _cells(framework: Framework) -> tuple[Cell, ...]:
    fw = framework
    cells: list[Cell] = []
    for m in fw.measures:
        cells.append(Cell(m.id, m.expr(), "measure"))
        cells.append(Cell(measure_text_id(m.id), m.explain(_names(fw)), "measure_text"))
    for sheet in fw.form.sheets:
        for table in sheet.tables:
            for col in (c for c in table.columns if c.computed):
                for row in table.rows:
                    num = ref(grid_id(row.id, col.computed[0]))
                    den = ref(grid_id(col.den_row or row.id, col.computed[1]))
                    cells.append(Cell(grid_id(row.id, col.id), if_(den.eq(0), "", num / den), "table"))
            for cf in table.computed:
                cells.append(Cell(cf.id, round_(ref(cf.minus[0]) - ref(cf.minus[1]), 2), "table"))
    for ind in fw.indicators:
        cells.append(Cell(score_id(ind.id), round_(clip(ind.rule.score(), 0, ind.points), fw.score_decimals), "score"))
        cells.append(Cell(text_id(ind.id), ind.rule.explain(), "text"))
    for l1 in fw.level1:
        for l2 in l1.children:
            cells.append(Cell(level2_id(l2.name), round_(sum_(*(ref(score_id(i.id)) for i in l2.indicators)),
                                                          fw.score_decimals), "level2"))
        cells.append(Cell(level1_id(l1.name), round_(sum_(*(ref(score_id(i.id)) for l2 in l1.children
                                                             for i in l2.indicators)), fw.score_decimals), "level1"))
    total = round_(sum_(*(ref(score_id(i.id)) for i in fw.indicators)), fw.score_decimals)
    cells.append(Cell(TOTAL, total, "total"))
    grades = fw.grades
    cells.append(Cell(GRADE, choose([(ref(TOTAL) >= g.minimum, g.name) for g in grades[:-1]], grades[-1].name),
                      "grade"))
    for check in fw.checks:
        cells.append(Cell(check_id(check.id), check.result(), "check"))
        cells.append(Cell(detail_id(check.id), if_(ref(check_id(check.id)).eq(PASSED), "", check.shown_detail()),
                          "detail"))
    for level, key in ((ERROR, ERRORS), (WARNING, WARNINGS)):
        count: Expr = lift(0)
        for check in fw.checks:
            count = count + if_(ref(check_id(check.id)).eq(level), 1, 0)
        cells.append(Cell(key, count, "count"))
    cells.append(Cell(SUMMARY, concat("错误", ref(ERRORS), "项，警告", ref(WARNINGS), "项"),
                      "count"))
    # the line an accountant reads before sending the file
    verdict = choose([(ref(ERRORS) > 0, "须修正全部错误后方可报送"),
                      (ref(WARNINGS) > 0, "可以报送（请在评分表中逐项写明警告的原因）")], "可以报送")
    cells.append(Cell(STATUS, concat("错误 ", ref(ERRORS), " 项，警告 ", ref(WARNINGS), " 项：",
                                              verdict), "count"))
    return tuple(cells)


def computed_cells(framework: Framework) -> tuple[Cell, ...]:
    return _cells(framework)


# --------------------------------------------------------------------------- results

@dataclass
class IndicatorScore:
    id: str
    name: str
    level1: str
    level2: str
    points: float
    score: float
    explanation: str
    measures: dict[str, float]


@dataclass
class AuditResult:
    """One 审核 row's outcome (the checker's verdict on a file is `checker.result.CheckResult`)."""

    id: str
    level: str
    message: str
    passed: bool
    detail: str


@dataclass
class Scorecard:
    framework_id: str
    framework_version: str
    indicators: list[IndicatorScore]
    level1: dict[str, float]
    level2: dict[str, float]
    total: float
    grade: str
    checks: list[AuditResult]
    values: dict[str, Any] = field(repr=False, default_factory=dict)  # every input and computed cell

    def indicator(self, iid: str) -> IndicatorScore:
        return next(i for i in self.indicators if i.id == iid)

    @property
    def errors(self) -> list[AuditResult]:
        return [c for c in self.checks if not c.passed and c.level == ERROR]

    @property
    def warnings(self) -> list[AuditResult]:
        return [c for c in self.checks if not c.passed and c.level == WARNING]


@lru_cache(maxsize=16)
def _program(framework: Framework) -> Callable[[dict[str, Any]], None]:
    # never pickled: its bytecode comes from the code cache, found by the framework's identity
    # (else generated from the trees, ~10 ms, and found by its text).  Without a cache
    # (JIXIAO_NO_CACHE, a read-only home), compiling it would cost ~200 ms in every process:
    # the trees' closures instead
    run = compile_cells([(c.id, c.expr) for c in _cells(framework)], required=False,
                        identity=lambda: _identity(framework))
    if run is None:
        closures = [(c.id, c.run) for c in _cells(framework)]
        return lambda values: run_closures(closures, values)
    return run


def _identity(framework: Framework) -> str:
    """What the generated program is a function of (`framework.cache.identity`), with the
    cells' ids as a check that the two agree."""
    from jixiao.framework.cache import identity

    base = identity(framework)
    return "\0".join([base, *(c.id for c in _cells(framework))]) if base else ""


def evaluate(framework: Framework, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Every computed cell's value, in order, on top of the inputs (an Excel error → its code)."""
    values = _doubles(inputs)
    _program(framework)(values)
    return values


def evaluate_tree(framework: Framework, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """`evaluate` by walking each cell's expression tree: the reference the generated code is
    tested against."""
    values = _doubles(inputs)
    run_tree([(c.id, c.expr) for c in _cells(framework)], values)
    return values


def _doubles(inputs: Mapping[str, Any]) -> dict[str, Any]:
    # numbers are doubles, as in a spreadsheet (and the arithmetic fast paths expect floats)
    return {k: float(v) if type(v) is int else v for k, v in inputs.items()}


def score(framework: Framework, inputs: Mapping[str, Any]) -> Scorecard:
    values = evaluate(framework, inputs)
    indicators = [
        IndicatorScore(
            id=ind.id, name=ind.name, level1=ind.level1, level2=ind.level2, points=ind.points,
            score=values[score_id(ind.id)], explanation=values[text_id(ind.id)],
            measures={m.id: values[m.id] for m in ind.measures},
        )
        for ind in framework.indicators
    ]
    checks = [
        AuditResult(c.id, c.level, c.message, values[check_id(c.id)] == PASSED, values[detail_id(c.id)])
        for c in framework.checks
    ]
    return Scorecard(
        framework_id=framework.id, framework_version=framework.version, indicators=indicators,
        level1={l1.name: values[level1_id(l1.name)] for l1 in framework.level1},
        level2={l2.name: values[level2_id(l2.name)] for l1 in framework.level1 for l2 in l1.children},
        total=values[TOTAL], grade=values[GRADE], checks=checks, values=values,
    )
