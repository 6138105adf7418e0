"""The workbook: the framework's Layout rendered for an accountant, every score a live formula.

Input cells carry their defined name (= field id), data validation, a yellow fill and are
unlocked; computed cells carry the formula of their expression from `engine.computed_cells`
and, as Excel would save it, their cached result evaluated by the engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook

from jixiao.engine import evaluate
from jixiao.framework.model import Framework
from jixiao.layout import layout_for
from jixiao.layout.model import Place
from jixiao.layout.names import SCORE_SHEET
from jixiao.xlsx.cached_values import save_with_cached_values
from jixiao.workbook.render import render


@dataclass
class BuiltWorkbook:
    workbook: Workbook
    cached: dict[str, dict[str, Any]]  # sheet → coordinate → cached formula result
    inputs: dict[str, Place]
    computed: dict[str, Place]
    values: dict[str, Any]

    def save(self, target: str | Path | IO[bytes]) -> None:
        save_with_cached_values(self.workbook, target, self.cached)


def build_workbook(framework: Framework, data: Mapping[str, Any] | None = None) -> BuiltWorkbook:
    """The workbook for `framework`, filled with `data` (field id → value; none for a template)."""
    data = data or {}
    layout = layout_for(framework)
    values = evaluate(framework, data)
    wb, cached = render(layout, framework, data, values)
    wb.active = wb.sheetnames.index(SCORE_SHEET if data else framework.form.sheets[0].name)
    wb.calculation.fullCalcOnLoad = True
    return BuiltWorkbook(wb, cached, layout.inputs, layout.computed, values)
