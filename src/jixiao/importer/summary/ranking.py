"""Ranks and score bands of the 汇总表: totals compared as the workbook shows them, rounded by
Excel's ROUND (`jixiao.numeric.excel_round`) -- Python's `round` works on the binary value and
rounds half to even, so 94.785 would rank below 94.79 although both show as 94.79."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from jixiao.importer.summary.queries import PASSED
from jixiao.numeric import excel_round

# score bands of the distribution chart: (label, lower bound inclusive, upper bound exclusive)
BANDS: tuple[tuple[str, float, float], ...] = (
    ("60分以下", float("-inf"), 60), ("60–70分", 60, 70), ("70–80分", 70, 80),
    ("80–90分", 80, 90), ("90–95分", 90, 95), ("95分及以上", 95, float("inf")),
)


def band(total: float, decimals: int) -> int:
    """The index in `BANDS` of ``total`` rounded to the score's precision."""
    shown = excel_round(total, decimals)
    for n, (_, low, high) in enumerate(BANDS):
        if low <= shown < high:
            return n
    return len(BANDS) - 1


def ranking(current: list[Any], decimals: int) -> list[tuple[int, int, Any]]:
    """(year, rank, row) of the accepted submissions; equal totals (at the score's precision)
    share a rank and the next rank skips: 1, 2, 2, 4."""
    by_year: dict[int, list] = defaultdict(list)
    for r in current:
        if r.status in PASSED and r.recomputed_total is not None and r.year is not None:
            by_year[r.year].append((excel_round(r.recomputed_total, decimals), r))
    out = []
    for year in sorted(by_year):
        keyed = sorted(by_year[year], key=lambda kr: (-kr[0], kr[1].unit_name or "", kr[1].id))
        rank, previous = 0, None
        for n, (key, r) in enumerate(keyed, 1):
            if key != previous:
                rank, previous = n, key
            out.append((year, rank, r))
    return out
