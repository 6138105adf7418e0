"""`jixiao import`: every file of a batch checked, scored, stored and archived.

- Workbooks are checked in a process pool (`jobs`, `importer.pool`; with `--jobs 1` one worker,
  never the main process), with a bounded window of files in flight, so memory stays flat
  whatever the batch size.  A worker that dies costs one
  problem receipt for the file it held; workers exit with the main process.
- Every receipt has an idempotency key (`schema.receipt_key`, unique): a source recorded by two
  imports at once, or again by a re-run, is one receipt.
- Workers check, score and build the rows; the main process only writes them, several files per
  transaction (Core inserts, one executemany per table), each file's original archived before;
  a file whose receipt exists is skipped.  An import killed at any point and run again therefore
  ends in the state of one uninterrupted run, and two imports into one database at once do not
  corrupt it.
- The newest submission of a unit and year is current; each version is linked into its unit and
  year's chain through an index (`currency`), in constant work, independently of the order.
"""

from __future__ import annotations

import importlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Float, Table, insert, select, update
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from jixiao.checker.result import ACCEPTED, REJECTED, UNREADABLE, WARNED, CheckResult
from jixiao.importer import archive, currency
from jixiao.importer.db import InputValue, MessageRow, Receipt, ScoreRow, Submission, archive_root, make_engine
from jixiao.importer.pool import CheckPool, WorkerDied
from jixiao.importer.schema import receipt_key, upgrade
from jixiao.importer.sources import Candidate, SourceProblem, iter_sources

STATUSES = (ACCEPTED, WARNED, REJECTED, UNREADABLE)
S, R = Submission.__table__, Receipt.__table__
_INSERT_SUBMISSION = insert(S).returning(S.c.id)  # built once


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
    from jixiao.xlsx.safe import UnreadableWorkbook, open_xlsx_bytes

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


def _warm_up() -> None:
    from jixiao.checker import check  # noqa: F401 - import and compile once per worker
    from jixiao.engine import evaluate
    from jixiao.framework.loader import load_framework

    evaluate(load_framework(), {})  # the cells built and their code generated before the first file


# --------------------------------------------------------------------------- rows

# the child rows travel from the worker as tuples in these columns' order (a third of the
# pickle of dicts, and no dict building on either side), `submission_id` put in front on insert
INPUT_COLUMNS = ("field_id", "value_number", "value_text")
SCORE_COLUMNS = ("indicator_id", "name", "points", "workbook_score", "recomputed_score", "explanation")
MESSAGE_COLUMNS = ("seq", "level", "code", "text", "sheet", "cell", "field")
RECEIPT_COLUMNS = ("source", "original_name", "sha256", "received_at", "submission_id", "problem", "key",
                   "source_bytes")


@dataclass
class Rows:
    """A checked file as the rows the writer inserts, built in the worker: the main process
    only adds ids.  `submission` lacks what depends on the copy (name, date, archive path);
    `inputs`, `scores` and `messages` are tuples in the order of INPUT_COLUMNS, SCORE_COLUMNS
    and MESSAGE_COLUMNS."""

    status: str
    submission: dict[str, Any]
    inputs: list[tuple[Any, ...]]
    scores: list[tuple[Any, ...]]
    messages: list[tuple[Any, ...]]


def _num(x: Any) -> float | None:
    # Float columns get Python floats here, once, in the worker (the writer skips their processor)
    return None if x is None else float(x)


def _rows(r: CheckResult) -> Rows:
    unit = (r.unit_name or "").strip() or None
    return Rows(
        status=r.status,
        submission=dict(status=r.status, unit_name=unit, unit_code=(r.unit_code or None), year=r.year,
                        framework_id=r.framework_id, framework_version=r.framework_version,
                        workbook_total=_num(r.workbook_total), recomputed_total=_num(r.recomputed_total),
                        grade=r.grade,
                        errors=len(r.errors), warnings=len(r.warnings)),
        inputs=[(k, float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None,
                 v if isinstance(v, str) else None)
                for k, v in r.inputs.items()],
        scores=[(i.id, i.name, _num(i.points), _num(i.workbook_score), _num(i.recomputed_score), i.explanation)
                for i in r.indicators],
        messages=[(n, m.level, m.code, m.text, m.sheet, m.cell, m.field) for n, m in enumerate(r.messages)],
    )


def _check_rows(name: str, data: bytes) -> Rows:
    """The worker's whole job: check, score and turn the result into rows.  (`_check` is looked
    up when called: tests replace it to poison a worker.)"""
    return _rows(_check(name, data))


