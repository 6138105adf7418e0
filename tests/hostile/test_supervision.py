"""Worker supervision and receipt idempotency under the worst a batch meets: a pool worker
killed (out of memory, a poison file), the main process killed alone, and two imports at once
over overlapping sets full of sources that yield no file (dangling links, a pipe).

Waits are bounded by deadlines: guards against a hang, not assertions on speed."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from pg_server import fresh_database, postgres_url  # noqa: F401
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_import import Variants

from jixiao.importer import run
from jixiao.importer.db import Receipt, make_engine
from jixiao.importer.run import import_paths

SRC = Path(__file__).parents[2] / "src"
DEADLINE = 300


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jixiao.db'}"
    return fresh_database(request.getfixturevalue("postgres_url"), f"jx_{uuid.uuid4().hex[:16]}")


@pytest.fixture(scope="module")
def variants() -> Variants:
    return Variants()


def workbooks(folder: Path, variants: Variants, n: int, prefix: str = "单位") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{prefix}{i:03d}.xlsx"
        path.write_bytes(variants.make(f"监督测试{prefix}{i:03d}"))
        paths.append(path)
    return paths


def receipts(url: str) -> list[Receipt]:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return list(s.scalars(select(Receipt)))
    except Exception:  # noqa: BLE001 - not created yet
        return []
    finally:
        engine.dispose()


def import_cli(url: str, *paths: Path, cwd: Path, jobs: int = 2) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "jixiao.cli", "import", *map(str, paths), "--db", url,
                             "--jobs", str(jobs), "--quiet"], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(SRC)), start_new_session=True)


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat and int(stat[1]) == pid and stat[0] != "Z":
                out.append(int(entry))
    return out


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def wait_for(condition, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the import ended before {what}: {proc.communicate()[1].decode()[-2000:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


# --------------------------------------------------------------------------- one worker dies

@pytest.mark.parametrize("jobs", [2, 1])
def test_a_poison_file_costs_only_itself(db_url: str, tmp_path: Path, variants: Variants, monkeypatch, jobs) -> None:
    """A file whose check kills its worker (deterministically: SIGKILL, as the OOM killer sends):
    one problem receipt for it, every other file imported, and a re-run does not retry it; with
    --jobs 1 too (one worker process, not the importing one)."""
    folder = tmp_path / "in"
    workbooks(folder, variants, 12)
    (folder / "毒.xlsx").write_bytes(variants.make("有毒的单位"))
    real = run._check

    def poisoned(name: str, data: bytes):
        if name == "毒.xlsx":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(name, data)

    monkeypatch.setattr(run, "_check", poisoned)  # the workers are forked: they inherit it
    monkeypatch.chdir(tmp_path)
    stats = import_paths([folder], db_url, jobs=jobs)
    assert (stats.given, stats.imported, stats.problems) == (13, 12, 1)
    rows = receipts(db_url)
    assert len(rows) == 13
    (poison,) = [r for r in rows if r.problem]
    assert poison.source == f"{folder}/毒.xlsx" and poison.sha256 and poison.submission_id is None
    assert "SIGKILL" in poison.problem and "进程" in poison.problem
    again = import_paths([folder], db_url, jobs=jobs)
    assert (again.already, again.imported, again.problems) == (13, 0, 0)
    assert len(receipts(db_url)) == 13


def test_a_worker_killed_from_outside(tmp_path: Path, variants: Variants) -> None:
    url = f"sqlite:///{tmp_path / 'jixiao.db'}"
    paths = workbooks(tmp_path / "in", variants, 80)
    proc = import_cli(url, tmp_path / "in", cwd=tmp_path)
    try:
        wait_for(lambda: len(receipts(url)) >= 5 and len(children(proc.pid)) >= 2, "work in progress", proc)
        victim = children(proc.pid)[0]
        os.kill(victim, signal.SIGKILL)
        _out, err = proc.communicate(timeout=DEADLINE)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0 and b"Traceback" not in err, err.decode()[-3000:]
    rows = receipts(url)
    assert sorted(r.source for r in rows) == sorted(map(str, paths))  # one receipt each, none lost
    problems = [r for r in rows if r.problem]
    assert len(problems) <= 1 and all("SIGKILL" in r.problem for r in problems)


# --------------------------------------------------------------------------- the main process dies

def test_killing_only_the_main_process_leaves_no_worker_behind(tmp_path: Path, variants: Variants) -> None:
    url = f"sqlite:///{tmp_path / 'jixiao.db'}"
    paths = workbooks(tmp_path / "in", variants, 80)
    proc = import_cli(url, tmp_path / "in", cwd=tmp_path)
    try:
        wait_for(lambda: len(receipts(url)) >= 3 and len(children(proc.pid)) >= 2, "work in progress", proc)
        workers = children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the main process only, not its group
        proc.wait(timeout=60)
        wait_for(lambda: not any(alive(w) for w in workers), "the workers to exit with their parent")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    left = len(receipts(url))
    assert left < len(paths), "the import was not interrupted: make the batch bigger"
    stats = import_paths([tmp_path / "in"], url, jobs=2)
    assert stats.already == left and stats.imported == len(paths) - left
    assert sorted(r.source for r in receipts(url)) == sorted(map(str, paths))


# --------------------------------------------------------------------------- two imports at once

def test_two_imports_of_overlapping_sets_leave_no_duplicate_receipt(db_url: str, tmp_path: Path,
                                                                    variants: Variants) -> None:
    """Sources that yield no file (dangling links, a pipe) once got a receipt per import."""
    shared, only = tmp_path / "共同", tmp_path / "仅一方"
    for folder, n in ((shared, 150), (only, 60)):
        folder.mkdir()
        for i in range(n):
            os.symlink(folder / f"不存在{i:03d}.xlsx", folder / f"断链{i:03d}.xlsx")
    os.mkfifo(shared / "管道.xlsx")
    files = workbooks(shared, variants, 6, prefix="共同单位")
    (tmp_path / "schema").mkdir()
    import_paths([], db_url, jobs=1)  # the schema first: this test is about receipts
    procs = [import_cli(db_url, shared, only, cwd=tmp_path, jobs=1),
             import_cli(db_url, only, shared, cwd=tmp_path, jobs=1)]
    outs = [p.communicate(timeout=DEADLINE) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e.decode()[-2000:] for _o, e in outs]
    rows = receipts(db_url)
    dup = {k: n for k, n in collections.Counter((r.source, r.sha256) for r in rows).items() if n > 1}
    assert not dup, f"{len(dup)} duplicated receipts"
    assert len(rows) == 150 + 60 + 1 + len(files)
    assert len({r.key for r in rows}) == len(rows)


# --------------------------------------------------------------------------- the pool itself

def _double(n: int) -> int:
    if n < 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return 2 * n


def _results(pool, tickets: list[int]) -> dict[int, object]:
    out: dict[int, object] = {}
    while len(out) < len(tickets):
        out.update(pool.wait_any())
    return out


def test_the_pool_blames_only_the_file_a_worker_died_on() -> None:
    from jixiao.importer.pool import CheckPool, WorkerDied

    with CheckPool(2, _double) as pool:
        tickets = [pool.submit(n) for n in (1, 2, -1, 3, 4)]
        results = _results(pool, tickets)
        assert [results[t] for t in tickets[:2] + tickets[3:]] == [2, 4, 6, 8]
        died = results[tickets[2]]
        assert isinstance(died, WorkerDied) and died.exitcode == -signal.SIGKILL and "SIGKILL" in died.message
        # workers killed while idle: replaced, and no file is blamed for it
        for pid in pool.pids:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not any(alive(p) for p in pool.pids), "the idle workers to die")
        tickets = [pool.submit(n) for n in range(6)]
        assert _results(pool, tickets) == {t: 2 * n for t, n in zip(tickets, range(6))}


# --------------------------------------------------------------------------- migration 0002

def test_migration_merges_receipts_duplicated_by_earlier_concurrent_imports(db_url: str) -> None:
    """A database written before the receipt key (revision 0001), with the duplicates two imports
    at once used to leave: upgraded, one receipt each, keyed, and the key enforced."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import insert, text
    from sqlalchemy.exc import IntegrityError

    from jixiao.importer.schema import MIGRATIONS, receipt_key, upgrade

    engine = make_engine(db_url)
    with engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with engine.begin() as conn:
        rows = [{"source": f"/收件/断链{i}.xlsx", "original_name": f"断链{i}.xlsx", "problem": "符号链接指向的文件不存在"}
                for i in (1, 1, 1, 2, 2, 3)]
        conn.execute(text("INSERT INTO receipts (source, original_name, problem) VALUES (:source, :original_name, "
                          ":problem)"), rows)
    upgrade(engine)
    upgrade(engine)  # idempotent
    got = receipts(db_url)
    assert sorted(r.source for r in got) == [f"/收件/断链{i}.xlsx" for i in (1, 2, 3)]
    assert all(r.key == receipt_key(r.source, None) for r in got)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(Receipt).values(source="/收件/断链1.xlsx", original_name="断链1.xlsx",
                                            problem="x", key=receipt_key("/收件/断链1.xlsx", None)))
    engine.dispose()
