"""Regenerate the page images of the Futian sample's 自评报告 in this folder:

    python3 docs/report/make_pages.py

Fills the Futian sample into a workbook, writes its report with `jixiao report --pdf`
(LibreOffice Writer), and renders each PDF page as a PNG with pdftoppm (poppler-utils)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DPI = 60  # modest: enough to read the headings and see the layout


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from jixiao.data import load_data
    from jixiao.framework.loader import load_framework
    from jixiao.samples import sample_path
    from jixiao.selfreport import report_from_workbook, to_pdf
    from jixiao.workbook.generator import build_workbook

    fw = load_framework()
    with tempfile.TemporaryDirectory() as tmp:
        workbook = Path(tmp) / "futian-2021.xlsx"
        build_workbook(fw, load_data(fw, sample_path("futian"))).save(workbook)
        report, _ = report_from_workbook(workbook)
        docx = Path(tmp) / "futian-2021-report.docx"
        report.save(docx)
        pdf = to_pdf(docx)
        for old in HERE.glob("futian-page-*.png"):
            old.unlink()
        subprocess.run(["pdftoppm", "-r", str(DPI), "-png", str(pdf), str(HERE / "futian-page")], check=True)
    pages = sorted(HERE.glob("futian-page-*.png"))
    print(f"{len(pages)} pages in {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
