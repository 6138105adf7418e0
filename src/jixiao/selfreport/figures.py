"""The figures of the report as text: every number is a value of the workbook (an input, a
computed cell of the engine, or a `derived` figure of the report definition), shown the way the
workbook shows it (TEXT(x,"0.00%") for a ratio, #,##0.00 for an amount), so the report and the
评分表 cannot disagree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jixiao.cell_ids import grid_id
from jixiao.engine import Scorecard, computed_cells

SCORE_KINDS = frozenset({"score", "level1", "level2", "total"})  # shown as 得分, two decimals
from jixiao.expr import FormulaError
from jixiao.framework.model import Framework
from jixiao.selfreport.definition import PLACEHOLDER, ReportDefinition
from jixiao.textformat import general_text, text_format

BLANK = "—"  # a cell the unit left empty, as the seeds' table 1-6 shows it


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def amount(value: Any) -> str:
    return text_format(value, "#,##0.00") if is_number(value) else BLANK


def pct(value: Any) -> str:
    return text_format(value, "0.00%") if is_number(value) else BLANK


def count(value: Any) -> str:
    return text_format(value, "0") if is_number(value) else BLANK


def score_text(value: Any) -> str:
    """A score as the seeds write it: 5.82, 2, 1.97 (the General format of the rounded score)."""
    return general_text(value) if is_number(value) else BLANK


FORMATTERS = {"amount": amount, "pct": pct, "count": count, "score": score_text,
              "text": lambda v: "" if v is None else str(v)}


@dataclass
class Figures:
    """Every value the report may state, and how each is shown by default."""
    framework: Framework
    values: dict[str, Any]
    ratios: set[str]
    placeholder: str
    scores: frozenset[str] = frozenset()  # indicator scores, their subtotals and the total

    def default_format(self, name: str) -> str:
        field = self.framework.fields.get(name)
        if field is not None:
            return {"amount": "amount", "count": "count", "year": "count", "percent": "pct",
                    "score": "score"}.get(field.type, "text")
        if name in self.ratios:
            return "pct"
        if name in self.scores:
            return "score"
        return "amount" if is_number(self.values.get(name)) else "text"

    def show(self, name: str, fmt: str | None = None) -> str:
        value = self.values.get(name)
        fmt = fmt or self.default_format(name)
        if value is None or value == "":
            # in running text a blank amount reads as the engine reads it: 0
            return FORMATTERS[fmt](0.0) if fmt in ("amount", "count") else (BLANK if fmt != "text" else "")
        return FORMATTERS[fmt](value)

    def fill(self, template: str, extra: Mapping[str, str] | None = None) -> str:
        extra = extra or {}

        def one(match) -> str:
            name, fmt = match.group(1), match.group(2)
            if name in extra:
                return extra[name]
            return self.show(name, fmt or None)

        return PLACEHOLDER.sub(one, template)

    def narrative(self, field_id: str) -> str:
        value = self.values.get(field_id)
        return value.strip() if isinstance(value, str) and value.strip() else self.placeholder


def figures(framework: Framework, card: Scorecard, definition: ReportDefinition) -> Figures:
    """The scorecard's values (inputs and every computed cell) plus the definition's derived ones."""
    values = dict(card.values)
    values.setdefault("framework_title", framework.title)
    for d in definition.derived:
        try:
            values[d.id] = d.expr.compile()(values)
        except FormulaError as exc:
            values[d.id] = exc.code
    ratios = {m.id for m in framework.measures if m.is_ratio}
    ratios |= {grid_id(r.id, c.id) for s in framework.form.sheets for t in s.tables for c in t.columns if c.computed
               for r in t.rows}
    ratios |= {d.id for d in definition.derived if d.is_ratio}
    scores = frozenset(c.id for c in computed_cells(framework) if c.kind in SCORE_KINDS)
    return Figures(framework, values, ratios, definition.placeholder, scores)
