"""`jixiao import`: every file of a batch checked, scored, stored and archived.

- Workbooks are checked in a process pool (`jobs`, `importer.pool`), with a bounded window of
  files in flight, so memory stays flat whatever the batch size.  A worker that dies costs one
  problem receipt for the file it held; workers exit with the main process.
- Every receipt has an idempotency key (`schema.receipt_key`, unique): a source recorded by two
  imports at once, or again by a re-run, is one receipt.
- Each file is written in its own transaction, after its original is archived; a file whose
  receipt exists is skipped.  An import killed at any point and run again therefore ends in the
  state of one uninterrupted run, and two imports into one database at once do not corrupt it.
- The newest submission of a unit and year is current; currency is recomputed from the stored
  rows in the same transaction, so it does not depend on the order files were processed in.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jixiao.checker.result import ACCEPTED, REJECTED, UNREADABLE, WARNED, CheckResult
from jixiao.importer import archive
from jixiao.importer.db import IndicatorScore, InputValue, Message, Receipt, Submission, archive_root, make_engine
from jixiao.importer.pool import CheckPool, WorkerDied
from jixiao.importer.schema import receipt_key, upgrade
from jixiao.importer.sources import Candidate, SourceProblem, iter_sources

STATUSES = (ACCEPTED, WARNED, REJECTED, UNREADABLE)


@dataclass
class ImportStats:
    given: int = 0  # candidates and unreadable sources
    imported: int = 0  # new submissions
    duplicates: int = 0  # same content as a submission already stored
    already: int = 0  # receipts already there: an earlier run did this file
    problems: int = 0  # sources that yielded no file
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))

    @property
    def done(self) -> int:
        return self.imported + self.duplicates + self.already + self.problems


# --------------------------------------------------------------------------- workers

def _check(name: str, data: bytes) -> CheckResult:
    from jixiao.checker.check import check_xlsx
    from jixiao.checker.safety import UnreadableWorkbook, open_xlsx_bytes

    result = CheckResult(file=name)
    try:
        xlsx = open_xlsx_bytes(data, name)
    except UnreadableWorkbook as exc:
        result.add("错误", exc.kind, exc.message)
        return result
    try:
        return check_xlsx(xlsx, name, (), result)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop a batch of hundreds
        result.status = UNREADABLE
        result.add("错误", "internal_error", f"检查时发生内部错误（{type(exc).__name__}: {exc}），请将此文件反馈给开发者")
        return result


CHECK_TIMEOUT = 600.0  # seconds for one file in a worker; a check takes milliseconds


def _check_in_worker(name: str, data: bytes) -> CheckResult:
    return _check(name, data)  # looked up when called: tests replace `_check` to poison a worker


def _warm_up() -> None:
    from jixiao.checker import check  # noqa: F401 - import and compile once per worker
    from jixiao.engine import computed_cells
    from jixiao.framework.loader import load_framework

    computed_cells(load_framework())


# --------------------------------------------------------------------------- writing

def _write(engine: Engine, root: Path, cand: Candidate, result: CheckResult | None, stats: ImportStats) -> None:
    """One file, one transaction.  `result` None: the content is already stored.  Another
    import writing the same file at the same moment makes ours fail on a unique key: then
    the transaction is simply run again and finds the other's rows."""
    for attempt in range(3):
        try:
            with Session(engine) as session, session.begin():
                outcome = _write_one(session, root, cand, result)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    if outcome == "imported":
        stats.imported += 1
        stats.by_status[result.status] += 1
    elif outcome == "duplicate":
        stats.duplicates += 1
    else:
        stats.already += 1


def _utc(when: datetime | None) -> datetime | None:
    """Dates are stored in UTC: SQLite keeps no zone, and mails come from several."""
    return when.astimezone(timezone.utc) if when is not None else None


