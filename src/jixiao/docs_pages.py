"""The printed pages of the filled samples, as the accountant gets them, for `docs/pages/`.

    python -m jixiao.docs_pages            # regenerates docs/pages/*.png and docs/pages/README.md

Each sample is filled, printed to PDF by LibreOffice (every visible sheet, as set up for
printing) and each page rendered to a small PNG by poppler's pdftoppm."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jixiao.data import load_data
from jixiao.framework.loader import load_framework
from jixiao.office import to_pdf
from jixiao.samples import sample_path
from jixiao.workbook.generator import build_workbook

SAMPLES = ("futian", "longgang")
DPI = 60  # legible when zoomed in, small in the repository (about 100 kB a page)


def print_samples(out_dir: Path, samples: tuple[str, ...] = SAMPLES) -> dict[str, Path]:
    """Fill each sample and print it to `out_dir`/<sample>.pdf."""
    fw = load_framework()
    out_dir.mkdir(parents=True, exist_ok=True)
    books = []
    for name in samples:
        book = out_dir / f"{name}.xlsx"
        build_workbook(fw, load_data(fw, sample_path(name))).save(book)
        books.append(book)
    pdfs = to_pdf(books, out_dir)
    return {name: pdfs[book] for name, book in zip(samples, books)}


def render_pages(pdf: Path, out_dir: Path, prefix: str, dpi: int = DPI) -> list[Path]:
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise SystemExit("pdftoppm not found: install poppler-utils (apt-get install poppler-utils)")
    for old in out_dir.glob(f"{prefix}-*.png"):
        old.unlink()
    subprocess.run([exe, "-r", str(dpi), "-png", str(pdf), str(out_dir / prefix)], check=True)
    return sorted(out_dir.glob(f"{prefix}-*.png"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/pages"))
    parser.add_argument("--dpi", type=int, default=DPI)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    index = ["# 打印页面（样例）", "",
             "What `jixiao fill` gives an accountant, printed by LibreOffice: every page of the two filled "
             "samples. Regenerate with `python -m jixiao.docs_pages` (needs LibreOffice and poppler-utils).", ""]
    with tempfile.TemporaryDirectory(prefix="jixiao-pages-") as tmp:
        for name, pdf in print_samples(Path(tmp)).items():
            pages = render_pages(pdf, args.out, name, args.dpi)
            index += [f"## {name}（{len(pages)} 页）", ""]
            index += [f"![{name} 第{i}页]({p.name})" for i, p in enumerate(pages, 1)] + [""]
            print(f"{name}: {len(pages)} pages → {args.out}")
    (args.out / "README.md").write_text("\n".join(index), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
