"""The 汇总表's data: a handful of queries (the indicator scores pivoted and the statistics
aggregated in SQL), so that 10,000 submissions take a few seconds."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from jixiao.checker.result import ACCEPTED, ERROR, REJECTED, STATUS_TEXT, UNREADABLE, WARNED
from jixiao.importer.db import MessageRow, Receipt, ScoreRow, Submission

PROBLEM_STATUS = "无法取得文件"  # a receipt whose source yielded no file
PASSED = (ACCEPTED, WARNED)
FAILED = (REJECTED, UNREADABLE)  # the submissions of 未通过文件
FULL_EPS = 1e-6  # a score this close to the points is at full points


def current_rows(conn: Any) -> list[Any]:
    """The current, readable submissions, by year and unit."""
    return conn.execute(
        select(Submission.id, Submission.unit_name, Submission.year, Submission.recomputed_total,
               Submission.grade, Submission.status, Submission.warnings, Submission.errors,
               Submission.original_name, Submission.received_at)
        .where(Submission.is_current.is_(True), Submission.status != UNREADABLE)
        .order_by(Submission.year, Submission.unit_name, Submission.id)
    ).all()


def pivot_scores(conn: Any, ids: list[str]) -> dict[int, tuple]:
    """submission id -> the recomputed score of each framework indicator, in framework order."""
    if not ids:
        return {}
    cols = [func.max(case((ScoreRow.indicator_id == iid, ScoreRow.recomputed_score))) for iid in ids]
    rows = conn.execute(
        select(ScoreRow.submission_id, *cols)
        .join(Submission, Submission.id == ScoreRow.submission_id)
        .where(Submission.is_current.is_(True), Submission.status != UNREADABLE)
        .group_by(ScoreRow.submission_id)
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def indicator_stats(conn: Any) -> dict[tuple[int, str], Any]:
    """(year, indicator id) -> n, mean, min, max, share at full points, mean lost, summed lost."""
    score, points = ScoreRow.recomputed_score, ScoreRow.points
    full = func.sum(case((score >= points - FULL_EPS, 1), else_=0))
    rows = conn.execute(
        select(Submission.year, ScoreRow.indicator_id, func.max(ScoreRow.name).label("name"),
               func.max(points).label("points"), func.count().label("n"), func.avg(score).label("mean"),
               func.min(score).label("low"), func.max(score).label("high"), full.label("full"),
               func.avg(points - score).label("mean_lost"), func.sum(points - score).label("sum_lost"))
        .join(Submission, Submission.id == ScoreRow.submission_id)
        .where(Submission.is_current.is_(True), Submission.status.in_(PASSED), Submission.year.is_not(None))
        .group_by(Submission.year, ScoreRow.indicator_id)
    )
    return {(r.year, r.indicator_id): r for r in rows}


def failed_rows(conn: Any) -> list[dict]:
    subs = conn.execute(
        select(Submission.id, Submission.original_name, Submission.unit_name, Submission.year, Submission.status,
               Submission.received_at, Submission.superseded_by)
        .where(Submission.status.in_(FAILED))
        .order_by(Submission.received_at, Submission.id)
    ).all()
    failing = and_(Submission.id == Receipt.submission_id, Submission.status.in_(FAILED))
    sources: dict[int, list[str]] = defaultdict(list)
    for sid, source in conn.execute(select(Receipt.submission_id, Receipt.source).join(Submission, failing)
                                    .order_by(Receipt.id)):
        if source not in sources[sid]:
            sources[sid].append(source)
    reasons: dict[int, list[str]] = defaultdict(list)
    for sid, text, sheet, cell in conn.execute(
            select(MessageRow.submission_id, MessageRow.text, MessageRow.sheet, MessageRow.cell)
            .join(Submission, and_(Submission.id == MessageRow.submission_id,
                                   Submission.status.in_(FAILED)))
            .where(MessageRow.level == ERROR).order_by(MessageRow.submission_id, MessageRow.seq)):
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


def history_rows(conn: Any) -> list[Any]:
    newer = aliased(Submission)
    return conn.execute(
        select(Submission.unit_name, Submission.year, Submission.recomputed_total, Submission.grade,
               Submission.status, Submission.received_at, Submission.original_name,
               newer.original_name.label("by_name"), newer.received_at.label("by_received"))
        .join(newer, newer.id == Submission.superseded_by)
        .where(Submission.superseded_by.is_not(None))
        .order_by(Submission.unit_name, Submission.year, Submission.received_at, Submission.id)
    ).all()


def _where(sheet: str | None, cell: str | None) -> str:
    return f"{sheet}!{cell}" if sheet and cell else (sheet or "")
