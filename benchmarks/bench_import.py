#!/usr/bin/env python
"""Throughput and memory of ``jixiao import``, end to end, beside a naive baseline.

    python benchmarks/bench_import.py              # N = 1000 and 10×N, distinct and same unit, SQLite and PostgreSQL
    python benchmarks/bench_import.py --n 200      # a smaller batch
    python benchmarks/bench_import.py --no-scale   # skip the 10×N runs
    python benchmarks/bench_import.py --no-postgres

1. N distinct workbooks are generated into a temporary folder (timed apart, not counted): each
   built by the real generator from the Futian sample with its own figures (every amount times
   a factor of its own, its own narrative: ``benchmarks/corpus.py``), so that no two files
   share the rows and results two real units do not share (the reader remembers what files of
   a batch share: ``jixiao.xlsx.fragments``).  Above ``--distinct-max`` files (the 10×N run)
   that would take too long (~0.2 s a file), so those are copies of two workbooks with the unit
   name rewritten (zip surgery), as are the "same unit" resubmissions.
2. ``python -m jixiao.cli import DIR --db sqlite:///… --quiet`` runs as a subprocess into a fresh
   SQLite database with ``--jobs`` left at its default (the cores + 1): every file is checked,
   scored, stored (submission, inputs, 21 indicator scores, messages) and archived.  The wall
   time includes the interpreter start, the schema creation and the pool's warm-up; a 1-file
   import is timed too, and the "steady" column leaves that fixed cost out.  After each run the
   database and the archive are verified (N submissions and receipts, 21 scores each, N files).
3. Memory: the largest resident set of any one process of the import (``ru_maxrss`` from
   ``os.wait4``, which covers the reaped pool workers) and the peak of the summed resident sets
   of the whole process group (main process + pool workers), sampled from /proc every 20 ms.
4. The naive baseline, in this process: per file one ``openpyxl.load_workbook``, the inputs read
   through their defined names, one row per file and one per input inserted into sqlite3 and
   committed -- single process, no checking, scoring or archiving.  At ~0.1 s a file it is timed
   on a sample (``--baseline-sample``, 100 files) and its rate applied to N.
5. The same import with 5×N files (``--scale``), to show memory does not grow with the batch:
   files are read one at a time and at most ``jobs × 8`` are in flight (the window).

Goals (informational, the script exits 0): ≥ 300 workbooks/s, ≥ 10× the naive baseline, peak
memory < 500 MB.
"""

from __future__ import annotations

import argparse
import copy
import io
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

try:
    import jixiao  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from openpyxl import load_workbook

from jixiao.data import load_data
from jixiao.framework.loader import load_framework
from jixiao.samples import sample_path
from jixiao.workbook.generator import build_workbook

sys.path.insert(0, str(Path(__file__).parent))
from corpus import build_distinct  # noqa: E402

GOAL_RATE = 300.0
GOAL_RATIO = 10.0
GOAL_MB = 500.0
MB = 1024 * 1024


