"""The workbook's structure, defined once: `layout_for(framework)` places every sheet, field and
computed cell, as data.  The generator renders it (`jixiao.workbook`), the checker, the add-in,
the annotated copy and `jixiao fields` read it; none of them needs openpyxl for that."""

from __future__ import annotations

from functools import lru_cache

from jixiao.cell_ids import GRADE, TOTAL
from jixiao.framework.model import Framework
from jixiao.layout.guide import guide_sheet
from jixiao.layout.meta_sheet import metadata_sheet
from jixiao.layout.model import Layout, Place, SheetLayout
from jixiao.layout.names import (
    CHECK_SHEET, GUIDE_SHEET, JUDGEMENT_SHEET, MEASURE_SHEET, META_SHEET, RESULT_SHEET, SCORE_SHEET, TEMPLATE_ID,
    computed_names,
)
from jixiao.layout.sheets import check_sheet, form_sheet, judgement_sheet, measure_sheet, score_sheet


@lru_cache(maxsize=16)
def layout_for(framework: Framework) -> Layout:
    """The layout of `framework`'s workbook (built once per framework and process)."""
    fw = framework
    sheets = [guide_sheet(fw), *(form_sheet(fw, s) for s in fw.form.sheets), judgement_sheet(fw),
              measure_sheet(fw), score_sheet(fw), check_sheet(fw)]
    layout = Layout(fw.id, sheets)
    # inputs are named by their field id; computed cells by an ASCII name, so that the checker
    # finds every formula after Excel moved it (a row inserted); total and grade plainly too
    layout.names = dict(layout.inputs)
    for cid, name in computed_names(fw).items():
        layout.names[name] = layout.computed[cid]
    for cid in (TOTAL, GRADE):
        layout.names[cid] = layout.computed[cid]
    layout.sheets.append(metadata_sheet(fw, layout))
    return layout


__all__ = ["CHECK_SHEET", "GUIDE_SHEET", "JUDGEMENT_SHEET", "Layout", "MEASURE_SHEET", "META_SHEET", "Place",
           "RESULT_SHEET", "SCORE_SHEET", "SheetLayout", "TEMPLATE_ID", "computed_names", "layout_for"]