def _write_one(session: Session, root: Path, cand: Candidate, result: CheckResult | None) -> str:
    cand = replace(cand, received=_utc(cand.received))
    if session.scalar(select(Receipt.id).where(Receipt.source == cand.source, Receipt.sha256 == cand.sha256)):
        return "already"
    sub_id = session.scalar(select(Submission.id).where(Submission.sha256 == cand.sha256))
    outcome = "duplicate"
    if sub_id is None:
        if result is None:
            result = _check(cand.original_name, cand.data)
        path = archive.store(root, cand.sha256, cand.original_name, cand.data)
        sub_id = _insert_submission(session, cand, result, path)
        outcome = "imported"
    elif cand.received is not None:
        # the earliest Date of any copy is when the unit sent it
        session.execute(update(Submission).where(
            Submission.id == sub_id,
            (Submission.received_at.is_(None)) | (Submission.received_at > cand.received),
        ).values(received_at=cand.received))
    session.execute(insert(Receipt).values(
        source=cand.source, original_name=cand.original_name, sha256=cand.sha256,
        received_at=cand.received, submission_id=sub_id,
        key=receipt_key(cand.source, cand.sha256, cand.path_bytes), source_bytes=cand.path_bytes))
    unit, year = session.execute(select(Submission.unit_name, Submission.year).where(Submission.id == sub_id)).one()
    _refresh_current(session, unit, year)
    return outcome


def _insert_submission(session: Session, cand: Candidate, r: CheckResult, path: str) -> int:
    unit = (r.unit_name or "").strip() or None
    sub_id = session.scalar(insert(Submission).values(
        sha256=cand.sha256, original_name=cand.original_name, received_at=cand.received, status=r.status,
        unit_name=unit, unit_code=(r.unit_code or None), year=r.year,
        framework_id=r.framework_id, framework_version=r.framework_version,
        workbook_total=r.workbook_total, recomputed_total=r.recomputed_total, grade=r.grade,
        errors=len(r.errors), warnings=len(r.warnings), archive_path=path, is_current=False,
    ).returning(Submission.id))
    if r.inputs:
        session.execute(insert(InputValue), [
            {"submission_id": sub_id, "field_id": k,
             "value_number": float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None,
             "value_text": v if isinstance(v, str) else None}
            for k, v in r.inputs.items()])
    if r.indicators:
        session.execute(insert(IndicatorScore), [
            {"submission_id": sub_id, "indicator_id": i.id, "name": i.name, "points": i.points,
             "workbook_score": i.workbook_score, "recomputed_score": i.recomputed_score, "explanation": i.explanation}
            for i in r.indicators])
    if r.messages:
        session.execute(insert(Message), [
            {"submission_id": sub_id, "seq": n, "level": m.level, "code": m.code, "text": m.text,
             "sheet": m.sheet, "cell": m.cell, "field": m.field}
            for n, m in enumerate(r.messages)])
    return sub_id


