"""The import's fast paths keep its results and guarantees: the bulk writes (SQLite executemany,
PostgreSQL COPY) store exactly what a Core insert stores, a unique key met in them is an
IntegrityError (the writer's cue to write again file by file); the pool is fed without
blocking while a batch is written, and its warm-up runs once in the parent; a database at the
newest revision is recognised without loading Alembic, with the heads Alembic itself finds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from pg_server import fresh_database, postgres_url  # noqa: F401
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from jixiao.importer import run
from jixiao.importer.db import InputValue, MessageRow, Receipt, ScoreRow, Submission, make_engine
from jixiao.importer.pool import CheckPool
from jixiao.importer.schema import MIGRATIONS, _heads, upgrade

SRC = Path(__file__).parents[1] / "src"
DEADLINE = 120  # a guard against a hang, not a speed limit


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jixiao.db'}"
    return fresh_database(request.getfixturevalue("postgres_url"), f"jx_{uuid.uuid4().hex[:16]}")


def _submission(conn, sha: str) -> int:
    return conn.execute(insert(Submission).returning(Submission.id).values(
        sha256=sha, original_name="a.xlsx", status="accepted", archive_path="x", errors=0, warnings=0)).scalar_one()


# text a COPY stream or a parameter binding could get wrong: its separators and escapes
HOSTILE = ["制表\t符", "换行\n与\r回车", "反斜杠 \\N \\\\ \\t", "\\.", "", " 首尾空格 ", "引号 ' \" ,;", "🀄 扩展区 𠀀"]
NUMBERS = [0.1 + 0.2, 1e-300, -0.0, 123456789.123456789, 5e-324, 1.7976931348623157e308, -2.5, None]


def test_bulk_writes_store_exactly_what_core_stores(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    inputs = [(f"f{i}", NUMBERS[i % len(NUMBERS)], HOSTILE[i % len(HOSTILE)]) for i in range(24)]
    scores = [(f"i{i}", HOSTILE[i % len(HOSTILE)], float(i), NUMBERS[i % len(NUMBERS)], 0.1 * i,
               HOSTILE[-1 - i % len(HOSTILE)]) for i in range(12)]
    messages = [(i, "警告", "code", HOSTILE[i % len(HOSTILE)], None if i % 2 else "Sheet 1", "B7", None)
                for i in range(10)]
    tables = ((InputValue, run.INPUT_COLUMNS, inputs), (ScoreRow, run.SCORE_COLUMNS, scores),
              (MessageRow, run.MESSAGE_COLUMNS, messages))
    with engine.begin() as conn:
        fast, core = _submission(conn, "a" * 64), _submission(conn, "b" * 64)
        for orm, columns, rows in tables:
            names = ("submission_id", *columns)
            run._bulk_insert(conn, orm.__table__, names, [(fast, *r) for r in rows])
            conn.execute(insert(orm), [dict(zip(names, (core, *r))) for r in rows])
    with engine.connect() as conn:
        for orm, columns, rows in tables:
            cols = [orm.__table__.c[c] for c in columns]
            got = {}
            for sid in (fast, core):
                stored = conn.execute(select(*cols).where(orm.__table__.c.submission_id == sid)
                                      .order_by(cols[0])).all()
                # repr: -0.0 and the last digit of every float count
                got[sid] = sorted(repr(tuple(r)) for r in stored)
            assert got[fast] == got[core] and len(got[fast]) == len(rows), orm.__tablename__
    engine.dispose()


def test_a_unique_key_met_in_a_bulk_write_is_an_integrity_error(db_url: str) -> None:
    """Another import's receipt, committed meanwhile: the batch must fail as an IntegrityError,
    so that the writer writes its files again one by one (`_Writer._single`)."""
    engine = make_engine(db_url)
    upgrade(engine)
    row = ("报送/甲.xlsx", "甲.xlsx", "c" * 64, None, None, None, "k" * 64, None)
    with engine.begin() as conn:
        run._bulk_insert(conn, Receipt.__table__, run.RECEIPT_COLUMNS, [row])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        run._bulk_insert(conn, Receipt.__table__, run.RECEIPT_COLUMNS, [row[:6] + ("x" * 64, None), row])
    with engine.connect() as conn:  # the failed batch left nothing
        assert conn.scalar(select(Receipt.id).where(Receipt.key == "x" * 64)) is None
    engine.dispose()


# --------------------------------------------------------------------------- the pool

def _wait_for_flag(flag: str) -> str:
    while not os.path.exists(flag):
        time.sleep(0.01)
    return f"done {flag}"


def test_service_does_not_block_and_feeds_the_queue(tmp_path: Path) -> None:
    flags = [str(tmp_path / f"flag{i}") for i in range(3)]
    with CheckPool(1, _wait_for_flag, timeout=DEADLINE) as pool:
        tickets = [pool.submit(f) for f in flags]
        assert pool.service() == []  # the worker is busy: nothing finished, and no wait for it
        results: dict[int, object] = {}
        deadline = time.monotonic() + DEADLINE
        for flag in flags:
            Path(flag).touch()
            while len(results) < flags.index(flag) + 1:
                assert time.monotonic() < deadline, "service() never handed out the queued files"
                results.update(pool.service())
                time.sleep(0.005)
    assert results == {t: f"done {f}" for t, f in zip(tickets, flags)}


_WARMED: list[int] = []


def _warm(log: str) -> None:
    _WARMED.append(os.getpid())
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\n")


def _warmed_in(_arg: int) -> list[int]:
    if _arg < 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return list(_WARMED)


@pytest.mark.parametrize("preload", [True, False])
def test_preload_warms_up_once_in_the_parent(tmp_path: Path, preload: bool) -> None:
    log = tmp_path / "warm.log"
    _WARMED.clear()
    with CheckPool(2, _warmed_in, initializer=lambda: _warm(str(log)), timeout=DEADLINE, preload=preload) as pool:
        tickets = [pool.submit(n) for n in (1, -1, 2, 3)]  # -1 kills its worker: a replacement comes
        results: dict[int, object] = {}
        while len(results) < len(tickets):
            results.update(pool.wait_any())
        workers = set(pool.pids)
    pids = [int(x) for x in log.read_text().split()]
    if preload:
        assert pids == [os.getpid()]
        # every worker, the replacement too, inherited the warm-up instead of repeating it
        assert all(results[t] == [os.getpid()] for t in (tickets[0], *tickets[2:]))
    else:
        assert os.getpid() not in pids and workers <= set(pids) and len(pids) >= 3
    _WARMED.clear()


def test_a_writing_batch_feeds_the_pool(tmp_path: Path, monkeypatch) -> None:
    """While a batch is written, the pool is serviced (results collected, idle workers fed)
    between the files and between the inserts; the outcome is the same import."""
    from test_import import Variants

    v = Variants()
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(40):
        (folder / f"{i:02d}.xlsx").write_bytes(v.make(f"喂池单位{i:02d}"))
    calls = []
    real = CheckPool.service
    monkeypatch.setattr(CheckPool, "service", lambda self: calls.append(1) or real(self))
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'j.db'}"
    stats = run.import_paths([folder], url, jobs=2)
    assert (stats.given, stats.imported) == (40, 40)
    # after every file of the first batch and after each of its inserts (the last batch is
    # written once the pool is closed)
    assert len(calls) >= run.BATCH
    engine = make_engine(url)
    with engine.connect() as conn:
        assert len(conn.execute(select(ScoreRow.submission_id).distinct()).all()) == 40
    engine.dispose()


# --------------------------------------------------------------------------- the schema

def test_heads_read_from_the_files_are_alembics() -> None:
    from alembic.script import ScriptDirectory
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert _heads() == frozenset(ScriptDirectory.from_config(cfg).get_heads())


_UPGRADE_AGAIN = """
import json, sys
from jixiao.importer.db import make_engine
from jixiao.importer.schema import upgrade
engine = make_engine(sys.argv[1])
upgrade(engine)
with engine.connect() as conn:
    version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
