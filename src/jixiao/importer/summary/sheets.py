"""The 汇总表's sheets, one writer each: 汇总, 排名, 指标统计, 图表 (two tables and their bar
charts), 未通过文件, 历史."""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.utils import get_column_letter

from jixiao.checker.result import STATUS_TEXT
from jixiao.importer.summary.cells import CHANGE_FORMAT, SHARE_FORMAT, add_filter, sheet
from jixiao.importer.summary.queries import FULL_EPS, PASSED
from jixiao.importer.summary.ranking import BANDS, band


def year_label(year: int) -> str:
    return f"{year}年"


# --------------------------------------------------------------------------- sheets


def write_overview(wb: Workbook, fw: Any, indicators: list, current: list, scores: dict,
                   by_unit_year: dict) -> int:
    head = ["序号", "单位名称", "年度", "总得分", "等级"]
    tail = ["审核状态", "警告数", "错误数", "较上年变化", "原文件名", "收到时间"]
    widths = [6, 30, 7, 9, 7] + [10] * len(indicators) + [14, 8, 8, 11, 36, 17]
    ws, c = sheet(wb, "汇总", widths, freeze="C3")
    ws.print_title_rows = "1:2"
    ws.row_dimensions[1].height = 66
    ncols = len(widths)

    ws.append(c.headers(head + [i.name for i in indicators] + tail))
    ws.append([c.text("", header=True), c.text("参考分值", header=True), c.text("", header=True),
               c.number(fw.total_points, None, header=True), c.text("", header=True)]
              + [c.number(i.points, None, header=True) for i in indicators]
              + [c.text("", header=True) for _ in tail])
    empty = (None,) * len(indicators)
    for n, r in enumerate(current, 1):
        total = r.recomputed_total
        before = by_unit_year.get((r.unit_name, r.year - 1)) if r.year is not None else None
        change = total - before if total is not None and before is not None else None
        ws.append([n, c.text(r.unit_name), r.year, c.number(total), c.text(r.grade)]
                  + [c.number(v) for v in scores.get(r.id, empty)]
                  + [c.text(STATUS_TEXT.get(r.status, r.status)), r.warnings, r.errors,
                     c.number(change, CHANGE_FORMAT), c.text(r.original_name), c.time(r.received_at)])
    add_filter(ws, 2, ncols, 2 + len(current))
    return len(current)


def write_ranking(wb: Workbook, ranked: list) -> int:
    labels = ["年度", "排名", "单位名称", "总得分", "等级", "审核状态"]
    ws, c = sheet(wb, "排名", [7, 6, 30, 9, 7, 14], freeze="A2", landscape=False)
    ws.print_title_rows = "1:1"
    ws.append(c.headers(labels))
    for year, rank, r in ranked:
        ws.append([year, rank, c.text(r.unit_name), c.number(r.recomputed_total), c.text(r.grade),
                   c.text(STATUS_TEXT.get(r.status, r.status))])
    add_filter(ws, 1, len(labels), 1 + len(ranked))
    return len(ranked)


def write_indicator_stats(wb: Workbook, fw: Any, indicators: list, years: list[int], agg: dict,
                           current: list) -> dict[tuple[int, str], Any]:
    """Returns (year, indicator id) -> its aggregate row, for the charts."""
    labels = ["年度", "一级指标", "二级指标", "指标", "参考分值", "单位数", "平均分", "最低分", "最高分",
              "满分单位占比", "平均失分", "合计失分"]
    ws, c = sheet(wb, "指标统计", [7, 11, 11, 30, 9, 8, 9, 9, 9, 12, 9, 10], freeze="E2")
    ws.print_title_rows = "1:1"
    ws.append(c.headers(labels))
    known = {i.id for i in indicators}
    rows = 0
    for year in years:
        for ind in indicators:
            a = agg.get((year, ind.id))
            if a is None or not a.n:
                ws.append([year, c.text(ind.level1), c.text(ind.level2), c.text(ind.name),
                           c.number(ind.points, None), 0])
            else:
                ws.append([year, c.text(ind.level1), c.text(ind.level2), c.text(ind.name),
                           c.number(ind.points, None), a.n, c.number(a.mean), c.number(a.low), c.number(a.high),
                           c.number(a.full / a.n, SHARE_FORMAT), c.number(a.mean_lost), c.number(a.sum_lost)])
            rows += 1
        # indicators stored under another framework's ids: shown after the framework's own
        for (y, iid), a in sorted(agg.items(), key=lambda kv: kv[0]):
            if y == year and iid not in known and a.n:
                ws.append([year, None, None, c.text(a.name), c.number(a.points, None), a.n, c.number(a.mean),
                           c.number(a.low), c.number(a.high), c.number(a.full / a.n, SHARE_FORMAT),
                           c.number(a.mean_lost), c.number(a.sum_lost)])
                rows += 1
        totals = [r.recomputed_total for r in current
                  if r.year == year and r.status in PASSED and r.recomputed_total is not None]
        if totals:
            n, top = len(totals), fw.total_points
            full = sum(1 for t in totals if t >= top - FULL_EPS)
            mean = sum(totals) / n
            ws.append([year, None, None, c.text("总得分", bold=True), c.number(top, None), n, c.number(mean),
                       c.number(min(totals)), c.number(max(totals)), c.number(full / n, SHARE_FORMAT),
                       c.number(top - mean), c.number(sum(top - t for t in totals))])
            rows += 1
    add_filter(ws, 1, len(labels), 1 + rows)
    return agg