class _Children:
    """Inputs, scores and messages of several files, inserted together (one executemany per
    table) at the end of the transaction."""

    TABLES = ((InputValue.__table__, "inputs", ("submission_id", *INPUT_COLUMNS)),
              (ScoreRow.__table__, "scores", ("submission_id", *SCORE_COLUMNS)),
              (MessageRow.__table__, "messages", ("submission_id", *MESSAGE_COLUMNS)),
              (Receipt.__table__, "receipts", RECEIPT_COLUMNS))

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {"inputs": [], "scores": [], "messages": [], "receipts": []}

    def add(self, sub_id: int, rows: Rows) -> None:
        head = (sub_id,)
        for _table, attr, _columns in self.TABLES[:3]:
            self.rows[attr].extend([head + row for row in getattr(rows, attr)])

    def receipt(self, row: dict[str, Any]) -> None:
        self.rows["receipts"].append(tuple(row[c] for c in RECEIPT_COLUMNS))

    def insert(self, conn: Connection, between: Callable[[], None] | None = None) -> None:
        for table, attr, columns in self.TABLES:
            rows = self.rows[attr]
            for start in range(0, len(rows), INSERT_CHUNK):
                _bulk_insert(conn, table, columns, rows[start:start + INSERT_CHUNK])
                if between is not None:
                    between()
        self.rows = {k: [] for k in self.rows}


INSERT_CHUNK = 1000  # rows per executemany: the cost is per row, and the pool is fed in between


def _nothing() -> None:
    pass


