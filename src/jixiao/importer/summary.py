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

Every string (unit names, file names, sources, message texts: all of them are supplied by the
units) is stored as a literal text cell: a name like ``=HYPERLINK(...)`` or ``+1-2`` is never a
formula, and one starting with = + - @ also gets Excel's quote prefix, so it stays text when a
user edits the cell or exports the sheet to CSV.

Scale: the data come from a handful of queries (the indicator scores pivoted and the statistics
aggregated in SQL), and the workbook is written in openpyxl's write-only mode, which still
supports charts, frozen panes, filters and print setup; 10,000 submissions take a few seconds."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from jixiao.checker.result import ACCEPTED, ERROR, REJECTED, STATUS_TEXT, UNREADABLE, WARNED
from jixiao.importer.db import IndicatorScore, Message, Receipt, Submission

PROBLEM_STATUS = "无法取得文件"  # a receipt whose source yielded no file
PASSED = (ACCEPTED, WARNED)

# score bands of the distribution chart: (label, lower bound inclusive, upper bound exclusive)
BANDS: tuple[tuple[str, float, float], ...] = (
    ("60分以下", float("-inf"), 60), ("60–70分", 60, 70), ("70–80分", 70, 80),
    ("80–90分", 80, 90), ("90–95分", 90, 95), ("95分及以上", 95, float("inf")),
)
# times stored with a zone are shown in the bureau's (China Standard Time); naive ones as stored
DISPLAY_TZ = timezone(timedelta(hours=8))
_FULL_EPS = 1e-6

SCORE_FORMAT = "0.00"
CHANGE_FORMAT = "+0.00;-0.00;0.00"
SHARE_FORMAT = "0.0%"
TIME_FORMAT = "yyyy-mm-dd hh:mm"

_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")  # characters XML 1.0 cannot carry
_RISKY_START = ("=", "+", "-", "@", "\t", "\r", "\n")  # what spreadsheets read as a formula
_MAX_CELL = 32767


@dataclass
class SummaryStats:
    path: Path
    submissions: int = 0  # rows of 汇总
    ranked: int = 0  # rows of 排名
    failed: int = 0  # rows of 未通过文件
    superseded: int = 0  # rows of 历史
    years: list[int] = field(default_factory=list)


# --------------------------------------------------------------------------- cells

_THIN = Side(style="thin", color="BFBFBF")
_HEAD_FONT, _BOLD = Font(bold=True), Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_HEAD_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_HEAD_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")


