"""How fast `jixiao check` is: one command, one table, ratios against baselines measured in the
same run.

    python benchmarks/bench_check.py [--repeat 200]

Rows (all on the embedded Futian sample, in one process unless said):
- raw read: unzip + parse every sheet's XML (the floor for reading values and formulas);
- python-calamine: read every sheet's values (the fastest value reader available);
- openpyxl load_workbook: what a naive checker would pay before doing anything;
- check, with cached results: `check_file` (values, normalisation, 审核, recomputation and
  comparison, formula integrity, sheets and protection) — goal ≤ 5 ms;
- check, without cached results (an openpyxl re-save: formulas, no results) — goal ≤ 10 ms,
  the template's formulas being compiled once, not per file;
- check, distinct workbooks, each once: 64 units' workbooks with different figures
  (`benchmarks/corpus.py`), 8 checked first, then each of the other 56 once, as an import's
  worker does -- what a batch costs per file, the reader remembering only what other files
  share with it;
- the same 64 re-saved by LibreOffice (shared strings, its own XML): a file written by another
  program, as the bureau receives them (skipped without LibreOffice);
- check, nothing remembered: the Futian file with every memory of earlier files emptied first,
  what the first file of a process costs;
- the engine alone: every computed cell by the generated code (`engine.evaluate`, what a check
  runs) and by walking the expression trees (`engine.evaluate_tree`, the reference);
- `jixiao check FILE` as a whole process (`python -m jixiao check`, the console script's
  module) — goal ≤ 0.3 s (imports only what the command needs: no click, no rich console; the
  framework, the engine's program and the layout's positions from the cache) — beside
  `python -c pass`, the interpreter's own start, the package's bytecode compiled as pip would;
- the same with the framework cache off (JIXIAO_NO_CACHE=1): what parsing the YAML costs;
- the same through the click command (`python -m jixiao.cli check`): what click costs.

Medians of wall time, and of CPU time (process_time; for processes the children's user+system
time), which a busy machine inflates much less: compare the ratios.  The processes run in
turns, so that they share the machine's moods.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.etree import ElementTree


def median_ms(fn, repeat: int) -> tuple[float, float]:
    """(median wall ms, median CPU ms) of fn(); CPU of this process, or of the children it ran."""
    fn()  # warm up
    walls, cpus = [], []
    for _ in range(repeat):
        t, c, k = time.perf_counter(), time.process_time(), _children_cpu()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c + _children_cpu() - k)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def interleaved(fns, repeat: int) -> list[tuple[float, float]]:
    """median_ms of each of `fns`, run in turns (one of each, `repeat` times): on a VM whose
    speed drifts, the ratios between them are then measured in the same moments."""
    for fn in fns:
        fn()  # warm up
    walls: list[list[float]] = [[] for _ in fns]
    cpus: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t, c, k = time.perf_counter(), time.process_time(), _children_cpu()
            fn()
            walls[i].append(time.perf_counter() - t)
            cpus[i].append(time.process_time() - c + _children_cpu() - k)
    return [(statistics.median(w) * 1000, statistics.median(c) * 1000) for w, c in zip(walls, cpus)]


DISTINCT, WARM = 64, 8  # workbooks of different units; checked first, not timed


def forget() -> None:
    """Empty what the reader and checker remember of earlier files (as in a new process; the
    compiled framework stays, as its cache on disk would give it).  Tolerant of older code, so
    that this script can measure a checkout from before these memories existed."""
    import importlib

    for module, name in (("jixiao.xlsx.fragments", "_PROVEN"), ("jixiao.xlsx.fragments", "_FRAMES"),
                         ("jixiao.xlsx.sheet_scan", "_FORMULAS"),
                         ("jixiao.xlsx.reader", "_BOOKS"), ("jixiao.xlsx.reader", "_HEADS"),
                         ("jixiao.xlsx.styles", "_STYLES"), ("jixiao.xlsx.formula_text", "normalise_formula")):
        try:
            memory = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
        forget_all = getattr(memory, "cache_clear", None) or getattr(memory, "clear", None)
        if forget_all is not None:  # (an older checkout's plain function remembers nothing)
            forget_all()


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    # jixiao first: it selects openpyxl's UTF-8 writer before openpyxl is imported (see
    # jixiao/__init__.py); the other order writes every CJK character as &#NNNNN;
    from jixiao.checker.check import check_file
    from jixiao.data import load_data
    from jixiao.framework.loader import load_framework
    from jixiao.samples import sample_path
    from jixiao.workbook.generator import build_workbook
    from openpyxl import load_workbook
    from python_calamine import CalamineWorkbook

    tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-check-"))
    fw = load_framework()
    filled = tmp / "futian.xlsx"
    build_workbook(fw, load_data(fw, sample_path("futian"))).save(filled)
    uncached = tmp / "futian-no-cache.xlsx"
    load_workbook(filled).save(uncached)  # openpyxl keeps formulas, drops their results

    def raw_read() -> None:
        with zipfile.ZipFile(io.BytesIO(filled.read_bytes())) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/"):
                    ElementTree.fromstring(z.read(name))

    def calamine() -> None:
        wb = CalamineWorkbook.from_path(str(filled))
        for name in wb.sheet_names:
            wb.get_sheet_by_name(name).to_python()

    sys.path.insert(0, str(Path(__file__).parent))
    from corpus import build_distinct

    from jixiao.office import find_soffice
    from jixiao.verify.libreoffice_recalc import recalculate

    distinct = build_distinct(tmp / "distinct", DISTINCT, "c")
    soffice = find_soffice()
    resaved = list(recalculate(distinct, tmp / "lo", soffice=soffice, recalc=False).values()) if soffice else []
    for path in distinct + resaved:
        assert check_file(path).status != "unreadable", path

    def each_once(paths: list[Path]) -> tuple[float, float]:
        """Median (wall, CPU) ms of checking each file once, after a few others: as in an
        import, no file is ever checked twice, what is remembered comes from other files."""
        forget()
        for path in paths[:WARM]:
            check_file(path)
        walls, cpus = [], []
        for path in paths[WARM:]:
            t, c = time.perf_counter(), time.process_time()
            check_file(path)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        return statistics.median(walls) * 1000, statistics.median(cpus) * 1000

    def cold() -> None:
        forget()
        check_file(filled)

    r = args.repeat
    rows = [
        ("raw read: unzip + parse all sheet XML", median_ms(raw_read, r), None),
        ("python-calamine: all values", median_ms(calamine, r), None),
        ("openpyxl load_workbook", median_ms(lambda: load_workbook(filled), max(r // 10, 5)), None),
        ("check, with cached results", median_ms(lambda: check_file(filled), r), 5.0),
        ("check, without cached results", median_ms(lambda: check_file(uncached), r), 10.0),
        (f"check, {DISTINCT - WARM} distinct workbooks, each once", each_once(distinct), 5.0),
    ]
    if resaved:
        rows.append(("the same, re-saved by LibreOffice", each_once(resaved), None))
    rows.append(("check, nothing remembered (first file)", median_ms(cold, max(r // 4, 10)), None))
    from jixiao import engine

    inputs = load_data(fw, sample_path("futian"))
    assert engine.evaluate(fw, inputs) == engine.evaluate_tree(fw, inputs)
    engine_rows = [
        ("engine: every cell, generated code", median_ms(lambda: engine.evaluate(fw, inputs), r), None),
        ("engine: every cell, tree walked (reference)", median_ms(lambda: engine.evaluate_tree(fw, inputs), r), None),
    ]
    assert check_file(filled).recomputed_total == 94.79
    assert check_file(uncached).workbook_total == 94.79

    import os

    env = dict(os.environ)
    # run from a source tree: the child processes use the same code as this one
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__import__("jixiao").__file__).parents[1])]
                                        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    no_cache = dict(env, JIXIAO_NO_CACHE="1")

    # an installed package has its bytecode (pip compiles it at install); a source tree run with
    # PYTHONDONTWRITEBYTECODE=1 would compile every module in every process (~140 ms): compile once
    import compileall

    compileall.compile_dir(str(Path(__import__("jixiao").__file__).parent), quiet=1)

    def process(environ: dict[str, str], *cmd: str):
        return lambda: subprocess.run([sys.executable, *cmd], capture_output=True, check=False, env=environ)

    p = max(r // 10, 10)
    # (`python -m jixiao`: the quick entry point; a checkout from before it has only the click one)
    entry = "jixiao" if (Path(__import__("jixiao").__file__).parent / "__main__.py").exists() else "jixiao.cli"
    check = ["-m", entry, "check", str(filled)]
    processes = [("`python -c pass` (the interpreter's start)", process(env, "-c", "pass"), None),
                 ("`jixiao check` one file, whole process", process(env, *check), 300.0),
                 ("the same, framework cache off", process(no_cache, *check), None),
                 ("the same through click (-m jixiao.cli)", process(env, "-m", "jixiao.cli", *check[2:]), None)]
    rows += [(name, times, goal) for (name, _, goal), times in zip(processes, interleaved([f for _, f, _ in processes], p))]
    out = subprocess.run([sys.executable, "-m", entry, "check", "--json", str(filled)], capture_output=True,
                         env=env, check=False)
    assert b"94.79" in out.stdout, out.stderr.decode()[-2000:]

    base = rows[2][1][0]
    python = next(v for name, v, _ in rows if name.startswith("`python -c pass`"))
    whole = next(v for name, v, _ in rows if name.startswith("`jixiao check` one file"))
    no_cache_run = next(v for name, v, _ in rows if name.startswith("the same, framework cache off"))
    print(f"{'measurement':46} {'median ms':>10} {'CPU ms':>8} {'× openpyxl load':>16} {'goal':>16}")
    for name, (ms, cpu), goal in rows:
        verdict = "" if goal is None else f"≤ {goal:g} ms " + ("met" if ms <= goal else "NOT met")
        print(f"{name:46} {ms:10.2f} {cpu:8.2f} {ms / base:16.3f} {verdict:>16}")
    for name, (ms, cpu), _goal in engine_rows:
        print(f"{name:46} {ms:10.2f} {cpu:8.2f} {ms / base:16.3f}")
    print(f"\n`jixiao check` beyond the interpreter's start: {whole[0] - python[0]:.0f} ms wall, {whole[1] - python[1]:.0f} ms CPU; "
          f"the framework cache saves {no_cache_run[1] - whole[1]:.0f} ms CPU.")
    load = os.getloadavg()[0]
    print(f"1-min load average {load:.2f} on {os.cpu_count()} cores"
          + (" (busy: wall times inflated, compare CPU and ratios)" if load > (os.cpu_count() or 1) / 2 else ""))


if __name__ == "__main__":
    main()
