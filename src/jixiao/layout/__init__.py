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
    """The layout of `framework`'s workbook (built once per framework and process).  A check
    of a workbook whose cells are all where the template put them reads only the layout's
    positions and digest: those come from the cache, and the sheets are built only if
    anything else is asked for."""
    from jixiao.framework import code_cache
    from jixiao.framework.cache import identity

    key = identity(framework)
    known = code_cache.by_identity(key, POSITIONS, tuple) if key else None
    if known is not None and len(known) == 2 and isinstance(known[0], dict) and isinstance(known[1], str):
        return _Deferred(framework, *known)
    layout = _build(framework)
    if key:
        code_cache.keep(key, POSITIONS, (layout.positions, layout.digest))
    return layout


POSITIONS = "<jixiao layout positions>"


def _build(framework: Framework) -> Layout:
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


class _Deferred(Layout):
    """A Layout whose positions and digest are known; everything else (the sheets, the names,
    the places) is built on first use, once."""

    def __init__(self, framework: Framework, positions: dict[str, tuple[str, str]], digest: str):
        # the cached_property slots, filled: Layout.positions / .digest are not computed
        self.__dict__.update(positions=positions, digest=digest, _framework=framework)

    def __getattr__(self, name: str):
        # only reached for what the instance does not hold yet
        if name.startswith("__") or "_built" in self.__dict__ or "_framework" not in self.__dict__:
            raise AttributeError(name)
        built = _build(self.__dict__["_framework"])
        for key, value in vars(built).items():
            self.__dict__.setdefault(key, value)
        self.__dict__["_built"] = True
        return getattr(self, name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layout):
            return NotImplemented
        return (self.framework_id, self.sheets, self.names) == (other.framework_id, other.sheets, other.names)

    __hash__ = None  # type: ignore[assignment]  (as Layout's)


__all__ = ["CHECK_SHEET", "GUIDE_SHEET", "JUDGEMENT_SHEET", "Layout", "MEASURE_SHEET", "META_SHEET", "Place",
           "RESULT_SHEET", "SCORE_SHEET", "SheetLayout", "TEMPLATE_ID", "computed_names", "layout_for"]