def write_charts(wb: Workbook, years: list[int], ranked: list, agg: dict, indicators: list,
                 decimals: int) -> None:
    ny = len(years)
    ws, c = sheet(wb, "图表", [34] + [10] * max(ny, 1))
    col_of = {y: n for n, y in enumerate(years)}

    # table 1: number of accepted units per score band and year
    counts = [[0] * ny for _ in BANDS]
    for year, _, r in ranked:
        counts[band(r.recomputed_total, decimals)][col_of[year]] += 1
    ws.append([c.text("总得分分布（已通过的当前自评表，单位数）", bold=True)])
    ws.append(c.headers(["分数段"] + [year_label(y) for y in years]))
    for (label, _, _), row in zip(BANDS, counts):
        ws.append([c.text(label)] + row)
    band_head = 2
    band_last = band_head + len(BANDS)

    # table 2: mean points lost per indicator and year
    ws.append([])
    ws.append([c.text("各指标平均失分（已通过的当前自评表）", bold=True)])
    lost_head = band_last + 3
    ws.append(c.headers(["指标"] + [year_label(y) for y in years]))
    for ind in indicators:
        vals = []
        for y in years:
            a = agg.get((y, ind.id))
            vals.append(c.number(a.mean_lost) if a is not None and a.n else None)
        ws.append([c.text(ind.name)] + vals)
    lost_last = lost_head + len(indicators)

    if not years:
        ws.append([])
        ws.append([c.text("暂无已通过的自评表，未生成图表。")])
        return

    anchor = get_column_letter(ny + 3)
    bands = _bar_chart(ws, "col", "总得分分布", "分数段", "单位数", band_head, band_last, ny)
    bands.y_axis.majorGridlines = None
    bands.width, bands.height = 18, 9
    ws.add_chart(bands, f"{anchor}1")

    lost = _bar_chart(ws, "bar", "各指标平均失分", "指标", "平均失分（分）", lost_head, lost_last, ny)
    lost.x_axis.scaling.orientation = "maxMin"  # framework order from the top down
    lost.width, lost.height = 18, max(10, 0.75 * len(indicators) * max(1, ny) ** 0.5)
    ws.add_chart(lost, f"{anchor}20")


def _bar_chart(ws: Any, kind: str, title: str, x_title: str, y_title: str, head: int, last: int,
               series: int) -> BarChart:
    """A clustered bar chart over the table in rows ``head`` (series titles) to ``last``:
    categories in column A, one series per column after it."""
    chart = BarChart()
    chart.type = kind
    chart.grouping = "clustered"
    chart.title = title
    chart.x_axis.title = x_title
    chart.y_axis.title = y_title
    chart.add_data(Reference(ws, min_col=2, max_col=1 + series, min_row=head, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=head + 1, max_row=last))
    # openpyxl >= 3.1 marks axes deleted by default; Excel then draws none
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    return chart


def write_failed(wb: Workbook, failed: list[dict]) -> int:
    labels = ["文件", "来源", "单位名称", "年度", "状态", "收到时间", "原因", "备注"]
    ws, c = sheet(wb, "未通过文件", [30, 36, 24, 7, 13, 17, 70, 16], freeze="B2")
    ws.print_title_rows = "1:1"
    ws.append(c.headers(labels))
    for f in failed:
        ws.append([c.text(f["file"]), c.text(f["source"], wrap=True), c.text(f["unit"]), f["year"],
                   c.text(f["status"]), c.time(f["received"]), c.text(f["reasons"], wrap=True), c.text(f["note"])])
    add_filter(ws, 1, len(labels), 1 + len(failed))
    return len(failed)


def write_history(wb: Workbook, history: list) -> int:
    labels = ["单位名称", "年度", "总得分", "等级", "审核状态", "收到时间", "原文件名", "被替代为", "替代文件收到时间"]
    ws, c = sheet(wb, "历史", [30, 7, 9, 7, 14, 17, 36, 36, 17], freeze="B2")
    ws.print_title_rows = "1:1"
    ws.append(c.headers(labels))
    for h in history:
        ws.append([c.text(h.unit_name), h.year, c.number(h.recomputed_total), c.text(h.grade),
                   c.text(STATUS_TEXT.get(h.status, h.status)), c.time(h.received_at), c.text(h.original_name),
                   c.text(h.by_name), c.time(h.by_received)])
    add_filter(ws, 1, len(labels), 1 + len(history))
    return len(history)