class _Cells:
    """Cell factories for one write-only worksheet: strings always text."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    def text(self, value: Any, *, bold: bool = False, wrap: bool = False, header: bool = False) -> WriteOnlyCell | None:
        if value is None:
            return None
        text = _ILLEGAL.sub("\ufffd", str(value))[:_MAX_CELL]
        cell = WriteOnlyCell(self.ws, value=text)
        cell.data_type = "s"  # never a formula ("=…") nor an error value ("#N/A")
        if text.startswith(_RISKY_START):
            cell.quotePrefix = True
        if header:
            self._header(cell)
        else:
            if bold:
                cell.font = _BOLD
            if wrap:
                cell.alignment = _WRAP
        return cell

    def number(self, value: float | int | None, fmt: str | None = SCORE_FORMAT, *,
               header: bool = False) -> WriteOnlyCell | None:
        if value is None:
            return None
        cell = WriteOnlyCell(self.ws, value=value)
        if fmt:
            cell.number_format = fmt
        if header:
            self._header(cell)
        return cell

    def time(self, value: datetime | None) -> WriteOnlyCell | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)  # the importer stores UTC; SQLite drops the zone
        value = value.astimezone(DISPLAY_TZ).replace(tzinfo=None)
        cell = WriteOnlyCell(self.ws, value=value)
        cell.number_format = TIME_FORMAT
        return cell

    def _header(self, cell: WriteOnlyCell) -> None:
        cell.font = _HEAD_FONT
        cell.fill = _HEAD_FILL
        cell.alignment = _HEAD_ALIGN
        cell.border = _HEAD_BORDER

    def headers(self, labels: list[str]) -> list[WriteOnlyCell | None]:
        return [self.text(label, header=True) for label in labels]


def _sheet(wb: Workbook, title: str, widths: list[float], *, freeze: str | None = None,
           landscape: bool = True) -> tuple[Any, _Cells]:
    ws = wb.create_sheet(title)
    for n, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(n)].width = width
    if freeze:
        ws.freeze_panes = freeze
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    return ws, _Cells(ws)


def _filter(ws: Any, first_row: int, ncols: int, last_row: int) -> None:
    ws.auto_filter.ref = f"A{first_row}:{get_column_letter(ncols)}{max(last_row, first_row)}"


def _band(total: float) -> int:
    for n, (_, low, high) in enumerate(BANDS):
        if low <= total < high:
            return n
    return len(BANDS) - 1


def _year_label(year: int) -> str:
    return f"{year}年"


def _where(sheet: str | None, cell: str | None) -> str:
    return f"{sheet}!{cell}" if sheet and cell else (sheet or "")


# --------------------------------------------------------------------------- the workbook

def write_summary(engine: Engine, target: Path, framework: Any = None) -> SummaryStats:
    """Write the 汇总表 to `target` (.xlsx) from the database behind `engine`."""
    from jixiao.framework.loader import load_framework

    fw = framework if framework is not None and not isinstance(framework, (str, Path)) else load_framework(framework)
    indicators = list(fw.indicators)
    decimals = getattr(fw, "score_decimals", 2)
    target = Path(target)
    stats = SummaryStats(path=target)

    with engine.connect() as conn:
        current = conn.execute(
            select(Submission.id, Submission.unit_name, Submission.year, Submission.recomputed_total,
                   Submission.grade, Submission.status, Submission.warnings, Submission.errors,
                   Submission.original_name, Submission.received_at)
            .where(Submission.is_current.is_(True), Submission.status != UNREADABLE)
            .order_by(Submission.year, Submission.unit_name, Submission.id)
        ).all()
        scores = _pivot_scores(conn, [i.id for i in indicators])
        indicator_stats = _indicator_stats(conn)
        failed = _failed(conn)
        history = _history(conn)

    by_unit_year = {(r.unit_name, r.year): r.recomputed_total for r in current}
    years = sorted({r.year for r in current if r.status in PASSED and r.year is not None})
    stats.years = years

    wb = Workbook(write_only=True)
    stats.submissions = _write_overview(wb, fw, indicators, current, scores, by_unit_year)
    ranked = _ranking(current, decimals)
    stats.ranked = _write_ranking(wb, ranked)
    stat_rows = _write_indicator_stats(wb, fw, indicators, years, indicator_stats, current)
    _write_charts(wb, years, ranked, stat_rows, indicators, decimals)
    stats.failed = _write_failed(wb, failed)
    stats.superseded = _write_history(wb, history)

    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return stats


# --------------------------------------------------------------------------- queries

def _pivot_scores(conn: Any, ids: list[str]) -> dict[int, tuple]:
    """submission id -> the recomputed score of each framework indicator, in framework order."""
    if not ids:
        return {}
    cols = [func.max(case((IndicatorScore.indicator_id == iid, IndicatorScore.recomputed_score))) for iid in ids]
    rows = conn.execute(
        select(IndicatorScore.submission_id, *cols)
        .join(Submission, Submission.id == IndicatorScore.submission_id)
        .where(Submission.is_current.is_(True), Submission.status != UNREADABLE)
        .group_by(IndicatorScore.submission_id)
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def _indicator_stats(conn: Any) -> dict[tuple[int, str], Any]:
    """(year, indicator id) -> n, mean, min, max, share at full points, mean lost, summed lost."""
    score, points = IndicatorScore.recomputed_score, IndicatorScore.points
    full = func.sum(case((score >= points - _FULL_EPS, 1), else_=0))
    rows = conn.execute(
        select(Submission.year, IndicatorScore.indicator_id, func.max(IndicatorScore.name).label("name"),
               func.max(points).label("points"), func.count().label("n"), func.avg(score).label("mean"),
               func.min(score).label("low"), func.max(score).label("high"), full.label("full"),
               func.avg(points - score).label("mean_lost"), func.sum(points - score).label("sum_lost"))
        .join(Submission, Submission.id == IndicatorScore.submission_id)
        .where(Submission.is_current.is_(True), Submission.status.in_(PASSED), Submission.year.is_not(None))
        .group_by(Submission.year, IndicatorScore.indicator_id)
    )
    return {(r.year, r.indicator_id): r for r in rows}


def _failed(conn: Any) -> list[dict]:
    subs = conn.execute(
        select(Submission.id, Submission.original_name, Submission.unit_name, Submission.year, Submission.status,
               Submission.received_at, Submission.superseded_by)
        .where(Submission.status.in_((REJECTED, UNREADABLE)))
        .order_by(Submission.received_at, Submission.id)
    ).all()
    failing = and_(Submission.id == Receipt.submission_id, Submission.status.in_((REJECTED, UNREADABLE)))
    sources: dict[int, list[str]] = defaultdict(list)
    for sid, source in conn.execute(select(Receipt.submission_id, Receipt.source).join(Submission, failing)
                                    .order_by(Receipt.id)):
        if source not in sources[sid]:
            sources[sid].append(source)
    reasons: dict[int, list[str]] = defaultdict(list)
    for sid, text, sheet, cell in conn.execute(
            select(Message.submission_id, Message.text, Message.sheet, Message.cell)
            .join(Submission, and_(Submission.id == Message.submission_id,
                                   Submission.status.in_((REJECTED, UNREADABLE))))
            .where(Message.level == ERROR).order_by(Message.submission_id, Message.seq)):
        where = _where(sheet, cell)
        reasons[sid].append(f"{where}：{text}" if where else text)
    out = [{"file": s.original_name, "source": "\n".join(sources.get(s.id, [])), "unit": s.unit_name,
            "year": s.year, "status": STATUS_TEXT.get(s.status, s.status), "received": s.received_at,
            "reasons": "\n".join(reasons.get(s.id, [])),
            "note": "已被后来的文件替代" if s.superseded_by is not None else None}
           for s in subs]
    for r in conn.execute(select(Receipt.original_name, Receipt.source, Receipt.received_at, Receipt.problem)
                          .where(Receipt.problem.is_not(None)).order_by(Receipt.id)):
        out.append({"file": r.original_name, "source": r.source, "unit": None, "year": None,
                    "status": PROBLEM_STATUS, "received": r.received_at, "reasons": r.problem, "note": None})
    return out


def _history(conn: Any) -> list[Any]:
    newer = aliased(Submission)
    return conn.execute(
        select(Submission.unit_name, Submission.year, Submission.recomputed_total, Submission.grade,
               Submission.status, Submission.received_at, Submission.original_name,
               newer.original_name.label("by_name"), newer.received_at.label("by_received"))
        .join(newer, newer.id == Submission.superseded_by)
        .where(Submission.superseded_by.is_not(None))
        .order_by(Submission.unit_name, Submission.year, Submission.received_at, Submission.id)
    ).all()


def _ranking(current: list[Any], decimals: int) -> list[tuple[int, int, Any]]:
    """(year, rank, row) of the accepted submissions; equal totals (at the score's precision)
    share a rank and the next rank skips: 1, 2, 2, 4."""
    by_year: dict[int, list] = defaultdict(list)
    for r in current:
        if r.status in PASSED and r.recomputed_total is not None and r.year is not None:
            by_year[r.year].append(r)
    out = []
    for year in sorted(by_year):
        rows = sorted(by_year[year], key=lambda r: (-round(r.recomputed_total, decimals), r.unit_name or "", r.id))
        rank, previous = 0, None
        for n, r in enumerate(rows, 1):
            key = round(r.recomputed_total, decimals)
            if key != previous:
                rank, previous = n, key
            out.append((year, rank, r))
    return out


# --------------------------------------------------------------------------- sheets

def _write_overview(wb: Workbook, fw: Any, indicators: list, current: list, scores: dict,
                    by_unit_year: dict) -> int:
    head = ["序号", "单位名称", "年度", "总得分", "等级"]
    tail = ["审核状态", "警告数", "错误数", "较上年变化", "原文件名", "收到时间"]
    widths = [6, 30, 7, 9, 7] + [10] * len(indicators) + [14, 8, 8, 11, 36, 17]
    ws, c = _sheet(wb, "汇总", widths, freeze="C3")
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
    _filter(ws, 2, ncols, 2 + len(current))
    return len(current)


def _write_ranking(wb: Workbook, ranked: list) -> int:
    labels = ["年度", "排名", "单位名称", "总得分", "等级", "审核状态"]
    ws, c = _sheet(wb, "排名", [7, 6, 30, 9, 7, 14], freeze="A2", landscape=False)
    ws.print_title_rows = "1:1"
    ws.append(c.headers(labels))
    for year, rank, r in ranked:
        ws.append([year, rank, c.text(r.unit_name), c.number(r.recomputed_total), c.text(r.grade),
                   c.text(STATUS_TEXT.get(r.status, r.status))])
    _filter(ws, 1, len(labels), 1 + len(ranked))
    return len(ranked)


def _write_indicator_stats(wb: Workbook, fw: Any, indicators: list, years: list[int], agg: dict,
                           current: list) -> dict[tuple[int, str], Any]:
    """Returns (year, indicator id) -> its aggregate row, for the charts."""
    labels = ["年度", "一级指标", "二级指标", "指标", "参考分值", "单位数", "平均分", "最低分", "最高分",
              "满分单位占比", "平均失分", "合计失分"]
    ws, c = _sheet(wb, "指标统计", [7, 11, 11, 30, 9, 8, 9, 9, 9, 12, 9, 10], freeze="E2")
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
            full = sum(1 for t in totals if t >= top - _FULL_EPS)
            mean = sum(totals) / n
            ws.append([year, None, None, c.text("总得分", bold=True), c.number(top, None), n, c.number(mean),
                       c.number(min(totals)), c.number(max(totals)), c.number(full / n, SHARE_FORMAT),
                       c.number(top - mean), c.number(sum(top - t for t in totals))])
            rows += 1
    _filter(ws, 1, len(labels), 1 + rows)
    return agg


def _write_charts(wb: Workbook, years: list[int], ranked: list, agg: dict, indicators: list,
                  decimals: int) -> None:
    ny = len(years)
    ws, c = _sheet(wb, "图表", [34] + [10] * max(ny, 1))
    col_of = {y: n for n, y in enumerate(years)}

    # table 1: number of accepted units per score band and year
    counts = [[0] * ny for _ in BANDS]
    for year, _, r in ranked:
        counts[_band(round(r.recomputed_total, decimals))][col_of[year]] += 1
    ws.append([c.text("总得分分布（已通过的当前自评表，单位数）", bold=True)])
    ws.append(c.headers(["分数段"] + [_year_label(y) for y in years]))
    for (label, _, _), row in zip(BANDS, counts):
        ws.append([c.text(label)] + row)
    band_head = 2
    band_last = band_head + len(BANDS)

    # table 2: mean points lost per indicator and year
    ws.append([])
    ws.append([c.text("各指标平均失分（已通过的当前自评表）", bold=True)])
    lost_head = band_last + 3
    ws.append(c.headers(["指标"] + [_year_label(y) for y in years]))
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
    bands = BarChart()
    bands.type = "col"
    bands.grouping = "clustered"
    bands.title = "总得分分布"
    bands.x_axis.title = "分数段"
    bands.y_axis.title = "单位数"
    bands.y_axis.majorGridlines = None
    bands.add_data(Reference(ws, min_col=2, max_col=1 + ny, min_row=band_head, max_row=band_last),
                   titles_from_data=True)
    bands.set_categories(Reference(ws, min_col=1, min_row=band_head + 1, max_row=band_last))
    bands.width, bands.height = 18, 9
    _show_axes(bands)
    ws.add_chart(bands, f"{anchor}1")

    lost = BarChart()
    lost.type = "bar"
    lost.grouping = "clustered"
    lost.title = "各指标平均失分"
    lost.x_axis.title = "指标"
    lost.y_axis.title = "平均失分（分）"
    lost.x_axis.scaling.orientation = "maxMin"  # framework order from the top down
    lost.add_data(Reference(ws, min_col=2, max_col=1 + ny, min_row=lost_head, max_row=lost_last),
                  titles_from_data=True)
    lost.set_categories(Reference(ws, min_col=1, min_row=lost_head + 1, max_row=lost_last))
    lost.width, lost.height = 18, max(10, 0.75 * len(indicators) * max(1, ny) ** 0.5)
    _show_axes(lost)
    ws.add_chart(lost, f"{anchor}20")


def _show_axes(chart: BarChart) -> None:
    # openpyxl >= 3.1 marks axes deleted by default; Excel then draws none
    chart.x_axis.delete = False
    chart.y_axis.delete = False


def _write_failed(wb: Workbook, failed: list[dict]) -> int:
    labels = ["文件", "来源", "单位名称", "年度", "状态", "收到时间", "原因", "备注"]
    ws, c = _sheet(wb, "未通过文件", [30, 36, 24, 7, 13, 17, 70, 16], freeze="B2")
    ws.print_title_rows = "1:1"
    ws.append(c.headers(labels))
    for f in failed:
        ws.append([c.text(f["file"]), c.text(f["source"], wrap=True), c.text(f["unit"]), f["year"],
                   c.text(f["status"]), c.time(f["received"]), c.text(f["reasons"], wrap=True), c.text(f["note"])])
    _filter(ws, 1, len(labels), 1 + len(failed))
    return len(failed)


def _write_history(wb: Workbook, history: list) -> int:
    labels = ["单位名称", "年度", "总得分", "等级", "审核状态", "收到时间", "原文件名", "被替代为", "替代文件收到时间"]
    ws, c = _sheet(wb, "历史", [30, 7, 9, 7, 14, 17, 36, 36, 17], freeze="B2")
    ws.print_title_rows = "1:1"
    ws.append(c.headers(labels))
    for h in history:
        ws.append([c.text(h.unit_name), h.year, c.number(h.recomputed_total), c.text(h.grade),
                   c.text(STATUS_TEXT.get(h.status, h.status)), c.time(h.received_at), c.text(h.original_name),
                   c.text(h.by_name), c.time(h.by_received)])
    _filter(ws, 1, len(labels), 1 + len(history))
    return len(history)


__all__ = ["BANDS", "SummaryStats", "write_summary"]