def log(msg: str) -> None:
    print(f"  … {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- generation

class Variants:
    """Distinct workbooks fast: two built once, then the unit name cell rewritten per file."""

    def __init__(self) -> None:
        fw = load_framework()
        futian = load_data(fw, sample_path("futian"))
        self.name = futian["unit_name"].encode()
        good = dict(futian, exec_public_actual=46.78, daily_public_budget=58.67)
        self.parts = {kind: self._parts(fw, data) for kind, data in (("good", good), ("warned", futian))}

    def _parts(self, fw, data) -> list[tuple[zipfile.ZipInfo, bytes]]:
        buf = io.BytesIO()
        build_workbook(fw, data).save(buf)
        with zipfile.ZipFile(buf) as zf:
            parts = [(copy.copy(i), zf.read(i.filename)) for i in zf.infolist()]
        assert any(self.name in d for i, d in parts if i.filename == "xl/worksheets/sheet2.xml")
        return parts

    def make(self, unit: str, kind: str, salt: str = "") -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for info, data in self.parts[kind]:
                if info.filename == "xl/worksheets/sheet2.xml":
                    data = data.replace(self.name, unit.encode())
                zf.writestr(copy.copy(info), data)
            zf.comment = salt.encode()  # another file (sha256), the same workbook
        return out.getvalue()


def generate(variants: Variants, folder: Path, n: int, tag: str, same_unit: bool = False) -> float:
    """n distinct workbooks, one in four with warnings; returns the seconds it took.  same_unit:
    n versions of one unit's workbook (resubmissions: distinct files, one unit and year)."""
    start = time.perf_counter()
    folder.mkdir(parents=True)
    for i in range(n):
        kind = "warned" if i % 4 == 3 else "good"
        unit = f"基准单位{tag}" if same_unit else f"基准单位{tag}{i:06d}"
        (folder / f"{tag}-{i:06d}.xlsx").write_bytes(variants.make(unit, kind, f"{tag}{i}"))
    return time.perf_counter() - start


# --------------------------------------------------------------------------- the import, measured

@dataclass
class Run:
    label: str
    files: int
    seconds: float
    max_rss_mb: float      # the largest single process (ru_maxrss)
    tree_peak_mb: float    # the summed resident sets of the process group, sampled
    cpu_seconds: float = 0.0  # user + system of the import and its reaped pool workers

    @property
    def cpu_ms_per_file(self) -> float:
        return self.cpu_seconds / self.files * 1000

    @property
    def rate(self) -> float:
        return self.files / self.seconds


def _group_rss(pgid: int) -> int:
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")  # rss in pages
        except (OSError, ValueError, IndexError):
            continue
    return total


def run_import(label: str, folder: Path, work: Path, jobs: int | None, expected: int, url: str | None = None,
               same_unit: bool = False) -> Run:
    work.mkdir(parents=True)
    url = url or f"sqlite:///{work / 'jixiao.db'}"
    cmd = [sys.executable, "-m", "jixiao.cli", "import", str(folder), "--db", url, "--quiet"]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    peak = 0
    stop = threading.Event()
    with open(work / "stderr.txt", "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)

        def sample() -> None:
            nonlocal peak
            while not stop.wait(0.02):
                peak = max(peak, _group_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        stop.set()
        sampler.join()
    if proc.returncode != 0:
        sys.exit(f"{label}: jixiao import exited {proc.returncode}:\n{(work / 'stderr.txt').read_text()[-3000:]}")
    _verify(label, url, work, expected, same_unit)
    return Run(label, expected, seconds, usage.ru_maxrss * 1024 / MB, peak / MB, usage.ru_utime + usage.ru_stime)


def _verify(label: str, url: str, work: Path, expected: int, same_unit: bool) -> None:
    """Everything really done: submissions, receipts, 21 scores each, the originals archived;
    resubmissions of one unit: exactly one current, every other pointing at a newer one."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as con:
            subs, receipts, scores, bad, current, linked = con.execute(text(
                "SELECT (SELECT count(*) FROM submissions), (SELECT count(*) FROM receipts), "
                "(SELECT count(*) FROM indicator_scores), "
                "(SELECT count(*) FROM submissions WHERE status NOT IN ('accepted', 'accepted_with_warnings')), "
                "(SELECT count(*) FROM submissions WHERE is_current), "
                "(SELECT count(*) FROM submissions WHERE superseded_by IS NOT NULL)")).one()
    finally:
        engine.dispose()
    archived = sum(1 for p in (work / "jixiao-archive").rglob("*.xlsx") if p.is_file())
    if (subs, receipts, scores, bad, archived) != (expected, expected, 21 * expected, 0, expected):
        sys.exit(f"{label}: incomplete import: {subs} submissions, {receipts} receipts, {scores} scores, "
                 f"{bad} not accepted, {archived} archived; expected {expected} each")
    want = (1, expected - 1) if same_unit else (expected, 0)
    if (current, linked) != want:
        sys.exit(f"{label}: {current} current and {linked} superseded submissions, expected {want}")


# --------------------------------------------------------------------------- PostgreSQL

class PgServer:
    """A throw-away PostgreSQL cluster (initdb in a temporary folder, Unix socket only, the
    server's default durability settings), or None if the binaries are missing."""

    def __init__(self, base: Path):
        import glob

        def find(name: str) -> str | None:
            found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
            return found[-1] if found else shutil.which(name)

        self.initdb, self.pg_ctl = find("initdb"), find("pg_ctl")
        self.base, self.data, self.sock = base, base / "data", base / "sock"
        self.url: str | None = None

    def _as_postgres(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd

    def start(self) -> str | None:
        if not self.initdb or not self.pg_ctl:
            return None
        self.base.mkdir(parents=True)
        self.sock.mkdir()
        if os.geteuid() == 0:
            self.base.parent.chmod(0o755)
            shutil.chown(self.base, "postgres")
            shutil.chown(self.sock, "postgres")
        subprocess.run(self._as_postgres([self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E",
                                          "UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True)
        opts = f"-k {self.sock} -p 5439 -c listen_addresses=''"
        subprocess.run(self._as_postgres([self.pg_ctl, "-D", str(self.data), "-o", opts, "-w", "-l",
                                          str(self.base / "log"), "start"]), check=True, capture_output=True)
        self.url = f"postgresql+psycopg://postgres@/postgres?host={self.sock}&port=5439"
        return self.url

    def database(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url.replace("@/postgres?", f"@/{name}?")

    def stop(self) -> None:
        if self.url:
            subprocess.run(self._as_postgres([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"]),
                           capture_output=True)


# --------------------------------------------------------------------------- the naive baseline

def naive(files: list[Path], db: Path) -> float:
    """openpyxl load + inputs by defined name + sqlite3 insert, one file after the other."""
    fields = set(load_framework().fields)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE submissions (id INTEGER PRIMARY KEY, file TEXT, unit_name TEXT, year INTEGER)")
    con.execute("CREATE TABLE inputs (submission_id INTEGER, field_id TEXT, value_number REAL, value_text TEXT, "
                "PRIMARY KEY (submission_id, field_id))")
    con.commit()
    start, cpu = time.perf_counter(), time.process_time()
    for path in files:
        wb = load_workbook(path)
        values = {}
        for name, defined in wb.defined_names.items():
            if name in fields:
                for sheet, coord in defined.destinations:
                    values[name] = wb[sheet][coord.replace("$", "")].value
        with con:
            sid = con.execute("INSERT INTO submissions (file, unit_name, year) VALUES (?, ?, ?)",
                              (path.name, values.get("unit_name"), values.get("year"))).lastrowid
            con.executemany("INSERT INTO inputs VALUES (?, ?, ?, ?)", [
                (sid, k, v if isinstance(v, (int, float)) else None, v if isinstance(v, str) else None)
                for k, v in values.items() if v is not None])
        wb.close()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    n = con.execute("SELECT count(*) FROM submissions").fetchone()[0]
    con.close()
    assert n == len(files)
    return len(files) / seconds, cpu / len(files) * 1000


# --------------------------------------------------------------------------- report

def mark(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="workbooks in the batch (default 1000)")
    parser.add_argument("--jobs", type=int, default=None, help="--jobs for jixiao import (default: its own, the cores + 1)")
    parser.add_argument("--scale", type=int, default=10, help="also import scale × N files (default 10)")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale × N runs")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL runs")
    parser.add_argument("--baseline-sample", type=int, default=100, help="files timed for the naive baseline")
    parser.add_argument("--distinct-max", type=int, default=1000,
                        help="batches up to this size get really distinct workbooks (default 1000)")
    args = parser.parse_args(argv)
    n, cores = args.n, os.cpu_count() or 1
    try:
        from jixiao.importer.run import default_jobs
    except ImportError:  # a checkout from before it: as many workers as cores
        def default_jobs() -> int:
            return cores
    jobs = args.jobs or default_jobs()
    print(f"jixiao import benchmark: N = {n}, --jobs {args.jobs or f'default ({jobs} workers, {cores} cores)'}; "
          f"Python {platform.python_version()}, {platform.machine()}", file=sys.stderr)
    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-import-"))
    pg = PgServer(Path(tempfile.mkdtemp(prefix="jixiao-bench-pg-")) / "pg")  # not under tmp: the server runs as postgres
    runs: list[tuple[str, Run]] = []  # (database, run)
    try:
        variants = Variants()
        (tmp / "one").mkdir()
        (tmp / "one" / "one.xlsx").write_bytes(variants.make("基准单位一", "good"))
        one = run_import("1 file (fixed cost)", tmp / "one", tmp / "db-one", args.jobs, 1)
        log(f"1-file import: {one.seconds:.2f} s (start-up, schema, pool warm-up)")

        sizes = [n] + ([n * args.scale] if not args.no_scale and args.scale > 1 else [])
        folders: dict[tuple[str, int], Path] = {}
        for size in sizes:
            for kind in ("distinct", "same unit"):
                folder = tmp / f"in-{kind.replace(' ', '-')}-{size}"
                if kind == "distinct" and size <= args.distinct_max:
                    started = time.perf_counter()
                    build_distinct(folder, size, f"d{size}")
                    gen, how = time.perf_counter() - started, "built with their own figures"
                else:
                    gen = generate(variants, folder, size, f"{kind[0]}{size}", same_unit=kind == "same unit")
                    how = "copied with the unit name rewritten"
                log(f"generated {size} {kind} workbooks in {gen:.1f} s, {how} (not counted)")
                folders[(kind, size)] = folder
                r = run_import(f"{kind}, {size}", folder, tmp / f"db-{kind[0]}-{size}", args.jobs, size,
                               same_unit=kind == "same unit")
                runs.append(("SQLite", r))
                log(f"SQLite {kind} {size}: {r.seconds:.1f} s, {r.rate:.0f}/s")
                shutil.rmtree(tmp / f"db-{kind[0]}-{size}")

        if not args.no_postgres and pg.start():
            for kind in ("distinct", "same unit"):
                url = pg.database(f"bench_{kind[0]}")
                r = run_import(f"{kind}, {n}", folders[(kind, n)], tmp / f"db-pg-{kind[0]}", args.jobs, n, url=url,
                               same_unit=kind == "same unit")
                runs.append(("PostgreSQL", r))
                log(f"PostgreSQL {kind} {n}: {r.seconds:.1f} s, {r.rate:.0f}/s")

        sample = sorted(folders[("distinct", n)].iterdir())[: min(n, args.baseline_sample)]
        naive_rate, naive_cpu_ms = naive(sample, tmp / "naive.db")
        log(f"naive baseline: {naive_rate:.1f} workbooks/s on {len(sample)} files")
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(pg.base.parent, ignore_errors=True)
    load_after = os.getloadavg()[0]

    header = ("database", "run", "files", "wall s", "workbooks/s", "steady /s", "× naive", "CPU ms/file",
              "× naive CPU", "max RSS 1 proc", "peak RSS all procs")
    rows = [("—", "naive baseline (1 process)", f"{len(sample)}", f"{len(sample) / naive_rate:.1f}",
             f"{naive_rate:.1f}", "", "1.0", f"{naive_cpu_ms:.1f}", "1.0", "", "")]
    for db, r in runs:
        steady = (r.files - 1) / max(r.seconds - one.seconds, 1e-9)
        rows.append((db, r.label, str(r.files), f"{r.seconds:.1f}", f"{r.rate:.1f}", f"{steady:.1f}",
                     f"{r.rate / naive_rate:.1f}", f"{r.cpu_ms_per_file:.1f}", f"{naive_cpu_ms / r.cpu_ms_per_file:.1f}",
                     f"{r.max_rss_mb:.0f} MB", f"{r.tree_peak_mb:.0f} MB"))
    rows.append(("SQLite", one.label, "1", f"{one.seconds:.2f}", "", "", "", f"{one.cpu_seconds * 1000:.0f}", "",
                 f"{one.max_rss_mb:.0f} MB", f"{one.tree_peak_mb:.0f} MB"))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print()
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    print()

    def find(db: str, kind: str, size: int) -> Run | None:
        return next((r for d, r in runs if d == db and r.label == f"{kind}, {size}"), None)

    distinct, same = find("SQLite", "distinct", n), find("SQLite", "same unit", n)
    goals = [(f"≥ {GOAL_RATE:.0f} workbooks/s (SQLite, distinct, {n})", distinct.rate >= GOAL_RATE,
              f"{distinct.rate:.1f}/s"),
             (f"≥ {GOAL_RATIO:.0f}× naive (SQLite, distinct, {n})", distinct.rate / naive_rate >= GOAL_RATIO,
              f"{distinct.rate / naive_rate:.1f}×")]
    for db in ("SQLite", "PostgreSQL"):
        for size in sizes:
            d, s_ = find(db, "distinct", size), find(db, "same unit", size)
            if d and s_:
                goals.append((f"same unit ≥ 0.8 × distinct ({db}, {size})", s_.rate >= 0.8 * d.rate,
                              f"{s_.rate / d.rate:.2f}×"))
    for db, r in runs:
        goals.append((f"peak memory < {GOAL_MB:.0f} MB, all processes ({db}, {r.label})", r.tree_peak_mb < GOAL_MB,
                      f"{r.tree_peak_mb:.0f} MB"))
    big = find("SQLite", "distinct", sizes[-1]) if len(sizes) > 1 else None
    if big is not None:
        slope = (big.tree_peak_mb - distinct.tree_peak_mb) / (big.files - distinct.files)
        # a peak that did not grow (the two runs' noise can even make it shrink) extrapolates to
        # the larger of the two peaks, not to less than was measured
        at_100k = max(big.tree_peak_mb, distinct.tree_peak_mb) + max(slope, 0.0) * (100_000 - big.files)
        goals.append((f"peak memory < {GOAL_MB:.0f} MB at 100,000 files (EXTRAPOLATED linearly from {n} and "
                      f"{big.files}: {slope * 1000:+.2f} MB per 1,000 files"
                      f"{', i.e. flat' if slope <= 0 else ''})", at_100k < GOAL_MB, f"{at_100k:.0f} MB"))
    for name, ok, value in goals:
        print(f"- {name}: {value} — {mark(ok)}")
    print(f"- CPU per file, all processes (SQLite, distinct, {n}): {distinct.cpu_ms_per_file:.1f} ms, i.e. "
          f"{cores} idle cores could take at most {cores * 1000 / distinct.cpu_ms_per_file:.0f} workbooks/s")
    print(f"Goals met: {sum(ok for _n, ok, _v in goals)}/{len(goals)} (informational). "
          f"Naive rate measured on {len(sample)} files; {cores} cores; 1-min load average "
          f"{load_before:.2f} before, {load_after:.2f} after{' (the machine was busy: compare ratios)' if max(load_before, load_after) > cores / 2 else ''}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
