"""What identifies a jixiao workbook: the template id, the sheet names, and the defined name of
every computed cell (inputs are named by their field id)."""

from __future__ import annotations

from functools import lru_cache

from jixiao.engine import computed_cells
from jixiao.framework.model import Framework

TEMPLATE_ID = "jixiao-self-evaluation"
META_SHEET = "_jixiao"
RESULT_SHEET = "校验结果"  # written by `check --annotate` and the add-in; not part of the template
SCORE_SHEET, CHECK_SHEET, JUDGEMENT_SHEET, MEASURE_SHEET, GUIDE_SHEET = "评分表", "审核", "评分要素", "指标计算", "填表说明"


@lru_cache(maxsize=16)
def computed_names(framework: Framework) -> dict[str, str]:
    """Cell id → the defined name of a computed cell (ASCII: jx_ + id, or jx_<kind><n>)."""
    names: dict[str, str] = {}
    for n, cell in enumerate(computed_cells(framework)):
        ascii_id = cell.id.replace(".", "_")
        names[cell.id] = f"jx_{ascii_id}" if ascii_id.isascii() else f"jx_{cell.kind}{n}"
    return names
