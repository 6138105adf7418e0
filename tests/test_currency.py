"""Currency through the version chain: the same chain whatever order the versions arrive in,
constant work per file however long the history (statements counted, the index in the query
plan), earlier Dates of duplicate copies moving a version, and the migration that introduces
the chain relinking an existing database."""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pg_server import fresh_database, postgres_url  # noqa: F401
from sqlalchemy import event, insert, inspect, select, text
from sqlalchemy.orm import Session

from jixiao.importer import currency
from jixiao.importer.db import Submission, make_engine
from jixiao.importer.run import Rows, _write_one
from jixiao.importer.schema import upgrade
from jixiao.importer.sources import Candidate

T0 = datetime(2022, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def rows(unit: str | None, year: int | None = 2021, status: str = "accepted") -> Rows:
    return Rows(status=status, submission=dict(status=status, unit_name=unit, unit_code=None, year=year,
                                               framework_id="f", framework_version="1", workbook_total=90.0,
                                               recomputed_total=90.0, grade="优", errors=0, warnings=0),
                inputs=[("unit_name", None, unit)], scores=[], messages=[])  # INPUT_COLUMNS


def write(engine, root: Path, cand: Candidate, r: Rows | None) -> None:
    with Session(engine) as s, s.begin():
        _write_one(s, root, cand, r)


def state(engine) -> dict[str, tuple[bool, str | None]]:
    with engine.connect() as conn:
        subs = conn.execute(select(Submission.id, Submission.sha256, Submission.is_current,
                                   Submission.superseded_by)).all()
    by_id = {s.id: s.sha256 for s in subs}
    return {s.sha256: (s.is_current, by_id.get(s.superseded_by)) for s in subs}


def fresh_engine(tmp_path: Path, name: str):
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    upgrade(engine)
    return engine


VERSIONS = [  # (content, Date): undated ones are older than dated ones; equal Dates by sha256
    (b"v-undated-1", None), (b"v-undated-2", None), (b"v-early", T0), (b"v-same-a", T0 + timedelta(days=1)),
    (b"v-same-b", T0 + timedelta(days=1)), (b"v-late", T0 + timedelta(days=9)),
]


def test_the_chain_is_the_same_in_every_order(tmp_path: Path) -> None:
    orders = [list(VERSIONS), list(reversed(VERSIONS))] + [random.Random(i).sample(VERSIONS, len(VERSIONS))
                                                          for i in range(4)]
    results = []
    for n, order in enumerate(orders):
        engine = fresh_engine(tmp_path, f"{n}.db")
        for data, when in order:
            write(engine, tmp_path / f"a{n}", Candidate.of(f"{data.decode()}.eml", "甲.xlsx", data, when), rows("甲单位"))
        # a unit without a year, and an unreadable file: no part in currency
        write(engine, tmp_path / f"a{n}", Candidate.of("x.xlsx", "x.xlsx", b"no-year"), rows("甲单位", None))
        write(engine, tmp_path / f"a{n}", Candidate.of("y.xlsx", "y.xlsx", b"bad"), rows(None, None, "unreadable"))
        results.append(state(engine))
        engine.dispose()
    assert all(r == results[0] for r in results)
    chain = results[0]
    ordered = sorted(VERSIONS, key=lambda v: currency.version_key("accepted", "u", 2021, v[1], _sha(v[0])))
    shas = [_sha(d) for d, _w in ordered]
    assert [d for d, _w in ordered][0].startswith(b"v-undated") and ordered[-1][0] == b"v-late"
    for older, newer in itertools.pairwise(shas):
        assert chain[older] == (False, newer)
    assert chain[shas[-1]] == (True, None)
    assert chain[_sha(b"no-year")] == (False, None) and chain[_sha(b"bad")] == (False, None)


def test_an_earlier_copy_moves_the_version_in_its_chain(tmp_path: Path) -> None:
    engine = fresh_engine(tmp_path, "a.db")
    root = tmp_path / "archive"
    write(engine, root, Candidate.of("1.eml", "a.xlsx", b"A", T0), rows("甲单位"))
    write(engine, root, Candidate.of("2.eml", "b.xlsx", b"B", T0 + timedelta(days=2)), rows("甲单位"))
    assert state(engine) == {_sha(b"A"): (False, _sha(b"B")), _sha(b"B"): (True, None)}
    # a copy of B dated before A: B was sent first, A is the newer version
    write(engine, root, Candidate.of("3.eml", "b.xlsx", b"B", T0 - timedelta(days=1)), None)
    assert state(engine) == {_sha(b"B"): (False, _sha(b"A")), _sha(b"A"): (True, None)}
    engine.dispose()


def test_work_per_file_does_not_grow_with_the_history(tmp_path: Path) -> None:
    engine = fresh_engine(tmp_path, "a.db")
    root = tmp_path / "archive"
    statements: list[tuple[str, object]] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append((a[2], a[3])))

    def count(i: int) -> int:
        statements.clear()
        write(engine, root, Candidate.of(f"{i}.eml", "a.xlsx", b"v%d" % i, T0 + timedelta(hours=i)), rows("甲单位"))
        return len(statements)

    per_file = [count(i) for i in range(300)]
    assert per_file[5] == per_file[50] == per_file[299], per_file[:10]
    # and every statement about the chain goes through the index, not a scan of the unit's history
    recorded = list(statements)
    with engine.connect() as conn:
        plans = [" ".join(r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
                 for sql, params in recorded if "version_key <" in sql or "version_key >" in sql]
    assert plans and all("ix_submissions_unit_year_version" in p for p in plans), plans
    assert state(engine)[_sha(b"v299")] == (True, None)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return fresh_database(request.getfixturevalue("postgres_url"), f"jx_{uuid.uuid4().hex[:16]}")


@pytest.mark.parametrize("before", ["0001", "0002"])
def test_migration_links_an_existing_database(db_url: str, before: str) -> None:
    """A database written before the chain (every earlier version pointing at the current one),
    at revision 0001 or 0002 (the receipt key), is relinked by migration 0003."""
    from alembic import command
    from alembic.config import Config

    from jixiao.importer.schema import MIGRATIONS

    engine = make_engine(db_url)
    with engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, before)
    assert "version_key" not in {c["name"] for c in inspect(engine).get_columns("submissions")}
    subs = Submission.__table__
    cols = dict(original_name="a.xlsx", status="accepted", unit_name="甲单位", year=2021, errors=0, warnings=0,
                archive_path="x")
    with engine.begin() as conn:
        ids = {}
        for name, when, current in (("a", T0, False), ("b", T0 + timedelta(days=1), False),
                                    ("c", T0 + timedelta(days=2), True)):
            ids[name] = conn.execute(insert(subs).values(  # the columns 0001/0002 have
                sha256=_sha(name.encode()), received_at=when, is_current=current, **cols)
                .returning(subs.c.id)).scalar()
        conn.execute(text("UPDATE submissions SET superseded_by = :c WHERE id IN (:a, :b)"), ids)
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert state(engine) == {_sha(b"a"): (False, _sha(b"b")), _sha(b"b"): (False, _sha(b"c")),
                             _sha(b"c"): (True, None)}
    with engine.connect() as conn:
        assert all(conn.execute(select(Submission.version_key)).scalars())
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    names = {i["name"] for i in inspect(engine).get_indexes("submissions")} | \
        {i["name"] for i in inspect(engine).get_indexes("receipts")}
    assert {"ix_submissions_unit_year_version", "uq_receipts_key"} <= names
    engine.dispose()


def test_a_fresh_database_has_both_migrations(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    assert {"version_key"} <= {c["name"] for c in inspect(engine).get_columns("submissions")}
    assert {"key", "source_bytes"} <= {c["name"] for c in inspect(engine).get_columns("receipts")}
    engine.dispose()


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("when", [None, T0])
def test_version_keys_sort_undated_first(when) -> None:
    undated = currency.version_key("accepted", "u", 2021, None, "f" * 64)
    dated = currency.version_key("accepted", "u", 2021, T0, "0" * 64)
    assert undated < dated
    assert currency.version_key("unreadable", "u", 2021, when, "a" * 64) is None
    assert currency.version_key("accepted", None, 2021, when, "a" * 64) is None
