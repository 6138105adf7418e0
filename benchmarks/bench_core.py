#!/usr/bin/env python
"""Core timings of jixiao, with baselines measured in the same run.

    python benchmarks/bench_core.py              # full run (about a minute on 2 cores)
    python benchmarks/bench_core.py --quick      # fewer repeats, no LibreOffice batch
    python benchmarks/bench_core.py --json OUT   # also write the results as JSON

Measures, on the embedded Futian sample (福田 2021, reported total 94.79):

1. template generation in-process: ``build_workbook(fw)`` + save to BytesIO,
   and the same for the filled sample;
2. one scorecard in the Python engine: ``score(fw, inputs)``;
3. the ``formulas`` package: ``evaluate_file`` (load + compile + calculate)
   of the filled workbook, compiling the template once (``CompiledWorkbook``),
   and ``CompiledWorkbook.calculate`` with the sample's inputs;
4. LibreOffice headless recalculation of the filled workbook, one file per
   call and per file in a batch of 20;
5. baselines: openpyxl ``Workbook()`` writing the same cell values (no
   styles, validations or names) and saving to BytesIO -- a floor for
   generation -- and openpyxl ``load_workbook`` of the filled workbook.

Every measurement is warmed up first, then repeated; the table shows the
median time per call (and min-max over the repeats), its ratio to the engine
scorecard and to its openpyxl baseline, and whether the goal is met.  Goals
are informational: the script exits 0 whether or not they are met.  Calls
faster than ~0.1 s are looped within each repeat (``timeit``), with the
garbage collector enabled, as in real use.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

try:
    import jixiao  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import openpyxl
from openpyxl import Workbook, load_workbook

from jixiao.data import load_data
from jixiao.engine import score
from jixiao.framework.loader import load_framework
from jixiao.verify.libreoffice_recalc import RecalcError, find_soffice, recalculate
from jixiao.samples import REPORTED_TOTALS, sample_path
from jixiao.workbook.generator import build_workbook

SAMPLE = "futian"
BATCH = 20
GOAL_GENERATION_S = 0.3
GOAL_SCORE_S = 0.001
#: 1-min load average from which another workload is assumed to compete with the run
BUSY_LOAD = 0.5 * (os.cpu_count() or 1) + 1


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------


@dataclass
class Result:
    key: str
    label: str
    median_s: float | None = None
    min_s: float | None = None
    max_s: float | None = None
    repeats: int = 0
    number: int = 0  # calls per repeat
    baseline: str | None = None  # key of the openpyxl baseline row
    goal_s: float | None = None
    note: str = ""
    skipped: str = ""  # why it was not measured
    ratio_engine: float | None = None
    ratio_baseline: float | None = None
    goal_met: bool | None = None
    samples_s: list[float] = field(default_factory=list)


def measure(
    fn: Callable[[], Any],
    *,
    repeats: int,
    warmup: int = 1,
    per_call: int = 1,
    loop_target_s: float = 0.1,
) -> dict[str, Any]:
    """Median/min/max seconds per call of ``fn`` over ``repeats`` repeats.

    ``fn`` is called ``warmup`` times first.  A call faster than
    ``loop_target_s`` is looped so that each repeat lasts about that long.
    ``per_call``: ``fn`` does this many units of work (the batch size), the
    times are divided by it.  The garbage collector stays on (timeit
    would switch it off), as in real use.
    """
    started = time.perf_counter()
    for _ in range(warmup):
        fn()
    one = (time.perf_counter() - started) / max(warmup, 1)
    number = 1 if one >= loop_target_s or warmup == 0 else max(1, int(loop_target_s / max(one, 1e-9)))
    timer = timeit.Timer(fn, setup=gc.enable)
    times = []
    for _ in range(repeats):
        gc.collect()
        times.append(timer.timeit(number) / number / per_call)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "repeats": repeats,
        "number": number,
        "samples_s": times,
    }


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------


def fmt_time(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms" if s < 0.1 else f"{s * 1e3:.0f} ms"
    return f"{s:.2f} s"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    if r >= 100:
        return f"{r:,.0f}×"
    if r >= 10:
        return f"{r:.0f}×"
    return f"{r:.2f}×" if r < 1 else f"{r:.1f}×"


def fmt_goal(r: Result) -> str:
    if r.goal_s is None:
        return ""
    if r.goal_met is None:
        return f"≤ {fmt_time(r.goal_s)}: not measured"
    return f"≤ {fmt_time(r.goal_s)}: " + ("met" if r.goal_met else "**NOT met**")


def table(results: list[Result]) -> str:
    head = ["#", "measurement", "median", "min – max", "runs", "× engine", "× openpyxl", "goal"]
    row_of = {r.key: i for i, r in enumerate(results, 1)}
    rows = []
    for i, r in enumerate(results, 1):
        label = r.label + (f" ({r.note})" if r.note else "")
        if r.skipped:
            rows.append([str(i), label, "skipped", r.skipped, "", "", "", fmt_goal(r)])
            continue
        rows.append(
            [
                str(i),
                label,
                fmt_time(r.median_s),
                f"{fmt_time(r.min_s)} – {fmt_time(r.max_s)}",
                f"{r.repeats}×{r.number}",
                fmt_ratio(r.ratio_engine),
                fmt_ratio(r.ratio_baseline) + (f" of #{row_of[r.baseline]}" if r.ratio_baseline is not None else ""),
                fmt_goal(r),
            ]
        )
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _soffice_version(exe: str | None) -> str | None:
    if exe is None:
        return None
    with tempfile.TemporaryDirectory(prefix="jixiao-bench-lo-") as tmp:
        try:
            out = subprocess.run(
                [exe, f"-env:UserInstallation={Path(tmp).as_uri()}", "--version"],
                capture_output=True, text=True, timeout=60,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "unknown"
    return out or "unknown"


def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(soffice: str | None) -> dict[str, Any]:
    from importlib.metadata import version

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus_usable": usable,
        "openpyxl": openpyxl.__version__,
        "formulas": version("formulas"),  # without importing it (slow)
        "libreoffice": _soffice_version(soffice),
        "git_commit": _git_commit(),
    }


# ---------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------


def cell_snapshot(wb: Workbook) -> list[tuple[str, list[tuple[int, int, Any]]]]:
    """Every non-empty cell value of ``wb``, sheet by sheet (formulas as ``=...`` text)."""
    return [
        (ws.title, [(c.row, c.column, c.value) for row in ws.iter_rows() for c in row if c.value is not None])
        for ws in wb.worksheets
    ]


def raw_openpyxl(snapshot) -> bytes:
    """The openpyxl floor: a plain Workbook() with the same cell values, saved."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, cells in snapshot:
        ws = wb.create_sheet(title)
        for row, col, value in cells:
            ws.cell(row=row, column=col, value=value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def run(quick: bool) -> tuple[list[Result], dict[str, Any], dict[str, Any]]:
    fast_repeats = 3 if quick else 7
    slow_repeats = 2 if quick else 3  # calls of 1-2 s
    loop_target = 0.05 if quick else 0.1

    t0 = time.perf_counter()
    fw = load_framework()
    data = load_data(fw, sample_path(SAMPLE))
    first_load_s = time.perf_counter() - t0

    tpl = build_workbook(fw)
    filled = build_workbook(fw, data)
    tpl_cells, filled_cells = cell_snapshot(tpl.workbook), cell_snapshot(filled.workbook)
    n_tpl = sum(len(c) for _, c in tpl_cells)
    n_filled = sum(len(c) for _, c in filled_cells)
    n_formulas = sum(len(v) for v in filled.cached.values())
    tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
    results: list[Result] = []
    checks: dict[str, Any] = {}
    by_key: dict[str, Result] = {}

    def add(r: Result, stats: dict[str, Any] | None = None) -> Result:
        if stats:
            for k, v in stats.items():
                setattr(r, k, v)
        results.append(r)
        by_key[r.key] = r
        return r

    def progress(msg: str) -> None:
        print(f"  … {msg}", file=sys.stderr, flush=True)

    try:
        tpl_path, filled_path = tmp / "template.xlsx", tmp / f"{SAMPLE}.xlsx"
        tpl.save(tpl_path)
        filled.save(filled_path)

        # -- baselines and generation ----------------------------------------
        progress("generation and openpyxl baselines")

        def gen_template():
            buf = io.BytesIO()
            build_workbook(fw).save(buf)

        def gen_filled():
            buf = io.BytesIO()
            build_workbook(fw, data).save(buf)

        add(Result("openpyxl_write_template", f"openpyxl floor: Workbook(), the template's {n_tpl} cell values, save"),
            measure(lambda: raw_openpyxl(tpl_cells), repeats=fast_repeats, loop_target_s=loop_target))
        add(Result("openpyxl_write_filled", f"openpyxl floor: Workbook(), the filled sample's {n_filled} cell values, save"),
            measure(lambda: raw_openpyxl(filled_cells), repeats=fast_repeats, loop_target_s=loop_target))
        add(Result("openpyxl_load_filled", "openpyxl load_workbook(filled .xlsx)"),
            measure(lambda: load_workbook(filled_path).close(), repeats=fast_repeats, loop_target_s=loop_target))
        add(Result("generate_template", "template: build_workbook(fw) + save", baseline="openpyxl_write_template",
                   goal_s=GOAL_GENERATION_S),
            measure(gen_template, repeats=fast_repeats, loop_target_s=loop_target))
        add(Result("generate_filled", f"filled {SAMPLE}: build_workbook(fw, data) + save", baseline="openpyxl_write_filled",
                   goal_s=GOAL_GENERATION_S),
            measure(gen_filled, repeats=fast_repeats, loop_target_s=loop_target))

        # -- engine ------------------------------------------------------------
        progress("Python engine")
        card = score(fw, data)
        checks["engine_total"] = card.total
        add(Result("engine_score", f"engine score(fw, inputs), {SAMPLE}", goal_s=GOAL_SCORE_S),
            measure(lambda: score(fw, data), repeats=fast_repeats, warmup=20, loop_target_s=max(loop_target, 0.2)))

        # -- formulas ----------------------------------------------------------
        progress("formulas package (import, evaluate_file, compile, calculate)")
        t0 = time.perf_counter()
        from jixiao.verify.formulas_oracle import CompiledWorkbook, cell_key, evaluate_file

        import_formulas_s = time.perf_counter() - t0
        total_place = filled.computed["total"]
        evaluated = evaluate_file(filled_path)
        checks["formulas_evaluate_file_total"] = evaluated[total_place.sheet][total_place.coord]
        add(Result("formulas_evaluate_file", "formulas evaluate_file(filled .xlsx)", baseline="openpyxl_load_filled",
                    note="load + compile + calculate"),
            measure(lambda: evaluate_file(filled_path), repeats=slow_repeats, warmup=0))
        add(Result("formulas_compile", "formulas CompiledWorkbook(template .xlsx)", baseline="openpyxl_load_filled",
                   note="compile once"),
            measure(lambda: CompiledWorkbook(tpl_path), repeats=slow_repeats, warmup=0))
        compiled = CompiledWorkbook(tpl_path)
        inputs = {cell_key(tpl.inputs[fid].sheet, tpl.inputs[fid].coord): v for fid, v in data.items()}
        total_key = cell_key(total_place.sheet, total_place.coord)
        checks["formulas_calculate_total"] = compiled.calculate(inputs)[total_key]
        add(Result("formulas_calculate", "formulas CompiledWorkbook.calculate(inputs)",
                   note=f"{SAMPLE} inputs, all {len(compiled.formula_keys)} formula cells"),
            measure(lambda: compiled.calculate(inputs), repeats=fast_repeats, loop_target_s=loop_target))

        # -- LibreOffice -------------------------------------------------------
        soffice = find_soffice()
        lo_one = Result("libreoffice_one", "LibreOffice recalculate([filled .xlsx])", baseline="openpyxl_load_filled",
                        note="1 file per call")
        lo_batch = Result("libreoffice_batch", f"LibreOffice recalculate(batch of {BATCH}), per file",
                          baseline="openpyxl_load_filled", note=f"total ÷ {BATCH}")
        if soffice is None:
            lo_one.skipped = lo_batch.skipped = "LibreOffice not installed (soffice not found)"
            add(lo_one)
            add(lo_batch)
        else:
            progress("LibreOffice, one file")
            out = tmp / "lo-one"
            try:
                recalculated = recalculate([filled_path], out)[filled_path]
                wb = load_workbook(recalculated, data_only=True)
                checks["libreoffice_total"] = wb[total_place.sheet][total_place.coord].value
                wb.close()
                add(lo_one, measure(lambda: recalculate([filled_path], out), repeats=1 if quick else slow_repeats,
                                    warmup=0))
            except RecalcError as exc:
                lo_one.skipped = f"LibreOffice failed: {str(exc).splitlines()[0]}"
                add(lo_one)
            if quick:
                lo_batch.skipped = "--quick"
                add(lo_batch)
            elif lo_one.skipped:
                lo_batch.skipped = lo_one.skipped
                add(lo_batch)
            else:
                progress(f"LibreOffice, batch of {BATCH}")
                batch_dir = tmp / "batch"
                batch_dir.mkdir()
                paths = []
                for i in range(BATCH):
                    p = batch_dir / f"{SAMPLE}-{i:02d}.xlsx"
                    shutil.copyfile(filled_path, p)
                    paths.append(p)
                out_b = tmp / "lo-batch"
                try:
                    # no warm-up: every call starts a fresh soffice with a fresh profile, and the
                    # one-file runs above have already warmed the OS file cache
                    add(lo_batch, measure(lambda: recalculate(paths, out_b), repeats=2, warmup=0, per_call=BATCH))
                except RecalcError as exc:
                    lo_batch.skipped = f"LibreOffice failed: {str(exc).splitlines()[0]}"
                    add(lo_batch)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # -- ratios and goals ------------------------------------------------------
    engine = by_key["engine_score"].median_s
    for r in results:
        if r.median_s is None:
            continue
        r.ratio_engine = r.median_s / engine if engine else None
        base = by_key.get(r.baseline) if r.baseline else None
        if base is not None and base.median_s:
            r.ratio_baseline = r.median_s / base.median_s
        if r.goal_s is not None:
            r.goal_met = r.median_s <= r.goal_s

    reported = REPORTED_TOTALS[SAMPLE]
    checks["reported_total"] = reported
    checks["all_totals_agree"] = all(
        isinstance(v, (int, float)) and round(float(v), 2) == reported
        for k, v in checks.items() if k.endswith("_total") and k != "reported_total"
    )
    info = {
        "sample": SAMPLE,
        "cells_template": n_tpl,
        "cells_filled": n_filled,
        "formula_cells": n_formulas,
        "first_framework_and_data_load_s": first_load_s,
        "import_formulas_s": import_formulas_s,
    }
    return results, checks, info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, skip the LibreOffice batch")
    parser.add_argument("--json", metavar="OUT", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    env = environment(find_soffice())
    load_before = _loadavg()
    print(f"jixiao core benchmark{' (--quick)' if args.quick else ''}", file=sys.stderr)
    results, checks, info = run(args.quick)
    elapsed = time.perf_counter() - started
    load_after = _loadavg()
    env["loadavg_1min_before_after"] = [load_before, load_after]

    print()
    print(
        f"Python {env['python']} · {env['cpus_usable']} CPU(s) usable · {env['cpu']} · "
        f"openpyxl {env['openpyxl']} · formulas {env['formulas']} · "
        + (env["libreoffice"] or "LibreOffice: not installed")
    )
    print(
        f"Sample {info['sample']}: template {info['cells_template']} cells, filled {info['cells_filled']} cells "
        f"({info['formula_cells']} formulas). Median time per call over the runs (repeats×calls); "
        f"× engine = ÷ the engine scorecard (#{[r.key for r in results].index('engine_score') + 1}); "
        "× openpyxl = ÷ the openpyxl baseline row given. Saves go to BytesIO; garbage collector on unless stated."
    )
    print()
    print(table(results))
    print()
    totals = ", ".join(f"{k.removesuffix('_total')} {v}" for k, v in checks.items()
                       if k.endswith("_total") and k != "reported_total")
    print(f"Totals ({checks['reported_total']} reported): {totals} → "
          + ("all agree" if checks["all_totals_agree"] else "**DISAGREE**"))
    print(f"One-off: framework + sample first load {fmt_time(info['first_framework_and_data_load_s'])}, "
          f"import of the formulas package {fmt_time(info['import_formulas_s'])}. Run took {elapsed:.0f} s.")
    goals = [r for r in results if r.goal_s is not None]
    met = sum(bool(r.goal_met) for r in goals)
    print(f"Goals met: {met}/{len(goals)} (informational).")
    if load_before is not None and load_after is not None:
        busy = max(load_before, load_after) >= BUSY_LOAD
        print(f"1-min load average {load_before:.2f} before, {load_after:.2f} after (this run itself adds ~1)"
              + (" -- other processes were busy: the timings are inflated, rerun on a quiet machine." if busy else "."))

    if args.json:
        payload = {
            "quick": args.quick,
            "environment": env,
            "info": info,
            "results": [asdict(r) for r in results],
            "checks": checks,
            "elapsed_s": elapsed,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"Results written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