def _bulk_insert(conn: Connection, table: Any, names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Many rows (tuples in the order of `names`) at once, straight to the driver
    (SQLAlchemy's per-row parameter processing would cost more than the insert): SQLite re-runs
    one prepared statement in C (executemany); PostgreSQL gets many rows per INSERT statement."""
    # the types' own conversions (e.g. datetimes as SQLite text), as SQLAlchemy would apply them;
    # the Float columns' float() was applied in the worker (`_rows`)
    rows = _convert(rows, _converters(conn.dialect, table, names, floats_ready=True))
    column_list = ", ".join(names)
    if conn.dialect.paramstyle == "qmark":
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({column_list}) VALUES ({', '.join('?' * len(names))})", rows)
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table.name, column_list, rows)
        return
    one = "(" + ", ".join(["%s"] * len(names)) + ")"
    for start in range(0, len(rows), PG_ROWS_PER_STATEMENT):
        chunk = rows[start:start + PG_ROWS_PER_STATEMENT]
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({column_list}) VALUES " + ", ".join([one] * len(chunk)),
                             tuple(v for row in chunk for v in row))


def _copy(conn: Connection, table: str, column_list: str, rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: the rows streamed by COPY in the connection's transaction (psycopg adapts
    each value in C; a multi-row INSERT of thousands of parameters is re-parsed by the driver on
    every call).  The driver's errors are raised as SQLAlchemy's (a unique key met by another
    import is an IntegrityError, as for an INSERT)."""
    dbapi = conn.dialect.loaded_dbapi
    statement = f"COPY {table} ({column_list}) FROM STDIN"
    try:
        with conn.connection.driver_connection.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc


# (dialect, table, columns, floats_ready) → [(position, the column type's bind processor)]; keyed
# by the dialect object itself (a few per process): an id could be reused by another
_CONVERTERS: dict[tuple[Any, ...], list[tuple[int, Callable[[Any], Any]]]] = {}


def _converters(dialect: Dialect, table: Table, names: tuple[str, ...],
                floats_ready: bool = False) -> list[tuple[int, Callable[[Any], Any]]]:
    """The columns that have a bind processor for this dialect, found once.  `floats_ready`: the
    rows carry Python floats (or None) in their Float columns (`_rows`), so that processor,
    float(x), is left out."""
    key = (dialect, table.name, names, floats_ready)
    got = _CONVERTERS.get(key)
    if got is None:
        got = [(i, f) for i, n in enumerate(names)
               if (f := table.c[n].type._cached_bind_processor(dialect)) is not None
               and not (floats_ready and isinstance(table.c[n].type, Float))]
        _CONVERTERS[key] = got
    return got


def _convert(rows: list[tuple[Any, ...]], conv: list[tuple[int, Callable[[Any], Any]]]) -> list[tuple[Any, ...]]:
    if not conv:
        return rows
    out = []
    for row in rows:
        values = list(row)
        for i, f in conv:
            values[i] = f(values[i])
        out.append(tuple(values))
    return out


PG_ROWS_PER_STATEMENT = 1000  # × ≤ 9 columns: well under PostgreSQL's 65,535 parameters


# --------------------------------------------------------------------------- writing

BATCH = 32  # files per transaction: a kill loses at most one uncommitted batch, redone by the next run


class _Writer:
    """Writes files in transactions of up to BATCH files.  Each file's original is archived
    before its rows are written, so a killed import leaves only whole, committed batches (and
    archived files that the next run finds in place): run again, it ends as one clean run.  A
    batch that meets another import's rows (a unique key) or a lock conflict is rolled back
    and written again file by file, each in its own transaction."""

    def __init__(self, engine: Engine, root: Path, stats: ImportStats, report: Callable[[], None],
                 stored: set[str], batch: int = BATCH):
        self.engine, self.root, self.stats, self.report = engine, root, stats, report
        self.stored, self.size = stored, batch
        self.pending: list[tuple[Candidate, Rows | None]] = []
        # called between the files and the inserts of a batch: the import feeds the pool there,
        # so that no worker sits idle while a batch is written
        self.between: Callable[[], None] = _nothing

    def add(self, cand: Candidate, rows: Rows | None) -> None:
        self.pending.append((cand, rows))
        if len(self.pending) >= self.size:
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            with self.engine.begin() as conn:
                children = _Children()
                new: set[str] = set()  # content inserted by this batch
                outcomes = []
                for cand, rows in batch:
                    fresh = rows is not None and cand.sha256 not in self.stored and cand.sha256 not in new
                    outcomes.append(_write_conn(conn, self.root, cand, rows, children, optimistic=fresh))
                    new.add(cand.sha256)
                    self.between()
                children.insert(conn, self.between)
        except (IntegrityError, OperationalError):
            outcomes = [self._single(cand, rows) for cand, rows in batch]
        for (cand, rows), outcome in zip(batch, outcomes):
            self._count(cand, outcome)
        self.report()

    def _single(self, cand: Candidate, rows: Rows | None) -> tuple[str, str | None]:
        """One file, one transaction.  Another import writing the same file at the same moment
        makes ours fail on a unique key: then the transaction is simply run again and finds the
        other's rows."""
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    children = _Children()
                    outcome = _write_conn(conn, self.root, cand, rows, children)
                    children.insert(conn)
                return outcome
            except (IntegrityError, OperationalError):
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _count(self, cand: Candidate, outcome: tuple[str, str | None]) -> None:
        what, status = outcome
        self.stored.add(cand.sha256)
        if what == "imported":
            self.stats.imported += 1
            self.stats.by_status[status] += 1
        elif what == "duplicate":
            self.stats.duplicates += 1
        else:
            self.stats.already += 1


def _insert_submission(conn: Connection, values: dict[str, Any]) -> int:
    """One submission row, its id returned: as driver SQL on SQLite and PostgreSQL (the Core
    statement's parameter processing costs more than the insert), elsewhere through Core."""
    dialect = conn.dialect
    if dialect.name not in ("sqlite", "postgresql"):
        return conn.scalar(_INSERT_SUBMISSION, values)
    names = tuple(values)
    (row,) = _convert([tuple(values.values())], _converters(dialect, S, names))
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    return conn.exec_driver_sql(f"INSERT INTO submissions ({', '.join(names)}) VALUES "
                                f"({', '.join([mark] * len(names))}) RETURNING id", row).scalar_one()


def _utc(when: datetime | None) -> datetime | None:
    """Dates are stored in UTC: SQLite keeps no zone, and mails come from several."""
    return when.astimezone(timezone.utc) if when is not None else None


def _write_one(session: Session, root: Path, cand: Candidate, result: CheckResult | Rows | None) -> str:
    """One file inside the caller's session and transaction (the writer uses connections)."""
    rows = _rows(result) if isinstance(result, CheckResult) else result
    children = _Children()
    conn = session.connection()
    outcome, _status = _write_conn(conn, root, cand, rows, children)
    children.insert(conn)
    return outcome


def _write_conn(conn: Connection, root: Path, cand: Candidate, rows: Rows | None,
                children: _Children, optimistic: bool = False) -> tuple[str, str | None]:
    """(outcome, status of a new submission).  `rows` None: the content is already stored (if
    it is not after all, it is checked here).  `optimistic`: neither this receipt nor this
    content is known to be stored (the writer's own record), so the look-ups are left to the
    unique keys: another import's row makes the batch fail, and it is written again carefully."""
    received = _utc(cand.received)
    found = None
    if not optimistic:
        if conn.scalar(select(R.c.id).where(R.c.source == cand.source, R.c.sha256 == cand.sha256)):
            return "already", None
        found = conn.execute(select(S.c.id, S.c.received_at, S.c.unit_name, S.c.year, S.c.version_key)
                             .where(S.c.sha256 == cand.sha256)).first()
    if found is None:
        if rows is None:
            rows = _check_rows(cand.original_name, cand.data)
        path = archive.store(root, cand.sha256, cand.original_name, cand.data)
        sub = rows.submission
        # the submissions table's columns (not form field ids)
        unit, year = sub[S.c.unit_name.key], sub[S.c.year.key]
        key = currency.version_key(rows.status, unit, year, received, cand.sha256)
        if key is not None:
            currency.lock(conn, unit, year)
        # inserted first: on SQLite the write lock comes with the first write, and the neighbours
        # must be read under it (another import's version committed meanwhile is then seen)
        sub_id = _insert_submission(conn, dict(
            sha256=cand.sha256, original_name=cand.original_name, received_at=received, archive_path=path,
            is_current=False, superseded_by=None, version_key=key, **sub))
        children.add(sub_id, rows)
        if key is not None:
            currency.link(conn, sub_id, unit, year, key)
        outcome = ("imported", rows.status)
    else:
        sub_id = found.id
        outcome = ("duplicate", None)
        if received is not None and (found.received_at is None or _utc_naive(found.received_at) > _utc_naive(received)):
            # the earliest Date of any copy is when the unit sent it: the version moves in its chain
            if found.version_key is not None:
                currency.lock(conn, found.unit_name, found.year)
                currency.unlink(conn, sub_id, found.unit_name, found.year, found.version_key)
            key = currency.version_key("", found.unit_name, found.year, received, cand.sha256) \
                if found.version_key is not None else None
            conn.execute(update(S).where(S.c.id == sub_id).values(received_at=received, version_key=key))
            if key is not None:
                currency.link(conn, sub_id, found.unit_name, found.year, key)
    children.receipt(dict(source=cand.source, original_name=cand.original_name, sha256=cand.sha256,
                          received_at=received, submission_id=sub_id, problem=None,
                          key=receipt_key(cand.source, cand.sha256, cand.path_bytes), source_bytes=cand.path_bytes))
    return outcome


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
    # imported here, the one needed: PostgreSQL's dialect module takes ~0.1 s to import
    dialect = importlib.import_module(f"sqlalchemy.dialects.{engine.dialect.name}") \
        if engine.dialect.name in ("postgresql", "sqlite") else None
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
    jobs = jobs or default_jobs()
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

    writer = _Writer(engine, root, stats, _report, _stored_digests(engine))
    # always in worker processes, --jobs 1 too: a file that kills the process checking it (a
    # crash in a C library, the OOM killer) costs one problem receipt, never the batch
    with CheckPool(jobs, _check_rows, initializer=_warm_up, timeout=CHECK_TIMEOUT, preload=True) as pool:
        pending: dict[int, Candidate] = {}
        ready: deque[tuple[int, Any]] = deque()  # finished while a batch was being written
        writer.between = lambda: ready.extend(pool.service())
        for cand in todo():
            if cand.sha256 in writer.stored:
                writer.add(cand, None)
                continue
            pending[pool.submit(cand.original_name, cand.data)] = cand
            if len(pending) >= window:
                _drain(engine, pool, pending, ready, writer, stats, wait_all=False)
        _drain(engine, pool, pending, ready, writer, stats, wait_all=True)
        writer.between = _nothing
    writer.flush()
    engine.dispose()
    return stats


def default_jobs() -> int:
    """Workers for a machine's cores: one more than the cores, because the main process writes
    only part of the time -- with as many workers as cores, a core idles while a worker waits for
    its next file (2 cores: ~5-15 % more files per second with 3 workers, benchmarks/README)."""
    return (os.cpu_count() or 1) + 1


def _drain(engine: Engine, pool: CheckPool, pending: dict[int, Candidate], ready: deque[tuple[int, Any]],
           writer: _Writer, stats: ImportStats, wait_all: bool) -> None:
    while pending:
        if not ready:
            ready.extend(pool.wait_any())
        while ready:  # writing may collect more (writer.between)
            ticket, outcome = ready.popleft()
            cand = pending.pop(ticket)
            if isinstance(outcome, (WorkerDied, Exception)):
                _record_worker_death(engine, cand, outcome, stats)  # at once, in its own transaction
                writer.report()
            else:
                writer.add(cand, outcome)
        if not wait_all:
            return


def _stored_digests(engine: Engine) -> set[str]:
    """The sha256 of every stored submission, read once (~100 bytes each): a file whose
    content is stored needs no check (the writer re-checks inside its transaction)."""
    with engine.connect() as conn:
        return set(conn.scalars(select(S.c.sha256)))


def _existing_receipts(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return {(s, h) for s, h in conn.execute(select(Receipt.source, Receipt.sha256)) if h}


def count_candidates(paths: Iterable[str | Path]) -> int:
    """For the progress bar's total: a first pass over the sources (files are only read)."""
    return sum(1 for _ in iter_sources(paths))


__all__ = ["ImportStats", "count_candidates", "default_jobs", "import_paths", "make_engine"]
