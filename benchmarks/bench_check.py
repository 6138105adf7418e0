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
- `jixiao check FILE` as a whole process — goal ≤ 0.3 s (imports only what the command needs).
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


def median_ms(fn, repeat: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    from openpyxl import load_workbook
    from python_calamine import CalamineWorkbook

    from jixiao.checker.check import check_file
    from jixiao.data import load_data
    from jixiao.framework.loader import load_framework
    from jixiao.samples import sample_path
    from jixiao.workbook.generator import build_workbook

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

    r = args.repeat
    rows = [
        ("raw read: unzip + parse all sheet XML", median_ms(raw_read, r), None),
        ("python-calamine: all values", median_ms(calamine, r), None),
        ("openpyxl load_workbook", median_ms(lambda: load_workbook(filled), max(r // 10, 5)), None),
        ("check, with cached results", median_ms(lambda: check_file(filled), r), 5.0),
        ("check, without cached results", median_ms(lambda: check_file(uncached), r), 10.0),
    ]
    assert check_file(filled).recomputed_total == 94.79
    assert check_file(uncached).workbook_total == 94.79

    def process() -> None:
        subprocess.run([sys.executable, "-m", "jixiao.cli", "check", str(filled)], capture_output=True, check=False)
    rows.append(("`jixiao check` one file, whole process", median_ms(process, 10), 300.0))

    base = rows[2][1]
    print(f"{'measurement':44} {'median ms':>10} {'× openpyxl load':>16} {'goal':>12}")
    for name, ms, goal in rows:
        verdict = "" if goal is None else f"≤ {goal:g} ms " + ("met" if ms <= goal else "NOT met")
        print(f"{name:44} {ms:10.2f} {ms / base:16.3f} {verdict:>12}")


if __name__ == "__main__":
    main()
