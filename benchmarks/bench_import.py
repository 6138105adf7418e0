#!/usr/bin/env python
"""Throughput and memory of ``jixiao import``, end to end, beside a naive baseline.

    python benchmarks/bench_import.py              # N = 1000, then 5×N (about 2 minutes on 2 cores)
    python benchmarks/bench_import.py --n 200      # a smaller batch
    python benchmarks/bench_import.py --no-scale   # skip the 5×N run

1. N distinct workbooks are generated into a temporary folder (timed apart, not counted): two
   real workbooks are built from the Futian sample (one that passes every cross-check, one with
   Futian's two warnings), then each file gets its own unit name by rewriting that cell in the
   .xlsx (zip surgery, a few ms per file; ``build_workbook`` takes ~0.15 s).
2. ``python -m jixiao.cli import DIR --db sqlite:///… --quiet`` runs as a subprocess into a fresh
   SQLite database with ``--jobs`` left at its default (all cores): every file is checked,
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

    def make(self, unit: str, kind: str) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for info, data in self.parts[kind]:
                if info.filename == "xl/worksheets/sheet2.xml":
                    data = data.replace(self.name, unit.encode())
                zf.writestr(copy.copy(info), data)
        return out.getvalue()


def generate(variants: Variants, folder: Path, n: int, tag: str) -> float:
    """n distinct workbooks, one in four with warnings; returns the seconds it took."""
    start = time.perf_counter()
    folder.mkdir(parents=True)
    for i in range(n):
        kind = "warned" if i % 4 == 3 else "good"
        (folder / f"{tag}-{i:06d}.xlsx").write_bytes(variants.make(f"基准单位{tag}{i:06d}", kind))
    return time.perf_counter() - start


# --------------------------------------------------------------------------- the import, measured

@dataclass
class Run:
    label: str
    files: int
    seconds: float
    max_rss_mb: float      # the largest single process (ru_maxrss)
    tree_peak_mb: float    # the summed resident sets of the process group, sampled

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


def run_import(label: str, folder: Path, work: Path, jobs: int | None, expected: int) -> Run:
    work.mkdir(parents=True)
    url = f"sqlite:///{work / 'jixiao.db'}"
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
    _verify(label, work, expected)
    return Run(label, expected, seconds, usage.ru_maxrss * 1024 / MB, peak / MB)


def _verify(label: str, work: Path, expected: int) -> None:
    """Everything really done: submissions, receipts, 21 scores each, the originals archived."""
    con = sqlite3.connect(work / "jixiao.db")
    try:
        subs, receipts, scores, bad = con.execute(
            "SELECT (SELECT count(*) FROM submissions), (SELECT count(*) FROM receipts), "
            "(SELECT count(*) FROM indicator_scores), "
            "(SELECT count(*) FROM submissions WHERE status NOT IN ('accepted', 'accepted_with_warnings'))").fetchone()
    finally:
        con.close()
    archived = sum(1 for p in (work / "jixiao-archive").rglob("*.xlsx") if p.is_file())
    if (subs, receipts, scores, bad, archived) != (expected, expected, 21 * expected, 0, expected):
        sys.exit(f"{label}: incomplete import: {subs} submissions, {receipts} receipts, {scores} scores, "
                 f"{bad} not accepted, {archived} archived; expected {expected} each")


# --------------------------------------------------------------------------- the naive baseline

def naive(files: list[Path], db: Path) -> float:
    """openpyxl load + inputs by defined name + sqlite3 insert, one file after the other."""
    fields = set(load_framework().fields)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE submissions (id INTEGER PRIMARY KEY, file TEXT, unit_name TEXT, year INTEGER)")
    con.execute("CREATE TABLE inputs (submission_id INTEGER, field_id TEXT, value_number REAL, value_text TEXT, "
                "PRIMARY KEY (submission_id, field_id))")
    con.commit()
    start = time.perf_counter()
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
    seconds = time.perf_counter() - start
    n = con.execute("SELECT count(*) FROM submissions").fetchone()[0]
    con.close()
    assert n == len(files)
    return len(files) / seconds


# --------------------------------------------------------------------------- report

def mark(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="workbooks in the batch (default 1000)")
    parser.add_argument("--jobs", type=int, default=None, help="--jobs for jixiao import (default: all cores)")
    parser.add_argument("--scale", type=int, default=5, help="also import scale × N files (default 5)")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale × N run")
    parser.add_argument("--baseline-sample", type=int, default=100, help="files timed for the naive baseline")
    args = parser.parse_args(argv)
    n, cores = args.n, os.cpu_count() or 1
    jobs = args.jobs or cores
    print(f"jixiao import benchmark: N = {n}, --jobs {args.jobs or f'default ({cores} cores)'}, window = {jobs * 8} "
          f"files in flight; Python {platform.python_version()}, {platform.machine()}", file=sys.stderr)
    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-import-"))
    try:
        variants = Variants()
        gen = generate(variants, tmp / "in", n, "n")
        log(f"generated {n} workbooks in {gen:.1f} s ({gen / n * 1000:.1f} ms each, not counted)")
        (tmp / "one").mkdir()
        shutil.copy(tmp / "in" / "n-000000.xlsx", tmp / "one")

        one = run_import("1 file", tmp / "one", tmp / "db-one", args.jobs, 1)
        log(f"1-file import: {one.seconds:.2f} s (start-up, schema, pool warm-up)")
        main_run = run_import(f"N = {n}", tmp / "in", tmp / "db-n", args.jobs, n)
        log(f"imported {n} in {main_run.seconds:.1f} s")

        sample = sorted((tmp / "in").iterdir())[: min(n, args.baseline_sample)]
        naive_rate = naive(sample, tmp / "naive.db")
        log(f"naive baseline: {naive_rate:.1f} workbooks/s on {len(sample)} files")

        runs = [main_run]
        if not args.no_scale and args.scale > 1:
            big = n * args.scale
            shutil.rmtree(tmp / "db-n")
            gen_big = generate(variants, tmp / "in-big", big, "s")
            log(f"generated {big} workbooks in {gen_big:.1f} s (not counted)")
            runs.append(run_import(f"{args.scale}×N = {big}", tmp / "in-big", tmp / "db-big", args.jobs, big))
            log(f"imported {big} in {runs[-1].seconds:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_after = os.getloadavg()[0]

    header = ("run", "files", "wall s", "workbooks/s", "steady /s", "× naive", "max RSS 1 proc", "peak RSS all procs")
    rows = [("naive baseline (1 process)", f"{len(sample)}", f"{len(sample) / naive_rate:.1f}",
             f"{naive_rate:.1f}", "", "1.0", "", "")]
    for r in runs:
        steady = (r.files - 1) / max(r.seconds - one.seconds, 1e-9)
        rows.append((f"jixiao import, {r.label}", str(r.files), f"{r.seconds:.1f}", f"{r.rate:.1f}", f"{steady:.1f}",
                     f"{r.rate / naive_rate:.1f}", f"{r.max_rss_mb:.0f} MB", f"{r.tree_peak_mb:.0f} MB"))
    rows.append(("jixiao import, 1 file (fixed cost)", "1", f"{one.seconds:.2f}", "", "", "",
                 f"{one.max_rss_mb:.0f} MB", f"{one.tree_peak_mb:.0f} MB"))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print()
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    print()
    goals = [(f"≥ {GOAL_RATE:.0f} workbooks/s ({runs[0].label})", runs[0].rate >= GOAL_RATE, f"{runs[0].rate:.1f}/s"),
             (f"≥ {GOAL_RATIO:.0f}× naive ({runs[0].label})", runs[0].rate / naive_rate >= GOAL_RATIO,
              f"{runs[0].rate / naive_rate:.1f}×")]
    for r in runs:
        goals.append((f"peak memory < {GOAL_MB:.0f} MB, all processes ({r.label})", r.tree_peak_mb < GOAL_MB,
                      f"{r.tree_peak_mb:.0f} MB"))
    for name, ok, value in goals:
        print(f"- {name}: {value} — {mark(ok)}")
    if len(runs) > 1:
        growth = runs[1].tree_peak_mb - runs[0].tree_peak_mb
        print(f"- memory from {runs[0].files} to {runs[1].files} files: {growth:+.0f} MB (bounded by the window of "
              f"{jobs * 8} files in flight; files are read one at a time)")
    print(f"Goals met: {sum(ok for _n, ok, _v in goals)}/{len(goals)} (informational). "
          f"Naive rate measured on {len(sample)} files; {cores} cores; 1-min load average "
          f"{load_before:.2f} before, {load_after:.2f} after.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