print(json.dumps({"alembic": "alembic" in sys.modules, "version": version}))
"""


def test_a_database_at_the_newest_revision_is_not_migrated_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.db'}"
    env = dict(os.environ, PYTHONPATH=str(SRC))

    def upgrade_in_a_process() -> dict:
        done = subprocess.run([sys.executable, "-c", _UPGRADE_AGAIN, url], capture_output=True, text=True, env=env,
                              timeout=DEADLINE)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    (head,) = _heads()
    assert upgrade_in_a_process() == {"alembic": True, "version": head}  # a new database: migrated
    assert upgrade_in_a_process() == {"alembic": False, "version": head}  # at head: one query


def _pdeathsig(_arg: int) -> int:
    import ctypes

    value = ctypes.c_int()
    ctypes.CDLL(None, use_errno=True).prctl(2, ctypes.byref(value))  # PR_GET_PDEATHSIG
    return value.value


def test_workers_are_killed_by_the_kernel_with_their_parent() -> None:
    """The kernel's parent-death signal is set in every worker (found without `ldconfig`)."""
    with CheckPool(2, _pdeathsig, timeout=DEADLINE) as pool:
        tickets = [pool.submit(0), pool.submit(0)]
        results: dict[int, object] = {}
        while len(results) < len(tickets):
            results.update(pool.wait_any())
    assert list(results.values()) == [signal.SIGKILL, signal.SIGKILL]
