"""`jixiao summary`: the 汇总表 workbook, written from the database.

Sheets (all labels in Chinese):

- 汇总: one row per current, readable submission: total, grade, the recomputed score of every
  indicator (second header row: 参考分值), review status, counts, change against the unit's
  current total of the year before, file name and time received;
- 排名: accepted submissions ranked by total within each year (ties share a rank: 1, 2, 2, 4);
- 指标统计: per year and indicator over the current accepted submissions: mean, min, max,
  share at full points, mean and summed points lost;
- 图表: the distribution of totals by band and the mean points lost by indicator, as bar
  charts over tables on the same sheet;
- 未通过文件: every rejected or unreadable submission and every source that yielded no file,
  with the reasons;
- 历史: superseded submissions and the file that replaced each.

Modules: `queries` (the data), `ranking` (ranks and score bands, rounded as Excel rounds),
`cells` (text-only string cells, formats, sheet setup), `sheets` (one writer per sheet).

Scale: the data come from a handful of queries (the indicator scores pivoted and the statistics
aggregated in SQL), and the workbook is written in openpyxl's write-only mode, which still
supports charts, frozen panes, filters and print setup; 10,000 submissions take a few seconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy.engine import Engine

from jixiao.importer.summary import queries, sheets
from jixiao.importer.summary.queries import PASSED
from jixiao.importer.summary.ranking import BANDS, ranking

__all__ = ["BANDS", "SummaryStats", "write_summary"]


@dataclass
class SummaryStats:
    path: Path
    submissions: int = 0  # rows of 汇总
    ranked: int = 0  # rows of 排名
    failed: int = 0  # rows of 未通过文件
    superseded: int = 0  # rows of 历史
    years: list[int] = field(default_factory=list)


def write_summary(engine: Engine, target: Path, framework: Any = None) -> SummaryStats:
    """Write the 汇总表 to `target` (.xlsx) from the database behind `engine`."""
    from jixiao.framework.loader import load_framework

    fw = framework if framework is not None and not isinstance(framework, (str, Path)) else load_framework(framework)
    indicators = list(fw.indicators)
    decimals = getattr(fw, "score_decimals", 2)
    target = Path(target)
    stats = SummaryStats(path=target)

    with engine.connect() as conn:
        current = queries.current_rows(conn)
        scores = queries.pivot_scores(conn, [i.id for i in indicators])
        indicator_stats = queries.indicator_stats(conn)
        failed = queries.failed_rows(conn)
        history = queries.history_rows(conn)

    by_unit_year = {(r.unit_name, r.year): r.recomputed_total for r in current}
    years = sorted({r.year for r in current if r.status in PASSED and r.year is not None})
    stats.years = years

    wb = Workbook(write_only=True)
    stats.submissions = sheets.write_overview(wb, fw, indicators, current, scores, by_unit_year)
    ranked = ranking(current, decimals)
    stats.ranked = sheets.write_ranking(wb, ranked)
    stat_rows = sheets.write_indicator_stats(wb, fw, indicators, years, indicator_stats, current)
    sheets.write_charts(wb, years, ranked, stat_rows, indicators, decimals)
    stats.failed = sheets.write_failed(wb, failed)
    stats.superseded = sheets.write_history(wb, history)

    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return stats
