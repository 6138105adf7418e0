#!/usr/bin/env python
"""Where an import's CPU goes, per file: the writing main process, the workers, and the
workers' share beyond the check itself.

    python benchmarks/bench_import_split.py              # N = 1000, SQLite and PostgreSQL
    python benchmarks/bench_import_split.py --n 400 --no-postgres

1. N distinct workbooks are generated as in ``bench_import.py`` (not counted).
2. ``import_paths(folder, url, jobs)`` runs in this process: CPU of this process (the
   writer: walking and reading the sources, hashing, archiving, the database) and of the
   workers (``RUSAGE_CHILDREN``: the pool's workers are reaped when it closes), per file,
   beside the wall rate.  Module imports are done before and not counted; the pool's
   warm-up and the schema creation are.
3. The workers' share beyond the check: in this process, ``_check`` (open + check) and
   ``_check_rows`` (+ the rows) and the pickling of the reply, per file, over the same files
   (the fastest of three alternated loops each).
4. The writer alone: the rows computed first, then written (``_Writer``: 32 files per
   transaction, archiving included) into fresh databases, CPU per file, median of 3.
CPU times on a busy machine are inflated too, less than wall times: compare runs made
back to back.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    import jixiao  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench_import import PgServer, Variants, generate  # noqa: E402

from jixiao.importer import run  # noqa: E402
from jixiao.importer.sources import iter_sources  # noqa: E402


def _cpu(who: int) -> float:
    u = resource.getrusage(who)
    return u.ru_utime + u.ru_stime


def split(folder: Path, url: str, jobs: int, n: int) -> dict[str, float]:
    main0, kids0, wall0 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    stats = run.import_paths([folder], url, jobs=jobs)
    main1, kids1, wall1 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    assert stats.imported == n, stats
    return {"rate": n / (wall1 - wall0), "main": (main1 - main0) / n * 1000, "workers": (kids1 - kids0) / n * 1000}


def worker_share(folder: Path, n: int) -> dict[str, float]:
    run._warm_up()
    files = [(p.name, p.read_bytes()) for p in sorted(folder.iterdir())[:n]]
    for name, data in files[:10]:
        run._check_rows(name, data)

    def per_file(f) -> float:
        t = time.process_time()
        for name, data in files:
            f(name, data)
        return (time.process_time() - t) / len(files) * 1000

    def reply(name: str, data: bytes) -> bytes:
        return pickle.dumps((1, True, run._check_rows(name, data)), pickle.HIGHEST_PROTOCOL)

    # alternated, the fastest of three each: the differences are a few % of the check
    check, rows, sent = (min(x) for x in zip(*[(per_file(run._check), per_file(run._check_rows), per_file(reply))
                                               for _ in range(3)]))
    return {"check": check, "rows": rows - check, "pickle": sent - rows}


def writer_alone(folder: Path, url_for, n: int) -> float:
    cands = list(iter_sources([folder]))[:n]
    rows = [run._check_rows(c.original_name, c.data) for c in cands]
    times = []
    for i in range(3):
        work = Path(tempfile.mkdtemp(prefix="jixiao-split-"))
        engine = run.make_engine(url_for(work, i))
        run.upgrade(engine)
        stats = run.ImportStats()
        writer = run._Writer(engine, work / "archive", stats, lambda: None, set())
        t = time.process_time()
        for cand, r in zip(cands, rows):
            writer.add(cand, r)
        writer.flush()
        times.append((time.process_time() - t) / len(cands) * 1000)
        engine.dispose()
        shutil.rmtree(work)
        assert stats.imported == len(cands), stats
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    from jixiao.checker import check  # noqa: F401 - imported before anything is timed

    tmp = Path(tempfile.mkdtemp(prefix="jixiao-split-"))
    pg = PgServer(Path(tempfile.mkdtemp(prefix="jixiao-split-pg-")) / "pg")
    load = os.getloadavg()[0]
    lines = []
    try:
        folder = tmp / "in"
        generate(Variants(), folder, args.n, "split")
        cwd = os.getcwd()
        os.chdir(tmp)  # PostgreSQL's archive goes to ./jixiao-archive
        try:
            urls = [("SQLite", lambda work, i: f"sqlite:///{work / 'j.db'}")]
            if not args.no_postgres and pg.start():
                urls.append(("PostgreSQL", lambda work, i: pg.database(f"split_{os.getpid()}_{i}_{work.name[-6:]}")))
            for db, url_for in urls:
                work = Path(tempfile.mkdtemp(prefix="jixiao-split-", dir=tmp))
                s = split(folder, url_for(work, 99), args.jobs, args.n)
                w = writer_alone(folder, url_for, min(args.n, 320))
                lines.append(f"{db}, {args.n} files, --jobs {args.jobs}: {s['rate']:.0f} wb/s wall; CPU per file: "
                             f"main process {s['main']:.2f} ms, workers {s['workers']:.2f} ms, all "
                             f"{s['main'] + s['workers']:.2f} ms; the writer alone (rows ready) {w:.2f} ms")
        finally:
            os.chdir(cwd)
        share = worker_share(folder, min(args.n, 300))
        lines.append(f"a worker's file, in-process: check {share['check']:.2f} ms, rows +{share['rows']:.3f} ms, "
                     f"pickling the reply +{share['pickle']:.3f} ms")
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(pg.base.parent, ignore_errors=True)
    print("\n".join(lines))
    print(f"1-min load average {load:.2f} before, {os.getloadavg()[0]:.2f} after; {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