def _refresh_current(session: Session, unit: str | None, year: int | None) -> None:
    """The newest readable submission of a unit and year is current (by the email's Date;
    undated ones count as older than dated ones, ties by content hash): order-independent."""
    if unit is None or year is None:
        return
    if session.bind.dialect.name == "postgresql":
        # two imports writing versions of one unit and year at once: the second waits here and,
        # under READ COMMITTED, then sees the first's row (SQLite serialises writers anyway)
        key = int.from_bytes(hashlib.sha256(f"{unit}\0{year}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    rows = session.execute(
        select(Submission.id, Submission.received_at, Submission.sha256)
        .where(Submission.unit_name == unit, Submission.year == year, Submission.status != UNREADABLE)
    ).all()
    if not rows:
        return
    rows.sort(key=lambda r: (r.received_at is not None, _utc_naive(r.received_at), r.sha256))
    newest = rows[-1].id
    for r in rows:
        session.execute(update(Submission).where(Submission.id == r.id).values(
            is_current=r.id == newest, superseded_by=None if r.id == newest else newest))


def _utc_naive(when: datetime | None) -> datetime:
    # SQLite gives the stored UTC time back without a zone, PostgreSQL with one
    if when is None:
        return datetime.min
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def _record_problem(engine: Engine, problem: SourceProblem, stats: ImportStats) -> None:
    _insert_receipt_once(engine, source=problem.source, original_name=Path(problem.source).name, sha256=None,
                         problem=problem.message, source_bytes=problem.path_bytes)
    stats.problems += 1


def _record_worker_death(engine: Engine, cand: Candidate, died: WorkerDied | Exception, stats: ImportStats) -> None:
    """A file whose check never finished: one receipt with its content hash and the reason, so a
    re-run does not feed the same poison file to a worker again."""
    message = died.message if isinstance(died, WorkerDied) else f"检查时发生内部错误（{died}），请将此文件反馈给开发者"
    _insert_receipt_once(engine, source=cand.source, original_name=cand.original_name, sha256=cand.sha256,
                         received_at=_utc(cand.received), problem=message, source_bytes=cand.path_bytes)
    stats.problems += 1


def _insert_receipt_once(engine: Engine, **values: object) -> None:
    """INSERT … ON CONFLICT (key) DO NOTHING: two imports recording the same source at once
    leave one receipt, on SQLite and PostgreSQL alike."""
    values["key"] = receipt_key(values["source"], values["sha256"], values.get("source_bytes"))
    dialect = {"postgresql": postgresql, "sqlite": sqlite}.get(engine.dialect.name)
    with Session(engine) as session, session.begin():
        if dialect is None:  # another database: check first (not race-free, the unique index still holds)
            if session.scalar(select(Receipt.id).where(Receipt.key == values["key"])) is None:
                session.execute(insert(Receipt).values(**values))
        else:
            session.execute(dialect.insert(Receipt).values(**values).on_conflict_do_nothing(index_elements=["key"]))


# --------------------------------------------------------------------------- the batch

def import_paths(paths: Iterable[str | Path], url: str, *, jobs: int | None = None,
                 on_progress: Callable[[ImportStats], None] | None = None, window: int | None = None) -> ImportStats:
    engine = make_engine(url)
    upgrade(engine)
    root = archive_root(url)
    archive.sweep(root)
    stats = ImportStats()
    jobs = jobs or os.cpu_count() or 1
    window = window or jobs * 8
    seen_receipts = _existing_receipts(engine)

    def todo() -> Iterator[Candidate]:
        for item in iter_sources(paths):
            stats.given += 1
            if isinstance(item, SourceProblem):
                _record_problem(engine, item, stats)
                _report()
                continue
            if (item.source, item.sha256) in seen_receipts:
                stats.already += 1
                _report()
                continue
            yield item

    def _report() -> None:
        if on_progress:
            on_progress(stats)

    if jobs == 1:
        for cand in todo():
            _write(engine, root, cand, _result_for(engine, cand), stats)
            _report()
    else:
        with CheckPool(jobs, _check_in_worker, initializer=_warm_up, timeout=CHECK_TIMEOUT) as pool:
            pending: dict[int, Candidate] = {}
            for cand in todo():
                if _stored(engine, cand.sha256):
                    _write(engine, root, cand, None, stats)
                    _report()
                    continue
                pending[pool.submit(cand.original_name, cand.data)] = cand
                if len(pending) >= window:
                    _drain(engine, root, pool, pending, stats, _report, wait_all=False)
            _drain(engine, root, pool, pending, stats, _report, wait_all=True)
    engine.dispose()
    return stats


def _drain(engine: Engine, root: Path, pool: CheckPool, pending: dict[int, Candidate], stats: ImportStats,
           report: Callable[[], None], wait_all: bool) -> None:
    while pending:
        for ticket, outcome in pool.wait_any():
            cand = pending.pop(ticket)
            if isinstance(outcome, (WorkerDied, Exception)):
                _record_worker_death(engine, cand, outcome, stats)
            else:
                _write(engine, root, cand, outcome, stats)
            report()
        if not wait_all:
            return


def _result_for(engine: Engine, cand: Candidate) -> CheckResult | None:
    return None if _stored(engine, cand.sha256) else _check(cand.original_name, cand.data)


def _stored(engine: Engine, sha256: str) -> bool:
    with engine.connect() as conn:
        return conn.scalar(select(Submission.id).where(Submission.sha256 == sha256)) is not None


def _existing_receipts(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return {(s, h) for s, h in conn.execute(select(Receipt.source, Receipt.sha256)) if h}


def count_candidates(paths: Iterable[str | Path]) -> int:
    """For the progress bar's total: a first pass over the sources (files are only read)."""
    return sum(1 for _ in iter_sources(paths))


__all__ = ["ImportStats", "count_candidates", "import_paths", "make_engine"]
