"""Timing `jixiao report` on the Futian sample: what writing the 自评报告 costs next to reading
the workbook it comes from.

    python benchmarks/bench_report.py [--repeats N] [--no-pdf]

One table, exit 0 (informational).  Rows: the checker reading and recomputing the workbook
(`check_file`, the report's input), the report built from a scorecard (`build_report`, python-docx
in memory), saved to BytesIO, the whole `report_from_workbook` + save, and the LibreOffice Writer
PDF conversion (a fresh profile each time, as `--pdf` does)."""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

try:
    import jixiao  # noqa: F401
except ImportError:  # run from a source tree without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from jixiao.checker.check import check_file
from jixiao.data import load_data
from jixiao.engine import score
from jixiao.framework.loader import load_framework
from jixiao.office import find_soffice
from jixiao.samples import sample_path
from jixiao.selfreport import build_report, report_from_workbook, to_pdf
from jixiao.workbook.generator import build_workbook


def timed(fn, repeats: int) -> tuple[float, float, float]:
    fn()  # warm-up (imports, caches)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), min(runs), max(runs)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-pdf", action="store_true")
    args = parser.parse_args()
    fw = load_framework()
    data = load_data(fw, sample_path("futian"))
    card = score(fw, data)
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "futian-2021.xlsx"
        build_workbook(fw, data).save(book)
        docx = Path(tmp) / "report.docx"
        report_from_workbook(book)[0].save(docx)
        rows = [
            ("check_file (the report's input)", lambda: check_file(book)),
            ("build_report from a scorecard", lambda: build_report(fw, card)),
            ("build_report + save to BytesIO", lambda: build_report(fw, card).save(io.BytesIO())),
            ("report_from_workbook + save", lambda: report_from_workbook(book)[0].save(docx)),
        ]
        if not args.no_pdf and find_soffice():
            rows.append(("to_pdf (LibreOffice Writer)", lambda: to_pdf(docx)))
        load = os.getloadavg()[0]
        print(f"{'what':<34} {'median':>9} {'min – max':>19}")
        for label, fn in rows:
            median, low, high = timed(fn, args.repeats if "pdf" not in label else max(1, args.repeats // 2))
            print(f"{label:<34} {median * 1000:>7.1f}ms {low * 1000:>8.1f} – {high * 1000:.1f}ms")
        report, _ = report_from_workbook(book)
        print(f"\nFutian: {len(report.problems)} 存在的问题 items, total {report.card.total}; "
              f"load average {load:.2f} → {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
