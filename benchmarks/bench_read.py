"""Where a check's reading time goes, phase by phase (the xlsx layer, issue 11's reader):

    python benchmarks/bench_read.py [--repeat 300]

On the embedded Futian sample, in one process, medians of CPU time (process_time):
- open: read the file, sniff it, the zip directory and its limits, [Content_Types].xml;
- + workbook: workbook.xml, its rels, defined names, styles (what `read_workbook` reads);
- refuse_dtd: every XML part's prolog (a part not otherwise read: inflated to its root tag);
- + all named cells and protection: what a check reads of the sheets;
- check_file, with cached results: all of it, reading and checking.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def median_ms(fn, repeat: int) -> float:
    fn()
    cpus = []
    for _ in range(repeat):
        c = time.process_time()
        fn()
        cpus.append(time.process_time() - c)
    return statistics.median(cpus) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()

    from jixiao.checker.check import check_file
    from jixiao.data import load_data
    from jixiao.framework.loader import load_framework
    from jixiao.samples import sample_path
    from jixiao.workbook.generator import build_workbook
    from jixiao.xlsx.reader import read_workbook
    from jixiao.xlsx.safe import open_xlsx

    fw = load_framework()
    path = Path(tempfile.mkdtemp(prefix="jixiao-bench-read-")) / "futian.xlsx"
    build_workbook(fw, load_data(fw, sample_path("futian"))).save(path)

    def cells() -> None:
        book = read_workbook(open_xlsx(path))
        for sheet, coord in book.defined_names.values():
            book.cell(sheet, coord)
        for sheet in book.sheets.values():
            sheet.protected

    def dtd() -> None:
        open_xlsx(path).refuse_dtd()

    rows = [
        ("open", lambda: open_xlsx(path)),
        ("open + workbook", lambda: read_workbook(open_xlsx(path))),
        ("open + refuse_dtd", dtd),
        ("open + workbook + named cells + protection", cells),
        ("check_file, cached results", lambda: check_file(path)),
    ]
    assert check_file(path).recomputed_total == 94.79
    print(f"{'phase':46} {'CPU ms':>8}")
    for name, fn in rows:
        print(f"{name:46} {median_ms(fn, args.repeat):8.2f}")


if __name__ == "__main__":
    main()
