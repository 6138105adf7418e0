"""What identifies a jixiao workbook and its cells, without importing openpyxl (the checker
reads workbooks in milliseconds and must not pay for openpyxl's import)."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from jixiao.engine import computed_cells
from jixiao.framework.model import Framework
from jixiao.xlsx.refs import absolute_ref  # noqa: F401  (re-exported: the layout digest's spelling)

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


def layout_digest(positions: dict[str, tuple[str, str]]) -> str:
    """sha256 of where every input and computed cell is: equal digests, unchanged layout."""
    text = json.dumps({i: absolute_ref(*p) for i, p in positions.items()}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
